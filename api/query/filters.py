"""Filter strings and order_by clauses for search_datasets and search_traces (API.md §3, §7).

The text is parsed into a small tree (:class:`Comparison`, :class:`And`, :class:`Or`), then
compiled to SQLAlchemy Core expressions through a caller-supplied ``resolve`` function. Filter
text never reaches SQL as text: every value becomes a bound parameter.

Grammar (a superset of MLflow's; keywords are case-insensitive, AND binds tighter than OR)::

    expr       := conj (OR conj)*
    conj       := primary (AND primary)*
    primary    := '(' expr ')' | comparison
    comparison := field ('=' | '!=' | '<' | '<=' | '>' | '>=') value
                | field (LIKE | ILIKE) string
                | field [NOT] IN '(' value (',' value)* ')'
                | field IS [NOT] NULL
    field      := name | `name` | prefix '.' key
    prefix     := attributes | attribute | attr | tags | tag | metadata | request_metadata
    key        := dotted.name | `any text` | "any text" | 'any text'
    value      := 'string' | "string" | integer | float

Limits (a filter beyond them is refused with InvalidParameter before any SQL is built):
at most ``MAX_DEPTH`` levels of parentheses, ``MAX_TERMS`` comparisons and
``MAX_IN_VALUES`` values in all IN lists together, and LIKE patterns of at most
``MAX_PATTERN`` characters. Numbers are 64-bit integers or finite
floats; the text cannot contain NUL or a lone surrogate (nothing stored can).

Strings accept a doubled quote (``'it''s'``) and backslash escapes of ``'``, ``"`` and ``\\``;
any other backslash pair is kept as is, so ``'50\\% off'`` reaches LIKE as ``50\\% off``
(MySQL's convention).

LIKE patterns use ``%`` and ``_`` with ``\\`` as the escape character, and LIKE is
case-sensitive on every backend (see :func:`compare`); ILIKE is ``lower(col) LIKE lower(p)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import operators
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from evalledger.ledger.errors import InvalidParameter
from evalledger.query.numbers import as_number
from evalledger.validation import MAX_INT64, MIN_INT64, shown, text_problem

__all__ = [
    "MAX_DEPTH",
    "MAX_IN_VALUES",
    "MAX_PATTERN",
    "MAX_TERMS",
    "OPERATORS",
    "And",
    "Comparison",
    "Expr",
    "Field",
    "Or",
    "compare",
    "compile_filter",
    "parse_filter",
    "parse_order_by",
]

T = TypeVar("T")

#: Levels of parentheses a filter may nest.
MAX_DEPTH = 32
#: Comparisons one filter may hold (joined by AND and OR).
MAX_TERMS = 256
#: Values all the IN / NOT IN lists of one filter may hold together.
MAX_IN_VALUES = 1_000
#: Characters of a LIKE / ILIKE pattern (SQLite refuses patterns over 50,000 bytes).
MAX_PATTERN = 4_096
Scalar = str | int | float
Value = Scalar | tuple[Scalar, ...] | None

OPERATORS = frozenset(
    {"=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"}
)
_SYMBOLS = frozenset({"=", "!=", "<", "<=", ">", ">="})
_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE"})
_PREFIXES = {
    "attributes": "attribute",
    "attribute": "attribute",
    "attr": "attribute",
    "tags": "tag",
    "tag": "tag",
    "metadata": "metadata",
    "request_metadata": "metadata",
}
_CANONICAL_PREFIX = {"attribute": "attributes", "tag": "tags", "metadata": "metadata"}


@dataclass(frozen=True)
class Field:
    """What a comparison looks at: kind is "attribute", "tag" or "metadata"."""

    kind: str
    key: str


@dataclass(frozen=True)
class Comparison:
    """``field op value``; value is a tuple for IN / NOT IN and None for IS [NOT] NULL."""

    field: Field
    op: str
    value: Value


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]


Expr = Comparison | And | Or


# --------------------------------------------------------------------------- tokenizer


@dataclass(frozen=True)
class _Token:
    kind: str  # field, word, string, number, op, lparen, rparen, comma, end
    value: Any
    pos: int
    text: str


_WS = re.compile(r"\s+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_IDENT = re.compile(r"[^\W\d]\w*")
_KEY = re.compile(r"[\w.-]+")
_SYMBOL = re.compile(r"[=!<>]+")
_WORDISH = re.compile(r"[\w.+-]*")
_PUNCT = {"(": "lparen", ")": "rparen", ",": "comma"}


class _Lexer:
    def __init__(self, text: str, label: str) -> None:
        self.text = text
        self.label = label

    def error(self, detail: str) -> InvalidParameter:
        return InvalidParameter(f"Invalid {self.label} {shown(self.text)}: {detail}")

    def tokens(self) -> list[_Token]:
        text, pos, out = self.text, 0, []
        while True:
            if m := _WS.match(text, pos):
                pos = m.end()
            if pos >= len(text):
                out.append(_Token("end", None, pos, ""))
                return out
            start, ch = pos, text[pos]
            if ch in _PUNCT:
                tok, pos = _Token(_PUNCT[ch], ch, pos, ch), pos + 1
            elif ch in "'\"":
                value, pos = self.quoted(pos, backslash=True)
                tok = _Token("string", value, start, text[start:pos])
            elif ch == "`":
                value, pos = self.quoted(pos, backslash=False)
                tok = _Token("field", Field("attribute", value), start, text[start:pos])
            elif m := _SYMBOL.match(text, pos):
                pos = m.end()
                tok = _Token("op", m.group(), start, m.group())
            elif m := _NUMBER.match(text, pos):
                pos = m.end()
                if pos < len(text) and (text[pos].isalnum() or text[pos] in "_."):
                    bad = text[start : _WORDISH.match(text, pos).end()]  # type: ignore[union-attr]
                    raise self.error(f"invalid number {bad!r} at position {start}")
                raw = m.group()
                tok = _Token("number", self.number(raw, start), start, raw)
            elif m := _IDENT.match(text, pos):
                pos = m.end()
                tok, pos = self.word(m.group(), start, pos)
            else:
                raise self.error(f"unexpected character {ch!r} at position {pos}")
            out.append(tok)

    def number(self, raw: str, start: int) -> int | float:
        """A number token's value: a 64-bit integer or a finite float (what a column holds)."""
        if raw.lstrip("+-").isdigit():
            whole = int(raw)
            if not MIN_INT64 <= whole <= MAX_INT64:
                raise self.error(f"number {raw} at position {start} does not fit in 64 bits")
            return whole
        value = float(raw)
        if value - value != 0.0:
            raise self.error(f"number {raw} at position {start} is out of range")
        return value

    def word(self, word: str, start: int, pos: int) -> tuple[_Token, int]:
        """A bare identifier, or ``prefix.key`` when a dot follows."""
        text = self.text
        if pos >= len(text) or text[pos] != ".":
            return _Token("word", word, start, word), pos
        kind = _PREFIXES.get(word.lower())
        if kind is None:
            bad = text[start : _KEY.match(text, pos).end()]  # type: ignore[union-attr]
            raise self.error(
                f"unknown field {bad!r} at position {start}: expected a name, "
                "attributes.<name>, tags.<key> or metadata.<key>"
            )
        pos += 1
        if pos < len(text) and text[pos] in "`'\"":
            key, pos = self.quoted(pos, backslash=text[pos] != "`")
        elif m := _KEY.match(text, pos):
            key, pos = m.group(), m.end()
        else:
            key = ""
        if not key:
            raise self.error(f"expected a key after {text[start:pos]!r} at position {pos}")
        return _Token("field", Field(kind, key), start, text[start:pos]), pos

    def quoted(self, pos: int, *, backslash: bool) -> tuple[str, int]:
        """Read a quoted string or key starting at ``pos``; return its value and end."""
        text, quote, i, buf = self.text, self.text[pos], pos + 1, []
        while i < len(text):
            ch = text[i]
            if ch == "\\" and backslash and i + 1 < len(text):
                nxt = text[i + 1]
                buf.append(nxt if nxt in "'\"\\" else ch + nxt)
                i += 2
            elif ch == quote:
                if text.startswith(quote, i + 1):
                    buf.append(quote)
                    i += 2
                else:
                    return "".join(buf), i + 1
            else:
                buf.append(ch)
                i += 1
        raise self.error(f"unterminated string {shown(text[pos:])} starting at position {pos}")


