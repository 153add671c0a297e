"""Time per batch across a 100,000-row `import`: it must stay flat on every backend.

A lookup whose plan degrades as the dataset grows (PostgreSQL's generic plan for the
inputs-digest lookup once psycopg prepares it went from 0.08 s to 28 s a batch) shows
here as a slowest batch many times the median one.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from itertools import pairwise
from pathlib import Path

import orjson

from evalledger.datasets.transfer import import_records

from .harness import Report, Result, bench_store, client_of

ROWS = 100_000
BATCH = 10_000
#: The slowest batch may take at most this many times the median one.
FLAT_RATIO = 2.0


def _write_rows(path: Path) -> None:
    with path.open("wb") as out:
        for i in range(ROWS):
            row = {"inputs": {"question": f"question {i}", "context": "c" * 40}}
            out.write(orjson.dumps({**row, "expectations": {"answer": i}}) + b"\n")


def run(backend: str, report: Report) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="evalledger-import-") as directory,
        bench_store(backend) as store,
    ):
        path = Path(directory) / "rows.jsonl"
        _write_rows(path)
        client = client_of(store)
        marks: list[float] = []

        def progress(phase: str, done: int, total: int) -> None:
            if phase == "importing":
                marks.append(time.perf_counter())

        start = time.perf_counter()
        import_records(client.session, "import-bench", path, batch_size=BATCH, progress=progress)
        seconds = time.perf_counter() - start
        batches = [later - earlier for earlier, later in pairwise(marks)]
        median = statistics.median(batches)
        report.add(Result(f"import {ROWS:,} rows (.jsonl, batches of {BATCH:,})", seconds, "s"))
        report.add(Result("  first batch", batches[0], "s"))
        report.add(Result("  last batch", batches[-1], "s"))
        report.add(
            Result("  slowest batch / median batch", max(batches) / median, "x", FLAT_RATIO, False)
        )
