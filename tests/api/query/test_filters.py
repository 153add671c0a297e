"""el.filters: the filter-string grammar, order_by, and the SQL it compiles to on each backend."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.dialects.mysql.mariadb import MariaDBDialect

from evalledger.ledger import create_engine
from evalledger.ledger.errors import InvalidParameter
from evalledger.ledger.testing import fresh_database
from evalledger.query.filters import (
    And,
    Comparison,
    Field,
    Or,
    compare,
    compile_filter,
    parse_filter,
    parse_order_by,
)

BACKENDS = [
    b.strip()
    for b in os.environ.get("EVALLEDGER_TEST_BACKENDS", "sqlite,postgresql,mariadb").split(",")
    if b.strip()
]


def attr(key: str, op: str, value: object = None) -> Comparison:
    return Comparison(Field("attribute", key), op, value)  # type: ignore[arg-type]


def tag(key: str, op: str, value: object = None) -> Comparison:
    return Comparison(Field("tag", key), op, value)  # type: ignore[arg-type]


def meta(key: str, op: str, value: object = None) -> Comparison:
    return Comparison(Field("metadata", key), op, value)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name = 'a'", attr("name", "=", "a")),
        ('name = "a"', attr("name", "=", "a")),
        ("name != 'a'", attr("name", "!=", "a")),
        ("created_time < 5", attr("created_time", "<", 5)),
        ("created_time <= 5", attr("created_time", "<=", 5)),
        ("created_time > -5", attr("created_time", ">", -5)),
        ("created_time>=5", attr("created_time", ">=", 5)),
        ("x = 1.5", attr("x", "=", 1.5)),
        ("x = -2.5e3", attr("x", "=", -2500.0)),
        ("x = 1E2", attr("x", "=", 100.0)),
        ("x = .5", attr("x", "=", 0.5)),
        ("x = 7.", attr("x", "=", 7.0)),
        ("name LIKE 'a%'", attr("name", "LIKE", "a%")),
        ("name like 'a%'", attr("name", "LIKE", "a%")),
        ("name ILIKE '%A_'", attr("name", "ILIKE", "%A_")),
        ("name iLike 'x'", attr("name", "ILIKE", "x")),
        ("name IN ('a', 'b')", attr("name", "IN", ("a", "b"))),
        ("name in ('a')", attr("name", "IN", ("a",))),
        ("x IN (1, 2.5, -3)", attr("x", "IN", (1, 2.5, -3))),
        ("x IN (1,'two')", attr("x", "IN", (1, "two"))),
        ("name NOT IN ('a', \"b\")", attr("name", "NOT IN", ("a", "b"))),
        ("name not   in ('a')", attr("name", "NOT IN", ("a",))),
        ("name IS NULL", attr("name", "IS NULL")),
        ("name is null", attr("name", "IS NULL")),
        ("name IS NOT NULL", attr("name", "IS NOT NULL")),
        ("name Is Not Null", attr("name", "IS NOT NULL")),
        ("attributes.status = 'OK'", attr("status", "=", "OK")),
        ("attribute.status = 'OK'", attr("status", "=", "OK")),
        ("attr.timestamp_ms > 10", attr("timestamp_ms", ">", 10)),
        ("`name` = 'a'", attr("name", "=", "a")),
        ("attributes.`trace_id` = 'a'", attr("trace_id", "=", "a")),
        ("tags.k = 'v'", tag("k", "=", "v")),
        ("tag.quality_score < 0.7", tag("quality_score", "<", 0.7)),
        ("tags.`my key` = 'v'", tag("my key", "=", "v")),
        ("tags.\"my key\" = 'v'", tag("my key", "=", "v")),
        ("tags.'my key' = 'v'", tag("my key", "=", "v")),
        ("tags.`a.b c` = 'v'", tag("a.b c", "=", "v")),
        ("tags.`we``ird` = 'v'", tag("we`ird", "=", "v")),
        ("tags.mlflow.user = 'v'", tag("mlflow.user", "=", "v")),
        ("tags.my-key = 'v'", tag("my-key", "=", "v")),
        ("metadata.mlflow.trace.session = 's'", meta("mlflow.trace.session", "=", "s")),
        ("request_metadata.k IS NULL", meta("k", "IS NULL")),
        ('metadata."x y" IN (1, 2)', meta("x y", "IN", (1, 2))),
        ("Tags.k = 'v'", tag("k", "=", "v")),
        # strings: doubled quotes, backslash escapes, other backslashes kept for LIKE
        ("name = 'it''s'", attr("name", "=", "it's")),
        ('name = "say ""hi"""', attr("name", "=", 'say "hi"')),
        (r"name = 'it\'s'", attr("name", "=", "it's")),
        (r'name = "say \"hi\""', attr("name", "=", 'say "hi"')),
        (r"name = 'a\\b'", attr("name", "=", "a\\b")),
        (r"name LIKE '50\% off'", attr("name", "LIKE", "50\\% off")),
        (r"name LIKE 'a\_b'", attr("name", "LIKE", "a\\_b")),
        ("name = ''", attr("name", "=", "")),
        ("name = 'a AND b OR c'", attr("name", "=", "a AND b OR c")),
        ("name = '5'", attr("name", "=", "5")),
        ("  name\t=\n'a'  ", attr("name", "=", "a")),
        # connectives, precedence, grouping
        (
            "a = 1 AND b = 2",
            And((attr("a", "=", 1), attr("b", "=", 2))),
        ),
        (
            "a = 1 and b = 2 AnD c = 3",
            And((attr("a", "=", 1), attr("b", "=", 2), attr("c", "=", 3))),
        ),
        (
            "a = 1 OR b = 2 AND c = 3",
            Or((attr("a", "=", 1), And((attr("b", "=", 2), attr("c", "=", 3))))),
        ),
        (
            "a = 1 AND b = 2 or c = 3",
            Or((And((attr("a", "=", 1), attr("b", "=", 2))), attr("c", "=", 3))),
        ),
        (
            "(a = 1 OR b = 2) AND c = 3",
            And((Or((attr("a", "=", 1), attr("b", "=", 2))), attr("c", "=", 3))),
        ),
        ("((a = 1))", attr("a", "=", 1)),
        (
            "a = 1 AND (b = 2 AND c = 3)",
            And((attr("a", "=", 1), attr("b", "=", 2), attr("c", "=", 3))),
        ),
        (
            "(a=1 OR b=2)AND(c=3 OR d IS NULL)",
            And(
                (
                    Or((attr("a", "=", 1), attr("b", "=", 2))),
                    Or((attr("c", "=", 3), attr("d", "IS NULL"))),
                )
            ),
        ),
    ],
)
def test_parse_valid(text: str, expected: object) -> None:
    assert parse_filter(text) == expected


