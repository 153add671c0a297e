"""What the bad-input fuzz test shares: strategies for odd values, the ledger's fingerprint,
and the probe that calls the API and checks what a failure left.

The strategies aim at what the reliability review found escaping as raw exceptions: lone
surrogates, NUL, integers beyond 64 bits and non-finite floats, numpy and pandas scalars,
values nested past the limit, huge strings, and filter text with injection attempts, deep
parentheses and long OR chains.
"""

from __future__ import annotations

import decimal
import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import sqlalchemy as sa
from hypothesis import strategies as st

from evalledger.ledger import EventStore, LedgerError, verify_chain
from evalledger.ledger.schema import events, ledger_head
from evalledger.projections import schema as p
from evalledger.projections.rebuild import check_projections

# --------------------------------------------------------------------------- text

INJECTIONS = [
    "'; DROP TABLE events; --",
    '" OR 1=1 --',
    "' OR '1'='1",
    "x'); DELETE FROM events; --",
    "`; TRUNCATE TABLE events; --",
    "\\'; UPDATE ledger_head SET hash = '0'; --",
    "name = 'a' UNION SELECT * FROM events",
]
SURROGATE = st.characters(categories=["Cs"])
odd_char = st.one_of(
    st.characters(),
    SURROGATE,
    st.sampled_from(["\x00", "'", '"', "\\", "%", "_", "`", "\n", "\u202e", "\U0010ffff", "é"]),
)
odd_text = st.one_of(
    st.text(odd_char, max_size=12),
    st.sampled_from(
        ["", " ", " x", "x ", "base", "gold", "\x00", "\ud800", "a\udfffb", "NULL", *INJECTIONS]
    ),
    # longer than a name (500) or a key (250); a tag value over MariaDB's 65,535 bytes
    st.sampled_from([251, 501, 5_000, 70_000]).map(lambda n: "é" * n),
)

# --------------------------------------------------------------------------- numbers

huge_int = st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**30, -(10**30), 2**1000])
numbers = st.one_of(
    st.integers(),
    huge_int,
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 2**63 - 1, -(2**63), 1e308, 5e-324, -0.0]),
)
numpy_pandas = st.sampled_from(
    [
        np.int64(3),
        np.int32(-1),
        np.uint64(2**64 - 1),
        np.float32(1.5),
        np.float64("nan"),
        np.float64("inf"),
        np.bool_(True),
        np.str_("np"),
        np.array([1, 2]),
        pd.Timestamp("2024-01-01"),
        pd.Timestamp("2024-01-01", tz="UTC"),
        pd.NaT,
        pd.NA,
        np.nan,
        pd.Series([1, 2]),
        pd.Categorical(["a"]),
    ]
)
odd_objects = st.sampled_from(
    [
        b"bytes",
        bytearray(b"x"),
        decimal.Decimal("1.5"),
        decimal.Decimal("NaN"),
        complex(1, 2),
        {1, 2},
        frozenset(),
        datetime(2024, 1, 1),
        timedelta(1),
        object(),
        Path("/tmp"),
        type,
        Ellipsis,
    ]
)


def nested(levels: int, kind: str) -> Any:
    """A value `levels` lists (or dicts) deep."""
    value: Any = 1
    for _ in range(levels):
        value = [value] if kind == "list" else {"k": value}
    return value


deep_value = st.builds(
    nested,
    st.sampled_from([63, 64, 99, 100, 101, 255, 1_000, 5_000]),
    st.sampled_from(["list", "dict"]),
)
leaf = st.one_of(st.none(), st.booleans(), numbers, odd_text, numpy_pandas, odd_objects)
json_like = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner),
        st.dictionaries(st.one_of(odd_text, st.integers(), st.none()), inner, max_size=3),
    ),
    max_leaves=10,
)
#: Plain JSON that every call should take (so accepted calls are fuzzed too).
plain_json = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
value = st.one_of(plain_json, json_like, deep_value)

#: Plain JSON only (what a file can hold), with integers of any size and odd text.
file_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), huge_int, st.floats(), odd_text),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd_text, inner, max_size=3),
    max_leaves=8,
)

# --------------------------------------------------------------------------- records