# --------------------------------------------------------------------------- parser


def _show(tok: _Token) -> str:
    return "end of filter" if tok.kind == "end" else repr(tok.text)


def _is_kw(tok: _Token, *words: str) -> bool:
    return tok.kind == "word" and tok.value.upper() in words


class _Parser:
    def __init__(self, text: str, label: str = "filter") -> None:
        self.lexer = _Lexer(text, label)
        self.toks = self.lexer.tokens()
        self.i = 0
        self.depth = 0  # parentheses open at the current token
        self.terms = 0  # comparisons read so far
        self.in_values = 0  # values of the IN lists read so far

    def peek(self) -> _Token:
        return self.toks[self.i]

    def next(self) -> _Token:
        tok = self.toks[self.i]
        self.i = min(self.i + 1, len(self.toks) - 1)
        return tok

    def fail(self, expected: str, after: _Token | None, tok: _Token) -> InvalidParameter:
        where = f" after {shown(after.text)}" if after is not None else ""
        got = "" if tok.kind == "end" else f", got {shown(tok.text)}"
        return self.lexer.error(f"expected {expected}{where} at position {tok.pos}{got}")

    def parse(self) -> Expr:
        expr = self.disjunction()
        tok = self.peek()
        if tok.kind == "rparen":
            raise self.lexer.error(f"unbalanced ')' at position {tok.pos}")
        if tok.kind != "end":
            raise self.lexer.error(
                f"unexpected {shown(tok.text)} at position {tok.pos}: expected AND, OR or the end"
            )
        return expr

    def disjunction(self) -> Expr:
        items = [self.conjunction()]
        while _is_kw(self.peek(), "OR"):
            items.append(self.conjunction(after=self.next()))
        return _join(Or, items)

    def conjunction(self, after: _Token | None = None) -> Expr:
        items = [self.primary(after)]
        while _is_kw(self.peek(), "AND"):
            items.append(self.primary(after=self.next()))
        return _join(And, items)

    def primary(self, after: _Token | None) -> Expr:
        if self.peek().kind != "lparen":
            return self.comparison(after)
        lparen = self.next()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.lexer.error(
                f"'(' at position {lparen.pos} nests deeper than {MAX_DEPTH} levels"
            )
        expr = self.disjunction()
        self.depth -= 1
        close = self.next()
        if close.kind == "end":
            raise self.lexer.error(f"unbalanced '(' at position {lparen.pos}: missing ')'")
        if close.kind != "rparen":
            raise self.fail("')', AND or OR", None, close)
        return expr

    def field(self, after: _Token | None) -> tuple[_Token, Field]:
        tok = self.next()
        if tok.kind == "field":
            return tok, tok.value
        if tok.kind == "word" and tok.value.upper() not in _KEYWORDS:
            return tok, Field("attribute", tok.value)
        raise self.fail("a field name", after, tok)

    def comparison(self, after: _Token | None) -> Comparison:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise self.lexer.error(
                f"more than {MAX_TERMS} comparisons (at position {self.peek().pos}); "
                "split the search or use IN (...)"
            )
        ftok, field = self.field(after)
        op = self.next()
        if op.kind == "op":
            if op.value not in _SYMBOLS:
                raise self.lexer.error(f"unknown comparator {op.text!r} at position {op.pos}")
            return Comparison(field, op.value, self.scalar(op))
        if _is_kw(op, "LIKE", "ILIKE"):
            tok = self.next()
            if tok.kind != "string":
                raise self.fail("a quoted string", op, tok)
            if len(tok.value) > MAX_PATTERN:
                raise self.lexer.error(
                    f"the {op.value.upper()} pattern at position {tok.pos} is longer than "
                    f"{MAX_PATTERN} characters"
                )
            return Comparison(field, op.value.upper(), tok.value)
        if _is_kw(op, "IN"):
            return Comparison(field, "IN", self.values(op))
        if _is_kw(op, "NOT"):
            tok = self.next()
            if not _is_kw(tok, "IN"):
                raise self.fail("IN", op, tok)
            return Comparison(field, "NOT IN", self.values(tok))
        if _is_kw(op, "IS"):
            tok, negated = self.next(), False
            if _is_kw(tok, "NOT"):
                tok, negated = self.next(), True
            if not _is_kw(tok, "NULL"):
                raise self.fail("NULL or NOT NULL", op, tok)
            return Comparison(field, "IS NOT NULL" if negated else "IS NULL", None)
        if op.kind == "end":
            raise self.fail("a comparator", ftok, op)
        raise self.lexer.error(f"unknown comparator {op.text!r} at position {op.pos}")

    def scalar(self, after: _Token) -> Scalar:
        tok = self.next()
        if tok.kind not in ("string", "number"):
            raise self.fail("a value", after, tok)
        return tok.value  # type: ignore[no-any-return]

    def values(self, after: _Token) -> tuple[Scalar, ...]:
        lparen = self.next()
        if lparen.kind != "lparen":
            raise self.fail("'('", after, lparen)
        if self.peek().kind == "rparen":
            raise self.lexer.error(
                f"empty IN list at position {lparen.pos}: {after.text} needs at least one value"
            )
        items, sep = [], lparen
        while True:
            self.in_values += 1
            if self.in_values > MAX_IN_VALUES:
                raise self.lexer.error(
                    f"the IN lists hold more than {MAX_IN_VALUES} values "
                    f"(at position {self.peek().pos})"
                )
            items.append(self.scalar(sep))
            sep = self.next()
            if sep.kind == "rparen":
                return tuple(items)
            if sep.kind == "end":
                raise self.lexer.error(f"unbalanced '(' at position {lparen.pos}: missing ')'")
            if sep.kind != "comma":
                raise self.fail("',' or ')' in the IN list", None, sep)


