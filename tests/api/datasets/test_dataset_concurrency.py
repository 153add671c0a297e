"""Invariant 6: two writers on the same dataset never lose a record."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import pytest

from evalledger import Client

WRITERS, MERGES, PER_MERGE = 2, 10, 50


def _writer(url: str, writer: int, start_at: float) -> int:
    """One writer process: its own client, built from the URL."""
    client = Client(url, user=f"writer-{writer}")
    ds = client.get_dataset(name="shared")
    time.sleep(max(0.0, start_at - time.time()))
    for m in range(MERGES):
        batch = [
            {"inputs": {"w": writer, "m": m, "i": i}, "expectations": {"ok": True}}
            for i in range(PER_MERGE)
        ]
        ds.merge_records(batch)
        client.set_dataset_tags(ds.dataset_id, {f"writer-{writer}": str(m)})
    return writer


@pytest.mark.slow
def test_concurrent_writers_on_one_dataset_lose_nothing(client: Client, db_url: str) -> None:
    client.create_dataset("shared")
    start_at = time.time() + 2.0
    with ProcessPoolExecutor(WRITERS, mp_context=multiprocessing.get_context("spawn")) as pool:
        done = [
            f.result(timeout=300)
            for f in [pool.submit(_writer, db_url, w, start_at) for w in range(WRITERS)]
        ]
    assert sorted(done) == list(range(WRITERS))
    ds = client.get_dataset(name="shared")
    assert ds.num_records == WRITERS * MERGES * PER_MERGE
    assert len(ds.to_df()) == WRITERS * MERGES * PER_MERGE
    history = ds.history()
    assert list(history["version"]) == list(range(1 + 2 * WRITERS * MERGES))
    assert sum(history["records_added"]) == WRITERS * MERGES * PER_MERGE
    assert ds.tags == {f"writer-{w}": str(MERGES - 1) for w in range(WRITERS)}
