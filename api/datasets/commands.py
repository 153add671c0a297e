"""Dataset writes: each call is one commit, one new dataset version, all or nothing.

A write that would change nothing (equal records, tags already set, ids not there, ...)
appends no event and makes no version (API.md §4).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa

from evalledger.datasets import reads
from evalledger.datasets.entities import cached_source
from evalledger.datasets.history import diff
from evalledger.datasets.labels import move_label
from evalledger.datasets.packing import TooLarge, iter_events, pack_events
from evalledger.datasets.records import (
    DatasetRecordSource,
    RecordInput,
    RecordState,
    inputs_digest,
    merge_batch,
    new_record_state,
    record_id_list,
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
from evalledger.ledger.bulk import IN_LIST_CHUNK, among_bound
from evalledger.ledger.limits import BackendLimits
from evalledger.ledger.memory import gc_paused
from evalledger.oversize import record_too_large
from evalledger.projections import event_types as et
from evalledger.projections.records import lookup_key
from evalledger.projections.schema import current_by_id, dataset_records, valid_at
from evalledger.projections.unit_of_work import UnitOfWork, commit
from evalledger.session import Session
from evalledger.validation import check_tags_total, check_text, shown


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


@dataclass(frozen=True)
class NewDataset:
    """A dataset to create: checked name, experiment ids and tags."""

    name: str
    experiment_ids: list[str]
    tags: dict[str, str] = field(default_factory=dict)


def create(session: Session, name: str, experiment_ids: list[str], tags: dict[str, str]) -> str:
    dataset_id = new_dataset_id()
    with commit(session.store, session.user) as tx:
        _append_created(tx, dataset_id, NewDataset(name, experiment_ids, tags))
    return dataset_id


def _append_created(tx: UnitOfWork, dataset_id: str, new: NewDataset) -> reads.DatasetView:
    """Append the creation of `new` (ResourceAlreadyExists when a live dataset has its
    name); returns the view of the empty version 0 it makes."""
    if reads.current(tx.conn, name=new.name) is not None:
        raise ResourceAlreadyExists(f"a dataset named {new.name!r} already exists")
    _check_experiments(tx.conn, new.experiment_ids)
    check_tags_total(new.tags)
    payload = {
        "dataset_version": 0,
        "name": new.name,
        "experiment_ids": new.experiment_ids,
        "tags": new.tags,
    }
    _append(tx, dataset_id, [et.DATASET_CREATED.new(payload)])
    when, user = tx.recorded_at, tx.user
    return reads.DatasetView(dataset_id, new.name, 0, when, user, when, user)


@contextmanager
def _merge_target(
    session: Session, dataset_id: str, create: NewDataset | None
) -> Iterator[tuple[UnitOfWork, reads.DatasetView]]:
    """The commit of a merge: on the live dataset, or on the one `create` makes in it."""
    if create is None:
        with live_dataset(session, dataset_id) as found:
            yield found
        return
    with commit(session.store, session.user) as tx:
        yield tx, _append_created(tx, dataset_id, create)


def set_tags(session: Session, dataset_id: str, tags: dict[str, str]) -> None:
    """Set tags; tags that already have these values make no version."""
    with live_dataset(session, dataset_id) as (tx, view):
        if all(view.tags.get(k) == v for k, v in tags.items()):
            return
        check_tags_total({**view.tags, **tags})
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
        packed = pack_events(
            [("record_ids", gone)],
            {"dataset_version": view.version + 1},
            tx.limits,
            _never_too_large,
        )
        _append(tx, dataset_id, [et.DATASET_RECORDS_DELETED.new(p, encoded=d) for p, d in packed])
    return len(gone)


def _never_too_large(list_key: str, index: int, size: int) -> InvalidParameter:
    """Record ids in the dataset are short: one never fills an event."""
    return InvalidParameter(f"{list_key}[{index}]: {size:,} bytes is more than one event takes")


def _present_record_ids(conn: sa.Connection, dataset_id: str, record_ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(record_ids), IN_LIST_CHUNK):
        chunk = record_ids[start : start + IN_LIST_CHUNK]
        found.update(
            conn.execute(
                sa.select(dataset_records.c.record_id).where(
                    dataset_records.c.dataset_id == dataset_id,
                    current_by_id(),
                    dataset_records.c.record_id.in_(chunk),
                )
            ).scalars()
        )
    return found


def merge(
    session: Session,
    dataset_id: str,
    incoming: list[RecordInput],
    *,
    create: NewDataset | None = None,
) -> tuple[int, int]:
    """Merge validated records; returns (added, updated). (0, 0) writes nothing.

    With `create`, the dataset `dataset_id` is created in the same commit as the records:
    both land, or neither (ResourceAlreadyExists when its name is taken)."""
    keys = [inputs_digest(r.inputs) for r in incoming]  # 32-byte digests: half of hex
    with gc_paused(), _merge_target(session, dataset_id, create) as (tx, view):
        distinct = list(dict.fromkeys(keys))
        # an empty dataset has no record to look up (a new dataset, a first bulk load)
        existing = _existing_by_hash(tx, dataset_id, distinct) if view.num_records else {}
        all_new = not existing and len(distinct) == len(keys)  # none stored, none twice
        del distinct
        if all_new:  # a bulk load
            lists = _all_new(incoming, keys, tx, view.next_seq)
        else:
            lists = _merged(existing, incoming, keys, tx, view.next_seq)
        if not lists["added"] and not lists["updated"]:
            return 0, 0  # every record equals what is stored: no event, no version
        # every value came through normalize_records; events are split by bytes, and each
        # is appended and folded as soon as it is full, then let go (one commit still)
        for payload, data in iter_events(
            list(lists.items()),
            {"dataset_version": view.version + 1},
            tx.limits,
            _too_large(lists, keys, tx.limits),
        ):
            _append(tx, dataset_id, [et.DATASET_RECORDS_MERGED.new(payload, encoded=data)])
            tx.fold_appended()
    return len(lists["added"]), len(lists["updated"])


class _Payloads(Sequence[dict[str, Any]]):
    """The records of merge events, built from their states when read: a million payload
    dicts at once would hold a gigabyte, and a merge reads an event's worth at a time."""

    def __init__(
        self, count: int, state_at: Callable[[int], RecordState], key_at: Callable[[int], str]
    ) -> None:
        self._count, self._state_at, self._key_at = count, state_at, key_at

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if not -self._count <= index < self._count:
            raise IndexError(index)
        index %= self._count
        return _payload(self._state_at(index), self._key_at(index))


