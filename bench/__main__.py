"""Run the benchmarks: `python -m bench [--backends sqlite,postgresql] [--only ledger]`."""

from __future__ import annotations

import argparse
import platform
import sys

from . import (
    dataset_bench,
    floor_bench,
    history_bench,
    import_bench,
    ledger_bench,
    memory_bench,
    server_bench,
    side_by_side,
    trace_bench,
    ui_bench,
)
from .harness import Report

SUITES = {
    "ledger": ledger_bench.run,
    "datasets": dataset_bench.run,
    "history": history_bench.run,
    "traces": trace_bench.run,
    "import": import_bench.run,  # time per batch stays flat across 100,000 rows
    "server": server_bench.run,
    "vs-mlflow": side_by_side.run,  # the same workload, MLflow and evalledger alternately
    "million": dataset_bench.run_million,  # 1,000,000 records, in a process of its own
    "floors": floor_bench.run,  # SQLite and orjson alone on the rows of those workloads
}
#: Suites that take minutes: run only when named with --only.
LARGE = {
    "million-here": dataset_bench.run_million_here,  # the same, in this process
    "ui": ui_bench.run,
    "memory": memory_bench.run,  # peak RSS at 100,000 and 1,000,000 records
    "memory-large": memory_bench.run_large,  # ... and at 3,000,000
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated backends")
    parser.add_argument(
        "--only",
        default=",".join(SUITES),
        help=f"comma-separated suites (default all but {', '.join(LARGE)})",
    )
    args = parser.parse_args()
    print(f"evalledger benchmarks on {platform.machine()}, Python {platform.python_version()}")
    for suite in args.only.split(","):
        print(f"{suite}:")
        for backend in args.backends.split(","):
            {**SUITES, **LARGE}[suite](backend, Report(backend))
    return 0


if __name__ == "__main__":
    sys.exit(main())
