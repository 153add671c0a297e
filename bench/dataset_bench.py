"""Issue 3: merge, to_df, get_dataset and search_datasets against MLflow's figures / 100."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

from evalledger.datasets import commands

from .harness import Report, Result, bench_store, best_of, client_of, timed


def _records(start: int, stop: int, answer_offset: int = 0) -> list[dict]:
    return [
        {
            "inputs": {"question": f"How do I configure feature number {i}?", "context": "docs"},
            "expectations": {"expected_answer": f"Use setting {i + answer_offset}."},
            "tags": {"topic": f"t{i % 7}"},
        }
        for i in range(start, stop)
    ]


def run(backend: str, report: Report) -> None:
    with bench_store(backend) as store:
        client = client_of(store)
        ds = client.create_dataset("bench-merge")
        batch = _records(0, 10_000)
        report.add(
            Result(
                "merge 10,000 new records", timed(lambda: ds.merge_records(batch)), "s", 0.11, False
            )
        )
        half = _records(5_000, 15_000, answer_offset=1)
        report.add(
            Result(
                "merge 10,000 records, half existing",
                timed(lambda: ds.merge_records(half)),
                "s",
                0.12,
                False,
            )
        )
        report.add(
            Result(f"to_df of {ds.num_records:,} records", best_of(3, ds.to_df), "s", 0.055, False)
        )
        report.add(
            Result(
                "get_dataset(name=...)",
                best_of(20, lambda: client.get_dataset(name="bench-merge")),
                "s",
                0.005,
                False,
            )
        )

        _many_datasets(client)
        query = "tags.team = 'team-7' AND tags.stage = 'golden'"
        found = client.search_datasets(filter_string=query, max_results=1000)
        assert len(found) > 0
        report.add(
            Result(
                "search_datasets, tag filter, 10,000 datasets",
                best_of(5, lambda: client.search_datasets(filter_string=query, max_results=1000)),
                "s",
                0.05,
                False,
            )
        )


def _many_datasets(client) -> None:
    """10,000 datasets with tags, written straight through the command layer."""
    for i in range(10_000):
        commands.create(
            client.session,
            f"ds-{i:05d}",
            ["0"],
            {"team": f"team-{i % 50}", "stage": "golden" if i % 3 == 0 else "dev"},
        )


#: Issue 13's targets for a 1,000,000-record dataset.
MILLION_MERGE_S, MILLION_TO_DF_S, MILLION_PEAK_GB = 20.0, 3.0, 1.5


def run_million(backend: str, report: Report) -> None:
    """The 1,000,000-record suite in a process of its own, so that the peak memory it
    reports is its own and not that of suites run before it in this one."""
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "million-here", "--backends", backend],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    for line in done.stdout.splitlines()[2:]:  # the child's banner and suite name: ours
        print(line, flush=True)
    if done.returncode:
        print(f"  [{backend:10}] the 1,000,000-record suite failed (exit {done.returncode})")


def run_million_here(backend: str, report: Report) -> None:
    """A 1,000,000-record dataset: merged in batches of 10,000, then read with to_df."""
    with bench_store(backend) as store:
        _million(report, client_of(store).create_dataset("bench-million"))


def _million(report: Report, ds) -> None:
    start = time.perf_counter()
    for b in range(100):
        ds.merge_records(_records(b * 10_000, (b + 1) * 10_000))
    report.add(
        Result(
            "1,000,000 records merged in batches of 10,000",
            time.perf_counter() - start,
            "s",
            MILLION_MERGE_S,
            False,
        )
    )
    report.add(Result("to_df of 1,000,000 records", timed(ds.to_df), "s", MILLION_TO_DF_S, False))
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    report.add(
        Result("peak memory (max RSS of the bench process)", peak_gb, "GB", MILLION_PEAK_GB, False)
    )
