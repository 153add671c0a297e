"""verify reads the chain in pages sized by bytes: an edit far past the first page is still
named, and big events make small pages."""

from __future__ import annotations

from contract import drop_triggers, out_of_band

from evalledger.ledger import NO_STREAM, EventStore, NewEvent, verify_chain
from evalledger.ledger.pages import FIRST_PAGE_ROWS, PageSizer
from evalledger.ledger.schema import events


def test_pages_grow_for_small_events_and_shrink_for_big_ones() -> None:
    sizer = PageSizer(20_000, budget=1_000_000)
    assert sizer.rows == FIRST_PAGE_ROWS
    sizer.saw(FIRST_PAGE_ROWS, FIRST_PAGE_ROWS * 100)  # 100-byte events: grow, 4x a page
    assert sizer.rows == 4 * FIRST_PAGE_ROWS
    for _ in range(10):
        sizer.saw(sizer.rows, sizer.rows * 100)
    assert sizer.rows == 10_000  # the byte budget, below the row limit
    sizer.saw(10, 10 * 400_000)  # 400 KB events: two to a page
    assert sizer.rows == 2
    sizer.saw(1, 5_000_000)  # one event over the budget is a page alone
    assert sizer.rows == 1


def test_verify_names_an_edit_many_pages_in(store: EventStore) -> None:
    for s in range(30):
        batch = [NewEvent("Big", {"s": s, "i": i, "pad": "x" * 2_000}) for i in range(10)]
        store.append(f"s-{s}", batch, NO_STREAM)
    assert verify_chain(store.engine).ok
    drop_triggers(store.engine)
    out_of_band(
        store.engine,
        events.update().where(events.c.position == 287).values(payload='{"i":6,"pad":"","s":28}'),
    )
    report = verify_chain(store.engine, page_size=50)
    assert not report.ok
    assert report.first_bad_position == 287 and report.events_checked == 286
    assert "position 287" in (report.problem or "")
