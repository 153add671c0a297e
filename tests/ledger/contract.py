"""The event store's contract: what every backend's ledger must do, as one test class.

`EventStoreContract` is not collected by itself (the name does not start with "Test");
tests/ledger/test_event_store.py has one subclass per backend, each naming its `backend`.
The conftest runs such a class on that backend only and deselects it when the backend is
not in EVALLEDGER_TEST_BACKENDS; a listed backend that cannot be reached fails.

Appending (expected versions, atomic batches, idempotent re-sends, canonical payloads),
reading (streams, pages, points in time), append-only in the database itself and tamper
evidence through the hash chain, concurrent writers and readers, and upcasting old payloads.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import ClassVar

import pytest
import sqlalchemy as sa

from evalledger.ledger import (
    ANY,
    NO_STREAM,
    ConcurrencyConflict,
    EventStore,
    InvalidParameter,
    NewEvent,
    UpcasterRegistry,
    create_engine,
    verify_chain,
)
from evalledger.ledger.schema import events, ledger_head

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden" / "records_merged_v1.json"

#: The dialect names a backend's engine may report.
DIALECTS = {"sqlite": {"sqlite"}, "postgresql": {"postgresql"}, "mariadb": {"mysql", "mariadb"}}

_DROP_TRIGGERS = {
    "sqlite": ["DROP TRIGGER events_no_update", "DROP TRIGGER events_no_delete"],
    "postgresql": [
        "DROP TRIGGER events_no_update ON events",
        "DROP TRIGGER events_no_truncate ON events",
    ],
    "mysql": ["DROP TRIGGER events_no_update", "DROP TRIGGER events_no_delete"],
}

WRITERS, BATCHES, BATCH_SIZE = 2, 12, 500


# ----------------------------------------------------------------------------- helpers


def count(store: EventStore) -> int:
    """The number of rows in the events table."""
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one()


def new_events(n: int, prefix: str = "e") -> list[NewEvent]:
    return [NewEvent("Thing", {"i": i, "name": f"{prefix}{i}"}) for i in range(n)]


def fill(store: EventStore, streams: int = 3, per_stream: int = 4) -> None:
    """`streams` streams of `per_stream` events each, payloads {"s": s, "i": i}."""
    for s in range(streams):
        store.append(
            f"s-{s}", [NewEvent("Thing", {"s": s, "i": i}) for i in range(per_stream)], NO_STREAM
        )


def drop_triggers(engine: sa.Engine) -> None:
    """Take away the append-only triggers, as an attacker with DDL rights could."""
    name = "mysql" if engine.dialect.name == "mariadb" else engine.dialect.name
    with engine.begin() as conn:
        for statement in _DROP_TRIGGERS[name]:
            conn.exec_driver_sql(statement)


def out_of_band(engine: sa.Engine, statement: sa.Executable) -> None:
    """Run a statement against the tables directly, not through the store."""
    with engine.begin() as conn:
        conn.execute(statement)


def _race_writer(url: str, writer: int, start_at: float) -> list[list[int]]:
    """One writer process: BATCHES batches of BATCH_SIZE events; the positions it got."""
    store = EventStore(create_engine(url))
    time.sleep(max(0.0, start_at - time.time()))
    positions = []
    for b in range(BATCHES):
        batch = [
            NewEvent("Thing", {"w": writer, "b": b, "i": i, "pad": "x" * 64})
            for i in range(BATCH_SIZE)
        ]
        positions.append([e.position for e in store.append(f"w{writer}-b{b}", batch, NO_STREAM)])
    store.engine.dispose()
    return positions


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


# ----------------------------------------------------------------------------- the contract


class EventStoreContract:
    """What an EventStore guarantees on every backend. Subclasses set `backend`."""

    backend: ClassVar[str]

    def test_runs_on_the_backend_its_class_names(self, store: EventStore) -> None:
        with store.engine.connect():  # the dialect learns the server's flavour on connect
            dialect = store.engine.dialect
        assert dialect.name in DIALECTS[self.backend]
        assert getattr(dialect, "is_mariadb", False) == (self.backend == "mariadb")

    # -- appending ------------------------------------------------------------------------

    def test_versions_start_at_zero_and_have_no_gaps(self, store: EventStore) -> None:
        store.append("s-1", new_events(3), NO_STREAM)
        store.append("s-1", new_events(2), 2)
        store.append("s-1", new_events(1), ANY)
        assert [e.version for e in store.read_stream("s-1")] == [0, 1, 2, 3, 4, 5]
        assert [e.position for e in store.read_all()] == [1, 2, 3, 4, 5, 6]

    def test_wrong_expected_version_raises_and_writes_nothing(self, store: EventStore) -> None:
        store.append("s-1", new_events(2), NO_STREAM)
        before = count(store)
        for expected in (0, 5, NO_STREAM):
            with pytest.raises(ConcurrencyConflict, match="s-1"):
                store.append("s-1", new_events(3), expected)
        with pytest.raises(ConcurrencyConflict):
            store.append("s-new", new_events(1), 0)
        assert count(store) == before
        assert store.head().position == before

    def test_a_batch_whose_second_event_conflicts_leaves_nothing(self, store: EventStore) -> None:
        stored = store.append("s-1", [NewEvent("Thing", {"a": 1}, event_id="fixed-id")], NO_STREAM)
        before = count(store)
        batch = [
            NewEvent("Thing", {"b": 2}),
            NewEvent("Thing", {"different": True}, event_id="fixed-id"),
        ]
        with pytest.raises(ConcurrencyConflict, match="fixed-id"):
            store.append("s-2", batch, NO_STREAM)
        assert count(store) == before
        assert store.read_stream("s-2") == []
        assert store.head().hash == stored[0].hash

    def test_a_batch_whose_second_payload_is_not_json_leaves_nothing(
        self, store: EventStore
    ) -> None:
        batch = [NewEvent("Thing", {"ok": 1}), NewEvent("Thing", {"bad": math.nan})]
        with pytest.raises(InvalidParameter, match=r"event 1 .*payload\.bad.*NaN"):
            store.append("s-1", batch, NO_STREAM)
        assert count(store) == 0

    @pytest.mark.parametrize(
        "value",
        [math.inf, -math.inf, b"bytes", object(), {1: "int key"}, 2**64, {1.5}],
        ids=["inf", "-inf", "bytes", "object", "int-key", "huge-int", "set"],
    )
    def test_non_json_payloads_are_rejected(self, store: EventStore, value: object) -> None:
        with pytest.raises(InvalidParameter, match="payload"):
            store.append("s-1", [NewEvent("Thing", {"v": value})], NO_STREAM)
        assert count(store) == 0

    def test_reappending_the_same_events_returns_their_original_positions(
        self, store: EventStore
    ) -> None:
        batch = [NewEvent("Thing", {"i": i}, event_id=f"id-{i}") for i in range(3)]
        first = store.append("s-1", batch, NO_STREAM)
        store.append("s-other", new_events(2), NO_STREAM)
        again = store.append("s-1", batch, NO_STREAM)
        assert [e.position for e in again] == [e.position for e in first] == [1, 2, 3]
        assert [e.hash for e in again] == [e.hash for e in first]
        assert count(store) == 5

    def test_reappending_same_ids_with_other_content_is_a_conflict(self, store: EventStore) -> None:
        store.append("s-1", [NewEvent("Thing", {"i": 1}, event_id="id-1")], NO_STREAM)
        with pytest.raises(ConcurrencyConflict, match="id-1"):
            store.append("s-1", [NewEvent("Thing", {"i": 2}, event_id="id-1")], NO_STREAM)
        with pytest.raises(ConcurrencyConflict, match="id-1"):
            store.append("s-2", [NewEvent("Thing", {"i": 1}, event_id="id-1")], NO_STREAM)
        assert count(store) == 1

    def test_a_batch_naming_one_event_id_twice_is_rejected(self, store: EventStore) -> None:
        batch = [
            NewEvent("Thing", {"i": 1}, event_id="x"),
            NewEvent("Thing", {"i": 2}, event_id="x"),
        ]
        with pytest.raises(InvalidParameter, match="same event_id"):
            store.append("s-1", batch, NO_STREAM)

    @pytest.mark.parametrize("expected", [-1, "latest", 1.5, None])
    def test_bad_expected_version_values_are_rejected(
        self, store: EventStore, expected: object
    ) -> None:
        with pytest.raises(InvalidParameter, match="expected_version"):
            store.append("s-1", new_events(1), expected)  # type: ignore[arg-type]

    def test_payload_is_stored_as_canonical_json(self, store: EventStore) -> None:
        store.append(
            "s-1", [NewEvent("Thing", {"b": 1, "a": {"z": 1.0, "y": [1, "x"]}})], NO_STREAM
        )
        with store.engine.connect() as conn:
            text = conn.execute(sa.select(events.c.payload)).scalar_one()
        assert text == '{"a":{"y":[1,"x"],"z":1.0},"b":1}'
        assert store.read_stream("s-1")[0].payload == {"a": {"y": [1, "x"], "z": 1.0}, "b": 1}

    def test_unicode_and_large_payloads_round_trip(self, store: EventStore) -> None:
        payload = {"text": "naïve 日本語 😀 " * 5000, "nested": [{"k": i} for i in range(1000)]}
        store.append("s-1", [NewEvent("Thing", payload)], NO_STREAM)
        assert store.read_stream("s-1")[0].payload == payload

    def test_metadata_records_user_time_and_commit(self, store: EventStore) -> None:
        with store.transaction(user="alice") as tx:
            tx.append("s-1", new_events(2), NO_STREAM)
            tx.append("s-2", new_events(1), NO_STREAM, metadata={"operation": "CREATE"})
        stored = store.read_all()
        assert {e.metadata["user"] for e in stored} == {"alice"}
        assert len({e.metadata["commit_id"] for e in stored}) == 1
        assert stored[2].metadata["operation"] == "CREATE"
        assert all(e.metadata["time_ms"] == e.recorded_at for e in stored)

    def test_the_ledger_records_no_user_it_was_not_given(
        self, store: EventStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("EVALLEDGER_USER", "alice")
        store.append("s-1", new_events(1), NO_STREAM)
        assert "user" not in store.read_all()[0].metadata

    def test_a_transaction_that_raises_appends_nothing(self, store: EventStore) -> None:
        with pytest.raises(RuntimeError), store.transaction() as tx:
            tx.append("s-1", new_events(3), NO_STREAM)
            raise RuntimeError("crash mid-transaction")
        assert count(store) == 0
        assert store.head().position == 0

    # -- reading --------------------------------------------------------------------------

    def test_read_stream_up_to_a_version(self, store: EventStore) -> None:
        store.append("s-1", new_events(5), NO_STREAM)
        assert [e.version for e in store.read_stream("s-1", up_to_version=2)] == [0, 1, 2]
        assert [e.version for e in store.read_stream("s-1", after_version=2)] == [3, 4]

    def test_read_all_pages_by_position(self, store: EventStore) -> None:
        for s in range(5):
            store.append(f"s-{s}", new_events(7), NO_STREAM)
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

    def test_read_until_a_point_in_time(self, store: EventStore) -> None:
        store.append("s-1", new_events(2), NO_STREAM)
        cut = store.head().recorded_at
        with store.transaction() as tx:
            tx.append("s-1", new_events(2), ANY)
        later = store.head().recorded_at
        upto = [e.position for e in store.read_until(cut)]
        assert upto == [1, 2] or later == cut  # a same-millisecond commit is included too
        assert [e.position for e in store.read_until(later)] == [1, 2, 3, 4]
        assert list(store.read_until(cut - 1)) == []

    def test_recorded_time_never_decreases_along_positions(self, store: EventStore) -> None:
        for i in range(20):
            store.append(f"s-{i % 3}", new_events(2), ANY)
        times = [e.recorded_at for e in store.read_all(limit=100)]
        assert times == sorted(times)

    # -- append-only, tamper evidence -----------------------------------------------------

    def test_update_on_events_is_rejected_by_the_database(self, store: EventStore) -> None:
        fill(store)
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            out_of_band(
                store.engine, events.update().where(events.c.position == 2).values(payload="{}")
            )
        assert store.read_all()[1].payload == {"s": 0, "i": 1}

    def test_delete_on_events_is_rejected_by_the_database(self, store: EventStore) -> None:
        fill(store)
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            out_of_band(store.engine, events.delete().where(events.c.position == 5))
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            out_of_band(store.engine, events.delete())
        assert len(store.read_all()) == 12

    def test_head_row_cannot_be_left_behind(self, store: EventStore) -> None:
        fill(store, streams=1, per_stream=3)
        with store.engine.connect() as conn:
            head = conn.execute(sa.select(ledger_head)).one()
        assert (head.position, head.hash) == (3, store.read_all()[-1].hash)

    def test_verify_passes_on_an_intact_chain(self, store: EventStore) -> None:
        fill(store)
        report = verify_chain(store.engine)
        assert report.ok
        assert report.events_checked == 12
        assert report.head_hash == store.read_all()[-1].hash

    def test_verify_names_the_first_edited_event(self, store: EventStore) -> None:
        fill(store)
        drop_triggers(store.engine)
        out_of_band(
            store.engine,
            events.update().where(events.c.position == 7).values(payload='{"i":99,"s":1}'),
        )
        report = verify_chain(store.engine, page_size=5)
        assert not report.ok
        assert report.first_bad_position == 7
        assert "position 7" in report.problem

    def test_verify_finds_a_deleted_event(self, store: EventStore) -> None:
        fill(store)
        drop_triggers(store.engine)
        out_of_band(store.engine, events.delete().where(events.c.position == 4))
        report = verify_chain(store.engine)
        assert report.first_bad_position == 4
        assert "missing" in report.problem

    def test_verify_finds_a_rehashed_edit_at_the_next_link(self, store: EventStore) -> None:
        """Even an editor who recomputes the edited event's hash breaks the next link."""
        fill(store)
        drop_triggers(store.engine)
        out_of_band(
            store.engine, events.update().where(events.c.position == 3).values(hash="f" * 64)
        )
        report = verify_chain(store.engine)
        assert report.first_bad_position == 3

    def test_verify_finds_truncated_tail_through_the_head(self, store: EventStore) -> None:
        fill(store)
        drop_triggers(store.engine)
        out_of_band(store.engine, events.delete().where(events.c.position == 12))
        report = verify_chain(store.engine)
        assert not report.ok
        assert "head" in report.problem

    # -- concurrency ----------------------------------------------------------------------

    @pytest.mark.slow
    def test_processes_racing_large_batches_lose_nothing_and_keep_order(
        self, db_url: str, store: EventStore
    ) -> None:
        start_at = time.time() + 2.0
        with ProcessPoolExecutor(WRITERS, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_race_writer, db_url, w, start_at) for w in range(WRITERS)]
            results = [f.result(timeout=300) for f in futures]

        total = WRITERS * BATCHES * BATCH_SIZE
        stored = list(store.iter_all())
        assert [e.position for e in stored] == list(range(1, total + 1))
        for per_writer in results:
            starts = [batch[0] for batch in per_writer]
            assert starts == sorted(starts), "a writer's own commits keep their order"
            for batch in per_writer:
                contiguous = list(range(batch[0], batch[0] + BATCH_SIZE))
                assert batch == contiguous, "a batch is contiguous"
        times = [e.recorded_at for e in stored]
        assert times == sorted(times)
        assert verify_chain(store.engine).ok

    def test_reader_tailing_by_position_never_skips_an_event(self, store: EventStore) -> None:
        seen: list[int] = []
        polls_while_held = 0
        slow_holds_lock = threading.Event()
        slow_committed = threading.Event()
        writers_done = threading.Event()

        def slow_writer() -> None:
            with store.transaction() as tx:
                tx.append("slow", [NewEvent("Thing", {"i": i}) for i in range(100)], NO_STREAM)
                slow_holds_lock.set()
                time.sleep(1.0)
            slow_committed.set()

        def fast_writer() -> None:
            slow_holds_lock.wait()
            store.append("fast", [NewEvent("Thing", {"i": i}) for i in range(50)], NO_STREAM)

        def reader() -> None:
            nonlocal polls_while_held
            after = 0
            while not (writers_done.is_set() and after >= 150):
                page = store.read_all(after_position=after, limit=40)
                if slow_holds_lock.is_set() and not slow_committed.is_set():
                    polls_while_held += 1
                seen.extend(e.position for e in page)
                if page:
                    after = page[-1].position
                time.sleep(0.005)

        threads = [threading.Thread(target=f) for f in (reader, slow_writer, fast_writer)]
        for t in threads:
            t.start()
        threads[1].join(30)
        threads[2].join(30)
        writers_done.set()
        threads[0].join(30)
        assert seen == list(range(1, 151))
        assert polls_while_held >= 5, "readers are not blocked by an open write transaction"
        assert [e.stream_id for e in store.read_all(limit=200)][:100] == ["slow"] * 100

    # -- upcasting ------------------------------------------------------------------------

    @pytest.fixture
    def golden_store(self, engine: sa.Engine) -> EventStore:
        """A ledger whose first event was written by an old version, exactly as it was
        stored, read through a store with upcasters to the current shape."""
        row = json.loads(GOLDEN.read_text())
        with engine.begin() as conn:
            conn.execute(events.insert(), [row])
            conn.execute(
                ledger_head.update().values(
                    position=row["position"], hash=row["hash"], recorded_at=row["recorded_at"]
                )
            )
        return EventStore(engine, _registry())

    def test_golden_v1_payload_is_read_in_the_current_shape(self, golden_store: EventStore) -> None:
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

    def test_upcasting_does_not_touch_the_stored_bytes(self, golden_store: EventStore) -> None:
        assert verify_chain(golden_store.engine).ok
        with golden_store.engine.connect() as conn:
            stored = conn.execute(sa.select(events.c.payload, events.c.schema_version)).one()
        assert stored.schema_version == 1
        assert stored.payload == json.loads(GOLDEN.read_text())["payload"]

    def test_new_events_are_written_at_the_current_schema_version(
        self, golden_store: EventStore
    ) -> None:
        golden_store.append("d-2", [NewEvent("RecordsMerged", {"records": []})], NO_STREAM)
        golden_store.append("d-3", [NewEvent("Unversioned", {})], NO_STREAM)
        with golden_store.engine.connect() as conn:
            rows = conn.execute(sa.select(events.c.stream_id, events.c.schema_version)).all()
        versions = dict(rows)
        assert versions["d-2"] == 3
        assert versions["d-3"] == 1
        assert verify_chain(golden_store.engine).ok

    def test_an_event_at_the_current_version_is_returned_unchanged(
        self, golden_store: EventStore
    ) -> None:
        payload = {
            "records": [{"inputs": {}, "expectations": {}, "source": {"source_type": "CODE"}}]
        }
        golden_store.append("d-4", [NewEvent("RecordsMerged", payload)], NO_STREAM)
        assert golden_store.read_stream("d-4")[0].payload == payload
