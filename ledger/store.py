"""The event store: append with an expected version, and read by stream, position or time."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from typing import Any

import orjson
import sqlalchemy as sa

from evalledger.ledger import writer_lock
from evalledger.ledger.bulk import IN_LIST_CHUNK, insert_rows
from evalledger.ledger.encoding import canonical_bytes, canonical_text, loads
from evalledger.ledger.engine import WRITE_OPTION, read_snapshot
from evalledger.ledger.errors import ConcurrencyConflict, InvalidParameter, LedgerError
from evalledger.ledger.events import ANY, NO_STREAM, ExpectedVersion, NewEvent, StoredEvent
from evalledger.ledger.hashing import event_hash
from evalledger.ledger.identity import now_ms
from evalledger.ledger.ids import uuid7_strings
from evalledger.ledger.limits import PAYLOAD_NESTING, BackendLimits, backend_limits
from evalledger.ledger.pages import PageSizer
from evalledger.ledger.schema import events, ledger_head
from evalledger.ledger.upcasting import UpcasterRegistry, upcasters

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Head:
    """The end of the chain: last position, its hash, and its time."""

    position: int
    hash: str
    recorded_at: int


#: Where the events columns (StoredEvent's fields, in the same order) are in a row.
_TYPE, _SCHEMA, _PAYLOAD, _METADATA = 5, 6, 7, 8
assert [c.name for c in events.columns] == [f.name for f in dataclass_fields(StoredEvent)]


def _row_to_event(
    row: Any, registry: UpcasterRegistry, metadata: dict[str, Any] | None = None
) -> StoredEvent:
    """The stored event of an events row (its columns in table order). `metadata` is the
    decoded metadata when the caller already has it (the events of one commit share it)."""
    fields = list(row)
    payload = loads(fields[_PAYLOAD])
    if fields[_TYPE] in registry.upcast_types:
        fields[_SCHEMA], payload = registry.upcast(fields[_TYPE], fields[_SCHEMA], payload)
    fields[_PAYLOAD] = payload
    fields[_METADATA] = loads(fields[_METADATA]) if metadata is None else metadata
    return _new_event(fields)


#: The slots of StoredEvent's fields, in order: their setters.
_SLOT_SETTERS = tuple(getattr(StoredEvent, f.name).__set__ for f in dataclass_fields(StoredEvent))


def _new_event(fields: list[Any]) -> StoredEvent:
    """StoredEvent(*fields), its slots set directly: the frozen __init__ goes through
    object.__setattr__ for each field, which costs twice as much."""
    event = object.__new__(StoredEvent)
    # as long as the fields (asserted above for the events columns); strict costs 10%
    for set_slot, value in zip(_SLOT_SETTERS, fields):  # noqa: B905
        set_slot(event, value)
    return event


def _encode_payload(event: NewEvent, where: str, limits: BackendLimits) -> str:
    """The payload's canonical JSON; InvalidParameter when it is more than one event of
    this database takes (checked before anything is sent)."""
    if event.encoded is not None:
        data = event.encoded
    elif event.checked:
        data = orjson.dumps(event.payload, option=orjson.OPT_SORT_KEYS)
    else:
        data = canonical_bytes(event.payload, where, PAYLOAD_NESTING)
    if not limits.fits(data, limits.max_event_bytes):
        raise InvalidParameter(
            f"{where} is {limits.sent_bytes(data):,} bytes as sent to the database, more than "
            f"one event takes: {limits.describe()}, which leaves {limits.max_event_bytes:,}"
        )
    return data.decode()


def _expected_matches(expected: ExpectedVersion, current: int | None) -> bool:
    if expected == ANY:
        return True
    if expected == NO_STREAM:
        return current is None
    return current == expected


def _check_expected(expected: ExpectedVersion) -> None:
    if expected in (ANY, NO_STREAM):
        return
    if type(expected) is not int or expected < 0:
        raise InvalidParameter(
            f"expected_version must be an int >= 0, {NO_STREAM!r} or {ANY!r}, not {expected!r}"
        )


class WriteTransaction:
    """One atomic commit: appends made through it land together or not at all.

    The ledger head is locked for the whole transaction, so writers are serialized and
    positions follow commit order.
    """

    def __init__(
        self,
        conn: sa.Connection,
        head: Head,
        registry: UpcasterRegistry,
        user: str | None,
        metadata: dict[str, Any] | None,
    ) -> None:
        self.conn = conn
        self.head = head
        self.appended: list[StoredEvent] = []
        self._registry = registry
        self._versions: dict[str, int | None] = {}
        self._recorded_at = max(now_ms(), head.recorded_at)
        self._metadata: dict[str, Any] = {"commit_id": uuid.uuid4().hex, **(metadata or {})}
        if user:
            self._metadata["user"] = user

    @property
    def user(self) -> str:
        """The acting user recorded on this commit's events ("" when none was given)."""
        return self._metadata.get("user", "")

    @property
    def recorded_at(self) -> int:
        """The time (ms) every event of this commit carries."""
        return self._recorded_at

    @property
    def limits(self) -> BackendLimits:
        """What this database takes (read once per engine)."""
        return backend_limits(self.conn)

    def _encode(self, event: NewEvent, where: str) -> str:
        return _encode_payload(event, where, self.limits)

    def stream_version(self, stream_id: str) -> int | None:
        """The stream's last version as this transaction sees it, None if it has no events."""
        if stream_id not in self._versions:
            self._versions[stream_id] = self.conn.execute(
                sa.select(sa.func.max(events.c.version)).where(events.c.stream_id == stream_id)
            ).scalar()
        return self._versions[stream_id]

    def append(
        self,
        stream_id: str,
        new_events: Sequence[NewEvent],
        expected_version: ExpectedVersion,
        *,
        stream_type: str = "stream",
        metadata: dict[str, Any] | None = None,
    ) -> list[StoredEvent]:
        """Append a batch to one stream. Re-sending events already stored returns them."""
        _check_expected(expected_version)
        if not new_events:
            raise InvalidParameter("append needs at least one event")
        given_ids = [e.event_id for e in new_events if e.event_id is not None]
        if len(set(given_ids)) != len(given_ids):
            raise InvalidParameter("the batch names the same event_id twice")
        event_meta = {**self._metadata, **(metadata or {}), "time_ms": self._recorded_at}
        meta_text = canonical_text(event_meta, "metadata")
        encoded = [
            (e, self._encode(e, f"{stream_id} event {i} ({e.event_type}) payload"))
            for i, e in enumerate(new_events)
        ]
        if given_ids:
            stored = self._already_stored(stream_id, encoded, expected_version)
            if stored is not None:
                return stored
        current = self.stream_version(stream_id)
        if not _expected_matches(expected_version, current):
            shown = "no stream" if current is None else current
            raise ConcurrencyConflict(
                f"stream {stream_id!r} is at version {shown}, expected {expected_version}"
            )
        rows = self._chain(stream_id, stream_type, encoded, current, meta_text)
        insert_rows(self.conn, events, rows)
        self._versions[stream_id] = rows[-1]["version"]
        stored = [
            self._stored(row, event_meta, e) for row, (e, _) in zip(rows, encoded, strict=True)
        ]
        self.appended.extend(stored)
        return stored

    def append_to_streams(
        self,
        batches: Sequence[tuple[str, Sequence[NewEvent], ExpectedVersion]],
        *,
        stream_type: str = "stream",
        metadata: dict[str, Any] | None = None,
    ) -> list[StoredEvent]:
        """Append fresh events (no event_id given) to many streams at once: one query for
        the streams' versions and one insert, instead of two statements per stream."""
        if any(e.event_id is not None for _, evs, _ in batches for e in evs):
            raise InvalidParameter("append_to_streams takes fresh events; re-send with append()")
        unknown = list(dict.fromkeys(sid for sid, _, _ in batches if sid not in self._versions))
        for start in range(0, len(unknown), IN_LIST_CHUNK):
            chunk = unknown[start : start + IN_LIST_CHUNK]
            self._versions.update(dict.fromkeys(chunk))
            found = self.conn.execute(
                sa.select(events.c.stream_id, sa.func.max(events.c.version))
                .where(events.c.stream_id.in_(chunk))
                .group_by(events.c.stream_id)
            ).all()
            self._versions.update({sid: version for sid, version in found})
        event_meta = {**self._metadata, **(metadata or {}), "time_ms": self._recorded_at}
        meta_text = canonical_text(event_meta, "metadata")
        rows: list[dict[str, Any]] = []
        fresh: list[NewEvent] = []
        for stream_id, new_events, expected in batches:
            _check_expected(expected)
            if not new_events:
                raise InvalidParameter(f"append to {stream_id!r} needs at least one event")
            current = self._versions[stream_id]
            if not _expected_matches(expected, current):
                shown = "no stream" if current is None else current
                raise ConcurrencyConflict(
                    f"stream {stream_id!r} is at version {shown}, expected {expected}"
                )
            encoded = [
                (e, self._encode(e, f"{stream_id} event {i} ({e.event_type}) payload"))
                for i, e in enumerate(new_events)
            ]
            chained = self._chain(stream_id, stream_type, encoded, current, meta_text)
            self._versions[stream_id] = chained[-1]["version"]
            rows.extend(chained)
            fresh.extend(new_events)
        insert_rows(self.conn, events, rows)
        stored = [self._stored(row, event_meta, e) for row, e in zip(rows, fresh, strict=True)]
        self.appended.extend(stored)
        return stored

    def _chain(
        self,
        stream_id: str,
        stream_type: str,
        encoded: list[tuple[NewEvent, str]],
        current: int | None,
        meta_text: str,
    ) -> list[dict[str, Any]]:
        position, prev = self.head.position, self.head.hash
        version = -1 if current is None else current
        fresh_ids = iter(
            uuid7_strings(sum(1 for e, _ in encoded if e.event_id is None), self._recorded_at)
        )
        rows = []
        for e, payload_text in encoded:
            position += 1
            version += 1
            schema_version = e.schema_version or self._registry.current_version(e.event_type)
            row = {
                "position": position,
                "event_id": e.event_id or next(fresh_ids),
                "stream_type": stream_type,
                "stream_id": stream_id,
                "version": version,
                "event_type": e.event_type,
                "schema_version": schema_version,
                "payload": payload_text,
                "metadata": meta_text,
                "recorded_at": self._recorded_at,
                "prev_hash": prev,
            }
            prev = row["hash"] = event_hash(
                prev,
                position,
                row["event_id"],
                stream_type,
                stream_id,
                version,
                e.event_type,
                schema_version,
                payload_text,
                meta_text,
                self._recorded_at,
            )
            rows.append(row)
        self.head = Head(position, prev, self._recorded_at)
        return rows

    def _stored(self, row: dict[str, Any], meta: dict[str, Any], new: NewEvent) -> StoredEvent:
        return StoredEvent(
            position=row["position"],
            event_id=row["event_id"],
            stream_type=row["stream_type"],
            stream_id=row["stream_id"],
            version=row["version"],
            event_type=row["event_type"],
            schema_version=row["schema_version"],
            payload=new.payload,
            metadata=meta,
            recorded_at=row["recorded_at"],
            prev_hash=row["prev_hash"],
            hash=row["hash"],
        )

    def _already_stored(
        self,
        stream_id: str,
        encoded: list[tuple[NewEvent, str]],
        expected: ExpectedVersion,
    ) -> list[StoredEvent] | None:
        """The stored copies when the whole batch was appended before; None when none was."""
        ids = [e.event_id for e, _ in encoded if e.event_id is not None]
        found: dict[str, Any] = {}
        for start in range(0, len(ids), IN_LIST_CHUNK):
            chunk = ids[start : start + IN_LIST_CHUNK]
            for row in self.conn.execute(sa.select(events).where(events.c.event_id.in_(chunk))):
                found[row.event_id] = row
        if not found:
            return None
        first_version = {ANY: None, NO_STREAM: 0}.get(expected)
        if type(expected) is int:
            first_version = expected + 1
        for i, (e, payload_text) in enumerate(encoded):
            row = found.get(e.event_id) if e.event_id else None
            if row is None:
                continue
            if not (
                row.stream_id == stream_id
                and row.event_type == e.event_type
                and row.payload == payload_text
                and (first_version is None or row.version == first_version + i)
            ):
                raise ConcurrencyConflict(
                    f"event {i}: event_id {e.event_id!r} is already stored with other content "
                    f"(stream {row.stream_id!r}, version {row.version}, type {row.event_type!r})"
                )
        if len(found) != len(encoded):
            raise ConcurrencyConflict(
                f"the batch re-sends stored events ({', '.join(sorted(found)[:3])}) together "
                "with new ones: a batch is re-sent only whole and unchanged"
            )
        return [_row_to_event(found[e.event_id], self._registry) for e, _ in encoded]

    def write_head(self) -> None:
        self.conn.execute(
            ledger_head.update()
            .where(ledger_head.c.id == 1)
            .values(
                position=self.head.position, hash=self.head.hash, recorded_at=self.head.recorded_at
            )
        )