source = st.one_of(
    value,
    st.fixed_dictionaries(
        {"source_type": st.one_of(st.sampled_from(["HUMAN", "TRACE", "CODE", "bogus"]), value)},
        optional={
            "source_data": st.one_of(
                st.fixed_dictionaries({"source_id": st.one_of(odd_text, value)}),
                st.fixed_dictionaries({"trace_id": st.one_of(odd_text, value)}),
                value,
            ),
            "extra": value,
        },
    ),
)
record = st.one_of(
    st.fixed_dictionaries(
        {"inputs": st.dictionaries(st.text(max_size=5), plain_json, min_size=1, max_size=3)},
        optional={"outputs": plain_json, "expectations": st.dictionaries(st.text(), plain_json)},
    ),
    st.fixed_dictionaries(
        {"inputs": value},
        optional={
            "outputs": value,
            "expectations": value,
            "tags": value,
            "source": source,
            "dataset_record_id": value,
            "extra": value,
        },
    ),
    st.fixed_dictionaries({"inputs": st.dictionaries(odd_text, value, max_size=3)}),
    value,
)


def _frame(rows: list[Any]) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas on ragged rows
            return pd.DataFrame(rows)
    except Exception:  # the strategy's own problem, not the API's: merge the list instead
        return rows


records = st.one_of(
    st.lists(record, max_size=3),
    st.lists(record, min_size=1, max_size=3).map(_frame),
    value,
)

# --------------------------------------------------------------------------- arguments

tags = st.one_of(st.dictionaries(odd_text, st.one_of(odd_text, value), max_size=3), value)
version = st.one_of(
    st.none(),
    st.integers(-3, 5),
    st.integers(),
    huge_int,
    st.floats(allow_nan=True, allow_infinity=True),
    odd_text,
    st.sampled_from([np.int64(1), np.int32(0), np.float64(1.0), True, [1], "gold"]),
)
as_of = st.one_of(
    st.none(),
    st.integers(),
    huge_int,
    st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(),
    st.datetimes(timezones=st.just(UTC)),
    st.sampled_from(
        [
            pd.Timestamp("2024-01-01"),
            pd.NaT,
            np.int64(5),
            "2024-01-01",
            datetime.max,
            datetime.min.replace(tzinfo=UTC),
        ]
    ),
)
ids = st.one_of(odd_text, value, st.sampled_from(["d-" + "0" * 32, "tr-" + "0" * 32, "0", "1"]))
limits = st.one_of(st.none(), st.integers(), huge_int, st.floats(), odd_text)

# --------------------------------------------------------------------------- filters

_FIELDS = [
    "name",
    "`name`",
    "tags.k",
    "tags.`a b`",
    "tag.k",
    "tags.'q'",
    "attributes.name",
    "attr.status",
    "created_time",
    "last_update_time",
    "digest",
    "metadata.x",
    "request_metadata.m",
    "attributes.timestamp_ms",
    "attributes.execution_time_ms",
    "trace_id",
    "bogus",
    "prefix.k",
]
_OPS = ["=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN", "==", "<>", "~"]


def quoted(text: str, quote: str = "'") -> str:
    return quote + text.replace(quote, quote * 2) + quote


