"""The projection tables: everything users read, derived from the events."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from evalledger.ledger.limits import (
    MAX_EXPERIMENT_ID_CHARS,
    MAX_KEY_CHARS,
    MAX_NAME_CHARS,
    MAX_STREAM_ID_CHARS,
    MAX_USER_CHARS,
)
from evalledger.ledger.schema import ExactText, JsonText, exact_string

metadata = sa.MetaData()

Id = sa.String(64)
Millis = sa.BigInteger
User = sa.String(MAX_USER_CHARS)
ExperimentId = sa.String(MAX_EXPERIMENT_ID_CHARS)
#: Trace ids are stream ids (events.stream_id is 191 characters).
TraceId = exact_string(MAX_STREAM_ID_CHARS)
#: Trace tag and metadata values: exact, and longer than TEXT allows on MySQL/MariaDB.
ExactLongText = sa.Text().with_variant(mysql.LONGTEXT(collation="utf8mb4_bin"), "mysql", "mariadb")

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("experiment_id", ExperimentId, primary_key=True),
    sa.Column("name", exact_string(MAX_NAME_CHARS), nullable=False),
    sa.Column("tags", JsonText, nullable=False),
    sa.Column("creation_time", Millis, nullable=False),
    sa.Column("last_update_time", Millis, nullable=False),
    sa.Index("ix_experiments_name", "name"),
)

#: The current state of every dataset (deleted ones keep their row with deleted = true).
datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("dataset_id", Id, primary_key=True),
    sa.Column("name", exact_string(MAX_NAME_CHARS), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("digest_sum", sa.String(64), nullable=False),
    sa.Column("num_records", sa.Integer, nullable=False),
    sa.Column("next_seq", sa.BigInteger, nullable=False),
    sa.Column("source_counts", JsonText, nullable=False),
    sa.Column("tags", JsonText, nullable=False),
    sa.Column("experiment_ids", JsonText, nullable=False),
    sa.Column("created_time", Millis, nullable=False),
    sa.Column("last_update_time", Millis, nullable=False),
    sa.Column("created_by", User, nullable=False),
    sa.Column("last_updated_by", User, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Index("ix_datasets_name", "name"),
    sa.Index("ix_datasets_created", "deleted", "created_time", "dataset_id"),
    sa.Index("ix_datasets_updated", "deleted", "last_update_time", "dataset_id"),
)

dataset_tags = sa.Table(
    "dataset_tags",
    metadata,
    sa.Column("dataset_id", Id, primary_key=True),
    sa.Column("key", exact_string(MAX_KEY_CHARS), primary_key=True),
    sa.Column("value", ExactText, nullable=False),
    sa.Index("ix_dataset_tags_key", "key", "dataset_id"),
)

dataset_experiments = sa.Table(
    "dataset_experiments",
    metadata,
    sa.Column("dataset_id", Id, primary_key=True),
    sa.Column("experiment_id", ExperimentId, primary_key=True),
    sa.Index("ix_dataset_experiments_experiment", "experiment_id", "dataset_id"),
)

#: Record versions: a row is valid from dataset version `valid_from` until `valid_to`
#: (exclusive; NULL = still current). `body` is the canonical JSON of the record's content.
dataset_records = sa.Table(
    "dataset_records",
    metadata,
    sa.Column("dataset_id", Id, primary_key=True),
    sa.Column("record_id", Id, primary_key=True),
    sa.Column("valid_from", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("valid_to", sa.Integer, nullable=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("inputs_hash", sa.String(64), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("source_type", sa.String(16), nullable=False),
    sa.Column("source_id", sa.String(255), nullable=True),
    sa.Column("created_time", Millis, nullable=False),
    sa.Column("created_by", User, nullable=False),
    sa.Column("last_update_time", Millis, nullable=False),
    sa.Column("last_updated_by", User, nullable=False),
    sa.Column("body", JsonText, nullable=False),
    #: projections.records.lookup_key(dataset_id, inputs_hash): what merges look up by.
    sa.Column("lookup_key", sa.BigInteger, nullable=False),
    sa.Index("ix_dataset_records_current", "dataset_id", "valid_to", "seq"),
    sa.Index("ix_dataset_records_lookup", "lookup_key"),
)


def valid_at(version: int | None) -> sa.ColumnElement[bool]:
    """The record versions valid at a dataset version (None: the current ones)."""
    if version is None:
        return dataset_records.c.valid_to.is_(None)
    return sa.and_(
        dataset_records.c.valid_from <= version,
        sa.or_(dataset_records.c.valid_to.is_(None), dataset_records.c.valid_to > version),
    )


def current_by_id() -> sa.ColumnElement[bool]:
    """valid_at(None) for lookups by record id or inputs digest: the same rows, written so
    that planners go by the primary key or `ix_dataset_records_lookup`. `valid_to + 0` is
    in no index; with plain `valid_to IS NULL` SQLite walks every current row of the
    dataset for each list of ids (a merge updating a million records was quadratic), and
    PostgreSQL's generic plan for the prepared digest lookup did the same through
    `ix_dataset_records_current` (a 100,000-row import took 75 s instead of 4 s)."""
    return (dataset_records.c.valid_to + 0).is_(None)


def row_valid_at(row: Any, version: int) -> bool:
    """valid_at for a row already read (the same rule, in Python)."""
    return row.valid_from <= version and (row.valid_to is None or row.valid_to > version)


#: One row per dataset version (commit): what it did and the dataset's state after it.
dataset_versions = sa.Table(
    "dataset_versions",
    metadata,
    sa.Column("dataset_id", Id, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("operation", sa.String(32), nullable=False),
    sa.Column("user", User, nullable=False),
    sa.Column("timestamp", Millis, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("records_added", sa.Integer, nullable=False),
    sa.Column("records_updated", sa.Integer, nullable=False),
    sa.Column("records_deleted", sa.Integer, nullable=False),
    sa.Column("num_records", sa.Integer, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("name", exact_string(MAX_NAME_CHARS), nullable=False),
    sa.Column("tags", JsonText, nullable=False),
    sa.Column("experiment_ids", JsonText, nullable=False),
    sa.Column("source_counts", JsonText, nullable=False),
    sa.Column("detail", JsonText, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Index("ix_dataset_versions_time", "dataset_id", "timestamp"),
)

#: Every move of a version label; the newest move at or before an instant is where the
#: label pointed then.
dataset_label_moves = sa.Table(
    "dataset_label_moves",
    metadata,
    sa.Column("dataset_id", Id, primary_key=True),
    sa.Column("label", exact_string(MAX_KEY_CHARS), primary_key=True),
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("timestamp", Millis, nullable=False),
    sa.Column("user", User, nullable=False),
)

#: The trace index (API.md §7): one row per trace. The trace itself (info and spans) is kept
#: once, in the payload of its TraceLogged event; `position` points at that event.
traces = sa.Table(
    "traces",
    metadata,
    sa.Column("trace_id", TraceId, primary_key=True),
    sa.Column("experiment_id", ExperimentId, nullable=False),
    sa.Column("name", exact_string(MAX_NAME_CHARS), nullable=False),
    sa.Column("status", exact_string(32), nullable=False),
    sa.Column("timestamp_ms", Millis, nullable=False),
    sa.Column("execution_time_ms", Millis, nullable=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Index("ix_traces_time", "timestamp_ms", "trace_id"),
    sa.Index("ix_traces_experiment_time", "experiment_id", "timestamp_ms", "trace_id"),
    sa.Index("ix_traces_name", "name", "timestamp_ms"),
    sa.Index("ix_traces_duration", "execution_time_ms"),
)

#: A trace's current tags (its TraceLogged tags, then every set and delete).
trace_tags = sa.Table(
    "trace_tags",
    metadata,
    sa.Column("trace_id", TraceId, primary_key=True),
    sa.Column("key", exact_string(MAX_KEY_CHARS), primary_key=True),
    sa.Column("value", ExactLongText, nullable=False),
)

trace_metadata = sa.Table(
    "trace_metadata",
    metadata,
    sa.Column("trace_id", TraceId, primary_key=True),
    sa.Column("key", exact_string(MAX_KEY_CHARS), primary_key=True),
    sa.Column("value", ExactLongText, nullable=False),
)

#: Expectations and feedback on traces, in the order they were logged (position, ordinal).
#: `body` is the assessment as MLflow writes it; `valid` turns false when a later
#: expectation of the same name overrides it.
assessments = sa.Table(
    "assessments",
    metadata,
    sa.Column("trace_id", TraceId, primary_key=True),
    sa.Column("assessment_id", exact_string(MAX_STREAM_ID_CHARS), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("ordinal", sa.Integer, nullable=False),
    sa.Column("name", exact_string(MAX_KEY_CHARS), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("valid", sa.Boolean, nullable=False),
    sa.Column("create_time", Millis, nullable=False),
    sa.Column("body", JsonText, nullable=False),
)

#: Server users (API.md §10): role, and only salted slow hashes of the password and the token.
#: `token_id` is the public half of a bearer token, so a token finds its user in one lookup.
users = sa.Table(
    "users",
    metadata,
    sa.Column("name", exact_string(255), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=True),
    sa.Column("token_id", sa.String(64), nullable=True, unique=True),
    sa.Column("token_hash", sa.Text, nullable=True),
    sa.Column("revoked", sa.Boolean, nullable=False),
    sa.Column("created_time", Millis, nullable=False),
    sa.Column("created_by", User, nullable=False),
    sa.Column("last_update_time", Millis, nullable=False),
)

#: Per-experiment permissions beyond a user's role (MLflow basic-auth's read/edit/manage).
user_grants = sa.Table(
    "user_grants",
    metadata,
    sa.Column("name", exact_string(255), primary_key=True),
    sa.Column("experiment_id", ExperimentId, primary_key=True),
    sa.Column("permission", sa.String(16), nullable=False),
    sa.Column("granted_time", Millis, nullable=False),
    sa.Column("granted_by", User, nullable=False),
)

PROJECTION_TABLES = (
    experiments,
    datasets,
    dataset_tags,
    dataset_experiments,
    dataset_records,
    dataset_versions,
    dataset_label_moves,
    traces,
    trace_tags,
    trace_metadata,
    assessments,
    users,
    user_grants,
)

#: The server's intake of traces that arrive in pieces (spans by OTLP or a traces.json
#: upload, the trace info by StartTraceV3). Not a projection: parts wait here until a
#: trace is whole, then become one TraceLogged event and are deleted in the same commit.
trace_parts = sa.Table(
    "trace_parts",
    metadata,
    sa.Column(
        "part_id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("trace_id", TraceId, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("experiment_id", ExperimentId, nullable=False),
    sa.Column("body", JsonText, nullable=False),
    sa.Column("received_ms", Millis, nullable=False),
    sa.Index("ix_trace_parts_trace", "trace_id"),
    sa.Index("ix_trace_parts_received", "received_ms"),
)

#: The web UI's login sessions (`--auth`). Not a projection and not events: one row per
#: signed-in browser, found by the sha256 of its cookie's secret (the cookie itself is
#: never stored), with the CSRF token of its forms; expired rows go at the next sign-in.
ui_sessions = sa.Table(
    "ui_sessions",
    metadata,
    sa.Column("session_hash", sa.String(64), primary_key=True),
    sa.Column("user_name", exact_string(255), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_ms", Millis, nullable=False),
    sa.Column("expires_ms", Millis, nullable=False),
    sa.Index("ix_ui_sessions_expires", "expires_ms"),
    sa.Index("ix_ui_sessions_user", "user_name"),
)
