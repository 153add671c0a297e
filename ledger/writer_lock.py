"""The writer lock: how a write transaction takes it, how long it waits, who holds it.

Writers serialize on the one `ledger_head` row (SQLite: the database's write lock, taken
by BEGIN IMMEDIATE). A writer waits for it at most the lock timeout, then gets a
ConcurrencyConflict that names what holds the lock. The timeout bounds that one wait
only: once a writer has the lock, its work runs under the statement timeout alone.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from evalledger.ledger.errors import ConcurrencyConflict, InvalidParameter, LedgerError

#: Execution option (engine-wide default, or per connection) holding the lock timeout (s).
LOCK_TIMEOUT_OPTION = "evalledger_lock_timeout_s"
LOCK_TIMEOUT_ENV = "EVALLEDGER_LOCK_TIMEOUT_S"
DEFAULT_LOCK_TIMEOUT_S = 30.0

#: What the PostgreSQL writer sends in one round trip: the timeout is set for this
#: transaction just before the lock and put back to the default just after it.
PG_LOCK_STATEMENT = (
    "SET LOCAL lock_timeout = {ms}; "
    "SELECT position, hash, recorded_at FROM ledger_head WHERE id = 1 FOR UPDATE; "
    "SET LOCAL lock_timeout TO DEFAULT"
)
PG_LOCK_PREFIX = "SET LOCAL lock_timeout = "

_program = ""


class WriterLockTimeout(ConcurrencyConflict):
    """A writer waited the whole lock timeout for the writer lock (the engine's error hook
    raises it; the store adds what holds the lock to the message)."""

    def __init__(self, seconds: float, holder: str | None = None) -> None:
        said = f": {holder}" if holder else ""
        super().__init__(
            f"gave up waiting for the writer lock after {seconds:g} s{said}; nothing was "
            f"written (the wait is set by {LOCK_TIMEOUT_ENV} or lock_timeout_s)"
        )
        self.seconds = seconds


def lock_timeout_s(value: float | None = None) -> float:
    """`value` when given, else EVALLEDGER_LOCK_TIMEOUT_S, else 30 (seconds, > 0)."""
    if value is None:
        text = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
        try:
            value = float(text) if text else DEFAULT_LOCK_TIMEOUT_S
        except ValueError:
            value = -1.0
        error: type[LedgerError] = LedgerError
        where = f"{LOCK_TIMEOUT_ENV} {text!r}"
    else:
        error, where = InvalidParameter, f"lock_timeout_s {value!r}"
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e6:
        raise error(f"{where}: the lock timeout must be a number of seconds > 0 (below 1e6)")
    return float(value)


def connection_timeout_s(conn: sa.Connection) -> float:
    """The lock timeout this connection's writes wait with."""
    value = conn.get_execution_options().get(LOCK_TIMEOUT_OPTION)
    return DEFAULT_LOCK_TIMEOUT_S if value is None else float(value)


def engine_timeout_s(engine: sa.Engine) -> float:
    """The lock timeout the writes of this engine's connections wait with."""
    value = engine.get_execution_options().get(LOCK_TIMEOUT_OPTION)
    return DEFAULT_LOCK_TIMEOUT_S if value is None else float(value)


# -- naming our own connections ---------------------------------------------------------


def set_program(command: str) -> None:
    """Name what this process does (the CLI passes its command) in the name its database
    connections carry, so a writer waiting behind this one can say who holds the lock."""
    global _program
    _program = " ".join(command.split())


def application_name() -> str:
    """``evalledger <command> pid <N>`` (PostgreSQL keeps 63 bytes of it)."""
    program = _program or Path(sys.argv[0] or "python").name or "python"
    text = f"evalledger {program} pid {os.getpid()}"
    return text.encode()[:63].decode(errors="ignore")


# -- taking the lock ----------------------------------------------------------------------


@contextmanager
def write_transaction(conn: sa.Connection) -> Iterator[Any]:
    """Begin a write transaction holding the writer lock; yields the locked head row
    (position, hash, recorded_at; None when the row is missing). Commits on a clean exit.

    A wait longer than the lock timeout raises ConcurrencyConflict naming the holder, and
    nothing was written."""
    transaction = None
    try:
        transaction = conn.begin()  # SQLite: BEGIN IMMEDIATE takes the lock here
        row = _lock_head(conn)
    except WriterLockTimeout as exc:
        if transaction is not None and transaction.is_active:
            transaction.rollback()
        raise WriterLockTimeout(exc.seconds, holder(conn)) from None
    with transaction:
        yield row


def _lock_head(conn: sa.Connection) -> Any:
    dialect = conn.dialect
    if dialect.name == "sqlite":
        return conn.exec_driver_sql(
            "SELECT position, hash, recorded_at FROM ledger_head WHERE id = 1"
        ).first()
    timeout = connection_timeout_s(conn)
    if dialect.name == "postgresql":
        statement = PG_LOCK_STATEMENT.format(ms=max(1, round(timeout * 1000)))
        return conn.exec_driver_sql(statement).first()
    seconds = max(1, math.ceil(timeout))
    select = "SELECT position, hash, recorded_at FROM ledger_head WHERE id = 1 FOR UPDATE"
    if getattr(dialect, "is_mariadb", False):
        return conn.exec_driver_sql(f"{select} WAIT {seconds}").first()
    conn.exec_driver_sql(f"SET SESSION innodb_lock_wait_timeout = {seconds}")  # MySQL
    try:
        return conn.exec_driver_sql(select).first()
    finally:
        conn.exec_driver_sql("SET SESSION innodb_lock_wait_timeout = DEFAULT")


