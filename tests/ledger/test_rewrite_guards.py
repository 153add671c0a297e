"""The database itself refuses every statement that would rewrite history (migrations 0001
and 0008), sent through a plain connection on each backend; what a table owner can still
do by disabling the guards, verify catches.

Each refused statement must leave the events, the head and a passing verify exactly as they
were, and the next write through the ledger must work.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from alembic import command

from evalledger.ledger import NO_STREAM, EventStore, NewEvent, verify_chain
from evalledger.ledger.schema import GENESIS_HASH, events, ledger_head
from evalledger.migrations.runner import alembic_config, upgrade

APPEND_ONLY = "events is append-only"
HEAD_ONLY_ADVANCES = "ledger_head only advances with the ledger"
FORGED_PAYLOAD = '{"forged":true}'


@dataclass(frozen=True)
class Attempt:
    """One statement that would rewrite history, and a fragment of the database's refusal.

    `sql` may name `{columns}` (every events column, quoted) and bind parameters from
    `ledger_values`; `row` picks the forged events row bound as `:r_<column>`."""

    name: str
    sql: str
    refusal: str
    row: str | None = None


def _insert(verb: str, suffix: str = "") -> str:
    return f"{verb} INTO events ({{columns}}) VALUES ({{values}}){suffix}"  # filled in later


_HEAD_ROW = "INSERT INTO ledger_head (id, position, hash, recorded_at) VALUES "

EVERY_BACKEND = [
    Attempt("update a payload", "UPDATE events SET payload = '{}' WHERE position = 2", APPEND_ONLY),
    Attempt("delete one event", "DELETE FROM events WHERE position = 3", APPEND_ONLY),
    Attempt("delete every event", "DELETE FROM events", APPEND_ONLY),
    Attempt(
        "move the head back",
        "UPDATE ledger_head SET position = :pos2, hash = :hash2, recorded_at = :at2",
        HEAD_ONLY_ADVANCES,
    ),
    Attempt(
        "reset the head to the empty ledger",
        "UPDATE ledger_head SET position = 0, hash = :genesis, recorded_at = 0",
        HEAD_ONLY_ADVANCES,
    ),
    Attempt(
        "give the head a wrong hash",
        "UPDATE ledger_head SET hash = :forged_hash",
        HEAD_ONLY_ADVANCES,
    ),
    Attempt(
        "move the head past the last event",
        "UPDATE ledger_head SET position = :head_pos + 1",
        HEAD_ONLY_ADVANCES,
    ),
    Attempt(
        "move the head's time back",
        "UPDATE ledger_head SET recorded_at = :head_at - 1",
        HEAD_ONLY_ADVANCES,
    ),
    Attempt(
        "move the head's time forward alone",
        "UPDATE ledger_head SET recorded_at = :head_at + 1",
        HEAD_ONLY_ADVANCES,
    ),
    Attempt("renumber the head row", "UPDATE ledger_head SET id = 2", HEAD_ONLY_ADVANCES),
    Attempt("delete the head row", "DELETE FROM ledger_head", HEAD_ONLY_ADVANCES),
    Attempt(
        "insert a second head row",
        _HEAD_ROW + "(2, :head_pos, :head_hash, :head_at)",
        HEAD_ONLY_ADVANCES,
    ),
]

SQLITE = [
    Attempt(
        "INSERT OR REPLACE at a stored position",
        _insert("INSERT OR REPLACE"),
        APPEND_ONLY,
        "at_position_2",
    ),
    Attempt(
        "INSERT OR REPLACE reusing an event_id",
        _insert("INSERT OR REPLACE"),
        APPEND_ONLY,
        "reusing_event_id",
    ),
    Attempt(
        "INSERT OR REPLACE reusing a stream version",
        _insert("INSERT OR REPLACE"),
        APPEND_ONLY,
        "reusing_stream_version",
    ),
    Attempt("REPLACE INTO at a stored position", _insert("REPLACE"), APPEND_ONLY, "at_position_2"),
    Attempt(
        "INSERT ON CONFLICT DO UPDATE",
        _insert("INSERT", " ON CONFLICT (position) DO UPDATE SET payload = excluded.payload"),
        APPEND_ONLY,
        "at_position_2",
    ),
    Attempt(
        "UPDATE OR REPLACE",
        "UPDATE OR REPLACE events SET position = 3 WHERE position = 2",
        APPEND_ONLY,
    ),
    Attempt(
        "INSERT OR REPLACE the head row",
        "INSERT OR REPLACE" + _HEAD_ROW.removeprefix("INSERT") + "(1, 0, :genesis, 0)",
        HEAD_ONLY_ADVANCES,
    ),
    Attempt(
        "upsert the head row",
        _HEAD_ROW + "(1, 0, :genesis, 0) ON CONFLICT (id) DO UPDATE SET position = 0, "
        "hash = excluded.hash, recorded_at = 0",
        HEAD_ONLY_ADVANCES,
    ),
]

POSTGRESQL = [
    Attempt("TRUNCATE", "TRUNCATE TABLE events", "foreign key constraint"),
    Attempt("TRUNCATE CASCADE", "TRUNCATE TABLE events CASCADE", APPEND_ONLY),
    Attempt(
        "INSERT ON CONFLICT DO UPDATE",
        _insert("INSERT", " ON CONFLICT (position) DO UPDATE SET payload = EXCLUDED.payload"),
        APPEND_ONLY,
        "at_position_2",
    ),
    Attempt(
        "MERGE that deletes",
        "MERGE INTO events e USING (SELECT 2 AS p) s ON e.position = s.p WHEN MATCHED THEN DELETE",
        APPEND_ONLY,
    ),
    Attempt("DROP TABLE", "DROP TABLE events", "depend on it"),
    Attempt("TRUNCATE the head", "TRUNCATE TABLE ledger_head", "foreign key constraint"),
    Attempt("TRUNCATE the head CASCADE", "TRUNCATE TABLE ledger_head CASCADE", HEAD_ONLY_ADVANCES),
    Attempt(
        "upsert the head row",
        _HEAD_ROW + "(1, 0, :genesis, 0) ON CONFLICT (id) DO UPDATE SET position = 0, "
        "hash = EXCLUDED.hash, recorded_at = 0",
        HEAD_ONLY_ADVANCES,
    ),
]

MARIADB = [
    Attempt("TRUNCATE", "TRUNCATE TABLE events", "foreign key constraint"),
    Attempt("REPLACE INTO at a stored position", _insert("REPLACE"), APPEND_ONLY, "at_position_2"),
    Attempt(
        "REPLACE INTO reusing an event_id", _insert("REPLACE"), APPEND_ONLY, "reusing_event_id"
    ),
    Attempt(
        "REPLACE INTO reusing a stream version",
        _insert("REPLACE"),
        APPEND_ONLY,
        "reusing_stream_version",
    ),
    Attempt(
        "INSERT ON DUPLICATE KEY UPDATE",
        _insert("INSERT", " ON DUPLICATE KEY UPDATE payload = VALUES(payload)"),
        APPEND_ONLY,
        "at_position_2",
    ),
    Attempt("DROP TABLE", "DROP TABLE events", "foreign key constraint fails"),
    Attempt("TRUNCATE the head", "TRUNCATE TABLE ledger_head", "foreign key constraint"),
    Attempt(
        "REPLACE the head row",
        "REPLACE" + _HEAD_ROW.removeprefix("INSERT") + "(1, 0, :genesis, 0)",
        HEAD_ONLY_ADVANCES,
    ),
    Attempt(
        "upsert the head row",
        _HEAD_ROW + "(1, 0, :genesis, 0) ON DUPLICATE KEY UPDATE position = 0, recorded_at = 0",
        HEAD_ONLY_ADVANCES,
    ),
]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each backend's class runs every attempt that backend's SQL can express."""
    if "attempt" in metafunc.fixturenames:
        attempts = EVERY_BACKEND + metafunc.cls.attempts
        metafunc.parametrize("attempt", attempts, ids=[a.name for a in attempts])


