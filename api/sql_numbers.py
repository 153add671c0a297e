"""Numbers kept as text (tag values) compared as numbers, safely on every backend."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

_PG_NUMBER = r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"
_MYSQL_NUMBER = r"^[[:space:]]*[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?[[:space:]]*$"


class _LooksNumeric(sa.ColumnElement[bool]):
    """True when a text column holds a decimal number (so casting it cannot fail)."""

    inherit_cache = True
    type = sa.Boolean()

    def __init__(self, column: sa.ColumnElement[Any]) -> None:
        self.column = column


@compiles(_LooksNumeric)
def _looks_numeric_sqlite(element: _LooksNumeric, compiler: SQLCompiler, **kw: Any) -> str:
    # a function the engine registers on every SQLite connection (ledger.engine)
    return f"(evalledger_is_number({compiler.process(element.column, **kw)}) = 1)"


@compiles(_LooksNumeric, "postgresql")
def _looks_numeric_pg(element: _LooksNumeric, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.column, **kw)} ~ '{_PG_NUMBER}')"


@compiles(_LooksNumeric, "mysql")
@compiles(_LooksNumeric, "mariadb")
def _looks_numeric_mysql(element: _LooksNumeric, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.column, **kw)} REGEXP '{_MYSQL_NUMBER}')"


def as_number(column: sa.ColumnElement[Any]) -> sa.ColumnElement[float]:
    """The column's value as a float, NULL where it is not a number."""
    return sa.case((_LooksNumeric(column), sa.cast(column, sa.Float)), else_=sa.null())
