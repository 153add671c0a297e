"""Writers in several processes, and readers tailing by position while writers work."""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor

import pytest

from evalledger.ledger import NO_STREAM, EventStore, NewEvent, create_engine, verify_chain

WRITERS, BATCHES, BATCH_SIZE = 2, 12, 500


def _race_writer(url: str, writer: int, start_at: float) -> list[list[int]]:
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


@pytest.mark.slow
def test_processes_racing_large_batches_lose_nothing_and_keep_order(
    db_url: str, store: EventStore
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
            assert batch == list(range(batch[0], batch[0] + BATCH_SIZE)), "a batch is contiguous"
    times = [e.recorded_at for e in stored]
    assert times == sorted(times)
    assert verify_chain(store.engine).ok


def test_reader_tailing_by_position_never_skips_an_event(store: EventStore) -> None:
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
