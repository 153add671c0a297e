"""The fold: apply events to the projection tables. Live writes and rebuild share this code."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa

from evalledger.ledger import StoredEvent
from evalledger.ledger.bulk import insert_rows
from evalledger.ledger.encoding import canonical_text
from evalledger.ledger.memory import gc_paused
from evalledger.projections import event_types
from evalledger.projections.datasets_fold import CurrentRows, DatasetProjector
from evalledger.projections.schema import dataset_label_moves, experiments
from evalledger.projections.traces_fold import TraceProjector
from evalledger.projections.users_fold import UserProjector

#: Rebuild flushes its buffer once this many rows are waiting, counted every _CHECK_EVERY
#: events (counting costs more than applying a small event; an event adds at most one
#: event's worth of records, some thousands, so the buffer stays near the bound).
FLUSH_ROWS = 20_000
_CHECK_EVERY = 8


class Projector:
    """Every projection's share of the fold, behind one buffer."""

    def __init__(self, conn: sa.Connection, current_rows: CurrentRows | None = None) -> None:
        self.conn = conn
        self.datasets = DatasetProjector(conn, current_rows)
        self.traces = TraceProjector(conn)
        self.users = UserProjector(conn)
        self._experiments: list[dict[str, Any]] = []
        self._labels: list[dict[str, Any]] = []
        self._open_version: tuple[str, int] | None = None
        #: Events applied since the buffer was last counted (see _CHECK_EVERY).
        self.unchecked = 0

    @property
    def pending_rows(self) -> int:
        return (
            self.datasets.pending_rows
            + self.traces.pending_rows
            + len(self._experiments)
            + len(self._labels)
        )

    def apply_event(self, event: StoredEvent) -> None:
        """Apply the next event of a stream in position order: the events of one dataset
        version are one commit of the dataset projector, which may be flushed midway."""
        if event.stream_type == event_types.DATASET_STREAM:
            key = (event.stream_id, event.payload["dataset_version"])
            datasets = self.datasets
            if key != self._open_version:
                if self._open_version is not None:
                    datasets.end_commit()
                datasets.begin_commit(event)
                self._open_version = key
            datasets.apply_event(event)
            return
        self.finish()
        if event.stream_type == event_types.TRACE_STREAM:
            self.traces.apply(event)
        elif event.stream_type == event_types.USER_STREAM:
            self.users.apply(event)
        elif event.event_type == event_types.EXPERIMENT_CREATED:
            p = event.payload
            self._experiments.append(
                {
                    "experiment_id": p["experiment_id"],
                    "name": p["name"],
                    "tags": canonical_text(p.get("tags") or {}),
                    "creation_time": event.recorded_at,
                    "last_update_time": event.recorded_at,
                }
            )
        elif event.event_type == event_types.VERSION_LABELED:
            p = event.payload
            self._labels.append(
                {
                    "dataset_id": p["dataset_id"],
                    "label": p["label"],
                    "position": event.position,
                    "version": p["version"],
                    "timestamp": event.recorded_at,
                    "user": event.metadata.get("user", ""),
                }
            )

    def finish(self) -> None:
        """Close the dataset version being applied, if any (call before the last flush)."""
        if self._open_version is not None:
            self.datasets.end_commit()
            self._open_version = None

    def flush(self) -> None:
        insert_rows(self.conn, experiments, self._experiments)
        insert_rows(self.conn, dataset_label_moves, self._labels)
        self._experiments, self._labels = [], []
        self.datasets.flush()
        self.traces.flush()


def apply(
    conn: sa.Connection, events: Iterable[StoredEvent], current_rows: CurrentRows | None = None
) -> None:
    """Apply whole commits, in position order, to every projection.

    `current_rows` are the current record rows the writer read in the same transaction,
    so the fold need not read them again.
    """
    replay(conn, events, current_rows=current_rows)


def replay(
    conn: sa.Connection,
    events: Iterable[StoredEvent],
    *,
    flush_rows: int | None = FLUSH_ROWS,
    progress: Callable[[int], None] | None = None,
    current_rows: CurrentRows | None = None,
) -> int:
    """Apply a stream of events, flushing whenever `flush_rows` rows wait; returns the count.

    Events are taken one at a time and let go once applied, so memory stays bounded by
    the buffer however long the stream (and however big one commit in it) is.
    """
    with gc_paused():
        return _replay(conn, events, flush_rows, progress, current_rows)


def _replay(
    conn: sa.Connection,
    events: Iterable[StoredEvent],
    flush_rows: int | None,
    progress: Callable[[int], None] | None,
    current_rows: CurrentRows | None = None,
) -> int:
    projector = Projector(conn, current_rows)
    count = feed(projector, events, flush_rows, progress)
    projector.finish()
    projector.flush()
    if progress:
        progress(count)
    return count


def feed(
    projector: Projector,
    events: Iterable[StoredEvent],
    flush_rows: int | None = FLUSH_ROWS,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Apply events one by one, flushing whenever `flush_rows` rows wait (the caller
    finishes and flushes at the end); returns how many were applied."""
    count = 0
    unchecked = projector.unchecked  # kept across calls: a live write feeds one at a time
    apply_event = projector.apply_event
    for event in events:
        apply_event(event)
        count += 1
        unchecked += 1
        if unchecked < _CHECK_EVERY or flush_rows is None:
            continue
        unchecked = 0
        if projector.pending_rows >= flush_rows:
            projector.flush()
            if progress:
                progress(count)
    projector.unchecked = unchecked
    return count