def test_parse_keeps_number_types() -> None:
    expr = parse_filter("a = 3 AND b = 3.0 AND c = '3'")
    assert isinstance(expr, And)
    values = [item.value for item in expr.items]  # type: ignore[union-attr]
    assert values == [3, 3.0, "3"]
    assert [type(v) for v in values] == [int, float, str]


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t"])
def test_blank_filter_is_none(text: str | None) -> None:
    assert parse_filter(text) is None


def test_injection_attempt_is_a_plain_value() -> None:
    assert parse_filter("name = 'x'' OR 1=1 --'") == attr("name", "=", "x' OR 1=1 --")
    assert parse_filter("name = 'a'';DROP TABLE t;--'") == attr("name", "=", "a';DROP TABLE t;--")


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("name = ", ["expected a value after '='", "position 7"]),
        ("name =", ["after '='", "position 6"]),
        ("name = AND", ["expected a value after '='", "'AND'", "position 7"]),
        ("name = NULL", ["expected a value", "'NULL'", "position 7"]),
        ("name = (1)", ["expected a value", "'('", "position 7"]),
        ("name", ["expected a comparator after 'name'", "position 4"]),
        ("name 'a'", ["unknown comparator", "\"'a'\"", "position 5"]),
        ("name == 'a'", ["unknown comparator '=='", "position 5"]),
        ("name <> 'a'", ["unknown comparator '<>'", "position 5"]),
        ("name =! 'a'", ["unknown comparator '=!'", "position 5"]),
        ("name EQUALS 'a'", ["unknown comparator 'EQUALS'", "position 5"]),
        ("name = 'abc", ["unterminated string", "'abc", "position 7"]),
        ('name = "abc', ["unterminated string", "position 7"]),
        (r"name = 'abc\'", ["unterminated string", "position 7"]),
        ("tags.`abc = 'x'", ["unterminated string", "position 5"]),
        ("(name = 'a'", ["unbalanced '('", "position 0"]),
        ("((name = 'a')", ["unbalanced '('", "position 0"]),
        ("name = 'a')", ["unbalanced ')'", "position 10"]),
        ("(name = 'a' name = 'b')", ["expected ')', AND or OR", "'name'", "position 12"]),
        ("name = 'a' foo", ["unexpected 'foo'", "position 11"]),
        ("name = 'a' 'b'", ["unexpected \"'b'\"", "position 11"]),
        ("name = 'a' AND", ["expected a field name after 'AND'", "position 14"]),
        ("name = 'a' OR", ["expected a field name after 'OR'", "position 13"]),
        ("AND name = 'a'", ["expected a field name", "'AND'", "position 0"]),
        ("name = 'a' AND OR b = 1", ["after 'AND'", "'OR'", "position 15"]),
        ("()", ["expected a field name", "')'", "position 1"]),
        ("name IN ()", ["empty IN list", "position 8"]),
        ("name NOT IN ( )", ["empty IN list", "position 12"]),
        ("name IN 'a'", ["expected '(' after 'IN'", "position 8"]),
        ("name IN ('a',)", ["expected a value after ','", "')'", "position 13"]),
        ("name IN ('a' 'b')", ["expected ',' or ')'", "\"'b'\"", "position 13"]),
        ("name IN ('a', 'b'", ["unbalanced '('", "position 8"]),
        ("name IN (NULL)", ["expected a value after '('", "'NULL'", "position 9"]),
        ("name NOT 'a'", ["expected IN after 'NOT'", "position 9"]),
        ("name NOT LIKE 'a'", ["expected IN after 'NOT'", "'LIKE'", "position 9"]),
        ("name IS 'a'", ["expected NULL or NOT NULL after 'IS'", "position 8"]),
        ("name IS NOT", ["expected NULL or NOT NULL after 'IS'", "position 11"]),
        ("name LIKE 5", ["expected a quoted string after 'LIKE'", "'5'", "position 10"]),
        ("name ILIKE", ["expected a quoted string after 'ILIKE'", "position 10"]),
        ("name = 1 ; DROP TABLE t", ["unexpected character ';'", "position 9"]),
        ("name = 1 -- comment", ["unexpected character '-'", "position 9"]),
        ("x = 5abc", ["invalid number '5abc'", "position 4"]),
        ("x = 1.2.3", ["invalid number '1.2.3'", "position 4"]),
        ("foo.bar = 1", ["unknown field 'foo.bar'", "position 0"]),
        ("tags. = 'x'", ["expected a key after 'tags.'", "position 5"]),
        ("tags.`` = 'x'", ["expected a key after", "position 7"]),
        ("'name' = 'x'", ["expected a field name", "\"'name'\"", "position 0"]),
        ("5 = 5", ["expected a field name", "'5'", "position 0"]),
    ],
)
def test_parse_invalid(text: str, fragments: list[str]) -> None:
    with pytest.raises(InvalidParameter) as info:
        parse_filter(text)
    message = str(info.value)
    assert message.startswith(f"Invalid filter {text!r}: ")
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_error_message_example_from_the_spec() -> None:
    with pytest.raises(InvalidParameter) as info:
        parse_filter("name = ")
    assert str(info.value) == "Invalid filter 'name = ': expected a value after '=' at position 7"


