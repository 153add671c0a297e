"""Engines for the three supported backends, configured so that writers serialize."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import StaticPool

from evalledger.ledger import writer_lock
from evalledger.ledger.errors import DatabaseUnavailable, InvalidParameter, LedgerError
from evalledger.ledger.limits import fold_under_packet

#: Execution option that makes a SQLite transaction start with BEGIN IMMEDIATE.
WRITE_OPTION = "evalledger_write"

SQLITE_BUSY_TIMEOUT_S = 60.0

_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}


def normalize_url(url: str | sa.URL) -> sa.URL:
    """Parse a tracking URI and pick our driver when the URL names none."""
    if isinstance(url, str):
        try:
            url.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidParameter(
                f"tracking URI {url!r} has a lone surrogate at position {exc.start} "
                "(not Unicode text)"
            ) from None
        if "\x00" in url:
            raise InvalidParameter(f"tracking URI {url!r} cannot contain the NUL character")
    try:
        parsed = sa.make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError with a terse message
        raise InvalidParameter(
            f"tracking URI {str(url)!r} is not an SQLAlchemy URL: {exc}"
        ) from None
    driver = _DRIVERS.get(parsed.drivername)
    if driver:
        parsed = parsed.set(drivername=driver)
    if parsed.get_backend_name() not in ("sqlite", "postgresql", "mysql", "mariadb"):
        raise InvalidParameter(
            f"tracking URI {parsed.render_as_string(hide_password=True)!r}: backend "
            f"{parsed.get_backend_name()!r} is not supported (use sqlite, postgresql or mysql)"
        )
    return parsed


def is_memory_sqlite(url: sa.URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


#: Seconds to wait for a database server to accept a connection.
CONNECT_TIMEOUT_S = 10.0
#: Seconds one statement may take on a server before the connection gives up on it.
STATEMENT_TIMEOUT_S = 600.0


def create_engine(
    url: str | sa.URL,
    *,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    statement_timeout_s: float = STATEMENT_TIMEOUT_S,
    lock_timeout_s: float | None = None,
    **kwargs: Any,
) -> sa.Engine:
    """Create an engine for a tracking URI with the settings the ledger relies on.

    Connections time out instead of hanging, and a driver error that means the database
    cannot be used (unreachable, refused, timed out, bad credentials, locked) is raised as
    one DatabaseUnavailable line rather than as the driver's exception. A writer waits
    for the writer lock at most `lock_timeout_s` (default: EVALLEDGER_LOCK_TIMEOUT_S, else
    30 s), then gets a ConcurrencyConflict naming the holder (ledger/writer_lock.py).
    """
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    lock_s = writer_lock.lock_timeout_s(lock_timeout_s)
    kwargs["execution_options"] = {
        writer_lock.LOCK_TIMEOUT_OPTION: lock_s,
        **kwargs.get("execution_options", {}),
    }
    if backend == "sqlite":
        engine = _sqlite_engine(parsed, lock_s, **kwargs)
    else:
        engine = _server_engine(parsed, backend, connect_timeout_s, statement_timeout_s, kwargs)
        _name_connections(engine, backend)
    _wrap_driver_errors(engine, parsed)
    return engine


def _server_engine(
    url: sa.URL, backend: str, connect_s: float, statement_s: float, kwargs: dict[str, Any]
) -> sa.Engine:
    connect_args: dict[str, Any]
    if backend in ("mysql", "mariadb"):
        kwargs.setdefault("isolation_level", "READ COMMITTED")
        url = url.update_query_dict({"charset": "utf8mb4"})
        # PyMySQL reads the server's greeting under read_timeout: bound it by the connect
        # timeout, then allow statements their own (see _mysql_statement_timeout)
        connect_args = {
            "connect_timeout": max(1, round(connect_s)),
            "read_timeout": max(1, round(connect_s)),
            "write_timeout": max(1, round(statement_s)),
        }
    else:
        connect_args = {
            "connect_timeout": max(1, round(connect_s)),
            "options": f"-c statement_timeout={round(statement_s * 1000)}",
            # a server that stops answering is noticed within about 25 s
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
        }
    kwargs.setdefault("pool_pre_ping", True)
    kwargs["connect_args"] = {**connect_args, **kwargs.get("connect_args", {})}
    try:
        engine = sa.create_engine(url, **kwargs)
    except ModuleNotFoundError as exc:
        extra = "postgresql" if backend == "postgresql" else "mysql"
        raise LedgerError(
            f"the {backend} driver is not installed ({exc.name}): pip install 'evalledger[{extra}]'"
        ) from None
    if backend in ("mysql", "mariadb"):
        _mysql_statement_timeout(engine, max(1, round(statement_s)))
        fold_under_packet(engine)
    return engine


def _name_connections(engine: sa.Engine, backend: str) -> None:
    """Every server connection carries "evalledger <command> pid <N>" (PostgreSQL's
    application_name, MySQL's program_name attribute), so a writer that waits behind it
    can name it; PostgreSQL's writer lock is taken with its own lock timeout."""
    key = "application_name" if backend == "postgresql" else "program_name"

    @event.listens_for(engine, "do_connect")
    def _named(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
        params.setdefault(key, writer_lock.application_name())

    if backend == "postgresql":

        @event.listens_for(engine, "do_execute")
        def _lock_statement(cursor: Any, statement: str, _params: Any, _context: Any) -> bool:
            if not statement.startswith(writer_lock.PG_LOCK_PREFIX):
                return False
            writer_lock.pg_execute_lock(cursor, statement)
            return True


def _mysql_statement_timeout(engine: sa.Engine, seconds: int) -> None:
    @event.listens_for(engine, "connect")
    def _after_greeting(dbapi_connection: Any, _record: Any) -> None:
        # PyMySQL applies _read_timeout before each read; no public setter exists
        dbapi_connection._read_timeout = seconds


#: MySQL/MariaDB server errors that mean the connection cannot be used (the client's own
#: errors, 2000 and up, all do): too many connections, access denied, unknown database.
_MYSQL_UNUSABLE = frozenset((1040, 1044, 1045, 1049, 1203, 1226, 1698))


def _means_unusable(error: Exception, original: BaseException) -> bool:
    """A driver error about reaching or using the database, not about a statement (a
    trigger's refusal, say, stays the driver's error)."""
    if not isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError):
        return False
    code = original.args[0] if original.args else None
    if type(original).__module__.startswith("pymysql") and isinstance(code, int):
        return code >= 2000 or code in _MYSQL_UNUSABLE
    return True


#: SQLite's refusals of a statement that is too big (its expression tree, its variables,
#: a LIKE pattern): the statement's fault, not the database's.
_SQLITE_TOO_BIG = ("too large", "too many", "too complex", "too big")


def _means_bad_value(error: Exception | None, original: BaseException) -> bool:
    """A value the database cannot store or compare: text with NUL (PostgreSQL), a lone
    surrogate (no encoding has it), a number out of range, a statement SQLite finds too
    big. Such a value came from the caller, so it is an invalid parameter, not a failure
    of the database."""
    if isinstance(original, sqlite3.OperationalError):
        return any(words in str(original) for words in _SQLITE_TOO_BIG)
    return isinstance(error, sa.exc.DataError) or isinstance(
        original, UnicodeEncodeError | OverflowError
    )


def _means_lock_timeout(original: BaseException) -> bool:
    """A wait for a lock that ran out of time: SQLite's busy timeout, PostgreSQL's
    lock_timeout (55P03), MySQL/MariaDB's lock wait timeout (1205)."""
    if isinstance(original, sqlite3.OperationalError):
        return str(original).startswith("database is locked")
    if getattr(original, "sqlstate", None) == "55P03":
        return True
    return type(original).__module__.startswith("pymysql") and (
        bool(original.args) and original.args[0] == 1205
    )


def _wrap_driver_errors(engine: sa.Engine, url: sa.URL) -> None:
    shown = url.render_as_string(hide_password=True)

    @event.listens_for(engine, "handle_error")
    def _as_ledger_error(context: Any) -> None:
        original = context.original_exception
        if _means_lock_timeout(original):
            raise writer_lock.timed_out(context.connection) from original
        if _means_bad_value(context.sqlalchemy_exception, original):
            lines = str(original).strip().splitlines()
            reason = lines[0].strip() if lines else type(original).__name__
            raise InvalidParameter(f"a value cannot be used by the database: {reason}") from (
                original
            )
        if _means_unusable(context.sqlalchemy_exception, context.original_exception):
            original = context.original_exception
            lines = str(original).strip().splitlines()
            reason = lines[0].strip() if lines else type(original).__name__
            raise DatabaseUnavailable(f"cannot use the database at {shown}: {reason}") from (
                original
            )


def _enable_wal(cursor: Any) -> None:
    """Switch a database file to WAL (persistent). The switch needs a moment with no other
    connection in a transaction, and SQLite reports "locked" at once instead of waiting."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def sqlite_synchronous() -> str:
    """FULL (default): every commit is on disk before it returns, even across a power loss.
    EVALLEDGER_SQLITE_SYNCHRONOUS=NORMAL trades that for speed: in WAL mode a commit then
    survives a crash of the process but may be lost with the last moments before a power
    loss or OS crash (never corrupting the database)."""
    value = os.environ.get("EVALLEDGER_SQLITE_SYNCHRONOUS", "FULL").strip().upper()
    if value not in ("FULL", "NORMAL", "EXTRA"):
        raise InvalidParameter(
            f"EVALLEDGER_SQLITE_SYNCHRONOUS must be FULL, NORMAL or EXTRA, not {value!r}"
        )
    return value


@contextmanager
def read_snapshot(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection whose reads all see one consistent snapshot of the database, however
    long they take and whatever writers commit meanwhile (read-only)."""
    with engine.connect() as conn:
        if engine.dialect.name != "sqlite":  # SQLite in WAL mode: a read transaction is one
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


_BUSY_MS = "evalledger_busy_ms"


def _busy_ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


#: SQLite's page cache per connection, in KiB. Its default, 2 MiB, holds the record-lookup
#: index of some 100,000 records: a merge into a larger dataset read its pages back from
#: the file (half a million records merged in batches: 5% faster with 32 MiB, measured).
SQLITE_CACHE_KIB = 32_768


def _sqlite_engine(url: sa.URL, lock_timeout_s: float, **kwargs: Any) -> sa.Engine:
    """The busy timeout is the lock timeout: in WAL mode only a writer's BEGIN IMMEDIATE
    waits for another connection."""
    memory = is_memory_sqlite(url)
    busy_ms = _busy_ms(lock_timeout_s)
    connect_args = {"timeout": lock_timeout_s, "check_same_thread": False}
    if memory:
        kwargs.setdefault("poolclass", StaticPool)
    engine = sa.create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN is ours to issue.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        _record.info[_BUSY_MS] = busy_ms
        if not memory:
            _enable_wal(cursor)
            cursor.execute(f"PRAGMA synchronous={sqlite_synchronous()}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get(WRITE_OPTION):
            wanted = _busy_ms(writer_lock.connection_timeout_s(conn))
            info = conn.connection.info
            if info.get(_BUSY_MS) != wanted:  # a connection given its own lock timeout
                conn.exec_driver_sql(f"PRAGMA busy_timeout={wanted}")
                info[_BUSY_MS] = wanted
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine
