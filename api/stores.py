"""One migrated event store per tracking URI, opened on first use and shared."""

from __future__ import annotations

import os
import threading

from evalledger.experiments import ensure_default
from evalledger.ledger import EventStore, LedgerError, create_engine
from evalledger.migrations.runner import ensure_current, is_current
from evalledger.query.numbers import install_sql_functions

_lock = threading.Lock()
_stores: dict[str, EventStore] = {}


def auto_migrate_enabled() -> bool:
    return os.environ.get("EVALLEDGER_AUTO_MIGRATE", "1").strip().lower() not in (
        "0",
        "false",
        "no",
    )


def open_store(uri: str, user: str) -> EventStore:
    """The event store of a URI, upgraded on first use, with experiment "0" in it (created
    by `user` when this is the ledger's first use)."""
    store = _stores.get(uri)
    if store is not None:
        return store
    with _lock:
        store = _stores.get(uri)
        if store is None:
            store = _open(uri, user)
            _stores[uri] = store
    return store


def _open(uri: str, user: str) -> EventStore:
    engine = create_engine(uri)
    install_sql_functions(engine)
    if auto_migrate_enabled():
        ensure_current(engine)
    elif not is_current(engine):
        engine.dispose()
        raise LedgerError(
            f"the database at {uri!r} is not at the current schema: run "
            "`evalledger db upgrade` (EVALLEDGER_AUTO_MIGRATE=0 turned automatic "
            "upgrades off)"
        )
    store = EventStore(engine)
    ensure_default(store, user)
    return store


def reset_stores() -> None:
    """Dispose every cached engine (tests, and processes that fork)."""
    with _lock:
        for store in _stores.values():
            store.engine.dispose()
        _stores.clear()