filter_value = st.one_of(
    odd_text.map(quoted),
    odd_text.map(lambda t: quoted(t, '"')),
    odd_text,  # unquoted: the lexer's problem
    st.integers().map(str),
    st.sampled_from(
        ["1e999", "-1e999", "99999999999999999999999", "9223372036854775808", ".5", "1.", "-0"]
    ),
    st.sampled_from(INJECTIONS),
    st.lists(odd_text.map(quoted), min_size=0, max_size=3).map(lambda v: f"({', '.join(v)})"),
    st.sampled_from(
        ["%", "'50\\% off'", "'a\\'", "'" + "%" * 5_000 + "'", "'" + "a" * 60_000 + "'"]
    ),
)
comparison = st.one_of(
    st.builds(
        lambda f, o, v: f"{f} {o} {v}",
        st.sampled_from(_FIELDS),
        st.sampled_from(_OPS),
        filter_value,
    ),
    st.builds(
        lambda f, n: f"{f} IS {n}",
        st.sampled_from(_FIELDS),
        st.sampled_from(["NULL", "NOT NULL", "nul"]),
    ),
)
filter_expr = st.recursive(
    comparison,
    lambda inner: st.one_of(
        st.builds(
            lambda a, j, b: f"{a}{j}{b}", inner, st.sampled_from([" AND ", " OR ", " or "]), inner
        ),
        inner.map(lambda e: f"({e})"),
        inner.map(lambda e: f"({e}"),
    ),
    max_leaves=6,
)
#: Filters that parse (on datasets or on traces): injection attempts inside quotes too.
valid_comparison = st.one_of(
    st.builds(
        lambda f, o, v: f"{f} {o} {quoted(v)}",
        st.sampled_from(["name", "tags.k", "tags.`a b`", "attributes.name", "metadata.m"]),
        st.sampled_from(["=", "!=", "LIKE", "ILIKE", "<", ">="]),
        st.one_of(odd_text.filter(lambda t: not t.endswith("\\")), st.sampled_from(INJECTIONS)),
    ),
    st.builds(
        lambda f, o, n: f"{f} {o} {n}",
        st.sampled_from(["created_time", "attributes.timestamp_ms", "tags.k"]),
        st.sampled_from(["=", "<", ">="]),
        st.one_of(
            st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False)
        ),
    ),
)
valid_filter = st.recursive(
    valid_comparison,
    lambda inner: st.one_of(
        st.builds(
            lambda a, j, b: f"({a}){j}({b})", inner, st.sampled_from([" AND ", " OR "]), inner
        )
    ),
    max_leaves=5,
)
#: Half filters that parse, half odd ones: at and beyond the limits, random text, values.
filter_string = st.one_of(
    valid_filter,
    st.one_of(
        st.none(),
        filter_expr,
        st.sampled_from([31, 32, 33, 100, 2_000]).map(lambda n: "(" * n + "name = 'a'" + ")" * n),
        st.sampled_from([255, 256, 257, 1_500]).map(lambda n: " OR ".join(["tags.k = 'a'"] * n)),
        st.sampled_from([999, 1_000, 1_001, 5_000]).map(
            lambda n: "name IN (" + ", ".join(["'a'"] * n) + ")"
        ),
        odd_text,
        st.sampled_from(INJECTIONS),
        value,
    ),
)
order_by = st.one_of(
    st.none(),
    st.lists(
        st.one_of(
            st.sampled_from(["name ASC", "created_time DESC", "timestamp_ms", "attributes.name"]),
            odd_text,
            value,
        ),
        max_size=2,
    ),
    odd_text,
    value,
)
extract_fields = st.one_of(
    st.none(),
    st.lists(
        st.one_of(
            st.sampled_from(["span.inputs", "root.outputs.a", "tag.k", "metadata.m"]), odd_text
        ),
        max_size=2,
    ),
    value,
)

# --------------------------------------------------------------------------- files


def jsonl_text(rows: list[Any]) -> str:
    """JSON lines as another tool might write them (Python's json: big integers exact,
    NaN as a bare word, lone surrogates as escapes)."""
    return "".join(json.dumps(row) + "\n" for row in rows)


file_row = st.one_of(
    st.fixed_dictionaries(
        {"inputs": file_json},
        optional={"outputs": file_json, "expectations": file_json, "tags": file_json},
    ),
    st.fixed_dictionaries(
        {"inputs": st.fixed_dictionaries({"q": st.one_of(st.integers(), huge_int)})}
    ),
    file_json,
)
jsonl_file = st.one_of(
    st.lists(file_row, max_size=4).map(jsonl_text),
    st.lists(file_row, max_size=3).map(lambda rows: jsonl_text(rows) + "{not json\n"),
    st.sampled_from(
        [
            '{"inputs": {"q": 1}}\n{"inputs": {"q": 123456789012345678901234}}\n',
            '{"inputs": {"q": -9223372036854775809}}\n',
            '\ufeff{"inputs": {"q": "bom"}}\n\n',
            '{"inputs": {"q": "\\u0000"}, "source": {"source_type": "HUMAN", '
            '"source_data": {"source_id": "a\\u0000b"}}}\n',
            '{"inputs": {"q": "\\ud800"}}\n',
            '{"inputs": ' + "[" * 300 + "]" * 300 + "}\n",
            '{"inputs": {"q": 1}, "tags": {"k": "' + "é" * 40_000 + '"}}\n',
        ]
    ),
)


