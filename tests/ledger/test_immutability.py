"""Append-only in the database itself, and tamper evidence through the hash chain."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from evalledger.cli.main import main
from evalledger.ledger import NO_STREAM, EventStore, NewEvent, verify_chain
from evalledger.ledger.schema import events, ledger_head

_DROP_TRIGGERS = {
    "sqlite": ["DROP TRIGGER events_no_update", "DROP TRIGGER events_no_delete"],
    "postgresql": [
        "DROP TRIGGER events_no_update ON events",
        "DROP TRIGGER events_no_truncate ON events",
    ],
    "mysql": ["DROP TRIGGER events_no_update", "DROP TRIGGER events_no_delete"],
}


def _fill(store: EventStore, streams: int = 3, per_stream: int = 4) -> None:
    for s in range(streams):
        store.append(
            f"s-{s}", [NewEvent("Thing", {"s": s, "i": i}) for i in range(per_stream)], NO_STREAM
        )


def _drop_triggers(engine: sa.Engine) -> None:
    name = "mysql" if engine.dialect.name == "mariadb" else engine.dialect.name
    with engine.begin() as conn:
        for statement in _DROP_TRIGGERS[name]:
            conn.exec_driver_sql(statement)


def _out_of_band(engine: sa.Engine, statement: sa.Executable) -> None:
    with engine.begin() as conn:
        conn.execute(statement)


def test_update_on_events_is_rejected_by_the_database(store: EventStore) -> None:
    _fill(store)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        _out_of_band(
            store.engine, events.update().where(events.c.position == 2).values(payload="{}")
        )
    assert store.read_all()[1].payload == {"s": 0, "i": 1}


def test_delete_on_events_is_rejected_by_the_database(store: EventStore) -> None:
    _fill(store)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        _out_of_band(store.engine, events.delete().where(events.c.position == 5))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        _out_of_band(store.engine, events.delete())
    assert len(store.read_all()) == 12


def test_verify_passes_on_an_intact_chain(store: EventStore) -> None:
    _fill(store)
    report = verify_chain(store.engine)
    assert report.ok
    assert report.events_checked == 12
    assert report.head_hash == store.read_all()[-1].hash


def test_verify_names_the_first_edited_event(store: EventStore) -> None:
    _fill(store)
    _drop_triggers(store.engine)
    _out_of_band(
        store.engine, events.update().where(events.c.position == 7).values(payload='{"i":99,"s":1}')
    )
    report = verify_chain(store.engine, page_size=5)
    assert not report.ok
    assert report.first_bad_position == 7
    assert "position 7" in report.problem


def test_verify_finds_a_deleted_event(store: EventStore) -> None:
    _fill(store)
    _drop_triggers(store.engine)
    _out_of_band(store.engine, events.delete().where(events.c.position == 4))
    report = verify_chain(store.engine)
    assert report.first_bad_position == 4
    assert "missing" in report.problem


def test_verify_finds_a_rehashed_edit_at_the_next_link(store: EventStore) -> None:
    """Even an editor who recomputes the edited event's hash breaks the next link."""
    _fill(store)
    _drop_triggers(store.engine)
    _out_of_band(store.engine, events.update().where(events.c.position == 3).values(hash="f" * 64))
    report = verify_chain(store.engine)
    assert report.first_bad_position == 3


def test_verify_finds_truncated_tail_through_the_head(store: EventStore) -> None:
    _fill(store)
    _drop_triggers(store.engine)
    _out_of_band(store.engine, events.delete().where(events.c.position == 12))
    report = verify_chain(store.engine)
    assert not report.ok
    assert "head" in report.problem


def test_cli_verify_exit_status_and_message(db_url: str, store: EventStore, capsys) -> None:
    _fill(store)
    assert main(["--uri", db_url, "verify"]) == 0
    assert "hash chain intact" in capsys.readouterr().out
    _drop_triggers(store.engine)
    _out_of_band(
        store.engine, events.update().where(events.c.position == 9).values(stream_id="evil")
    )
    assert main(["--uri", db_url, "verify"]) == 1
    err = capsys.readouterr().err
    assert "position 9" in err
    assert "Traceback" not in err


def test_head_row_cannot_be_left_behind(store: EventStore) -> None:
    _fill(store, streams=1, per_stream=3)
    with store.engine.connect() as conn:
        head = conn.execute(sa.select(ledger_head)).one()
    assert (head.position, head.hash) == (3, store.read_all()[-1].hash)