def test_non_string_filter_is_rejected() -> None:
    with pytest.raises(InvalidParameter):
        parse_filter(42)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- order_by

ALLOWED = {"name": "N", "created_time": "C", "attributes.timestamp_ms": "T", "tags.k": "K"}


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (None, [("C", True)]),
        ([], [("C", True)]),
        (["name"], [("N", False)]),
        (["name ASC"], [("N", False)]),
        (["name desc"], [("N", True)]),
        (["  created_time   DESC "], [("C", True)]),
        (["created_time DESC", "name"], [("C", True), ("N", False)]),
        (["attributes.timestamp_ms DESC"], [("T", True)]),
        (["attr.timestamp_ms asc"], [("T", False)]),
        (["timestamp_ms DESC"], [("T", True)]),
        (["attributes.name"], [("N", False)]),
        (["`name` DESC"], [("N", True)]),
        (["tag.k"], [("K", False)]),
        (["tags.`k` DESC"], [("K", True)]),
        ("name DESC", [("N", True)]),
    ],
)
def test_parse_order_by(order_by: list[str] | None, expected: list[tuple[str, bool]]) -> None:
    assert parse_order_by(order_by, ALLOWED, [("C", True)]) == expected


@pytest.mark.parametrize(
    ("order_by", "fragments"),
    [
        (["nope"], ["unknown order_by key 'nope'", "created_time"]),
        (["tags.other DESC"], ["unknown order_by key 'tags.other'"]),
        (["name UP"], ["bad direction 'UP'", "position 5", "ASC or DESC"]),
        (["name 'x'"], ["bad direction \"'x'\""]),
        (["name ASC DESC"], ["unexpected 'DESC'", "position 9"]),
        (["name, created_time"], ["bad direction ','"]),
        ([""], ["expected a field name"]),
        (["DESC"], ["unknown order_by key 'DESC'"]),
        ([5], ["must be str"]),
    ],
)
def test_parse_order_by_invalid(order_by: list[str], fragments: list[str]) -> None:
    with pytest.raises(InvalidParameter) as info:
        parse_order_by(order_by, ALLOWED, [])
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


