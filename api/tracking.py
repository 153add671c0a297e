"""Where data lives: the tracking URI, and one migrated event store per URI."""

from __future__ import annotations

import os
import threading

from ledger import EventStore, LedgerError, create_engine, ensure_current, normalize_url
from ledger.migrate import is_current

DEFAULT_URI = "sqlite:///evalledger.db"

_lock = threading.Lock()
_uri: str | None = None
_stores: dict[str, EventStore] = {}


def set_tracking_uri(uri: str | None) -> None:
    """Use this SQLAlchemy URL from now on (None goes back to the environment/default)."""
    global _uri
    if uri is not None:
        normalize_url(uri)
    _uri = None if uri is None else str(uri)


def get_tracking_uri() -> str:
    """set_tracking_uri(), else EVALLEDGER_TRACKING_URI, else sqlite:///evalledger.db."""
    return _uri or os.environ.get("EVALLEDGER_TRACKING_URI") or DEFAULT_URI


def auto_migrate_enabled() -> bool:
    return os.environ.get("EVALLEDGER_AUTO_MIGRATE", "1").strip().lower() not in (
        "0",
        "false",
        "no",
    )


def store_for(uri: str | None = None) -> EventStore:
    """The event store of a URI (the current tracking URI by default), upgraded on first use."""
    key = uri or get_tracking_uri()
    store = _stores.get(key)
    if store is not None:
        return store
    with _lock:
        store = _stores.get(key)
        if store is None:
            engine = create_engine(key)
            if auto_migrate_enabled():
                ensure_current(engine)
            elif not is_current(engine):
                engine.dispose()
                raise LedgerError(
                    f"the database at {key!r} is not at the current schema: run "
                    "`evalledger db upgrade` (EVALLEDGER_AUTO_MIGRATE=0 turned automatic "
                    "upgrades off)"
                )
            store = EventStore(engine)
            from .experiments import ensure_default

            ensure_default(store)
            _stores[key] = store
    return store


def reset_stores() -> None:
    """Dispose every cached engine (tests, and processes that fork)."""
    with _lock:
        for store in _stores.values():
            store.engine.dispose()
        _stores.clear()
