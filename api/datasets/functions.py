"""The dataset functions of `mlflow.genai.datasets`, on the ledger (API.md §3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from evalledger.datasets import commands, reads
from evalledger.datasets.dataset import EvaluationDataset
from evalledger.datasets.snapshots import get_snapshot
from evalledger.ledger import InvalidParameter, ResourceNotFound
from evalledger.projections.event_types import DEFAULT_EXPERIMENT_ID
from evalledger.session import Session
from evalledger.validation import (
    check_id,
    check_id_list,
    check_name,
    check_tag_key,
    check_tags,
    check_version,
)


def create_dataset(
    session: Session,
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
    dataset_id = commands.create(session, name, experiment_ids, check_tags(tags))
    return current_dataset(session, dataset_id)


def _one_of(name: str | None, dataset_id: str | None, call: str) -> None:
    """Exactly one of name and dataset_id, and that one a str the database can compare."""
    if (name is None) == (dataset_id is None):
        raise InvalidParameter(f"{call} takes exactly one of name and dataset_id")
    if name is not None:
        check_id(name, "name")
    else:
        check_id(dataset_id, "dataset_id")


def current_dataset(session: Session, dataset_id: str) -> EvaluationDataset:
    """The live dataset with this id (ResourceNotFound when missing or deleted)."""
    with session.connect() as conn:
        view = reads.current(conn, dataset_id=dataset_id)
    if view is None:
        raise ResourceNotFound(f"dataset {dataset_id!r} does not exist")
    return EvaluationDataset(session, view)


def get_dataset(
    session: Session,
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
    if version is not None:
        version = check_version(version)
    if version is not None or as_of is not None:
        return get_snapshot(session, name=name, dataset_id=dataset_id, version=version, as_of=as_of)
    with session.connect() as conn:
        view = reads.current(conn, dataset_id=dataset_id, name=name)
    if view is None:
        shown = f"named {name!r}" if name is not None else repr(dataset_id)
        raise ResourceNotFound(f"dataset {shown} does not exist")
    return EvaluationDataset(session, view)


def delete_dataset(
    session: Session, dataset_id: str | None = None, name: str | None = None
) -> None:
    """Remove a dataset from every current view; its history stays readable."""
    _one_of(name, dataset_id, "delete_dataset")
    if dataset_id is None:
        dataset_id = get_dataset(session, name=name).dataset_id
    commands.delete(session, dataset_id)


def undelete_dataset(session: Session, dataset_id: str) -> EvaluationDataset:
    """Bring a deleted dataset back (a new version) with the content it had when deleted.

    Missing id: ResourceNotFound; not deleted: InvalidParameter; its name taken by a live
    dataset meanwhile: ResourceAlreadyExists.
    """
    commands.undelete(session, check_id(dataset_id, "dataset_id"))
    return current_dataset(session, dataset_id)


def set_dataset_tags(session: Session, dataset_id: str, tags: dict[str, Any]) -> None:
    """Set (add or overwrite) tags: one new dataset version (none when nothing changes)."""
    commands.set_tags(session, check_id(dataset_id, "dataset_id"), check_tags(tags))


def delete_dataset_tag(session: Session, dataset_id: str, key: str) -> None:
    """Delete one tag: one new dataset version (none when the key is not there)."""
    commands.delete_tag(session, check_id(dataset_id, "dataset_id"), check_tag_key(key, "key"))


def add_dataset_to_experiments(
    session: Session, dataset_id: str, experiment_ids: str | list[str]
) -> EvaluationDataset:
    dataset_id = check_id(dataset_id, "dataset_id")
    commands.link(session, dataset_id, check_id_list(experiment_ids, "experiment_ids"))
    return current_dataset(session, dataset_id)


def remove_dataset_from_experiments(
    session: Session, dataset_id: str, experiment_ids: str | list[str]
) -> EvaluationDataset:
    dataset_id = check_id(dataset_id, "dataset_id")
    commands.unlink(session, dataset_id, check_id_list(experiment_ids, "experiment_ids"))
    return current_dataset(session, dataset_id)