def _join(cls: type[And] | type[Or], items: list[Expr]) -> Expr:
    """Build And/Or, flattening nested nodes of the same kind; one item stays itself."""
    flat: list[Expr] = []
    for item in items:
        flat.extend(item.items if isinstance(item, cls) else (item,))
    return flat[0] if len(flat) == 1 else cls(tuple(flat))


def parse_filter(text: str | None) -> Expr | None:
    """Parse a filter string; None or blank text means no filter."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise InvalidParameter(f"filter_string must be a str, not {type(text).__name__}")
    if not text.strip():
        return None
    problem = text_problem(text)
    if problem is not None:
        raise InvalidParameter(f"filter_string: {problem}", field="filter_string")
    return _Parser(text).parse()


def compile_filter(
    expr: Expr | None, resolve: Callable[[Comparison], sa.ColumnElement[bool]]
) -> sa.ColumnElement[bool]:
    """Turn a parsed filter into one SQL condition; ``resolve`` handles each comparison."""
    if expr is None:
        return sa.true()
    if isinstance(expr, Comparison):
        return resolve(expr)
    parts = [compile_filter(item, resolve) for item in expr.items]
    return sa.and_(*parts) if isinstance(expr, And) else sa.or_(*parts)


def parse_order_by(
    order_by: Sequence[str] | None, allowed: Mapping[str, T], default: list[tuple[T, bool]]
) -> list[tuple[T, bool]]:
    """Parse ``["name ASC", "attributes.timestamp_ms DESC"]`` to ``(allowed[key], descending)``.

    A key may be written with any field prefix alias (``attr.x`` finds ``attributes.x`` or
    ``x``); an unknown key or a direction other than ASC/DESC raises InvalidParameter.
    """
    if order_by is None or (isinstance(order_by, str | list | tuple) and not order_by):
        return list(default)
    if isinstance(order_by, str):
        order_by = [order_by]
    if not isinstance(order_by, list | tuple):
        raise InvalidParameter(f"order_by must be a list of strings, got {shown(order_by)}")
    result = []
    for clause in order_by:
        if not isinstance(clause, str):
            raise InvalidParameter(f"order_by entries must be str, got {shown(clause)}")
        problem = text_problem(clause)
        if problem is not None:
            raise InvalidParameter(f"order_by: {problem}", field="order_by")
        parser = _Parser(clause, "order_by")
        tok, field = parser.field(None)
        names = [tok.text, f"{_CANONICAL_PREFIX[field.kind]}.{field.key}"]
        if field.kind == "attribute":
            names.append(field.key)
        key = next((name for name in names if name in allowed), None)
        if key is None:
            raise parser.lexer.error(
                f"unknown order_by key {tok.text!r}; expected one of {', '.join(sorted(allowed))}"
            )
        direction = parser.next()
        if direction.kind != "end" and not _is_kw(direction, "ASC", "DESC"):
            raise parser.lexer.error(
                f"bad direction {direction.text!r} at position {direction.pos}: "
                "expected ASC or DESC"
            )
        descending = _is_kw(direction, "DESC")
        extra = parser.next()
        if extra.kind != "end":
            raise parser.lexer.error(f"unexpected {extra.text!r} at position {extra.pos}")
        result.append((allowed[key], descending))
    return result


# --------------------------------------------------------------------------- SQL


def compare(column: sa.ColumnElement[Any], op: str, value: Value) -> sa.ColumnElement[bool]:
    """The SQL condition ``column op value``, with ``value`` always bound, never inlined.

    String ``=``, ``!=``, ``IN``, ``NOT IN`` and ``LIKE`` are exact on every backend: MySQL and
    MariaDB compare the utf8mb4 bytes (their default collations ignore case and trailing
    spaces) and SQLite runs LIKE as GLOB on a translated pattern (its LIKE ignores ASCII case).
    ``ILIKE`` is ``lower(column) LIKE lower(value)`` everywhere. Other comparisons are plain.
    """
    op = " ".join(op.upper().split())
    if op not in OPERATORS:
        raise InvalidParameter(f"unknown comparator {op!r}")
    if op == "IS NULL":
        return column.is_(None)
    if op == "IS NOT NULL":
        return column.is_not(None)
    if op in ("IN", "NOT IN"):
        if not isinstance(value, tuple | list) or not value:
            raise InvalidParameter(f"{op} needs a non-empty list of values, got {shown(value)}")
        if all(isinstance(v, str) for v in value):
            return _ExactText(column, op, tuple(_bind(v) for v in value))
        return column.in_(value) if op == "IN" else column.not_in(value)
    if value is None or isinstance(value, tuple | list):
        raise InvalidParameter(f"{op} needs a single value, got {shown(value)}")
    if op in ("LIKE", "ILIKE"):
        if not isinstance(value, str):
            raise InvalidParameter(f"{op} needs a string pattern, got {shown(value)}")
        if (len(value) - len(value.rstrip("\\"))) % 2:
            raise InvalidParameter(
                f"{op} pattern {shown(value)} ends with the escape character '\\'"
            )
        if op == "ILIKE":
            return sa.func.lower(column).like(sa.func.lower(_bind(value)), escape="\\")
        return _ExactText(column, op, (_bind(value), _bind(_like_to_glob(value))))
    if isinstance(value, str) and op in ("=", "!="):
        return _ExactText(column, op, (_bind(value),))
    return column.operate(_SYMBOL_OPERATORS[op], value)  # type: ignore[no-any-return]


_SYMBOL_OPERATORS = {
    "=": operators.eq,
    "!=": operators.ne,
    "<": operators.lt,
    "<=": operators.le,
    ">": operators.gt,
    ">=": operators.ge,
}


def _bind(value: str) -> sa.BindParameter[str]:
    return sa.bindparam(None, value, type_=sa.String(), unique=True)


def _like_to_glob(pattern: str) -> str:
    """Translate a LIKE pattern (``%``, ``_``, ``\\`` escape) into an SQLite GLOB pattern."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            i += 1
            ch = pattern[i]
            out.append(f"[{ch}]" if ch in "*?[" else ch)
        elif ch in "%_":
            out.append("*" if ch == "%" else "?")
        else:
            out.append(f"[{ch}]" if ch in "*?[" else ch)
        i += 1
    return "".join(out)


