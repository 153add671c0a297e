"""Trace events -> the trace index, trace tags, trace metadata and assessments.

A trace's stream starts with TraceLogged, whose payload is ``{"trace": <MLflow 3 trace
dict>}`` (``Trace.to_json()``'s shape). The index row keeps the columns search filters and
orders on and the position of that event: the trace body itself stays in the ledger only.
Spans that reach the server after their trace was logged come as TraceSpansAdded, whose
payload holds the whole merged body: the index row then points at that event instead.

The projector buffers its writes like the dataset projector: a live commit flushes once at
its end, and rebuild flushes every few thousand events, so an import of thousands of traces
costs a handful of statements per table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from evalledger.ledger import StoredEvent
from evalledger.ledger.bulk import insert_rows
from evalledger.projections import event_types as et
from evalledger.projections.schema import assessments, trace_metadata, trace_tags, traces

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# -- the MLflow 3 trace dict: the few facts the index needs ------------------------------


def time_ms(value: Any) -> int | None:
    """Epoch ms from an MLflow time: an int of ms or an RFC 3339 string (proto Timestamp)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value == value:
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        delta = moment - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    return None


def format_time_ms(ms: int) -> str:
    """Epoch ms as MLflow writes a proto Timestamp: ``2026-11-26T03:13:03.921Z``."""
    seconds, millis = divmod(ms, 1000)
    text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


def duration_ms(info: dict[str, Any]) -> int | None:
    """The execution duration (ms): ``execution_duration_ms`` or a proto Duration ``"0.128s"``."""
    value = info.get("execution_duration_ms")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    value = info.get("execution_duration")
    if isinstance(value, str) and value.endswith("s"):
        try:
            return round(float(value[:-1]) * 1000)
        except ValueError:
            return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    return None


def experiment_id_of(info: dict[str, Any]) -> str | None:
    """The experiment a trace belongs to (``trace_location.mlflow_experiment``), if any."""
    location = info.get("trace_location")
    if isinstance(location, dict):
        experiment = location.get("mlflow_experiment")
        if isinstance(experiment, dict) and experiment.get("experiment_id") is not None:
            return str(experiment["experiment_id"])
    return None


