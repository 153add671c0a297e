"""MLflow users' habits, against the real MLflow client (mlflow-skinny, the dev extra): its
datasets, records, frames and sources merge with their provenance; our EvaluationDataset has
MLflow's methods; search_traces takes MLflow's positional order. No mocks: MLflow's own
objects, built in memory."""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # before MLflow is first imported

import mlflow
import mlflow.genai.datasets as mlflow_datasets
from mlflow.entities import DatasetRecord as MlflowRecord
from mlflow.entities import DatasetRecordSource as MlflowSource
from mlflow.entities import EvaluationDataset as MlflowEntity
from mlflow.entities import Trace as MlflowTrace

import evalledger as el
from evalledger import Client, errors

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "mlflow_traces.jsonl"
MLFLOW_ID = "d-" + "a" * 32
TRACE_ID = "tr-" + "b" * 32  # not in the ledger

#: MLflow's EvaluationDataset methods we leave out on purpose (docs/python-api.md says why).
SKIPPED = {
    "from_dict",
    "from_dictionary",
    "from_proto",
    "to_proto",
    "set_profile",
    "source",
    "source_type",
    "to_evaluation_dataset",
    "to_pyfunc",
}


def mlflow_record(n: int, **kw: Any) -> MlflowRecord:
    return MlflowRecord(
        dataset_id=MLFLOW_ID,
        inputs={"question": f"q{n}"},
        dataset_record_id=f"dr-{n:032d}",
        created_time=1_700_000_000_000 + n,
        last_update_time=1_700_000_000_000 + n,
        **kw,
    )


def mlflow_records() -> list[MlflowRecord]:
    return [
        mlflow_record(
            0,
            outputs={"answer": "a0"},
            expectations={"expected": "e0"},
            tags={"mlflow.user": "alice"},
            source=MlflowSource("trace", {"trace_id": TRACE_ID, "session_id": "s-1"}),
        ),
        mlflow_record(
            1,
            expectations={"expected": "e1"},
            source=MlflowSource("HUMAN", {"source_id": "alice@example.com"}),
        ),
        mlflow_record(2, source=MlflowSource("DOCUMENT", {"source_id": "faq.pdf"})),
        mlflow_record(3, outputs="plain text", source=MlflowSource("CODE")),
    ]


def mlflow_entity() -> MlflowEntity:
    entity = MlflowEntity.from_dict(
        {
            "dataset_id": MLFLOW_ID,
            "name": "from-mlflow",
            "digest": "abc123",
            "created_time": 1_700_000_000_000,
            "last_update_time": 1_700_000_000_000,
            "experiment_ids": ["1"],
            "records": [r.to_dict() for r in mlflow_records()],
        }
    )
    assert entity.has_records()  # in memory: MLflow's store is never asked
    return entity


def provenance(ds: el.EvaluationDataset) -> list[tuple[Any, ...]]:
    return [
        (
            r.inputs["question"],
            r.outputs,
            r.expectations,
            r.tags,
            r.source_type,
            r.source_id,
            r.source.source_data,
        )
        for r in sorted(ds.records, key=lambda r: r.inputs["question"])
    ]


EXPECTED = [
    (
        "q0",
        {"answer": "a0"},
        {"expected": "e0"},
        {"mlflow.user": "alice"},
        "TRACE",
        TRACE_ID,
        {"trace_id": TRACE_ID, "session_id": "s-1"},
    ),
    (
        "q1",
        None,
        {"expected": "e1"},
        {},
        "HUMAN",
        "alice@example.com",
        {"source_id": "alice@example.com"},
    ),
    ("q2", None, {}, {}, "DOCUMENT", "faq.pdf", {"source_id": "faq.pdf"}),
    ("q3", "plain text", {}, {}, "CODE", None, {}),
]


@pytest.fixture(autouse=True)
def _no_mlflow_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow's own tracking store is never opened: reaching it fails instead of creating
    an mlflow.db in the working directory."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "unsupported://nowhere")