class _ExactText(sa.ColumnElement[bool]):
    """A case- and space-exact string ``=``, ``!=``, ``[NOT] IN`` or ``LIKE``, per dialect.

    ``binds`` holds the bound values; for LIKE it is ``(like_pattern, glob_pattern)``. Both
    are part of the cache key, so a cached statement is reused with the new values.
    """

    __visit_name__ = "evalledger_exact_text"
    inherit_cache = True
    _is_implicitly_boolean = True
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy reads this class attribute)
        ("column", InternalTraversal.dp_clauseelement),
        ("op", InternalTraversal.dp_string),
        ("binds", InternalTraversal.dp_clauseelement_tuple),
    ]
    type = sa.Boolean()

    def __init__(
        self, column: sa.ColumnElement[Any], op: str, binds: tuple[sa.BindParameter[str], ...]
    ) -> None:
        self.column = column
        self.op = op
        self.binds = binds

    @property
    def _from_objects(self) -> list[Any]:  # type: ignore[override]
        return self.column._from_objects

    def self_group(self, against: Any = None) -> _ExactText:  # type: ignore[override]
        return self  # always rendered in parentheses

    def portable(self) -> sa.ColumnElement[bool]:
        """The standard SQL form, exact where ``=`` and LIKE already are (PostgreSQL)."""
        col, first = self.column, self.binds[0]
        if self.op == "=":
            return col == first
        if self.op == "!=":
            return col != first
        if self.op == "IN":
            return col.in_(list(self.binds))
        if self.op == "NOT IN":
            return col.not_in(list(self.binds))
        return col.like(first, escape="\\")


