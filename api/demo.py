"""`evalledger demo`: the seed flows end to end, printing each step."""

from __future__ import annotations

from ledger import ANY, NewEvent, verify_chain

from .tracking import get_tracking_uri, store_for


def run_demo() -> None:
    store = store_for()
    print(f"tracking URI: {get_tracking_uri()}")
    stored = store.append("demo", [NewEvent("DemoRan", {"step": "ledger"})], ANY)
    print(f"appended event {stored[0].event_id} at position {stored[0].position}")
    report = verify_chain(store.engine)
    print(f"verify: {report.events_checked} events, chain intact: {report.ok}")
