"""search_traces: the filter grammar on the trace index, extract_fields, DataFrames."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
import pandas as pd
import sqlalchemy as sa

from evalledger.ledger import (
    InvalidParameter,
)
from evalledger.ledger.memory import gc_paused
from evalledger.projections.schema import trace_metadata, trace_tags, traces
from evalledger.query import paging
from evalledger.query.filters import (
    Comparison,
    compare_attribute,
    compare_key_value,
    compile_filter,
    parse_filter,
    parse_order_by,
)
from evalledger.session import Session
from evalledger.traces.entities import (
    Span,
    Trace,
)
from evalledger.traces.reads import hydrate, index_query, iter_hydrated
from evalledger.validation import MAX_INT64, check_id_list, shown

# --------------------------------------------------------------------------- search

_STRING_ATTRIBUTES = {
    "trace_id": traces.c.trace_id,
    "request_id": traces.c.trace_id,
    "name": traces.c.name,
    "status": traces.c.status,
    "state": traces.c.status,
    "experiment_id": traces.c.experiment_id,
}
_NUMBER_ATTRIBUTES = {
    "timestamp_ms": traces.c.timestamp_ms,
    "timestamp": traces.c.timestamp_ms,
    "request_time": traces.c.timestamp_ms,
    "execution_time_ms": traces.c.execution_time_ms,
    "execution_duration": traces.c.execution_time_ms,
    "execution_duration_ms": traces.c.execution_time_ms,
}
_ORDER_KEYS = {
    "timestamp_ms": traces.c.timestamp_ms,
    "timestamp": traces.c.timestamp_ms,
    "request_time": traces.c.timestamp_ms,
    "execution_time_ms": traces.c.execution_time_ms,
    "execution_duration": traces.c.execution_time_ms,
    "name": traces.c.name,
}
DF_COLUMNS = [
    "trace_id",
    "trace",
    "request_time",
    "state",
    "execution_duration",
    "request",
    "response",
    "trace_metadata",
    "tags",
    "spans",
    "assessments",
]


def _keyed(table: sa.Table, cmp: Comparison) -> sa.ColumnElement[bool]:
    """A tag or metadata comparison: numbers compare numerically, anything else as text."""
    return compare_key_value(table.c.trace_id == traces.c.trace_id, table.c.key, table.c.value, cmp)


def _resolve(cmp: Comparison) -> sa.ColumnElement[bool]:
    key = cmp.field.key
    if cmp.field.kind == "tag":
        return _keyed(trace_tags, cmp)
    if cmp.field.kind == "metadata":
        return _keyed(trace_metadata, cmp)
    condition = compare_attribute(cmp, _STRING_ATTRIBUTES, _NUMBER_ATTRIBUTES, f"attributes.{key}")
    if condition is not None:
        return condition
    allowed = ", ".join(
        [
            *(
                f"attributes.{k}"
                for k in ("name", "status", "timestamp_ms", "execution_time_ms", "trace_id")
            ),
            "tags.<key>",
            "metadata.<key>",
        ]
    )
    raise InvalidParameter(f"filter: unknown attribute {key!r}; use one of {allowed}")


# extract_fields ----------------------------------------------------------------------

_SPAN_PARTS = frozenset(("inputs", "outputs", "attributes", "start_time", "end_time"))
_MISSING = object()


@dataclass(frozen=True)
class _FieldPath:
    """One extract_fields entry: a tag, a metadata key, or a span path."""

    text: str
    kind: str  # "tag", "metadata" or "span"
    parts: tuple[str, ...]


def _split_path(text: str) -> list[str]:
    """Dotted segments; a segment in backticks may contain dots (```my.span`.inputs``)."""
    parts, i = [], 0
    while i <= len(text):
        if text.startswith("`", i):
            end = text.find("`", i + 1)
            if end < 0:
                raise InvalidParameter(f"extract_fields: unterminated '`' in {text!r}")
            parts.append(text[i + 1 : end])
            i = end + 1
            if i < len(text) and text[i] != ".":
                raise InvalidParameter(f"extract_fields: expected '.' after '`' in {text!r}")
            i += 1
        else:
            end = text.find(".", i)
            end = len(text) if end < 0 else end
            parts.append(text[i:end])
            i = end + 1
    return parts


def _parse_fields(fields: Any) -> list[_FieldPath]:
    if fields is None:
        return []
    if isinstance(fields, str):
        fields = [fields]
    if not isinstance(fields, list | tuple):
        raise InvalidParameter(f"extract_fields must be a list of strings, got {shown(fields)}")
    parsed = []
    for text in fields:
        if not isinstance(text, str) or not text.strip():
            raise InvalidParameter(f"extract_fields: {shown(text)} is not a field path")
        head, _, rest = text.partition(".")
        if len(rest) > 1 and rest[0] == rest[-1] == "`":
            rest = rest[1:-1]
        if head in ("tag", "tags") and rest:
            parsed.append(_FieldPath(text, "tag", (rest,)))
        elif head in ("metadata", "request_metadata") and rest:
            parsed.append(_FieldPath(text, "metadata", (rest,)))
        else:
            parts = _split_path(text)
            if len(parts) < 2 or not any(p in _SPAN_PARTS for p in parts[1:]) or "" in parts:
                raise InvalidParameter(
                    f"extract_fields: {text!r}: expected <span name or 'span'>."
                    "(inputs|outputs|attributes|start_time|end_time)[.key...], tag.<key> or "
                    "metadata.<key>"
                )
            parsed.append(_FieldPath(text, "span", tuple(parts)))
    return parsed


def _dig(value: Any, keys: tuple[str, ...]) -> Any:
    """The value at `keys` under `value`; a key path may also match a dotted key name
    (``usage.total_tokens``), and JSON strings met on the way are decoded."""
    if not keys:
        return value
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return _MISSING
    if isinstance(value, dict):
        for n in range(len(keys), 0, -1):
            name = ".".join(keys[:n])
            if name in value:
                found = _dig(value[name], keys[n:])
                if found is not _MISSING:
                    return found
        return _MISSING
    if isinstance(value, list) and keys[0].isdigit() and int(keys[0]) < len(value):
        return _dig(value[int(keys[0])], keys[1:])
    return _MISSING


def _span_named(trace: Trace, name: str) -> Span | None:
    if name == "span":
        return trace.data.root_span
    for span in trace.data.spans:
        if span.name == name:
            return span
    return None


def _extract(trace: Trace, path: _FieldPath) -> Any:
    if path.kind == "tag":
        return trace.info.tags.get(path.parts[0])
    if path.kind == "metadata":
        return trace.info.trace_metadata.get(path.parts[0])
    parts = path.parts
    for i in range(1, len(parts)):
        if parts[i] not in _SPAN_PARTS:
            continue
        span = _span_named(trace, ".".join(parts[:i]))
        if span is None:
            continue
        part, keys = parts[i], parts[i + 1 :]
        if part == "start_time":
            found = _MISSING if keys else span.start_time_ns
        elif part == "end_time":
            found = _MISSING if keys else span.end_time_ns
        elif part == "inputs":
            found = _dig(span.inputs, keys)
        elif part == "outputs":
            found = _dig(span.outputs, keys)
        else:
            found = _dig(span.attributes, keys)
        if found is not _MISSING:
            return found
    return None


#: Traces hydrated at a time while a DataFrame is built (each is dropped once its row is).
FRAME_CHUNK = 1_000


def _frame(found: Iterable[Trace], fields: list[_FieldPath]) -> Any:
    """The DataFrame of traces, built one trace at a time: a trace is read, turned into its
    row, and let go, so the frame is never held next to every Trace."""
    columns: dict[str, list[Any]] = {name: [] for name in DF_COLUMNS}
    extracted: list[list[Any]] = [[] for _ in fields]
    for trace in found:
        info, root = trace.info, trace.data.root_span
        columns["trace_id"].append(info.trace_id)
        columns["trace"].append(trace.to_json())
        columns["request_time"].append(info.request_time)
        columns["state"].append(info.state)
        columns["execution_duration"].append(info.execution_duration)
        columns["request"].append(None if root is None else root.inputs)
        columns["response"].append(None if root is None else root.outputs)
        columns["trace_metadata"].append(info.trace_metadata)
        columns["tags"].append(info.tags)
        columns["spans"].append([s.to_dict() for s in trace.data.spans])
        columns["assessments"].append([a.to_dictionary() for a in info.assessments])
        for path, values in zip(fields, extracted, strict=True):
            values.append(_extract(trace, path))
    data = {}
    for name in DF_COLUMNS:
        values = columns.pop(name)
        integers = name == "request_time" or (name == "execution_duration" and None not in values)
        data[name] = pd.Series(values, dtype="int64" if integers else object)
        del values  # the Series holds the values now; the list can go
    for path, values in zip(fields, extracted, strict=True):
        data[path.text] = pd.Series(values, dtype=object)
    extracted.clear()
    return pd.DataFrame(data, copy=False)


def _check_limit(max_results: Any) -> int | None:
    if max_results is None:
        return None
    if (
        isinstance(max_results, bool)
        or not isinstance(max_results, int)
        or not 1 <= max_results <= MAX_INT64
    ):
        raise InvalidParameter(
            f"max_results must be an int from 1 to {MAX_INT64} or None, got {shown(max_results)}"
        )
    return max_results


def _order(order_by: list[str] | None) -> list[tuple[sa.Column[Any], bool]]:
    """(column, descending) pairs of a search's order, newest first by default."""
    order = parse_order_by(order_by, _ORDER_KEYS, [(traces.c.timestamp_ms, True)])
    # Ties break on trace_id in the same direction, so one index scan serves the order.
    order.append((traces.c.trace_id, order[-1][1]))
    return order


