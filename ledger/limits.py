"""The sizes the ledger keeps to on every backend, and what each backend can take.

The lengths and the nesting limit are the same everywhere, so a ledger moves between
backends unchanged. Byte limits on one value or one statement differ per backend; they are
read once per engine (MariaDB's ``max_allowed_packet``, SQLite's SQLITE_LIMIT_LENGTH) and
checked before anything is sent, so a value that is too large is refused by name instead
of failing inside the driver.
"""

from __future__ import annotations

import sqlite3
import weakref
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

#: Levels of nested lists and dicts one value may hold (``{"a": [1]}`` is 2). Real data
#: rarely goes past 20; 100 leaves room for the envelopes the ledger wraps values in
#: (event payload, trace document) under orjson's 254-level limit on encoding, and keeps
#: any recursive walk of a value far from Python's recursion limit (1,000).
MAX_NESTING = 100
#: Levels a trace document adds around its values (info.assessments[i].expectation.value):
#: a whole document may nest this much deeper than a value.
TRACE_DOCUMENT_LEVELS = 10
TRACE_DOCUMENT_NESTING = MAX_NESTING + TRACE_DOCUMENT_LEVELS
#: Levels an event payload may nest: the values it carries plus its own envelope
#: ({"trace": document}, {"added": [record]}, {"assessment": {"expectation": {"value"}}}).
PAYLOAD_NESTING = TRACE_DOCUMENT_NESTING + 10

#: Characters, as the columns hold them (VARCHAR lengths count characters).
MAX_NAME_CHARS = 500  # dataset, experiment and trace names
MAX_KEY_CHARS = 250  # tag and metadata keys, version labels, assessment names
MAX_STREAM_ID_CHARS = 191  # trace ids, assessment ids (a stream id is 191: MariaDB index)
MAX_USER_CHARS = 255  # the acting user recorded on every event
MAX_EXPERIMENT_ID_CHARS = 32

#: Bytes (UTF-8) of one tag or metadata value: what a MariaDB TEXT column holds, on every
#: backend.
MAX_TAG_VALUE_BYTES = 65_535
#: Bytes (JSON) of all of a dataset's tags together: every version's row carries them.
MAX_TAGS_BYTES = 1_048_576

#: Bytes (JSON) a command aims at per event when it packs many records into events: a big
#: merge is several events in one commit. One record larger than this is an event alone.
EVENT_PAYLOAD_BYTES = 1_048_576

#: Room left in a statement for everything but the payload: the event's metadata, its other
#: columns and the SQL text.
STATEMENT_HEADROOM = 65_536
#: Room left in an event for its envelope around one record (dataset version, list keys).
RECORD_HEADROOM = 1_024

#: SQLite's compiled-in default for SQLITE_LIMIT_LENGTH (the longest string or blob).
SQLITE_MAX_LENGTH = 1_000_000_000
#: PostgreSQL's longest text value (1 GB).
POSTGRESQL_MAX_TEXT = 1_073_741_823
#: PyMySQL folds an executemany into multi-row INSERTs of at most this many bytes.
PYMYSQL_FOLD_BYTES = 1_024_000


@dataclass(frozen=True)
class BackendLimits:
    """What one database takes, in bytes.

    ``max_value_bytes`` is the longest text value (one payload), ``max_packet_bytes`` the
    longest statement (MySQL/MariaDB only, None elsewhere). A statement on MySQL/MariaDB
    carries text with quotes and backslashes escaped, so its size is counted as sent.
    """

    backend: str
    max_value_bytes: int
    max_packet_bytes: int | None = None

    @property
    def escapes_text(self) -> bool:
        return self.max_packet_bytes is not None

    @property
    def max_event_bytes(self) -> int:
        """The most bytes one event's payload and metadata may take, as sent."""
        cap = self.max_value_bytes
        if self.max_packet_bytes is not None:
            cap = min(cap, self.max_packet_bytes)
        return cap - STATEMENT_HEADROOM

    @property
    def max_record_bytes(self) -> int:
        """The most bytes one record (or trace) may take as JSON, as sent."""
        return self.max_event_bytes - RECORD_HEADROOM

    @property
    def event_budget(self) -> int:
        """Bytes to pack per event: fits even when every byte needs an escape."""
        return min(EVENT_PAYLOAD_BYTES, self.max_event_bytes // 2)

    @property
    def fold_bytes(self) -> int:
        """The longest multi-row INSERT to send (MySQL/MariaDB)."""
        if self.max_packet_bytes is None:
            return PYMYSQL_FOLD_BYTES
        return max(1, min(PYMYSQL_FOLD_BYTES, self.max_packet_bytes - STATEMENT_HEADROOM))

    def sent_bytes(self, text: bytes) -> int:
        """Bytes of JSON text as the driver sends it (MySQL escapes ``"``, ``\\`` and ``'``;
        canonical JSON holds no raw control characters)."""
        if not self.escapes_text:
            return len(text)
        return len(text) + text.count(b'"') + text.count(b"\\") + text.count(b"'")

    def fits(self, text: bytes, limit: int) -> bool:
        """True when `text` as sent is at most `limit` bytes (counted only when it could
        be more: escapes at most double a text)."""
        size = len(text)
        if size * (2 if self.escapes_text else 1) <= limit:
            return True
        return self.sent_bytes(text) <= limit

    def describe(self) -> str:
        """What sets the limit here, for messages."""
        if self.max_packet_bytes is not None:
            return f"{self.backend}'s max_allowed_packet is {self.max_packet_bytes:,} bytes"
        return f"{self.backend}'s longest text value is {self.max_value_bytes:,} bytes"


_cache: weakref.WeakKeyDictionary[sa.Engine, BackendLimits] = weakref.WeakKeyDictionary()


def backend_limits(conn: sa.Connection) -> BackendLimits:
    """The limits of the database behind `conn`, read once per engine."""
    engine = conn.engine
    found = _cache.get(engine)
    if found is None:
        found = _cache[engine] = _read(conn)
    return found


def _read(conn: sa.Connection) -> BackendLimits:
    name = conn.dialect.name
    driver = conn.connection.driver_connection
    if name == "sqlite":
        return BackendLimits("SQLite", driver.getlimit(sqlite3.SQLITE_LIMIT_LENGTH))  # type: ignore[union-attr]
    if name in ("mysql", "mariadb"):
        cursor = driver.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute("SELECT @@max_allowed_packet")
            packet = int(cursor.fetchone()[0])
        finally:
            cursor.close()
        shown = "MariaDB" if conn.dialect.is_mariadb else "MySQL"  # type: ignore[attr-defined]
        return BackendLimits(shown, 4_294_967_295, packet)  # LONGTEXT
    return BackendLimits("PostgreSQL", POSTGRESQL_MAX_TEXT)


def fold_under_packet(engine: sa.Engine) -> None:
    """Make PyMySQL fold an executemany into INSERTs no longer than the server's packet
    allows (it folds up to 1 MB whatever the server takes)."""

    @event.listens_for(engine, "before_cursor_execute")
    def _fold(
        conn: sa.Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        if executemany:
            cursor.max_stmt_length = backend_limits(conn).fold_bytes
