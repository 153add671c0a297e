"""evalledger against MLflow 3.17.2 on the same workload, alternately, in the same run.

Each round runs MLflow's `mlflow.genai.datasets` and then evalledger, each in a fresh
process on a fresh SQLite file (bench/side_by_side_worker.py); the medians of the rounds
give the ratios. Only ratios from one run are quoted: absolute figures move from day to day.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson

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


def _round(system: str, directory: Path, n: int) -> dict[str, float]:
    path = directory / f"{system}-{n}.db"
    done = subprocess.run(
        [_python(system), "-m", "bench.side_by_side_worker", system, str(path)],
        capture_output=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return orjson.loads(done.stdout.splitlines()[-1])


def run(backend: str, report: Report) -> None:
    if backend != "sqlite":
        print(f"  [{backend:10}] (the side-by-side runs on SQLite files only)")
        return
    times: dict[str, dict[str, list[float]]] = {"mlflow": {}, "evalledger": {}}
    with tempfile.TemporaryDirectory(prefix="evalledger-vs-mlflow-") as directory:
        for n in range(ROUNDS):
            for system in ("mlflow", "evalledger"):
                for step, seconds in _round(system, Path(directory), n).items():
                    times[system].setdefault(step, []).append(seconds)
    for step, label in STEPS.items():
        theirs = statistics.median(times["mlflow"][step])
        ours = statistics.median(times["evalledger"][step])
        report.add(Result(f"{label}: MLflow 3.17.2 (median of {ROUNDS})", theirs, "s"))
        report.add(Result(f"{label}: evalledger (median of {ROUNDS})", ours, "s"))
        report.add(Result(f"  = {label}: MLflow / evalledger", theirs / ours, "x", RATIO_TARGET))
