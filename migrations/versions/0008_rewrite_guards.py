"""The database refuses rewrites: colliding inserts into events, TRUNCATE, and every
change to ledger_head other than the writer's advance.

Revision ID: 0008
Revises: 0007

0001 already refuses UPDATE and DELETE on events (and TRUNCATE on PostgreSQL). This adds:

- SQLite: a BEFORE INSERT trigger on events that refuses a row colliding with a stored
  one on any unique key, since `INSERT OR REPLACE`/`REPLACE INTO` delete the old row
  without firing DELETE triggers (unless recursive_triggers is on).
- ledger_head, every backend: no INSERT, no DELETE, and an UPDATE only to a position and
  time at or after the current ones, copying the hash and time of the event stored at that
  position (the genesis hash and time 0 at position 0). PostgreSQL also refuses TRUNCATE.
- append_only_guard, every backend: an empty table whose foreign keys make MariaDB/MySQL
  refuse TRUNCATE (triggers do not fire on it) and DROP TABLE of events and ledger_head.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
COLLIDES = "events is append-only: an insert that collides with a stored event is not allowed"
HEAD_ROW = "ledger_head only advances with the ledger: its one row is never inserted or deleted"
HEAD_MOVE = (
    "ledger_head only advances with the ledger: to the same or a later stored event, "
    "taking its hash and time"
)

_SQLITE_UP = [
    "CREATE TRIGGER events_no_collision BEFORE INSERT ON events "
    "WHEN EXISTS (SELECT 1 FROM events WHERE position = NEW.position) "
    "OR EXISTS (SELECT 1 FROM events WHERE event_id = NEW.event_id) "
    "OR EXISTS (SELECT 1 FROM events WHERE stream_id = NEW.stream_id AND version = NEW.version) "
    f"BEGIN SELECT RAISE(ABORT, '{COLLIDES}'); END",
    "CREATE TRIGGER ledger_head_no_insert BEFORE INSERT ON ledger_head "
    f"BEGIN SELECT RAISE(ABORT, '{HEAD_ROW}'); END",
    "CREATE TRIGGER ledger_head_no_delete BEFORE DELETE ON ledger_head "
    f"BEGIN SELECT RAISE(ABORT, '{HEAD_ROW}'); END",
    "CREATE TRIGGER ledger_head_advances BEFORE UPDATE ON ledger_head "
    "WHEN NEW.id IS NOT OLD.id OR NOT (NEW.position >= OLD.position) "
    "OR NOT (NEW.recorded_at >= OLD.recorded_at) "
    f"OR NEW.hash IS NOT (CASE WHEN NEW.position = 0 THEN '{GENESIS}' "
    "ELSE (SELECT hash FROM events WHERE position = NEW.position) END) "
    "OR NEW.recorded_at IS NOT (CASE WHEN NEW.position = 0 THEN 0 "
    "ELSE (SELECT recorded_at FROM events WHERE position = NEW.position) END) "
    f"BEGIN SELECT RAISE(ABORT, '{HEAD_MOVE}'); END",
]
_SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS events_no_collision",
    "DROP TRIGGER IF EXISTS ledger_head_no_insert",
    "DROP TRIGGER IF EXISTS ledger_head_no_delete",
    "DROP TRIGGER IF EXISTS ledger_head_advances",
]

# One function for every operation: only an UPDATE that advances passes. NULLs fail the IF.
_POSTGRESQL_UP = [
    "CREATE FUNCTION ledger_head_advances() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "DECLARE stored_hash text; stored_at bigint; BEGIN "
    f"IF TG_OP <> 'UPDATE' THEN RAISE EXCEPTION '{HEAD_ROW}'; END IF; "
    f"IF NEW.position = 0 THEN stored_hash := '{GENESIS}'; stored_at := 0; "
    "ELSE SELECT hash, recorded_at INTO stored_hash, stored_at FROM events "
    "WHERE position = NEW.position; END IF; "
    "IF NEW.id = OLD.id AND NEW.position >= OLD.position "
    "AND NEW.recorded_at >= OLD.recorded_at "
    "AND NEW.hash = stored_hash AND NEW.recorded_at = stored_at "
    f"THEN RETURN NEW; END IF; RAISE EXCEPTION '{HEAD_MOVE}'; END $$",
    "CREATE TRIGGER ledger_head_advances BEFORE INSERT OR UPDATE OR DELETE ON ledger_head "
    "FOR EACH ROW EXECUTE FUNCTION ledger_head_advances()",
    "CREATE TRIGGER ledger_head_no_truncate BEFORE TRUNCATE ON ledger_head "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_head_advances()",
]
_POSTGRESQL_DOWN = [
    "DROP TRIGGER IF EXISTS ledger_head_no_truncate ON ledger_head",
    "DROP TRIGGER IF EXISTS ledger_head_advances ON ledger_head",
    "DROP FUNCTION IF EXISTS ledger_head_advances()",
]

# REPLACE fires the DELETE trigger and ON DUPLICATE KEY UPDATE the UPDATE trigger of 0001,
# so events needs nothing more here. Hashes are compared as bytes (the column's default
# collation ignores case); COALESCE makes a NULL comparison refuse, not pass.
_MYSQL_UP = [
    "CREATE TRIGGER ledger_head_no_insert BEFORE INSERT ON ledger_head FOR EACH ROW "
    f"SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '{HEAD_ROW}'",
    "CREATE TRIGGER ledger_head_no_delete BEFORE DELETE ON ledger_head FOR EACH ROW "
    f"SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '{HEAD_ROW}'",
    "CREATE TRIGGER ledger_head_advances BEFORE UPDATE ON ledger_head FOR EACH ROW BEGIN "
    "IF NOT COALESCE(NEW.id = OLD.id AND NEW.position >= OLD.position "
    "AND NEW.recorded_at >= OLD.recorded_at "
    f"AND BINARY NEW.hash = BINARY IF(NEW.position = 0, '{GENESIS}', "
    "(SELECT hash FROM events WHERE position = NEW.position)) "
    "AND NEW.recorded_at = IF(NEW.position = 0, 0, "
    "(SELECT recorded_at FROM events WHERE position = NEW.position)), FALSE) "
    f"THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '{HEAD_MOVE}'; END IF; END",
]
_MYSQL_DOWN = [
    "DROP TRIGGER IF EXISTS ledger_head_no_insert",
    "DROP TRIGGER IF EXISTS ledger_head_no_delete",
    "DROP TRIGGER IF EXISTS ledger_head_advances",
]

_UP = {"sqlite": _SQLITE_UP, "postgresql": _POSTGRESQL_UP, "mysql": _MYSQL_UP}
_DOWN = {"sqlite": _SQLITE_DOWN, "postgresql": _POSTGRESQL_DOWN, "mysql": _MYSQL_DOWN}


def _dialect() -> str:
    name = op.get_bind().dialect.name
    return "mysql" if name == "mariadb" else name


def upgrade() -> None:
    op.create_table(
        "append_only_guard",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("event_position", sa.BigInteger, nullable=True),
        sa.Column("head_id", sa.Integer, nullable=True),
        sa.ForeignKeyConstraint(
            ["event_position"], ["events.position"], name="fk_append_only_guard_events"
        ),
        sa.ForeignKeyConstraint(["head_id"], ["ledger_head.id"], name="fk_append_only_guard_head"),
    )
    for statement in _UP[_dialect()]:
        op.execute(statement)


def downgrade() -> None:
    for statement in _DOWN[_dialect()]:
        op.execute(statement)
    op.drop_table("append_only_guard")