@compiles(_ExactText)
def _compile_exact(element: _ExactText, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.portable(), **kw)})"


@compiles(_ExactText, "sqlite")
def _compile_exact_sqlite(element: _ExactText, compiler: SQLCompiler, **kw: Any) -> str:
    if element.op != "LIKE":
        return _compile_exact(element, compiler, **kw)
    column = compiler.process(element.column.self_group(against=operators.like_op), **kw)
    return f"({column} GLOB {compiler.process(element.binds[1], **kw)})"


@compiles(_ExactText, "mysql")
@compiles(_ExactText, "mariadb")
def _compile_exact_mysql(element: _ExactText, compiler: SQLCompiler, **kw: Any) -> str:
    # The plain comparison comes first so an index on the column can still narrow the rows.
    plain = compiler.process(element.portable(), **kw)
    col = compiler.process(element.column, **kw)
    binds = [compiler.process(b, **kw) for b in element.binds]
    if element.op == "LIKE":
        escape = compiler.render_literal_value("\\", sa.String())
        exact = (
            f"CONVERT({col} USING utf8mb4) LIKE CONVERT({binds[0]} USING utf8mb4) "
            f"COLLATE utf8mb4_bin ESCAPE {escape}"
        )
        return f"({plain} AND {exact})"
    as_bytes = "CAST(CONVERT({} USING utf8mb4) AS BINARY)".format
    values = ", ".join(as_bytes(b) for b in binds)
    if element.op == "=":
        return f"({plain} AND {as_bytes(col)} = {values})"
    if element.op == "IN":
        return f"({plain} AND {as_bytes(col)} IN ({values}))"
    if element.op == "!=":
        return f"({as_bytes(col)} != {values})"
    return f"({as_bytes(col)} NOT IN ({values}))"


