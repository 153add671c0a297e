"""Traces (API.md §7): log, import, read, search, tag and assess them, all on the ledger.

Every trace is a stream (stream id = trace id): TraceLogged carries the whole trace in
MLflow 3's ``Trace.to_json()`` shape, then TraceTagSet / TraceTagDeleted / AssessmentLogged
follow. The trace index (projections.traces_fold) holds what search filters and orders on;
the trace body is read from its TraceLogged event, which the index row points at.

Imports: the whole input is validated before anything is written (bad input writes
nothing), then traces are committed in batches of ``IMPORT_BATCH``, each one transaction
with one statement per table. An interrupted import leaves whole batches; running it again
finishes it, since traces already in the ledger are skipped by id.
"""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from ledger import (
    NO_STREAM,
    EventStore,
    InvalidParameter,
    NewEvent,
    ResourceAlreadyExists,
    ResourceNotFound,
    WriteTransaction,
    check_json,
)
from ledger.identity import acting_user, now_ms
from ledger.schema import events
from projections import event_types as et
from projections.schema import assessments as assessments_table
from projections.schema import experiments, trace_metadata, trace_tags, traces
from projections.traces_fold import experiment_id_of, format_time_ms

from .experiments import DEFAULT_EXPERIMENT_ID, append_created, missing_experiments
from .filters import (
    Comparison,
    compare_attribute,
    compare_key_value,
    compile_filter,
    parse_filter,
    parse_order_by,
)
from .records import gc_paused
from .trace_entities import (
    INPUTS,
    MAX_KEY,
    OUTPUTS,
    SOURCE_TYPES,
    STATES,
    Assessment,
    Span,
    Trace,
    check_text,
    check_trace_id,
    encode_attribute,
    normalize_trace,
    with_experiment,
)
from .tracking import store_for
from .unit_of_work import commit
from .validation import check_id_list, check_name, check_tag_key, check_tags

__all__ = [
    "delete_trace_tag",
    "get_trace",
    "import_traces",
    "log_expectation",
    "log_feedback",
    "log_trace",
    "search_traces",
    "set_trace_tag",
]

#: Traces per import commit.
IMPORT_BATCH = 2_000
#: An import that adds this many traces refreshes the planner's statistics.
ANALYZE_AFTER = 2_000
_CHUNK = 5_000
PREVIEW_CHARS = 1_000

# =========================================================================== writes


def _trace_version(tx: WriteTransaction, trace_id: str) -> int:
    """The trace's stream version (the writer lock is held); ResourceNotFound when missing."""
    found = tx.conn.execute(
        sa.select(traces.c.trace_id).where(traces.c.trace_id == trace_id)
    ).first()
    version = tx.stream_version(trace_id)
    if found is None or version is None:
        raise ResourceNotFound(f"trace {trace_id!r} does not exist")
    return version


def _append_trace(tx: WriteTransaction, body: dict[str, Any]) -> None:
    tx.append(
        body["info"]["trace_id"],
        [NewEvent(et.TRACE_LOGGED, {"trace": body}, checked=True)],
        NO_STREAM,
        stream_type=et.TRACE_STREAM,
    )


def _check_experiment(tx: WriteTransaction, experiment_id: str) -> None:
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


