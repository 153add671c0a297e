"""One write = one transaction: append events, apply them to the projections, commit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ledger import EventStore, WriteTransaction
from projections import fold


@contextmanager
def commit(store: EventStore) -> Iterator[WriteTransaction]:
    """Hold the writer lock; on a clean exit fold what was appended, then commit.

    Any exception rolls back the events and the projection changes together.
    """
    with store.transaction() as tx:
        yield tx
        fold.apply(tx.conn, tx.appended, hints=tx.hints)
