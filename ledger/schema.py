"""The ledger's tables, as SQLAlchemy Core objects. Migrations build exactly these."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from evalledger.ledger.limits import MAX_STREAM_ID_CHARS

metadata = sa.MetaData()

#: JSON kept as the exact canonical text that was hashed (LONGTEXT on MySQL/MariaDB).
JsonText = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


#: Names, keys and labels: compared case-sensitively on every backend (the default
#: MySQL/MariaDB collations ignore case; utf8mb4_bin does not).
def exact_string(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(
        mysql.VARCHAR(length, collation="utf8mb4_bin"), "mysql", "mariadb"
    )


#: Free text compared exactly on every backend.
ExactText = sa.Text().with_variant(mysql.TEXT(collation="utf8mb4_bin"), "mysql", "mariadb")

GENESIS_HASH = "0" * 64

events = sa.Table(
    "events",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("event_id", exact_string(36), nullable=False),
    sa.Column("stream_type", sa.String(64), nullable=False),
    sa.Column("stream_id", exact_string(MAX_STREAM_ID_CHARS), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("event_type", sa.String(128), nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("payload", JsonText, nullable=False),
    sa.Column("metadata", JsonText, nullable=False),
    sa.Column("recorded_at", sa.BigInteger, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("event_id", name="uq_events_event_id"),
    sa.UniqueConstraint("stream_id", "version", name="uq_events_stream_version"),
    sa.Index("ix_events_recorded_at", "recorded_at"),
)

#: One row (id = 1): the end of the chain. Writers lock it, which serializes them.
ledger_head = sa.Table(
    "ledger_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("recorded_at", sa.BigInteger, nullable=False),
)

#: Always empty. Its foreign keys make MariaDB/MySQL refuse TRUNCATE TABLE (no trigger
#: fires on it) and DROP TABLE of events and ledger_head; PostgreSQL refuses DROP TABLE too.
append_only_guard = sa.Table(
    "append_only_guard",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column(
        "event_position",
        sa.BigInteger,
        sa.ForeignKey("events.position", name="fk_append_only_guard_events"),
        nullable=True,
    ),
    sa.Column(
        "head_id",
        sa.Integer,
        sa.ForeignKey("ledger_head.id", name="fk_append_only_guard_head"),
        nullable=True,
    ),
)
