"""Pure record logic: validation, source inference, dedupe/merge, digest, schema, profile."""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalledger.datasets import records as records_module
from evalledger.datasets.from_traces import records_from_any
from evalledger.datasets.records import (
    MISSING,
    DatasetRecordSource,
    DatasetRecordSourceType,
    RecordInput,
    RecordState,
    inputs_key,
    merge_batch,
    normalize_records,
    profile_json,
    record_content,
    record_ids,
    schema_of,
)
from evalledger.ledger.encoding import canonical_bytes
from evalledger.ledger.errors import InvalidParameter
from evalledger.projections import digest
from evalledger.projections.records import body_bytes, content_hash, source_id_of

T = DatasetRecordSourceType
GOOD = {"inputs": {"q": "ok"}}


def state(
    inputs: dict[str, Any],
    *,
    outputs: Any = None,
    expectations: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    source: DatasetRecordSource | None = None,
    time: int = 1,
    seq: int = 0,
    record_id: str = "dr-x",
) -> RecordState:
    return RecordState(
        record_id=record_id,
        inputs=inputs,
        outputs=outputs,
        expectations=expectations or {},
        tags=tags or {},
        source=source or DatasetRecordSource(T.CODE, {}),
        created_time=time,
        created_by="alice",
        last_update_time=time,
        last_updated_by="alice",
        seq=seq,
    )


def merge(existing: RecordState | None, rec: dict[str, Any], now: int = 2) -> tuple:
    """Merge one record the way a merge commit does: (the record's state, changed)."""
    known = {} if existing is None else {inputs_key(existing.inputs): existing}
    added, updated = merge_batch(
        known, normalize_records([rec]), now_ms=now, user="bob", next_seq=7
    )
    changed = added or updated
    return (changed[0] if changed else existing), bool(changed)


def inputs_hash(inputs: Any) -> str:
    """The key a merge matches records on, for inputs that passed validation."""
    (record,) = normalize_records([{"inputs": inputs}])
    return inputs_key(record.inputs)


def dataset_digest(states: list[RecordState]) -> str:
    """An independent digest: the sum of the records' content hashes (see projections.digest)."""
    total = 0
    for state in states:
        total = digest.add(total, content_hash(body_bytes(record_content(state))))
    return digest.digest(total)


def source_of(rec: dict[str, Any]) -> DatasetRecordSource:
    """The source a new record gets when merged."""
    (added,), _ = merge_batch({}, normalize_records([rec]), now_ms=1, user="u")
    return added.source


# ----------------------------------------------------------------------------- validation


class Weird:
    pass


BAD_RECORDS = [
    # (record at index 1, field named in the message and set as the error's `field`)
    (["not", "a", "dict"], None),
    ({"outputs": 1}, "inputs"),
    ({"inputs": ["a"]}, "inputs"),
    ({"inputs": "text"}, "inputs"),
    ({"inputs": None}, "inputs"),
    ({"inputs": {1: "a"}}, "inputs"),
    ({"inputs": {"q": {"deep": {2: "x"}}}}, "inputs.q.deep"),
    ({"inputs": {"q": float("nan")}}, "inputs.q"),
    ({"inputs": {"q": [1, float("inf")]}}, "inputs.q[1]"),
    ({"inputs": {"q": 2**70}}, "inputs.q"),
    ({"inputs": {}, "outputs": float("-inf")}, "outputs"),
    ({"inputs": {}, "outputs": {"a": b"bytes"}}, "outputs.a"),
    ({"inputs": {}, "expectations": ["x"]}, "expectations"),
    ({"inputs": {}, "expectations": {"e": Weird()}}, "expectations.e"),
    ({"inputs": {}, "expectations": {"e": {1, 2}}}, "expectations.e"),
    ({"inputs": {}, "tags": "t"}, "tags"),
    ({"inputs": {}, "tags": {"t": object()}}, "tags.t"),
    ({"inputs": {}, "source": "HUMAN"}, "source"),
    ({"inputs": {}, "source": {"source_type": "ROBOT"}}, "source.source_type"),
    ({"inputs": {}, "source": {"source_type": 3}}, "source.source_type"),
    ({"inputs": {}, "source": {"source_data": {}}}, "source.source_type"),
    ({"inputs": {}, "source": {"source_type": "HUMAN", "extra": 1}}, "source.extra"),
    ({"inputs": {}, "source": {"source_type": "HUMAN", "source_data": []}}, "source.source_data"),
    (
        {"inputs": {}, "source": {"source_type": "HUMAN", "source_data": {"x": math.nan}}},
        "source.source_data.x",
    ),
    ({"inputs": {}, "expected": {"a": 1}}, "expected"),
    ({"inputs": {}, "trace": "tr-1"}, "trace"),
]


