"""Deleted is not gone: undelete_dataset, search_datasets(include_deleted=True), and what a
deleted dataset's handle reads and refuses (API.md §3)."""

from __future__ import annotations

import time
from typing import Any

import pytest

import evalledger as el
from evalledger import Client, errors
from evalledger.projections.rebuild import check_projections, rebuild


@pytest.fixture
def deleted(client: Client) -> Any:
    """A dataset "qa" with records, tags and two experiments, then deleted (version 3)."""
    other = client.create_experiment("other")
    ds = client.create_dataset("qa", experiment_id=["0", other], tags={"team": "support"})
    ds.merge_records([{"inputs": {"q": 1}, "expectations": {"a": "A"}}, {"inputs": {"q": 2}}])
    ds.delete_records([ds.records[1].dataset_record_id])
    client.delete_dataset(ds.dataset_id)
    return ds


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def test_undelete_brings_the_content_back_as_a_new_version(client: Client, deleted: Any) -> None:
    got = client.undelete_dataset(deleted.dataset_id)
    assert (got.version, got.is_deleted, got.deleted_time) == (4, False, None)
    assert (got.name, got.tags, got.experiment_ids) == ("qa", deleted.tags, deleted.experiment_ids)
    assert (got.digest, got.to_df().equals(deleted.to_df())) == (deleted.digest, True)
    assert client.get_dataset(name="qa") == got
    assert [d.dataset_id for d in client.search_datasets()] == [deleted.dataset_id]
    assert list(got.history()["operation"])[-2:] == ["DELETE", "UNDELETE"]
    assert client.get_dataset(dataset_id=deleted.dataset_id, version=3).is_deleted
    assert got.merge_records([{"inputs": {"q": 3}}]).version == 5  # writable again


def test_undelete_is_one_event_and_a_rebuild_agrees(client: Client, deleted: Any) -> None:
    position = client.store.head().position
    client.undelete_dataset(deleted.dataset_id)
    assert client.store.head().position == position + 1
    assert check_projections(client.store).ok
    rebuild(client.store)
    assert client.get_dataset(name="qa").version == 4
    assert check_projections(client.store).ok


def test_as_of_between_delete_and_undelete_sees_the_deletion(client: Client, deleted: Any) -> None:
    time.sleep(0.005)
    between = now_ms()
    time.sleep(0.005)
    client.undelete_dataset(deleted.dataset_id)
    with pytest.raises(errors.ResourceNotFound, match="was deleted"):
        client.get_dataset(dataset_id=deleted.dataset_id, as_of=between)
    assert client.get_dataset(dataset_id=deleted.dataset_id, as_of=now_ms()).version == 4


def test_undelete_when_the_name_is_taken_again_is_already_exists(
    client: Client, deleted: Any
) -> None:
    newer = client.create_dataset("qa")
    position = client.store.head().position
    with pytest.raises(errors.ResourceAlreadyExists, match="'qa'"):
        client.undelete_dataset(deleted.dataset_id)
    assert client.store.head().position == position
    client.delete_dataset(newer.dataset_id)
    assert client.undelete_dataset(deleted.dataset_id).name == "qa"


def test_undelete_of_a_missing_or_live_dataset_is_an_error_that_writes_nothing(
    client: Client, deleted: Any
) -> None:
    live = client.create_dataset("live")
    position = client.store.head().position
    with pytest.raises(errors.ResourceNotFound, match=r"d-0+' does not exist"):
        client.undelete_dataset("d-" + "0" * 32)
    with pytest.raises(errors.InvalidParameter, match=r"'live' .* is not deleted"):
        client.undelete_dataset(live.dataset_id)
    with pytest.raises(errors.InvalidParameter, match="dataset_id"):
        client.undelete_dataset(None)  # type: ignore[arg-type]
    client.undelete_dataset(deleted.dataset_id)
    position += 1
    with pytest.raises(errors.InvalidParameter, match="is not deleted"):
        client.undelete_dataset(deleted.dataset_id)  # twice
    assert client.store.head().position == position