class EventStore:
    """Append-only, hash-chained events in one SQL table."""

    def __init__(self, engine: sa.Engine, registry: UpcasterRegistry = upcasters) -> None:
        self.engine = engine
        self.registry = registry
        #: Called with the new head after each commit that appended events (the server's
        #: checkpointer counts commits this way). A listener's error is logged, never raised:
        #: the commit it hears about has already happened.
        self.commit_listeners: list[Callable[[Head], None]] = []

    @contextmanager
    def transaction(
        self, *, user: str | None = None, metadata: dict[str, Any] | None = None
    ) -> Iterator[WriteTransaction]:
        """Open one atomic commit holding the writer lock; commit on exit, roll back on error.

        `user` is recorded in every event's metadata; the ledger never guesses it.
        """
        with self.engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with writer_lock.write_transaction(conn) as locked:
                head = _head_of(locked)
                tx = WriteTransaction(conn, head, self.registry, user, metadata)
                yield tx
                if tx.head.position != head.position:  # appended (the fold may drain appended)
                    tx.write_head()
        if tx.head.position != head.position:
            self._committed(tx.head)

    def _committed(self, head: Head) -> None:
        for listener in list(self.commit_listeners):
            try:
                listener(head)
            except Exception:
                _log.exception("a commit listener failed after commit %s", head.position)

    def append(
        self,
        stream_id: str,
        new_events: Sequence[NewEvent],
        expected_version: ExpectedVersion,
        *,
        stream_type: str = "stream",
        metadata: dict[str, Any] | None = None,
        user: str | None = None,
    ) -> list[StoredEvent]:
        """Append a batch to one stream in its own commit."""
        with self.transaction(user=user) as tx:
            return tx.append(
                stream_id, new_events, expected_version, stream_type=stream_type, metadata=metadata
            )

    def head(self, conn: sa.Connection | None = None) -> Head:
        """The end of the chain (on `conn` when given, e.g. inside a snapshot)."""
        if conn is not None:
            return _read_head(conn)
        with self.engine.connect() as own:
            return _read_head(own)

    def snapshot(self) -> AbstractContextManager[sa.Connection]:
        """A read-only connection on one consistent snapshot (see engine.read_snapshot)."""
        return read_snapshot(self.engine)

    def read_stream(
        self, stream_id: str, *, up_to_version: int | None = None, after_version: int | None = None
    ) -> list[StoredEvent]:
        """A stream's events in version order, optionally cut at a version (inclusive)."""
        query = sa.select(events).where(events.c.stream_id == stream_id)
        if up_to_version is not None:
            query = query.where(events.c.version <= up_to_version)
        if after_version is not None:
            query = query.where(events.c.version > after_version)
        return self._fetch(query.order_by(events.c.version))

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """One page of events after a position, in position order."""
        query = (
            sa.select(events)
            .where(events.c.position > after_position)
            .order_by(events.c.position)
            .limit(limit)
        )
        return self._fetch(query)

    def iter_all(
        self,
        after_position: int = 0,
        *,
        until_time_ms: int | None = None,
        up_to_position: int | None = None,
        page_size: int = 10_000,
        conn: sa.Connection | None = None,
    ) -> Iterator[StoredEvent]:
        """Every event after a position, page by page; optionally only those up to a time
        or up to a position (inclusive).

        Pages hold at most `page_size` events and about PAGE_BYTES of payload, and each
        event is decoded only when it is reached, so a walk of any ledger holds one page.
        With `conn`, pages are read on that connection (inside its transaction).
        """
        sizer = PageSizer(page_size)
        while True:
            asked = sizer.rows
            query = (
                sa.select(events)
                .where(events.c.position > after_position)
                .order_by(events.c.position)
                .limit(asked)
            )
            if up_to_position is not None:
                query = query.where(events.c.position <= up_to_position)
            if until_time_ms is not None:
                query = query.where(events.c.recorded_at <= until_time_ms)
            rows = self._rows(query, conn)
            if not rows:
                return
            sizer.saw(len(rows), sum(len(row.payload) for row in rows))
            after_position = rows[-1].position
            registry = self.registry
            last_text, last_meta = None, None
            for i in range(len(rows)):
                row, rows[i] = rows[i], None  # let each row go once decoded
                text = row[_METADATA]
                if text != last_text:  # the events of one commit share their metadata
                    last_text, last_meta = text, loads(text)
                yield _row_to_event(row, registry, last_meta)
            if len(rows) < asked:
                return

    def read_until(self, time_ms: int) -> Iterator[StoredEvent]:
        """Every event recorded at or before a time (ms), in position order."""
        return self.iter_all(until_time_ms=time_ms)

    def _fetch(self, query: sa.Select[Any], conn: sa.Connection | None = None) -> list[StoredEvent]:
        return [_row_to_event(row, self.registry) for row in self._rows(query, conn)]

    def _rows(self, query: sa.Select[Any], conn: sa.Connection | None) -> list[Any]:
        if conn is not None:
            return list(conn.execute(query).all())
        with self.engine.connect() as own:
            return list(own.execute(query).all())


def _read_head(conn: sa.Connection) -> Head:
    query = sa.select(ledger_head.c.position, ledger_head.c.hash, ledger_head.c.recorded_at).where(
        ledger_head.c.id == 1
    )
    return _head_of(conn.execute(query).first())


def _head_of(row: Any) -> Head:
    """The head from the row the writer locked (see writer_lock.write_transaction)."""
    if row is None:
        raise LedgerError("the ledger head row is missing: run `evalledger db upgrade`")
    return Head(row.position, row.hash, row.recorded_at)
