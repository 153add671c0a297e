"""Reads of the dataset projections: one dataset's metadata and its records, now or as of a
version. Each is one indexed query whose cost does not grow with the history."""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa

from evalledger.projections.dataset_state import DatasetState
from evalledger.projections.schema import dataset_records, dataset_versions, datasets, valid_at
from evalledger.query.filters import compare


def exact_equals(column: sa.ColumnElement[str], value: str) -> sa.ColumnElement[bool]:
    """column = value, byte for byte on every backend (no case folding, no space padding)."""
    return compare(column, "=", value)


#: A dataset's metadata at one version (the current one or a past one).
DatasetView = DatasetState


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
    return DatasetState.from_row(row)


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
    return DatasetState.from_row(row, created)


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
    dataset_records.c.created_time,
)


def records_query(
    dataset_id: str, version: int | None = None, columns: tuple[Any, ...] = RECORD_COLUMNS
) -> sa.Select[Any]:
    """The records of a dataset in creation order, current or as of a version."""
    query = sa.select(*columns).where(dataset_records.c.dataset_id == dataset_id, valid_at(version))
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


def current_order(conn: sa.Connection) -> tuple[sa.ColumnElement[Any], ...]:
    """The order of current records (`valid_to IS NULL`) that each backend reads straight
    off the (dataset, valid_to, seq) index. PostgreSQL does not see `IS NULL` as fixing
    valid_to, so ordered by seq alone it would sort every remaining record for each page;
    MariaDB, ordered by (valid_to, seq), leaves the index and sorts."""
    c = dataset_records.c
    return (c.valid_to, c.seq) if conn.dialect.name == "postgresql" else (c.seq,)


def record_page(conn: sa.Connection, dataset_id: str, after_seq: int, limit: int) -> list[Any]:
    """Up to `limit` current records after creation position `after_seq` (keyset paging:
    each page is one index range, however deep)."""
    c = dataset_records.c
    query = (
        sa.select(*RECORD_COLUMNS, c.seq)
        .where(c.dataset_id == dataset_id, c.valid_to.is_(None), c.seq > after_seq)
        .order_by(*current_order(conn))
        .limit(limit)
    )
    return conn.execute(query).all()