def _all_new(
    incoming: list[RecordInput], keys: list[bytes], tx: UnitOfWork, next_seq: int
) -> dict[str, _Payloads]:
    """Every record is new and distinct: what merge_batch would make of them, each state
    built only when its event is (never a million states at once)."""
    ids = record_id_list(len(incoming), tx.recorded_at)
    now, user = tx.recorded_at, tx.user

    def state_at(i: int) -> RecordState:
        return new_record_state(incoming[i], ids[i], now, user, next_seq + i)

    def key_at(i: int) -> str:
        return keys[i].hex()

    return {
        "added": _Payloads(len(incoming), state_at, key_at),
        "updated": _Payloads(0, state_at, key_at),
    }


def _merged(
    existing: dict[bytes, RecordState],
    incoming: list[RecordInput],
    keys: list[bytes],
    tx: UnitOfWork,
    next_seq: int,
) -> dict[str, _Payloads]:
    """Records that update stored ones or repeat in the batch: merge_batch decides."""
    added, updated = merge_batch(
        existing,
        incoming,
        now_ms=tx.recorded_at,
        user=tx.user,
        next_seq=next_seq,
        keys=keys,
        record_id_factory=mint_record_ids(len(incoming), tx.recorded_at),
    )
    added_keys = [k.hex() for k in dict.fromkeys(keys) if k not in existing]
    hash_of = {state.record_id: key.hex() for key, state in existing.items()}
    updated_keys = [hash_of[s.record_id] for s in updated]
    return {
        "added": _Payloads(len(added), added.__getitem__, added_keys.__getitem__),
        "updated": _Payloads(len(updated), updated.__getitem__, updated_keys.__getitem__),
    }


def _too_large(lists: dict[str, _Payloads], keys: list[bytes], limits: BackendLimits) -> TooLarge:
    """The error for a merged record over the size limit, naming the first incoming
    record with its inputs."""

    def error(list_key: str, index: int, size: int) -> InvalidParameter:
        record = lists[list_key][index]
        first = keys.index(bytes.fromhex(record["inputs_hash"]))
        return record_too_large(first, record, size, limits)

    return error


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


