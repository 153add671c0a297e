"""Issue 12: peak memory of verify, rebuild, a one-call merge and search_traces.

Each measured operation runs in a child process of its own, which reports its peak
resident set (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) when it is done, so one
operation's memory never counts against another. The ledger of a size holds that many
records (one-call merges of at most 1,000,000 records each) and a tenth as many traces.

`python -m bench --only memory` measures 100,000 and 1,000,000 records;
`--only memory-large` adds 3,000,000; EVALLEDGER_BENCH_MEMORY_SIZES=200000,... picks others.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .harness import Report, Result
from .trace_bench import trace_json

SIZES = (100_000, 1_000_000)
LARGE_SIZES = (3_000_000,)
#: The largest one-call merge: bigger ledgers are built from several merges of this size.
MERGE_CALL = 1_000_000
#: Peak RSS targets (MB) of issue 12.
VERIFY_MB, REBUILD_MB, MERGE_MB = 1024, 1024, 1536
TRACES_PER_RECORD = 10


def _records(start: int, stop: int) -> list[dict]:
    return [
        {
            "inputs": {"question": f"How do I configure feature number {i}?", "context": "docs"},
            "expectations": {"expected_answer": f"Use setting {i}."},
            "tags": {"topic": f"t{i % 7}"},
        }
        for i in range(start, stop)
    ]


# -- what a child process does ----------------------------------------------------------


def _child(operation: str, url: str, argument: str) -> dict:
    from evalledger import Client
    from evalledger.ledger import create_engine, verify_chain
    from evalledger.ledger.store import EventStore
    from evalledger.projections.rebuild import check_projections, rebuild

    client = Client(url, user="bench")
    detail: dict = {}
    if operation == "merge":
        start, stop = (int(n) for n in argument.split(":"))
        ds = client.get_dataset(name="bench-memory") if start else None
        ds = ds or client.create_dataset("bench-memory")
        records = _records(start, stop)
        began = time.perf_counter()
        ds.merge_records(records)
        detail = {"seconds": time.perf_counter() - began, "records": ds.num_records}
    elif operation == "traces":
        began = time.perf_counter()
        detail = {"count": len(client.import_traces(Path(argument)))}
        detail["seconds"] = time.perf_counter() - began
    else:
        engine = create_engine(url)
        store = EventStore(engine)
        began = time.perf_counter()
        if operation == "verify-chain":
            report = verify_chain(engine)
            assert report.ok, report.problem
            detail = {"events": report.events_checked}
        elif operation == "verify-projections":
            projections = check_projections(store)
            assert projections.ok, projections.difference
            detail = {"rows": projections.rows_compared}
        elif operation == "rebuild":
            detail = {"events": rebuild(store)}
        elif operation == "search":
            frame = client.search_traces(max_results=None)
            detail = {"traces": len(frame)}
        else:
            raise SystemExit(f"unknown operation {operation!r}")
        detail["seconds"] = time.perf_counter() - began
    detail["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return detail


def _run_child(operation: str, url: str, argument: str = "") -> dict:
    """Run one operation in a fresh interpreter; its report (peak MB, seconds, counts)."""
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory_bench", operation, url, argument],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{operation} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the suite ----------------------------------------------------------------------------


def _sizes(default: tuple[int, ...]) -> tuple[int, ...]:
    text = os.environ.get("EVALLEDGER_BENCH_MEMORY_SIZES", "").strip()
    return tuple(int(n) for n in text.split(",")) if text else default


def run(backend: str, report: Report, sizes: tuple[int, ...] = SIZES) -> None:
    from .harness import bench_store

    for size in _sizes(sizes):
        with (
            tempfile.TemporaryDirectory(prefix="evalledger-memory-") as directory,
            bench_store(backend) as store,
        ):
            url = store.engine.url.render_as_string(hide_password=False)
            store.engine.dispose()
            _measure(report, url, size, Path(directory))


def run_large(backend: str, report: Report) -> None:
    run(backend, report, SIZES + LARGE_SIZES)


def _measure(report: Report, url: str, size: int, directory: Path) -> None:
    label = f"{size:,} records"
    merges = []
    for start in range(0, size, MERGE_CALL):
        merges.append(_run_child("merge", url, f"{start}:{min(size, start + MERGE_CALL)}"))
    one_call = min(size, MERGE_CALL)
    peak = max(m["peak_mb"] for m in merges)
    times = f"{len(merges)} call(s)" if len(merges) > 1 else "one call"
    target = MERGE_MB if one_call >= MERGE_CALL else None
    report.add(
        Result(f"merge_records of {one_call:,} records ({times}), peak", peak, "MB", target, False)
    )
    report.add(Result("  = seconds per call", max(m["seconds"] for m in merges), "s"))

    traces = size // TRACES_PER_RECORD
    path = directory / "traces.jsonl"
    with path.open("wb") as handle:
        for i in range(traces):
            handle.write(trace_json(i) + b"\n")
    imported = _run_child("traces", url, str(path))
    path.unlink()
    report.add(Result(f"import {traces:,} traces, peak", imported["peak_mb"], "MB"))

    chain = _run_child("verify-chain", url)
    report.add(
        Result(f"verify: hash chain, {label}, peak", chain["peak_mb"], "MB", VERIFY_MB, False)
    )
    projections = _run_child("verify-projections", url)
    report.add(
        Result(
            f"verify: projections, {label}, peak", projections["peak_mb"], "MB", VERIFY_MB, False
        )
    )
    report.add(Result("  = seconds", projections["seconds"], "s"))
    rebuilt = _run_child("rebuild", url)
    report.add(Result(f"rebuild, {label}, peak", rebuilt["peak_mb"], "MB", REBUILD_MB, False))
    report.add(Result("  = records per second", size / rebuilt["seconds"], "records/s"))
    search = _run_child("search", url)
    report.add(
        Result(f"search_traces(max_results=None), {traces:,} traces, peak", search["peak_mb"], "MB")
    )


if __name__ == "__main__":
    operation, url, argument = sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else ""
    print(json.dumps(_child(operation, url, argument)))
