"""verify walks to the head it read first: rows slipped in after the head are tampering."""

from __future__ import annotations

import sqlalchemy as sa

from evalledger.ledger import NO_STREAM, EventStore, NewEvent, verify_chain
from evalledger.ledger.schema import events


def test_a_row_inserted_after_the_head_outside_the_ledger_is_reported(
    store: EventStore, engine: sa.Engine
) -> None:
    store.append("s-1", [NewEvent("Happened", {"n": 1}), NewEvent("Happened", {"n": 2})], NO_STREAM)
    assert verify_chain(engine).ok
    with engine.begin() as conn:
        last = conn.execute(sa.select(events).where(events.c.position == 2)).mappings().one()
        forged = {
            **last,
            "position": 3,
            "version": 2,
            "event_id": "forged",
            "prev_hash": last["hash"],
        }
        conn.execute(events.insert().values(forged))
    report = verify_chain(engine)
    assert not report.ok
    assert report.first_bad_position == 3
    assert "after the ledger head (position 2)" in (report.problem or "")
