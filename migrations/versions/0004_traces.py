"""Traces: the trace index, trace tags and metadata, and assessments.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_EXACT_LONG_TEXT = sa.Text().with_variant(
    mysql.LONGTEXT(collation="utf8mb4_bin"), "mysql", "mariadb"
)
_JSON_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def _exact(length: int) -> sa.types.TypeEngine:
    """VARCHAR compared case-sensitively on MySQL/MariaDB too."""
    return sa.String(length).with_variant(
        mysql.VARCHAR(length, collation="utf8mb4_bin"), "mysql", "mariadb"
    )


def upgrade() -> None:
    op.create_table(
        "traces",
        sa.Column("trace_id", _exact(191), nullable=False),
        sa.Column("experiment_id", sa.String(length=32), nullable=False),
        sa.Column("name", _exact(500), nullable=False),
        sa.Column("status", _exact(32), nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("execution_time_ms", sa.BigInteger(), nullable=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("trace_id"),
    )
    op.create_index("ix_traces_time", "traces", ["timestamp_ms", "trace_id"])
    op.create_index(
        "ix_traces_experiment_time", "traces", ["experiment_id", "timestamp_ms", "trace_id"]
    )
    op.create_index("ix_traces_name", "traces", ["name", "timestamp_ms"])
    op.create_index("ix_traces_duration", "traces", ["execution_time_ms"])

    for name in ("trace_tags", "trace_metadata"):
        op.create_table(
            name,
            sa.Column("trace_id", _exact(191), nullable=False),
            sa.Column("key", _exact(250), nullable=False),
            sa.Column("value", _EXACT_LONG_TEXT, nullable=False),
            sa.PrimaryKeyConstraint("trace_id", "key"),
        )

    op.create_table(
        "assessments",
        sa.Column("trace_id", _exact(191), nullable=False),
        sa.Column("assessment_id", _exact(191), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("name", _exact(250), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("create_time", sa.BigInteger(), nullable=False),
        sa.Column("body", _JSON_TEXT, nullable=False),
        sa.PrimaryKeyConstraint("trace_id", "assessment_id"),
    )


def downgrade() -> None:
    op.drop_table("assessments")
    op.drop_table("trace_metadata")
    op.drop_table("trace_tags")
    op.drop_index("ix_traces_duration", table_name="traces")
    op.drop_index("ix_traces_name", table_name="traces")
    op.drop_index("ix_traces_experiment_time", table_name="traces")
    op.drop_index("ix_traces_time", table_name="traces")
    op.drop_table("traces")
