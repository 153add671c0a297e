"""Version labels: every move of a label on a dataset version.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dataset_label_moves",
        sa.Column("dataset_id", sa.String(length=64), nullable=False),
        sa.Column(
            "label",
            sa.String(length=250).with_variant(
                mysql.VARCHAR(250, collation="utf8mb4_bin"), "mysql", "mariadb"
            ),
            nullable=False,
        ),
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("user", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id", "label", "position"),
    )


def downgrade() -> None:
    op.drop_table("dataset_label_moves")