def _ns(value: Any, default: int, where: str) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidParameter(f"{where}: expected an int of epoch nanoseconds, got {value!r}")
    return value


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
        unknown = sorted(set(span) - _SPAN_KEYS)
        if unknown:
            raise InvalidParameter(
                f"{where}.{unknown[0]}: unknown field (allowed: {', '.join(sorted(_SPAN_KEYS))})"
            )
        name = span.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidParameter(f"{where}.name: expected a non-empty string, got {name!r}")
        span_id = span.get("span_id") or _new_span_id()
        if not isinstance(span_id, str):
            raise InvalidParameter(f"{where}.span_id: expected a string, got {span_id!r}")
        if span_id in ids:
            raise InvalidParameter(f"{where}.span_id: {span_id!r} names two spans")
        ids.append(span_id)
        parent = span.get("parent_id")
        if parent is not None and not isinstance(parent, str):
            raise InvalidParameter(f"{where}.parent_id: expected a string or None, got {parent!r}")
        is_root = not parent
        attributes = span.get("attributes") or {}
        if not isinstance(attributes, dict) or not all(isinstance(k, str) for k in attributes):
            raise InvalidParameter(f"{where}.attributes: expected a dict with string keys")
        check_json(attributes, f"{where}.attributes")
        span_type = span.get("span_type") or "UNKNOWN"
        if not isinstance(span_type, str):
            raise InvalidParameter(f"{where}.span_type: expected a string, got {span_type!r}")
        encoded = {
            "mlflow.traceRequestId": encode_attribute(trace_id),
            "mlflow.spanType": encode_attribute(span_type),
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
                encoded[INPUTS if key == "inputs" else OUTPUTS] = encode_attribute(value)
        encoded.update((k, encode_attribute(v)) for k, v in attributes.items())
        span_status = str(span.get("status") or ("OK" if status != "ERROR" else "ERROR")).upper()
        if span_status not in ("OK", "ERROR", "UNSET"):
            raise InvalidParameter(
                f"{where}.status: expected OK, ERROR or UNSET, got {span_status}"
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
        raise InvalidParameter(f"status must be one of {', '.join(STATES)}, got {status!r}")
    return state


def _millis(value: Any, what: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidParameter(f"{what} must be an int of milliseconds >= 0, got {value!r}")
    return value


def log_trace(
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
    experiment = DEFAULT_EXPERIMENT_ID if experiment_id is None else str(experiment_id)
    checked_tags = check_tags(tags)
    checked_metadata = check_tags(metadata, "metadata")
    state = _state(status)
    trace_id = "tr-" + uuid.uuid4().hex if trace_id is None else check_trace_id(trace_id)
    start_ms = _millis(timestamp_ms, "timestamp_ms", now_ms())
    if spans is None:
        spans = [{"name": name, "inputs": inputs, "outputs": outputs}]
    duration = _millis(execution_time_ms, "execution_time_ms", 0)
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
    with commit(store_for()) as tx:
        _check_experiment(tx, experiment)
        if tx.stream_version(trace_id) is not None:
            raise ResourceAlreadyExists(f"trace {trace_id!r} already exists")
        _append_trace(tx, body)
    return Trace._trusted(body)


# --------------------------------------------------------------------------- import


def _is_mlflow_trace(value: Any) -> bool:
    return callable(getattr(value, "to_json", None)) and hasattr(value, "info")


Items = Callable[[], Iterator[tuple[str, Any]]]


def _jsonl_items(path: Path) -> Iterator[tuple[str, Any]]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                yield f"line {number} of {path.name}", line


def _json_file_items(path: Path) -> Iterator[tuple[str, Any]]:
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(f"import_traces: {path.name} is not valid JSON ({exc})") from None
    items = data if isinstance(data, list) else [data]
    for i, item in enumerate(items):
        yield f"trace {i} of {path.name}", item


def _path_items(path: Path) -> Items:
    if not path.is_file():
        raise InvalidParameter(f"import_traces: no such file {str(path)!r}")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return lambda: _jsonl_items(path)
    if suffix == ".json":
        return lambda: _json_file_items(path)
    raise InvalidParameter(
        f"import_traces: {path.name}: expected a .json or .jsonl file of exported traces"
    )


def _source_items(source: Any) -> Items:
    """The traces of a source, as a re-iterable of (label for errors, item)."""
    if isinstance(source, os.PathLike):
        return _path_items(Path(source))
    if isinstance(source, str | bytes | bytearray):
        text = source.strip()
        if isinstance(source, str) and not text.startswith(("{", "[")):
            return _path_items(Path(source))
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise InvalidParameter(f"import_traces: source is not valid JSON ({exc})") from None
        source = data
    if isinstance(source, dict | Trace) or _is_mlflow_trace(source):
        items: list[Any] = [source]
    elif isinstance(source, Iterable):
        items = list(source)
    else:
        raise InvalidParameter(
            "import_traces: source must be a Trace, a list of traces, trace JSON, a dict, "
            f"or a path to a .json/.jsonl file; got {type(source).__name__}"
        )
    return lambda: ((f"trace {i}", item) for i, item in enumerate(items))


def _normalized(label: str, item: Any, experiment_id: str | None) -> dict[str, Any]:
    """One trace of the source, checked, as an MLflow 3 trace dict."""
    try:
        if isinstance(item, Trace):
            data = item.to_dict()
        elif isinstance(item, str | bytes | bytearray):
            data = orjson.loads(item)
        elif isinstance(item, dict):
            check_json(item, "trace")
            data = item
        elif _is_mlflow_trace(item):
            data = orjson.loads(item.to_json())
        else:
            raise InvalidParameter(
                f"expected a Trace, trace JSON or a trace dict, got {type(item).__name__}"
            )
        body = normalize_trace(data, "trace")
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(f"import_traces: {label}: not valid JSON ({exc})") from None
    except InvalidParameter as exc:
        raise InvalidParameter(f"import_traces: {label}: {exc.message}") from None
    return body if experiment_id is None else with_experiment(body, experiment_id)


def _unique(items: Items, experiment_id: str | None) -> Iterator[dict[str, Any]]:
    """The source's traces, normalized; a trace id seen before in the source is skipped."""
    seen: set[str] = set()
    for label, item in items():
        body = _normalized(label, item, experiment_id)
        trace_id = body["info"]["trace_id"]
        if trace_id not in seen:
            seen.add(trace_id)
            yield body


def _stream_types(conn: sa.Connection, stream_ids: list[str]) -> dict[str, str]:
    """stream id -> stream type, for those of these ids that name a stream."""
    found: dict[str, str] = {}
    for start in range(0, len(stream_ids), _CHUNK):
        chunk = stream_ids[start : start + _CHUNK]
        query = sa.select(events.c.stream_id, events.c.stream_type).where(
            events.c.stream_id.in_(chunk), events.c.version == 0
        )
        found.update((row.stream_id, row.stream_type) for row in conn.execute(query))
    return found


def _check_not_other_streams(conn: sa.Connection, trace_ids: list[str]) -> set[str]:
    """The ids among these of traces already in the ledger; InvalidParameter when an id
    names another kind of stream."""
    found = _stream_types(conn, trace_ids)
    for trace_id, stream_type in found.items():
        if stream_type != et.TRACE_STREAM:
            raise InvalidParameter(
                f"import_traces: trace id {trace_id!r} is already the id of a "
                f"{stream_type} stream in this ledger"
            )
    return set(found)


def _importable_experiments(conn: sa.Connection, experiment_ids: set[str]) -> None:
    """Experiments import will create must have ids of digits (experiment ids are)."""
    for experiment_id in missing_experiments(conn, sorted(experiment_ids)):
        if not experiment_id.isdigit():
            raise InvalidParameter(
                f"import_traces: the traces' experiment id {experiment_id!r} does not exist "
                "and is not a string of digits; pass experiment_id= to import them into an "
                "existing experiment"
            )


def _create_experiments(tx: WriteTransaction, experiment_ids: set[str]) -> None:
    """Create the missing experiments, named ``imported-<id>`` (plus a suffix if taken)."""
    missing = missing_experiments(tx.conn, sorted(experiment_ids, key=lambda e: (len(e), e)))
    if not missing:
        return
    taken = set(tx.conn.execute(sa.select(experiments.c.name)).scalars())
    for experiment_id in missing:
        name, n = f"imported-{experiment_id}", 1
        while name in taken:
            n += 1
            name = f"imported-{experiment_id}-{n}"
        taken.add(name)
        append_created(tx, experiment_id, name, {})


def _commit_batch(store: EventStore, batch: list[dict[str, Any]]) -> int:
    """Append the traces of one batch not yet in the ledger, in one commit; returns how many."""
    with commit(store) as tx:
        present = _stream_types(tx.conn, [t["info"]["trace_id"] for t in batch])
        new = [t for t in batch if t["info"]["trace_id"] not in present]
        _check_not_other_streams(tx.conn, list(present))
        if not new:
            return 0
        _create_experiments(tx, {experiment_id_of(t["info"]) or DEFAULT_EXPERIMENT_ID for t in new})
        tx.append_to_streams(
            [
                (
                    body["info"]["trace_id"],
                    [NewEvent(et.TRACE_LOGGED, {"trace": body}, checked=True)],
                    NO_STREAM,
                )
                for body in new
            ],
            stream_type=et.TRACE_STREAM,
        )
    return len(new)


def import_traces(source: Any, experiment_id: str | None = None) -> list[str]:
    """Import traces exported by MLflow: Trace objects (ours or MLflow's), their
    ``to_json()`` strings or dicts, or a path to a .json/.jsonl file of them.

    `experiment_id` None keeps each trace's own experiment, creating it (named
    ``imported-<id>``) when missing. Traces already in the ledger are skipped. Returns the
    ids of the source's traces, in source order, whether imported now or before.
    """
    if experiment_id is not None:
        experiment_id = _check_experiment_arg(experiment_id)
    store = store_for()
    items = _source_items(source)
    with gc_paused():
        return _import(store, items, experiment_id)


def _import(store: EventStore, items: Items, experiment_id: str | None) -> list[str]:
    trace_ids: list[str] = []
    experiment_ids: set[str] = set()
    kept: list[dict[str, Any]] | None = []
    for body in _unique(items, experiment_id):  # check everything before writing
        trace_ids.append(body["info"]["trace_id"])
        experiment_ids.add(experiment_id_of(body["info"]) or DEFAULT_EXPERIMENT_ID)
        if kept is not None:
            kept.append(body)
            if len(kept) > IMPORT_BATCH:
                kept = None  # a large source is read again, batch by batch
    with store.engine.connect() as conn:
        if experiment_id is not None:
            if missing_experiments(conn, [experiment_id]):
                raise ResourceNotFound(f"experiment {experiment_id!r} does not exist")
        else:
            _importable_experiments(conn, experiment_ids)
        present = _check_not_other_streams(conn, trace_ids)
    if len(present) == len(trace_ids):
        return trace_ids  # every trace is in the ledger already
    added = 0
    batch: list[dict[str, Any]] = []
    for body in kept if kept is not None else _unique(items, experiment_id):
        batch.append(body)
        if len(batch) == IMPORT_BATCH:
            added += _commit_batch(store, batch)
            batch = []
    if batch:
        added += _commit_batch(store, batch)
    if added >= ANALYZE_AFTER:
        _analyze(store.engine)
    return trace_ids


def _analyze(engine: sa.Engine) -> None:
    """Refresh the planner's statistics of the trace tables after a bulk import: without
    them PostgreSQL and MariaDB scan and sort every match instead of walking the time
    index (SQLite's planner does well without them)."""
    names = ", ".join(t.name for t in (traces, trace_tags, trace_metadata, assessments_table))
    dialect = engine.dialect.name
    if dialect == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql(f"ANALYZE {names}")
    elif dialect in ("mysql", "mariadb"):
        with engine.connect() as conn:
            conn.exec_driver_sql(f"ANALYZE TABLE {names}").all()


def _check_experiment_arg(experiment_id: Any) -> str:
    if isinstance(experiment_id, int) and not isinstance(experiment_id, bool):
        experiment_id = str(experiment_id)
    if not isinstance(experiment_id, str) or not experiment_id:
        raise InvalidParameter(f"experiment_id must be a string, got {experiment_id!r}")
    return experiment_id


# --------------------------------------------------------------------------- tags


def set_trace_tag(trace_id: str, key: str, value: Any) -> None:
    """Set (add or overwrite) one tag of a trace."""
    trace_id = check_trace_id(trace_id)
    value = check_tags({check_tag_key(key, "key"): value})[key]
    with commit(store_for()) as tx:
        version = _trace_version(tx, trace_id)
        tx.append(
            trace_id,
            [NewEvent(et.TRACE_TAG_SET, {"key": key, "value": value})],
            version,
            stream_type=et.TRACE_STREAM,
        )


def delete_trace_tag(trace_id: str, key: str) -> None:
    """Delete one tag of a trace (ResourceNotFound when the trace has no such tag)."""
    trace_id = check_trace_id(trace_id)
    key = check_tag_key(key, "key")
    with commit(store_for()) as tx:
        version = _trace_version(tx, trace_id)
        found = tx.conn.execute(
            sa.select(trace_tags.c.key).where(
                trace_tags.c.trace_id == trace_id, trace_tags.c.key == key
            )
        ).first()
        if found is None:
            raise ResourceNotFound(f"trace {trace_id!r} has no tag {key!r}")
        tx.append(
            trace_id,
            [NewEvent(et.TRACE_TAG_DELETED, {"key": key})],
            version,
            stream_type=et.TRACE_STREAM,
        )


# --------------------------------------------------------------------------- assessments


def _source(source: Any) -> dict[str, Any]:
    """An assessment source from None (HUMAN, the acting user), a source type name, a dict
    or an object with source_type/source_id (MLflow's AssessmentSource)."""
    if source is None:
        return {"source_type": "HUMAN", "source_id": acting_user()}
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
        raise InvalidParameter(f"source: expected a dict or a source type, got {source!r}")
    source_type = getattr(source_type, "value", source_type)
    name = source_type.strip().upper() if isinstance(source_type, str) else None
    name = "LLM_JUDGE" if name == "AI_JUDGE" else name
    if name not in SOURCE_TYPES:
        raise InvalidParameter(
            f"source.source_type: expected one of {', '.join(SOURCE_TYPES)}, got {source_type!r}"
        )
    if source_id is not None and not isinstance(source_id, str):
        raise InvalidParameter(f"source.source_id: expected a string, got {source_id!r}")
    out = {"source_type": name}
    if source_id is not None:
        out["source_id"] = source_id
    return out


def _trace_span_ids(conn: sa.Connection, trace_id: str) -> set[str]:
    trace = _read(conn, [trace_id], store_for()).get(trace_id)
    return set() if trace is None else {s.span_id for s in trace.data.spans}


def _log_assessment(
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
        raise InvalidParameter(f"name must be a string of 1 to {MAX_KEY} characters, got {name!r}")
    check_text(name, "name")
    check_json(value, "value")
    checked_source = _source(source)
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise InvalidParameter(f"metadata must be a dict, got {type(metadata).__name__}")
        check_json(metadata, "metadata")
    if rationale is not None and not isinstance(rationale, str):
        raise InvalidParameter(f"rationale must be a string, got {rationale!r}")
    if span_id is not None and not isinstance(span_id, str):
        raise InvalidParameter(f"span_id must be a string, got {span_id!r}")
    with commit(store_for()) as tx:
        version = _trace_version(tx, trace_id)
        if span_id is not None and span_id not in _trace_span_ids(tx.conn, trace_id):
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
            [NewEvent(et.ASSESSMENT_LOGGED, {"assessment": body})],
            version,
            stream_type=et.TRACE_STREAM,
        )
    return Assessment(body)


def log_expectation(
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
        trace_id, "expectation", name, value, source, metadata=metadata, span_id=span_id
    )


def log_feedback(
    trace_id: str,
    name: str,
    value: Any,
    source: Any = None,
    rationale: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Assessment:
    """Record a feedback (a judgement, e.g. ``helpful: False``) on a trace."""
    return _log_assessment(
        trace_id, "feedback", name, value, source, metadata=metadata, rationale=rationale
    )


# =========================================================================== reads


def _hydrate(conn: sa.Connection, rows: list[Any], store: EventStore) -> list[Trace]:
    """Traces from index rows (trace_id, position): the body from the TraceLogged event at
    that position, with the current tags and assessments (three queries per 5,000)."""
    ids = [r.trace_id for r in rows]
    bodies: dict[int, Any] = {}
    tags: dict[str, dict[str, str]] = {}
    found: dict[str, list[Any]] = {}
    a = assessments_table.c
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        query = sa.select(
            events.c.position, events.c.event_type, events.c.schema_version, events.c.payload
        ).where(events.c.position.in_([r.position for r in rows[start : start + _CHUNK]]))
        bodies.update((row.position, row) for row in conn.execute(query))
        query = sa.select(trace_tags.c.trace_id, trace_tags.c.key, trace_tags.c.value).where(
            trace_tags.c.trace_id.in_(chunk)
        )
        for trace_id, key, value in conn.execute(query):
            tags.setdefault(trace_id, {})[key] = value
        query = (
            sa.select(a.trace_id, a.valid, a.body)
            .where(a.trace_id.in_(chunk))
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


def _index_query() -> sa.Select[Any]:
    return sa.select(traces.c.trace_id, traces.c.position)


def _read(conn: sa.Connection, trace_ids: list[str], store: EventStore) -> dict[str, Trace]:
    rows = conn.execute(_index_query().where(traces.c.trace_id.in_(trace_ids))).all()
    return {t.info.trace_id: t for t in _hydrate(conn, rows, store)}


def get_trace(trace_id: str) -> Trace:
    """The trace with its current tags and assessments; ResourceNotFound when missing."""
    trace_id = check_trace_id(trace_id)
    store = store_for()
    with store.engine.connect() as conn:
        found = _read(conn, [trace_id], store).get(trace_id)
    if found is None:
        raise ResourceNotFound(f"trace {trace_id!r} does not exist")
    return found


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
        raise InvalidParameter(f"extract_fields must be a list of strings, got {fields!r}")
    parsed = []
    for text in fields:
        if not isinstance(text, str) or not text.strip():
            raise InvalidParameter(f"extract_fields: {text!r} is not a field path")
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


def _frame(found: list[Trace], fields: list[_FieldPath]) -> Any:
    import pandas as pd

    columns: dict[str, list[Any]] = {name: [] for name in DF_COLUMNS}
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
    data = {name: pd.Series(values, dtype=object) for name, values in columns.items()}
    data["request_time"] = pd.Series(columns["request_time"], dtype="int64")
    if None not in columns["execution_duration"]:
        data["execution_duration"] = pd.Series(columns["execution_duration"], dtype="int64")
    for path in fields:
        data[path.text] = pd.Series([_extract(t, path) for t in found], dtype=object)
    return pd.DataFrame(data)


def _check_limit(max_results: Any) -> int | None:
    if max_results is None:
        return None
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        raise InvalidParameter(f"max_results must be an int >= 1 or None, got {max_results!r}")
    return max_results


def search_traces(
    experiment_ids: str | list[str] | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
    max_results: int | None = None,
    extract_fields: list[str] | None = None,
    return_type: str = "pandas",
) -> Any:
    """Traces matching a filter, newest first by default: a DataFrame with MLflow's columns
    (plus one per extract_fields path), or a list of Trace with return_type="list"."""
    if return_type not in ("pandas", "list"):
        raise InvalidParameter(f"return_type must be 'pandas' or 'list', got {return_type!r}")
    fields = _parse_fields(extract_fields)
    if fields and return_type == "list":
        raise InvalidParameter("extract_fields needs return_type='pandas'")
    limit = _check_limit(max_results)
    condition = compile_filter(parse_filter(filter_string), _resolve)
    order = parse_order_by(order_by, _ORDER_KEYS, [(traces.c.timestamp_ms, True)])
    # Ties break on trace_id in the same direction, so one index scan serves the order.
    order.append((traces.c.trace_id, order[-1][1]))
    query = _index_query().where(condition)
    if experiment_ids is not None:
        wanted = check_id_list(experiment_ids, "experiment_ids")
        query = query.where(traces.c.experiment_id.in_(wanted))
    query = query.order_by(*[c.desc() if d else c.asc() for c, d in order])
    if limit is not None:
        query = query.limit(limit)
    store = store_for()
    with gc_paused(), store.engine.connect() as conn:
        found = _hydrate(conn, conn.execute(query).all(), store)
    if return_type == "list":
        return found
    with gc_paused():
        return _frame(found, fields)