# --------------------------------------------------------------------------- compare, SQL text

T = sa.table(
    "t",
    sa.column("name", sa.String),
    sa.column("score", sa.Integer),
)
DIALECTS = {
    "sqlite": sqlite.dialect(),
    "postgresql": postgresql.dialect(),
    "mysql": mysql.dialect(),
    "mariadb": MariaDBDialect(),
}


def _sql(expr: sa.ColumnElement[bool], dialect: str) -> str:
    return str(sa.select(T.c.score).where(expr).compile(dialect=DIALECTS[dialect]))


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_filter_text_never_reaches_sql(dialect: str) -> None:
    text = (
        "name = 'x'' OR 1=1 --' OR name LIKE 'evil%' OR name ILIKE 'EVIL' "
        "OR name IN ('inj1', 'inj2') OR name != 'neq' OR score > 12345"
    )
    expr = compile_filter(parse_filter(text), lambda c: compare(T.c[c.field.key], c.op, c.value))
    sql = _sql(expr, dialect)
    for literal in ("1=1", "x'", "evil", "EVIL", "inj1", "inj2", "neq", "12345"):
        assert literal not in sql


def test_like_is_dialect_specific() -> None:
    expr = compare(T.c.name, "LIKE", "a%")
    assert "GLOB" in _sql(expr, "sqlite")
    assert "LIKE" in _sql(expr, "postgresql") and "GLOB" not in _sql(expr, "postgresql")
    for dialect in ("mysql", "mariadb"):
        assert "COLLATE utf8mb4_bin" in _sql(expr, dialect)
    eq = compare(T.c.name, "=", "a")
    assert "AS BINARY" in _sql(eq, "mariadb")
    assert "BINARY" not in _sql(eq, "postgresql")


def test_compile_filter_shapes() -> None:
    assert compile_filter(None, lambda c: pytest.fail("no comparisons")) is not None
    seen: list[Comparison] = []

    def resolve(c: Comparison) -> sa.ColumnElement[bool]:
        seen.append(c)
        return compare(T.c[c.field.key], c.op, c.value)

    sql = _sql(
        compile_filter(parse_filter("score = 1 OR score = 2 AND score = 3"), resolve), "sqlite"
    )
    assert sql.count(" OR ") == 1 and sql.count(" AND ") == 1
    assert [c.value for c in seen] == [1, 2, 3]


def test_resolver_errors_pass_through() -> None:
    def resolve(c: Comparison) -> sa.ColumnElement[bool]:
        raise InvalidParameter(f"unknown attribute {c.field.key!r}")

    with pytest.raises(InvalidParameter, match="unknown attribute 'bogus'"):
        compile_filter(parse_filter("bogus = 1"), resolve)