def is_number(value: Any) -> bool:
    """An int or float filter value (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _values(value: Any) -> list[Any]:
    return list(value) if isinstance(value, tuple | list) else [value]


def compare_attribute(
    cmp: Comparison,
    strings: Mapping[str, sa.ColumnElement[Any]],
    numbers: Mapping[str, sa.ColumnElement[Any]],
    shown: str,
) -> sa.ColumnElement[bool] | None:
    """``cmp`` on a string or a number attribute column, with the value's type checked
    (InvalidParameter naming `shown`); None when the key names neither kind."""
    key, value = cmp.field.key, cmp.value
    if key in strings:
        if value is not None and not all(isinstance(v, str) for v in _values(value)):
            raise InvalidParameter(
                f"filter: {shown} is a string attribute; compare it with a quoted string"
            )
        return compare(strings[key], cmp.op, value)
    if key in numbers:
        if cmp.op in ("LIKE", "ILIKE") or (
            value is not None and not all(is_number(v) for v in _values(value))
        ):
            raise InvalidParameter(
                f"filter: {shown} is a number (epoch ms); compare it with a number"
            )
        return compare(numbers[key], cmp.op, value)
    return None


def compare_key_value(
    owner: sa.ColumnElement[bool],
    key_column: sa.ColumnElement[str],
    value_column: sa.ColumnElement[str],
    cmp: Comparison,
) -> sa.ColumnElement[bool]:
    """``cmp`` on a key/value table (tags, metadata) as EXISTS over the owner's rows with
    that key. A number compares numerically with values that are numbers (text never
    equals a number); anything else compares as text. IS NULL means "has no such key"."""
    has_key = sa.and_(owner, compare(key_column, "=", cmp.field.key))
    if cmp.op == "IS NULL":
        return ~sa.exists().where(has_key)
    if cmp.op == "IS NOT NULL":
        return sa.exists().where(has_key)
    values = _values(cmp.value)
    if all(is_number(v) for v in values) and cmp.op not in ("LIKE", "ILIKE"):
        condition = compare(as_number(value_column), cmp.op, cmp.value)
    else:
        text = (
            tuple(str(v) for v in values) if isinstance(cmp.value, tuple | list) else str(cmp.value)
        )
        condition = compare(value_column, cmp.op, text)
    return sa.exists().where(has_key, condition)
