"""Old payloads keep working: a stored v1 event is read in the current shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from evalledger.ledger import NO_STREAM, EventStore, NewEvent, UpcasterRegistry, verify_chain
from evalledger.ledger.schema import events, ledger_head

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden" / "records_merged_v1.json"


def _registry() -> UpcasterRegistry:
    """v1 stored flat records with `question`/`expected`; v2 splits inputs and expectations;
    v3 adds a `source` to each record."""
    registry = UpcasterRegistry()

    @registry.register("RecordsMerged", 1)
    def _v1_to_v2(payload: dict) -> dict:
        return {
            "records": [
                {"inputs": {"question": r["question"]}, "expectations": {"expected": r["expected"]}}
                for r in payload["records"]
            ]
        }

    @registry.register("RecordsMerged", 2)
    def _v2_to_v3(payload: dict) -> dict:
        return {
            "records": [{**r, "source": {"source_type": "UNSPECIFIED"}} for r in payload["records"]]
        }

    return registry


@pytest.fixture
def golden_store(engine: sa.Engine) -> EventStore:
    """A ledger whose first event was written by an old version, exactly as it was stored."""
    row = json.loads(GOLDEN.read_text())
    with engine.begin() as conn:
        conn.execute(events.insert(), [row])
        conn.execute(
            ledger_head.update().values(
                position=row["position"], hash=row["hash"], recorded_at=row["recorded_at"]
            )
        )
    return EventStore(engine, _registry())


def test_golden_v1_payload_is_read_in_the_current_shape(golden_store: EventStore) -> None:
    (event,) = golden_store.read_stream("d-5f0c8a1e2b3d4c5e6f708192a3b4c5d6")
    assert event.schema_version == 3
    assert event.payload == {
        "records": [
            {
                "inputs": {"question": "Capital of France?"},
                "expectations": {"expected": "Paris"},
                "source": {"source_type": "UNSPECIFIED"},
            }
        ]
    }
    assert event.metadata["user"] == "alice"


def test_upcasting_does_not_touch_the_stored_bytes(golden_store: EventStore) -> None:
    assert verify_chain(golden_store.engine).ok
    with golden_store.engine.connect() as conn:
        stored = conn.execute(sa.select(events.c.payload, events.c.schema_version)).one()
    assert stored.schema_version == 1
    assert stored.payload == json.loads(GOLDEN.read_text())["payload"]


def test_new_events_are_written_at_the_current_schema_version(golden_store: EventStore) -> None:
    golden_store.append("d-2", [NewEvent("RecordsMerged", {"records": []})], NO_STREAM)
    golden_store.append("d-3", [NewEvent("Unversioned", {})], NO_STREAM)
    with golden_store.engine.connect() as conn:
        versions = dict(conn.execute(sa.select(events.c.stream_id, events.c.schema_version)).all())
    assert versions["d-2"] == 3
    assert versions["d-3"] == 1
    assert verify_chain(golden_store.engine).ok


def test_an_event_at_the_current_version_is_returned_unchanged(golden_store: EventStore) -> None:
    payload = {"records": [{"inputs": {}, "expectations": {}, "source": {"source_type": "CODE"}}]}
    golden_store.append("d-4", [NewEvent("RecordsMerged", payload)], NO_STREAM)
    assert golden_store.read_stream("d-4")[0].payload == payload