@pytest.mark.parametrize(
    ("op", "value", "fragment"),
    [
        ("~", "a", "unknown comparator"),
        ("IN", (), "non-empty"),
        ("NOT IN", "a", "non-empty"),
        ("=", None, "single value"),
        ("<", ("a",), "single value"),
        ("LIKE", 5, "string pattern"),
        ("LIKE", "abc\\", "escape character"),
        ("ILIKE", "a\\\\\\", "escape character"),
    ],
)
def test_compare_rejects_bad_arguments(op: str, value: object, fragment: str) -> None:
    with pytest.raises(InvalidParameter, match=fragment):
        compare(T.c.name, op, value)  # type: ignore[arg-type]


def test_compare_normalizes_op() -> None:
    assert "GLOB" in _sql(compare(T.c.name, "like", "a"), "sqlite")
    assert "IS NOT NULL" in _sql(compare(T.c.name, "is  not null", None), "sqlite")


# --------------------------------------------------------------------------- execution

ROWS = [
    (1, "apple", 10, 0.5, "n"),
    (2, "Apple", 20, 1.5, None),
    (3, "APPLE pie", 30, -2.5, "n"),
    (4, "banana", 40, 1000.0, None),
    (5, "ban_ana", 50, 2.0, "n"),
    (6, "banXana", 60, 2.5, None),
    (7, "50% off", 70, 3.0, "n"),
    (8, "x' OR 1=1 --", 80, 3.5, None),
    (9, "a*b?[c]", 90, 4.0, "n"),
    (10, "apple ", 100, 4.5, None),
    (11, 'say "hi"', 110, 5.0, "n"),
    (12, "back\\slash", 120, 5.5, None),
]
ALL = {row[0] for row in ROWS}
ODD = {i for i in ALL if i % 2}


@pytest.fixture(scope="module", params=BACKENDS)
def filter_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[sa.Engine, sa.Table]]:
    """A table of ROWS on one backend (in-memory SQLite, or a throwaway server database)."""
    backend = request.param
    if backend == "sqlite":
        engine = create_engine("sqlite://")
        yield from _populated(engine)
        return
    with fresh_database(backend, Path(tmp_path_factory.mktemp("filters")), "evlf") as url:
        engine = create_engine(url)
        yield from _populated(engine)


def _populated(engine: sa.Engine) -> Iterator[tuple[sa.Engine, sa.Table]]:
    md = sa.MetaData()
    table = sa.Table(
        "filter_rows",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("ratio", sa.Float, nullable=False),
        sa.Column("note", sa.String(10)),
    )
    try:
        md.create_all(engine)
        with engine.begin() as conn:
            conn.execute(
                table.insert(),
                [dict(zip(("id", "name", "score", "ratio", "note"), r, strict=True)) for r in ROWS],
            )
        yield engine, table
    finally:
        md.drop_all(engine)
        engine.dispose()


def _ids(filter_db: tuple[sa.Engine, sa.Table], where: sa.ColumnElement[bool]) -> set[int]:
    engine, table = filter_db
    with engine.connect() as conn:
        return set(conn.execute(sa.select(table.c.id).where(where)).scalars())


def _run(filter_db: tuple[sa.Engine, sa.Table], text: str | None) -> set[int]:
    table = filter_db[1]

    def resolve(c: Comparison) -> sa.ColumnElement[bool]:
        if c.field.kind != "attribute" or c.field.key not in table.c:
            raise InvalidParameter(f"unknown field {c.field.key!r}")
        return compare(table.c[c.field.key], c.op, c.value)

    return _ids(filter_db, compile_filter(parse_filter(text), resolve))


