"""verify never cries wolf: checking the ledger while another process writes to it."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from evalledger import Client
from evalledger.cli.main import main
from evalledger.ledger import verify_chain
from evalledger.projections.rebuild import check_projections

MERGES, PER_MERGE = 80, 20


def _writer(url: str, ready: multiprocessing.synchronize.Event) -> None:
    """Another process: many small commits (merges and tag changes) on one dataset."""
    client = Client(url, user="writer")
    ds = client.get_dataset(name="live")
    ready.set()
    for m in range(MERGES):
        ds.merge_records([{"inputs": {"m": m, "i": i}} for i in range(PER_MERGE)])
        client.set_dataset_tags(ds.dataset_id, {"merge": str(m)})


@pytest.mark.slow
def test_verify_passes_on_every_run_while_another_process_writes(
    client: Client, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    client.create_dataset("live").merge_records([{"inputs": {"seed": True}}])
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    writer = context.Process(target=_writer, args=(db_url, ready))
    writer.start()
    try:
        assert ready.wait(60), "the writer process did not start"
        runs = 0
        deadline = time.monotonic() + 120
        while (writer.is_alive() or runs < 3) and time.monotonic() < deadline:
            chain = verify_chain(client.store.engine)
            assert chain.ok, chain.problem
            projections = check_projections(client.store)
            assert projections.ok, projections.difference
            assert main(["--uri", db_url, "verify"]) == 0, capsys.readouterr().err
            runs += 1
        writer.join(60)
        assert writer.exitcode == 0
    finally:
        if writer.is_alive():
            writer.kill()
    ds = client.get_dataset(name="live")
    assert ds.num_records == 1 + MERGES * PER_MERGE
    assert verify_chain(client.store.engine).ok and check_projections(client.store).ok
