"""The dataset functions of `mlflow.genai.datasets`, on the ledger (API.md §3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger import InvalidParameter, ResourceNotFound

from . import dataset_commands as commands
from . import dataset_reads as reads
from .evaluation_dataset import EvaluationDataset
from .experiments import DEFAULT_EXPERIMENT_ID
from .tracking import store_for
from .validation import check_id_list, check_name, check_tag_key, check_tags


def create_dataset(
    name: str,
    experiment_id: str | list[str] | None = None,
    tags: dict[str, Any] | None = None,
) -> EvaluationDataset:
    """Create an empty dataset (version 0). Names are unique among live datasets."""
    name = check_name(name)
    experiment_ids = (
        [DEFAULT_EXPERIMENT_ID]
        if experiment_id is None
        else check_id_list(experiment_id, "experiment_id")
    )
    store = store_for()
    dataset_id = commands.create(store, name, experiment_ids, check_tags(tags))
    return _current(dataset_id)


def _one_of(name: str | None, dataset_id: str | None, call: str) -> None:
    if (name is None) == (dataset_id is None):
        raise InvalidParameter(f"{call} takes exactly one of name and dataset_id")


def _current(dataset_id: str) -> EvaluationDataset:
    store = store_for()
    with store.engine.connect() as conn:
        view = reads.current(conn, dataset_id=dataset_id)
    if view is None:
        raise ResourceNotFound(f"dataset {dataset_id!r} does not exist")
    return EvaluationDataset(store, view)


def get_dataset(
    name: str | None = None,
    dataset_id: str | None = None,
    *,
    version: int | str | None = None,
    as_of: datetime | int | None = None,
) -> EvaluationDataset:
    """The live dataset by name or id; with version/as_of, a read-only snapshot."""
    _one_of(name, dataset_id, "get_dataset")
    if version is not None and as_of is not None:
        raise InvalidParameter("get_dataset takes version or as_of, not both")
    if version is not None or as_of is not None:
        from .snapshots import get_snapshot

        return get_snapshot(name=name, dataset_id=dataset_id, version=version, as_of=as_of)
    store = store_for()
    with store.engine.connect() as conn:
        view = reads.current(conn, dataset_id=dataset_id, name=name)
    if view is None:
        shown = f"named {name!r}" if name is not None else repr(dataset_id)
        raise ResourceNotFound(f"dataset {shown} does not exist")
    return EvaluationDataset(store, view)


def delete_dataset(dataset_id: str | None = None, name: str | None = None) -> None:
    """Remove a dataset from every current view; its history stays readable."""
    _one_of(name, dataset_id, "delete_dataset")
    if dataset_id is None:
        dataset_id = get_dataset(name=name).dataset_id
    commands.delete(store_for(), dataset_id)


def set_dataset_tags(dataset_id: str, tags: dict[str, Any]) -> None:
    """Set (add or overwrite) tags: one new dataset version."""
    commands.set_tags(store_for(), dataset_id, check_tags(tags))


def delete_dataset_tag(dataset_id: str, key: str) -> None:
    """Delete one tag: one new dataset version."""
    commands.delete_tag(store_for(), dataset_id, check_tag_key(key, "key"))


def add_dataset_to_experiments(
    dataset_id: str, experiment_ids: str | list[str]
) -> EvaluationDataset:
    commands.link(store_for(), dataset_id, check_id_list(experiment_ids, "experiment_ids"))
    return _current(dataset_id)


def remove_dataset_from_experiments(
    dataset_id: str, experiment_ids: str | list[str]
) -> EvaluationDataset:
    commands.unlink(store_for(), dataset_id, check_id_list(experiment_ids, "experiment_ids"))
    return _current(dataset_id)
