"""The unchanged MLflow client's trace flows against the server (API.md §10): traced
functions in async and sync mode, search, get, assessments, tags, datasets from traces."""

from __future__ import annotations

import time
import warnings
from collections import Counter

import mlflow
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.genai import datasets as mlflow_datasets

from evalledger import Client
from evalledger.ledger import verify_chain
from evalledger.projections.rebuild import check_projections


@mlflow.trace(span_type="RETRIEVER")
def retrieve(question: str) -> list[str]:
    return [f"doc about {question}", "doc-2"]


@mlflow.trace
def answer(question: str, env: str = "test") -> dict[str, str]:
    mlflow.update_current_trace(tags={"env": env})
    docs = retrieve(question)
    return {"answer": f"{question} -> {len(docs)} docs"}


@mlflow.trace
def broken(question: str) -> None:
    raise ValueError(f"kaboom: {question}")


def _root(trace: mlflow.entities.Trace) -> mlflow.entities.Span:
    return next(s for s in trace.data.spans if s.parent_id is None)


def _logged_per_trace(db_url: str) -> Counter[str]:
    """How many TraceLogged events each trace stream has."""
    return Counter(
        e.stream_id for e in Client(db_url).store.iter_all() if e.event_type == "TraceLogged"
    )


def _ledger_is_sound(db_url: str) -> None:
    client = Client(db_url)
    assert verify_chain(client.store.engine).ok
    assert check_projections(client.store).ok


def _run_and_check_traced_calls(db_url: str) -> None:
    experiment = mlflow.set_experiment("support-bot")
    questions = [f"question {i}" for i in range(6)]
    for q in questions:
        answer(q, env="probe")
    mlflow.flush_trace_async_logging()

    found = mlflow.search_traces(
        filter_string="tags.env = 'probe'", order_by=["timestamp_ms ASC"], return_type="list"
    )
    assert sorted(_root(t).inputs["question"] for t in found) == questions
    times = [t.info.request_time for t in found]
    assert times == sorted(times)
    for trace in found:
        assert trace.info.experiment_id == experiment.experiment_id
        assert trace.info.state == "OK"
        assert trace.info.tags["env"] == "probe"
        assert sorted(s.name for s in trace.data.spans) == ["answer", "retrieve"]
        child = next(s for s in trace.data.spans if s.name == "retrieve")
        assert child.parent_id == _root(trace).span_id
        assert child.span_type == "RETRIEVER"
    assert set(_logged_per_trace(db_url).values()) == {1}
    assert len(_logged_per_trace(db_url)) == len(questions)

    # two calls can share a millisecond, so find the first question's trace by its input
    first = next(t for t in found if _root(t).inputs["question"] == questions[0])
    ours = Client(db_url).get_trace(first.info.trace_id)
    assert len(ours.data.spans) == 2
    assert ours.data.root_span.outputs == {"answer": "question 0 -> 2 docs"}
    assert ours.info.tags["env"] == "probe"
    _ledger_is_sound(db_url)


def test_traced_calls_with_async_logging_are_stored_once_with_all_spans(
    mlflow_at: str, db_url: str
) -> None:
    _run_and_check_traced_calls(db_url)


