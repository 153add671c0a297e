"""The server's intake of traces that arrive in pieces (OTLP spans, StartTraceV3, traces.json).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trace_parts",
        sa.Column(
            "part_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "trace_id",
            sa.String(length=191).with_variant(
                mysql.VARCHAR(191, collation="utf8mb4_bin"), "mysql", "mariadb"
            ),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("experiment_id", sa.String(length=32), nullable=False),
        sa.Column(
            "body", sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb"), nullable=False
        ),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("part_id"),
    )
    op.create_index("ix_trace_parts_trace", "trace_parts", ["trace_id"])
    op.create_index("ix_trace_parts_received", "trace_parts", ["received_ms"])


def downgrade() -> None:
    op.drop_index("ix_trace_parts_received", table_name="trace_parts")
    op.drop_index("ix_trace_parts_trace", table_name="trace_parts")
    op.drop_table("trace_parts")
