"""Tampering with the ledger's tables the way their owner could, for the tests that show what
verify catches with and without a key.

Each helper takes the guards away first (`drop_guards`: every trigger on events and
ledger_head, found generically so guards added by later migrations go too), then changes
the tables directly:

- `edit_in_place`: change one event's payload, leaving its hash (the chain shows it);
- `rewrite_consistently`: change one event's payload, then recompute every later hash and
  the head, as an attacker who knows the hashing would (the chain alone cannot show it);
- `delete_and_renumber`: remove events, renumber and rehash everything after them;
- `erase_everything`: remove every event (TRUNCATE on MariaDB) and reset the head;
- `cut_after`: remove every event after a position and move the head back to it.

Projections are not touched: call `rebuild` afterwards to make them match again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import sqlalchemy as sa

from evalledger.ledger import EventStore
from evalledger.ledger.hashing import event_hash
from evalledger.ledger.schema import GENESIS_HASH, events, ledger_head
from evalledger.projections.rebuild import rebuild as rebuild_projections

Payload = dict[str, Any]
_GUARDED = ("events", "ledger_head")


def drop_guards(conn: sa.Connection) -> None:
    """Take away every trigger guarding events and ledger_head (and, on MariaDB, the
    foreign keys that block TRUNCATE), as the tables' owner can."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        names = conn.execute(
            sa.text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name IN ('events', 'ledger_head')"
            )
        ).scalars()
        for name in list(names):
            conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    elif dialect == "postgresql":
        for table in _GUARDED:
            conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
    else:
        names = conn.execute(
            sa.text(
                "SELECT trigger_name FROM information_schema.triggers "
                "WHERE event_object_schema = DATABASE() "
                "AND event_object_table IN ('events', 'ledger_head')"
            )
        ).scalars()
        for name in list(names):
            conn.exec_driver_sql(f"DROP TRIGGER `{name}`")
        conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")


@contextmanager
def tampering(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection with the guards gone, in one transaction."""
    with engine.connect() as conn:
        drop_guards(conn)
        if conn.in_transaction():  # DDL may have opened one (PostgreSQL, SQLite)
            conn.commit()
        with conn.begin():
            yield conn


def _rows_from(conn: sa.Connection, position: int) -> list[dict[str, Any]]:
    query = sa.select(events).where(events.c.position >= position).order_by(events.c.position)
    return [dict(row) for row in conn.execute(query).mappings()]


def _prev_hash(conn: sa.Connection, position: int) -> str:
    if position <= 1:
        return GENESIS_HASH
    return conn.execute(
        sa.select(events.c.hash).where(events.c.position == position - 1)
    ).scalar_one()


def _rechain(conn: sa.Connection, start: int, rows: list[dict[str, Any]]) -> None:
    """Replace every event from `start` on with `rows`, numbered from `start`, each hash
    recomputed from the one before; the head moves to the last of them."""
    prev = _prev_hash(conn, start)
    conn.execute(events.delete().where(events.c.position >= start))
    for offset, row in enumerate(rows):
        row = {**row, "position": start + offset, "prev_hash": prev}
        row["hash"] = prev = event_hash(
            prev,
            row["position"],
            row["event_id"],
            row["stream_type"],
            row["stream_id"],
            row["version"],
            row["event_type"],
            row["schema_version"],
            row["payload"],
            row["metadata"],
            row["recorded_at"],
        )
        conn.execute(events.insert().values(row))
    last = start - 1 + len(rows)
    recorded_at = rows[-1]["recorded_at"] if rows else _recorded_at(conn, last)
    conn.execute(
        ledger_head.update()
        .where(ledger_head.c.id == 1)
        .values(position=last, hash=prev, recorded_at=recorded_at)
    )


def _recorded_at(conn: sa.Connection, position: int) -> int:
    if position == 0:
        return 0
    query = sa.select(events.c.recorded_at).where(events.c.position == position)
    return conn.execute(query).scalar_one()


def _changed(text: str, change: Callable[[Payload], Payload]) -> str:
    return orjson.dumps(change(orjson.loads(text)), option=orjson.OPT_SORT_KEYS).decode()


def edit_in_place(engine: sa.Engine, position: int, change: Callable[[Payload], Payload]) -> None:
    """Change the payload of the event at `position`; its hash stays as it was."""
    with tampering(engine) as conn:
        text = conn.execute(
            sa.select(events.c.payload).where(events.c.position == position)
        ).scalar_one()
        conn.execute(
            events.update()
            .where(events.c.position == position)
            .values(payload=_changed(text, change))
        )


def rewrite_consistently(
    engine: sa.Engine, position: int, change: Callable[[Payload], Payload]
) -> None:
    """Change the payload at `position`, then recompute every later hash and the head: the
    chain is whole again."""
    with tampering(engine) as conn:
        rows = _rows_from(conn, position)
        rows[0]["payload"] = _changed(rows[0]["payload"], change)
        _rechain(conn, position, rows)


def delete_and_renumber(engine: sa.Engine, doomed: Callable[[dict[str, Any]], bool]) -> list[int]:
    """Remove every event for which `doomed(row)` is true, renumber and rehash the rest
    (later versions of the same streams move down too); returns the removed positions."""
    with tampering(engine) as conn:
        rows = _rows_from(conn, 1)
        removed = [row for row in rows if doomed(row)]
        if not removed:
            return []
        start = removed[0]["position"]
        kept = []
        for row in rows:
            if row["position"] < start or doomed(row):
                continue
            lower = sum(
                1
                for r in removed
                if r["stream_id"] == row["stream_id"] and r["version"] < row["version"]
            )
            kept.append({**row, "version": row["version"] - lower})
        _rechain(conn, start, kept)
        return [row["position"] for row in removed]


def erase_everything(engine: sa.Engine) -> None:
    """Remove every event (TRUNCATE on MariaDB, where no trigger can refuse it) and reset
    the head to the empty ledger."""
    with tampering(engine) as conn:
        if conn.dialect.name in ("mysql", "mariadb"):
            conn.exec_driver_sql("TRUNCATE TABLE events")
        else:
            conn.execute(events.delete())
        conn.execute(
            ledger_head.update()
            .where(ledger_head.c.id == 1)
            .values(position=0, hash=GENESIS_HASH, recorded_at=0)
        )


def cut_after(engine: sa.Engine, position: int) -> None:
    """Remove every event after `position` and move the head back to it."""
    with tampering(engine) as conn:
        _rechain(conn, position + 1, [])


def rebuild(engine: sa.Engine) -> None:
    """Make the projections match the (tampered) events again."""
    rebuild_projections(EventStore(engine))
