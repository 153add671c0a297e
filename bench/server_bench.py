"""evalledger's server against MLflow's own tracking server, through the unchanged MLflow
client (mlflow-skinny 3.17.2 in .venv): both on SQLite, one after the other in the same run.

Run only this suite: `make bench BENCH_ARGS="--only server --backends sqlite"`.
`make bench` installs MLflow's server (mlflow==3.17.2) in .venv-mlflow-server/ on first use and
passes its `mlflow` script in EVALLEDGER_BENCH_MLFLOW. Without make, `python -m bench --only
server --backends sqlite` finds it there too (the MLflow side fails clearly when it is missing).

Workloads: merge_records of 10,000 records into a new dataset; merge_records of 10,000 records of
which half exist (the in-process side-by-side's second batch, bench.side_by_side_worker, into a
new dataset given its first 10,000 beforehand, untimed); to_df of a 15,000-record dataset;
1,000 traced calls ingested (until flushed and found by a search); search_traces of those 1,000
traces with their spans; the same 10,000-record merge through evalledger's in-process API, and
that merge's request alone (its body prepared, posted with requests), for what the server adds.
Each run is a fresh client process (MLFLOW_TRACKING_URI set,
telemetry off); a failed workload is reported with its error and the others go on. Servers,
databases and artifacts live in a temporary directory and are gone at the end. Two settings
differ from the defaults: the client's trace export queue is longer (TRACE_QUEUE_SIZE, for both
servers), and MLflow's server runs without its job runner (see serve_mlflow).
Targets: evalledger's server at least 5x faster than MLflow's on each workload, and at most
20% slower than the in-process API on the merge. The machine's 2 cores are shared: noisy.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .harness import Report, Result
from .mlflow_server import REPOSITORY, ServerFailed, serve_evalledger, serve_mlflow

#: How a client process (bench.server_workloads) prints its result, as its last line.
RESULT_PREFIX = "RESULT "
MERGED, READ, TRACED = 10_000, 15_000, 1_000
#: Runs of each workload, the best counts; ingesting takes a minute on MLflow's server: once.
DATASET_RUNS, INGEST_RUNS, SEARCH_RUNS = 3, 1, 3
#: The client drops traces once 1,000 export tasks (2 a trace) wait for a slow server (as
#: MLflow's did, with its default); a longer queue lets every trace reach either server.
TRACE_QUEUE_SIZE = 10_000
WORKLOAD_TIMEOUT_SECONDS = 600.0
SPEEDUP_TARGET, OVERHEAD_TARGET_PERCENT = 5.0, 20.0

MERGE = f"merge_records, {MERGED:,} records, new dataset"
MERGE_HALF = f"merge_records, {MERGED:,} records, half existing"
TO_DF = f"to_df of {READ:,} records"
INGEST = f"ingest {TRACED:,} traced calls (2 spans each)"
SEARCH = f"search_traces of {TRACED:,} traces with spans, list"
WORKLOADS = (MERGE, MERGE_HALF, TO_DF, INGEST, SEARCH)
#: The merge's request alone (body prepared), against evalledger's server only.
HTTP_MERGE = f"the merge request alone, {MERGED:,} records (body prepared)"


class WorkloadFailed(Exception):
    """A workload's error, in one line."""


@dataclass
class Figures:
    """Best seconds per workload against one server, or the error of a failed workload."""

    seconds: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def attempt(self, workload: str, measure: Callable[[], float]) -> None:
        try:
            self.seconds[workload] = measure()
        except WorkloadFailed as exc:
            self.errors[workload] = str(exc)

    def fail_all(self, error: str) -> None:
        for workload in WORKLOADS:
            self.errors.setdefault(workload, error)


class ClientRunner:
    """Runs workloads of bench.server_workloads, each in a fresh Python process."""

    def __init__(self, directory: Path, tracking_uri: str | None = None) -> None:
        self.directory = directory
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        self.env.update(
            MLFLOW_DISABLE_TELEMETRY="true",
            DO_NOT_TRACK="true",
            PYTHONPATH=str(REPOSITORY),
            MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE=str(TRACE_QUEUE_SIZE),
        )
        if tracking_uri is not None:
            self.env["MLFLOW_TRACKING_URI"] = tracking_uri

    def run(self, workload: str, *args: object) -> dict[str, Any]:
        argv = [sys.executable, "-m", "bench.server_workloads", workload, *map(str, args)]
        try:
            done = subprocess.run(
                argv,
                cwd=self.directory,
                env=self.env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=WORKLOAD_TIMEOUT_SECONDS,
            )
        except subprocess.TimeoutExpired:
            raise WorkloadFailed(f"timed out after {WORKLOAD_TIMEOUT_SECONDS:.0f} s") from None
        result = _result_of(done.stdout)
        if result is None:
            raise WorkloadFailed(
                f"the client process exited with status {done.returncode}: "
                f"{_last_line(done.stderr)}"
            )
        if "error" in result:
            raise WorkloadFailed(result["error"])
        return result

    def best(self, runs: int, workload: str, *args: object) -> float:
        return min(self.run(workload, *args)["seconds"] for _ in range(runs))


def _result_of(stdout: bytes) -> dict[str, Any] | None:
    for line in reversed(stdout.decode(errors="replace").splitlines()):
        if line.startswith(RESULT_PREFIX):
            return orjson.loads(line[len(RESULT_PREFIX) :])
    return None


