"""Schema upgrades through Alembic, safe when several processes start on a fresh database."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from evalledger.ledger.engine import WRITE_OPTION
from evalledger.migrations.metadata import target_metadata

_LOCK_NAME = "evalledger_migrate"
_LOCK_KEY = zlib.crc32(_LOCK_NAME.encode())
_LOCK_TIMEOUT_S = 300
_SCRIPTS = Path(__file__).resolve().parent


def alembic_config() -> Config:
    """An Alembic config pointing at this package's own scripts (never at whatever a bare
    `import migrations` would find)."""
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return current_revision_on(conn)


def is_current(engine: sa.Engine) -> bool:
    """True when the database is at the newest revision."""
    return current_revision(engine) == head_revision()


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Upgrade the schema, holding a database-wide lock so concurrent starts take turns."""
    config = alembic_config()
    with _migration_lock(engine) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def ensure_current(engine: sa.Engine) -> None:
    """Upgrade when behind (cheap when already current: one query)."""
    if not is_current(engine):
        upgrade(engine)


@contextmanager
def _migration_lock(engine: sa.Engine) -> Iterator[sa.Connection]:
    dialect = engine.dialect.name
    with engine.connect() as conn:
        if dialect == "sqlite":
            # SQLite DDL is transactional: BEGIN IMMEDIATE is the lock, commit releases it.
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn
            return
        if dialect == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
            conn.commit()
            try:
                with conn.begin():
                    yield conn
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
                conn.commit()
            return
        got = conn.execute(
            sa.text("SELECT GET_LOCK(:n, :t)"), {"n": _LOCK_NAME, "t": _LOCK_TIMEOUT_S}
        ).scalar()
        conn.commit()
        if got != 1:
            raise TimeoutError(f"another process held the migration lock for {_LOCK_TIMEOUT_S} s")
        try:
            with conn.begin():
                yield conn
        finally:
            conn.execute(sa.text("SELECT RELEASE_LOCK(:n)"), {"n": _LOCK_NAME})
            conn.commit()


def foreign_schema(conn: sa.Connection) -> str | None:
    """What makes this database another application's, or None when it is empty, an
    evalledger ledger, or only holds tables of other names (a shared database)."""
    tables = set(sa.inspect(conn).get_table_names())
    if not tables:
        return None
    ours = {t.name for metadata in target_metadata for t in metadata.sorted_tables}
    revision = current_revision_on(conn) if "alembic_version" in tables else None
    known = {
        script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    }
    if revision is not None and revision not in known:
        return (
            f"it holds another application's Alembic schema (revision {revision!r}; tables "
            f"{_some(tables)}), for example MLflow's own database"
        )
    if revision is None and tables & ours:
        overlap = _some(tables & ours)
        return f"it has tables named like evalledger's ({overlap}) but no evalledger schema"
    return None


def is_empty(conn: sa.Connection) -> bool:
    """True when the database has no tables at all."""
    return not sa.inspect(conn).get_table_names()


def current_revision_on(conn: sa.Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _some(names: set[str], shown: int = 4) -> str:
    first = sorted(names)[:shown]
    return ", ".join(first) + (f", ... ({len(names)} in all)" if len(names) > shown else "")