@pytest.mark.parametrize(("bad", "field"), BAD_RECORDS)
def test_bad_record_names_index_and_field(bad: Any, field: str | None) -> None:
    with pytest.raises(InvalidParameter) as info:
        normalize_records([GOOD, bad, GOOD])
    message = str(info.value)
    assert message.startswith("record 1: "), message
    if field is not None:
        assert f"field '{field}'" in message, message
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert (info.value.index, info.value.field) == (1, field)


def test_errors_not_about_a_record_have_no_index_or_field() -> None:
    with pytest.raises(InvalidParameter) as info:
        normalize_records({"inputs": {}})
    assert (info.value.index, info.value.field) == (None, None)
    with pytest.raises(InvalidParameter) as info:
        DatasetRecordSource.from_dict({"source_type": "HUMAN", "source_data": {"x": math.inf}})
    assert (info.value.index, info.value.field) == (None, "source.source_data.x")
    assert str(info.value).startswith("field 'source.source_data.x': ")
    plain = InvalidParameter("just a message")
    assert (plain.message, plain.index, plain.field) == ("just a message", None, None)


class TraceLike:
    """Enough of a trace for records_from_any to take a list as a list of traces."""

    info = data = None

    def to_json(self) -> str:
        return "{"


def test_trace_errors_name_index_and_field() -> None:
    cases = [
        ([TraceLike(), TraceLike(), {"inputs": {}}], 2, None),
        ([TraceLike()], 0, "trace"),  # its JSON does not parse
        (pd.DataFrame({"trace": ['{"info": {}, "data": {"spans": []}}', 5]}), 0, "trace"),
        (
            pd.DataFrame({"trace": [{"info": {"trace_id": "tr-1"}, "data": {"spans": []}}, 5]}),
            1,
            "trace",
        ),
    ]
    for records, index, field in cases:
        with pytest.raises(InvalidParameter) as info:
            records_from_any(records)
        assert str(info.value).startswith(f"record {index}: "), str(info.value)
        assert (info.value.index, info.value.field) == (index, field), str(info.value)


def test_a_lone_surrogate_names_index_and_field() -> None:
    with pytest.raises(InvalidParameter) as info:
        normalize_records([GOOD, GOOD, {"inputs": {}, "tags": {"t": "\ud800"}}])
    assert (info.value.index, info.value.field) == (2, "tags")


def test_expected_a_dict_message() -> None:
    with pytest.raises(
        InvalidParameter, match=r"^record 3: field 'expectations': expected a dict, got list$"
    ):
        normalize_records([GOOD, GOOD, GOOD, {"inputs": {}, "expectations": [1]}])


def test_first_bad_record_wins() -> None:
    batch = [GOOD, {"inputs": {"q": math.nan}}, "not a dict"]
    with pytest.raises(InvalidParameter, match=r"^record 1: "):
        normalize_records(batch)


def test_records_must_be_a_list_or_dataframe() -> None:
    with pytest.raises(InvalidParameter, match="records"):
        normalize_records({"inputs": {}})


def test_valid_records_normalize() -> None:
    source = {"source_type": "document", "source_data": {"source_id": "doc-1"}}
    recs = normalize_records(
        [
            {"inputs": {}},
            {"inputs": {"q": "a"}, "outputs": None, "expectations": None, "tags": None},
            {"inputs": {"q": (1, 2)}, "outputs": [1, 2.5], "tags": {"k": {"n": True}}},
            {"inputs": {"q": 1}, "expectations": {"e": 1}, "source": source},
        ]
    )
    assert recs[0] == RecordInput(inputs={})
    assert recs[0].outputs is MISSING and recs[0].expectations is None and recs[0].source is None
    assert recs[1].outputs is None and recs[1].expectations is None and recs[1].tags is None
    assert recs[2].tags == {"k": {"n": True}}
    assert recs[3].source == DatasetRecordSource(T.DOCUMENT, {"source_id": "doc-1"})
    with pytest.raises(AttributeError):
        recs[0].inputs = {}  # type: ignore[misc]