def test_traced_calls_with_sync_logging_are_stored_once_with_all_spans(
    mlflow_at: str, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
    _run_and_check_traced_calls(db_url)
    kinds = Counter(e.event_type for e in Client(db_url).store.iter_all())
    assert kinds["TraceSpansAdded"] == 0  # spans came first, then the info: no late spans


def test_a_function_that_raises_makes_an_error_trace(mlflow_at: str, db_url: str) -> None:
    mlflow.set_experiment("errors")
    with pytest.raises(ValueError, match="kaboom"):
        broken("q")
    mlflow.flush_trace_async_logging()
    (trace,) = mlflow.search_traces(return_type="list")
    assert trace.info.state == "ERROR"
    (span,) = trace.data.spans
    assert span.status.status_code == "ERROR"
    assert "kaboom: q" in span.status.description
    assert [e.name for e in span.events] == ["exception"]
    assert "kaboom" in span.events[0].attributes["exception.message"]
    assert Client(db_url).search_traces(filter_string="attributes.status = 'ERROR'").shape[0] == 1


def test_get_trace_reads_spans_and_a_missing_trace_is_none(mlflow_at: str) -> None:
    mlflow.set_experiment("get")
    answer("What is MLflow?")
    mlflow.flush_trace_async_logging()
    trace_id = mlflow.get_last_active_trace_id()
    trace = mlflow.get_trace(trace_id)
    assert trace.info.trace_id == trace_id
    assert trace.info.tags["mlflow.trace.spansLocation"] == "TRACKING_STORE"
    root = _root(trace)
    assert root.inputs == {"question": "What is MLflow?", "env": "test"}
    assert root.outputs == {"answer": "What is MLflow? -> 2 docs"}
    child = next(s for s in trace.data.spans if s.parent_id is not None)
    assert child.outputs == ["doc about What is MLflow?", "doc-2"]
    assert trace.info.request_preview and trace.info.execution_duration is not None
    assert mlflow.get_trace("tr-" + "0" * 32) is None


def test_search_traces_filters_orders_pages_and_extracts(mlflow_at: str, db_url: str) -> None:
    experiment = mlflow.set_experiment("search")
    for i in range(4):
        answer(f"q{i}", env="prod" if i % 2 else "dev")
        time.sleep(0.003)  # distinct request times, so the order is the call order
    mlflow.flush_trace_async_logging()
    # more traces than one page of the client's (100), written in-process
    ours = Client(db_url, user="importer")
    for i in range(130):
        ours.log_trace(
            {"i": i}, {"o": i}, experiment_id=experiment.experiment_id, tags={"env": "bulk"}
        )

    everything = mlflow.search_traces(return_type="list")
    assert len(everything) == 134
    assert len({t.info.trace_id for t in everything}) == 134

    prod = mlflow.search_traces(filter_string="tags.env = 'prod'", return_type="list")
    assert sorted(_root(t).inputs["question"] for t in prod) == ["q1", "q3"]

    newest = mlflow.search_traces(
        filter_string="tags.env != 'bulk'", order_by=["timestamp_ms DESC"], max_results=2
    )
    assert isinstance(newest, pd.DataFrame)
    assert len(newest) == 2
    assert [r["question"] for r in newest["request"]] == ["q3", "q2"]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        df = mlflow.search_traces(
            filter_string="tags.env = 'dev'",
            order_by=["timestamp_ms ASC"],
            extract_fields=["answer.inputs.question", "retrieve.outputs"],
        )
    assert list(df["answer.inputs.question"]) == ["q0", "q2"]
    assert df["retrieve.outputs"].iloc[0] == ["doc about q0", "doc-2"]
    assert all(len(spans) == 2 for spans in df["spans"])


def test_bad_trace_filter_fails_fast_with_invalid_parameter(mlflow_at: str) -> None:
    mlflow.set_experiment("bad-filter")
    started = time.monotonic()
    with pytest.raises(MlflowException) as caught:
        mlflow.search_traces(filter_string="tags.env ~ 'x'")
    assert time.monotonic() - started < 1.0, "the client retried"
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


def test_assessments_tags_and_datasets_built_from_traces(mlflow_at: str, db_url: str) -> None:
    experiment = mlflow.set_experiment("golden-from-traces")
    for q in ("What is MLflow?", "2+2?"):
        answer(q)
        time.sleep(0.003)
    mlflow.flush_trace_async_logging()
    df = mlflow.search_traces(order_by=["timestamp_ms ASC"])
    first, second = list(df["trace_id"])

    human = mlflow.entities.AssessmentSource(source_type="HUMAN", source_id="reviewer@example.com")
    logged = mlflow.log_expectation(
        trace_id=first, name="expected_answer", value="A platform", source=human
    )
    assert logged.assessment_id.startswith("a-")
    judge = mlflow.entities.AssessmentSource(source_type="LLM_JUDGE", source_id="judge-1")
    mlflow.log_feedback(
        trace_id=second, name="correct", value=True, rationale="looks right", source=judge
    )
    mlflow.set_trace_tag(first, "reviewed", "yes")
    mlflow.set_trace_tag(second, "reviewed", "no")
    mlflow.delete_trace_tag(second, "reviewed")

    info = mlflow.get_trace(first).info
    assert info.tags["reviewed"] == "yes"
    (expectation,) = info.assessments
    assert (expectation.name, expectation.expectation.value) == ("expected_answer", "A platform")
    assert expectation.source.source_id == "reviewer@example.com"
    feedback = mlflow.get_trace(second).info.assessments[0]
    assert (feedback.feedback.value, feedback.rationale) == (True, "looks right")
    assert "reviewed" not in mlflow.get_trace(second).info.tags
    ours = Client(db_url).get_trace(first)
    assert ours.info.tags["reviewed"] == "yes"
    assert [a.value for a in ours.info.assessments] == ["A platform"]

    # a DataFrame searched before the second expectation: the records still get the
    # traces' current expectations
    mlflow.log_expectation(trace_id=second, name="expected_answer", value="4", source=human)
    ds = mlflow_datasets.create_dataset(name="golden", experiment_id=experiment.experiment_id)
    ds.merge_records(df)
    records = {r["inputs"]["question"]: r for _, r in ds.to_df().iterrows()}
    assert records["What is MLflow?"]["expectations"] == {"expected_answer": "A platform"}
    assert records["2+2?"]["expectations"] == {"expected_answer": "4"}

    # a list of Trace objects merges into the same records (same inputs: updated, not added)
    mlflow.log_expectation(trace_id=first, name="expected_answer", value="An ML platform")
    traces = mlflow.search_traces(return_type="list")
    ds.merge_records(traces)
    stored = Client(db_url).get_dataset(dataset_id=ds.dataset_id)
    assert stored.num_records == 2
    by_question = {r.inputs["question"]: r for r in stored.records}
    assert by_question["What is MLflow?"].expectations == {"expected_answer": "An ML platform"}
    assert by_question["2+2?"].source_id == second
    _ledger_is_sound(db_url)


def test_tag_and_assessment_on_a_missing_trace_are_not_found(mlflow_at: str) -> None:
    missing = "tr-" + "f" * 32
    for call in (
        lambda: mlflow.set_trace_tag(missing, "k", "v"),
        lambda: mlflow.delete_trace_tag(missing, "k"),
        lambda: mlflow.log_expectation(trace_id=missing, name="x", value=1),
    ):
        with pytest.raises(MlflowException) as caught:
            call()
        assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"
        assert missing in caught.value.message