def event_count(client: Client) -> int:
    with client.store.engine.connect() as conn:
        return conn.execute(sa.text("SELECT COUNT(*) FROM events")).scalar_one()


# ------------------------------------------------------------------------ merge_records


def test_mlflow_datasets_merge_with_their_provenance(client: Client) -> None:
    entity = mlflow_entity()
    from_entity = client.create_dataset("entity").merge_records(entity)
    assert provenance(from_entity) == EXPECTED
    wrapper = mlflow_datasets.EvaluationDataset(mlflow_entity())
    assert client.create_dataset("wrapper").merge_records(wrapper).digest == from_entity.digest
    genai = mlflow_datasets.EvaluationDataset.from_dict(entity.to_dict())
    assert client.create_dataset("from-dict").merge_records(genai).digest == from_entity.digest


def test_mlflow_frames_records_and_sources_merge_with_their_provenance(client: Client) -> None:
    entity = mlflow_entity()
    want = client.create_dataset("entity").merge_records(entity).digest
    frame = entity.to_df()
    assert isinstance(frame["source"].iloc[0], MlflowSource)
    assert client.create_dataset("frame").merge_records(frame).digest == want
    wrapped = mlflow_datasets.EvaluationDataset(entity).to_df()
    assert client.create_dataset("wrapped-frame").merge_records(wrapped).digest == want
    assert client.create_dataset("records").merge_records(entity.records).digest == want
    dicts = [
        {"inputs": {"question": "q"}, "source": MlflowSource("document", {"source_id": "x.md"})}
    ]
    ds = client.create_dataset("dicts").merge_records(dicts)
    assert (ds.records[0].source_type, ds.records[0].source_id) == ("DOCUMENT", "x.md")
    assert isinstance(dicts[0]["source"], MlflowSource)  # the caller's dict is not changed


def test_an_mlflow_record_without_a_source_keeps_its_source_type(client: Client) -> None:
    records = [
        mlflow_record(0, source_type="DOCUMENT", source_id="manual.pdf"),
        mlflow_record(1, source_type="trace", source_id=TRACE_ID),
        mlflow_record(2, expectations={"e": 1}),  # nothing to keep: MLflow's inference, HUMAN
    ]
    ds = client.create_dataset("derived").merge_records(records)
    assert [(r.source_type, r.source_id, r.source.source_data) for r in ds.records] == [
        ("DOCUMENT", "manual.pdf", {"source_id": "manual.pdf"}),
        ("TRACE", TRACE_ID, {"trace_id": TRACE_ID}),
        ("HUMAN", None, {}),
    ]


def test_our_datasets_and_records_merge_too(client: Client) -> None:
    first = client.create_dataset("first").merge_records(mlflow_entity())
    assert client.create_dataset("copy").merge_records(first).digest == first.digest
    assert client.create_dataset("records").merge_records(first.records).digest == first.digest


def test_mlflow_records_of_ledger_traces_carry_current_expectations(client: Client) -> None:
    trace_id = client.import_traces(FIXTURE)[0]
    client.log_expectation(trace_id, "expected_answer", "logged in the ledger")
    record = mlflow_record(
        0,
        expectations={"expected_answer": "stale", "mlflow_only": 1},
        source=MlflowSource("TRACE", {"trace_id": trace_id}),
    )
    ds = client.create_dataset("refreshed").merge_records([record])
    assert ds.records[0].expectations == {
        "expected_answer": "logged in the ledger",
        "mlflow_only": 1,
    }


def test_mlflow_traces_in_the_ledger_carry_current_expectations(client: Client) -> None:
    lines = FIXTURE.read_text().splitlines()
    trace_ids = client.import_traces(FIXTURE)
    client.log_expectation(trace_ids[0], "expected_answer", "logged after the export")
    theirs = [MlflowTrace.from_json(line) for line in lines[:2]]
    assert theirs[0].info.assessments[0].value != "logged after the export"
    from_list = client.create_dataset("list").merge_records(theirs)
    from_frame = client.create_dataset("frame").merge_records(pd.DataFrame({"trace": theirs}))
    for ds in (from_list, from_frame):
        by_trace = {r.source_id: r.expectations for r in ds.records}
        assert by_trace == {
            trace_ids[0]: {"expected_answer": "logged after the export"},
            trace_ids[1]: {},
        }