def test_to_df_readonly_columns_are_ignored() -> None:
    rec = {
        "inputs": {"q": 1},
        "source_type": "HUMAN",
        "source_id": None,
        "created_time": 5,
        "dataset_record_id": "dr-1",
        "last_update_time": 6,
        "created_by": "a",
        "last_updated_by": "b",
    }
    (out,) = normalize_records([rec])
    assert out == RecordInput(inputs={"q": 1})


def test_dataset_record_source_instance_accepted() -> None:
    src = DatasetRecordSource(T.TRACE, {"trace_id": "tr-1"})
    (out,) = normalize_records([{"inputs": {}, "source": src}])
    assert out.source == src


# ----------------------------------------------------------------------------- sources


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HUMAN", T.HUMAN),
        ("human", T.HUMAN),
        ("Trace", T.TRACE),
        (" code ", T.CODE),
        ("dOcUmEnT", T.DOCUMENT),
        ("unspecified", T.UNSPECIFIED),
        (T.TRACE, T.TRACE),
    ],
)
def test_source_type_parse_is_case_insensitive(raw: Any, expected: T) -> None:
    assert T.parse(raw, "where") is expected


@pytest.mark.parametrize("raw", ["ROBOT", "", None, 1, "HUMANS"])
def test_source_type_parse_rejects(raw: Any) -> None:
    with pytest.raises(InvalidParameter, match=r"^here: unknown source type"):
        T.parse(raw, "here")


def test_source_dict_round_trip() -> None:
    src = DatasetRecordSource.from_dict({"source_type": "trace", "source_data": {"trace_id": "t"}})
    assert src == DatasetRecordSource(T.TRACE, {"trace_id": "t"})
    assert src.to_dict() == {"source_type": "TRACE", "source_data": {"trace_id": "t"}}
    assert DatasetRecordSource.from_dict(src.to_dict()) == src
    assert DatasetRecordSource.from_dict({"source_type": "CODE"}).source_data == {}
    with pytest.raises(InvalidParameter, match=r"field 'source\.source_type'"):
        DatasetRecordSource.from_dict({"source_type": "nope"})


def test_a_missing_source_is_inferred_as_mlflow_does() -> None:
    explicit = {"source_type": "DOCUMENT", "source_data": {"source_id": "d"}}
    assert source_of({"inputs": {}, "expectations": {"e": 1}, "source": explicit}) == (
        DatasetRecordSource(T.DOCUMENT, {"source_id": "d"})
    )
    assert source_of({"inputs": {}, "expectations": {"e": 1}}) == DatasetRecordSource(T.HUMAN)
    assert source_of({"inputs": {}}) == DatasetRecordSource(T.CODE)
    assert source_of({"inputs": {}, "expectations": {}}) == DatasetRecordSource(T.CODE)
    assert source_of({"inputs": {}, "outputs": "x", "tags": {"t": 1}}).source_type is T.CODE


def test_source_id() -> None:
    def source_id(source: DatasetRecordSource) -> str | None:
        return source_id_of(source.to_dict())

    assert source_id(DatasetRecordSource(T.TRACE, {"trace_id": "tr-1"})) == "tr-1"
    assert source_id(DatasetRecordSource(T.TRACE, {"source_id": "x"})) is None
    assert source_id(DatasetRecordSource(T.DOCUMENT, {"source_id": "doc"})) == "doc"
    assert source_id(DatasetRecordSource(T.HUMAN, {})) is None
    long_id = "tr-" + "a" * 297
    assert source_id(DatasetRecordSource(T.TRACE, {"trace_id": long_id})) == long_id


# ----------------------------------------------------------------------------- hashing


def test_inputs_hash_is_sha256_of_canonical_json() -> None:
    inputs = {"b": [1, {"y": 2, "x": 1}], "a": "é"}
    assert inputs_hash(inputs) == hashlib.sha256(canonical_bytes(inputs)).hexdigest()


def test_inputs_hash_distinguishes_1_and_1_0_and_true() -> None:
    hashes = {inputs_hash({"x": 1}), inputs_hash({"x": 1.0}), inputs_hash({"x": True})}
    assert len(hashes) == 3
    assert inputs_hash({"x": [1]}) != inputs_hash({"x": [1.0]})


def test_inputs_hash_ignores_key_order() -> None:
    a = {"a": 1, "b": {"c": 1, "d": 2}}
    b = {"b": {"d": 2, "c": 1}, "a": 1}
    assert inputs_hash(a) == inputs_hash(b)


