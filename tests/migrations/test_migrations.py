"""The schema comes from Alembic only, equals the tables in code, and upgrades safely."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from evalledger import Client
from evalledger.cli.main import main
from evalledger.ledger import LedgerError, NewEvent, create_engine
from evalledger.migrations.metadata import target_metadata
from evalledger.migrations.runner import current_revision, ensure_current, head_revision


def test_tables_in_code_equal_what_the_migrations_build(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, target_metadata)
    assert diff == []


def _upgrade_at(url: str, start_at: float) -> str | None:
    engine = create_engine(url)
    time.sleep(max(0.0, start_at - time.time()))
    ensure_current(engine)
    revision = current_revision(engine)
    engine.dispose()
    return revision


@pytest.mark.slow
def test_two_processes_upgrading_a_fresh_database_both_succeed(fresh_url: str) -> None:
    start_at = time.time() + 2.0
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_upgrade_at, fresh_url, start_at) for _ in range(2)]
        revisions = [f.result(timeout=120) for f in futures]
    assert revisions == [head_revision()] * 2


def test_first_use_upgrades_automatically(fresh_url: str) -> None:
    store = Client(fresh_url).store
    assert current_revision(store.engine) == head_revision()
    store.append("s", [NewEvent("Thing", {})], "any")


def test_auto_migrate_can_be_turned_off(fresh_url: str, monkeypatch) -> None:
    monkeypatch.setenv("EVALLEDGER_AUTO_MIGRATE", "0")
    with pytest.raises(LedgerError, match="evalledger db upgrade"):
        _ = Client(fresh_url).store
    engine = create_engine(fresh_url)
    assert current_revision(engine) is None
    engine.dispose()


def test_cli_db_upgrade(fresh_url: str, capsys) -> None:
    assert main(["db", "upgrade", "--uri", fresh_url]) == 0
    assert "current" in capsys.readouterr().out
    engine = create_engine(fresh_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_in_memory_sqlite_works_end_to_end() -> None:
    store = Client("sqlite://").store
    store.append("s", [NewEvent("Thing", {"x": 1})], "no stream")
    assert store.read_stream("s")[0].payload == {"x": 1}
