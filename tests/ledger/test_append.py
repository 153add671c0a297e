"""Appending: expected versions, atomic batches, idempotency, canonical encoding."""

from __future__ import annotations

import math

import pytest
import sqlalchemy as sa

from evalledger.ledger import (
    ANY,
    NO_STREAM,
    ConcurrencyConflict,
    EventStore,
    InvalidParameter,
    NewEvent,
)
from evalledger.ledger.schema import events


def _count(store: EventStore) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one()


def _events(n: int, prefix: str = "e") -> list[NewEvent]:
    return [NewEvent("Thing", {"i": i, "name": f"{prefix}{i}"}) for i in range(n)]


def test_versions_start_at_zero_and_have_no_gaps(store: EventStore) -> None:
    store.append("s-1", _events(3), NO_STREAM)
    store.append("s-1", _events(2), 2)
    store.append("s-1", _events(1), ANY)
    assert [e.version for e in store.read_stream("s-1")] == [0, 1, 2, 3, 4, 5]
    assert [e.position for e in store.read_all()] == [1, 2, 3, 4, 5, 6]


def test_wrong_expected_version_raises_and_writes_nothing(store: EventStore) -> None:
    store.append("s-1", _events(2), NO_STREAM)
    before = _count(store)
    for expected in (0, 5, NO_STREAM):
        with pytest.raises(ConcurrencyConflict, match="s-1"):
            store.append("s-1", _events(3), expected)
    with pytest.raises(ConcurrencyConflict):
        store.append("s-new", _events(1), 0)
    assert _count(store) == before
    assert store.head().position == before


def test_a_batch_whose_second_event_conflicts_leaves_nothing(store: EventStore) -> None:
    stored = store.append("s-1", [NewEvent("Thing", {"a": 1}, event_id="fixed-id")], NO_STREAM)
    before = _count(store)
    batch = [
        NewEvent("Thing", {"b": 2}),
        NewEvent("Thing", {"different": True}, event_id="fixed-id"),
    ]
    with pytest.raises(ConcurrencyConflict, match="fixed-id"):
        store.append("s-2", batch, NO_STREAM)
    assert _count(store) == before
    assert store.read_stream("s-2") == []
    assert store.head().hash == stored[0].hash


def test_a_batch_whose_second_payload_is_not_json_leaves_nothing(store: EventStore) -> None:
    batch = [NewEvent("Thing", {"ok": 1}), NewEvent("Thing", {"bad": math.nan})]
    with pytest.raises(InvalidParameter, match=r"event 1 .*payload\.bad.*NaN"):
        store.append("s-1", batch, NO_STREAM)
    assert _count(store) == 0


@pytest.mark.parametrize(
    "value",
    [math.inf, -math.inf, b"bytes", object(), {1: "int key"}, 2**64, {1.5}],
    ids=["inf", "-inf", "bytes", "object", "int-key", "huge-int", "set"],
)
def test_non_json_payloads_are_rejected(store: EventStore, value: object) -> None:
    with pytest.raises(InvalidParameter, match="payload"):
        store.append("s-1", [NewEvent("Thing", {"v": value})], NO_STREAM)
    assert _count(store) == 0


def test_reappending_the_same_events_returns_their_original_positions(store: EventStore) -> None:
    batch = [NewEvent("Thing", {"i": i}, event_id=f"id-{i}") for i in range(3)]
    first = store.append("s-1", batch, NO_STREAM)
    store.append("s-other", _events(2), NO_STREAM)
    again = store.append("s-1", batch, NO_STREAM)
    assert [e.position for e in again] == [e.position for e in first] == [1, 2, 3]
    assert [e.hash for e in again] == [e.hash for e in first]
    assert _count(store) == 5


def test_reappending_same_ids_with_other_content_is_a_conflict(store: EventStore) -> None:
    store.append("s-1", [NewEvent("Thing", {"i": 1}, event_id="id-1")], NO_STREAM)
    with pytest.raises(ConcurrencyConflict, match="id-1"):
        store.append("s-1", [NewEvent("Thing", {"i": 2}, event_id="id-1")], NO_STREAM)
    with pytest.raises(ConcurrencyConflict, match="id-1"):
        store.append("s-2", [NewEvent("Thing", {"i": 1}, event_id="id-1")], NO_STREAM)
    assert _count(store) == 1


