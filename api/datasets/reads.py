"""Reads of the dataset projections: one dataset's metadata and its records, now or as of a
version. Each is one indexed query whose cost does not grow with the history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from evalledger.projections.schema import dataset_records, dataset_versions, datasets
from evalledger.query.filters import compare


def exact_equals(column: sa.ColumnElement[str], value: str) -> sa.ColumnElement[bool]:
    """column = value, byte for byte on every backend (no case folding, no space padding)."""
    return compare(column, "=", value)


@dataclass(frozen=True, slots=True)
class DatasetView:
    """A dataset's metadata at one version (the current one or a past one)."""

    dataset_id: str
    name: str
    version: int
    digest: str
    num_records: int
    source_counts: dict[str, int]
    tags: dict[str, str]
    experiment_ids: list[str]
    created_time: int
    last_update_time: int
    created_by: str
    last_updated_by: str
    deleted: bool
    next_seq: int = 0


def _view(row: Any, created: Any) -> DatasetView:
    return DatasetView(
        dataset_id=row.dataset_id,
        name=row.name,
        version=row.version,
        digest=row.digest,
        num_records=row.num_records,
        source_counts=orjson.loads(row.source_counts),
        tags=orjson.loads(row.tags),
        experiment_ids=orjson.loads(row.experiment_ids),
        created_time=created.created_time,
        last_update_time=row.last_update_time,
        created_by=created.created_by,
        last_updated_by=row.last_updated_by,
        deleted=row.deleted,
        next_seq=getattr(row, "next_seq", 0),
    )


def current(
    conn: sa.Connection,
    *,
    dataset_id: str | None = None,
    name: str | None = None,
    include_deleted: bool = False,
) -> DatasetView | None:
    """The live dataset with this id or name (or a deleted one by id when asked)."""
    query = sa.select(datasets)
    if dataset_id is not None:
        query = query.where(datasets.c.dataset_id == dataset_id)
    else:
        query = query.where(exact_equals(datasets.c.name, name or ""))
    if not include_deleted:
        query = query.where(datasets.c.deleted.is_(False))
    row = conn.execute(query.limit(1)).first()
    return None if row is None else from_row(row)


def from_row(row: Any) -> DatasetView:
    """The view of a row of the current-datasets table."""
    return _view(row, row)


def versions_table_view(conn: sa.Connection, dataset_id: str, version: int) -> DatasetView | None:
    """The dataset as it was right after `version` was committed."""
    row = conn.execute(
        sa.select(
            dataset_versions,
            dataset_versions.c.timestamp.label("last_update_time"),
            dataset_versions.c.user.label("last_updated_by"),
        ).where(dataset_versions.c.dataset_id == dataset_id, dataset_versions.c.version == version)
    ).first()
    if row is None:
        return None
    created = conn.execute(
        sa.select(
            dataset_versions.c.timestamp.label("created_time"),
            dataset_versions.c.user.label("created_by"),
        ).where(dataset_versions.c.dataset_id == dataset_id, dataset_versions.c.version == 0)
    ).one()
    return _view(row, created)


RECORD_COLUMNS = (
    dataset_records.c.record_id,
    dataset_records.c.body,
    dataset_records.c.source_type,
    dataset_records.c.source_id,
    dataset_records.c.created_time,
    dataset_records.c.created_by,
    dataset_records.c.last_update_time,
    dataset_records.c.last_updated_by,
)


#: What to_df needs (fewer columns fetch faster).
FRAME_COLUMNS = (
    dataset_records.c.record_id,
    dataset_records.c.body,
    dataset_records.c.source_type,
    dataset_records.c.source_id,
    dataset_records.c.created_time,
)


def records_query(
    dataset_id: str, version: int | None = None, columns: tuple[Any, ...] = RECORD_COLUMNS
) -> sa.Select[Any]:
    """The records of a dataset in creation order, current or as of a version."""
    query = sa.select(*columns).where(dataset_records.c.dataset_id == dataset_id)
    if version is None:
        query = query.where(dataset_records.c.valid_to.is_(None))
    else:
        query = query.where(
            dataset_records.c.valid_from <= version,
            sa.or_(dataset_records.c.valid_to.is_(None), dataset_records.c.valid_to > version),
        )
    return query.order_by(dataset_records.c.seq)


def record_rows(
    conn: sa.Connection,
    dataset_id: str,
    version: int | None = None,
    columns: tuple[Any, ...] = RECORD_COLUMNS,
) -> list[Any]:
    return conn.execute(records_query(dataset_id, version, columns)).all()


def decode_bodies(rows: list[Any]) -> list[dict[str, Any]]:
    """Decode every row's JSON body in one parse (much faster than one loads per row)."""
    if not rows:
        return []
    return orjson.loads("[" + ",".join([r.body for r in rows]) + "]")
