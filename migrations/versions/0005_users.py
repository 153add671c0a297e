"""Server users and their per-experiment grants (projections of the user events).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _exact(length: int) -> sa.types.TypeEngine:
    """VARCHAR compared case-sensitively on MySQL/MariaDB too."""
    return sa.String(length).with_variant(
        mysql.VARCHAR(length, collation="utf8mb4_bin"), "mysql", "mariadb"
    )


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("name", _exact(255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("token_id", sa.String(length=64), nullable=True),
        sa.Column("token_hash", sa.Text(), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("last_update_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
        sa.UniqueConstraint("token_id"),
    )
    op.create_table(
        "user_grants",
        sa.Column("name", _exact(255), nullable=False),
        sa.Column("experiment_id", sa.String(length=32), nullable=False),
        sa.Column("permission", sa.String(length=16), nullable=False),
        sa.Column("granted_time", sa.BigInteger(), nullable=False),
        sa.Column("granted_by", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("name", "experiment_id"),
    )


def downgrade() -> None:
    op.drop_table("user_grants")
    op.drop_table("users")