def test_inputs_hash_rejects_non_json() -> None:
    with pytest.raises(InvalidParameter, match=r"field 'inputs.x'"):
        inputs_hash({"x": math.nan})
    with pytest.raises(InvalidParameter):
        inputs_hash(["x"])


# ----------------------------------------------------------------------------- one record


def test_new_record() -> None:
    new, changed = merge(None, {"inputs": {"q": 1}, "expectations": {"e": 1}})
    assert changed
    assert re.fullmatch(r"dr-[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}", new.record_id)
    assert new.outputs is None and new.tags == {} and new.seq == 7
    assert new.source == DatasetRecordSource(T.HUMAN)
    assert (new.created_time, new.created_by) == (2, "bob")
    assert (new.last_update_time, new.last_updated_by) == (2, "bob")


def test_merge_key_by_key_new_values_win() -> None:
    old = state({"q": 1}, expectations={"a": 1, "b": 2}, tags={"t": "x"}, outputs="o")
    new, changed = merge(old, {"inputs": {"q": 1}, "expectations": {"b": 3, "c": 4}})
    assert changed
    assert new.expectations == {"a": 1, "b": 3, "c": 4}
    assert new.tags == {"t": "x"}
    assert new.outputs == "o"  # no outputs key: kept
    assert old.expectations == {"a": 1, "b": 2}  # existing state is not mutated
    new2, _ = merge(new, {"inputs": {"q": 1}, "tags": {"u": 1}})
    assert new2.tags == {"t": "x", "u": 1}
    assert new2.expectations == {"a": 1, "b": 3, "c": 4}


def test_outputs_replaced_only_when_key_present() -> None:
    old = state({"q": 1}, outputs={"answer": "a"})
    same, changed = merge(old, {"inputs": {"q": 1}})
    assert not changed and same is old
    replaced, changed = merge(old, {"inputs": {"q": 1}, "outputs": "b"})
    assert changed and replaced.outputs == "b"
    nulled, changed = merge(old, {"inputs": {"q": 1}, "outputs": None})
    assert changed and nulled.outputs is None


def test_first_source_created_kept_last_update_moves() -> None:
    old = state({"q": 1}, source=DatasetRecordSource(T.TRACE, {"trace_id": "t1"}), time=1)
    new, changed = merge(
        old,
        {"inputs": {"q": 1}, "expectations": {"e": 1}, "source": {"source_type": "HUMAN"}},
        now=50,
    )
    assert changed
    assert new.source == DatasetRecordSource(T.TRACE, {"trace_id": "t1"})
    assert (new.record_id, new.seq) == (old.record_id, old.seq)
    assert (new.created_time, new.created_by) == (1, "alice")
    assert (new.last_update_time, new.last_updated_by) == (50, "bob")


def test_no_change_keeps_state_and_times() -> None:
    old = state({"q": 1}, outputs=[1, 2], expectations={"e": {"x": 1}}, tags={"t": "v"})
    rec = {"inputs": {"q": 1}, "outputs": [1, 2], "expectations": {"e": {"x": 1}}, "tags": {}}
    same, changed = merge(old, rec, now=99)
    assert not changed
    assert same is old and same.last_update_time == 1


def test_1_vs_1_0_in_expectations_is_a_change() -> None:
    old = state({"q": 1}, expectations={"score": 1})
    new, changed = merge(old, {"inputs": {"q": 1}, "expectations": {"score": 1.0}})
    assert changed and type(new.expectations["score"]) is float
    _, changed = merge(old, {"inputs": {"q": 1}, "expectations": {"score": True}})
    assert changed


# ----------------------------------------------------------------------------- merge_batch


def batch_merge(existing: dict[str, RecordState], records: list[dict[str, Any]], now: int = 10):
    return merge_batch(existing, normalize_records(records), now_ms=now, user="bob")


def keyed(states: list[RecordState]) -> dict[str, RecordState]:
    return {inputs_hash(s.inputs): s for s in states}


def test_batch_new_records_in_order() -> None:
    added, updated = batch_merge({}, [{"inputs": {"i": i}} for i in range(5)])
    assert [s.inputs["i"] for s in added] == [0, 1, 2, 3, 4]
    assert [s.seq for s in added] == [0, 1, 2, 3, 4]
    assert len({s.record_id for s in added}) == 5 and updated == []


