"""The fold: apply events to the projection tables. Live writes and rebuild share this code."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import groupby
from typing import Any

import sqlalchemy as sa

from ledger import StoredEvent
from ledger.encoding import canonical_text

from . import datasets_fold, event_types
from .schema import experiments


def commit_groups(events: Iterable[StoredEvent]) -> Iterator[list[StoredEvent]]:
    """Consecutive events that make one dataset version (or one other event) together."""
    for _, group in groupby(events, key=_group_key):
        yield list(group)


def _group_key(event: StoredEvent) -> Any:
    if event.stream_type == event_types.DATASET_STREAM:
        return (event.stream_id, event.payload["dataset_version"])
    return event.position


def apply(conn: sa.Connection, events: Sequence[StoredEvent]) -> None:
    """Apply events (whole commits, in position order) to every projection."""
    for group in commit_groups(events):
        first = group[0]
        if first.stream_type == event_types.DATASET_STREAM:
            datasets_fold.apply_commit(conn, group)
        elif first.event_type == event_types.EXPERIMENT_CREATED:
            _experiment_created(conn, first)


def _experiment_created(conn: sa.Connection, event: StoredEvent) -> None:
    p = event.payload
    conn.execute(
        experiments.insert().values(
            experiment_id=p["experiment_id"],
            name=p["name"],
            tags=canonical_text(p.get("tags") or {}),
            creation_time=event.recorded_at,
            last_update_time=event.recorded_at,
        )
    )
