"""The seed page's code, run as written by the unchanged MLflow client against the server,
then the same ledger read through evalledger's Python API (API.md §10)."""

from __future__ import annotations

import time

import mlflow
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.genai import datasets as mlflow_datasets

from evalledger import Client
from evalledger.ledger import verify_chain
from evalledger.projections.rebuild import check_projections

QUESTIONS = ["What is MLflow?", "How do I log a model?", "What is a run?"]


@mlflow.trace(span_type="RETRIEVER")
def retrieve(question: str) -> list[str]:
    return [f"doc about {question}"]


@mlflow.trace
def support_bot(question: str) -> dict[str, str]:
    docs = retrieve(question)
    mlflow.update_current_trace(tags={"environment": "production", "bot": "support"})
    return {"answer": f"{question} -> {docs[0]}"}


def _quick(call: object) -> MlflowException:
    started = time.monotonic()
    with pytest.raises(MlflowException) as caught:
        call()  # type: ignore[operator]
    assert time.monotonic() - started < 1.0, "the MLflow client retried"
    return caught.value


def test_the_seed_flow_through_the_mlflow_client(mlflow_at: str, db_url: str) -> None:
    experiment = mlflow.set_experiment("support-bot")
    for question in QUESTIONS:
        support_bot(question)
    mlflow.flush_trace_async_logging()

    # search production traces, newest first, and log the expected answers
    traces = mlflow.search_traces(
        filter_string="tags.environment = 'production'",
        order_by=["timestamp_ms DESC"],
        max_results=10,
    )
    assert len(traces) == 3
    for trace_id in traces["trace_id"]:
        mlflow.log_expectation(trace_id=trace_id, name="expected_answer", value="read the docs")
    two = mlflow.search_traces(max_results=2, return_type="list")
    assert len(two) == 2 and all(len(t.data.spans) == 2 for t in two)

    # a dataset from the traces (they carry the expectations just logged), then more cases
    ds = mlflow_datasets.create_dataset(
        name="production_cases",
        experiment_id=experiment.experiment_id,
        tags={"team": "support"},
    )
    mlflow_datasets.set_dataset_tags(ds.dataset_id, {"stage": "review"})
    ds.merge_records(traces)
    ds.merge_records([{"inputs": {"question": "Hi?"}, "expectations": {"answer": "Hello"}}])
    ds.merge_records(
        pd.DataFrame([{"inputs": {"question": "Bye?"}, "expectations": {"answer": "Bye"}}])
    )
    again = mlflow_datasets.get_dataset(name="production_cases")
    again.merge_records([{"inputs": {"question": f"case {i}"}} for i in range(1_200)])
    df = again.to_df()
    assert len(df) == 3 + 2 + 1_200
    from_traces = df[df["source_type"] == "TRACE"]
    assert len(from_traces) == 3
    assert all(e == {"expected_answer": "read the docs"} for e in from_traces["expectations"])
    assert again.delete_records(list(df["dataset_record_id"][-200:])) == 200

    # the error cases: the right MLflow error code, at once
    assert _quick(lambda: mlflow_datasets.get_dataset(name="nope")).error_code == (
        "RESOURCE_DOES_NOT_EXIST"
    )
    assert _quick(lambda: mlflow_datasets.create_dataset(name="production_cases")).error_code == (
        "RESOURCE_ALREADY_EXISTS"
    )
    assert (
        _quick(lambda: mlflow.search_traces(filter_string="tags.environment ~ 'x'")).error_code
        == "INVALID_PARAMETER_VALUE"
    )
    assert (
        _quick(lambda: mlflow_datasets.search_datasets(filter_string="name ~ 'x'")).error_code
        == "INVALID_PARAMETER_VALUE"
    )

    # the same ledger, through evalledger's Python API: full history, and it verifies
    client = Client(db_url)
    ours = client.get_dataset(name="production_cases")
    assert ours.num_records == 3 + 2 + 1_000
    assert list(ours.history()["operation"]) == [
        "CREATE",
        "SET_TAGS",
        "MERGE",
        "MERGE",
        "MERGE",
        "MERGE",
        "DELETE_RECORDS",
    ]
    trace = client.get_trace(str(traces["trace_id"][0]))
    assert {s.name for s in trace.data.spans} == {"support_bot", "retrieve"}
    assert trace.info.tags["environment"] == "production"
    assert verify_chain(client.store.engine).ok
    assert check_projections(client.store).ok