def test_duplicates_inside_one_batch_merge_in_order() -> None:
    records = [
        {"inputs": {"q": 1}, "expectations": {"a": 1}, "outputs": "first"},
        {"inputs": {"q": 2}},
        {"inputs": {"q": 1}, "expectations": {"a": 2, "b": 1}, "tags": {"t": 1}},
        {"inputs": {"q": 1}, "outputs": "last", "source": {"source_type": "DOCUMENT"}},
    ]
    added, updated = batch_merge({}, records)
    assert updated == []
    assert [s.inputs for s in added] == [{"q": 1}, {"q": 2}]
    first = added[0]
    assert first.expectations == {"a": 2, "b": 1}
    assert first.tags == {"t": 1} and first.outputs == "last"
    assert first.source.source_type is T.HUMAN  # the first record's inferred source
    assert [s.seq for s in added] == [0, 1]


def test_existing_record_updated_counts_once() -> None:
    existing = keyed([state({"q": 1}, expectations={"a": 1}, seq=3)])
    records = [
        {"inputs": {"q": 1}, "expectations": {"a": 2}},
        {"inputs": {"q": 1}, "expectations": {"b": 1}},
        {"inputs": {"q": 9}},
    ]
    added, updated = batch_merge(existing, records)
    assert [s.inputs for s in added] == [{"q": 9}]
    assert added[0].seq == 4  # default next_seq: max existing seq + 1
    assert len(updated) == 1
    assert updated[0].expectations == {"a": 2, "b": 1}
    assert updated[0].seq == 3 and updated[0].created_time == 1
    assert existing[inputs_hash({"q": 1})].expectations == {"a": 1}  # not mutated


def test_merging_same_batch_twice_changes_nothing() -> None:
    records = [
        {"inputs": {"q": i}, "outputs": {"o": i}, "expectations": {"e": i}, "tags": {"t": "x"}}
        for i in range(20)
    ]
    added, _ = batch_merge({}, records, now=1)
    added2, updated2 = batch_merge(keyed(added), records, now=2)
    assert (added2, updated2) == ([], [])


def test_change_and_change_back_in_one_batch_is_no_update() -> None:
    existing = keyed([state({"q": 1}, outputs="a")])
    records = [{"inputs": {"q": 1}, "outputs": "b"}, {"inputs": {"q": 1}, "outputs": "a"}]
    assert batch_merge(existing, records) == ([], [])


def test_explicit_next_seq_and_id_factory() -> None:
    ids = iter(["dr-a", "dr-b"])
    added, _ = merge_batch(
        {},
        normalize_records([{"inputs": {"x": 1}}, {"inputs": {"x": 2}}]),
        now_ms=1,
        user="u",
        next_seq=100,
        record_id_factory=lambda: next(ids),
    )
    assert [(s.record_id, s.seq) for s in added] == [("dr-a", 100), ("dr-b", 101)]


def test_default_record_ids_are_time_ordered_uuid7_hex() -> None:
    mint = record_ids(5000, 1_795_663_659_647)
    ids = {mint() for _ in range(5000)}
    assert len(ids) == 5000
    pattern = re.compile(r"dr-[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}")
    assert all(pattern.fullmatch(i) for i in ids)


def test_batch_record_ids_increase() -> None:
    mint = record_ids(1000, 1_795_663_659_647)
    ids = [mint() for _ in range(1000)]
    assert ids == sorted(ids) and len(set(ids)) == 1000
    assert all(i.startswith("dr-01a215e5027f7") for i in ids)


# ----------------------------------------------------------------------------- digest

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def record_states(draw: st.DrawFn) -> list[RecordState]:
    n = draw(st.integers(0, 6))
    states = []
    for i in range(n):
        states.append(
            state(
                {"i": i, "x": draw(json_values)},
                outputs=draw(json_values),
                expectations=draw(st.dictionaries(st.text(max_size=3), json_values, max_size=2)),
                tags=draw(st.dictionaries(st.text(max_size=3), json_values, max_size=2)),
                source=DatasetRecordSource(draw(st.sampled_from(list(T))), {}),
                seq=i,
            )
        )
    return states


@settings(max_examples=60, deadline=None)
@given(states=record_states(), data=st.data())
def test_digest_independent_of_order(states: list[RecordState], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(states))
    assert dataset_digest(shuffled) == dataset_digest(states)


