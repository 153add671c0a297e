"""The event store's contract (contract.py), run on each backend; and `evalledger verify`
on a tampered ledger.

A backend not in EVALLEDGER_TEST_BACKENDS is deselected; one that is listed but cannot be
reached fails its tests, it is never skipped.
"""

from __future__ import annotations

import pytest
from contract import EventStoreContract, drop_triggers, fill, out_of_band

from evalledger.cli.main import main
from evalledger.ledger import EventStore
from evalledger.ledger.schema import events


class TestSQLiteEventStore(EventStoreContract):
    backend = "sqlite"


class TestPostgreSQLEventStore(EventStoreContract):
    backend = "postgresql"


class TestMariaDBEventStore(EventStoreContract):
    backend = "mariadb"


def test_cli_verify_exit_status_and_message(
    db_url: str, store: EventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(store)
    assert main(["--uri", db_url, "verify"]) == 0
    assert "hash chain intact" in capsys.readouterr().out
    drop_triggers(store.engine)
    out_of_band(
        store.engine, events.update().where(events.c.position == 9).values(stream_id="evil")
    )
    assert main(["--uri", db_url, "verify"]) == 1
    err = capsys.readouterr().err
    assert "position 9" in err
    assert "Traceback" not in err
