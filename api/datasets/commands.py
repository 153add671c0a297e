"""Dataset writes: each call is one commit, one new dataset version, all or nothing.

A write that would change nothing (equal records, tags already set, ids not there, ...)
appends no event and makes no version (API.md §4).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
import sqlalchemy as sa

from evalledger.datasets import reads
from evalledger.datasets.history import diff
from evalledger.datasets.labels import move_label
from evalledger.datasets.records import (
    DatasetRecordSource,
    RecordInput,
    RecordState,
    inputs_key,
    merge_batch,
)
from evalledger.datasets.records import (
    record_ids as mint_record_ids,
)
from evalledger.experiments import missing_experiments
from evalledger.ledger import (
    NO_STREAM,
    InvalidParameter,
    NewEvent,
    ResourceAlreadyExists,
    ResourceNotFound,
)
from evalledger.ledger.bulk import IN_LIST_CHUNK
from evalledger.ledger.memory import gc_paused
from evalledger.projections import event_types as et
from evalledger.projections.schema import dataset_records, valid_at
from evalledger.projections.unit_of_work import UnitOfWork, commit
from evalledger.session import Session

#: Records per event: a big merge is several events in one commit, each well under any
#: server's packet limit.
RECORDS_PER_EVENT = 5_000


def new_dataset_id() -> str:
    return "d-" + uuid.uuid4().hex


def _append(tx: UnitOfWork, dataset_id: str, events: Sequence[NewEvent]) -> None:
    expected = tx.stream_version(dataset_id)
    tx.append(
        dataset_id,
        events,
        NO_STREAM if expected is None else expected,
        stream_type=et.DATASET_STREAM,
    )


@contextmanager
def live_dataset(
    session: Session, dataset_id: str
) -> Iterator[tuple[UnitOfWork, reads.DatasetView]]:
    """A commit on a live dataset (ResourceNotFound when missing or deleted)."""
    with commit(session.store, session.user) as tx:
        view = reads.current(tx.conn, dataset_id=dataset_id)
        if view is None:
            raise not_live(tx.conn, dataset_id)
        yield tx, view


def not_live(conn: sa.Connection, dataset_id: str) -> ResourceNotFound:
    """The error for a write on a dataset that is missing, or deleted (which says so)."""
    if reads.current(conn, dataset_id=dataset_id, include_deleted=True) is None:
        return ResourceNotFound(f"dataset {dataset_id!r} does not exist")
    return ResourceNotFound(
        f"dataset {dataset_id!r} is deleted: undelete_dataset({dataset_id!r}) brings it back"
    )


def _check_experiments(conn: sa.Connection, experiment_ids: list[str]) -> None:
    missing = missing_experiments(conn, experiment_ids)
    if missing:
        raise ResourceNotFound(f"experiment(s) {', '.join(map(repr, missing))} do not exist")


def create(session: Session, name: str, experiment_ids: list[str], tags: dict[str, str]) -> str:
    dataset_id = new_dataset_id()
    with commit(session.store, session.user) as tx:
        if reads.current(tx.conn, name=name) is not None:
            raise ResourceAlreadyExists(f"a dataset named {name!r} already exists")
        _check_experiments(tx.conn, experiment_ids)
        payload = {
            "dataset_version": 0,
            "name": name,
            "experiment_ids": experiment_ids,
            "tags": tags,
        }
        _append(tx, dataset_id, [et.DATASET_CREATED.new(payload)])
    return dataset_id


def set_tags(session: Session, dataset_id: str, tags: dict[str, str]) -> None:
    """Set tags; tags that already have these values make no version."""
    with live_dataset(session, dataset_id) as (tx, view):
        if all(view.tags.get(k) == v for k, v in tags.items()):
            return
        payload = {"dataset_version": view.version + 1, "tags": tags}
        _append(tx, dataset_id, [et.DATASET_TAGS_SET.new(payload)])


def delete_tag(session: Session, dataset_id: str, key: str) -> None:
    """Delete a tag; a key the dataset does not have makes no version."""
    with live_dataset(session, dataset_id) as (tx, view):
        if key not in view.tags:
            return
        payload = {"dataset_version": view.version + 1, "key": key}
        _append(tx, dataset_id, [et.DATASET_TAG_DELETED.new(payload)])


def link(session: Session, dataset_id: str, experiment_ids: list[str]) -> None:
    """Link experiments (which must exist); ones already linked make no version."""
    with live_dataset(session, dataset_id) as (tx, view):
        _check_experiments(tx.conn, experiment_ids)
        new = [e for e in experiment_ids if e not in view.experiment_ids]
        if not new:
            return
        payload = {"dataset_version": view.version + 1, "experiment_ids": new}
        _append(tx, dataset_id, [et.DATASET_EXPERIMENTS_LINKED.new(payload)])


def unlink(session: Session, dataset_id: str, experiment_ids: list[str]) -> None:
    """Unlink experiments; ones not linked make no version."""
    with live_dataset(session, dataset_id) as (tx, view):
        gone = [e for e in experiment_ids if e in view.experiment_ids]
        if not gone:
            return
        payload = {"dataset_version": view.version + 1, "experiment_ids": gone}
        _append(tx, dataset_id, [et.DATASET_EXPERIMENTS_UNLINKED.new(payload)])


def delete(session: Session, dataset_id: str) -> None:
    with live_dataset(session, dataset_id) as (tx, view):
        payload = {"dataset_version": view.version + 1}
        _append(tx, dataset_id, [et.DATASET_DELETED.new(payload)])


def undelete(session: Session, dataset_id: str) -> None:
    """Bring a deleted dataset back as a new version, with the content it had when deleted.

    ResourceNotFound when there is no such dataset, InvalidParameter when it is not
    deleted, ResourceAlreadyExists when a live dataset has taken its name meanwhile.
    """
    with commit(session.store, session.user) as tx:
        view = reads.current(tx.conn, dataset_id=dataset_id, include_deleted=True)
        if view is None:
            raise ResourceNotFound(f"dataset {dataset_id!r} does not exist")
        if not view.deleted:
            raise InvalidParameter(
                f"dataset {view.name!r} ({dataset_id}) is not deleted: there is nothing to undelete"
            )
        if reads.current(tx.conn, name=view.name) is not None:
            raise ResourceAlreadyExists(
                f"cannot undelete dataset {dataset_id!r}: a live dataset is named {view.name!r}; "
                "rename or delete that one first"
            )
        payload = {"dataset_version": view.version + 1}
        _append(tx, dataset_id, [et.DATASET_UNDELETED.new(payload)])


def delete_records(session: Session, dataset_id: str, record_ids: list[str]) -> int:
    """Delete these records (ids not in the dataset are ignored); returns how many went.

    When none of them is in the dataset, nothing is written."""
    with live_dataset(session, dataset_id) as (tx, view):
        present = _present_record_ids(tx.conn, dataset_id, record_ids)
        gone = [r for r in dict.fromkeys(record_ids) if r in present]
        if not gone:
            return 0
        payload = {"dataset_version": view.version + 1, "record_ids": gone}
        _append(tx, dataset_id, [et.DATASET_RECORDS_DELETED.new(payload)])
    return len(gone)


def _present_record_ids(conn: sa.Connection, dataset_id: str, record_ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(record_ids), IN_LIST_CHUNK):
        chunk = record_ids[start : start + IN_LIST_CHUNK]
        found.update(
            conn.execute(
                sa.select(dataset_records.c.record_id).where(
                    dataset_records.c.dataset_id == dataset_id,
                    valid_at(None),
                    dataset_records.c.record_id.in_(chunk),
                )
            ).scalars()
        )
    return found


def merge(session: Session, dataset_id: str, incoming: list[RecordInput]) -> tuple[int, int]:
    """Merge validated records; returns (added, updated). (0, 0) writes nothing."""
    keys = [inputs_key(r.inputs) for r in incoming]
    with gc_paused(), live_dataset(session, dataset_id) as (tx, view):
        existing = _existing_by_hash(tx, dataset_id, list(dict.fromkeys(keys)))
        added, updated = merge_batch(
            existing,
            incoming,
            now_ms=tx.recorded_at,
            user=tx.user,
            next_seq=view.next_seq,
            keys=keys,
            record_id_factory=mint_record_ids(len(incoming), tx.recorded_at),
        )
        if not added and not updated:
            return 0, 0  # every record equals what is stored: no event, no version
        added_keys = [k for k in dict.fromkeys(keys) if k not in existing]
        hash_of = {state.record_id: key for key, state in existing.items()}
        version = view.version + 1
        records = [_payload(s, k) for s, k in zip(added, added_keys, strict=True)]
        records += [_payload(s, hash_of[s.record_id]) for s in updated]
        split = len(added)
        events = []
        for start in range(0, len(records), RECORDS_PER_EVENT):
            chunk = records[start : start + RECORDS_PER_EVENT]
            events.append(
                et.DATASET_RECORDS_MERGED.new(
                    {
                        "dataset_version": version,
                        "added": chunk[: max(0, split - start)],
                        "updated": chunk[max(0, split - start) :],
                    },
                    checked=True,  # every value came through normalize_records
                )
            )
        _append(tx, dataset_id, events)
    return len(added), len(updated)


def _payload(state: RecordState, key: str) -> dict[str, Any]:
    return {
        "record_id": state.record_id,
        "seq": state.seq,
        "inputs_hash": key,
        "inputs": state.inputs,
        "outputs": state.outputs,
        "expectations": state.expectations,
        "tags": state.tags,
        "source": state.source.to_dict(),
        "created_time": state.created_time,
        "created_by": state.created_by,
        "last_update_time": state.last_update_time,
        "last_updated_by": state.last_updated_by,
    }


def _existing_by_hash(tx: UnitOfWork, dataset_id: str, keys: list[str]) -> dict[str, RecordState]:
    """The current records whose inputs hash is among `keys` (one query per 5,000 keys).

    What it reads is handed to the fold, which then need not read it again.
    """
    conn = tx.conn
    cols = (
        dataset_records.c.inputs_hash,
        dataset_records.c.record_id,
        dataset_records.c.seq,
        dataset_records.c.body,
        dataset_records.c.created_time,
        dataset_records.c.created_by,
        dataset_records.c.last_update_time,
        dataset_records.c.last_updated_by,
        dataset_records.c.content_hash,
        dataset_records.c.source_type,
    )
    rows = []
    for start in range(0, len(keys), IN_LIST_CHUNK):
        chunk = keys[start : start + IN_LIST_CHUNK]
        rows.extend(
            conn.execute(
                sa.select(*cols).where(
                    dataset_records.c.dataset_id == dataset_id,
                    valid_at(None),
                    dataset_records.c.inputs_hash.in_(chunk),
                )
            ).all()
        )
    if not rows:
        return {}
    bodies = orjson.loads("[" + ",".join([r.body for r in rows]) + "]")
    tx.current_rows = {(dataset_id, r.record_id): (r.content_hash, r.source_type) for r in rows}
    existing = {}
    for row, body in zip(rows, bodies, strict=True):
        existing[row.inputs_hash] = RecordState(
            row.record_id,
            body["inputs"],
            body["outputs"],
            body["expectations"],
            body["tags"],
            DatasetRecordSource.from_dict(body["source"]),
            row.created_time,
            row.created_by,
            row.last_update_time,
            row.last_updated_by,
            row.seq,
        )
    return existing


def check_record_ids(record_ids: Any) -> list[str]:
    if isinstance(record_ids, str):
        record_ids = [record_ids]
    if not isinstance(record_ids, list | tuple) or not all(isinstance(r, str) for r in record_ids):
        raise InvalidParameter(f"record_ids must be a list of strings, got {record_ids!r}")
    return list(record_ids)


def restore(session: Session, dataset_id: str, version: int) -> None:
    """A new version whose records and tags equal `version`'s; nothing is erased.

    When the content already equals `version`'s, nothing is written."""

    with gc_paused(), live_dataset(session, dataset_id) as (tx, view):
        changes = diff(tx.conn, dataset_id, view.version, version)
        if changes.is_empty:
            return
        wanted = [r.dataset_record_id for r in changes.added] + [
            c.record_id for c in changes.changed
        ]
        targets = _rows_at(tx.conn, dataset_id, wanted, version)
        restored = [
            {**targets[record_id], "last_update_time": tx.recorded_at, "last_updated_by": tx.user}
            for record_id in wanted
        ]
        split = len(changes.added)
        common = {
            "dataset_version": view.version + 1,
            "detail": {"restored_from": version},
            "deleted_record_ids": [r.dataset_record_id for r in changes.removed],
            "tags_set": {k: new for k, (_, new) in changes.tags_changed.items() if new is not None},
            "tags_deleted": [k for k, (_, new) in changes.tags_changed.items() if new is None],
        }
        events = []
        for start in range(0, max(len(restored), 1), RECORDS_PER_EVENT):
            chunk = restored[start : start + RECORDS_PER_EVENT]
            payload = {
                **(
                    common
                    if start == 0
                    else {**common, "deleted_record_ids": [], "tags_set": {}, "tags_deleted": []}
                ),
                "added": chunk[: max(0, split - start)],
                "updated": chunk[max(0, split - start) :],
            }
            events.append(et.DATASET_RESTORED.new(payload, checked=True))
        _append(tx, dataset_id, events)


