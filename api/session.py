"""What every command and read is handed: one event store and the user acting on it."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from evalledger.ledger import EventStore


@dataclass(frozen=True, slots=True)
class Session:
    """A migrated event store and the acting user recorded on every event written."""

    store: EventStore
    user: str

    @property
    def engine(self) -> sa.Engine:
        return self.store.engine

    def connect(self) -> sa.Connection:
        """A read connection (use it as a context manager)."""
        return self.store.engine.connect()
