"""Issue 2: append throughput (batched and single-event commits) and verify speed."""

from __future__ import annotations

from evalledger.ledger import ANY, NO_STREAM, NewEvent, verify_chain

from .harness import Report, Result, bench_store, timed

BATCH, BATCHES, SINGLES = 1_000, 200, 3_000


def _payload(i: int) -> dict:
    return {"inputs": {"question": f"question number {i}?"}, "expectations": {"answer": i}}


def run(backend: str, report: Report) -> None:
    with bench_store(backend) as store:
        batches = [
            [NewEvent("RecordAdded", _payload(b * BATCH + i)) for i in range(BATCH)]
            for b in range(BATCHES)
        ]

        def append_batches() -> None:
            for b, batch in enumerate(batches):
                store.append(f"stream-{b}", batch, NO_STREAM)

        seconds = timed(append_batches)
        report.add(
            Result("append, batches of 1,000 events", BATCH * BATCHES / seconds, "events/s", 50_000)
        )

        def single_commits() -> None:
            for i in range(SINGLES):
                store.append("singles", [NewEvent("RecordAdded", _payload(i))], ANY)

        seconds = timed(single_commits)
        report.add(Result("append, single-event commits", SINGLES / seconds, "commits/s", 1_000))

        total = BATCH * BATCHES + SINGLES
        result = {}
        seconds = timed(lambda: result.setdefault("r", verify_chain(store.engine)))
        assert result["r"].ok and result["r"].events_checked == total
        report.add(Result(f"verify ({total:,} events)", total / seconds, "events/s", 200_000))
