"""One write = one transaction: append events, apply them to the projections, commit."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from evalledger.ledger import EventStore, ExpectedVersion, NewEvent, StoredEvent, WriteTransaction
from evalledger.ledger.limits import BackendLimits
from evalledger.ledger.memory import gc_paused
from evalledger.projections import fold
from evalledger.projections.datasets_fold import CurrentRows


class UnitOfWork:
    """A write transaction, plus what the writer read that the fold may reuse.

    `current_rows` hands the fold the current record rows the writer already looked up
    ({(dataset_id, record_id): (content_hash, source_type)}), so it need not read them again.
    """

    def __init__(self, tx: WriteTransaction) -> None:
        self._tx = tx
        self._current_rows: CurrentRows = {}
        self._projector: fold.Projector | None = None

    @property
    def current_rows(self) -> CurrentRows:
        return self._current_rows

    @current_rows.setter
    def current_rows(self, rows: CurrentRows) -> None:
        self._current_rows = rows
        if self._projector is not None:
            self._projector.datasets.know(rows)

    @property
    def conn(self) -> sa.Connection:
        return self._tx.conn

    @property
    def user(self) -> str:
        return self._tx.user

    @property
    def recorded_at(self) -> int:
        return self._tx.recorded_at

    @property
    def limits(self) -> BackendLimits:
        """What this database takes: event sizes, the packet (see ledger.limits)."""
        return self._tx.limits

    @property
    def appended(self) -> list[StoredEvent]:
        """The events appended and not folded yet (fold_appended empties it)."""
        return self._tx.appended

    def stream_version(self, stream_id: str) -> int | None:
        return self._tx.stream_version(stream_id)

    def append(
        self,
        stream_id: str,
        new_events: Sequence[NewEvent],
        expected_version: ExpectedVersion,
        *,
        stream_type: str = "stream",
        metadata: dict[str, Any] | None = None,
    ) -> list[StoredEvent]:
        return self._tx.append(
            stream_id, new_events, expected_version, stream_type=stream_type, metadata=metadata
        )

    def fold_appended(self) -> None:
        """Apply the events appended so far to the projections now, inside the
        transaction, and let them go: a write of a million records folds each event as
        it goes instead of holding them all until the commit. The commit stays one."""
        if self._projector is None:
            self._projector = fold.Projector(self.conn, self.current_rows)
        appended = self._tx.appended
        with gc_paused():
            fold.feed(self._projector, appended)
        appended.clear()

    def finish(self) -> None:
        """Fold what is left and write the projections' last rows (the commit's end)."""
        self.fold_appended()
        assert self._projector is not None
        with gc_paused():
            self._projector.finish()
            self._projector.flush()

    def append_to_streams(
        self,
        batches: Sequence[tuple[str, Sequence[NewEvent], ExpectedVersion]],
        *,
        stream_type: str = "stream",
        metadata: dict[str, Any] | None = None,
    ) -> list[StoredEvent]:
        return self._tx.append_to_streams(batches, stream_type=stream_type, metadata=metadata)


@contextmanager
def commit(store: EventStore, user: str) -> Iterator[UnitOfWork]:
    """Hold the writer lock as `user`; on a clean exit fold what was appended, then commit.

    Any exception rolls back the events and the projection changes together.
    """
    with store.transaction(user=user) as tx:
        work = UnitOfWork(tx)
        yield work
        work.finish()
