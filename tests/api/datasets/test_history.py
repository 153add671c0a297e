"""History: snapshots, history(), diff, restore, labels, record lineage, provenance,
rebuild and the projection check (API.md §4, §5)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

import evalledger as el
from evalledger import Client, errors
from evalledger.projections.rebuild import check_projections, rebuild

CASES = [
    {"inputs": {"q": "capital of France?"}, "expectations": {"answer": "Paris"}},
    {"inputs": {"q": "2+2?"}, "expectations": {"answer": "4"}, "tags": {"kind": "math"}},
    {"inputs": {"q": "hello"}},
]


@pytest.fixture
def ds(client: Client) -> el.EvaluationDataset:
    """Versions: 0 create, 1 merge 3, 2 change one expectation and add one, 3 delete one,
    4 set a tag."""
    ds = client.create_dataset("golden", tags={"team": "qa"})
    ds.merge_records(CASES)
    ds.merge_records(
        [{"inputs": {"q": "2+2?"}, "expectations": {"answer": "four"}}, {"inputs": {"q": "new"}}]
    )
    hello = next(r for r in ds.records if r.inputs == {"q": "hello"})
    ds.delete_records([hello.dataset_record_id])
    client.set_dataset_tags(ds.dataset_id, {"stage": "review"})
    return client.get_dataset(dataset_id=ds.dataset_id)


def _inputs(frame) -> list[dict]:
    return list(frame["inputs"])


def test_snapshot_by_version_reads_exactly_that_version(
    client: Client, ds: el.EvaluationDataset
) -> None:
    v1 = client.get_dataset(name="golden", version=1)
    assert v1.is_snapshot and v1.version == 1
    assert _inputs(v1.to_df()) == [c["inputs"] for c in CASES]
    assert v1.tags == {"team": "qa"}
    assert v1.experiment_ids == ["0"]
    assert [r.expectations for r in v1.records][1] == {"answer": "4"}
    v2 = client.get_dataset(dataset_id=ds.dataset_id, version=2)
    assert [r.expectations for r in v2.records][1] == {"answer": "four"}
    assert len(v2.records) == 4 and v2.num_records == 4
    assert v2.digest != v1.digest
    assert '"num_records":4' in v2.profile
    assert "answer" in v2.schema


def test_snapshots_are_read_only(client: Client, ds: el.EvaluationDataset) -> None:
    snap = client.get_dataset(name="golden", version=1)
    for call in (
        lambda: snap.merge_records([{"inputs": {"q": "x"}}]),
        lambda: snap.delete_records([snap.records[0].dataset_record_id]),
        lambda: snap.restore(0),
        lambda: snap.label_version("x"),
    ):
        with pytest.raises(errors.ReadOnlySnapshot):
            call()
    assert client.get_dataset(name="golden").version == 4


def test_as_of_reads_the_version_current_at_that_instant(client: Client) -> None:
    ds = client.create_dataset("timed")
    ds.merge_records(CASES[:1])
    time.sleep(0.01)
    between = int(time.time() * 1000)
    time.sleep(0.01)
    ds.merge_records(CASES[1:])
    snap = client.get_dataset(name="timed", as_of=between)
    assert snap.version == 1 and len(snap.records) == 1
    dt = datetime.fromtimestamp(between / 1000, tz=UTC).replace(tzinfo=None)  # naive = UTC
    assert client.get_dataset(name="timed", as_of=dt).version == 1
    with pytest.raises(errors.ResourceNotFound):
        client.get_dataset(name="timed", as_of=ds.created_time - 1000)


def test_version_and_as_of_together_is_invalid(client: Client, ds: el.EvaluationDataset) -> None:
    with pytest.raises(errors.InvalidParameter):
        client.get_dataset(name="golden", version=1, as_of=int(time.time() * 1000))


def test_unknown_version_is_not_found(client: Client, ds: el.EvaluationDataset) -> None:
    with pytest.raises(errors.ResourceNotFound):
        client.get_dataset(name="golden", version=99)
    with pytest.raises(errors.ResourceNotFound):
        client.get_dataset(name="golden", version="no-such-label")


def test_deleted_dataset_keeps_its_history(client: Client, ds: el.EvaluationDataset) -> None:
    client.delete_dataset(dataset_id=ds.dataset_id)
    with pytest.raises(errors.ResourceNotFound):
        client.get_dataset(name="golden")
    snap = client.get_dataset(name="golden", version=2)
    assert len(snap.records) == 4
    assert list(snap.history()["operation"]) == ["CREATE", "MERGE", "MERGE"]
    deleted = client.get_dataset(dataset_id=ds.dataset_id, version=5)
    assert list(deleted.history()["operation"])[-1] == "DELETE"


def test_history_lists_every_version_with_counts(
    client: Client, db_url: str, ds: el.EvaluationDataset
) -> None:
    frame = ds.history()
    assert list(frame.columns[:9]) == [
        "version",
        "timestamp",
        "user",
        "operation",
        "records_added",
        "records_updated",
        "records_deleted",
        "num_records",
        "digest",
    ]
    assert list(frame["version"]) == [0, 1, 2, 3, 4]
    assert list(frame["operation"]) == ["CREATE", "MERGE", "MERGE", "DELETE_RECORDS", "SET_TAGS"]
    assert list(frame["records_added"]) == [0, 3, 1, 0, 0]
    assert list(frame["records_updated"]) == [0, 0, 1, 0, 0]
    assert list(frame["records_deleted"]) == [0, 0, 0, 1, 0]
    assert list(frame["num_records"]) == [0, 3, 4, 3, 3]
    assert str(frame["timestamp"].dt.tz) == "UTC"
    assert frame["digest"].iloc[-1] == ds.digest
    Client(db_url, user="auditor").delete_dataset_tag(ds.dataset_id, "stage")
    assert list(ds.history()["user"])[-1] == "auditor"


def test_diff_reports_added_removed_and_changed_fields(ds: el.EvaluationDataset) -> None:
    d = ds.diff(1)
    assert d.from_version == 1 and d.to_version == 4
    assert [r.inputs for r in d.added] == [{"q": "new"}]
    assert [r.inputs for r in d.removed] == [{"q": "hello"}]
    assert len(d.changed) == 1
    change = d.changed[0]
    assert change.fields == ["expectations.answer"]
    assert change.before.expectations == {"answer": "4"}
    assert change.after.expectations == {"answer": "four"}
    assert d.tags_changed == {"stage": (None, "review")}
    frame = d.to_df()
    assert set(frame["change"]) == {"added", "removed", "changed", "tag"}
    row = frame[frame["change"] == "changed"].iloc[0]
    assert (row["field"], row["before"], row["after"]) == ("expectations.answer", "4", "four")


def test_diff_of_a_version_with_itself_is_empty(ds: el.EvaluationDataset) -> None:
    assert ds.diff(2, 2).is_empty


def test_diff_backwards_swaps_added_and_removed(ds: el.EvaluationDataset) -> None:
    d = ds.diff(4, 1)
    assert [r.inputs for r in d.added] == [{"q": "hello"}]
    assert [r.inputs for r in d.removed] == [{"q": "new"}]


def test_restore_makes_a_new_version_equal_to_the_old_one(
    client: Client, ds: el.EvaluationDataset
) -> None:
    v1 = client.get_dataset(name="golden", version=1)
    restored = ds.restore(1)
    assert restored.version == 5
    assert restored.digest == v1.digest
    assert _inputs(restored.to_df()) == _inputs(v1.to_df())
    assert restored.tags == v1.tags
    history = restored.history()
    assert list(history["operation"])[-1] == "RESTORE"
    assert history["source_version"].iloc[-1] == 1
    assert client.get_dataset(name="golden", version=4).num_records == 3  # nothing erased


def test_labels_move_and_are_readable_as_of(client: Client, ds: el.EvaluationDataset) -> None:
    assert ds.label_version("golden-v1", 1) == 1
    assert client.get_dataset(name="golden", version="golden-v1").version == 1
    time.sleep(0.01)
    moved_at = int(time.time() * 1000)
    time.sleep(0.01)
    ds.label_version("golden-v1")  # moves to the latest
    assert ds.version_labels() == {"golden-v1": 4}
    assert ds.version_labels(as_of=moved_at) == {"golden-v1": 1}
    assert client.get_dataset(name="golden").version == 4  # labels make no dataset version
    with pytest.raises(errors.ResourceNotFound):
        ds.label_version("bad", 42)


def test_record_history_shows_each_change(ds: el.EvaluationDataset) -> None:
    record = next(r for r in ds.records if r.inputs == {"q": "2+2?"})
    frame = ds.record_history(record.dataset_record_id)
    assert list(frame["version"]) == [1, 2]
    assert list(frame["operation"]) == ["MERGE", "MERGE"]
    assert frame["before"].iloc[0] is None
    assert frame["after"].iloc[1]["expectations"] == {"answer": "four"}
    with pytest.raises(errors.ResourceNotFound):
        ds.record_history("dr-missing")


def test_record_history_of_a_deleted_record_ends_with_the_deletion(client: Client) -> None:
    ds = client.create_dataset("lineage")
    ds.merge_records(CASES[:1])
    rid = ds.records[0].dataset_record_id
    ds.delete_records([rid])
    frame = ds.record_history(rid)
    assert list(frame["operation"]) == ["MERGE", "DELETE_RECORDS"]
    assert frame["after"].iloc[-1] is None


def test_provenance_counts_sources(ds: el.EvaluationDataset) -> None:
    frame = ds.provenance()
    counts = dict(zip(frame["source_type"], frame["num_records"], strict=True))
    assert counts == {"HUMAN": 2, "CODE": 1}


def test_rebuild_gives_identical_frames_and_verify_passes(
    client: Client, ds: el.EvaluationDataset
) -> None:
    ds.label_version("l1", 2)
    ds.restore(2)
    before = {v: client.get_dataset(name="golden", version=v).to_df() for v in range(6)}
    history = ds.history()
    store = client.store
    assert check_projections(store).ok
    rebuild(store)
    assert check_projections(store).ok
    for v, frame in before.items():
        after = client.get_dataset(name="golden", version=v).to_df()
        assert after.to_dict("list") == frame.to_dict("list")
    assert client.get_dataset(name="golden").history().to_dict("list") == history.to_dict("list")
    assert client.get_dataset(name="golden", version="l1").version == 2


def test_verify_names_a_projection_row_edited_by_hand(
    client: Client, ds: el.EvaluationDataset
) -> None:
    store = client.store
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE dataset_versions SET num_records = 99 WHERE version = 2"))
    report = check_projections(store)
    assert not report.ok
    assert "dataset_versions" in report.difference
    assert ds.dataset_id in report.difference