# ----------------------------------------------------------------------------- helpers


@pytest.fixture
def plain(db_url: str) -> Iterator[sa.Engine]:
    """A plain SQLAlchemy engine: none of the ledger's settings or error handling."""
    engine = sa.create_engine(db_url, poolclass=sa.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def ledger(store: EventStore) -> EventStore:
    """Three events: s-a versions 0 and 1, then s-b version 0."""
    store.append("s-a", [NewEvent("Thing", {"i": 0}), NewEvent("Thing", {"i": 1})], NO_STREAM)
    store.append("s-b", [NewEvent("Thing", {"i": 2})], NO_STREAM)
    return store


def contents(engine: sa.Engine) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every stored event and the head rows, exactly as stored."""
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.select(events).order_by(events.c.position))]
        head = [tuple(r) for r in conn.execute(sa.select(ledger_head).order_by(ledger_head.c.id))]
        return rows, head


def forged_rows(engine: sa.Engine) -> dict[str, dict[str, Any]]:
    """Rows that collide with event 2 on all its unique keys, or on only one of them."""
    with engine.connect() as conn:
        second = dict(
            conn.execute(sa.select(events).where(events.c.position == 2)).mappings().one()
        )
    after = 4
    return {
        "at_position_2": {**second, "payload": FORGED_PAYLOAD},
        "reusing_event_id": {**second, "position": after, "stream_id": "s-new", "version": 0},
        "reusing_stream_version": {**second, "position": after, "event_id": "forged-event-id"},
    }


def ledger_values(engine: sa.Engine) -> dict[str, Any]:
    rows, [(_, head_pos, head_hash, head_at)] = contents(engine)
    names = [c.name for c in events.columns]
    second = dict(zip(names, rows[1], strict=True))
    return {
        "pos2": second["position"],
        "hash2": second["hash"],
        "at2": second["recorded_at"],
        "head_pos": head_pos,
        "head_hash": head_hash,
        "head_at": head_at,
        "genesis": GENESIS_HASH,
        "forged_hash": "f" * 64,
    }


def statement(engine: sa.Engine, attempt: Attempt) -> tuple[sa.TextClause, dict[str, Any]]:
    params = ledger_values(engine)
    quote = "`" if engine.dialect.name in ("mysql", "mariadb") else '"'
    names = [c.name for c in events.columns]
    sql = attempt.sql.replace("{columns}", ", ".join(f"{quote}{n}{quote}" for n in names))
    sql = sql.replace("{values}", ", ".join(f":r_{n}" for n in names))
    if attempt.row is not None:
        params.update({f"r_{k}": v for k, v in forged_rows(engine)[attempt.row].items()})
    return sa.text(sql), params


def write_works(store: EventStore) -> None:
    """The next write through the ledger commits and the chain still verifies."""
    (stored,) = store.append("s-after", [NewEvent("Thing", {"i": 9})], NO_STREAM)
    assert stored.position == 4
    assert verify_chain(store.engine).ok


# ----------------------------------------------------------------------------- tests


class RewriteGuardsContract:
    """What every backend refuses; each subclass names its backend and its own statements."""

    backend: ClassVar[str]
    attempts: ClassVar[list[Attempt]]

    def test_statement_is_refused_and_changes_nothing(
        self, attempt: Attempt, ledger: EventStore, plain: sa.Engine
    ) -> None:
        before = contents(plain)
        sql, params = statement(plain, attempt)
        with pytest.raises(sa.exc.DBAPIError, match=attempt.refusal), plain.begin() as conn:
            conn.execute(sql, params)
        assert contents(plain) == before
        assert verify_chain(ledger.engine).ok
        write_works(ledger)

    def test_downgrade_removes_the_guards_and_upgrade_restores_them(
        self, ledger: EventStore, plain: sa.Engine
    ) -> None:
        move_back = sa.text("UPDATE ledger_head SET position = 0, hash = :g, recorded_at = 0")
        config = alembic_config()
        with plain.connect() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0007")
            conn.commit()
            assert "append_only_guard" not in sa.inspect(conn).get_table_names()
        with plain.begin() as conn:
            conn.execute(move_back, {"g": GENESIS_HASH})
        assert not verify_chain(ledger.engine).ok
        upgrade(ledger.engine)
        with pytest.raises(sa.exc.DBAPIError, match=HEAD_ONLY_ADVANCES), plain.begin() as conn:
            conn.execute(sa.text("UPDATE ledger_head SET position = 1"))


class TestSQLiteRefusesRewrites(RewriteGuardsContract):
    backend = "sqlite"
    attempts = SQLITE

    def test_replace_is_refused_with_recursive_triggers_on_too(
        self, ledger: EventStore, plain: sa.Engine
    ) -> None:
        before = contents(plain)
        sql, params = statement(plain, SQLITE[0])
        with pytest.raises(sa.exc.DBAPIError, match=APPEND_ONLY), plain.begin() as conn:
            conn.exec_driver_sql("PRAGMA recursive_triggers = ON")
            conn.execute(sql, params)
        assert contents(plain) == before


class TestPostgreSQLRefusesRewrites(RewriteGuardsContract):
    backend = "postgresql"
    attempts = POSTGRESQL

    def test_owner_disabling_triggers_to_edit_a_payload_is_caught_by_verify(
        self, ledger: EventStore, plain: sa.Engine
    ) -> None:
        with plain.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE events DISABLE TRIGGER ALL")
            conn.execute(
                events.update().where(events.c.position == 2).values(payload=FORGED_PAYLOAD)
            )
        report = verify_chain(ledger.engine)
        assert not report.ok
        assert report.first_bad_position == 2
        assert "position 2" in (report.problem or "")


class TestMariaDBRefusesRewrites(RewriteGuardsContract):
    backend = "mariadb"
    attempts = MARIADB

    def test_truncate_without_foreign_key_checks_is_caught_by_verify(
        self, ledger: EventStore, plain: sa.Engine
    ) -> None:
        """Foreign key checks are a session setting: with them off TRUNCATE goes through.
        The head cannot follow it back, so verify names the gap."""
        with plain.connect() as conn:
            conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
            conn.exec_driver_sql("TRUNCATE TABLE events")
            with pytest.raises(sa.exc.DBAPIError, match=HEAD_ONLY_ADVANCES):
                conn.execute(
                    sa.text("UPDATE ledger_head SET position = 0, hash = :g, recorded_at = 0"),
                    {"g": GENESIS_HASH},
                )
        report = verify_chain(ledger.engine)
        assert not report.ok
        assert "the ledger head (position 3) does not match the last event (position 0)" in (
            report.problem or ""
        )

    def test_truncated_head_is_caught_by_verify_and_cannot_be_put_back(
        self, ledger: EventStore, plain: sa.Engine
    ) -> None:
        with plain.connect() as conn:
            conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
            conn.exec_driver_sql("TRUNCATE TABLE ledger_head")
            with pytest.raises(sa.exc.DBAPIError, match=HEAD_ONLY_ADVANCES):
                conn.execute(sa.text(_HEAD_ROW + "(1, 0, :g, 0)"), {"g": GENESIS_HASH})
        report = verify_chain(ledger.engine)
        assert not report.ok
        assert "head row is missing" in (report.problem or "")