EXECUTION_CASES = [
    (None, ALL),
    # = and != on strings are exact: case and trailing spaces count (MariaDB included)
    ("name = 'apple'", {1}),
    ("name = 'APPLE'", set()),
    ("name = 'apple '", {10}),
    ("name != 'apple'", ALL - {1}),
    ("name != 'APPLE'", ALL),
    ("name = 'x'' OR 1=1 --'", {8}),
    ("name = 'nope'' OR ''1''=''1'", set()),
    ('name = "say \\"hi\\""', {11}),
    ("name = 'say \"hi\"'", {11}),
    (r"name = 'back\\slash'", {12}),
    # numbers
    ("score = 40", {4}),
    ("score != 40", ALL - {4}),
    ("score < 30", {1, 2}),
    ("score <= 30", {1, 2, 3}),
    ("score > 100", {11, 12}),
    ("score >= 110", {11, 12}),
    ("ratio < -1", {3}),
    ("ratio >= 1e3", {4}),
    ("ratio > 4.75", {4, 11, 12}),
    ("ratio = 0.5", {1}),
    # LIKE is case-sensitive everywhere, ILIKE is not
    ("name LIKE 'app%'", {1, 10}),
    ("name LIKE 'App%'", {2}),
    ("name LIKE 'apple'", {1}),
    ("name LIKE '%PIE'", set()),
    ("name LIKE '%pie'", {3}),
    ("name ILIKE 'app%'", {1, 2, 3, 10}),
    ("name ILIKE '%PIE'", {3}),
    ("name ILIKE 'APPLE'", {1, 2}),
    ("name LIKE 'ban_ana'", {5, 6}),
    ("name LIKE 'BAN_ANA'", set()),
    (r"name LIKE 'ban\_ana'", {5}),
    (r"name ILIKE 'BAN\_ANA'", {5}),
    (r"name LIKE '50\%%'", {7}),
    (r"name LIKE '%\%%'", {7}),
    (r"name LIKE '%\\\\%'", {12}),
    ("name LIKE 'a*b?[c]'", {9}),
    ("name LIKE '%[c]'", {9}),
    ("name LIKE 'a*%'", {9}),
    ("name LIKE '%?%'", {9}),
    ("name LIKE 'x'' OR%'", {8}),
    # IN / NOT IN
    ("name IN ('apple', 'banana')", {1, 4}),
    ("name IN ('APPLE', 'Apple')", {2}),
    ("name IN ('apple')", {1}),
    ("name NOT IN ('apple', 'Apple')", ALL - {1, 2}),
    ("score IN (10, 40)", {1, 4}),
    ("score NOT IN (10, 40)", ALL - {1, 4}),
    ("ratio IN (0.5, 1.5)", {1, 2}),
    # NULL
    ("note IS NULL", ALL - ODD),
    ("note IS NOT NULL", ODD),
    ("note = 'n'", ODD),
    # connectives
    ("note IS NOT NULL AND score > 80", {9, 11}),
    ("name = 'apple' OR name = 'banana' AND score > 100", {1}),
    ("(name = 'apple' OR name = 'banana') AND score > 100", set()),
    ("(name = 'apple' OR name = 'banana') AND score >= 10", {1, 4}),
    ("score < 20 OR score > 110 OR name LIKE 'ban%' AND note IS NULL", {1, 4, 6, 12}),
]


@pytest.mark.parametrize(("text", "expected"), EXECUTION_CASES)
def test_execute(filter_db: tuple[sa.Engine, sa.Table], text: str, expected: set[int]) -> None:
    assert _run(filter_db, text) == expected


def test_execute_negated_and_reused_statement(filter_db: tuple[sa.Engine, sa.Table]) -> None:
    table = filter_db[1]
    assert _ids(filter_db, sa.not_(compare(table.c.name, "=", "apple"))) == ALL - {1}
    assert _ids(filter_db, sa.not_(compare(table.c.name, "LIKE", "app%"))) == ALL - {1, 10}
    assert _ids(filter_db, sa.not_(compare(table.c.name, "IN", ("apple", "Apple")))) == ALL - {1, 2}
    # Same statement shape, new values: the cached compiled form must take the new binds.
    for pattern, expected in [("app%", {1, 10}), ("App%", {2}), ("ban%", {4, 5, 6})] * 2:
        assert _ids(filter_db, compare(table.c.name, "LIKE", pattern)) == expected
    for values, expected in [(("apple", "banana"), {1, 4}), (("Apple", "x"), {2})] * 2:
        assert _ids(filter_db, compare(table.c.name, "IN", values)) == expected


def test_execute_injection_leaves_table_intact(filter_db: tuple[sa.Engine, sa.Table]) -> None:
    assert _run(filter_db, "name = 'a''; DROP TABLE filter_rows; --'") == set()
    assert _run(filter_db, None) == ALL