def pg_execute_lock(cursor: Any, statement: str) -> None:
    """Run PG_LOCK_STATEMENT and leave the cursor on the SELECT's result."""
    cursor.execute(statement)
    cursor.nextset()


def timed_out(conn: sa.Connection | None) -> WriterLockTimeout:
    """The error for a lock wait on `conn` that ran out of time."""
    return WriterLockTimeout(DEFAULT_LOCK_TIMEOUT_S if conn is None else connection_timeout_s(conn))


# -- who holds it ---------------------------------------------------------------------------


def holder(conn: sa.Connection) -> str:
    """One sentence naming what holds the writer lock, as far as the database tells."""
    try:
        name = conn.dialect.name
        if name == "sqlite":
            return _sqlite_holder(conn)
        with conn.begin():
            if name == "postgresql":
                return _pg_holder(conn)
            return _mysql_holder(conn)
    except (sa.exc.SQLAlchemyError, LedgerError, OSError) as exc:
        first = str(exc).strip().splitlines()
        reason = first[0] if first else type(exc).__name__
        return f"what holds the writer lock could not be read ({reason})"


def _since(started: datetime | None, now: datetime) -> str:
    if started is None:
        return ""
    if started.tzinfo is None:
        started = started.replace(tzinfo=now.tzinfo)
    seconds = max(0.0, (now - started).total_seconds())
    return f", in a transaction since {started.isoformat(timespec='seconds')} ({seconds:.0f} s)"


def _query_text(query: str | None) -> str:
    text = " ".join((query or "").split())
    return text if len(text) <= 200 else text[:197] + "..."


def _pg_holder(conn: sa.Connection) -> str:
    row = conn.execute(
        sa.text(
            "SELECT a.pid, a.application_name, a.xact_start, a.state, a.query, now() AS now "
            "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'relation' AND l.relation = to_regclass('ledger_head') "
            "AND l.granted AND l.mode IN ('RowShareLock', 'RowExclusiveLock') "
            "AND l.pid <> pg_backend_pid() "
            "AND NOT EXISTS (SELECT 1 FROM pg_locks w WHERE w.pid = l.pid AND NOT w.granted) "
            "ORDER BY a.xact_start LIMIT 1"
        )
    ).first()
    if row is None:
        return "the connection that held the writer lock has released it meanwhile"
    name = f" ({row.application_name})" if row.application_name else ""
    return (
        f"the writer lock is held by PostgreSQL backend pid {row.pid}{name}"
        f"{_since(row.xact_start, row.now)}, {row.state or 'state unknown'}, "
        f"last statement: {_query_text(row.query) or '(none)'}"
    )


def _mysql_holder(conn: sa.Connection) -> str:
    row = conn.execute(
        sa.text(
            "SELECT t.trx_mysql_thread_id AS id, t.trx_started AS started, p.USER AS user, "
            "p.HOST AS host, p.COMMAND AS command, p.INFO AS info, NOW() AS now "
            "FROM information_schema.INNODB_TRX t "
            "JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id "
            "WHERE t.trx_mysql_thread_id <> CONNECTION_ID() AND p.DB = DATABASE() "
            "AND t.trx_state <> 'LOCK WAIT' AND t.trx_rows_locked > 0 "
            "ORDER BY t.trx_started LIMIT 1"
        )
    ).first()
    if row is None:
        return (
            "no other transaction holds row locks now (the holder has finished, or this "
            "user lacks the PROCESS privilege to see it)"
        )
    program = _mysql_program(conn, row.id)
    name = f" ({program})" if program else ""
    doing = _query_text(row.info) or f"idle ({row.command})"
    return (
        f"the writer lock is held by connection {row.id}{name} of {row.user}@{row.host}"
        f"{_since(row.started, row.now)}, now: {doing}"
    )


def _mysql_program(conn: sa.Connection, thread_id: int) -> str | None:
    """The holder's program_name connection attribute, when performance_schema keeps it."""
    try:
        with conn.begin_nested():
            return conn.execute(
                sa.text(
                    "SELECT a.ATTR_VALUE FROM performance_schema.session_connect_attrs a "
                    "WHERE a.PROCESSLIST_ID = :id AND a.ATTR_NAME = 'program_name'"
                ),
                {"id": thread_id},
            ).scalar()
    except sa.exc.SQLAlchemyError:
        return None


def _sqlite_holder(conn: sa.Connection) -> str:
    path = conn.engine.url.database or ""
    where = f"another writer holds the write lock of the SQLite database {path}"
    process = _sqlite_lock_process(Path(path))
    return f"{where} ({process})" if process else where


#: The byte of the WAL index (-shm) file that a SQLite writer locks (WAL_WRITE_LOCK).
_WAL_WRITE_BYTE = "120"


def _sqlite_lock_process(path: Path) -> str | None:
    """The process holding the WAL write lock, from /proc/locks (Linux), if it says."""
    try:
        shm = os.stat(f"{path}-shm")
        with open("/proc/locks", encoding="ascii") as locks:
            lines = locks.read().splitlines()
    except OSError:
        return None
    device = f"{os.major(shm.st_dev):02x}:{os.minor(shm.st_dev):02x}:{shm.st_ino}"
    for line in lines:
        fields = line.split()
        if "->" in fields:  # a waiter, not a holder
            continue
        if len(fields) >= 8 and fields[3] == "WRITE" and fields[5:7] == [device, _WAL_WRITE_BYTE]:
            pid = fields[4]
            return f"process {pid}: {_command_line(pid)}"
    return None


def _command_line(pid: str) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "its command line is not readable"
    text = " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)
    return text if len(text) <= 200 else text[:197] + "..."
