"""The schema comes from Alembic only, equals the tables in code, and upgrades safely."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from evalledger import Client
from evalledger.cli.main import main
from evalledger.ledger import LedgerError, NewEvent, create_engine
from evalledger.migrations.metadata import target_metadata
from evalledger.migrations.runner import (
    alembic_config,
    current_revision,
    ensure_current,
    head_revision,
    upgrade,
)
from evalledger.projections.rebuild import check_projections


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


def _lookup_keys(engine: sa.Engine) -> dict[tuple[str, str, int], int]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT dataset_id, record_id, valid_from, lookup_key FROM dataset_records")
        ).all()
    return {(d, r, v): k for d, r, v, k in rows}


def test_0009_fills_the_lookup_key_of_records_stored_before_it(db_url: str) -> None:
    """Records written before revision 0009 get the key the fold gives new ones, and a
    merge then finds them by it (updates them instead of adding them again)."""
    client = Client(db_url, user="migrator")
    ds = client.create_dataset("before-0009")
    ds.merge_records([{"inputs": {"q": i}, "expectations": {"a": 0}} for i in range(12)])
    ds.merge_records([{"inputs": {"q": i}, "expectations": {"a": 1}} for i in range(6)])
    keys = _lookup_keys(client.store.engine)
    assert len(keys) == 18  # 12 first versions, 6 of them superseded
    client.store.engine.dispose()

    engine = create_engine(db_url)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0008")
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("dataset_records")}
    assert "lookup_key" not in columns
    upgrade(engine)
    assert _lookup_keys(engine) == keys
    engine.dispose()

    again = Client(db_url, user="migrator")
    ds = again.get_dataset(name="before-0009")
    ds.merge_records([{"inputs": {"q": i}, "expectations": {"a": 2}} for i in range(3, 15)])
    df = ds.to_df()
    assert len(df) == 15
    assert sorted(e["a"] for e in df["expectations"]) == [1] * 3 + [2] * 12
    assert check_projections(again.store).ok
