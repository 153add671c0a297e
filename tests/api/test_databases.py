"""Databases that are not ours, and databases that are not there (API.md §1)."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from evalledger import Client, errors
from evalledger.cli.main import main
from evalledger.errors import InvalidParameter, ResourceNotFound

MLFLOW_TABLES = (
    "CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name VARCHAR(256))",
    "CREATE TABLE runs (run_uuid VARCHAR(32) PRIMARY KEY, experiment_id INTEGER)",
    "CREATE TABLE datasets (dataset_uuid VARCHAR(36) PRIMARY KEY, name VARCHAR(500))",
    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
    "INSERT INTO alembic_version (version_num) VALUES ('1b5f0d9ad7c1')",
)


def _make_mlflow_like(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in MLFLOW_TABLES:
            conn.exec_driver_sql(statement)
    engine.dispose()


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_another_applications_database_is_refused_and_left_alone(fresh_url: str) -> None:
    url = fresh_url
    _make_mlflow_like(url)
    before = _tables(url)
    with pytest.raises(errors.ForeignDatabase, match="another application's Alembic schema"):
        Client(url).search_datasets()
    with pytest.raises(errors.ForeignDatabase, match="Nothing in it was changed"):
        Client(url).create_dataset("x")
    assert _tables(url) == before  # no events table, no projections, no upgrade


def test_an_mlflow_sqlite_file_keeps_its_bytes_and_journal_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mlflow.db"
    with sqlite3.connect(path) as conn:
        for statement in MLFLOW_TABLES:
            conn.execute(statement)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert main(["--uri", f"sqlite:///{path}", "datasets"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not an evalledger ledger" in err and "Traceback" not in err
    with pytest.raises(errors.ForeignDatabase):
        Client(f"sqlite:///{path}").search_datasets()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert not Path(f"{path}-wal").exists()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(errors.ForeignDatabase, match="not a SQLite database"):
        Client(f"sqlite:///{path}").search_datasets()
    assert path.read_text().startswith("these are my notes")


def test_reading_a_ledger_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "typo.db"
    with pytest.raises(errors.ResourceNotFound, match=r"typo\.db: the file does not exist"):
        Client(f"sqlite:///{path}", create=False).search_datasets()
    assert not path.exists()
    Client(f"sqlite:///{path}").create_dataset("real")  # a writer creates it
    found = Client(f"sqlite:///{path}", create=False).search_datasets()
    assert [d.name for d in found] == ["real"]


def test_reading_an_empty_database_creates_nothing(fresh_url: str) -> None:
    if fresh_url.startswith("sqlite:///"):
        Path(fresh_url.removeprefix("sqlite:///")).touch()  # an empty file, as a server's db
    with pytest.raises(errors.ResourceNotFound, match="the database is empty"):
        Client(fresh_url, create=False).search_datasets()
    assert _tables(fresh_url) == set()


def test_a_missing_directory_is_one_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir"
    with pytest.raises(errors.DatabaseUnavailable, match=r"the directory .*dir does not exist"):
        Client(f"sqlite:///{missing / 'x.db'}").create_dataset("d")
    assert not missing.exists()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql://postgres@127.0.0.1:1/evalledger", "Connection refused"),
        ("postgresql://no_such_role@127.0.0.1:5432/postgres", 'role "no_such_role" does not exist'),
        ("mysql://root@127.0.0.1:1/evalledger", "Connection refused"),
        ("mysql://no_such_user:pw@127.0.0.1:3306/evalledger", "Access denied"),
    ],
)
def test_an_unusable_server_is_a_ledger_error_with_one_line(url: str, reason: str) -> None:
    with pytest.raises(errors.DatabaseUnavailable) as raised:
        Client(url).search_datasets()
    message = str(raised.value)
    assert reason in message and "\n" not in message and "cannot use the database" in message
    assert raised.value.error_code == "TEMPORARILY_UNAVAILABLE"


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A server on loopback that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    listener.close()


@pytest.mark.parametrize("scheme", ["postgresql", "mysql"])
def test_a_server_that_never_answers_times_out(
    silent_server: int, scheme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALLEDGER_CONNECT_TIMEOUT", "2")
    start = time.monotonic()
    with pytest.raises(errors.DatabaseUnavailable):
        Client(f"{scheme}://u@127.0.0.1:{silent_server}/db").search_datasets()
    assert time.monotonic() - start < 15


@pytest.mark.slow
def test_a_real_mlflow_database_is_refused_and_left_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    sqlalchemy_store = importlib.import_module("mlflow.store.tracking.sqlalchemy_store")
    path = tmp_path / "mlflow.db"
    store = sqlalchemy_store.SqlAlchemyStore(f"sqlite:///{path}", str(tmp_path / "artifacts"))
    store.engine.dispose()  # MLflow's own schema, made by MLflow's own migrations
    with sqlite3.connect(path) as conn:
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    capsys.readouterr()  # MLflow's own log lines
    assert main(["--uri", f"sqlite:///{path}", "datasets"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "another application's Alembic schema" in err, err
    assert main(["--uri", f"sqlite:///{path}", "demo"]) == 1
    assert "is not an evalledger ledger" in capsys.readouterr().err
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == journal


@pytest.mark.parametrize(
    "call",
    [
        lambda c, d: c.search_datasets(filter_string="name = 'a\x00b'"),
        lambda c, d: c.search_datasets(experiment_ids=["1\x00"]),
        lambda c, d: c.search_traces(filter_string="tags.a = 'x\x00'"),
        lambda c, d: c.search_datasets(filter_string="name = '\ud800'"),
        lambda c, d: d.label_version("a\ud800"),
        lambda c, d: c.get_dataset(dataset_id=d.dataset_id, as_of=10**30),
        lambda c, d: c.get_experiment("1\x00"),
        lambda c, d: c.get_experiment_by_name("a\x00") or c.get_dataset(name="d\x00"),
        lambda c, d: c.get_dataset(dataset_id="d-\x00"),
    ],
)
def test_values_a_database_cannot_use_are_errors_of_ours(client: Client, call: Any) -> None:
    """NUL in text (PostgreSQL), lone surrogates, numbers out of range: an InvalidParameter
    (or not found), never a driver's error."""
    dataset = client.create_dataset("d")
    with contextlib.suppress(InvalidParameter, ResourceNotFound):
        call(client, dataset)
    assert client.get_dataset(dataset_id=dataset.dataset_id).version == 0
