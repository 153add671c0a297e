"""Writing traces: log_trace, and the appends every trace write shares."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from typing import Any

import sqlalchemy as sa

from evalledger.experiments import DEFAULT_EXPERIMENT_ID, missing_experiments
from evalledger.ledger import (
    NO_STREAM,
    InvalidParameter,
    ResourceAlreadyExists,
    ResourceNotFound,
    check_json,
)
from evalledger.ledger.identity import now_ms
from evalledger.oversize import check_trace_size
from evalledger.projections import event_types as et
from evalledger.projections.schema import traces
from evalledger.projections.traces_fold import format_time_ms
from evalledger.projections.unit_of_work import UnitOfWork, commit
from evalledger.session import Session
from evalledger.traces.entities import (
    INPUTS,
    OUTPUTS,
    STATES,
    Trace,
    check_trace_id,
    encode_attribute,
    normalize_trace,
)
from evalledger.validation import MAX_INT64, check_name, check_tags, experiment_key, shown

PREVIEW_CHARS = 1_000


def trace_version(tx: UnitOfWork, trace_id: str) -> int:
    """The trace's stream version (the writer lock is held); ResourceNotFound when missing."""
    found = tx.conn.execute(
        sa.select(traces.c.trace_id).where(traces.c.trace_id == trace_id)
    ).first()
    version = tx.stream_version(trace_id)
    if found is None or version is None:
        raise ResourceNotFound(f"trace {trace_id!r} does not exist")
    return version


def append_trace(tx: UnitOfWork, body: dict[str, Any], encoded: bytes | None = None) -> None:
    """Append a checked trace; `encoded` is its event payload's JSON when already made."""
    tx.append(
        body["info"]["trace_id"],
        [et.TRACE_LOGGED.new({"trace": body}, checked=True, encoded=encoded)],
        NO_STREAM,
        stream_type=et.TRACE_STREAM,
    )


def check_experiment(tx: UnitOfWork, experiment_id: str) -> None:
    if missing_experiments(tx.conn, [experiment_id]):
        raise ResourceNotFound(f"experiment {experiment_id!r} does not exist")


# --------------------------------------------------------------------------- log_trace


def _otel_trace_id(trace_id: str) -> str:
    """The 16-byte OpenTelemetry trace id MLflow derives from ``tr-<32 hex>``, base64."""
    hex_part = trace_id[3:] if trace_id.startswith("tr-") else ""
    try:
        raw = bytes.fromhex(hex_part) if len(hex_part) == 32 else b""
    except ValueError:
        raw = b""
    if not raw:
        raw = hashlib.sha256(trace_id.encode()).digest()[:16]
    return base64.b64encode(raw).decode()


def _new_span_id() -> str:
    return base64.b64encode(os.urandom(8)).decode()


def _preview(text: str | None) -> str:
    """MLflow's request/response preview: the JSON text, cut at 1,000 characters."""
    text = "null" if text is None else text
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 3] + "..."


_SPAN_KEYS = frozenset(
    (
        "name",
        "span_id",
        "parent_id",
        "inputs",
        "outputs",
        "attributes",
        "start_time_ns",
        "end_time_ns",
        "span_type",
        "status",
    )
)


#: The latest instant a trace can have: its spans' epoch nanoseconds must fit in 64 bits.
MAX_TIME_MS = MAX_INT64 // 1_000_000


def _ns(value: Any, default: int, where: str) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT64:
        raise InvalidParameter(
            f"{where}: expected an int of epoch nanoseconds (0 to {MAX_INT64}), got {shown(value)}"
        )
    return value


def _or(value: Any, default: Any) -> Any:
    """`value`, or `default` when it is None or empty text: `value or default` for a value
    of any type (a pandas NA or a numpy array has no truth value)."""
    return default if value is None or (type(value) is str and not value) else value


