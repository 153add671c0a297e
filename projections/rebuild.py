"""Rebuild every projection from the events, and check the projections against a replay."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import orjson
import sqlalchemy as sa

from evalledger.ledger import EventStore, create_engine
from evalledger.projections.fold import replay
from evalledger.projections.schema import PROJECTION_TABLES, metadata

Progress = Callable[[int, int], None]


def rebuild(store: EventStore, progress: Progress | None = None) -> int:
    """Empty every projection table and replay all events into it, in one transaction that
    holds the writer lock (readers see the old projections until it commits)."""
    with store.transaction() as tx:
        conn = tx.conn
        head = tx.head.position
        for table in reversed(PROJECTION_TABLES):
            conn.execute(table.delete())
        return replay(
            conn,
            store.iter_all(up_to_position=head, conn=conn),
            progress=(lambda n: progress(n, head)) if progress else None,
        )


@dataclass(frozen=True)
class ProjectionReport:
    events_replayed: int
    rows_compared: int
    difference: str | None

    @property
    def ok(self) -> bool:
        return self.difference is None


def _row_digests(conn: sa.Connection, table: sa.Table) -> dict[tuple, str]:
    """Primary key -> a digest of the whole row, for every row of a table."""
    key_names = [c.name for c in table.primary_key.columns]
    result = {}
    for row in conn.execute(sa.select(table)).mappings():
        values = {str(k): (int(v) if isinstance(v, bool) else v) for k, v in row.items()}
        key = tuple(values[k] for k in key_names)
        result[key] = hashlib.sha256(orjson.dumps(values, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return result


def _first_difference(table: sa.Table, stored: dict, fresh: dict) -> str | None:
    for key in sorted(set(stored) | set(fresh), key=repr):
        if key not in fresh:
            return f"table {table.name}: row {key} is in the database but not in a fresh replay"
        if key not in stored:
            return f"table {table.name}: row {key} is missing from the database"
        if stored[key] != fresh[key]:
            return f"table {table.name}: row {key} differs from a fresh replay of the events"
    return None


def check_projections(store: EventStore, progress: Progress | None = None) -> ProjectionReport:
    """Replay the events into a fresh in-memory database and compare every projection row.

    The events and the projections are read from one consistent snapshot, up to the head
    read first, so writes committed meanwhile never look like a difference.
    """
    replica = create_engine("sqlite://")
    try:
        metadata.create_all(replica)  # a throwaway replica: the projection tables only
        with store.snapshot() as source, replica.begin() as target:
            head = store.head(source).position
            replayed = replay(
                target,
                store.iter_all(up_to_position=head, conn=source),
                progress=(lambda n: progress(n, head)) if progress else None,
            )
            compared = 0
            for table in PROJECTION_TABLES:
                stored, fresh = _row_digests(source, table), _row_digests(target, table)
                compared += len(stored)
                difference = _first_difference(table, stored, fresh)
                if difference:
                    return ProjectionReport(replayed, compared, difference)
        return ProjectionReport(replayed, compared, None)
    finally:
        replica.dispose()
