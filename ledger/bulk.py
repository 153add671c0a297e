"""Fast multi-row inserts: one executemany per table per batch."""

from __future__ import annotations

from functools import cache
from operator import itemgetter
from typing import Any

import sqlalchemy as sa


@cache
def _driver_insert(table: sa.Table, paramstyle: str) -> tuple[str, itemgetter[Any]]:
    names = [c.name for c in table.columns]
    mark = "?" if paramstyle == "qmark" else "%s"
    quote = '"' if paramstyle == "qmark" else "`"
    cols = ", ".join(f"{quote}{n}{quote}" for n in names)
    sql = f"INSERT INTO {table.name} ({cols}) VALUES ({', '.join(mark for _ in names)})"
    return sql, itemgetter(*names)


def insert_rows(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows (dicts with every column) in one executemany.

    On SQLite and MySQL/MariaDB the driver is called directly: SQLAlchemy's per-row parameter
    processing costs more than the insert itself there, and PyMySQL already folds an
    executemany into multi-row INSERTs. PostgreSQL goes through SQLAlchemy, whose
    "insertmanyvalues" batching is the fast path for psycopg.
    """
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect in ("sqlite", "mysql", "mariadb"):
        sql, values = _driver_insert(table, conn.dialect.paramstyle)
        conn.exec_driver_sql(sql, list(map(values, rows)))
    else:
        conn.execute(table.insert(), rows)
