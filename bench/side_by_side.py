"""evalledger against MLflow 3.17.2 on the same workload, alternately, in the same run.

Each round runs MLflow's `mlflow.genai.datasets` and then evalledger, each in a fresh
process (bench/side_by_side_worker.py) on a fresh database of the backend being measured: a
SQLite file, or a new database on the PostgreSQL or MariaDB server, dropped after the round. Both
systems run on the same backend, so each ratio is like for like; the medians of the rounds give
the ratios. Only ratios from one run are quoted: absolute figures move from day to day.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson

from evalledger.ledger.testing import fresh_database

from .harness import Report, Result

ROUNDS = 3
RATIO_TARGET = 100.0
STEPS = {
    "merge_new": "merge 10,000 new",
    "merge_half": "merge 10,000, half existing",
    "to_df": "to_df of 15,000",
}


def _python(system: str) -> str:
    """MLflow's side runs in the virtualenv `make bench` builds with mlflow==3.17.2
    (EVALLEDGER_BENCH_MLFLOW names its `mlflow`); without it, in this one's mlflow-skinny
    of the same version."""
    mlflow = os.environ.get("EVALLEDGER_BENCH_MLFLOW")
    if system == "mlflow" and mlflow:
        return str(Path(mlflow).with_name("python"))
    return sys.executable


def _round(system: str, backend: str, directory: Path) -> dict[str, float]:
    """The seconds of each step of one round of `system` on a fresh database of `backend`.

    The database comes from the helper the tests and the other benches use (a file in
    `directory` for SQLite, a new database on the server otherwise) and is dropped once the
    worker has exited, so no round sees another's tables.
    """
    with fresh_database(backend, directory, prefix=f"evlsbs_{system}") as url:
        done = subprocess.run(
            [_python(system), "-m", "bench.side_by_side_worker", system, url],
            capture_output=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines() or ["(no output)"]
        raise RuntimeError(f"[{backend}] the {system} worker failed: {lines[-1]}")
    return orjson.loads(done.stdout.splitlines()[-1])


def run(backend: str, report: Report) -> None:
    """ROUNDS alternate rounds of MLflow and evalledger on `backend`; medians and ratios."""
    times: dict[str, dict[str, list[float]]] = {"mlflow": {}, "evalledger": {}}
    with tempfile.TemporaryDirectory(prefix="evalledger-vs-mlflow-") as directory:
        for _ in range(ROUNDS):
            for system in ("mlflow", "evalledger"):
                for step, seconds in _round(system, backend, Path(directory)).items():
                    times[system].setdefault(step, []).append(seconds)
    for step, label in STEPS.items():
        theirs = statistics.median(times["mlflow"][step])
        ours = statistics.median(times["evalledger"][step])
        report.add(Result(f"{label}: MLflow 3.17.2 (median of {ROUNDS})", theirs, "s"))
        report.add(Result(f"{label}: evalledger (median of {ROUNDS})", ours, "s"))
        report.add(Result(f"  = {label}: MLflow / evalledger", theirs / ours, "x", RATIO_TARGET))