def _rows_at(
    conn: sa.Connection, dataset_id: str, record_ids: list[str], version: int
) -> dict[str, dict[str, Any]]:
    """The record payloads (as merge events carry them) of these records at a version."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(record_ids), IN_LIST_CHUNK):
        chunk = record_ids[start : start + IN_LIST_CHUNK]
        rows = conn.execute(
            sa.select(dataset_records).where(
                dataset_records.c.dataset_id == dataset_id,
                dataset_records.c.record_id.in_(chunk),
                valid_at(version),
            )
        ).all()
        for row in rows:
            body = orjson.loads(row.body)
            found[row.record_id] = {
                "record_id": row.record_id,
                "seq": row.seq,
                "inputs_hash": row.inputs_hash,
                **body,
                "created_time": row.created_time,
                "created_by": row.created_by,
                "last_update_time": row.last_update_time,
                "last_updated_by": row.last_updated_by,
            }
    return found


def label(session: Session, dataset_id: str, label_name: str, version: int | None) -> int:
    """Point a label at a version (default: the latest); returns the version."""

    if version is None:
        with session.connect() as conn:
            view = reads.current(conn, dataset_id=dataset_id)
        if view is None:
            raise ResourceNotFound(f"dataset {dataset_id!r} does not exist")
        version = view.version
    move_label(session, dataset_id, label_name, version)
    return version