def test_digest_independent_of_time_ids_and_users() -> None:
    a = [state({"q": 1}, outputs="o", time=1, record_id="dr-1", seq=0)]
    b = [state({"q": 1}, outputs="o", time=999, record_id="dr-2", seq=5)]
    b[0].created_by = b[0].last_updated_by = "someone else"
    assert dataset_digest(a) == dataset_digest(b)


def test_digest_depends_on_content() -> None:
    base = dataset_digest([state({"q": 1}, outputs="o")])
    assert dataset_digest([state({"q": 1}, outputs="p")]) != base
    assert dataset_digest([state({"q": 1.0}, outputs="o")]) != base
    assert dataset_digest([state({"q": 1}, outputs="o", tags={"t": 1})]) != base
    human = DatasetRecordSource(T.HUMAN, {})
    assert dataset_digest([state({"q": 1}, outputs="o", source=human)]) != base
    assert dataset_digest([]) == digest.digest(0)
    assert dataset_digest([]) != base


def test_record_content_has_no_ids_or_times() -> None:
    content = record_content(state({"q": 1}, outputs=None, expectations={"e": 1}))
    assert content == {
        "inputs": {"q": 1},
        "outputs": None,
        "expectations": {"e": 1},
        "tags": {},
        "source": {"source_type": "CODE", "source_data": {}},
    }


# ----------------------------------------------------------------------------- schema/profile


def test_schema_type_names() -> None:
    states = [
        state(
            {"s": "x", "i": 1, "f": 1.5, "b": True, "a": [1], "o": {"k": 1}, "n": None, "w": 1},
            outputs={"answer": "x", "ok": False},
            expectations={"facts": ["a"], "score": 0.5},
            seq=0,
        ),
        state(
            {"s": 1, "n": None, "w": 2.5, "late": None},
            outputs="plain",
            expectations={"score": 1},
            seq=1,
        ),
    ]
    schema = json.loads(schema_of(states))  # in creation order
    assert schema == {
        "inputs": {
            "s": "string",  # first seen wins
            "i": "integer",
            "f": "float",
            "b": "boolean",
            "a": "array",
            "o": "object",
            "n": "null",
            "w": "float",  # integer widened by a later float
            "late": "null",
        },
        "outputs": {"answer": "string", "ok": "boolean", "output": "string"},
        "expectations": {"facts": "array", "score": "float"},
        "version": "1.0",
    }


def test_schema_of_empty_dataset() -> None:
    expected = {"inputs": {}, "outputs": {}, "expectations": {}, "version": "1.0"}
    assert json.loads(schema_of([])) == expected


def test_profile_counts() -> None:
    human = DatasetRecordSource(T.HUMAN, {})
    trace = DatasetRecordSource(T.TRACE, {"trace_id": "t"})
    states = [state({"i": i}, source=s) for i, s in enumerate([human, human, trace, None, human])]
    counts: dict[str, int] = {}
    for s in states:
        counts[s.source.source_type.value] = counts.get(s.source.source_type.value, 0) + 1
    profile = json.loads(profile_json(len(states), counts))
    assert profile == {"num_records": 5, "source_types": {"HUMAN": 3, "TRACE": 1, "CODE": 1}}
    assert json.loads(profile_json(0, {"HUMAN": 0})) == {"num_records": 0, "source_types": {}}


# ----------------------------------------------------------------------------- numpy values


def test_numpy_scalars_and_arrays_are_the_json_they_stand_for() -> None:
    source = {"source_type": "DOCUMENT", "source_data": {"page": np.int32(3)}}
    rec = {
        "inputs": {
            "i": np.int64(7),
            "u": np.uint8(255),
            "f": np.float64(0.5),
            "f32": np.float32(0.25),
            "b": np.bool_(True),
            "s": np.str_("text"),
            "m": np.array([[1, 2], [3, 4]]),
            "nested": {"xs": (np.float64(1.5), [np.int16(-2)])},
        },
        "outputs": np.array([True, False]),
        "expectations": {"e": np.array(["a", "b"]), "o": np.array([{"k": np.int8(1)}, None])},
        "tags": {np.str_("t"): np.int64(0)},
        "source": source,
    }
    (out,) = normalize_records([rec])
    plain = {
        "i": 7,
        "u": 255,
        "f": 0.5,
        "f32": 0.25,
        "b": True,
        "s": "text",
        "m": [[1, 2], [3, 4]],
        "nested": {"xs": [1.5, [-2]]},
    }
    assert canonical_bytes(out.inputs) == canonical_bytes(plain)  # 7 stays an int, True a bool
    assert inputs_key(out.inputs) == inputs_key(plain)
    assert out.outputs == [True, False] and type(out.outputs[0]) is bool
    assert out.expectations == {"e": ["a", "b"], "o": [{"k": 1}, None]}
    assert out.tags == {"t": 0} and type(next(iter(out.tags))) is str
    assert out.source == DatasetRecordSource(T.DOCUMENT, {"page": 3})
    assert type(rec["inputs"]["i"]) is np.int64  # the caller's record is not changed
    (scalar,) = normalize_records([{"inputs": {}, "outputs": np.float64(2.0)}])
    assert scalar.outputs == 2.0 and type(scalar.outputs) is float


