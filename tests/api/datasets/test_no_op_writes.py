"""A write that would change nothing appends no event and makes no version (API.md §4)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest

from evalledger import Client, errors
from evalledger.datasets.transfer import import_records

RECORDS = [
    {"inputs": {"q": 1}, "outputs": "a", "expectations": {"e": 1}, "tags": {"t": "x"}},
    {"inputs": {"q": 2}, "source": {"source_type": "DOCUMENT", "source_data": {}}},
]


@pytest.fixture
def ds(client: Client) -> Any:
    """A dataset with two records, two tags and two experiments (version 1)."""
    other = client.create_experiment("other")
    ds = client.create_dataset("d", experiment_id=["0", other], tags={"a": "1", "b": "2"})
    return ds.merge_records(RECORDS)


@contextmanager
def nothing_written(client: Client, ds: Any) -> Iterator[None]:
    """The block appends no event and the dataset keeps its version, digest and history."""
    position = client.store.head().position
    before = client.get_dataset(dataset_id=ds.dataset_id)
    history = before.history()
    yield
    after = client.get_dataset(dataset_id=ds.dataset_id)
    assert client.store.head().position == position
    assert (after.version, after.digest, after.tags) == (before.version, before.digest, before.tags)
    assert after.experiment_ids == before.experiment_ids
    assert after.history().equals(history)


def test_merging_records_equal_to_the_stored_ones_writes_nothing(client: Client, ds: Any) -> None:
    with nothing_written(client, ds):
        assert ds.merge_records(RECORDS) is ds
        assert ds.version == 1 and ds.num_records == 2
        # a subset, and a record that repeats stored values key by key, change nothing too
        ds.merge_records([{"inputs": {"q": 1}, "expectations": {"e": 1}}])
        ds.merge_records([{"inputs": {"q": 2}}])


def test_an_empty_merge_writes_nothing(client: Client, ds: Any) -> None:
    with nothing_written(client, ds):
        assert ds.merge_records([]).version == 1


def test_a_merge_with_one_real_change_is_one_version(client: Client, ds: Any) -> None:
    ds.merge_records([*RECORDS, {"inputs": {"q": 1}, "outputs": "b"}])
    assert ds.version == 2
    assert ds.history().iloc[-1][["records_added", "records_updated"]].tolist() == [0, 1]


def test_deleting_ids_that_are_not_there_writes_nothing(client: Client, ds: Any) -> None:
    with nothing_written(client, ds):
        assert ds.delete_records(["dr-" + "0" * 32]) == 0
        assert ds.delete_records([]) == 0
    gone = ds.records[0].dataset_record_id
    assert ds.delete_records([gone]) == 1
    with nothing_written(client, ds):
        assert ds.delete_records([gone]) == 0  # already deleted


def test_setting_tags_to_their_current_values_writes_nothing(client: Client, ds: Any) -> None:
    with nothing_written(client, ds):
        client.set_dataset_tags(ds.dataset_id, {"a": "1"})
        client.set_dataset_tags(ds.dataset_id, {"a": 1, "b": "2"})  # values are stored as str
        client.set_dataset_tags(ds.dataset_id, {})
        assert ds.set_tags({"b": "2"}).version == 1
    client.set_dataset_tags(ds.dataset_id, {"a": "1", "b": "3"})
    assert client.get_dataset(dataset_id=ds.dataset_id).version == 2


def test_deleting_a_tag_that_is_not_there_writes_nothing(client: Client, ds: Any) -> None:
    with nothing_written(client, ds):
        client.delete_dataset_tag(ds.dataset_id, "nope")


def test_linking_linked_or_unlinking_unlinked_experiments_writes_nothing(
    client: Client, ds: Any
) -> None:
    linked = ds.experiment_ids
    unlinked = client.create_experiment("unlinked")
    with nothing_written(client, ds):
        assert client.add_dataset_to_experiments(ds.dataset_id, linked).version == 1
        assert client.remove_dataset_from_experiments(ds.dataset_id, [unlinked]).version == 1
    got = client.add_dataset_to_experiments(ds.dataset_id, [*linked, unlinked])
    assert got.version == 2 and got.experiment_ids == [*linked, unlinked]


def test_restoring_a_version_whose_content_is_already_current_writes_nothing(
    client: Client, ds: Any
) -> None:
    with nothing_written(client, ds):
        assert ds.restore(1).version == 1
    client.set_dataset_tags(ds.dataset_id, {"c": "3"})
    client.delete_dataset_tag(ds.dataset_id, "c")  # v3: the content of v1 again
    with nothing_written(client, ds):
        ds.restore(1)
    assert ds.restore(2).version == 4  # v2 had the tag c


def test_labelling_the_version_a_label_points_to_writes_nothing(client: Client, ds: Any) -> None:
    ds.label_version("golden")
    with nothing_written(client, ds):
        assert ds.label_version("golden") == 1
        assert ds.label_version("golden", 1) == 1
    position = client.store.head().position
    ds.label_version("golden", 0)
    assert client.store.head().position == position + 1
    assert ds.version_labels() == {"golden": 0}


def test_importing_the_same_file_again_writes_nothing(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    rows = [{"inputs": {"i": i}, "expectations": {"n": i}} for i in range(5)]
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    first = import_records(client.session, "imported", path, batch_size=2)
    assert (first.added, first.batches, first.dataset.version) == (5, 3, 3)
    with nothing_written(client, first.dataset):
        again = import_records(client.session, "imported", path, batch_size=2)
    assert (again.added, again.updated, again.batches, again.created) == (0, 0, 0, False)
    assert again.dataset.version == 3


WRITES: dict[str, Callable[[Client, Any], Any]] = {
    "merge": lambda c, ds: ds.merge_records(RECORDS),
    "set_tags": lambda c, ds: c.set_dataset_tags(ds.dataset_id, ds.tags),
    "link": lambda c, ds: c.add_dataset_to_experiments(ds.dataset_id, ds.experiment_ids),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_a_write_that_would_change_nothing_still_refuses_a_deleted_dataset(
    client: Client, ds: Any, write: str
) -> None:
    client.delete_dataset(ds.dataset_id)
    with pytest.raises(errors.ResourceNotFound, match="is deleted: undelete_dataset"):
        WRITES[write](client, ds)
