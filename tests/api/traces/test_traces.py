"""Traces (API.md §6, §7): import, read back, search, tags, assessments, records from
traces. Every test runs on each backend; the MLflow fixture is the real data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from evalledger import Client, Trace, errors
from evalledger.projections.rebuild import check_projections, rebuild
from evalledger.projections.traces_fold import time_ms
from evalledger.traces import importer

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "mlflow_traces.jsonl"
LINES = FIXTURE.read_text().splitlines()
RAW = [json.loads(line) for line in LINES]
BY_ID = {t["info"]["trace_id"]: t for t in RAW}
DF_COLUMNS = [
    "trace_id",
    "trace",
    "request_time",
    "state",
    "execution_duration",
    "request",
    "response",
    "trace_metadata",
    "tags",
    "spans",
    "assessments",
]


@pytest.fixture
def client(client: Client) -> Client:
    """The test's client, already used once: first use creates the Default experiment."""
    client.search_experiments()
    return client


@pytest.fixture
def imported(client: Client) -> list[str]:
    return client.import_traces(FIXTURE)


def event_count(client: Client) -> int:
    with client.store.engine.connect() as conn:
        return conn.execute(sa.text("SELECT COUNT(*) FROM events")).scalar_one()


def root(raw: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in raw["data"]["spans"] if s["parent_span_id"] is None)


def root_inputs(raw: dict[str, Any]) -> Any:
    return json.loads(root(raw)["attributes"]["mlflow.spanInputs"])


def ids(client: Client, filter_string: str | None = None, **kw: Any) -> list[str]:
    return [
        t.info.trace_id
        for t in client.search_traces(filter_string=filter_string, return_type="list", **kw)
    ]


# ----------------------------------------------------------------------------- import


def test_the_fixture_traces_import_and_read_back_unchanged(
    client: Client, imported: list[str]
) -> None:
    assert imported == list(BY_ID)
    for trace_id, raw in BY_ID.items():
        trace = client.get_trace(trace_id)
        assert json.loads(trace.to_json()) == raw
        assert Trace.from_json(trace.to_json()) == trace
        assert Trace.from_json(LINES[imported.index(trace_id)]) == trace
    trace = client.get_trace(imported[0])
    raw = RAW[0]
    info = trace.info
    assert info.trace_id == info.request_id == raw["info"]["trace_id"]
    assert info.experiment_id == "1"
    assert info.request_time == info.timestamp_ms == time_ms(raw["info"]["request_time"])
    assert isinstance(info.request_time, int)
    assert info.execution_time_ms == info.execution_duration == raw["info"]["execution_duration_ms"]
    assert info.state == info.status == "OK"
    assert info.tags == raw["info"]["tags"]
    assert info.trace_metadata == raw["info"]["trace_metadata"]
    assert [s.name for s in trace.data.spans] == ["chat_completion", "retrieve", "llm"]
    assert trace.data.root_span.inputs == root_inputs(raw)
    assert json.loads(trace.data.request) == root_inputs(raw)
    tokens = json.loads(root(raw)["attributes"]["mlflow.spanOutputs"])["tokens"]
    assert trace.data.spans[2].attributes["usage"]["total_tokens"] == tokens
    assert trace.data.root_span.attributes["usage.total_tokens"] == tokens
    kinds = [(a.name, a.kind, a.valid) for a in info.assessments]
    assert kinds == [("expected_answer", "expectation", True), ("helpful", "feedback", True)]
    expectation = info.assessments[0]
    assert (
        expectation.value == expectation.expectation.value == "Correct answer about password reset"
    )
    assert expectation.source.source_type == "HUMAN"
    assert expectation.create_time_ms == time_ms(raw["info"]["assessments"][0]["create_time"])
    assert info.assessments[1].feedback.value is False
    assert client.get_experiment("1").name == "imported-1"


def test_reimporting_the_same_traces_is_a_no_op(client: Client, imported: list[str]) -> None:
    before = event_count(client)
    assert client.import_traces(FIXTURE) == imported
    assert client.import_traces([*LINES[:3], LINES[0]]) == imported[:3]
    assert event_count(client) == before
    assert len(client.search_traces()) == 30


