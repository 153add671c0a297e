"""Point-in-time reads: a dataset as it was at a version or an instant (read-only)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from evalledger.datasets import reads
from evalledger.datasets.dataset import EvaluationDataset
from evalledger.datasets.labels import label_target
from evalledger.ledger import ResourceNotFound
from evalledger.projections.schema import dataset_versions, datasets
from evalledger.session import Session
from evalledger.validation import check_version, to_ms


def _dataset_id_for_name(conn: sa.Connection, name: str) -> str:
    """The live dataset of that name, else the most recently created deleted one."""
    row = conn.execute(
        sa.select(datasets.c.dataset_id)
        .where(reads.exact_equals(datasets.c.name, name))
        .order_by(datasets.c.deleted, datasets.c.created_time.desc())
        .limit(1)
    ).first()
    if row is None:
        raise ResourceNotFound(f"dataset named {name!r} does not exist")
    return row.dataset_id


def version_at(conn: sa.Connection, dataset_id: str, at_ms: int) -> int:
    """The dataset's version at an instant; ResourceNotFound before creation or after delete."""
    row = conn.execute(
        sa.select(dataset_versions.c.version, dataset_versions.c.deleted)
        .where(dataset_versions.c.dataset_id == dataset_id, dataset_versions.c.timestamp <= at_ms)
        .order_by(dataset_versions.c.version.desc())
        .limit(1)
    ).first()
    if row is None:
        raise ResourceNotFound(f"dataset {dataset_id!r} did not exist yet at {at_ms} ms")
    if row.deleted:
        raise ResourceNotFound(f"dataset {dataset_id!r} was deleted at {at_ms} ms")
    return row.version


def resolve_version(conn: sa.Connection, dataset_id: str, version: int | str) -> int:
    version = check_version(version)
    if isinstance(version, str):
        return label_target(conn, dataset_id, version)
    return version


def get_snapshot(
    session: Session,
    *,
    name: str | None,
    dataset_id: str | None,
    version: int | str | None,
    as_of: datetime | int | None,
) -> EvaluationDataset:
    with session.connect() as conn:
        if dataset_id is None:
            dataset_id = _dataset_id_for_name(conn, name or "")
        if as_of is not None:
            number = version_at(conn, dataset_id, to_ms(as_of))
        else:
            number = resolve_version(conn, dataset_id, version)  # type: ignore[arg-type]
        view = reads.versions_table_view(conn, dataset_id, number)
    if view is None:
        raise ResourceNotFound(f"dataset {dataset_id!r} has no version {number}")
    return EvaluationDataset(session, view, snapshot=True)