def csv_text(cells: list[str]) -> str:
    lines = ["inputs,expectations"]
    lines += [f'"{c.replace(chr(34), chr(34) * 2)}",' for c in cells]
    return "\n".join(lines) + "\n"


csv_file = st.one_of(
    st.lists(file_json.map(json.dumps), max_size=3).map(csv_text),
    st.sampled_from(
        [
            csv_text(['{"q": 99999999999999999999999}']),
            csv_text(['{"q": 1}', "not json"]),
            "inputs,extra\n1,2\n",
            "",
            "inputs\n" + '"{""q"": ' + "[" * 300 + "]" * 300 + '}"\n',
        ]
    ),
)

# --------------------------------------------------------------------------- the ledger


def ledger_state(engine: sa.Engine) -> tuple[Any, ...]:
    """What a failed call must leave as it was: the event count and the head, every
    dataset's version and digest, and the row counts of the other projections."""
    counted = [
        events,
        p.dataset_records,
        p.dataset_versions,
        p.dataset_label_moves,
        p.dataset_tags,
        p.dataset_experiments,
        p.experiments,
        p.traces,
        p.trace_tags,
        p.trace_metadata,
        p.assessments,
    ]
    counts = sa.select(
        *[sa.select(sa.func.count()).select_from(t).scalar_subquery() for t in counted]
    )
    with engine.connect() as conn:
        return (
            tuple(conn.execute(counts).one()),
            tuple(conn.execute(sa.select(ledger_head.c.position, ledger_head.c.hash)).one()),
            tuple(
                tuple(r)
                for r in conn.execute(
                    sa.select(
                        p.datasets.c.dataset_id,
                        p.datasets.c.version,
                        p.datasets.c.digest,
                        p.datasets.c.deleted,
                    ).order_by(p.datasets.c.dataset_id)
                )
            ),
        )


def assert_ledger_sound(store: EventStore) -> None:
    """The hash chain verifies and the projections equal a fresh replay of the events."""
    assert verify_chain(store.engine).ok
    report = check_projections(store)
    assert report.ok, report


@dataclass
class Probe:
    """Calls one target of the fuzz and keeps count. A call may succeed or raise a
    LedgerError whose message is text (a server can send it); when it raises, the
    ledger's state must be what it was. Any other exception fails the test."""

    target: str
    backend: str
    engine: sa.Engine
    accepted: int = 0
    rejected: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def call(self, action: Callable[[], Any], *, writes: bool = True) -> None:
        """Run `action`; a read (`writes=False`) must leave the ledger as it was even when
        it succeeds (no filter text ever changes anything)."""
        before = ledger_state(self.engine)
        try:
            action()
            if not writes:
                assert ledger_state(self.engine) == before, "a read changed the ledger"
        except LedgerError as exc:
            str(exc).encode("utf-8")  # a lone surrogate in a message would break a response
            assert ledger_state(self.engine) == before, f"{exc!r} changed the ledger"
            self.rejected += 1
            name = type(exc).__name__
            self.errors[name] = self.errors.get(name, 0) + 1
        else:
            self.accepted += 1

    def failed(self) -> None:
        """A rejection found by the caller (the CLI's exit status), state already checked."""
        self.rejected += 1

    @property
    def tried(self) -> int:
        return self.accepted + self.rejected

    def report(self) -> None:
        """Print the counts; append them to $EVALLEDGER_FUZZ_REPORT when it is set."""
        line = {
            "target": self.target,
            "backend": self.backend,
            "tried": self.tried,
            "clean": self.tried,  # an unclean input fails the test before this line
            "accepted": self.accepted,
            "rejected": self.rejected,
            "errors": self.errors,
        }
        print(line)
        path = os.environ.get("EVALLEDGER_FUZZ_REPORT")
        if path:
            with open(path, "ab") as out:
                out.write(orjson.dumps(line) + b"\n")
