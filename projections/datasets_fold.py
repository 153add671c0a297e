"""Dataset events -> the current view, tags, experiment links, record versions, versions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from ledger import StoredEvent
from ledger.encoding import canonical_text

from . import digest
from . import event_types as et
from .dataset_state import DatasetState
from .records import record_row
from .schema import dataset_experiments, dataset_records, dataset_tags, dataset_versions, datasets

_CHUNK = 2000

Counts = dict[str, int]
Handler = Callable[[sa.Connection, DatasetState, StoredEvent, Counts], None]


def apply_commit(conn: sa.Connection, events: Sequence[StoredEvent]) -> None:
    """Apply the events of one dataset version (one commit on one dataset)."""
    first, last = events[0], events[-1]
    version = first.payload["dataset_version"]
    if first.event_type == et.DATASET_CREATED:
        state = _created(conn, first)
    else:
        loaded = DatasetState.load(conn, first.stream_id)
        if loaded is None:
            raise LookupError(f"{first.event_type} for unknown dataset {first.stream_id}")
        state = loaded
    counts: Counts = {"added": 0, "updated": 0, "deleted": 0}
    for event in events:
        handler = _HANDLERS.get(event.event_type)
        if handler is not None:
            handler(conn, state, event, counts)
    state.version = version
    state.last_update_time = last.recorded_at
    state.last_updated_by = last.metadata.get("user", "")
    row = state.row()
    if first.event_type == et.DATASET_CREATED:
        conn.execute(datasets.insert().values(row))
    else:
        conn.execute(datasets.update().where(datasets.c.dataset_id == state.dataset_id).values(row))
    conn.execute(
        dataset_versions.insert().values(
            dataset_id=state.dataset_id,
            version=version,
            operation=first.payload.get("operation") or et.OPERATIONS[first.event_type],
            user=first.metadata.get("user", ""),
            timestamp=first.recorded_at,
            position=last.position,
            records_added=counts["added"],
            records_updated=counts["updated"],
            records_deleted=counts["deleted"],
            num_records=state.num_records,
            digest=row["digest"],
            name=state.name,
            tags=row["tags"],
            experiment_ids=row["experiment_ids"],
            source_counts=row["source_counts"],
            detail=canonical_text(first.payload.get("detail") or {}),
            deleted=state.deleted,
        )
    )


def _created(conn: sa.Connection, event: StoredEvent) -> DatasetState:
    p = event.payload
    state = DatasetState(
        dataset_id=event.stream_id,
        name=p["name"],
        version=0,
        created_time=event.recorded_at,
        created_by=event.metadata.get("user", ""),
        last_update_time=event.recorded_at,
        last_updated_by=event.metadata.get("user", ""),
    )
    _set_tags(conn, state, p.get("tags") or {})
    _link(conn, state, p.get("experiment_ids") or [])
    return state


def _set_tags(conn: sa.Connection, state: DatasetState, tags: dict[str, str]) -> None:
    if not tags:
        return
    conn.execute(
        dataset_tags.delete().where(
            dataset_tags.c.dataset_id == state.dataset_id, dataset_tags.c.key.in_(list(tags))
        )
    )
    conn.execute(
        dataset_tags.insert(),
        [{"dataset_id": state.dataset_id, "key": k, "value": v} for k, v in tags.items()],
    )
    state.tags.update(tags)


def _link(conn: sa.Connection, state: DatasetState, experiment_ids: list[str]) -> None:
    new = [e for e in dict.fromkeys(experiment_ids) if e not in state.experiment_ids]
    if new:
        conn.execute(
            dataset_experiments.insert(),
            [{"dataset_id": state.dataset_id, "experiment_id": e} for e in new],
        )
        state.experiment_ids.extend(new)


def _on_tags_set(conn: sa.Connection, state: DatasetState, event: StoredEvent, _: Counts) -> None:
    _set_tags(conn, state, event.payload["tags"])


def _on_tag_deleted(
    conn: sa.Connection, state: DatasetState, event: StoredEvent, _: Counts
) -> None:
    key = event.payload["key"]
    conn.execute(
        dataset_tags.delete().where(
            dataset_tags.c.dataset_id == state.dataset_id, dataset_tags.c.key == key
        )
    )
    state.tags.pop(key, None)


def _on_linked(conn: sa.Connection, state: DatasetState, event: StoredEvent, _: Counts) -> None:
    _link(conn, state, event.payload["experiment_ids"])


def _on_unlinked(conn: sa.Connection, state: DatasetState, event: StoredEvent, _: Counts) -> None:
    gone = [e for e in event.payload["experiment_ids"] if e in state.experiment_ids]
    if gone:
        conn.execute(
            dataset_experiments.delete().where(
                dataset_experiments.c.dataset_id == state.dataset_id,
                dataset_experiments.c.experiment_id.in_(gone),
            )
        )
        state.experiment_ids = [e for e in state.experiment_ids if e not in gone]


def _current_rows(conn: sa.Connection, dataset_id: str, record_ids: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    cols = (
        dataset_records.c.record_id,
        dataset_records.c.content_hash,
        dataset_records.c.source_type,
    )
    for start in range(0, len(record_ids), _CHUNK):
        chunk = record_ids[start : start + _CHUNK]
        query = sa.select(*cols).where(
            dataset_records.c.dataset_id == dataset_id,
            dataset_records.c.valid_to.is_(None),
            dataset_records.c.record_id.in_(chunk),
        )
        for row in conn.execute(query):
            found[row.record_id] = row
    return found


def _close(conn: sa.Connection, dataset_id: str, version: int, record_ids: list[str]) -> None:
    """End the current version of these records at `version`."""
    for start in range(0, len(record_ids), _CHUNK):
        chunk = record_ids[start : start + _CHUNK]
        conn.execute(
            dataset_records.update()
            .where(
                dataset_records.c.dataset_id == dataset_id,
                dataset_records.c.valid_to.is_(None),
                dataset_records.c.record_id.in_(chunk),
            )
            .values(valid_to=version)
        )


def _on_merged(
    conn: sa.Connection, state: DatasetState, event: StoredEvent, counts: Counts
) -> None:
    p = event.payload
    version = p["dataset_version"]
    added, updated = p.get("added") or [], p.get("updated") or []
    rows = [record_row(state.dataset_id, version, r) for r in added]
    for row in rows:
        state.digest_sum = digest.add(state.digest_sum, row["content_hash"])
        state.source_counts[row["source_type"]] = state.source_counts.get(row["source_type"], 0) + 1
        state.next_seq = max(state.next_seq, row["seq"] + 1)
    if updated:
        ids = [r["record_id"] for r in updated]
        old = _current_rows(conn, state.dataset_id, ids)
        _close(conn, state.dataset_id, version, ids)
        for record in updated:
            row = record_row(state.dataset_id, version, record)
            state.digest_sum = digest.add(
                digest.remove(state.digest_sum, old[record["record_id"]].content_hash),
                row["content_hash"],
            )
            rows.append(row)
    if rows:
        conn.execute(dataset_records.insert(), rows)
    state.num_records += len(added)
    counts["added"] += len(added)
    counts["updated"] += len(updated)


def _on_records_deleted(
    conn: sa.Connection, state: DatasetState, event: StoredEvent, counts: Counts
) -> None:
    ids = event.payload["record_ids"]
    old = _current_rows(conn, state.dataset_id, ids)
    _close(conn, state.dataset_id, event.payload["dataset_version"], list(old))
    for row in old.values():
        state.digest_sum = digest.remove(state.digest_sum, row.content_hash)
        state.source_counts[row.source_type] -= 1
        if not state.source_counts[row.source_type]:
            del state.source_counts[row.source_type]
    state.num_records -= len(old)
    counts["deleted"] += len(old)


def _on_deleted(conn: sa.Connection, state: DatasetState, event: StoredEvent, _: Counts) -> None:
    state.deleted = True


_HANDLERS: dict[str, Handler] = {
    et.DATASET_TAGS_SET: _on_tags_set,
    et.DATASET_TAG_DELETED: _on_tag_deleted,
    et.DATASET_EXPERIMENTS_LINKED: _on_linked,
    et.DATASET_EXPERIMENTS_UNLINKED: _on_unlinked,
    et.DATASET_RECORDS_MERGED: _on_merged,
    et.DATASET_RECORDS_DELETED: _on_records_deleted,
    et.DATASET_DELETED: _on_deleted,
}
