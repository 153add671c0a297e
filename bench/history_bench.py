"""Issue 4: point-in-time reads that do not grow with history, diff, rebuild, verify."""

from __future__ import annotations

from evalledger.datasets import commands
from evalledger.datasets.records import normalize_records
from evalledger.ledger import verify_chain
from evalledger.projections.rebuild import check_projections, rebuild

from .harness import Report, Result, bench_store, best_of, client_of, timed

RECORDS, VERSIONS, CHANGES = 10_000, 1_000, 10
SMALL_COMMITS = 20_000


def _event_count(store) -> int:
    return store.head().position


def run(backend: str, report: Report) -> None:
    with bench_store(backend) as store:
        client = client_of(store)
        ds = client.create_dataset("bench-history")
        ds.merge_records(
            [{"inputs": {"q": f"question {i}"}, "expectations": {"a": 0}} for i in range(RECORDS)]
        )
        for v in range(2, VERSIONS + 1):
            start = (v * CHANGES) % RECORDS
            ds.merge_records(
                [
                    {"inputs": {"q": f"question {i}"}, "expectations": {"a": v}}
                    for i in range(start, start + CHANGES)
                ]
            )
        assert ds.version == VERSIONS
        current = best_of(3, ds.to_df)
        report.add(Result("to_df, current version (10,000 records)", current, "s"))
        for version in (1, 500, 1000):
            snap = client.get_dataset(name="bench-history", version=version)
            seconds = best_of(3, snap.to_df)
            report.add(
                Result(
                    f"to_df of version {version}, as a multiple of current",
                    seconds / current,
                    "x",
                    1.3,
                    False,
                )
            )
        report.add(Result("diff(1, 1000)", best_of(3, lambda: ds.diff(1, 1000)), "s", 0.3, False))

        events = _event_count(store)
        seconds = timed(lambda: rebuild(store))
        report.add(
            Result(
                f"rebuild, history dataset ({events:,} events, "
                + f"{RECORDS + VERSIONS * CHANGES:,} record versions)",
                events / seconds,
                "events/s",
                50_000,
            )
        )
        seconds = timed(lambda: verify_chain(store.engine))
        report.add(Result("verify: hash chain", events / seconds, "events/s", 200_000))

    with bench_store(backend) as store:
        client = client_of(store)
        ds = client.create_dataset("bench-small-commits")
        for i in range(SMALL_COMMITS):
            commands.merge(
                client.session,
                ds.dataset_id,
                normalize_records([{"inputs": {"q": f"q{i}"}, "expectations": {"a": i}}]),
            )
        events = _event_count(store)
        seconds = timed(lambda: rebuild(store))
        report.add(
            Result(
                f"rebuild, {events:,} single-record commits", events / seconds, "events/s", 50_000
            )
        )
        seconds = timed(lambda: verify_chain(store.engine))
        report.add(Result("verify: hash chain", events / seconds, "events/s", 200_000))
        result = {}
        seconds = timed(lambda: result.setdefault("r", check_projections(store)))
        assert result["r"].ok
        report.add(Result("verify: projections equal a fresh replay", events / seconds, "events/s"))
