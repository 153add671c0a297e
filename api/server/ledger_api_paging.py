"""Keyset pages of a dataset's records, now or at a past version.

A page starts after the creation position (`seq`) of the last record of the page before,
so each page is an index range and page 1,000 costs what page 1 costs. The page token
carries that position and, for a past version (which never changes), how many records
the pages before returned: the last page then stops at the snapshot's last record instead
of looking past it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from evalledger.datasets import reads
from evalledger.ledger import InvalidParameter
from evalledger.projections.schema import dataset_records, dataset_versions

#: Up to this many later versions that ended records, a page reads one range per version.
MAX_GROUPS = 200

_PAGE_COLUMNS = (*reads.RECORD_COLUMNS, dataset_records.c.seq)


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page starts: after creation position `after_seq`, `seen` records in."""

    after_seq: int = -1
    seen: int | None = 0

    def token(self) -> str:
        body = {"after_seq": self.after_seq}
        if self.seen is not None:
            body["seen"] = self.seen
        return base64.urlsafe_b64encode(orjson.dumps(body)).decode()


def read_token(token: str | None) -> Position:
    """The position a page token continues from (the first page without one)."""
    if not token:
        return Position()
    try:
        body = orjson.loads(base64.urlsafe_b64decode(token.encode()))
        after, seen = body["after_seq"], body.get("seen")
    except Exception:
        after = seen = None
    if not _count(after, -1) or (seen is not None and not _count(seen, 0)):
        raise InvalidParameter(
            f"page_token {token!r} is not a token this listing returned", field="page_token"
        )
    return Position(after, seen)


def _count(value: Any, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def current_page(
    conn: sa.Connection, dataset_id: str, start: Position, limit: int
) -> tuple[list[Any], Position | None]:
    """Up to `limit` current records from `start`, and where the next page starts."""
    c = dataset_records.c
    rows = conn.execute(
        sa.select(*_PAGE_COLUMNS)
        .where(c.dataset_id == dataset_id, c.valid_to.is_(None), c.seq > start.after_seq)
        .order_by(*reads.current_order(conn))
        .limit(limit + 1)
    ).all()
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], Position(rows[limit - 1].seq, None)


def snapshot_page(
    conn: sa.Connection,
    dataset_id: str,
    version: int,
    num_records: int,
    start: Position,
    limit: int,
) -> tuple[list[Any], Position | None]:
    """Up to `limit` records of past `version` (which has `num_records`) from `start`."""
    if start.seen is None:  # a token from a listing of the current records
        rows = rows_at_version(conn, dataset_id, version, start.after_seq, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        seen = None
    else:
        wanted = min(limit, num_records - start.seen)
        rows = rows_at_version(conn, dataset_id, version, start.after_seq, wanted)
        seen = start.seen + len(rows)
        more = len(rows) == wanted and seen < num_records
    return rows, Position(rows[-1].seq, seen) if more and rows else None


def rows_at_version(
    conn: sa.Connection, dataset_id: str, version: int, after: int, limit: int
) -> list[Any]:
    """Up to `limit` records valid at `version`, after creation position `after`.

    A record valid then is still current, or ended at a later version (one that updated
    or deleted records). Each of those groups is one ordered range of the (dataset,
    valid_to, seq) index read from `after` on, so no page sorts the dataset. (With more
    than MAX_GROUPS such versions, their rows are read as one range and sorted: that cost
    grows with the changes made since `version`, still not with the depth of the page.)
    """
    if limit <= 0:
        return []
    c = dataset_records.c
    ended_at = ending_versions(conn, dataset_id, version)
    groups = [(c.valid_to.is_(None), reads.current_order(conn))]
    if len(ended_at) <= MAX_GROUPS:
        groups += [(c.valid_to == v, (c.seq,)) for v in ended_at]
    else:
        groups.append((c.valid_to > version, (c.seq,)))
    common = (c.dataset_id == dataset_id, c.valid_from <= version, c.seq > after)
    parts = [
        sa.select(*_PAGE_COLUMNS).where(*common, group).order_by(*order).limit(limit).subquery()
        for group, order in groups
    ]
    union = sa.union_all(*(sa.select(part) for part in parts)).subquery()
    return conn.execute(sa.select(union).order_by(union.c.seq).limit(limit)).all()


def ending_versions(conn: sa.Connection, dataset_id: str, version: int) -> list[int]:
    """The versions after `version` that ended record versions (updates and deletes)."""
    v = dataset_versions.c
    rows = conn.execute(
        sa.select(v.version).where(
            v.dataset_id == dataset_id,
            v.version > version,
            sa.or_(v.records_updated > 0, v.records_deleted > 0),
        )
    )
    return [r.version for r in rows]