def _span_dicts(
    spans: list[Any],
    *,
    trace_id: str,
    inputs: Any,
    outputs: Any,
    start_ns: int,
    end_ns: int,
    status: str,
) -> list[dict[str, Any]]:
    """log_trace's simple span dicts in MLflow 3's span shape."""
    if not isinstance(spans, list | tuple) or not spans:
        raise InvalidParameter("spans must be a non-empty list of dicts (or None)")
    otel_id = _otel_trace_id(trace_id)
    ids: list[str] = []
    out = []
    for i, span in enumerate(spans):
        where = f"spans[{i}]"
        if not isinstance(span, dict):
            raise InvalidParameter(f"{where}: expected a dict, got {type(span).__name__}")
        unknown = sorted(map(shown, set(span) - _SPAN_KEYS))
        if unknown:
            raise InvalidParameter(
                f"{where}.{unknown[0]}: unknown field (allowed: {', '.join(sorted(_SPAN_KEYS))})"
            )
        name = span.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidParameter(f"{where}.name: expected a non-empty string, got {shown(name)}")
        span_id = _or(span.get("span_id"), _new_span_id())
        if not isinstance(span_id, str):
            raise InvalidParameter(f"{where}.span_id: expected a string, got {shown(span_id)}")
        if span_id in ids:
            raise InvalidParameter(f"{where}.span_id: {span_id!r} names two spans")
        ids.append(span_id)
        parent = span.get("parent_id")
        if parent is not None and not isinstance(parent, str):
            raise InvalidParameter(
                f"{where}.parent_id: expected a string or None, got {shown(parent)}"
            )
        is_root = not parent
        attributes = _or(span.get("attributes"), {})
        if not isinstance(attributes, dict) or not all(isinstance(k, str) for k in attributes):
            raise InvalidParameter(f"{where}.attributes: expected a dict with string keys")
        for key, value in attributes.items():  # each value nests up to the limit
            check_json(value, f"{where}.attributes.{key}")
        span_type = _or(span.get("span_type"), "UNKNOWN")
        if not isinstance(span_type, str):
            raise InvalidParameter(f"{where}.span_type: expected a string, got {shown(span_type)}")
        encoded = {
            "mlflow.traceRequestId": encode_attribute(trace_id),
            "mlflow.spanType": encode_attribute(span_type, f"{where}.span_type"),
        }
        for key, default in (("inputs", inputs), ("outputs", outputs)):
            if key in span:
                check_json(span[key], f"{where}.{key}")
                value = span[key]
            elif is_root:
                value = default
            else:
                continue
            if value is not None or is_root:
                attribute = INPUTS if key == "inputs" else OUTPUTS
                shown_as = f"{where}.{key}" if key in span else key
                encoded[attribute] = encode_attribute(value, shown_as)
        encoded.update(
            (k, encode_attribute(v, f"{where}.attributes.{k}")) for k, v in attributes.items()
        )
        given = _or(span.get("status"), "OK" if status != "ERROR" else "ERROR")
        span_status = given.upper() if isinstance(given, str) else None
        if span_status not in ("OK", "ERROR", "UNSET"):
            raise InvalidParameter(
                f"{where}.status: expected OK, ERROR or UNSET, got {shown(given)}"
            )
        out.append(
            {
                "trace_id": otel_id,
                "span_id": span_id,
                "parent_span_id": parent or None,
                "name": name,
                "start_time_unix_nano": _ns(span.get("start_time_ns"), start_ns, where),
                "end_time_unix_nano": _ns(span.get("end_time_ns"), end_ns, where),
                "events": [],
                "status": {"code": f"STATUS_CODE_{span_status}", "message": ""},
                "attributes": encoded,
            }
        )
    for i, span in enumerate(out):
        if span["parent_span_id"] is not None and span["parent_span_id"] not in ids:
            raise InvalidParameter(
                f"spans[{i}].parent_id: {span['parent_span_id']!r} is not the span_id of a span"
            )
    if all(span["parent_span_id"] is not None for span in out):
        raise InvalidParameter("spans: one span needs parent_id None (the root span)")
    return out


def _state(status: Any) -> str:
    state = status.strip().upper() if isinstance(status, str) else None
    state = "STATE_UNSPECIFIED" if state == "UNSPECIFIED" else state
    if state not in STATES:
        raise InvalidParameter(f"status must be one of {', '.join(STATES)}, got {shown(status)}")
    return state


def _millis(value: Any, what: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TIME_MS:
        raise InvalidParameter(
            f"{what} must be an int of milliseconds from 0 to {MAX_TIME_MS}, got {shown(value)}"
        )
    return value


def log_trace(
    session: Session,
    inputs: Any,
    outputs: Any = None,
    *,
    name: str = "root",
    experiment_id: str | None = None,
    tags: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    status: str = "OK",
    timestamp_ms: int | None = None,
    execution_time_ms: int | None = None,
    spans: list[dict[str, Any]] | None = None,
    trace_id: str | None = None,
) -> Trace:
    """Record a finished trace; without `spans`, one root span named `name` holds the inputs
    and outputs. Returns the trace as get_trace would."""
    check_json(inputs, "inputs")
    check_json(outputs, "outputs")
    name = check_name(name)
    experiment = DEFAULT_EXPERIMENT_ID if experiment_id is None else experiment_key(experiment_id)
    checked_tags = check_tags(tags)
    checked_metadata = check_tags(metadata, "metadata")
    state = _state(status)
    trace_id = "tr-" + uuid.uuid4().hex if trace_id is None else check_trace_id(trace_id)
    start_ms = _millis(timestamp_ms, "timestamp_ms", now_ms())
    if spans is None:
        spans = [{"name": name, "inputs": inputs, "outputs": outputs}]
    duration = _millis(execution_time_ms, "execution_time_ms", 0)
    if start_ms + duration > MAX_TIME_MS:
        raise InvalidParameter(
            f"timestamp_ms + execution_time_ms is after {MAX_TIME_MS} ms (epoch nanoseconds "
            "would not fit in 64 bits)"
        )
    start_ns = start_ms * 1_000_000
    span_dicts = _span_dicts(
        spans,
        trace_id=trace_id,
        inputs=inputs,
        outputs=outputs,
        start_ns=start_ns,
        end_ns=start_ns + duration * 1_000_000,
        status=state,
    )
    if execution_time_ms is None:
        first = min(s["start_time_unix_nano"] for s in span_dicts)
        last = max(s["end_time_unix_nano"] for s in span_dicts)
        duration = max(0, last - first) // 1_000_000
    root = next(s for s in span_dicts if s["parent_span_id"] is None)
    checked_tags.setdefault("mlflow.traceName", root["name"])
    info = {
        "trace_id": trace_id,
        "trace_location": {
            "type": "MLFLOW_EXPERIMENT",
            "mlflow_experiment": {"experiment_id": experiment},
        },
        "request_time": format_time_ms(start_ms),
        "state": state,
        "trace_metadata": checked_metadata,
        "tags": checked_tags,
        "request_preview": _preview(root["attributes"].get(INPUTS)),
        "response_preview": _preview(root["attributes"].get(OUTPUTS)),
        "execution_duration_ms": duration,
    }
    body = normalize_trace({"info": info, "data": {"spans": span_dicts}}, "log_trace")
    with commit(session.store, session.user) as tx:
        encoded = check_trace_size(f"trace {trace_id!r}", body, tx.limits)
        check_experiment(tx, experiment)
        if tx.stream_version(trace_id) is not None:
            raise ResourceAlreadyExists(f"trace {trace_id!r} already exists")
        append_trace(tx, body, encoded)
    return Trace._trusted(body)
