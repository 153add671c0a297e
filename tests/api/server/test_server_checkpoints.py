"""`evalledger server --checkpoint-key FILE --checkpoint-every N` (API.md §12): the server
signs a checkpoint after every N of its commits, in the background, and logs each one as a
line that `verify --checkpoint` reads back."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
import requests
from processes import server_process

from evalledger.ledger import (
    NO_STREAM,
    EventStore,
    LedgerError,
    NewEvent,
    create_engine,
    load_private_key,
    load_public_key,
    read_checkpoints,
    verify_chain,
    verify_checkpoints,
    write_key_pair,
)
from evalledger.ledger.checkpoints import STREAM_ID
from evalledger.server import checkpointing
from evalledger.server.checkpointing import Checkpointer

V2 = "/api/2.0/mlflow/experiments"
V3 = "/api/3.0/mlflow/datasets"


def _checkpoints_in_ledger(db_url: str, public: Path, wait_for: int = 0) -> int:
    """The checkpoints the ledger holds (all verified), once there are `wait_for` of them."""
    engine = create_engine(db_url)
    try:
        deadline = time.monotonic() + 20
        while True:
            report = verify_checkpoints(engine, load_public_key(public))
            if report.in_ledger >= wait_for or time.monotonic() > deadline:
                assert report.ok, report.problem
                assert verify_chain(engine).ok
                return report.in_ledger
            time.sleep(0.1)
    finally:
        engine.dispose()


def test_the_server_checkpoints_every_n_commits(db_url: str, tmp_path: Path) -> None:
    key = write_key_pair(tmp_path / "server-key")
    log = tmp_path / "server.log"
    args = ("--checkpoint-key", str(key.private), "--checkpoint-every", "2")
    with server_process(db_url, *args, log=log) as url:
        for i in range(3):
            answer = requests.post(f"{url}{V2}/create", json={"name": f"e{i}"}, timeout=30)
            assert answer.status_code == 200, answer.text
        created = requests.post(f"{url}{V3}/create", json={"name": "qa"}, timeout=30)
        assert created.status_code == 200, created.text
        # 4 commits through the server: a checkpoint after the 2nd and after the 4th
        assert _checkpoints_in_ledger(db_url, key.public, 2) == 2
        # reads are not commits
        for _ in range(4):
            assert requests.post(f"{url}{V3}/search", json={}, timeout=30).status_code == 200
    assert _checkpoints_in_ledger(db_url, key.public) == 2
    text = log.read_text()
    assert "signed checkpoints every 2 commits" in text
    logged = read_checkpoints(log)  # the log itself is a file of kept checkpoints
    assert [c.checkpoints_before for c in logged] == [0, 1]
    engine = create_engine(db_url)
    try:
        report = verify_checkpoints(engine, load_public_key(key.public), logged)
    finally:
        engine.dispose()
    assert report.ok and report.checked == 2 and report.warnings == ()


def _wait_idle(checkpointer: Checkpointer) -> None:
    checkpointer.close()  # waits for the checkpoint being written, if any


def test_the_checkpointer_counts_commits_not_its_own(store: EventStore, tmp_path: Path) -> None:
    key = write_key_pair(tmp_path / "k")
    Checkpointer(store, load_private_key(key.private), every=3).install()
    # an app built twice in one process installs a second: it replaces the first
    checkpointer = Checkpointer(store, load_private_key(key.private), every=3).install()
    assert store.commit_listeners == [checkpointer.committed]
    for i in range(7):
        store.append(f"s-{i}", [NewEvent("Thing", {"i": i})], NO_STREAM)
        if i == 2:
            time.sleep(0.5)  # let the first checkpoint land before the next commits
    _wait_idle(checkpointer)
    signed = store.read_stream(STREAM_ID)
    assert [e.payload["checkpoints_before"] for e in signed] == [0, 1]
    assert signed[0].payload["position"] == 3
    assert signed[0].metadata["user"] == "evalledger-server"


def test_a_failing_checkpoint_never_fails_the_commit(
    store: EventStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise LedgerError("the database went away")

    monkeypatch.setattr(checkpointing, "create_checkpoint", broken)
    key = write_key_pair(tmp_path / "k")
    checkpointer = Checkpointer(store, load_private_key(key.private), every=1).install()
    with caplog.at_level(logging.ERROR, logger="evalledger.server.checkpoints"):
        stored = store.append("s", [NewEvent("Thing", {"i": 1})], NO_STREAM)
        _wait_idle(checkpointer)
    assert stored[0].position == 1 and store.head().position == 1
    assert "could not write a checkpoint" in caplog.text
    assert "the database went away" in caplog.text
