"""What a command's NAME, VERSION and --as-of point at.

NAME is a dataset's name, or its id (``d-`` + 32 hex). A name finds a live dataset only;
an id finds a deleted one too, for the commands that read (history, show, diff, export).
A version is a number, or a version label. Every miss says what there is instead: the
latest version, the labels, the time the dataset was created or deleted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from evalledger.cli.common import instant_text, labels_text
from evalledger.client import Client
from evalledger.datasets import reads
from evalledger.datasets.dataset import EvaluationDataset
from evalledger.datasets.labels import labels_at
from evalledger.ledger import ResourceNotFound
from evalledger.projections.schema import datasets
from evalledger.validation import check_id, to_ms

DATASET_ID = re.compile(r"d-[0-9a-f]{32}")
_MS = re.compile(r" at (-?\d+) ms\b")


def is_dataset_id(text: str) -> bool:
    return DATASET_ID.fullmatch(text) is not None


@dataclass(frozen=True)
class Target:
    """A dataset NAME resolved: its row as it is now (live, or as it was deleted)."""

    view: reads.DatasetView

    @property
    def dataset_id(self) -> str:
        return self.view.dataset_id

    @property
    def name(self) -> str:
        return self.view.name

    @property
    def latest(self) -> int:
        return self.view.version

    @property
    def deleted(self) -> bool:
        return bool(self.view.deleted)

    @property
    def deleted_time(self) -> int | None:
        return self.view.last_update_time if self.deleted else None

    def shown(self) -> str:
        extra = f" ({self.dataset_id}, deleted)" if self.deleted else ""
        return f"dataset {self.name!r}{extra}"


def deleted_named(client: Client, name: str) -> list[tuple[str, int]]:
    """(dataset_id, deletion time) of the deleted datasets with this name, newest first."""
    check_id(name, "NAME")
    with client.session.connect() as conn:
        rows = conn.execute(
            sa.select(datasets.c.dataset_id, datasets.c.last_update_time)
            .where(reads.exact_equals(datasets.c.name, name), datasets.c.deleted.is_(True))
            .order_by(datasets.c.last_update_time.desc())
        ).all()
    return [(r.dataset_id, r.last_update_time) for r in rows]


def find(client: Client, text: str, *, deleted_ok: bool = False) -> Target:
    """The dataset NAME names (a name: live only; an id: deleted too when `deleted_ok`)."""
    check_id(text, "NAME")
    if is_dataset_id(text):
        with client.session.connect() as conn:
            view = reads.current(conn, dataset_id=text, include_deleted=True)
        if view is None:
            raise ResourceNotFound(f"there is no dataset with id {text!r}")
        target = Target(view)
        if target.deleted and not deleted_ok:
            raise ResourceNotFound(
                f"dataset {target.name!r} ({text}) is deleted: "
                f"`evalledger undelete {text}` brings it back"
            )
        return target
    with client.session.connect() as conn:
        view = reads.current(conn, name=text)
    if view is not None:
        return Target(view)
    gone = deleted_named(client, text)
    hint = (
        f"; a deleted dataset of that name has the id {gone[0][0]}"
        if gone
        else "; `evalledger datasets` lists the datasets"
    )
    raise ResourceNotFound(f"dataset named {text!r} does not exist{hint}")


def labels(client: Client, target: Target) -> dict[str, int]:
    """Which version each label of the dataset points to now."""
    with client.session.connect() as conn:
        return labels_at(conn, target.dataset_id)


def version_number(client: Client, target: Target, version: int | str) -> int:
    """A version number or label, checked against what the dataset has."""
    if isinstance(version, int):
        if not 0 <= version <= target.latest:
            raise ResourceNotFound(
                f"{target.shown()} has no version {version}: "
                f"its versions are 0 to {target.latest} (the latest)"
            )
        return version
    found = labels(client, target)
    if version in found:
        return found[version]
    known = (
        f"its labels are {labels_text(found)}"
        if found
        else "it has no labels (`evalledger label NAME LABEL [VERSION]` adds one)"
    )
    raise ResourceNotFound(f"{target.shown()} has no version labelled {version!r}: {known}")


def check_as_of(target: Target, as_of: datetime | int) -> int:
    """The instant as epoch ms, when the dataset existed then (else say when it did)."""
    at = to_ms(as_of)
    if at < target.view.created_time:
        raise ResourceNotFound(
            f"{target.shown()} did not exist yet at {instant_text(at)}: "
            f"it was created at {instant_text(target.view.created_time)}"
        )
    deleted = target.deleted_time
    if deleted is not None and at >= deleted:
        raise ResourceNotFound(
            f"{target.shown()} was deleted at {instant_text(deleted)}: pass an earlier --as-of "
            f"or a --version from 0 to {target.latest}"
        )
    return at


def open_dataset(
    client: Client,
    target: Target,
    version: int | str | None = None,
    as_of: datetime | int | None = None,
) -> EvaluationDataset:
    """The dataset now (live), or the snapshot asked for; a deleted dataset reads as it was
    when deleted."""
    if as_of is not None:
        at = check_as_of(target, as_of)
        try:
            return client.get_dataset(dataset_id=target.dataset_id, as_of=at)
        except ResourceNotFound as exc:  # e.g. deleted then, undeleted since
            raise ResourceNotFound(_dates(str(exc))) from None
    if version is not None:
        number = version_number(client, target, version)
        return client.get_dataset(dataset_id=target.dataset_id, version=number)
    if target.deleted:
        return client.get_dataset(dataset_id=target.dataset_id, version=target.latest)
    return client.get_dataset(dataset_id=target.dataset_id)


def _dates(message: str) -> str:
    """`... at 1764587756123 ms` as `... at 2025-12-01T11:15:56.123Z`."""
    return _MS.sub(lambda m: f" at {instant_text(int(m[1]))}", message)


def describe(ds: Any, target: Target | None = None) -> str:
    """`dataset 'qa' version 2`, `(snapshot)` for a past version, `(deleted)` for a deleted
    dataset."""
    if target is not None and target.deleted and ds.version == target.latest:
        kind = " (deleted)"
    else:
        kind = " (snapshot)" if ds.is_snapshot else ""
    return f"dataset {ds.name!r} version {ds.version}{kind}"
