"""Reading traces: the index row points at the TraceLogged event that holds the body."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson
import sqlalchemy as sa

from evalledger.ledger import (
    EventStore,
    ResourceNotFound,
)
from evalledger.ledger.bulk import IN_LIST_CHUNK
from evalledger.ledger.schema import events
from evalledger.projections.schema import assessments as assessments_table
from evalledger.projections.schema import trace_tags, traces
from evalledger.session import Session
from evalledger.traces.entities import (
    Assessment,
    Trace,
    check_trace_id,
)


def hydrate(conn: sa.Connection, rows: list[Any], store: EventStore) -> list[Trace]:
    """Traces from index rows (trace_id, position): the body from the TraceLogged event at
    that position, with the current tags and assessments (three queries per 5,000)."""
    return list(iter_hydrated(conn, rows, store))


def iter_hydrated(
    conn: sa.Connection, rows: Sequence[Any], store: EventStore, chunk: int = IN_LIST_CHUNK
) -> Iterator[Trace]:
    """hydrate, `chunk` rows at a time: only one chunk's raw bodies are held, and a caller
    that turns each trace into something else never holds every Trace either."""
    for start in range(0, len(rows), chunk):
        yield from _hydrate_chunk(conn, rows[start : start + chunk], store)


def _hydrate_chunk(conn: sa.Connection, rows: Sequence[Any], store: EventStore) -> list[Trace]:
    ids = [r.trace_id for r in rows]
    tags: dict[str, dict[str, str]] = {}
    found: dict[str, list[Any]] = {}
    a = assessments_table.c
    query = sa.select(
        events.c.position, events.c.event_type, events.c.schema_version, events.c.payload
    ).where(events.c.position.in_([r.position for r in rows]))
    bodies = {row.position: row for row in conn.execute(query).all()}  # one fetch, not one a row
    query = sa.select(trace_tags.c.trace_id, trace_tags.c.key, trace_tags.c.value).where(
        trace_tags.c.trace_id.in_(ids)
    )
    for trace_id, key, value in conn.execute(query).all():
        tags.setdefault(trace_id, {})[key] = value
    query = (
        sa.select(a.trace_id, a.valid, a.body)
        .where(a.trace_id.in_(ids))
        .order_by(a.position, a.ordinal)
    )
    for trace_id, valid, body in conn.execute(query):
        found.setdefault(trace_id, []).append((valid, body))
    registry = store.registry
    out = []
    for row in rows:
        event = bodies[row.position]
        _, payload = registry.upcast(
            event.event_type, event.schema_version, orjson.loads(event.payload)
        )
        body = payload["trace"]
        info = body["info"]
        info["tags"] = dict(sorted(tags.get(row.trace_id, {}).items()))
        stored = found.get(row.trace_id)
        if stored:
            decoded = orjson.loads("[" + ",".join(b for _, b in stored) + "]")
            for (valid, _), item in zip(stored, decoded, strict=True):
                item["valid"] = bool(valid)
            info["assessments"] = decoded
        else:
            info.pop("assessments", None)
        out.append(Trace._trusted(body))
    return out


def index_query() -> sa.Select[Any]:
    return sa.select(traces.c.trace_id, traces.c.position)


def read_traces(conn: sa.Connection, trace_ids: list[str], store: EventStore) -> dict[str, Trace]:
    rows = conn.execute(index_query().where(traces.c.trace_id.in_(trace_ids))).all()
    return {t.info.trace_id: t for t in hydrate(conn, rows, store)}


def current_expectations(
    conn: sa.Connection, trace_ids: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """``{trace_id: {name: value}}`` of the valid expectations of each of these traces that
    is in the ledger (``{}`` when it has none; a trace not in the ledger is left out), later
    ones winning, as a record from the trace carries them (API.md §6). One query per 5,000
    ids; feedback is not read."""
    a = assessments_table.c
    joined = traces.outerjoin(
        assessments_table,
        sa.and_(a.trace_id == traces.c.trace_id, a.kind == "expectation", a.valid.is_(True)),
    )
    unique = list(dict.fromkeys(trace_ids))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(unique), IN_LIST_CHUNK):
        query = (
            sa.select(traces.c.trace_id, a.body)
            .select_from(joined)
            .where(traces.c.trace_id.in_(unique[start : start + IN_LIST_CHUNK]))
            .order_by(a.create_time, a.position, a.ordinal)
        )
        rows = conn.execute(query).all()
        bodies = [body for _, body in rows if body is not None]
        decoded = iter(orjson.loads("[" + ",".join(bodies) + "]"))
        for trace_id, body in rows:
            values = found.setdefault(trace_id, {})
            if body is not None:
                assessment = Assessment(next(decoded))
                values[assessment.name] = assessment.value
    return found


def get_trace(session: Session, trace_id: str) -> Trace:
    """The trace with its current tags and assessments; ResourceNotFound when missing."""
    trace_id = check_trace_id(trace_id)
    with session.connect() as conn:
        found = read_traces(conn, [trace_id], session.store).get(trace_id)
    if found is None:
        raise ResourceNotFound(f"trace {trace_id!r} does not exist")
    return found
