"""The dataset API as a user meets it (API.md §2-§4, §8): experiments, create/get/delete,
tags, experiment links, to_df, records, schema and profile. Every test runs on each backend."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
import sqlalchemy as sa

from evalledger import Client, errors

DF_COLUMNS = [
    "inputs",
    "outputs",
    "expectations",
    "tags",
    "source_type",
    "source_id",
    "source",
    "created_time",
    "dataset_record_id",
]
HEX64 = re.compile(r"[0-9a-f]{64}")


@pytest.fixture
def client(client: Client) -> Client:
    """The test's client, already used once: first use creates the Default experiment, so
    the events a test counts are its own."""
    client.search_experiments()
    return client


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def event_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT COUNT(*) FROM events")).scalar_one()


def current(client: Client, dataset: Any) -> Any:
    return client.get_dataset(dataset_id=dataset.dataset_id)


def rows(df: Any) -> list[dict[str, Any]]:
    return df.to_dict("records")


def cells(series: Any) -> list[Any]:
    """A column's values, a missing cell (None or NaN, pandas' choice) as None."""
    return [None if isinstance(v, float) and v != v else v for v in series.tolist()]


# ----------------------------------------------------------------------------- experiments


def test_default_experiment_0_named_default_exists(client: Client) -> None:
    default = client.get_experiment("0")
    assert default.experiment_id == "0"
    assert default.name == "Default"
    assert client.get_experiment_by_name("Default").experiment_id == "0"


def test_create_experiment_returns_a_new_digit_string_id(client: Client) -> None:
    first = client.create_experiment("exp-a", tags={"team": "eval"})
    second = client.create_experiment("exp-b")
    assert isinstance(first, str) and first.isdigit()
    assert len({"0", first, second}) == 3
    got = client.get_experiment(first)
    assert got.name == "exp-a"
    assert got.tags == {"team": "eval"}
    assert isinstance(got.creation_time, int) and got.creation_time > 0
    assert client.get_experiment_by_name("exp-b").experiment_id == second


def test_create_experiment_with_duplicate_name_raises_already_exists(client: Client) -> None:
    client.create_experiment("dup")
    with pytest.raises(errors.ResourceAlreadyExists):
        client.create_experiment("dup")


def test_experiment_names_are_case_sensitive(client: Client) -> None:
    upper, lower = client.create_experiment("Exp"), client.create_experiment("exp")
    assert upper != lower
    assert client.get_experiment_by_name("exp").experiment_id == lower
    assert client.get_experiment_by_name("Exp").experiment_id == upper


def test_a_missing_experiment_raises_not_found_by_id_and_is_none_by_name(client: Client) -> None:
    with pytest.raises(errors.ResourceNotFound):
        client.get_experiment("424242")
    assert client.get_experiment_by_name("no such experiment") is None


def test_search_experiments_lists_default_and_created_ones(client: Client) -> None:
    a, b = client.create_experiment("a"), client.create_experiment("b")
    found = {e.experiment_id: e.name for e in client.search_experiments()}
    assert found == {"0": "Default", a: "a", b: "b"}


# ----------------------------------------------------------------------------- create_dataset


def test_create_dataset_name_must_be_a_non_empty_str_of_at_most_500_chars(
    client: Client, engine: sa.Engine
) -> None:
    before = event_count(engine)
    for bad_name in ["", 123, None, ["ds"], "x" * 501]:
        with pytest.raises(errors.InvalidParameter):
            client.create_dataset(bad_name)
    assert event_count(engine) == before
    longest = "n" * 500
    assert client.create_dataset(longest).name == longest
    assert client.get_dataset(name=longest).name == longest


def test_create_dataset_with_a_live_duplicate_name_raises_already_exists(
    client: Client, engine: sa.Engine
) -> None:
    client.create_dataset("same")
    before = event_count(engine)
    with pytest.raises(errors.ResourceAlreadyExists):
        client.create_dataset("same")
    assert event_count(engine) == before


def test_a_name_can_be_used_again_after_delete(client: Client) -> None:
    old = client.create_dataset("reused")
    client.delete_dataset(dataset_id=old.dataset_id)
    new = client.create_dataset("reused")
    assert new.dataset_id != old.dataset_id
    assert client.get_dataset(name="reused").dataset_id == new.dataset_id


def test_dataset_names_are_compared_exactly(client: Client) -> None:
    """Names differing in case or by a trailing space are different datasets."""
    names = ["Golden", "golden", "ds", "ds "]
    ids = [client.create_dataset(name).dataset_id for name in names]
    assert [client.get_dataset(name=name).dataset_id for name in names] == ids


def test_experiment_id_none_means_the_default_experiment(client: Client) -> None:
    assert client.create_dataset("d").experiment_ids == ["0"]


def test_experiment_id_may_be_a_str_or_a_list(client: Client) -> None:
    a, b = client.create_experiment("a"), client.create_experiment("b")
    assert client.create_dataset("one", experiment_id=a).experiment_ids == [a]
    assert sorted(client.create_dataset("two", experiment_id=[a, b]).experiment_ids) == sorted(
        [a, b]
    )


def test_create_dataset_in_unknown_experiment_raises_not_found_and_creates_nothing(
    client: Client, engine: sa.Engine
) -> None:
    before = event_count(engine)
    with pytest.raises(errors.ResourceNotFound):
        client.create_dataset("orphan", experiment_id="999")
    with pytest.raises(errors.ResourceNotFound):
        client.create_dataset("orphan", experiment_id=["0", "999"])
    assert event_count(engine) == before
    with pytest.raises(errors.ResourceNotFound):
        client.get_dataset(name="orphan")


def test_tag_values_are_stored_as_str(client: Client) -> None:
    ds = client.create_dataset("t", tags={"n": 3, "f": 1.5, "b": True, "s": "x"})
    expected = {"n": "3", "f": "1.5", "b": "True", "s": "x"}
    assert ds.tags == expected
    assert client.get_dataset(name="t").tags == expected


def test_tag_value_none_is_invalid(client: Client, engine: sa.Engine) -> None:
    before = event_count(engine)
    with pytest.raises(errors.InvalidParameter):
        client.create_dataset("t", tags={"k": None})
    assert event_count(engine) == before


def test_tag_keys_must_be_non_empty_str_of_at_most_250_chars(
    client: Client, engine: sa.Engine
) -> None:
    before = event_count(engine)
    for bad_key in ["", "k" * 251, 5]:
        with pytest.raises(errors.InvalidParameter):
            client.create_dataset("t", tags={bad_key: "v"})
    assert event_count(engine) == before
    longest = "k" * 250
    assert current(client, client.create_dataset("t", tags={longest: "v"})).tags == {longest: "v"}


def test_tag_keys_differing_only_in_case_are_both_kept(client: Client) -> None:
    ds = client.create_dataset("t", tags={"Env": "prod", "env": "dev"})
    assert current(client, ds).tags == {"Env": "prod", "env": "dev"}


def test_text_with_a_nul_character_round_trips_or_is_rejected_cleanly(client: Client) -> None:
    """Never a raw database error (§8)."""
    try:
        ds = client.create_dataset("nul", tags={"k": "a\x00b"})
    except errors.InvalidParameter:
        return
    assert current(client, ds).tags == {"k": "a\x00b"}


def test_new_dataset_attributes(db_url: str) -> None:
    start = now_ms()
    ds = Client(db_url, user="alice").create_dataset("fresh", tags={"k": "v"})
    end = now_ms()
    assert re.fullmatch(r"d-[0-9a-f]{32}", ds.dataset_id)
    assert ds.name == "fresh"
    assert ds.version == 0
    assert ds.created_by == "alice" and ds.last_updated_by == "alice"
    assert type(ds.created_time) is int and type(ds.last_update_time) is int
    assert start - 5 <= ds.created_time <= end + 5
    assert ds.last_update_time == ds.created_time
    assert HEX64.fullmatch(ds.digest)
    assert ds.is_snapshot is False
    assert ds.records == []
    assert ds.tags == {"k": "v"}
    assert ds.experiment_ids == ["0"]


def test_empty_datasets_have_the_same_digest_as_a_dataset_emptied_again(client: Client) -> None:
    a, b = client.create_dataset("a"), client.create_dataset("b")
    assert a.digest == b.digest
    b.merge_records([{"inputs": {"q": 1}}])
    assert b.digest != a.digest
    b.delete_records([r.dataset_record_id for r in b.records])
    assert b.digest == a.digest


def test_errors_carry_mlflow_error_codes(client: Client) -> None:
    with pytest.raises(errors.InvalidParameter) as bad:
        client.create_dataset("")
    assert isinstance(bad.value, ValueError) and isinstance(bad.value, errors.LedgerError)
    assert bad.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(errors.ResourceNotFound) as missing:
        client.get_dataset(name="nope")
    assert isinstance(missing.value, LookupError)
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    client.create_dataset("dup")
    with pytest.raises(errors.ResourceAlreadyExists) as dup:
        client.create_dataset("dup")
    assert dup.value.error_code == "RESOURCE_ALREADY_EXISTS"


# ----------------------------------------------------------------------------- get_dataset


def test_get_dataset_by_name_and_by_id_return_the_same_dataset(client: Client) -> None:
    ds = client.create_dataset("g", tags={"k": "v"})
    by_name, by_id = client.get_dataset(name="g"), client.get_dataset(dataset_id=ds.dataset_id)
    for got in (by_name, by_id):
        assert got.dataset_id == ds.dataset_id
        assert got.name == "g"
        assert got.tags == {"k": "v"}
        assert got.version == 0
        assert got.is_snapshot is False


def test_get_dataset_needs_exactly_one_of_name_and_dataset_id(client: Client) -> None:
    ds = client.create_dataset("g")
    with pytest.raises(errors.InvalidParameter):
        client.get_dataset()
    with pytest.raises(errors.InvalidParameter):
        client.get_dataset(name="g", dataset_id=ds.dataset_id)


def test_get_dataset_of_a_missing_or_deleted_dataset_raises_not_found(client: Client) -> None:
    ds = client.create_dataset("gone")
    client.delete_dataset(dataset_id=ds.dataset_id)
    for name, dataset_id in [("gone", None), (None, ds.dataset_id), ("never", None)]:
        with pytest.raises(errors.ResourceNotFound):
            client.get_dataset(name=name, dataset_id=dataset_id)
    with pytest.raises(errors.ResourceNotFound):
        client.get_dataset(dataset_id="d-" + "0" * 32)


def test_get_dataset_with_version_and_as_of_together_is_invalid(client: Client) -> None:
    ds = client.create_dataset("g")
    with pytest.raises(errors.InvalidParameter):
        client.get_dataset(name="g", version=0, as_of=now_ms())
    with pytest.raises(errors.InvalidParameter):
        client.get_dataset(dataset_id=ds.dataset_id, version=0, as_of=now_ms())


# ----------------------------------------------------------------------------- delete_dataset


def test_delete_dataset_by_id_or_by_name_removes_only_that_dataset(client: Client) -> None:
    by_id, by_name, keep = (
        client.create_dataset("x"),
        client.create_dataset("y"),
        client.create_dataset("z"),
    )
    client.delete_dataset(dataset_id=by_id.dataset_id)
    client.delete_dataset(name="y")
    for gone in (by_id, by_name):
        with pytest.raises(errors.ResourceNotFound):
            client.get_dataset(dataset_id=gone.dataset_id)
    assert client.get_dataset(name="z").dataset_id == keep.dataset_id


def test_delete_missing_dataset_raises_not_found(client: Client, engine: sa.Engine) -> None:
    ds = client.create_dataset("x")
    client.delete_dataset(dataset_id=ds.dataset_id)
    before = event_count(engine)
    with pytest.raises(errors.ResourceNotFound):
        client.delete_dataset(dataset_id=ds.dataset_id)
    with pytest.raises(errors.ResourceNotFound):
        client.delete_dataset(name="x")
    with pytest.raises(errors.ResourceNotFound):
        client.delete_dataset(dataset_id="d-" + "f" * 32)
    assert event_count(engine) == before


def test_delete_dataset_needs_exactly_one_of_id_and_name(client: Client) -> None:
    ds = client.create_dataset("x")
    with pytest.raises(errors.InvalidParameter):
        client.delete_dataset()
    with pytest.raises(errors.InvalidParameter):
        client.delete_dataset(dataset_id=ds.dataset_id, name="x")
    assert client.get_dataset(name="x").dataset_id == ds.dataset_id


# ----------------------------------------------------------------------------- tags


def test_set_dataset_tags_adds_and_overwrites_in_one_new_version(client: Client) -> None:
    ds = client.create_dataset("t", tags={"a": "1", "b": "2"})
    client.set_dataset_tags(ds.dataset_id, {"b": "20", "c": 3})
    got = current(client, ds)
    assert got.tags == {"a": "1", "b": "20", "c": "3"}
    assert got.version == ds.version + 1


def test_delete_dataset_tag_removes_one_key_in_one_new_version(client: Client) -> None:
    ds = client.create_dataset("t", tags={"a": "1", "b": "2"})
    client.delete_dataset_tag(ds.dataset_id, "a")
    got = current(client, ds)
    assert got.tags == {"b": "2"}
    assert got.version == ds.version + 1


def test_tag_writes_on_a_missing_or_deleted_dataset_raise_not_found(client: Client) -> None:
    ds = client.create_dataset("t", tags={"a": "1"})
    client.delete_dataset(dataset_id=ds.dataset_id)
    for dataset_id in (ds.dataset_id, "d-" + "0" * 32):
        with pytest.raises(errors.ResourceNotFound):
            client.set_dataset_tags(dataset_id, {"a": "2"})
        with pytest.raises(errors.ResourceNotFound):
            client.delete_dataset_tag(dataset_id, "a")


def test_set_dataset_tags_with_a_none_value_writes_nothing(
    client: Client, engine: sa.Engine
) -> None:
    ds = client.create_dataset("t", tags={"a": "1"})
    before = event_count(engine)
    with pytest.raises(errors.InvalidParameter):
        client.set_dataset_tags(ds.dataset_id, {"b": "ok", "a": None})
    assert event_count(engine) == before
    assert current(client, ds).tags == {"a": "1"}
    assert current(client, ds).version == 0


def test_last_updated_by_follows_the_acting_user(client: Client, db_url: str) -> None:
    ds = Client(db_url, user="alice").create_dataset("t")
    time.sleep(0.005)
    Client(db_url, user="bob").set_dataset_tags(ds.dataset_id, {"k": "v"})
    got = current(client, ds)
    assert got.created_by == "alice"
    assert got.last_updated_by == "bob"
    assert got.created_time == ds.created_time
    assert got.last_update_time > ds.created_time


# ----------------------------------------------------------------------------- experiment links


def test_add_dataset_to_experiments_returns_the_dataset_with_the_new_ids(client: Client) -> None:
    a, b = client.create_experiment("a"), client.create_experiment("b")
    ds = client.create_dataset("d")
    got = client.add_dataset_to_experiments(ds.dataset_id, [a, b])
    assert sorted(got.experiment_ids) == sorted(["0", a, b])
    assert got.version == ds.version + 1
    assert sorted(current(client, ds).experiment_ids) == sorted(["0", a, b])


def test_remove_dataset_from_experiments_returns_the_dataset_without_them(client: Client) -> None:
    a = client.create_experiment("a")
    ds = client.create_dataset("d", experiment_id=["0", a])
    got = client.remove_dataset_from_experiments(ds.dataset_id, "0")
    assert got.experiment_ids == [a]
    assert got.version == ds.version + 1
    assert current(client, ds).experiment_ids == [a]


def test_add_dataset_to_an_unknown_experiment_raises_not_found_and_writes_nothing(
    client: Client, engine: sa.Engine
) -> None:
    ds = client.create_dataset("d")
    before = event_count(engine)
    with pytest.raises(errors.ResourceNotFound):
        client.add_dataset_to_experiments(ds.dataset_id, ["0", "777"])
    assert event_count(engine) == before
    assert current(client, ds).experiment_ids == ["0"]


def test_linking_a_missing_dataset_raises_not_found(client: Client) -> None:
    with pytest.raises(errors.ResourceNotFound):
        client.add_dataset_to_experiments("d-" + "0" * 32, ["0"])
    with pytest.raises(errors.ResourceNotFound):
        client.remove_dataset_from_experiments("d-" + "0" * 32, ["0"])


# ----------------------------------------------------------------------------- to_df, records


def test_an_empty_dataset_reads_as_empty(client: Client) -> None:
    ds = client.create_dataset("empty")
    df = ds.to_df()
    assert list(df.columns) == DF_COLUMNS
    assert len(df) == 0
    schema = json.loads(ds.schema)
    assert schema["inputs"] == {} and schema["expectations"] == {}
    assert schema["version"] == "1.0"
    assert json.loads(ds.profile)["num_records"] == 0


def test_to_df_lists_records_in_creation_order_across_merges(client: Client) -> None:
    ds = client.create_dataset("ordered")
    ds.merge_records([{"inputs": {"q": "b"}}, {"inputs": {"q": "a"}}])
    ds.merge_records([{"inputs": {"q": "d"}}, {"inputs": {"q": "a"}, "outputs": "A"}])
    ds.merge_records([{"inputs": {"q": "c"}}])
    df = ds.to_df()
    assert list(df.columns) == DF_COLUMNS
    assert [row["q"] for row in df["inputs"]] == ["b", "a", "d", "c"]
    assert cells(df["outputs"]) == [None, "A", None, None]
    assert len(set(df["dataset_record_id"])) == 4


def test_to_df_cells_hold_the_record_fields(client: Client) -> None:
    ds = client.create_dataset("cells")
    ds.merge_records(
        [
            {
                "inputs": {"q": "x"},
                "outputs": {"answer": 1},
                "expectations": {"e": True},
                "tags": {"t": "v"},
                "source": {"source_type": "DOCUMENT", "source_data": {"source_id": "doc-1"}},
            }
        ]
    )
    (row,) = rows(ds.to_df())
    assert row["inputs"] == {"q": "x"}
    assert row["outputs"] == {"answer": 1}
    assert row["expectations"] == {"e": True}
    assert row["tags"] == {"t": "v"}
    assert row["source_type"] == "DOCUMENT"
    assert row["source_id"] == "doc-1"
    assert row["source"].source_type == "DOCUMENT"
    assert row["source"].source_data == {"source_id": "doc-1"}
    assert isinstance(row["created_time"], int)
    assert row["dataset_record_id"] == ds.records[0].dataset_record_id


def test_records_match_to_df(client: Client) -> None:
    ds = client.create_dataset("match")
    ds.merge_records([{"inputs": {"i": i}, "expectations": {"e": i}} for i in range(3)])
    ds.merge_records([{"inputs": {"i": 9}, "outputs": [1, 2]}])
    df = ds.to_df()
    records = current(client, ds).records
    assert [r.dataset_record_id for r in records] == df["dataset_record_id"].tolist()
    assert [r.inputs for r in records] == df["inputs"].tolist()
    assert [r.outputs for r in records] == cells(df["outputs"])
    assert [r.expectations for r in records] == df["expectations"].tolist()
    assert [r.source_type for r in records] == df["source_type"].tolist()
    assert [r.created_time for r in records] == df["created_time"].tolist()
    assert all(r.dataset_id == ds.dataset_id for r in records)


def test_schema_names_field_types_as_mlflow_does(client: Client) -> None:
    ds = client.create_dataset("schema")
    ds.merge_records(
        [
            {
                "inputs": {"s": "x", "i": 1, "f": 1.5, "b": True, "a": [1], "o": {"k": 1}},
                "outputs": {"answer": "y"},
                "expectations": {"score": 0.5, "ok": False, "facts": ["f"], "label": "good"},
            }
        ]
    )
    schema = json.loads(ds.schema)
    assert schema["inputs"] == {
        "s": "string",
        "i": "integer",
        "f": "float",
        "b": "boolean",
        "a": "array",
        "o": "object",
    }
    assert schema["expectations"] == {
        "score": "float",
        "ok": "boolean",
        "facts": "array",
        "label": "string",
    }
    assert "outputs" in schema
    assert schema["version"] == "1.0"


def _count_for(profile: dict[str, Any], source_type: str) -> int:
    """The count a profile gives a source type, wherever it nests it (0 when absent)."""
    if source_type in profile and isinstance(profile[source_type], int):
        return profile[source_type]
    for value in profile.values():
        if isinstance(value, dict):
            found = _count_for(value, source_type)
            if found:
                return found
    return 0


def test_profile_counts_records_and_source_types(client: Client) -> None:
    ds = client.create_dataset("profile")
    ds.merge_records(
        [
            {"inputs": {"q": 1}, "expectations": {"e": 1}},
            {"inputs": {"q": 2}, "expectations": {"e": 2}},
            {"inputs": {"q": 3}},
        ]
    )
    profile = json.loads(current(client, ds).profile)
    assert profile["num_records"] == 3
    assert _count_for(profile, "HUMAN") == 2
    assert _count_for(profile, "CODE") == 1
    ds.delete_records([ds.records[0].dataset_record_id])
    profile = json.loads(current(client, ds).profile)
    assert profile["num_records"] == 2
    assert _count_for(profile, "HUMAN") == 1
