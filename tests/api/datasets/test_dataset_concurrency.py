"""Invariant 6: racing writers never lose a record.

Writers (processes, or threads sharing one client) merge distinct records into one
dataset or into many at once. Every merge that returned is stored: the records are
exactly the union of what the writers were told was merged, each dataset's versions run
0..N without a gap, and the chain and the projections check out. Runs on every backend.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import orjson
import pytest

from evalledger import Client
from evalledger.ledger import verify_chain
from evalledger.projections.rebuild import check_projections

pytestmark = pytest.mark.slow

PROCESSES, MERGES, PER_MERGE = 4, 8, 50
THREADS, THREAD_MERGES, THREAD_PER_MERGE = 8, 8, 20
DATASETS = 4


def merge_distinct(
    client: Client, names: list[str], writer: int, merges: int, per_merge: int
) -> list[tuple[str, dict[str, Any]]]:
    """`merges` merges of records only this writer makes, into `names` in turn; returns
    (dataset name, inputs) of every record whose merge returned."""
    acknowledged: list[tuple[str, dict[str, Any]]] = []
    handles = {name: client.get_dataset(name=name) for name in names}
    for m in range(merges):
        name = names[(writer + m) % len(names)]
        batch = [{"inputs": {"w": writer, "m": m, "i": i}} for i in range(per_merge)]
        handles[name].merge_records(batch)
        acknowledged += [(name, record["inputs"]) for record in batch]
    return acknowledged


def _process_writer(url: str, writer: int, start_at: float) -> tuple[int, list[Any]]:
    """One writer process: its own client, built from the URL; merges and tag changes."""
    client = Client(url, user=f"writer-{writer}")
    ds = client.get_dataset(name="shared")
    time.sleep(max(0.0, start_at - time.time()))
    acknowledged = []
    for m in range(MERGES):
        batch = [
            {"inputs": {"w": writer, "m": m, "i": i}, "expectations": {"ok": True}}
            for i in range(PER_MERGE)
        ]
        ds.merge_records(batch)
        acknowledged += [("shared", record["inputs"]) for record in batch]
        client.set_dataset_tags(ds.dataset_id, {f"writer-{writer}": str(m)})
    return writer, acknowledged


def stored_inputs(client: Client, names: list[str]) -> set[bytes]:
    return {
        key(name, record.inputs)
        for name in names
        for record in client.get_dataset(name=name).records
    }


def key(name: str, inputs: dict[str, Any]) -> bytes:
    return orjson.dumps([name, inputs], option=orjson.OPT_SORT_KEYS)


def assert_no_version_gap(client: Client, name: str) -> list[int]:
    """The dataset's versions are 0..N; returns the records each version added."""
    history = client.get_dataset(name=name).history()
    assert sorted(history["version"]) == list(range(len(history)))
    return [int(n) for n in history["records_added"]]


def assert_ledger_checks_out(client: Client) -> None:
    chain = verify_chain(client.store.engine)
    assert chain.ok, chain.problem
    projections = check_projections(client.store)
    assert projections.ok, projections.difference


def test_racing_writer_processes_on_one_dataset_lose_nothing(client: Client, db_url: str) -> None:
    client.create_dataset("shared")
    start_at = time.time() + 2.0
    with ProcessPoolExecutor(PROCESSES, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_process_writer, db_url, w, start_at) for w in range(PROCESSES)]
        results = [f.result(timeout=300) for f in futures]
    assert sorted(writer for writer, _ in results) == list(range(PROCESSES))
    acknowledged = {key(name, inputs) for _, acked in results for name, inputs in acked}
    assert len(acknowledged) == PROCESSES * MERGES * PER_MERGE
    assert stored_inputs(client, ["shared"]) == acknowledged
    added = assert_no_version_gap(client, "shared")
    assert len(added) == 1 + 2 * PROCESSES * MERGES  # creation, then a merge and a tag each
    assert sorted(added, reverse=True)[: PROCESSES * MERGES] == [PER_MERGE] * PROCESSES * MERGES
    ds = client.get_dataset(name="shared")
    assert ds.tags == {f"writer-{w}": str(MERGES - 1) for w in range(PROCESSES)}
    assert_ledger_checks_out(client)


@pytest.mark.parametrize("datasets", [1, DATASETS], ids=["one-dataset", "many-datasets"])
def test_racing_writer_threads_lose_nothing(client: Client, datasets: int) -> None:
    names = [f"race-{d}" for d in range(datasets)]
    for name in names:
        client.create_dataset(name)
    barrier = threading.Barrier(THREADS)

    def writer(w: int) -> list[tuple[str, dict[str, Any]]]:
        barrier.wait(30)
        return merge_distinct(client, names, w, THREAD_MERGES, THREAD_PER_MERGE)

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(writer, range(THREADS), timeout=300))
    acknowledged = {key(name, inputs) for acked in results for name, inputs in acked}
    assert len(acknowledged) == THREADS * THREAD_MERGES * THREAD_PER_MERGE
    assert stored_inputs(client, names) == acknowledged
    merges = 0
    for name in names:
        added = assert_no_version_gap(client, name)
        assert added[0] == 0 and set(added[1:]) == {THREAD_PER_MERGE}
        merges += len(added) - 1
    assert merges == THREADS * THREAD_MERGES
    assert_ledger_checks_out(client)