@pytest.mark.parametrize(
    ("value", "where", "type_name"),
    [
        (np.float64("nan"), "inputs.v", "nan"),
        (np.array([1.0, np.inf]), "inputs.v[1]", "inf"),
        (np.float32("-inf"), "inputs.v", "inf"),
        (np.uint64(2**64 - 1), "inputs.v", "does not fit in 64 bits"),
        (datetime.datetime(2024, 1, 2), "inputs.v", "datetime"),
        (pd.Timestamp("2024-01-02"), "inputs.v", "Timestamp"),
        (np.datetime64("2024-01-02"), "inputs.v", "datetime64"),
        (np.array(["2024-01-02"], dtype="datetime64[ns]"), "inputs.v", "ndarray"),
        (np.complex128(1 + 2j), "inputs.v", "complex128"),
        ({"deep": [np.int64(1), b"raw"]}, "inputs.v.deep[1]", "bytes"),
        ({1, 2}, "inputs.v", "set"),
        (pd.NA, "inputs.v", "NAType"),
        (object(), "inputs.v", "object"),
    ],
)
def test_values_with_no_json_meaning_name_record_field_and_type(
    value: Any, where: str, type_name: str
) -> None:
    batch = [GOOD, {"inputs": {"ok": np.int64(1)}}, {"inputs": {"v": value}}]
    with pytest.raises(InvalidParameter) as info:
        normalize_records(batch)
    message = str(info.value)
    assert message.startswith(f"record 2: field '{where}': "), message
    assert type_name in message, message
    assert (info.value.index, info.value.field) == (2, where)


def test_numpy_values_in_every_field_are_checked_after_conversion() -> None:
    cases = [
        ({"inputs": {}, "outputs": np.array([np.nan])}, "outputs[0]"),
        ({"inputs": {}, "expectations": {"e": np.float64("nan")}}, "expectations.e"),
        ({"inputs": {}, "tags": {"t": np.datetime64("NaT")}}, "tags.t"),
        (
            {"inputs": {}, "source": {"source_type": "HUMAN", "source_data": {"x": np.inf}}},
            "source.source_data.x",
        ),
    ]
    for rec, where in cases:
        with pytest.raises(InvalidParameter) as info:
            normalize_records([rec])
        assert (info.value.index, info.value.field) == (0, where), str(info.value)


def test_a_top_level_pd_na_is_an_absent_field() -> None:
    rec = {"inputs": {"q": 1}, "outputs": pd.NA, "expectations": pd.NA, "tags": pd.NaT}
    (out,) = normalize_records([{**rec, "source": pd.NA}])
    assert out == RecordInput({"q": 1})
    with pytest.raises(InvalidParameter) as info:
        normalize_records([{"inputs": pd.NA}])
    assert (info.value.index, info.value.field) == (0, "inputs")


def test_plain_records_never_reach_the_conversion(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any) -> Any:
        raise AssertionError("plain records must stay on the fast path")

    monkeypatch.setattr(records_module, "_from_numpy", fail)
    batch = [
        {
            "inputs": {"q": i, "l": [1.5, None, (True,)]},
            "outputs": {"a": "x"},
            "expectations": {"e": i},
            "tags": {"t": "v"},
            "source": {"source_type": "CODE", "source_data": {"n": i}},
        }
        for i in range(50)
    ]
    recs = normalize_records(batch)
    assert recs[3].inputs is batch[3]["inputs"]  # held, not copied
    with pytest.raises(AssertionError):
        normalize_records([{"inputs": {"q": np.int64(1)}}])