def test_bad_mlflow_input_is_refused_and_writes_nothing(client: Client) -> None:
    ds = client.create_dataset("bad")
    before = event_count(client)
    bad = mlflow_record(0, expectations={"x": float("nan")})
    with pytest.raises(errors.InvalidParameter, match=r"record 0: field 'expectations\.x'"):
        ds.merge_records([mlflow_record(1), bad][::-1])
    with pytest.raises(errors.InvalidParameter, match="source_type"):
        ds.merge_records([mlflow_record(0, source_type="ROBOT")])
    unloaded = MlflowEntity(
        dataset_id=MLFLOW_ID, name="lazy", digest="x", created_time=1, last_update_time=1
    )
    with pytest.raises(errors.InvalidParameter, match="could not read the records"):
        ds.merge_records(unloaded)
    assert event_count(client) == before and ds.num_records == 0


# ------------------------------------------------------------------------ EvaluationDataset


def test_evaluation_dataset_has_mlflows_methods() -> None:
    public = {
        name
        for cls in (MlflowEntity, mlflow_datasets.EvaluationDataset)
        for name in dir(cls)
        if not name.startswith("_")
    }
    missing = {name for name in public - SKIPPED if not hasattr(el.EvaluationDataset, name)}
    assert missing == set()


def test_to_dict_is_mlflows_dict_form(client: Client) -> None:
    ds = client.create_dataset("qa", tags={"team": "x"}).merge_records(mlflow_entity())
    data = ds.to_dict()
    assert json.loads(ds.to_json()) == data
    theirs = mlflow_datasets.EvaluationDataset.from_dict(data)
    assert (theirs.dataset_id, theirs.name, theirs.digest, theirs.version) == (
        ds.dataset_id,
        ds.name,
        ds.digest,
        ds.version,
    )
    assert (theirs.tags, theirs.schema, theirs.profile) == (ds.tags, ds.schema, ds.profile)
    assert theirs.has_records() and theirs.experiment_ids == ["0"]
    frame = theirs.to_df()
    assert frame["dataset_record_id"].tolist() == ds.to_df()["dataset_record_id"].tolist()
    assert client.create_dataset("back").merge_records(theirs).digest == ds.digest


def test_has_records_create_time_and_list_versions(client: Client) -> None:
    ds = client.create_dataset("versions")
    assert ds.create_time == ds.created_time
    assert not ds.has_records()
    assert ds.records == [] and ds.has_records()
    ds.merge_records(mlflow_entity())
    assert not ds.has_records()  # a write drops what was read, as MLflow's merge does
    ds.set_tags({"k": "v"})
    versions = ds.list_versions()
    assert [(v.version, v.operation, v.created_by) for v in versions] == [
        (0, "CREATE", "tester"),
        (1, "MERGE", "tester"),
        (2, "SET_TAGS", "tester"),
    ]
    assert versions[-1].created_at.tzinfo is not None
    assert int(versions[-1].created_at.timestamp() * 1000) == ds.last_update_time
    snapshot = client.get_dataset(name="versions", version=1)
    assert [v.version for v in snapshot.list_versions()] == [0, 1]


# ------------------------------------------------------------------------ search_traces


def test_search_traces_positional_parameters_are_mlflows() -> None:
    theirs = list(inspect.signature(mlflow.search_traces).parameters)
    for ours in (el.search_traces, Client.search_traces):
        params = inspect.signature(ours).parameters.values()
        positional = [
            p.name
            for p in params
            if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and p.name != "self"
        ]
        assert positional == theirs[: len(positional)]
        assert positional[:5] == [
            "experiment_ids",
            "filter_string",
            "max_results",
            "order_by",
            "extract_fields",
        ]
