"""One client workload of the server comparison, in a fresh process of its own.

`python -m bench.server_workloads NAME ARG...`: the MLflow client finds the server in
MLFLOW_TRACKING_URI. Only the measured call is timed. The last line printed is
`RESULT {json}`: `{"seconds": ..., ...}`, or `{"error": "..."}` when the workload failed.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

import mlflow
import orjson
import requests
from mlflow.genai import datasets as mlflow_datasets

from evalledger import Client

from .server_bench import RESULT_PREFIX
from .side_by_side_worker import records as side_by_side_records

#: How long ingested traces may take to show in a search once the client has flushed.
TRACE_WAIT_SECONDS = 120.0
ERROR_CHARS = 400


def records(count: int) -> list[dict[str, Any]]:
    """`count` distinct records with inputs and expectations."""
    return [
        {
            "inputs": {"question": f"How do I configure feature number {i}?", "context": "docs"},
            "expectations": {"expected_answer": f"Use setting {i}."},
        }
        for i in range(count)
    ]


def merge(name: str, count: str) -> dict[str, Any]:
    """`merge_records` of `count` records into a new dataset, through the MLflow client."""
    batch = records(int(count))
    dataset = mlflow_datasets.create_dataset(name=name)
    start = time.perf_counter()
    dataset.merge_records(batch)
    return {"seconds": time.perf_counter() - start, "dataset_id": dataset.dataset_id}


def merge_half(name: str, count: str) -> dict[str, Any]:
    """`merge_records` of `count` records of which half exist, through the MLflow client: the
    in-process side-by-side's second batch (bench.side_by_side_worker: records count/2 to
    3*count/2, expectations changed), into a new dataset first given its first batch (records
    0 to count, untimed). Checked afterwards, untimed, with a `to_df`: 3*count/2 records, the
    existing ones with the new expectations."""
    existing = int(count)
    dataset = mlflow_datasets.create_dataset(name=name)
    dataset.merge_records(side_by_side_records(0, existing))
    batch = side_by_side_records(existing // 2, existing + existing // 2, 1)
    start = time.perf_counter()
    dataset.merge_records(batch)
    seconds = time.perf_counter() - start
    _check_merged(dataset.dataset_id, existing)
    return {"seconds": seconds}


def _check_merged(dataset_id: str, existing: int) -> None:
    """The dataset after merge_half: every record once, the second batch's expectations won."""
    frame = mlflow_datasets.get_dataset(dataset_id=dataset_id).to_df()
    expected = existing + existing // 2
    if len(frame) != expected:
        raise RuntimeError(f"the dataset holds {len(frame):,} records, not {expected:,}")
    answers = {
        inputs["question"]: expectations.get("answer")
        for inputs, expectations in zip(frame["inputs"], frame["expectations"], strict=True)
    }
    for i, offset in ((0, 0), (existing // 2, 1), (existing, 1), (expected - 1, 1)):
        if answers.get(f"question {i}") != f"answer {i + offset}":
            raise RuntimeError(f"record {i} has answer {answers.get(f'question {i}')!r}")


def to_df(dataset_id: str, expected: str) -> dict[str, Any]:
    """`to_df()` of a dataset the MLflow client has not read yet (it pages 1,000 at a time)."""
    dataset = mlflow_datasets.get_dataset(dataset_id=dataset_id)
    start = time.perf_counter()
    frame = dataset.to_df()
    seconds = time.perf_counter() - start
    if len(frame) != int(expected):
        raise RuntimeError(f"to_df returned {len(frame):,} records, not {int(expected):,}")
    return {"seconds": seconds}


@mlflow.trace(name="retrieve")
def _retrieve(question: str) -> list[str]:
    return [f"doc about {question[:12]}", "faq"]


@mlflow.trace(name="answer")
def _answer(question: str) -> dict[str, Any]:
    documents = _retrieve(question)
    return {"answer": f"See {documents[0]}", "sources": len(documents)}


def ingest(experiment_name: str, count: str) -> dict[str, Any]:
    """`count` traced calls (a root and a child span each) into a new experiment, timed until
    the client has flushed them and a search on the server finds them all."""
    expected = int(count)
    experiment_id = mlflow.set_experiment(experiment_name).experiment_id
    start = time.perf_counter()
    for i in range(expected):
        _answer(f"How do I reset password number {i}?")
    mlflow.flush_trace_async_logging()
    _wait_for_traces(experiment_id, expected)
    return {"seconds": time.perf_counter() - start, "experiment_id": experiment_id}


def _wait_for_traces(experiment_id: str, expected: int) -> None:
    deadline = time.monotonic() + TRACE_WAIT_SECONDS
    while True:
        found = len(
            mlflow.search_traces(locations=[experiment_id], include_spans=False, return_type="list")
        )
        if found >= expected:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{found:,} of {expected:,} traces found on the server "
                f"{TRACE_WAIT_SECONDS:.0f} s after the client flushed"
            )
        time.sleep(0.05)


def search(experiment_id: str, expected: str) -> dict[str, Any]:
    """`mlflow.search_traces` of every trace of an experiment, with spans, as a list."""
    start = time.perf_counter()
    traces = mlflow.search_traces(locations=[experiment_id], return_type="list")
    seconds = time.perf_counter() - start
    if len(traces) != int(expected):
        raise RuntimeError(f"search_traces found {len(traces):,} traces, not {int(expected):,}")
    spans = {len(trace.data.spans) for trace in traces}
    if spans != {2}:
        raise RuntimeError(f"traces came back with {sorted(spans)} spans, not 2 each")
    return {"seconds": seconds}


def http_merge(name: str, count: str) -> dict[str, Any]:
    """The merge's one request alone: the records body as the MLflow client sends it (with
    its source and user tags), prepared beforehand, posted to the server. What the server
    adds over the in-process API, without the client's own work."""
    base = os.environ["MLFLOW_TRACKING_URI"] + "/api/3.0/mlflow/datasets"
    batch = [
        {**r, "source": {"source_type": "HUMAN", "source_data": {}}, "tags": {"mlflow.user": "b"}}
        for r in records(int(count))
    ]
    body = orjson.dumps({"records": orjson.dumps(batch).decode()})
    created = requests.post(base + "/create", json={"name": name}, timeout=60)
    dataset_id = created.json()["dataset"]["dataset_id"]
    start = time.perf_counter()
    answer = requests.post(
        f"{base}/{dataset_id}/records",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=600,
    )
    seconds = time.perf_counter() - start
    if answer.status_code != 200 or answer.json().get("inserted_count") != int(count):
        raise RuntimeError(f"the merge request answered {answer.status_code}: {answer.text[:200]}")
    return {"seconds": seconds}


def in_process_merge(uri: str, name: str, count: str) -> dict[str, Any]:
    """The same merge through evalledger's in-process API, on the ledger at `uri`."""
    batch = records(int(count))
    dataset = Client(uri, user="bench").create_dataset(name)
    start = time.perf_counter()
    dataset.merge_records(batch)
    return {"seconds": time.perf_counter() - start}


WORKLOADS: dict[str, Callable[..., dict[str, Any]]] = {
    "merge": merge,
    "merge_half": merge_half,
    "to_df": to_df,
    "ingest": ingest,
    "search": search,
    "in_process_merge": in_process_merge,
    "http_merge": http_merge,
}


def error_line(exc: BaseException) -> str:
    """The error in one line: its type and its message, clipped."""
    text = " ".join(str(exc).split())
    line = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return line if len(line) <= ERROR_CHARS else line[: ERROR_CHARS - 3] + "..."


def main(argv: list[str]) -> int:
    name, *args = argv
    try:
        result = WORKLOADS[name](*args)
    except Exception as exc:
        print(RESULT_PREFIX + orjson.dumps({"error": error_line(exc)}).decode(), flush=True)
        return 1
    print(RESULT_PREFIX + orjson.dumps(result).decode(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
