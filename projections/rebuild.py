"""Rebuild every projection from the events, and check the projections against a replay."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from evalledger.ledger import EventStore, create_engine
from evalledger.projections.compare import first_difference, table_sums
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


def check_projections(store: EventStore, progress: Progress | None = None) -> ProjectionReport:
    """Replay the events into a throwaway database and compare every projection row.

    The events and the projections are read from one consistent snapshot, up to the head
    read first, so writes committed meanwhile never look like a difference. The replica
    is a SQLite file in the system's temp directory (removed afterwards), and tables are
    compared by sums of row digests (projections/compare.py), so memory stays flat
    however large the ledger; the temp directory needs room for a copy of the
    projections.
    """
    with _replica() as replica, store.snapshot() as source, replica.begin() as target:
        head = store.head(source).position
        replayed = replay(
            target,
            store.iter_all(up_to_position=head, conn=source),
            progress=(lambda n: progress(n, head)) if progress else None,
        )
        compared = 0
        for table in PROJECTION_TABLES:
            stored, fresh = table_sums(source, table), table_sums(target, table)
            compared += stored.rows
            difference = first_difference(table, source, target, stored, fresh)
            if difference:
                return ProjectionReport(replayed, compared, difference)
    return ProjectionReport(replayed, compared, None)


@contextmanager
def _replica() -> Iterator[sa.Engine]:
    """An empty SQLite file with the projection tables, tuned for one throwaway write
    (no journal, no syncs, a 64 MB page cache), deleted on exit."""
    handle, name = tempfile.mkstemp(prefix="evalledger-check-", suffix=".db")
    os.close(handle)
    path = Path(name)
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _throwaway(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-65536"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    try:
        metadata.create_all(engine)  # the projection tables only
        yield engine
    finally:
        engine.dispose()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