def test_a_batch_naming_one_event_id_twice_is_rejected(store: EventStore) -> None:
    batch = [NewEvent("Thing", {"i": 1}, event_id="x"), NewEvent("Thing", {"i": 2}, event_id="x")]
    with pytest.raises(InvalidParameter, match="same event_id"):
        store.append("s-1", batch, NO_STREAM)


@pytest.mark.parametrize("expected", [-1, "latest", 1.5, None])
def test_bad_expected_version_values_are_rejected(store: EventStore, expected: object) -> None:
    with pytest.raises(InvalidParameter, match="expected_version"):
        store.append("s-1", _events(1), expected)  # type: ignore[arg-type]


def test_payload_is_stored_as_canonical_json(store: EventStore) -> None:
    store.append("s-1", [NewEvent("Thing", {"b": 1, "a": {"z": 1.0, "y": [1, "x"]}})], NO_STREAM)
    with store.engine.connect() as conn:
        text = conn.execute(sa.select(events.c.payload)).scalar_one()
    assert text == '{"a":{"y":[1,"x"],"z":1.0},"b":1}'
    assert store.read_stream("s-1")[0].payload == {"a": {"y": [1, "x"], "z": 1.0}, "b": 1}


def test_unicode_and_large_payloads_round_trip(store: EventStore) -> None:
    payload = {"text": "naïve 日本語 😀 " * 5000, "nested": [{"k": i} for i in range(1000)]}
    store.append("s-1", [NewEvent("Thing", payload)], NO_STREAM)
    assert store.read_stream("s-1")[0].payload == payload


def test_metadata_records_user_time_and_commit(store: EventStore) -> None:
    with store.transaction(user="alice") as tx:
        tx.append("s-1", _events(2), NO_STREAM)
        tx.append("s-2", _events(1), NO_STREAM, metadata={"operation": "CREATE"})
    stored = store.read_all()
    assert {e.metadata["user"] for e in stored} == {"alice"}
    assert len({e.metadata["commit_id"] for e in stored}) == 1
    assert stored[2].metadata["operation"] == "CREATE"
    assert all(e.metadata["time_ms"] == e.recorded_at for e in stored)


def test_the_ledger_records_no_user_it_was_not_given(store: EventStore, monkeypatch) -> None:
    monkeypatch.setenv("EVALLEDGER_USER", "alice")
    store.append("s-1", _events(1), NO_STREAM)
    assert "user" not in store.read_all()[0].metadata


def test_a_transaction_that_raises_appends_nothing(store: EventStore) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.append("s-1", _events(3), NO_STREAM)
        raise RuntimeError("crash mid-transaction")
    assert _count(store) == 0
    assert store.head().position == 0


def test_read_stream_up_to_a_version(store: EventStore) -> None:
    store.append("s-1", _events(5), NO_STREAM)
    assert [e.version for e in store.read_stream("s-1", up_to_version=2)] == [0, 1, 2]
    assert [e.version for e in store.read_stream("s-1", after_version=2)] == [3, 4]


def test_read_all_pages_by_position(store: EventStore) -> None:
    for s in range(5):
        store.append(f"s-{s}", _events(7), NO_STREAM)
    seen, after = [], 0
    while page := store.read_all(after_position=after, limit=4):
        seen.extend(e.position for e in page)
        after = page[-1].position
    assert seen == list(range(1, 36))
    assert [e.position for e in store.iter_all(after_position=30, page_size=2)] == [
        31,
        32,
        33,
        34,
        35,
    ]


def test_read_until_a_point_in_time(store: EventStore) -> None:
    store.append("s-1", _events(2), NO_STREAM)
    cut = store.head().recorded_at
    with store.transaction() as tx:
        tx.append("s-1", _events(2), ANY)
    later = store.head().recorded_at
    upto = [e.position for e in store.read_until(cut)]
    assert upto == [1, 2] or later == cut  # a same-millisecond commit is included too
    assert [e.position for e in store.read_until(later)] == [1, 2, 3, 4]
    assert list(store.read_until(cut - 1)) == []


def test_recorded_time_never_decreases_along_positions(store: EventStore) -> None:
    for i in range(20):
        store.append(f"s-{i % 3}", _events(2), ANY)
    times = [e.recorded_at for e in store.read_all(limit=100)]
    assert times == sorted(times)