def search_query(
    experiment_ids: str | list[str] | None, filter_string: str | None, order_by: list[str] | None
) -> sa.Select[Any]:
    """The index query (trace_id, position) of a search, in its order; InvalidParameter for
    a filter or order_by that does not parse."""
    condition = compile_filter(parse_filter(filter_string), _resolve)
    order = _order(order_by)
    query = index_query().where(condition)
    if experiment_ids is not None:
        wanted = check_id_list(experiment_ids, "experiment_ids")
        query = query.where(traces.c.experiment_id.in_(wanted))
    return query.order_by(*[c.desc() if d else c.asc() for c, d in order])


#: The page size of search_page when none is named, and the largest it takes.
PAGE_DEFAULT, PAGE_LIMIT = 100, 50_000


def _beyond(
    column: sa.Column[Any], descending: bool, value: Any, nulls_low: bool
) -> sa.ColumnElement[bool]:
    """Rows after `value` in this column's order, NULLs where the database sorts them
    (`nulls_low`: NULL is below every value, as SQLite and MySQL sort it)."""
    nulls_after = _nulls_after(column, descending, nulls_low)
    if value is None:
        return sa.false() if nulls_after else column.is_not(None)
    beyond = column < value if descending else column > value
    return sa.or_(beyond, column.is_(None)) if nulls_after else beyond


