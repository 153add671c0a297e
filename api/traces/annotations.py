"""Tags and assessments (expectations, feedback) on traces: events on the trace's stream."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from evalledger.ledger import (
    InvalidParameter,
    ResourceNotFound,
    check_json,
)
from evalledger.projections import event_types as et
from evalledger.projections.schema import trace_tags
from evalledger.projections.traces_fold import format_time_ms
from evalledger.projections.unit_of_work import commit
from evalledger.session import Session
from evalledger.traces.entities import (
    MAX_KEY,
    SOURCE_TYPES,
    Assessment,
    check_text,
    check_trace_id,
)
from evalledger.traces.log import trace_version
from evalledger.traces.reads import read_traces
from evalledger.validation import check_tag_key, check_tags, shown

# --------------------------------------------------------------------------- tags


def set_trace_tag(session: Session, trace_id: str, key: str, value: Any) -> None:
    """Set (add or overwrite) one tag of a trace."""
    trace_id = check_trace_id(trace_id)
    value = check_tags({check_tag_key(key, "key"): value})[key]
    with commit(session.store, session.user) as tx:
        version = trace_version(tx, trace_id)
        tx.append(
            trace_id,
            [et.TRACE_TAG_SET.new({"key": key, "value": value})],
            version,
            stream_type=et.TRACE_STREAM,
        )


def delete_trace_tag(session: Session, trace_id: str, key: str) -> None:
    """Delete one tag of a trace (ResourceNotFound when the trace has no such tag)."""
    trace_id = check_trace_id(trace_id)
    key = check_tag_key(key, "key")
    with commit(session.store, session.user) as tx:
        version = trace_version(tx, trace_id)
        found = tx.conn.execute(
            sa.select(trace_tags.c.key).where(
                trace_tags.c.trace_id == trace_id, trace_tags.c.key == key
            )
        ).first()
        if found is None:
            raise ResourceNotFound(f"trace {trace_id!r} has no tag {key!r}")
        tx.append(
            trace_id,
            [et.TRACE_TAG_DELETED.new({"key": key})],
            version,
            stream_type=et.TRACE_STREAM,
        )


# --------------------------------------------------------------------------- assessments


def _source(source: Any, user: str) -> dict[str, Any]:
    """An assessment source from None (HUMAN, the acting user), a source type name, a dict
    or an object with source_type/source_id (MLflow's AssessmentSource)."""
    if source is None:
        return {"source_type": "HUMAN", "source_id": user}
    if isinstance(source, str):
        source_type, source_id = source, None
    elif isinstance(source, dict):
        unknown = sorted(set(source) - {"source_type", "source_id"})
        if unknown:
            raise InvalidParameter(f"source.{unknown[0]}: unknown field")
        source_type, source_id = source.get("source_type"), source.get("source_id")
    elif hasattr(source, "source_type"):
        source_type, source_id = source.source_type, getattr(source, "source_id", None)
    else:
        raise InvalidParameter(f"source: expected a dict or a source type, got {shown(source)}")
    source_type = getattr(source_type, "value", source_type)
    name = source_type.strip().upper() if isinstance(source_type, str) else None
    name = "LLM_JUDGE" if name == "AI_JUDGE" else name
    if name not in SOURCE_TYPES:
        raise InvalidParameter(
            f"source.source_type: expected one of {', '.join(SOURCE_TYPES)}, "
            f"got {shown(source_type)}"
        )
    if source_id is not None and not isinstance(source_id, str):
        raise InvalidParameter(f"source.source_id: expected a string, got {shown(source_id)}")
    out = {"source_type": name}
    if source_id is not None:
        out["source_id"] = source_id
    return out


def _trace_span_ids(session: Session, conn: sa.Connection, trace_id: str) -> set[str]:
    trace = read_traces(conn, [trace_id], session.store).get(trace_id)
    return set() if trace is None else {s.span_id for s in trace.data.spans}


def _log_assessment(
    session: Session,
    trace_id: Any,
    kind: str,
    name: Any,
    value: Any,
    source: Any,
    *,
    metadata: Any = None,
    rationale: Any = None,
    span_id: Any = None,
) -> Assessment:
    trace_id = check_trace_id(trace_id)
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_KEY:
        raise InvalidParameter(
            f"name must be a string of 1 to {MAX_KEY} characters, got {shown(name)}"
        )
    check_text(name, "name")
    check_json(value, "value")
    checked_source = _source(source, session.user)
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise InvalidParameter(f"metadata must be a dict, got {type(metadata).__name__}")
        check_json(metadata, "metadata")
    if rationale is not None and not isinstance(rationale, str):
        raise InvalidParameter(f"rationale must be a string, got {shown(rationale)}")
    if span_id is not None and not isinstance(span_id, str):
        raise InvalidParameter(f"span_id must be a string, got {shown(span_id)}")
    if span_id is not None:
        check_text(span_id, "span_id")
    with commit(session.store, session.user) as tx:
        version = trace_version(tx, trace_id)
        if span_id is not None and span_id not in _trace_span_ids(session, tx.conn, trace_id):
            raise InvalidParameter(f"span_id {span_id!r} is not a span of trace {trace_id!r}")
        when = format_time_ms(tx.recorded_at)
        body: dict[str, Any] = {
            "assessment_id": "a-" + uuid.uuid4().hex,
            "assessment_name": name,
            "trace_id": trace_id,
            "source": checked_source,
            "create_time": when,
            "last_update_time": when,
            kind: {"value": value},
            "valid": True,
        }
        if rationale is not None:
            body["rationale"] = rationale
        if metadata:
            body["metadata"] = metadata
        if span_id is not None:
            body["span_id"] = span_id
        tx.append(
            trace_id,
            [et.ASSESSMENT_LOGGED.new({"assessment": body})],
            version,
            stream_type=et.TRACE_STREAM,
        )
    return Assessment(body)


def log_expectation(
    session: Session,
    trace_id: str,
    name: str,
    value: Any,
    source: Any = None,
    metadata: dict[str, Any] | None = None,
    span_id: str | None = None,
) -> Assessment:
    """Record the expected value `name` on a trace; it overrides an earlier expectation of
    the same name (which stays, with valid False)."""
    return _log_assessment(
        session, trace_id, "expectation", name, value, source, metadata=metadata, span_id=span_id
    )


def log_feedback(
    session: Session,
    trace_id: str,
    name: str,
    value: Any,
    source: Any = None,
    rationale: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Assessment:
    """Record a feedback (a judgement, e.g. ``helpful: False``) on a trace."""
    return _log_assessment(
        session, trace_id, "feedback", name, value, source, metadata=metadata, rationale=rationale
    )
