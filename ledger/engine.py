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

from evalledger.ledger.errors import InvalidParameter, LedgerError

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


def create_engine(url: str | sa.URL, **kwargs: Any) -> sa.Engine:
    """Create an engine for a tracking URI with the settings the ledger relies on."""
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    if backend in ("mysql", "mariadb"):
        kwargs.setdefault("isolation_level", "READ COMMITTED")
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    kwargs.setdefault("pool_pre_ping", True)
    try:
        return sa.create_engine(parsed, **kwargs)
    except ModuleNotFoundError as exc:
        extra = "postgresql" if backend == "postgresql" else "mysql"
        raise LedgerError(
            f"the {backend} driver is not installed ({exc.name}): pip install 'evalledger[{extra}]'"
        ) from None


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


def _sqlite_engine(url: sa.URL, **kwargs: Any) -> sa.Engine:
    memory = is_memory_sqlite(url)
    connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
    if memory:
        kwargs.setdefault("poolclass", StaticPool)
    engine = sa.create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN is ours to issue.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        if not memory:
            _enable_wal(cursor)
            cursor.execute(f"PRAGMA synchronous={sqlite_synchronous()}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine
