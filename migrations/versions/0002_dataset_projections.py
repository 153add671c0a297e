"""Dataset projections: experiments, datasets, tags, links, record versions, versions.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_EXACT_TEXT = sa.Text().with_variant(mysql.TEXT(collation="utf8mb4_bin"), "mysql", "mariadb")


def _exact(length: int) -> sa.types.TypeEngine:
    """VARCHAR compared case-sensitively on MySQL/MariaDB too."""
    return sa.String(length).with_variant(
        mysql.VARCHAR(length, collation="utf8mb4_bin"), "mysql", "mariadb"
    )


def upgrade() -> None:
    op.create_table(
        "dataset_experiments",
        sa.Column("dataset_id", sa.String(length=64), nullable=False),
        sa.Column("experiment_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id", "experiment_id"),
    )
    with op.batch_alter_table("dataset_experiments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_dataset_experiments_experiment", ["experiment_id", "dataset_id"], unique=False
        )

    op.create_table(
        "dataset_records",
        sa.Column("dataset_id", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("valid_from", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("valid_to", sa.Integer(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("inputs_hash", sa.String(length=64), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("source_type", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=255), nullable=True),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("last_update_time", sa.BigInteger(), nullable=False),
        sa.Column("last_updated_by", sa.String(length=255), nullable=False),
        sa.Column(
            "body",
            sa.Text()
            .with_variant(mysql.LONGTEXT(), "mariadb")
            .with_variant(mysql.LONGTEXT(), "mysql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("dataset_id", "record_id", "valid_from"),
    )
    with op.batch_alter_table("dataset_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_dataset_records_current", ["dataset_id", "valid_to", "seq"], unique=False
        )
        batch_op.create_index(
            "ix_dataset_records_inputs", ["dataset_id", "inputs_hash"], unique=False
        )

    op.create_table(
        "dataset_tags",
        sa.Column("dataset_id", sa.String(length=64), nullable=False),
        sa.Column("key", _exact(250), nullable=False),
        sa.Column("value", _EXACT_TEXT, nullable=False),
        sa.PrimaryKeyConstraint("dataset_id", "key"),
    )
    with op.batch_alter_table("dataset_tags", schema=None) as batch_op:
        batch_op.create_index("ix_dataset_tags_key", ["key", "dataset_id"], unique=False)

    op.create_table(
        "dataset_versions",
        sa.Column("dataset_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("user", sa.String(length=255), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("records_added", sa.Integer(), nullable=False),
        sa.Column("records_updated", sa.Integer(), nullable=False),
        sa.Column("records_deleted", sa.Integer(), nullable=False),
        sa.Column("num_records", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("name", _exact(500), nullable=False),
        sa.Column(
            "tags",
            sa.Text()
            .with_variant(mysql.LONGTEXT(), "mariadb")
            .with_variant(mysql.LONGTEXT(), "mysql"),
            nullable=False,
        ),
        sa.Column(
            "experiment_ids",
            sa.Text()
            .with_variant(mysql.LONGTEXT(), "mariadb")
            .with_variant(mysql.LONGTEXT(), "mysql"),
            nullable=False,
        ),
        sa.Column(
            "source_counts",
            sa.Text()
            .with_variant(mysql.LONGTEXT(), "mariadb")
            .with_variant(mysql.LONGTEXT(), "mysql"),
            nullable=False,
        ),
        sa.Column(
            "detail",
            sa.Text()
            .with_variant(mysql.LONGTEXT(), "mariadb")
            .with_variant(mysql.LONGTEXT(), "mysql"),
            nullable=False,
        ),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id", "version"),
    )
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.create_index("ix_dataset_versions_time", ["dataset_id", "timestamp"], unique=False)

    op.create_table(
        "datasets",
        sa.Column("dataset_id", sa.String(length=64), nullable=False),
        sa.Column("name", _exact(500), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("digest_sum", sa.String(length=64), nullable=False),
        sa.Column("num_records", sa.Integer(), nullable=False),
        sa.Column("next_seq", sa.BigInteger(), nullable=False),
        sa.Column(
            "source_counts",
            sa.Text()
            .with_variant(mysql.LONGTEXT(), "mariadb")
            .with_variant(mysql.LONGTEXT(), "mysql"),
            nullable=False,
        ),
        sa.Column(
            "tags",
            sa.Text()
            .with_variant(mysql.LONGTEXT(), "mariadb")
            .with_variant(mysql.LONGTEXT(), "mysql"),
            nullable=False,
        ),
        sa.Column(
            "experiment_ids",
            sa.Text()
            .with_variant(mysql.LONGTEXT(), "mariadb")
            .with_variant(mysql.LONGTEXT(), "mysql"),
            nullable=False,
        ),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("last_update_time", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("last_updated_by", sa.String(length=255), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id"),
    )
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_datasets_created", ["deleted", "created_time", "dataset_id"], unique=False
        )
        batch_op.create_index("ix_datasets_name", ["name"], unique=False)
        batch_op.create_index(
            "ix_datasets_updated", ["deleted", "last_update_time", "dataset_id"], unique=False
        )

    op.create_table(
        "experiments",
        sa.Column("experiment_id", sa.String(length=32), nullable=False),
        sa.Column("name", _exact(500), nullable=False),
        sa.Column(
            "tags",
            sa.Text()
            .with_variant(mysql.LONGTEXT(), "mariadb")
            .with_variant(mysql.LONGTEXT(), "mysql"),
            nullable=False,
        ),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("last_update_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("experiment_id"),
    )
    op.create_index("ix_experiments_name", "experiments", ["name"])


def downgrade() -> None:
    op.drop_table("experiments")
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_index("ix_datasets_updated")
        batch_op.drop_index("ix_datasets_name")
        batch_op.drop_index("ix_datasets_created")

    op.drop_table("datasets")
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_dataset_versions_time")

    op.drop_table("dataset_versions")
    with op.batch_alter_table("dataset_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_dataset_tags_key")

    op.drop_table("dataset_tags")
    with op.batch_alter_table("dataset_records", schema=None) as batch_op:
        batch_op.drop_index("ix_dataset_records_inputs")
        batch_op.drop_index("ix_dataset_records_current")

    op.drop_table("dataset_records")
    with op.batch_alter_table("dataset_experiments", schema=None) as batch_op:
        batch_op.drop_index("ix_dataset_experiments_experiment")

    op.drop_table("dataset_experiments")
