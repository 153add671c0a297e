"""Numbers kept as text (tag values) compared as numbers, safely on every backend."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

_PG_NUMBER = r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"
_MYSQL_NUMBER = r"^[[:space:]]*[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?[[:space:]]*$"


_NUMBER = re.compile(r"\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*")


def _is_number(text: object) -> int:
    """SQL function for SQLite (which has no regular expressions): is this text a number?"""
    return int(isinstance(text, str) and _NUMBER.fullmatch(text) is not None)


def install_sql_functions(engine: sa.Engine) -> None:
    """Register the SQL functions the filters compile to on every new SQLite connection.

    Call it before the engine opens its first connection (pooled ones would lack them).
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _register(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("evalledger_is_number", 1, _is_number, deterministic=True)


class _LooksNumeric(sa.ColumnElement[bool]):
    """True when a text column holds a decimal number (so casting it cannot fail)."""

    inherit_cache = True
    type = sa.Boolean()

    def __init__(self, column: sa.ColumnElement[Any]) -> None:
        self.column = column


@compiles(_LooksNumeric)
def _looks_numeric_sqlite(element: _LooksNumeric, compiler: SQLCompiler, **kw: Any) -> str:
    # registered on every SQLite connection by install_sql_functions
    return f"(evalledger_is_number({compiler.process(element.column, **kw)}) = 1)"


@compiles(_LooksNumeric, "postgresql")
def _looks_numeric_pg(element: _LooksNumeric, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.column, **kw)} ~ '{_PG_NUMBER}')"


@compiles(_LooksNumeric, "mysql")
@compiles(_LooksNumeric, "mariadb")
def _looks_numeric_mysql(element: _LooksNumeric, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.column, **kw)} REGEXP '{_MYSQL_NUMBER}')"


class _ToDouble(sa.ColumnElement[float]):
    """CAST(text AS a double-precision float), spelled as each backend wants it
    (SQLAlchemy drops a CAST to FLOAT or DOUBLE on MySQL/MariaDB altogether)."""

    inherit_cache = True
    type = sa.Float()

    def __init__(self, column: sa.ColumnElement[Any]) -> None:
        self.column = column


@compiles(_ToDouble)
def _to_double(element: _ToDouble, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.column, **kw)} AS DOUBLE PRECISION)"


@compiles(_ToDouble, "sqlite")
def _to_double_sqlite(element: _ToDouble, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.column, **kw)} AS REAL)"


@compiles(_ToDouble, "mysql")
@compiles(_ToDouble, "mariadb")
def _to_double_mysql(element: _ToDouble, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.column, **kw)} AS DOUBLE)"


def as_number(column: sa.ColumnElement[Any]) -> sa.ColumnElement[float]:
    """The column's value as a double, NULL where it is not a number."""
    return sa.case((_LooksNumeric(column), _ToDouble(column)), else_=sa.null())