def root_span(spans: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first span without a parent."""
    for span in spans:
        if not span.get("parent_span_id"):
            return span
    return None


def trace_name(trace: dict[str, Any]) -> str:
    """The root span's name, else the ``mlflow.traceName`` tag."""
    root = root_span(trace["data"]["spans"])
    if root is not None:
        return str(root.get("name") or "")
    return str((trace["info"].get("tags") or {}).get("mlflow.traceName") or "")


def assessment_kind(assessment: dict[str, Any]) -> str:
    return "expectation" if "expectation" in assessment else "feedback"


# -- the projector ---------------------------------------------------------------------


_BODY_COLUMNS = ("name", "status", "timestamp_ms", "execution_time_ms", "position")


def _body_columns(trace: dict[str, Any], position: int) -> dict[str, Any]:
    """The index columns a trace body decides, and the position of the event holding it."""
    info = trace["info"]
    return {
        "name": trace_name(trace)[:500],
        "status": str(info.get("state") or "STATE_UNSPECIFIED"),
        "timestamp_ms": time_ms(info.get("request_time")) or 0,
        "execution_time_ms": duration_ms(info),
        "position": position,
    }


def _text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


class TraceProjector:
    """Applies trace events to the trace tables through a write buffer."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self._traces: list[dict[str, Any]] = []
        self._new: set[str] = set()
        #: Index rows waiting for insert, by trace id (late spans update them in place).
        self._pending: dict[str, dict[str, Any]] = {}
        #: Index rows already stored that late spans move to a newer body.
        self._updates: dict[str, dict[str, Any]] = {}
        self._tags: dict[tuple[str, str], str | None] = {}
        self._metadata: list[dict[str, Any]] = []
        self._assessments: list[dict[str, Any]] = []
        self._overrides: list[dict[str, Any]] = []

    @property
    def pending_rows(self) -> int:
        return (
            len(self._traces)
            + len(self._updates)
            + len(self._tags)
            + len(self._metadata)
            + len(self._assessments)
            + len(self._overrides)
        )

    def apply(self, event: StoredEvent) -> None:
        handler = _HANDLERS.get(event.event_type)
        if handler is not None:
            handler(self, event)

    def _logged(self, event: StoredEvent) -> None:
        trace = event.payload["trace"]
        info = trace["info"]
        trace_id = event.stream_id
        row = {
            "trace_id": trace_id,
            "experiment_id": experiment_id_of(info) or et.DEFAULT_EXPERIMENT_ID,
            **_body_columns(trace, event.position),
        }
        self._traces.append(row)
        self._pending[trace_id] = row
        self._new.add(trace_id)
        tags = self._tags
        for key, value in (info.get("tags") or {}).items():
            tags[(trace_id, key)] = value
        self._metadata.extend(
            {"trace_id": trace_id, "key": key, "value": value}
            for key, value in (info.get("trace_metadata") or {}).items()
        )
        for ordinal, assessment in enumerate(info.get("assessments") or ()):
            self._add_assessment(trace_id, assessment, event.position, ordinal)

    def _add_assessment(
        self, trace_id: str, assessment: dict[str, Any], position: int, ordinal: int
    ) -> None:
        self._assessments.append(
            {
                "trace_id": trace_id,
                "assessment_id": assessment["assessment_id"],
                "position": position,
                "ordinal": ordinal,
                "name": assessment["assessment_name"],
                "kind": assessment_kind(assessment),
                "valid": assessment.get("valid") is not False,
                "create_time": time_ms(assessment.get("create_time")) or 0,
                "body": _text(assessment),
            }
        )

    def _spans_added(self, event: StoredEvent) -> None:
        """Late spans: the index row points at the newer body and takes its name, state and
        times; tags, metadata and assessments stay as they are."""
        columns = _body_columns(event.payload["trace"], event.position)
        pending = self._pending.get(event.stream_id)
        if pending is not None:
            pending.update(columns)
        else:
            self._updates[event.stream_id] = columns

    def _tag_set(self, event: StoredEvent) -> None:
        self._tags[(event.stream_id, event.payload["key"])] = event.payload["value"]

    def _tag_deleted(self, event: StoredEvent) -> None:
        self._tags[(event.stream_id, event.payload["key"])] = None

    def _assessment_logged(self, event: StoredEvent) -> None:
        assessment = event.payload["assessment"]
        self._add_assessment(event.stream_id, assessment, event.position, 0)
        if assessment_kind(assessment) == "expectation":
            # A later expectation of the same name overrides every earlier one.
            self._overrides.append(
                {
                    "b_trace_id": event.stream_id,
                    "b_name": assessment["assessment_name"],
                    "b_position": event.position,
                }
            )

    def flush(self) -> None:
        """Write everything buffered, in an order that keeps every constraint."""
        conn = self.conn
        insert_rows(conn, traces, self._traces)
        if self._updates:
            conn.execute(
                traces.update()
                .where(traces.c.trace_id == sa.bindparam("b_trace_id"))
                .values({name: sa.bindparam(f"b_{name}") for name in _BODY_COLUMNS}),
                [
                    {"b_trace_id": trace_id, **{f"b_{k}": v for k, v in columns.items()}}
                    for trace_id, columns in self._updates.items()
                ],
            )
        gone = [
            {"b_trace_id": trace_id, "b_key": key}
            for trace_id, key in self._tags
            if trace_id not in self._new
        ]
        if gone:
            conn.execute(
                trace_tags.delete().where(
                    trace_tags.c.trace_id == sa.bindparam("b_trace_id"),
                    trace_tags.c.key == sa.bindparam("b_key"),
                ),
                gone,
            )
        insert_rows(
            conn,
            trace_tags,
            [
                {"trace_id": trace_id, "key": key, "value": value}
                for (trace_id, key), value in self._tags.items()
                if value is not None
            ],
        )
        insert_rows(conn, trace_metadata, self._metadata)
        insert_rows(conn, assessments, self._assessments)
        if self._overrides:
            conn.execute(
                assessments.update()
                .where(
                    assessments.c.trace_id == sa.bindparam("b_trace_id"),
                    assessments.c.name == sa.bindparam("b_name"),
                    assessments.c.kind == "expectation",
                    assessments.c.position < sa.bindparam("b_position"),
                    assessments.c.valid.is_(True),
                )
                .values(valid=False),
                self._overrides,
            )
        self._traces, self._metadata, self._assessments, self._overrides = [], [], [], []
        self._new.clear()
        self._pending.clear()
        self._updates.clear()
        self._tags.clear()


_HANDLERS = {
    et.TRACE_LOGGED: TraceProjector._logged,
    et.TRACE_TAG_SET: TraceProjector._tag_set,
    et.TRACE_TAG_DELETED: TraceProjector._tag_deleted,
    et.ASSESSMENT_LOGGED: TraceProjector._assessment_logged,
    et.TRACE_SPANS_ADDED: TraceProjector._spans_added,
}