# ----------------------------------------------------------------------------- DataFrames


def test_dataframe_with_nan_cells_means_absent() -> None:
    df = pd.DataFrame(
        {
            "inputs": [{"q": 1}, {"q": 2}, {"q": 3}],
            "outputs": ["a", math.nan, None],
            "expectations": [{"e": 1}, math.nan, None],
            "tags": [None, {"t": "x"}, pd.NA],
            "source": [None, {"source_type": "trace", "source_data": {"trace_id": "t"}}, None],
        }
    )
    recs = normalize_records(df)
    assert recs[0] == RecordInput({"q": 1}, "a", {"e": 1}, None, None)
    assert recs[1] == RecordInput(
        {"q": 2}, MISSING, None, {"t": "x"}, DatasetRecordSource(T.TRACE, {"trace_id": "t"})
    )
    assert recs[2] == RecordInput({"q": 3})
    added, _ = merge_batch({}, recs, now_ms=1, user="u")
    assert [state.source.source_type for state in added] == [T.HUMAN, T.TRACE, T.CODE]


def test_dataframe_nan_inputs_is_an_error() -> None:
    df = pd.DataFrame({"inputs": [{"q": 1}, math.nan], "outputs": ["a", "b"]})
    with pytest.raises(InvalidParameter, match=r"^record 1: field 'inputs'"):
        normalize_records(df)


def test_dataframe_nested_nan_is_an_error() -> None:
    df = pd.DataFrame({"inputs": [{"q": 1}, {"q": 2}], "expectations": [{"e": 1}, {"e": math.nan}]})
    with pytest.raises(InvalidParameter, match=r"^record 1: field 'expectations.e'"):
        normalize_records(df)


def test_dataframe_of_numpy_values() -> None:
    df = pd.DataFrame(
        {
            "inputs": [{"q": np.int64(i), "v": np.arange(3) * i} for i in range(3)],
            "outputs": np.array([0.5, np.nan, 1.5]),
            "expectations": [{"e": np.bool_(True)}, None, {"e": np.float32(0.5)}],
            "tags": [{"t": np.str_("x")}, pd.NA, {"t": "z"}],
            "source": [None, np.float64("nan"), pd.NA],  # numpy NaN in an object column
        }
    )
    recs = normalize_records(df)
    assert [r.inputs for r in recs] == [{"q": i, "v": [0, i, 2 * i]} for i in range(3)]
    assert type(recs[1].inputs["q"]) is int
    assert [r.outputs for r in recs] == [0.5, MISSING, 1.5]
    assert [r.expectations for r in recs] == [{"e": True}, None, {"e": 0.5}]
    assert [r.tags for r in recs] == [{"t": "x"}, None, {"t": "z"}]
    assert [r.source for r in recs] == [None, None, None]
    bad = df.assign(expectations=[{"e": np.float64("nan")}, None, None])
    with pytest.raises(InvalidParameter) as info:
        normalize_records(bad)
    assert (info.value.index, info.value.field) == (0, "expectations.e")
    with pytest.raises(InvalidParameter) as info:
        normalize_records(df.assign(inputs=[{}, {"t": pd.Timestamp("2024-01-01")}, {}]))
    assert (info.value.index, info.value.field) == (1, "inputs.t")
    assert "Timestamp" in str(info.value)


def test_dataframe_round_trip_columns_and_unknown_columns() -> None:
    df = pd.DataFrame(
        {
            "inputs": [{"q": 1}],
            "outputs": [None],
            "expectations": [{"e": 1}],
            "tags": [{}],
            "source_type": ["HUMAN"],
            "source_id": [None],
            "source": [{"source_type": "HUMAN", "source_data": {}}],
            "created_time": [123],
            "dataset_record_id": ["dr-1"],
        }
    )
    (rec,) = normalize_records(df)
    assert rec == RecordInput({"q": 1}, MISSING, {"e": 1}, {}, DatasetRecordSource(T.HUMAN))
    with pytest.raises(InvalidParameter, match=r"^record 0: field 'bogus': unknown field") as info:
        normalize_records(df.assign(bogus=[1]))
    assert (info.value.index, info.value.field) == (0, "bogus")
    with pytest.raises(InvalidParameter, match=r"^record 0: field 'inputs': missing"):
        normalize_records(pd.DataFrame({"outputs": ["x"]}))
    assert normalize_records(pd.DataFrame({"inputs": []})) == []