def _last_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines()]
    lines = [line for line in lines if line]
    return lines[-1][:400] if lines else "(no output)"


def measure_server(
    serve: Callable[[Path], AbstractContextManager[str]], root: Path, *, raw: bool = False
) -> Figures:
    """Every workload against one server, started on a fresh database under `root`; with
    `raw`, also the merge request alone."""
    figures = Figures()
    directory = Path(tempfile.mkdtemp(prefix="server-", dir=root))
    try:
        with serve(directory) as url:
            client = ClientRunner(directory, url)
            figures.attempt(MERGE, lambda: _merges(client, "merge"))
            figures.attempt(MERGE_HALF, lambda: _merges(client, "merge_half"))
            figures.attempt(TO_DF, lambda: _to_df(client))
            experiments: list[str] = []
            figures.attempt(INGEST, lambda: _ingest(client, experiments))
            figures.attempt(SEARCH, lambda: _search(client, experiments))
            if raw:
                figures.attempt(HTTP_MERGE, lambda: _merges(client, "http_merge"))
    except ServerFailed as exc:
        figures.fail_all(f"server: {exc}")
    return figures


def _merges(client: ClientRunner, workload: str, *before: object) -> float:
    """Best of the merge runs, each into a new dataset (merge_half: one given the first batch
    beforehand, in the same client process)."""
    runs = range(1, DATASET_RUNS + 1)
    return min(
        client.run(workload, *before, f"bench-{workload}-{n}", MERGED)["seconds"] for n in runs
    )


def _to_df(client: ClientRunner) -> float:
    dataset_id = client.run("merge", "bench-read", READ)["dataset_id"]
    return client.best(DATASET_RUNS, "to_df", dataset_id, READ)


def _ingest(client: ClientRunner, experiments: list[str]) -> float:
    """Best of the ingest runs, each into a new experiment (listed in `experiments`)."""
    best = float("inf")
    for number in range(1, INGEST_RUNS + 1):
        result = client.run("ingest", f"bench-ingest-{number}", TRACED)
        experiments.append(result["experiment_id"])
        best = min(best, result["seconds"])
    return best


def _search(client: ClientRunner, experiments: list[str]) -> float:
    if not experiments:
        raise WorkloadFailed("not run: no traces were ingested")
    return client.best(SEARCH_RUNS, "search", experiments[0], TRACED)


def measure_in_process(root: Path) -> Figures:
    """The merge through evalledger's in-process API, on a fresh SQLite ledger."""
    figures = Figures()
    directory = Path(tempfile.mkdtemp(prefix="in-process-", dir=root))
    uri = f"sqlite:///{directory / 'in-process.db'}"
    client = ClientRunner(directory)
    figures.attempt(MERGE, lambda: _merges(client, "in_process_merge", uri))
    return figures


def _failed(report: Report, name: str, error: str) -> None:
    print(f"  [{report.backend:10}] {name:55} FAILED: {error}", flush=True)


def _add_seconds(report: Report, name: str, figures: Figures, workload: str) -> float | None:
    if workload in figures.seconds:
        report.add(Result(name, figures.seconds[workload], "s"))
        return figures.seconds[workload]
    _failed(report, name, figures.errors.get(workload, "not measured"))
    return None


def report_figures(report: Report, ours: Figures, theirs: Figures, local: Figures) -> None:
    for workload in WORKLOADS:
        print(f"  {workload}:", flush=True)
        mine = _add_seconds(report, "  evalledger server", ours, workload)
        other = _add_seconds(report, "  MLflow server", theirs, workload)
        if mine is not None and other is not None:
            report.add(Result("  = evalledger faster by", other / mine, "x", SPEEDUP_TARGET))
    print(f"  {MERGE}, evalledger in-process:", flush=True)
    in_process = _add_seconds(report, "  evalledger.Client (no server)", local, MERGE)
    request = _add_seconds(report, "  evalledger server, the request alone", ours, HTTP_MERGE)
    server = ours.seconds.get(MERGE)
    if in_process is not None and request is not None:
        overhead = (request - in_process) / in_process * 100
        report.add(Result("  = server's added time", overhead, "%", OVERHEAD_TARGET_PERCENT, False))
    if in_process is not None and server is not None:
        overhead = (server - in_process) / in_process * 100
        report.add(Result("  = with the MLflow client's own work", overhead, "%"))


def run(backend: str, report: Report) -> None:
    if backend != "sqlite":
        print(f"  [{backend:10}] skipped: the server comparison runs on SQLite only", flush=True)
        return
    print(
        "  (NOISY: 2 CPU cores shared with other work. evalledger's server, then MLflow 3.17.2's\n"
        "   with one worker, each on a new SQLite database, through the MLflow 3.17.2 client;\n"
        f"   each run a fresh client process, best of {DATASET_RUNS} (ingest: {INGEST_RUNS} run))",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="evalledger-server-bench-") as directory:
        root = Path(directory)
        print("  ... evalledger's server", flush=True)
        ours = measure_server(serve_evalledger, root, raw=True)
        print("  ... evalledger in-process", flush=True)
        local = measure_in_process(root)
        print("  ... MLflow's server", flush=True)
        theirs = measure_server(serve_mlflow, root)
    report_figures(report, ours, theirs, local)