def _existing_by_hash(
    tx: UnitOfWork, dataset_id: str, keys: list[bytes]
) -> dict[bytes, RecordState]:
    """The current records whose inputs digest is among `keys` (one query per 5,000 keys),
    by digest.

    They are found by lookup key (ix_dataset_records_lookup, the one indexed condition,
    so every planner goes by it), then kept only when the dataset and the whole digest
    match. What it reads is handed to the fold, which then need not read it again.
    """
    conn = tx.conn
    cols = (
        dataset_records.c.dataset_id,
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
    current: dict[tuple[str, str], tuple[str, str]] = {}
    existing: dict[bytes, RecordState] = {}
    # one statement, its keys bound per chunk: a statement built around each chunk would
    # keep the chunk alive in SQLAlchemy's reference cycles while the GC is paused
    among, bound = among_bound(dataset_records.c.lookup_key, "keys", conn.dialect.name)
    query = sa.select(*cols).where(among, current_by_id())
    for start in range(0, len(keys), IN_LIST_CHUNK):
        wanted = {k.hex() for k in keys[start : start + IN_LIST_CHUNK]}
        found = conn.execute(query, {"keys": bound([lookup_key(dataset_id, h) for h in wanted])})
        rows = [r for r in found.all() if r.dataset_id == dataset_id and r.inputs_hash in wanted]
        if rows:
            _add_states(existing, current, dataset_id, rows)
    if current:
        tx.current_rows = current
    return existing


def _add_states(
    existing: dict[bytes, RecordState],
    current: dict[tuple[str, str], tuple[str, str]],
    dataset_id: str,
    rows: Sequence[Any],
) -> None:
    """The states of stored records (a chunk of rows, their bodies decoded at once)."""
    bodies = orjson.loads("[" + ",".join([r.body for r in rows]) + "]")
    sources: dict[Any, DatasetRecordSource] = {}  # stored sources repeat: parsed once each
    for row, body in zip(rows, bodies, strict=True):
        current[(dataset_id, row.record_id)] = (row.content_hash, row.source_type)
        existing[bytes.fromhex(row.inputs_hash)] = RecordState(
            row.record_id,
            body["inputs"],
            body["outputs"],
            body["expectations"],
            body["tags"],
            cached_source(body["source"], sources),
            row.created_time,
            row.created_by,
            row.last_update_time,
            row.last_updated_by,
            row.seq,
        )


def check_record_ids(record_ids: Any) -> list[str]:
    if isinstance(record_ids, str):
        record_ids = [record_ids]
    if not isinstance(record_ids, list | tuple) or not all(isinstance(r, str) for r in record_ids):
        raise InvalidParameter(f"record_ids must be a list of strings, got {shown(record_ids)}")
    return [check_text(r, "record_ids") for r in record_ids]


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
        tags = {
            "tags_set": {k: new for k, (_, new) in changes.tags_changed.items() if new is not None},
            "tags_deleted": [k for k, (_, new) in changes.tags_changed.items() if new is None],
        }
        for payload, data in iter_events(
            [
                ("deleted_record_ids", [r.dataset_record_id for r in changes.removed]),
                ("added", restored[:split]),
                ("updated", restored[split:]),
            ],
            {"dataset_version": view.version + 1, "detail": {"restored_from": version}},
            tx.limits,
            _restored_too_large(restored, split, tx.limits),
            first_fields=tags,
            later_fields={"tags_set": {}, "tags_deleted": []},
        ):  # each event appended and folded as it is full (one commit)
            _append(tx, dataset_id, [et.DATASET_RESTORED.new(payload, encoded=data)])
            tx.fold_appended()


def _restored_too_large(
    restored: list[dict[str, Any]], split: int, limits: BackendLimits
) -> TooLarge:
    """The error for a stored record too large for this database to take again."""

    def error(list_key: str, index: int, size: int) -> InvalidParameter:
        record = restored[index if list_key == "added" else split + index]
        return InvalidParameter(
            f"record {record['record_id']}: the record is {size:,} bytes as JSON as sent to "
            f"the database; {limits.describe()}, so it cannot be restored here"
        )

    return error


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
