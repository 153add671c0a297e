"""A writer queued behind another waits at most the lock timeout, then gets a
ConcurrencyConflict naming what holds the writer lock; nothing it meant to write is stored."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from evalledger import Client
from evalledger.cli.main import main
from evalledger.ledger import (
    ANY,
    NO_STREAM,
    ConcurrencyConflict,
    EventStore,
    InvalidParameter,
    LedgerError,
    NewEvent,
    create_engine,
    normalize_url,
)
from evalledger.ledger.writer_lock import set_program

TIMEOUT_S = 1.0


def _backend_id(conn: sa.Connection) -> str:
    """What the holder's connection is called in the waiter's message."""
    name = conn.dialect.name
    if name == "postgresql":
        return f"pid {conn.exec_driver_sql('SELECT pg_backend_pid()').scalar()}"
    if name == "sqlite":
        return str(normalize_url(str(conn.engine.url)).database)
    return f"connection {conn.exec_driver_sql('SELECT CONNECTION_ID()').scalar()}"


@contextmanager
def held_writer_lock(store: EventStore) -> Iterator[dict[str, Any]]:
    """Hold the writer lock in a thread (a write transaction with one event appended) until
    the block ends; yields what names the holder, and whether its commit went through."""
    state: dict[str, Any] = {}
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.transaction(user="holder") as tx:
            tx.append("held", [NewEvent("Happened", {"n": 1})], ANY)
            state["name"] = _backend_id(tx.conn)
            held.set()
            release.wait(30)
        state["committed"] = True

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(30), "the holder never got the writer lock"
        yield state
    finally:
        release.set()
        thread.join(30)


def test_a_queued_writer_gives_up_after_the_lock_timeout_naming_the_holder(db_url: str) -> None:
    engine = create_engine(db_url, lock_timeout_s=TIMEOUT_S)
    store = EventStore(engine)
    set_program("lock-test")
    try:
        with held_writer_lock(store) as holder:
            started = time.monotonic()
            with pytest.raises(ConcurrencyConflict) as caught:
                store.append("waiter", [NewEvent("Happened", {"n": 2})], NO_STREAM)
            waited = time.monotonic() - started
            message = caught.value.message
        assert TIMEOUT_S * 0.8 <= waited < TIMEOUT_S + 4, waited
        assert "gave up waiting for the writer lock after 1 s" in message
        assert "nothing was written" in message
        assert holder["name"] in message, message
        if engine.dialect.name == "postgresql":
            assert "evalledger lock-test pid" in message  # the holder's application_name
        # the holder's work outlived the timeout and still committed; the waiter left nothing
        assert holder["committed"]
        assert store.read_stream("waiter") == []
        assert [e.payload for e in store.read_stream("held")] == [{"n": 1}]
        store.append("waiter", [NewEvent("Happened", {"n": 3})], NO_STREAM)
        assert store.head().position == 2
    finally:
        set_program("")
        engine.dispose()


def test_a_client_waits_with_its_own_lock_timeout(db_url: str) -> None:
    patient = Client(db_url, user="tester")
    hasty = Client(db_url, user="tester", lock_timeout_s=TIMEOUT_S)
    patient.create_dataset("first")
    with held_writer_lock(patient.store):
        started = time.monotonic()
        with pytest.raises(ConcurrencyConflict, match="writer lock"):
            hasty.create_dataset("second")
        assert time.monotonic() - started < TIMEOUT_S + 4
    assert [d.name for d in hasty.search_datasets()] == ["first"]
    hasty.create_dataset("second")
    assert sorted(d.name for d in patient.search_datasets()) == ["first", "second"]


def test_rebuild_says_it_blocks_writers_and_for_how_long(
    db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALLEDGER_LOCK_TIMEOUT_S", "7.5")
    assert main(["--uri", db_url, "rebuild"]) == 0
    out = capsys.readouterr().out
    assert "rebuild holds the writer lock until it finishes" in out
    assert "each at most 7.5 s (the lock timeout)" in out
    assert "rebuilt every projection" in out


def test_a_bad_lock_timeout_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidParameter, match="lock_timeout_s -1: the lock timeout must be"):
        Client("sqlite://", lock_timeout_s=-1)
    monkeypatch.setenv("EVALLEDGER_LOCK_TIMEOUT_S", "soon")
    with pytest.raises(LedgerError, match="EVALLEDGER_LOCK_TIMEOUT_S 'soon'"):
        create_engine("sqlite://")
