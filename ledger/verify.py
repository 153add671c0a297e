"""Walk the hash chain and report the first event that does not match."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from evalledger.ledger.engine import read_snapshot
from evalledger.ledger.hashing import event_hash
from evalledger.ledger.pages import PageSizer
from evalledger.ledger.schema import GENESIS_HASH, events, ledger_head

Progress = Callable[[int, int], None]

_COLUMNS = [
    events.c.position,
    events.c.event_id,
    events.c.stream_type,
    events.c.stream_id,
    events.c.version,
    events.c.event_type,
    events.c.schema_version,
    events.c.payload,
    events.c["metadata"],
    events.c.recorded_at,
    events.c.prev_hash,
    events.c.hash,
]


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What a walk of the chain found: ok, or the first bad position and why."""

    events_checked: int
    head_position: int
    head_hash: str
    first_bad_position: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_chain(
    engine: sa.Engine, *, progress: Progress | None = None, page_size: int = 20_000
) -> VerifyReport:
    """Recompute every hash in position order; stop at the first event that is wrong.

    The walk reads one consistent snapshot and stops at the head it read first, so events
    that writers commit while it runs are neither checked nor mistaken for tampering.
    """
    with read_snapshot(engine) as conn:
        return _walk(conn, progress, page_size)


def _walk(conn: sa.Connection, progress: Progress | None, page_size: int) -> VerifyReport:
    head = conn.execute(sa.select(ledger_head).where(ledger_head.c.id == 1)).first()
    if head is None:  # its triggers refuse DELETE; TRUNCATE without foreign key checks does not
        return VerifyReport(0, 0, "", 1, "the ledger head row is missing: ledger_head was emptied")
    total = head.position
    prev_hash, expected_position, checked = GENESIS_HASH, 1, 0

    def bad(position: int, problem: str) -> VerifyReport:
        return VerifyReport(checked, head.position, head.hash, position, problem)

    sizer = PageSizer(page_size)  # pages of about PAGE_BYTES: memory stays flat
    while True:
        asked = sizer.rows
        query = (
            sa.select(*_COLUMNS)
            .where(events.c.position >= expected_position, events.c.position <= head.position)
            .order_by(events.c.position)
            .limit(asked)
        )
        rows = conn.execute(query).all()
        sizer.saw(len(rows), sum(len(row.payload) for row in rows))
        for row in rows:
            (pos, eid, stype, sid, ver, etype, sver, payload, meta, at, prev, stored) = row
            if pos != expected_position:
                return bad(expected_position, f"event at position {expected_position} is missing")
            if prev != prev_hash:
                return bad(
                    pos, f"event at position {pos}: prev_hash does not match the event before it"
                )
            if (
                event_hash(prev, pos, eid, stype, sid, ver, etype, sver, payload, meta, at)
                != stored
            ):
                return bad(
                    pos,
                    f"event at position {pos} ({etype} on {sid}): content does not match its hash",
                )
            prev_hash, expected_position, checked = stored, pos + 1, checked + 1
        if progress:
            progress(checked, total)
        if len(rows) < asked:
            break
        del rows
    if head.position != checked or head.hash != prev_hash:
        return bad(
            head.position if head.position > checked else checked,
            f"the ledger head (position {head.position}) does not match the last event "
            f"(position {checked})",
        )
    extra = conn.execute(
        sa.select(sa.func.count()).select_from(events).where(events.c.position > head.position)
    ).scalar_one()
    if extra:
        return bad(
            head.position + 1,
            f"{extra} event(s) after the ledger head (position {head.position}) that no "
            "commit recorded: rows were added to the events table outside the ledger",
        )
    return VerifyReport(checked, head.position, head.hash)
