"""One migrated event store per tracking URI, opened on first use and shared.

Opening checks before it touches anything: a SQLite file is inspected read-only (so a
foreign file's journal mode is never changed), a database that holds another
application's schema is refused, and with `create=False` a missing ledger is an error
instead of a new, empty one.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import sqlalchemy as sa

from evalledger.experiments import ensure_default
from evalledger.ledger import (
    DatabaseUnavailable,
    EventStore,
    ForeignDatabase,
    LedgerError,
    ResourceNotFound,
    create_engine,
    normalize_url,
)
from evalledger.ledger.engine import CONNECT_TIMEOUT_S, is_memory_sqlite
from evalledger.migrations.runner import ensure_current, foreign_schema, is_current, is_empty
from evalledger.query.numbers import install_sql_functions

_lock = threading.Lock()
_stores: dict[str, EventStore] = {}
#: URIs whose ledger is known to hold experiment "0" (a read-only open does not write it).
_with_default: set[str] = set()


def auto_migrate_enabled() -> bool:
    return os.environ.get("EVALLEDGER_AUTO_MIGRATE", "1").strip().lower() not in (
        "0",
        "false",
        "no",
    )


def connect_timeout_s() -> float:
    """EVALLEDGER_CONNECT_TIMEOUT (seconds), default 10."""
    text = os.environ.get("EVALLEDGER_CONNECT_TIMEOUT", "").strip()
    try:
        value = float(text) if text else CONNECT_TIMEOUT_S
    except ValueError:
        value = -1.0
    if not value > 0:
        raise LedgerError(
            f"EVALLEDGER_CONNECT_TIMEOUT must be a number of seconds > 0, not {text!r}"
        )
    return value


def open_store(uri: str, user: str, *, create: bool = True) -> EventStore:
    """The event store of a URI, upgraded on first use, with experiment "0" in it (created
    by `user` when this is the ledger's first use). With `create=False` the ledger must
    exist already: nothing is created (ResourceNotFound names what is missing)."""
    store = _stores.get(uri)
    if store is not None and (uri in _with_default or not create):
        return store
    with _lock:
        store = _stores.get(uri)
        if store is None:
            store = _open(uri, create)
            _stores[uri] = store
        if create and uri not in _with_default:
            ensure_default(store, user)
            _with_default.add(uri)
    return store


def _open(uri: str, create: bool) -> EventStore:
    url = normalize_url(uri)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and not is_memory_sqlite(url):
        _check_sqlite_file(Path(url.database or ""), shown, create)
    engine = create_engine(url, connect_timeout_s=connect_timeout_s())
    install_sql_functions(engine)
    try:
        with engine.connect() as conn:
            found = foreign_schema(conn)
            empty = is_empty(conn)
        if found:
            raise _foreign(shown, found)
        if empty and not create:
            raise ResourceNotFound(
                f"there is no evalledger ledger at {shown} (the database is empty): "
                "check the URI, or create one with `evalledger db upgrade --uri ...`"
            )
        if auto_migrate_enabled():
            ensure_current(engine)
        elif not is_current(engine):
            raise LedgerError(
                f"the database at {shown} is not at the current schema: run "
                "`evalledger db upgrade` (EVALLEDGER_AUTO_MIGRATE=0 turned automatic "
                "upgrades off)"
            )
        store = EventStore(engine)
    except BaseException:
        engine.dispose()
        raise
    return store


def _check_sqlite_file(path: Path, shown: str, create: bool) -> None:
    """Refuse a missing file (create=False), a missing directory, or a foreign file,
    reading the file with a read-only connection that changes nothing in it."""
    if not path.exists():
        if not create:
            raise ResourceNotFound(
                f"there is no evalledger ledger at {path}: the file does not exist "
                "(check the URI: sqlite:///relative/path.db or sqlite:////absolute/path.db)"
            )
        if not path.parent.is_dir():
            raise DatabaseUnavailable(
                f"cannot create {path}: the directory {path.parent} does not exist"
            )
        return
    reader = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true", poolclass=sa.NullPool)
    try:
        with reader.connect() as conn:
            found = foreign_schema(conn)
    except sa.exc.DBAPIError as exc:
        raise ForeignDatabase(
            f"{shown} is not a SQLite database evalledger can read: {exc.orig}"
        ) from None
    finally:
        reader.dispose()
    if found:
        raise _foreign(shown, found)


def _foreign(shown: str, found: str) -> ForeignDatabase:
    return ForeignDatabase(
        f"{shown} is not an evalledger ledger: {found}. Nothing in it was changed; "
        "give evalledger a database of its own"
    )


def reset_stores() -> None:
    """Dispose every cached engine (tests, and processes that fork)."""
    with _lock:
        for store in _stores.values():
            store.engine.dispose()
        _stores.clear()
        _with_default.clear()
