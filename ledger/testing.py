"""Throwaway databases on each backend, for the test suite and the benchmarks."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get(
    "EVALLEDGER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MARIADB_ADMIN_URL = os.environ.get(
    "EVALLEDGER_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/"
)
BACKENDS = ("sqlite", "postgresql", "mariadb")

_admins: dict[str, sa.Engine] = {}


def _admin(url: str) -> sa.Engine:
    if url not in _admins:
        _admins[url] = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    return _admins[url]


def _unique_name(prefix: str) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"{prefix}_{worker}_{uuid.uuid4().hex[:12]}"


@contextmanager
def fresh_database(backend: str, directory: Path, prefix: str = "evl") -> Iterator[str]:
    """Yield the URL of a new, empty database on `backend`; drop it afterwards."""
    if backend == "sqlite":
        path = directory / f"{_unique_name(prefix)}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name = _unique_name(prefix)
    if backend == "postgresql":
        create, drop = f'CREATE DATABASE "{name}"', f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        admin_url = PG_ADMIN_URL
    elif backend == "mariadb":
        create = f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"
        drop = f"DROP DATABASE IF EXISTS `{name}`"
        admin_url = MARIADB_ADMIN_URL
    else:
        raise ValueError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    admin = _admin(admin_url)
    with admin.connect() as conn:
        conn.exec_driver_sql(create)
    try:
        yield sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(drop)