def _nulls_after(column: sa.Column[Any], descending: bool, nulls_low: bool) -> bool:
    """Whether this column's NULLs come after its values in this direction."""
    return column.nullable and (nulls_low if descending else not nulls_low)


def _after_key(
    order: list[tuple[sa.Column[Any], bool]], key: list[Any], nulls_low: bool
) -> sa.ColumnElement[bool]:
    """Rows strictly after the row whose sort key is `key`, with a bound on the leading
    column so the database reads one index range instead of every row before the page."""
    clauses = []
    for i, (column, descending) in enumerate(order):
        equal = [
            c.is_(None) if v is None else c == v
            for (c, _), v in zip(order[:i], key[:i], strict=True)
        ]
        clauses.append(sa.and_(*equal, _beyond(column, descending, key[i], nulls_low)))
    condition = sa.or_(*clauses)
    lead, descending = order[0]
    if key[0] is not None and not _nulls_after(lead, descending, nulls_low):
        condition = sa.and_(lead <= key[0] if descending else lead >= key[0], condition)
    return condition


def search_page(
    session: Session,
    experiment_ids: str | list[str] | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
    max_results: int | None = None,
    page_token: str | None = None,
) -> paging.PagedList:
    """One page of the traces a search finds (a list of Trace; `.token` continues, None on
    the last page). Keyset paging: a page starts after the last row of the one before, so
    page 1,000 costs what page 1 costs, and traces logged meanwhile shift nothing."""
    limit = paging.check_max_results(max_results, PAGE_DEFAULT, PAGE_LIMIT)
    query = search_query(experiment_ids, filter_string, order_by)
    order = _order(order_by)
    wanted = None if experiment_ids is None else check_id_list(experiment_ids, "experiment_ids")
    query_id = paging.fingerprint("traces", wanted, filter_string or "", order_by or [])
    key = paging.decode_token(page_token or None, query_id)
    if key is not None:
        if not isinstance(key, list) or len(key) != len(order):
            raise InvalidParameter(
                f"page_token {shown(page_token)} is not a token this search returned"
            )
        nulls_low = session.store.engine.dialect.name != "postgresql"
        query = query.where(_after_key(order, key, nulls_low))
    keys = [column.label(f"page_key_{i}") for i, (column, _) in enumerate(order)]
    query = query.add_columns(*keys).limit(limit + 1)
    with gc_paused(), session.connect() as conn:
        rows = conn.execute(query).all()
        found = hydrate(conn, rows[:limit], session.store)
    token = None
    if len(rows) > limit:
        last = rows[limit - 1]
        token = paging.encode_token(query_id, [getattr(last, k.name) for k in keys])
    return paging.PagedList(found, token)


def search_traces(
    session: Session,
    experiment_ids: str | list[str] | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: list[str] | None = None,
    extract_fields: list[str] | None = None,
    *,
    return_type: str = "pandas",
) -> Any:
    """Traces matching a filter, newest first by default: a DataFrame with MLflow's columns
    (plus one per extract_fields path), or a list of Trace with return_type="list".

    The positional order is MLflow's (experiment_ids, filter_string, max_results, order_by,
    extract_fields); return_type is keyword-only, since MLflow's sixth is run_id."""
    if not isinstance(return_type, str) or return_type not in ("pandas", "list"):
        raise InvalidParameter(f"return_type must be 'pandas' or 'list', got {shown(return_type)}")
    fields = _parse_fields(extract_fields)
    if fields and return_type == "list":
        raise InvalidParameter("extract_fields needs return_type='pandas'")
    limit = _check_limit(max_results)
    query = search_query(experiment_ids, filter_string, order_by)
    if limit is not None:
        query = query.limit(limit)
    with gc_paused(), session.connect() as conn:
        rows = conn.execute(query).all()
        if return_type == "list":
            return hydrate(conn, rows, session.store)
        return _frame(iter_hydrated(conn, rows, session.store, FRAME_CHUNK), fields)
