"""The fold: apply events to the projection tables. Live writes and rebuild share this code."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import groupby
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

#: Rebuild flushes its buffer once this many rows are waiting.
FLUSH_ROWS = 20_000


def commit_groups(events: Iterable[StoredEvent]) -> Iterator[list[StoredEvent]]:
    """Consecutive events that make one dataset version (or one other event) together."""
    for _, group in groupby(events, key=_group_key):
        yield list(group)


def _group_key(event: StoredEvent) -> Any:
    if event.stream_type == event_types.DATASET_STREAM:
        return (event.stream_id, event.payload["dataset_version"])
    return event.position


class Projector:
    """Every projection's share of the fold, behind one buffer."""

    def __init__(self, conn: sa.Connection, current_rows: CurrentRows | None = None) -> None:
        self.conn = conn
        self.datasets = DatasetProjector(conn, current_rows)
        self.traces = TraceProjector(conn)
        self.users = UserProjector(conn)
        self._experiments: list[dict[str, Any]] = []
        self._labels: list[dict[str, Any]] = []

    @property
    def pending_rows(self) -> int:
        return (
            self.datasets.pending_rows
            + self.traces.pending_rows
            + len(self._experiments)
            + len(self._labels)
        )

    def apply_group(self, group: list[StoredEvent]) -> None:
        first = group[0]
        if first.stream_type == event_types.DATASET_STREAM:
            self.datasets.apply_commit(group)
        elif first.stream_type == event_types.TRACE_STREAM:
            for event in group:
                self.traces.apply(event)
        elif first.stream_type == event_types.USER_STREAM:
            for event in group:
                self.users.apply(event)
        elif first.event_type == event_types.EXPERIMENT_CREATED:
            p = first.payload
            self._experiments.append(
                {
                    "experiment_id": p["experiment_id"],
                    "name": p["name"],
                    "tags": canonical_text(p.get("tags") or {}),
                    "creation_time": first.recorded_at,
                    "last_update_time": first.recorded_at,
                }
            )
        elif first.event_type == event_types.VERSION_LABELED:
            p = first.payload
            self._labels.append(
                {
                    "dataset_id": p["dataset_id"],
                    "label": p["label"],
                    "position": first.position,
                    "version": p["version"],
                    "timestamp": first.recorded_at,
                    "user": first.metadata.get("user", ""),
                }
            )

    def flush(self) -> None:
        insert_rows(self.conn, experiments, self._experiments)
        insert_rows(self.conn, dataset_label_moves, self._labels)
        self._experiments, self._labels = [], []
        self.datasets.flush()
        self.traces.flush()


def apply(
    conn: sa.Connection, events: Iterable[StoredEvent], current_rows: CurrentRows | None = None
) -> None:
    """Apply whole commits, in position order, to every projection (one flush at the end).

    `current_rows` are the current record rows the writer read in the same transaction,
    so the fold need not read them again.
    """
    replay(conn, events, flush_rows=None, current_rows=current_rows)


def replay(
    conn: sa.Connection,
    events: Iterable[StoredEvent],
    *,
    flush_rows: int | None = FLUSH_ROWS,
    progress: Callable[[int], None] | None = None,
    current_rows: CurrentRows | None = None,
) -> int:
    """Apply a stream of events, flushing whenever `flush_rows` rows wait; returns the count."""
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
    count = 0
    for group in commit_groups(events):
        projector.apply_group(group)
        count += len(group)
        if flush_rows is not None and projector.pending_rows >= flush_rows:
            projector.flush()
            if progress:
                progress(count)
    projector.flush()
    if progress:
        progress(count)
    return count
