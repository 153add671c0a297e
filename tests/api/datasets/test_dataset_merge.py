"""merge_records and delete_records as a user sees them (API.md §4, §6): dedupe and merge,
source inference, one version per call, DataFrames, and bad input that writes nothing."""

from __future__ import annotations

import math
import re
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from evalledger import Client, DatasetRecordSource, DatasetRecordSourceType, errors
from evalledger.datasets import commands
from evalledger.datasets.records import normalize_records

Q = {"q": "What is 2 + 2?"}


@pytest.fixture
def client(client: Client) -> Client:
    """The test's client, already used once: first use creates the Default experiment, so
    the events a test counts are its own."""
    client.search_experiments()
    return client


def event_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT COUNT(*) FROM events")).scalar_one()


def current(client: Client, dataset: Any) -> Any:
    return client.get_dataset(dataset_id=dataset.dataset_id)


def only_record(client: Client, dataset: Any) -> Any:
    (record,) = current(client, dataset).records
    return record


def df_rows(client: Client, dataset: Any) -> list[dict[str, Any]]:
    """to_df() as comparable rows (a missing cell, None or NaN, as None)."""
    return [
        {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
        for row in current(client, dataset).to_df().to_dict("records")
    ]


def observable_state(
    client: Client, dataset: Any, engine: sa.Engine
) -> tuple[int, int, str, list[Any]]:
    """What a failed call must leave alone: the ledger, the version, the digest, the rows."""
    fresh = current(client, dataset)
    return event_count(engine), fresh.version, fresh.digest, df_rows(client, dataset)


# ----------------------------------------------------------------------------- merge basics


def test_merge_records_returns_the_same_object_refreshed(client: Client) -> None:
    ds = client.create_dataset("m")
    assert ds.records == []
    schema_before = ds.schema
    returned = ds.merge_records([{"inputs": Q, "expectations": {"answer": "4"}}])
    assert returned is ds
    assert ds.version == 1
    assert [r.inputs for r in ds.records] == [Q]
    assert ds.schema != schema_before
    assert ds.digest == current(client, ds).digest


def test_inputs_with_the_same_content_in_another_key_order_are_one_record(client: Client) -> None:
    ds = client.create_dataset("m")
    ds.merge_records([{"inputs": {"a": 1, "b": {"x": 1, "y": 2}}, "outputs": "first"}])
    ds.merge_records([{"inputs": {"b": {"y": 2, "x": 1}, "a": 1}, "outputs": "second"}])
    record = only_record(client, ds)
    assert record.outputs == "second"


def test_int_float_and_bool_inputs_are_different_records(client: Client) -> None:
    ds = client.create_dataset("m")
    ds.merge_records([{"inputs": {"n": 1}}, {"inputs": {"n": 1.0}}, {"inputs": {"n": True}}])
    assert [type(r.inputs["n"]) for r in current(client, ds).records] == [int, float, bool]


def test_expectations_and_tags_merge_key_by_key_and_new_values_win(client: Client) -> None:
    ds = client.create_dataset("m")
    ds.merge_records([{"inputs": Q, "expectations": {"a": 1, "b": 2}, "tags": {"x": "1"}}])
    ds.merge_records([{"inputs": Q, "expectations": {"b": 20, "c": 3}, "tags": {"y": "2"}}])
    record = only_record(client, ds)
    assert record.expectations == {"a": 1, "b": 20, "c": 3}
    assert record.tags == {"x": "1", "y": "2"}


def test_outputs_are_replaced_only_when_the_new_record_has_the_key(client: Client) -> None:
    ds = client.create_dataset("m")
    ds.merge_records([{"inputs": Q, "outputs": {"text": "4"}}])
    ds.merge_records([{"inputs": Q, "expectations": {"e": 1}}])
    assert only_record(client, ds).outputs == {"text": "4"}
    ds.merge_records([{"inputs": Q, "outputs": "four"}])
    assert only_record(client, ds).outputs == "four"
    ds.merge_records([{"inputs": Q, "outputs": None}])
    assert only_record(client, ds).outputs is None


def test_the_first_source_of_a_record_is_kept(client: Client) -> None:
    ds = client.create_dataset("m")
    doc = {"source_type": "DOCUMENT", "source_data": {"source_id": "doc-1"}}
    ds.merge_records([{"inputs": Q, "source": doc}])
    ds.merge_records([{"inputs": Q, "expectations": {"e": 1}}])
    ds.merge_records([{"inputs": Q, "source": {"source_type": "HUMAN", "source_data": {}}}])
    record = only_record(client, ds)
    assert record.source_type == "DOCUMENT"
    assert record.source_id == "doc-1"
    assert record.source.source_data == {"source_id": "doc-1"}


def test_an_update_keeps_created_fields_and_moves_last_update_fields(
    client: Client, db_url: str
) -> None:
    ds = Client(db_url, user="alice").create_dataset("m")
    ds.merge_records([{"inputs": Q, "outputs": "a"}])
    before = only_record(client, ds)
    time.sleep(0.005)
    ds = Client(db_url, user="bob").get_dataset(dataset_id=ds.dataset_id)
    ds.merge_records([{"inputs": Q, "outputs": "b"}])
    after = only_record(client, ds)
    assert after.dataset_record_id == before.dataset_record_id
    assert after.created_time == before.created_time
    assert after.created_by == "alice"
    assert after.last_update_time > before.last_update_time
    assert after.last_updated_by == "bob"
    assert current(client, ds).to_df()["created_time"].tolist() == [before.created_time]


def test_duplicates_inside_one_batch_merge_in_order(client: Client) -> None:
    ds = client.create_dataset("m")
    ds.merge_records(
        [
            {"inputs": Q, "outputs": "first", "expectations": {"a": 1}, "tags": {"t": "1"}},
            {"inputs": {"other": 1}},
            {"inputs": Q, "expectations": {"a": 2, "b": 1}},
            {"inputs": Q, "outputs": "third", "tags": {"u": "2"}},
        ]
    )
    records = current(client, ds).records
    assert [r.inputs for r in records] == [Q, {"other": 1}]
    merged = records[0]
    assert merged.outputs == "third"
    assert merged.expectations == {"a": 2, "b": 1}
    assert merged.tags == {"t": "1", "u": "2"}
    assert merged.source_type == "HUMAN"

    ds.merge_records(
        [{"inputs": Q, "expectations": {"a": 3, "c": 1}}, {"inputs": Q, "expectations": {"a": 4}}]
    )
    assert current(client, ds).records[0].expectations == {"a": 4, "b": 1, "c": 1}


# ----------------------------------------------------------------------------- sources


def test_source_is_human_with_expectations_and_code_without(client: Client) -> None:
    ds = client.create_dataset("m")
    ds.merge_records([{"inputs": {"q": 1}, "expectations": {"e": 1}}, {"inputs": {"q": 2}}])
    human, code = current(client, ds).records
    assert (human.source_type, code.source_type) == ("HUMAN", "CODE")
    assert human.source.source_type == DatasetRecordSourceType.HUMAN
    assert code.source.source_type == DatasetRecordSourceType.CODE
    assert human.source_id is None and code.source_id is None


def test_an_explicit_source_dict_or_object_is_stored(client: Client) -> None:
    ds = client.create_dataset("m")
    ds.merge_records(
        [
            {
                "inputs": {"q": 1},
                "source": {"source_type": "DOCUMENT", "source_data": {"source_id": "doc-9"}},
            },
            {
                "inputs": {"q": 2},
                "expectations": {"e": 1},
                "source": DatasetRecordSource(DatasetRecordSourceType.CODE, {"source_id": "fn"}),
            },
            {
                "inputs": {"q": 3},
                "source": {"source_type": "TRACE", "source_data": {"trace_id": "tr-1"}},
            },
        ]
    )
    df = current(client, ds).to_df()
    assert df["source_type"].tolist() == ["DOCUMENT", "CODE", "TRACE"]
    assert df["source_id"].tolist() == ["doc-9", "fn", "tr-1"]
    assert [s.source_data for s in df["source"]] == [
        {"source_id": "doc-9"},
        {"source_id": "fn"},
        {"trace_id": "tr-1"},
    ]


def test_source_types_are_parsed_case_insensitively(client: Client) -> None:
    ds = client.create_dataset("m")
    spellings = ["document", "Human", "cOdE", "unspecified"]
    ds.merge_records(
        [
            {"inputs": {"i": i}, "source": {"source_type": s, "source_data": {}}}
            for i, s in enumerate(spellings)
        ]
    )
    assert current(client, ds).to_df()["source_type"].tolist() == [
        "DOCUMENT",
        "HUMAN",
        "CODE",
        "UNSPECIFIED",
    ]


# ----------------------------------------------------------------------------- versions


def test_a_merge_is_one_new_version_unless_it_changes_nothing(client: Client) -> None:
    ds = client.create_dataset("m")
    batch = [{"inputs": {"q": i}} for i in range(3)]
    versions = [ds.merge_records(batch).version for _ in range(3)]
    assert versions == [1, 1, 1]
    assert ds.merge_records([{"inputs": {"q": 0}, "outputs": "new"}]).version == 2
    assert current(client, ds).version == 2
    assert list(ds.history()["operation"]) == ["CREATE", "MERGE", "MERGE"]


def test_merging_the_same_batch_twice_changes_no_record(client: Client) -> None:
    ds = client.create_dataset("m")
    batch = [
        {"inputs": {"q": 1}, "outputs": "o", "expectations": {"e": 1}, "tags": {"t": "x"}},
        {"inputs": {"q": 2}, "source": {"source_type": "DOCUMENT", "source_data": {}}},
        {"inputs": {"q": 1}, "expectations": {"f": 2}},
    ]
    ds.merge_records(batch)
    first = current(client, ds)
    first_rows, first_records = df_rows(client, ds), first.records
    time.sleep(0.005)
    ds.merge_records(batch)
    second = current(client, ds)
    assert second.version == first.version
    assert second.digest == first.digest
    assert df_rows(client, ds) == first_rows
    assert [r.last_update_time for r in second.records] == [
        r.last_update_time for r in first_records
    ]


# ----------------------------------------------------------------------------- DataFrames


def test_merge_from_a_dataframe_treats_missing_optional_cells_as_absent(client: Client) -> None:
    ds = client.create_dataset("m")
    df = pd.DataFrame(
        [
            {"inputs": {"q": 1}, "outputs": "o1", "expectations": {"e": 1}, "tags": {"t": "1"}},
            {"inputs": {"q": 2}},
        ]
    )
    ds.merge_records(df)
    first, second = current(client, ds).records
    assert (first.outputs, first.expectations, first.tags) == ("o1", {"e": 1}, {"t": "1"})
    assert first.source_type == "HUMAN"
    assert second.inputs == {"q": 2}
    assert second.outputs is None
    assert second.expectations == {} and second.tags == {}
    assert second.source_type == "CODE"


def test_a_dataframe_nan_cell_does_not_erase_existing_fields(client: Client) -> None:
    ds = client.create_dataset("m")
    ds.merge_records([{"inputs": Q, "outputs": "kept", "expectations": {"e": 1}}])
    ds.merge_records(pd.DataFrame([{"inputs": Q}, {"inputs": {"q": 2}, "outputs": "x"}]))
    first = current(client, ds).records[0]
    assert first.outputs == "kept"
    assert first.expectations == {"e": 1}


# ----------------------------------------------------------------------------- numpy values

PLAIN = [
    {
        "inputs": {"q": 1, "xs": [[1, 2], [3, 4]], "ok": True},
        "outputs": {"score": 0.5, "top": [1, 2]},
        "expectations": {"n": 3, "flags": [True, False]},
        "tags": {"batch": 7},
    },
    {"inputs": {"q": 2, "xs": [], "ok": False}, "outputs": 0.25},
]


def test_merge_records_of_dicts_holding_numpy_values(client: Client) -> None:
    ds = client.create_dataset("np")
    ds.merge_records(
        [
            {
                "inputs": {"q": np.int64(1), "xs": np.array([[1, 2], [3, 4]]), "ok": np.bool_(1)},
                "outputs": {"score": np.float64(0.5), "top": np.argsort([0.1, 0.9, 0.5])[::-1][:2]},
                "expectations": {"n": np.int32(3), "flags": np.array([True, False])},
                "tags": {"batch": np.uint16(7)},
            },
            {
                "inputs": {"q": np.int8(2), "xs": np.array([]), "ok": np.False_},
                "outputs": np.float32(0.25),
            },
        ]
    )
    stored = current(client, ds).records
    assert [(r.inputs, r.outputs, r.expectations, r.tags) for r in stored] == [
        (rec["inputs"], rec["outputs"], rec.get("expectations", {}), rec.get("tags", {}))
        for rec in PLAIN
    ]
    assert type(stored[0].inputs["q"]) is int and type(stored[0].inputs["ok"]) is bool
    # the same inputs hash as the plain values: merging those finds both records unchanged
    assert commands.merge(client.session, ds.dataset_id, normalize_records(PLAIN)) == (0, 0)


def test_merge_records_of_a_dataframe_built_from_numpy_arrays(client: Client) -> None:
    ds = client.create_dataset("np")
    matrix = np.arange(6).reshape(3, 2)
    df = pd.DataFrame(
        {
            "inputs": [{"q": f"q{i}", "v": row} for i, row in enumerate(matrix)],
            "outputs": np.array([0.5, np.nan, 2.0]),  # NaN: absent
            "expectations": [{"e": np.int64(i)} for i in range(3)],
            "tags": pd.array(["a", None, "c"], dtype="string").map(
                lambda t: None if t is pd.NA else {"t": t}
            ),
        }
    )
    ds.merge_records(df)
    stored = current(client, ds).records
    assert [r.inputs for r in stored] == [{"q": f"q{i}", "v": [2 * i, 2 * i + 1]} for i in range(3)]
    assert [r.outputs for r in stored] == [0.5, None, 2.0]
    assert [r.expectations for r in stored] == [{"e": 0}, {"e": 1}, {"e": 2}]
    assert [r.tags for r in stored] == [{"t": "a"}, {}, {"t": "c"}]
    plain = [{"inputs": {"q": f"q{i}", "v": [2 * i, 2 * i + 1]}} for i in range(3)]
    assert commands.merge(client.session, ds.dataset_id, normalize_records(plain)) == (0, 0)


def test_a_numpy_nan_or_a_timestamp_is_invalid_and_writes_nothing(
    client: Client, engine: sa.Engine
) -> None:
    ds = client.create_dataset("bad")
    ds.merge_records([{"inputs": {"q": "existing"}}])
    for batch, index, field in [
        ([{"inputs": {"q": np.int64(1)}}, {"inputs": {"v": np.array([1.0, np.nan])}}], 1, "inputs"),
        ([{"inputs": Q, "outputs": {"at": pd.Timestamp("2024-01-01")}}], 0, "outputs.at"),
    ]:
        assert _problem(client, ds, engine, batch, index, field) is None
        with pytest.raises(errors.InvalidParameter) as info:
            ds.merge_records(batch)
        assert info.value.index == index and info.value.field.startswith(field)


# ----------------------------------------------------------------------------- delete_records


def test_delete_records_returns_the_count_and_ignores_unknown_ids(client: Client) -> None:
    ds = client.create_dataset("m")
    ds.merge_records([{"inputs": {"q": i}} for i in range(4)])
    ids = [r.dataset_record_id for r in ds.records]
    unknown = "dr-" + "0" * 32
    assert ds.delete_records([ids[1], unknown, ids[3]]) == 2
    assert ds.version == 2
    assert current(client, ds).to_df()["dataset_record_id"].tolist() == [ids[0], ids[2]]
    assert [r.dataset_record_id for r in ds.records] == [ids[0], ids[2]]
    assert ds.delete_records([unknown, ids[1]]) == 0
    assert len(current(client, ds).to_df()) == 2


def test_a_deleted_record_merged_again_is_a_new_record_at_the_end(client: Client) -> None:
    ds = client.create_dataset("m")
    ds.merge_records([{"inputs": {"q": 1}, "outputs": "old"}, {"inputs": {"q": 2}}])
    old_id = ds.records[0].dataset_record_id
    ds.delete_records([old_id])
    ds.merge_records([{"inputs": {"q": 1}}])
    records = current(client, ds).records
    assert [r.inputs for r in records] == [{"q": 2}, {"q": 1}]
    assert records[1].dataset_record_id != old_id
    assert records[1].outputs is None


def test_record_writes_on_a_deleted_dataset_raise_not_found(client: Client) -> None:
    ds = client.create_dataset("m")
    ds.merge_records([{"inputs": Q}])
    record_id = ds.records[0].dataset_record_id
    client.delete_dataset(dataset_id=ds.dataset_id)
    with pytest.raises(errors.ResourceNotFound):
        ds.merge_records([{"inputs": {"q": 2}}])
    with pytest.raises(errors.ResourceNotFound):
        ds.delete_records([record_id])


# ----------------------------------------------------------------------------- bad input

GOOD = [{"inputs": {"q": "existing"}, "outputs": "changed"}, {"inputs": {"q": "new"}}]

# (id, batch, index of the bad record, the field the message must name; None: only the index)
BAD_BATCHES = [
    ("record-not-a-dict", [*GOOD, "What is 2 + 2?"], 2, None),
    ("record-none", [*GOOD, None], 2, None),
    ("inputs-missing", [*GOOD, {"outputs": "x"}], 2, "inputs"),
    ("inputs-a-string", [*GOOD, {"inputs": "What is 2 + 2?"}], 2, "inputs"),
    ("inputs-none", [*GOOD, {"inputs": None}], 2, "inputs"),
    ("inputs-int-key", [*GOOD, {"inputs": {1: "a"}}], 2, "inputs"),
    ("expectations-a-list", [*GOOD, {"inputs": Q, "expectations": ["4"]}], 2, "expectations"),
    ("tags-a-string", [*GOOD, {"inputs": Q, "tags": "smoke"}], 2, "tags"),
    ("nan-nested-in-inputs", [*GOOD, {"inputs": {"q": {"xs": [1.0, math.nan]}}}], 2, "inputs"),
    ("inf-in-outputs", [*GOOD, {"inputs": Q, "outputs": {"score": math.inf}}], 2, "outputs"),
    (
        "object-in-expectations",
        [*GOOD, {"inputs": Q, "expectations": {"e": object()}}],
        2,
        "expectations",
    ),
    ("bytes-in-tags", [*GOOD, {"inputs": Q, "tags": {"t": b"raw"}}], 2, "tags"),
    ("set-in-outputs", [*GOOD, {"inputs": Q, "outputs": {1, 2}}], 2, "outputs"),
    ("lone-surrogate-in-inputs", [*GOOD, {"inputs": {"q": "\ud800"}}], 2, "inputs"),
    (
        "unknown-source-type",
        [*GOOD, {"inputs": Q, "source": {"source_type": "ROBOT"}}],
        2,
        "source",
    ),
    ("source-a-string", [*GOOD, {"inputs": Q, "source": "HUMAN"}], 2, "source"),
    (
        "unknown-top-level-key",
        [*GOOD, {"inputs": Q, "expected_response": "4"}],
        2,
        "expected_response",
    ),
    ("bad-record-first", [{"inputs": Q, "expectations": 4}, *GOOD], 0, "expectations"),
]


def _problem(
    client: Client, ds: Any, engine: sa.Engine, batch: Any, index: int, field: str | None
) -> str | None:
    """What is wrong with how merge_records(batch) failed; None when it failed as it must."""
    before = observable_state(client, ds, engine)
    try:
        ds.merge_records(batch)
    except errors.InvalidParameter as exc:
        message = str(exc)
        error = exc
    except Exception as exc:  # reported with the other cases
        return f"raised {type(exc).__name__}: {exc}"
    else:
        return "no error"
    if observable_state(client, ds, engine) != before or ds.version != before[1]:
        return "the failed call wrote something"
    if not re.search(rf"\b{index}\b", message):
        return f"record index {index} not in {message!r}"
    if error.index != index:
        return f"error.index is {error.index!r}, not {index}"
    if field is not None and field not in message:
        return f"field {field!r} not in {message!r}"
    if field is not None and not (error.field or "").startswith(field):
        return f"error.field is {error.field!r}, not under {field!r}"
    return None


def test_each_kind_of_bad_input_names_record_and_field_and_writes_nothing(
    client: Client, engine: sa.Engine
) -> None:
    ds = client.create_dataset("bad")
    ds.merge_records([{"inputs": {"q": "existing"}, "outputs": "original"}])
    problems = {
        case: problem
        for case, batch, index, field in BAD_BATCHES
        if (problem := _problem(client, ds, engine, batch, index, field)) is not None
    }
    assert problems == {}


def test_a_dataframe_with_a_nan_inputs_cell_is_invalid_and_writes_nothing(
    client: Client, engine: sa.Engine
) -> None:
    ds = client.create_dataset("bad")
    ds.merge_records([{"inputs": {"q": "existing"}}])
    df = pd.DataFrame([{"inputs": {"q": "existing"}, "outputs": "o"}, {"outputs": "no inputs"}])
    assert _problem(client, ds, engine, df, 1, "inputs") is None


def test_a_batch_whose_last_record_is_bad_writes_nothing(client: Client, engine: sa.Engine) -> None:
    ds = client.create_dataset("bad")
    ds.merge_records([{"inputs": {"i": i}} for i in range(5)])
    batch = [{"inputs": {"i": i}, "outputs": i} for i in range(200)]
    batch.append({"inputs": {"i": 200}, "outputs": math.nan})
    assert _problem(client, ds, engine, batch, 200, "outputs") is None
    assert len(current(client, ds).records) == 5


def test_records_must_be_a_list_or_a_dataframe(client: Client, engine: sa.Engine) -> None:
    ds = client.create_dataset("bad")
    before = observable_state(client, ds, engine)
    for not_records in ({"inputs": Q}, "inputs", 5):
        with pytest.raises(errors.InvalidParameter):
            ds.merge_records(not_records)
    assert observable_state(client, ds, engine) == before