def test_search_lists_deleted_datasets_only_when_asked(client: Client, deleted: Any) -> None:
    before = now_ms()
    time.sleep(0.005)  # created later than "qa", so listed first
    live = client.create_dataset("live")
    assert [d.name for d in client.search_datasets()] == ["live"]
    found = client.search_datasets(include_deleted=True)
    assert [(d.name, d.is_deleted) for d in found] == [("live", False), ("qa", True)]
    assert found[0].deleted_time is None
    assert found[1].deleted_time == found[1].last_update_time <= before
    assert found[1].deleted_time >= found[1].created_time
    assert "deleted" in repr(found[1])
    filtered = client.search_datasets(filter_string="name = 'qa'", include_deleted=True)
    assert [d.dataset_id for d in filtered] == [deleted.dataset_id]
    assert client.search_datasets(filter_string="name = 'qa'") == []
    assert client.get_dataset(dataset_id=live.dataset_id).deleted_time is None


def test_search_with_deleted_pages_and_keeps_its_tokens_apart(client: Client, deleted: Any) -> None:
    for name in ("x", "y"):
        time.sleep(0.005)  # distinct created_time: the order is y, x, qa
        client.create_dataset(name)
    first = client.search_datasets(max_results=2, include_deleted=True)
    rest = client.search_datasets(max_results=2, include_deleted=True, page_token=first.token)
    assert [d.name for d in [*first, *rest]] == ["y", "x", "qa"] and rest.token is None
    with pytest.raises(errors.InvalidParameter, match="page_token"):
        client.search_datasets(max_results=2, page_token=first.token)
    with pytest.raises(errors.InvalidParameter, match="include_deleted"):
        client.search_datasets(include_deleted="yes")  # type: ignore[arg-type]


def test_a_deleted_datasets_handle_reads_and_refuses_writes(client: Client, deleted: Any) -> None:
    (handle,) = client.search_datasets(include_deleted=True)
    assert handle.is_deleted and not handle.is_snapshot
    assert [r.inputs for r in handle.records] == [{"q": 1}]
    assert handle.to_df()["inputs"].tolist() == [{"q": 1}]
    assert list(handle.history()["operation"]) == [
        "CREATE",
        "MERGE",
        "DELETE_RECORDS",
        "DELETE",
    ]
    assert len(handle.diff(1).removed) == 1
    assert len(handle.record_history(handle.records[0].dataset_record_id)) == 1
    position = client.store.head().position
    writes = [
        lambda: handle.merge_records([{"inputs": {"q": 9}}]),
        lambda: handle.delete_records([handle.records[0].dataset_record_id]),
        lambda: handle.set_tags({"k": "v"}),
        lambda: handle.restore(1),
        lambda: handle.label_version("golden"),
    ]
    for write in writes:
        with pytest.raises(errors.ResourceNotFound, match=r"is deleted.*undelete_dataset\('d-"):
            write()
    assert client.store.head().position == position


def test_writes_by_id_on_a_deleted_dataset_say_how_to_bring_it_back(
    client: Client, deleted: Any
) -> None:
    with pytest.raises(errors.ResourceNotFound, match="is deleted: undelete_dataset"):
        client.set_dataset_tags(deleted.dataset_id, {"k": "v"})
    with pytest.raises(errors.ResourceNotFound, match="does not exist"):
        client.set_dataset_tags("d-" + "0" * 32, {"k": "v"})


def test_the_module_functions(db_url: str) -> None:
    el.set_tracking_uri(db_url)
    ds = el.create_dataset("m")
    el.delete_dataset(ds.dataset_id)
    assert "undelete_dataset" in el.__all__
    assert [d.deleted_time is not None for d in el.search_datasets(include_deleted=True)] == [True]
    assert el.undelete_dataset(ds.dataset_id).version == 2
    assert el.search_datasets()[0].dataset_id == ds.dataset_id