def test_a_source_larger_than_the_import_keeps_is_read_again_past_what_it_kept(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first pass keeps checked traces up to KEPT_BYTES; the ones after are read and
    checked again from the file when written, still once each and in order."""
    monkeypatch.setattr(importer, "KEPT_BYTES", sum(len(line) for line in LINES[:10]))
    monkeypatch.setattr(importer, "IMPORT_BATCH", 7)
    path = tmp_path / "repeats.jsonl"
    path.write_text("\n".join([*LINES, LINES[3], LINES[15], *LINES[:2]]) + "\n")
    before = event_count(client)
    assert client.import_traces(path) == list(BY_ID)
    assert len(client.search_traces()) == 30
    for trace_id, raw in BY_ID.items():
        assert json.loads(client.get_trace(trace_id).to_json()) == raw
    assert event_count(client) == before + 30 + 1  # one per trace, and experiment 1's creation


def test_import_takes_trace_objects_json_dicts_files_and_duck_typed_traces(
    client: Client, tmp_path: Path
) -> None:
    class MlflowLikeTrace:  # what mlflow.entities.Trace offers: info, data, to_json()
        def __init__(self, line: str) -> None:
            self.info, self.data, self._line = object(), object(), line

        def to_json(self) -> str:
            return self._line

    assert client.import_traces(LINES[0]) == [RAW[0]["info"]["trace_id"]]  # creates experiment 1
    experiment = client.create_experiment("target")
    assert client.import_traces(RAW[1]) == [RAW[1]["info"]["trace_id"]]
    assert (
        client.import_traces([Trace.from_json(LINES[2]), MlflowLikeTrace(LINES[3])])[1]
        == (RAW[3]["info"]["trace_id"])
    )
    path = tmp_path / "traces.json"
    path.write_text(json.dumps(RAW[4:8]))
    assert client.import_traces(str(path), experiment_id=experiment) == list(BY_ID)[4:8]
    assert set(ids(client, experiment_ids=[experiment])) == set(list(BY_ID)[4:8])
    assert len(ids(client, experiment_ids="1")) == 4
    assert client.get_trace(RAW[5]["info"]["trace_id"]).info.experiment_id == experiment
    with pytest.raises(errors.ResourceNotFound):
        client.import_traces(LINES[9], experiment_id="4242")


def test_bad_input_is_named_and_writes_nothing(client: Client, tmp_path: Path) -> None:
    before = event_count(client)
    broken = json.loads(LINES[1])
    del broken["info"]["trace_id"]
    with pytest.raises(errors.InvalidParameter, match=r"trace 1: .*trace_id"):
        client.import_traces([LINES[0], broken])
    path = tmp_path / "traces.jsonl"
    path.write_text("\n".join([LINES[0], LINES[1], "{not json", LINES[2]]))
    with pytest.raises(errors.InvalidParameter, match=r"line 3 of traces\.jsonl"):
        client.import_traces(path)
    nan = json.loads(LINES[0])
    nan["info"]["trace_metadata"]["score"] = float("nan")
    with pytest.raises(errors.InvalidParameter, match="score"):
        client.import_traces([nan])
    nul = json.loads(LINES[0])
    nul["info"]["tags"]["environment"] = "prod\x00"
    with pytest.raises(errors.InvalidParameter, match="NUL"):
        client.import_traces(nul)
    bad_span = json.loads(LINES[0])
    bad_span["data"]["spans"][1]["span_id"] = 7
    with pytest.raises(errors.InvalidParameter, match=r"data\.spans\[1\]\.span_id"):
        client.import_traces(bad_span)
    with pytest.raises(errors.InvalidParameter, match="no such file"):
        client.import_traces(str(tmp_path / "missing.jsonl"))
    other = json.loads(LINES[0])
    other["info"]["trace_location"]["mlflow_experiment"]["experiment_id"] = "abc"
    with pytest.raises(errors.InvalidParameter, match="'abc'"):
        client.import_traces(other)
    assert event_count(client) == before
    assert client.search_traces().empty


# ----------------------------------------------------------------------------- search


def _tag(raw: dict[str, Any], key: str) -> str | None:
    return raw["info"]["tags"].get(key)


FILTERS: list[tuple[str, Any]] = [
    ("attributes.name = 'chat_completion'", lambda r: True),
    ("attributes.name != 'chat_completion'", lambda r: False),
    ("attributes.status = 'OK'", lambda r: True),
    ("attributes.status = 'ERROR'", lambda r: False),
    ("tags.environment = 'production'", lambda r: _tag(r, "environment") == "production"),
    ('tag.environment = "staging"', lambda r: _tag(r, "environment") == "staging"),
    ("tags.environment != 'staging'", lambda r: _tag(r, "environment") != "staging"),
    ("tag.quality_score < 0.7", lambda r: float(_tag(r, "quality_score")) < 0.7),
    ("tag.quality_score >= 0.5", lambda r: float(_tag(r, "quality_score")) >= 0.5),
    (
        "tags.quality_score IN ('0.21', '0.14')",
        lambda r: _tag(r, "quality_score") in ("0.21", "0.14"),
    ),
    (
        "tags.quality_score NOT IN ('0.21', '0.14')",
        lambda r: _tag(r, "quality_score") not in ("0.21", "0.14"),
    ),
    ("tags.environment LIKE 'prod%'", lambda r: _tag(r, "environment") == "production"),
    ("tags.environment LIKE 'PROD%'", lambda r: False),
    ("tags.environment ILIKE 'PROD%'", lambda r: _tag(r, "environment") == "production"),
    ("tags.missing IS NULL", lambda r: True),
    ("tags.environment IS NOT NULL", lambda r: True),
    ("tags.`mlflow.traceName` = 'chat_completion'", lambda r: True),
    ("metadata.`mlflow.user` = 'root'", lambda r: True),
    ("metadata.mlflow.user != 'root'", lambda r: False),
    (
        "attributes.timestamp_ms > 1795662785500",
        lambda r: time_ms(r["info"]["request_time"]) > 1795662785500,
    ),
    (
        "attributes.execution_time_ms < 60",
        lambda r: r["info"]["execution_duration_ms"] < 60,
    ),
    (
        f"attributes.trace_id = '{RAW[3]['info']['trace_id']}'",
        lambda r: r is RAW[3],
    ),
    (
        "tags.environment = 'production' AND (tag.quality_score < 0.3 OR tag.quality_score > 0.8)",
        lambda r: (
            _tag(r, "environment") == "production"
            and not 0.3 <= float(_tag(r, "quality_score")) <= 0.8
        ),
    ),
    (
        "tags.environment = 'staging' OR attributes.execution_time_ms >= 100",
        lambda r: _tag(r, "environment") == "staging" or r["info"]["execution_duration_ms"] >= 100,
    ),
]


def test_every_filter_form_matches_what_the_data_says(client: Client, imported: list[str]) -> None:
    wrong = {}
    for text, predicate in FILTERS:
        expected = {r["info"]["trace_id"] for r in RAW if predicate(r)}
        found = ids(client, text)
        if set(found) != expected or len(found) != len(set(found)):
            wrong[text] = (len(found), len(expected))
    assert wrong == {}
    assert 0 < len(ids(client, "tag.quality_score < 0.7")) < 30


def test_a_tag_equal_to_a_number_compares_numerically(client: Client, imported: list[str]) -> None:
    expected = {i for i, r in BY_ID.items() if _tag(r, "quality_score") in ("0.21", "0.14")}
    assert expected and set(ids(client, "tags.quality_score IN (0.21, 0.140)")) == expected
    assert set(ids(client, "tag.quality_score = 0.21")) == {
        i for i, r in BY_ID.items() if _tag(r, "quality_score") == "0.21"
    }


def test_order_by_max_results_and_experiments(client: Client, imported: list[str]) -> None:
    newest_first = sorted(RAW, key=lambda r: time_ms(r["info"]["request_time"]), reverse=True)
    assert ids(client) == [r["info"]["trace_id"] for r in newest_first]
    assert ids(client, order_by=["attributes.timestamp_ms ASC"]) == ids(client)[::-1]
    assert ids(client, max_results=5) == ids(client)[:5]
    slowest = ids(client, order_by=["attributes.execution_time_ms DESC"])
    durations = [BY_ID[i]["info"]["execution_duration_ms"] for i in slowest]
    assert durations == sorted(durations, reverse=True)
    assert ids(client, order_by=["attributes.name", "attributes.timestamp_ms DESC"]) == ids(client)
    assert ids(client, experiment_ids=["1"]) == ids(client)
    assert ids(client, experiment_ids=["0"]) == []
    frame = client.search_traces(max_results=2)
    assert list(frame.columns) == DF_COLUMNS
    assert frame["request_time"].tolist() == [
        time_ms(BY_ID[i]["info"]["request_time"]) for i in ids(client)[:2]
    ]
    assert frame["request"][0] == root_inputs(BY_ID[frame["trace_id"][0]])
    assert Trace.from_json(frame["trace"][0]) == client.get_trace(frame["trace_id"][0])
    assert (
        client.search_traces(filter_string="tags.environment = 'nowhere'").columns.tolist()
        == DF_COLUMNS
    )


def test_extract_fields(client: Client, imported: list[str]) -> None:
    fields = [
        "span.inputs.question",
        "span.inputs",
        "llm.attributes.usage.total_tokens",
        "span.attributes.usage.total_tokens",
        "retrieve.outputs.documents",
        "llm.inputs.messages.0.role",
        "tag.quality_score",
        "tags.environment",
        "metadata.mlflow.user",
        "metadata.mlflow.source.type",
        "metadata.`mlflow.user`",
        "span.outputs.nothing_here",
        "nospan.inputs.question",
        "span.start_time",
    ]
    frame = client.search_traces(extract_fields=fields)
    assert list(frame.columns) == DF_COLUMNS + fields
    for row in frame.to_dict("records"):
        raw = BY_ID[row["trace_id"]]
        tokens = json.loads(root(raw)["attributes"]["mlflow.spanOutputs"])["tokens"]
        assert row["span.inputs.question"] == root_inputs(raw)["question"]
        assert row["span.inputs"] == root_inputs(raw)
        assert row["llm.attributes.usage.total_tokens"] == tokens
        assert row["span.attributes.usage.total_tokens"] == tokens
        assert row["retrieve.outputs.documents"][0].startswith("doc-")
        assert row["llm.inputs.messages.0.role"] == "user"
        assert row["tag.quality_score"] == _tag(raw, "quality_score")
        assert row["tags.environment"] == _tag(raw, "environment")
        assert row["metadata.mlflow.user"] == "root"
        assert row["metadata.mlflow.source.type"] == "LOCAL"
        assert row["metadata.`mlflow.user`"] == "root"
        assert row["span.outputs.nothing_here"] is None
        assert row["nospan.inputs.question"] is None
        assert row["span.start_time"] == root(raw)["start_time_unix_nano"]
    tokens = pd.to_numeric(frame["span.attributes.usage.total_tokens"])
    assert -1 <= tokens.corr(pd.to_numeric(frame["tag.quality_score"])) <= 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"filter_string": "tags.environment == 'x'"}, "'=='"),
        ({"filter_string": "attributes.bogus = 'x'"}, "'bogus'"),
        ({"filter_string": "tags.environment = 'x' AND"}, "end of filter|expected a field"),
        ({"filter_string": "attributes.timestamp_ms > 'yesterday'"}, "timestamp_ms"),
        ({"filter_string": "attributes.name = 3"}, "name"),
        ({"filter_string": "span.x = 1"}, "'span.x'"),
        ({"order_by": ["attributes.bogus DESC"]}, "bogus"),
        ({"order_by": ["attributes.name SIDEWAYS"]}, "SIDEWAYS"),
        ({"extract_fields": ["span.nothing"]}, "span.nothing"),
        ({"max_results": 0}, "max_results"),
        ({"return_type": "arrow"}, "return_type"),
    ],
)
def test_bad_search_arguments_are_clear_errors(client: Client, kwargs: dict, message: str) -> None:
    with pytest.raises(errors.InvalidParameter, match=message):
        client.search_traces(**kwargs)


# ----------------------------------------------------------------------------- writes


def test_unknown_trace_ids_are_not_found(client: Client) -> None:
    for call in (
        lambda: client.get_trace("tr-missing"),
        lambda: client.set_trace_tag("tr-missing", "k", "v"),
        lambda: client.delete_trace_tag("tr-missing", "k"),
        lambda: client.log_expectation("tr-missing", "expected", 1),
        lambda: client.log_feedback("tr-missing", "helpful", True),
    ):
        with pytest.raises(errors.ResourceNotFound, match="tr-missing"):
            call()
    assert event_count(client) == 1  # the Default experiment


def test_log_trace_without_spans(client: Client) -> None:
    trace = client.log_trace(
        {"question": "What is MLflow?"},
        {"answer": "A platform"},
        name="qa",
        tags={"team": "support", "score": 0.5},
        metadata={"mlflow.trace.session": "s-1"},
        timestamp_ms=1_700_000_000_123,
        execution_time_ms=42,
    )
    assert trace.info.trace_id.startswith("tr-") and len(trace.info.trace_id) == 35
    stored = client.get_trace(trace.info.trace_id)
    assert stored == trace
    assert stored.info.tags == {"team": "support", "score": "0.5", "mlflow.traceName": "qa"}
    assert stored.info.request_time == 1_700_000_000_123
    assert stored.info.execution_time_ms == 42
    assert stored.info.experiment_id == "0"
    assert stored.info.state == "OK"
    (span,) = stored.data.spans
    assert (span.name, span.parent_id) == ("qa", None)
    assert span.inputs == {"question": "What is MLflow?"}
    assert span.outputs == {"answer": "A platform"}
    assert ids(client, "attributes.name = 'qa'") == [trace.info.trace_id]
    with pytest.raises(errors.ResourceAlreadyExists):
        client.log_trace({"q": 1}, trace_id=trace.info.trace_id)
    with pytest.raises(errors.ResourceNotFound):
        client.log_trace({"q": 1}, experiment_id="999")
    with pytest.raises(errors.InvalidParameter, match="inputs"):
        client.log_trace({"q": float("inf")})
    with pytest.raises(errors.InvalidParameter, match="status"):
        client.log_trace({"q": 1}, status="MAYBE")
    assert len(client.search_traces()) == 1


def test_log_trace_with_spans(client: Client) -> None:
    trace = client.log_trace(
        "plain question",
        "plain answer",
        spans=[
            {
                "name": "agent",
                "span_id": "s1",
                "parent_id": None,
                "start_time_ns": 1_000_000_000,
                "end_time_ns": 3_000_000_000,
            },
            {
                "name": "tool",
                "span_id": "s2",
                "parent_id": "s1",
                "inputs": {"x": 1},
                "outputs": [1, 2],
                "attributes": {"usage": {"total_tokens": 7}, "model": "m"},
                "start_time_ns": 1_500_000_000,
                "end_time_ns": 2_000_000_000,
            },
        ],
        trace_id="tr-custom",
    )
    assert trace.info.execution_time_ms == 2_000
    assert [s.name for s in trace.data.spans] == ["agent", "tool"]
    assert trace.data.spans[1].parent_id == "s1"
    assert trace.data.spans[1].attributes["model"] == "m"
    frame = client.search_traces(
        extract_fields=["tool.attributes.usage.total_tokens", "span.inputs"]
    )
    assert frame["tool.attributes.usage.total_tokens"][0] == 7
    assert frame["span.inputs"][0] == "plain question"
    with pytest.raises(errors.InvalidParameter, match="parent_id"):
        client.log_trace({}, spans=[{"name": "a", "span_id": "x", "parent_id": "nowhere"}])


def test_trace_tags_are_set_deleted_and_searchable(client: Client, imported: list[str]) -> None:
    trace_id = imported[0]
    client.set_trace_tag(trace_id, "reviewed", "yes")
    client.set_trace_tag(trace_id, "environment", "production")
    assert ids(client, "tags.reviewed = 'yes'") == [trace_id]
    assert client.get_trace(trace_id).info.tags["environment"] == "production"
    client.delete_trace_tag(trace_id, "reviewed")
    assert "reviewed" not in client.get_trace(trace_id).info.tags
    assert ids(client, "tags.reviewed = 'yes'") == []
    with pytest.raises(errors.ResourceNotFound, match="reviewed"):
        client.delete_trace_tag(trace_id, "reviewed")
    with pytest.raises(errors.InvalidParameter):
        client.set_trace_tag(trace_id, "k", None)


def test_a_later_expectation_overrides_an_earlier_one(client: Client, imported: list[str]) -> None:
    trace_id = imported[0]  # has expected_answer from the fixture
    first = client.log_expectation(
        trace_id, "expected_answer", "v2", source={"source_type": "human"}
    )
    second = client.log_expectation(trace_id, "expected_answer", {"text": "v3"})
    assert (second.name, second.value, second.kind, second.valid) == (
        "expected_answer",
        {"text": "v3"},
        "expectation",
        True,
    )
    assert second.assessment_id.startswith("a-") and second.create_time_ms > 0
    found = client.get_trace(trace_id).info.assessments
    assert [(a.assessment_id, a.valid) for a in found if a.name == "expected_answer"] == [
        (RAW[0]["info"]["assessments"][0]["assessment_id"], False),
        (first.assessment_id, False),
        (second.assessment_id, True),
    ]
    ds = client.create_dataset("overrides")
    ds.merge_records([client.get_trace(trace_id)])
    assert ds.records[0].expectations == {"expected_answer": {"text": "v3"}}


def test_assessment_arguments_are_checked(client: Client, imported: list[str]) -> None:
    before = event_count(client)
    trace_id = imported[0]
    with pytest.raises(errors.InvalidParameter, match="source_type"):
        client.log_feedback(trace_id, "helpful", True, source={"source_type": "ROBOT"})
    with pytest.raises(errors.InvalidParameter, match="value"):
        client.log_feedback(trace_id, "helpful", float("nan"))
    with pytest.raises(errors.InvalidParameter, match="span_id"):
        client.log_expectation(trace_id, "expected", 1, span_id="no-such-span")
    with pytest.raises(errors.InvalidParameter, match="name"):
        client.log_expectation(trace_id, "", 1)
    assert event_count(client) == before
    span_id = client.get_trace(trace_id).data.spans[2].span_id
    assessment = client.log_expectation(trace_id, "expected_tokens", 500, span_id=span_id)
    assert assessment.span_id == span_id
    feedback = client.log_feedback(trace_id, "helpful", True, source="LLM_JUDGE", rationale="fine")
    assert (feedback.kind, feedback.value, feedback.rationale) == ("feedback", True, "fine")
    assert feedback.source.source_type == "LLM_JUDGE"


# ----------------------------------------------------------------------------- records


def test_records_from_traces(client: Client, imported: list[str]) -> None:
    client.log_feedback(imported[3], "helpful", False)
    ds = client.create_dataset("from-traces")
    ds.merge_records(client.search_traces())
    records = {r.source_id: r for r in ds.records}
    assert set(records) == set(imported)
    for trace_id, raw in BY_ID.items():
        record = records[trace_id]
        assert record.inputs == root_inputs(raw)
        assert record.outputs == json.loads(root(raw)["attributes"]["mlflow.spanOutputs"])
        expected = {
            a["assessment_name"]: a["expectation"]["value"]
            for a in raw["info"].get("assessments", [])
            if "expectation" in a
        }
        assert record.expectations == expected  # feedback is not copied
        assert record.source_type == "TRACE"
        assert record.source.source_data == {"trace_id": trace_id}
    assert sum(1 for r in records.values() if r.expectations) == 10


def test_merging_the_same_traces_twice_changes_nothing(client: Client, imported: list[str]) -> None:
    from_frame = client.create_dataset("from-frame")
    from_frame.merge_records(client.search_traces())
    digest, version = from_frame.digest, from_frame.version
    from_frame.merge_records(client.search_traces(return_type="list"))
    # a merge that changes nothing makes no version (API.md §4)
    assert from_frame.digest == digest and from_frame.version == version
    assert len(from_frame.history()) == version + 1
    from_list = client.create_dataset("from-list")
    from_list.merge_records(client.search_traces(return_type="list"))
    assert from_list.digest == digest


def expectations_by_trace(ds: Any) -> dict[str, dict[str, Any]]:
    return {r.source_id: r.expectations for r in ds.records}


def fixture_expectations(trace_id: str) -> dict[str, Any]:
    return {
        a["assessment_name"]: a["expectation"]["value"]
        for a in BY_ID[trace_id]["info"].get("assessments", [])
        if "expectation" in a
    }


def test_the_seed_flow_merges_the_expectations_logged_after_the_search(
    client: Client, imported: list[str]
) -> None:
    found = client.search_traces()
    listed = client.search_traces(return_type="list")
    for trace_id in found["trace_id"]:
        client.log_expectation(trace_id, "expected_answer", f"checked {trace_id}")
    client.log_expectation(imported[0], "expected_answer", "the latest")  # a later one wins
    client.log_expectation(imported[1], "rubric", {"tone": "polite"})
    client.log_feedback(imported[2], "helpful", True)  # feedback is not an expectation
    want = {t: {**fixture_expectations(t), "expected_answer": f"checked {t}"} for t in imported}
    want[imported[0]]["expected_answer"] = "the latest"
    want[imported[1]]["rubric"] = {"tone": "polite"}
    from_frame = client.create_dataset("seed-frame").merge_records(found)
    from_list = client.create_dataset("seed-list").merge_records(listed)
    assert expectations_by_trace(from_frame) == want
    assert expectations_by_trace(from_list) == want
    assert from_frame.digest == from_list.digest
    # the Trace objects and the frame in hand still hold the old copy
    in_hand = next(t for t in listed if t.info.trace_id == imported[3])
    assert [a.value for a in in_hand.info.assessments] == [
        fixture_expectations(imported[3])["expected_answer"]
    ]
    assert not any("checked" in text for text in found["trace"])


def test_trace_records_given_as_dicts_or_frames_carry_current_expectations(
    client: Client, imported: list[str]
) -> None:
    older = client.create_dataset("older").merge_records(client.search_traces())
    client.log_expectation(imported[0], "expected_answer", "new")
    client.log_expectation(imported[1], "expected_answer", "new too")
    copied = client.create_dataset("copied").merge_records(older.to_df())
    assert expectations_by_trace(copied)[imported[0]] == {"expected_answer": "new"}
    assert expectations_by_trace(copied)[imported[1]] == {"expected_answer": "new too"}
    assert expectations_by_trace(client.create_dataset("objs").merge_records(older)) == (
        expectations_by_trace(copied)
    )
    stale = {
        "inputs": {"q": "hand made"},
        "expectations": {"expected_answer": "stale", "own": 1},
        "source": {"source_type": "trace", "source_data": {"trace_id": imported[0]}},
    }
    ds = client.create_dataset("dicts").merge_records([stale])
    assert ds.records[0].expectations == {"expected_answer": "new", "own": 1}
    assert stale["expectations"] == {"expected_answer": "stale", "own": 1}  # not mutated


def test_a_trace_not_in_the_ledger_keeps_its_own_expectations(
    client: Client, imported: list[str]
) -> None:
    client.log_expectation(imported[0], "expected_answer", "in the ledger")
    outside = json.loads(LINES[3])
    outside["info"]["trace_id"] = "tr-" + "0" * 32
    for assessment in outside["info"]["assessments"]:
        assessment["trace_id"] = outside["info"]["trace_id"]
    in_ledger = Trace.from_json(LINES[0])  # its copy predates the expectation just logged
    ds = client.create_dataset("mixed").merge_records([Trace.from_dict(outside), in_ledger])
    assert expectations_by_trace(ds) == {
        "tr-" + "0" * 32: fixture_expectations(imported[3]),
        imported[0]: {"expected_answer": "in the ledger"},
    }
    assert fixture_expectations(imported[3])
    unknown = {
        "inputs": {"q": 1},
        "expectations": {"mine": True},
        "source": {"source_type": "TRACE", "source_data": {"trace_id": "tr-nowhere"}},
    }
    assert client.create_dataset("unknown").merge_records([unknown]).records[0].expectations == {
        "mine": True
    }


def test_current_expectations_are_read_in_one_query_per_batch(
    client: Client, imported: list[str]
) -> None:
    found = client.search_traces()
    for trace_id in imported:
        client.log_expectation(trace_id, "expected_answer", "x")
    statements: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    ds = client.create_dataset("counted")
    sa.event.listen(client.store.engine, "before_cursor_execute", note)
    try:
        ds.merge_records(found)
    finally:
        sa.event.remove(client.store.engine, "before_cursor_execute", note)
    assert sum("assessments" in s for s in statements) == 1
    assert {r.expectations["expected_answer"] for r in ds.records} == {"x"}


def test_search_traces_takes_mlflows_positional_order(client: Client, imported: list[str]) -> None:
    order = ["attributes.timestamp_ms ASC"]
    frame = client.search_traces(None, "attributes.status = 'OK'", 3, order, ["span.inputs"])
    oldest = sorted(RAW, key=lambda t: time_ms(t["info"]["request_time"]))[:3]
    assert frame["trace_id"].tolist() == [t["info"]["trace_id"] for t in oldest]
    assert frame["span.inputs"].tolist() == [root_inputs(t) for t in oldest]
    with pytest.raises(TypeError):
        client.search_traces(None, None, 3, order, None, "list")  # MLflow's 6th is run_id


def test_non_dict_root_inputs_and_sessions(client: Client) -> None:
    text = client.log_trace("just a string", "ok", metadata={"mlflow.trace.session": "s-9"})
    empty = client.log_trace(None, "nothing in")
    listed = client.log_trace([1, 2], None)
    ds = client.create_dataset("shapes")
    ds.merge_records([text, empty, listed])
    by_trace = {r.source_id: r for r in ds.records}
    assert by_trace[text.info.trace_id].inputs == {"input": "just a string"}
    assert by_trace[text.info.trace_id].source.source_data == {
        "trace_id": text.info.trace_id,
        "session_id": "s-9",
    }
    assert by_trace[empty.info.trace_id].inputs == {}
    assert by_trace[listed.info.trace_id].inputs == {"input": [1, 2]}
    provenance = ds.provenance().set_index("source_type")
    assert sorted(provenance.loc["TRACE", "trace_ids"]) == sorted(by_trace)


def test_a_bad_trace_in_merge_records_names_the_record(client: Client) -> None:
    ds = client.create_dataset("bad")
    with pytest.raises(errors.InvalidParameter, match="record 1"):
        ds.merge_records([Trace.from_json(LINES[0]), {"inputs": {}}])
    with pytest.raises(errors.InvalidParameter, match="record 0: field 'trace'"):
        ds.merge_records(pd.DataFrame({"trace": ["{not json"]}))
    assert ds.num_records == 0


# ----------------------------------------------------------------------------- ledger


def test_trace_projections_equal_a_fresh_replay(client: Client, imported: list[str]) -> None:
    client.set_trace_tag(imported[0], "k", "v")
    client.set_trace_tag(imported[1], "k", "w")
    client.delete_trace_tag(imported[1], "k")
    client.log_expectation(imported[0], "expected_answer", "new")
    client.log_feedback(imported[2], "helpful", True)
    report = check_projections(client.store)
    assert report.ok, report.difference
    before = client.search_traces(extract_fields=["tags.k"])
    rebuild(client.store)
    after = client.search_traces(extract_fields=["tags.k"])
    pd.testing.assert_frame_equal(before, after)
    assert [a.valid for a in client.get_trace(imported[0]).info.assessments] == [False, True, True]
