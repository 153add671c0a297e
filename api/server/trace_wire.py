"""Traces in the shapes MLflow's trace routes answer with (proto3 JSON, snake_case).

- TraceInfoV3: times as RFC 3339 strings, the duration as ``"0.087s"``, tags and metadata
  as string maps, plus the two tags the client acts on: ``mlflow.artifactLocation`` (where
  it would upload ``traces.json``) and ``mlflow.trace.spansLocation: TRACKING_STORE`` (the
  spans are here: read them with ``/traces/get``, upload nothing).
- Spans as OpenTelemetry ``Span`` proto JSON: base64 ids, attributes as ``AnyValue``
  (``string_value``, ``kvlist_value``...), decoded from the JSON strings MLflow stores.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from evalledger.projections.traces_fold import format_time_ms, time_ms
from evalledger.traces.entities import STATES, Span, Trace, TraceInfo, decode_attribute

ARTIFACT_LOCATION = "mlflow.artifactLocation"
SPANS_LOCATION = "mlflow.trace.spansLocation"
TRACKING_STORE = "TRACKING_STORE"
_INT64 = 1 << 63
_ASSESSMENT_KEYS = frozenset(
    (
        "assessment_id",
        "assessment_name",
        "trace_id",
        "span_id",
        "source",
        "create_time",
        "last_update_time",
        "expectation",
        "feedback",
        "rationale",
        "metadata",
        "overrides",
        "valid",
    )
)


def artifact_location(experiment_id: str, trace_id: str) -> str:
    return f"mlflow-artifacts:/{experiment_id}/traces/{trace_id}/artifacts"


def duration_text(ms: int) -> str:
    """Milliseconds as a proto Duration in JSON (``"0.087s"``)."""
    sign = "-" if ms < 0 else ""
    seconds, millis = divmod(abs(ms), 1000)
    return f"{sign}{seconds}.{millis:03d}s"


def _string_map(values: dict[str, Any]) -> dict[str, str]:
    if all(type(v) is str for v in values.values()):
        return values
    return {k: v if type(v) is str else orjson.dumps(v).decode() for k, v in values.items()}


def time_text(ms: int | None) -> str | None:
    """Epoch ms as a proto Timestamp in JSON; None for a time no calendar holds."""
    if ms is None:
        return None
    try:
        return format_time_ms(ms)
    except (ValueError, OverflowError, OSError):
        return None


def assessment_json(assessment: dict[str, Any]) -> dict[str, Any]:
    """An assessment as the Assessment proto's JSON (times as strings, metadata as strings)."""
    out = {k: v for k, v in assessment.items() if k in _ASSESSMENT_KEYS and v is not None}
    for key in ("create_time", "last_update_time"):
        value = out.get(key)
        if value is not None and type(value) is not str:
            text = time_text(time_ms(value))
            if text is None:
                del out[key]
            else:
                out[key] = text
    if isinstance(out.get("metadata"), dict):
        out["metadata"] = _string_map(out["metadata"])
    return out


def info_json(info: TraceInfo, *, spans_stored: bool = True) -> dict[str, Any]:
    """A trace's TraceInfoV3; `spans_stored` adds ``spansLocation: TRACKING_STORE``."""
    tags = dict(info.tags)
    tags[ARTIFACT_LOCATION] = artifact_location(info.experiment_id, info.trace_id)
    if spans_stored:
        tags[SPANS_LOCATION] = TRACKING_STORE
    out: dict[str, Any] = {
        "trace_id": info.trace_id,
        "trace_location": info.trace_location,
        "request_time": time_text(info.request_time) or format_time_ms(0),
        "state": info.state if info.state in STATES else "STATE_UNSPECIFIED",
        "trace_metadata": _string_map(info.trace_metadata),
        "tags": tags,
    }
    if info.execution_duration is not None:
        out["execution_duration"] = duration_text(info.execution_duration)
    if info.request_preview is not None:
        out["request_preview"] = info.request_preview
    if info.response_preview is not None:
        out["response_preview"] = info.response_preview
    if info.client_request_id is not None:
        out["client_request_id"] = info.client_request_id
    if info.assessments:
        out["assessments"] = [assessment_json(a.to_dictionary()) for a in info.assessments]
    return out


# --------------------------------------------------------------------------- spans


def any_value(value: Any) -> dict[str, Any]:
    """A Python value as an OTel AnyValue in proto JSON (snake_case)."""
    kind = type(value)
    if kind is str:
        return {"string_value": value}
    if kind is bool:
        return {"bool_value": value}
    if kind is int:
        return {"int_value": value} if -_INT64 <= value < _INT64 else {"double_value": value}
    if kind is float:
        return {"double_value": value}
    if kind is dict:
        return {
            "kvlist_value": {
                "values": [{"key": str(k), "value": any_value(v)} for k, v in value.items()]
            }
        }
    if kind is list:
        return {"array_value": {"values": [any_value(v) for v in value]}}
    if value is None:
        return {}
    return {"string_value": str(value)}


def _key_values(attributes: dict[str, Any], decode: bool) -> list[dict[str, Any]]:
    if decode:
        return [{"key": k, "value": any_value(decode_attribute(v))} for k, v in attributes.items()]
    return [{"key": k, "value": any_value(v)} for k, v in attributes.items()]


def _is_hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True


def _id_b64(value: Any, size: int) -> str:
    """A span or trace id as base64 of its bytes: stored spans hold base64 (MLflow's
    traces.json); older exports hold hex, or ``tr-<hex>`` for the trace id."""
    text = str(value or "")
    if text.startswith("tr-"):
        text = text[3:]
    if len(text) == 2 * size and _is_hex(text):
        return base64.b64encode(bytes.fromhex(text)).decode("ascii")
    return text


def _status(span: dict[str, Any]) -> dict[str, Any]:
    status = span.get("status") or {}
    code = str(status.get("code") or "STATUS_CODE_UNSET")
    if not code.startswith("STATUS_CODE_"):
        code = "STATUS_CODE_" + code.upper()
    if code not in ("STATUS_CODE_OK", "STATUS_CODE_ERROR"):
        code = "STATUS_CODE_UNSET"
    out: dict[str, Any] = {"code": code}
    if status.get("message"):
        out["message"] = str(status["message"])
    return out


def span_json(span: Span) -> dict[str, Any]:
    """One stored span (MLflow's span dict) as an OTel Span in proto JSON."""
    d = span.to_dict()
    out: dict[str, Any] = {
        "trace_id": _id_b64(d.get("trace_id"), 16),
        "span_id": _id_b64(d.get("span_id"), 8),
        "name": d.get("name") or "",
        "start_time_unix_nano": d.get("start_time_unix_nano") or 0,
        "attributes": _key_values(d.get("attributes") or {}, decode=True),
        "status": _status(d),
    }
    if d.get("parent_span_id"):
        out["parent_span_id"] = _id_b64(d["parent_span_id"], 8)
    if d.get("end_time_unix_nano"):
        out["end_time_unix_nano"] = d["end_time_unix_nano"]
    events = d.get("events")
    if events:
        out["events"] = [
            {
                "name": str(e.get("name") or ""),
                "time_unix_nano": e.get("time_unix_nano") or e.get("timestamp") or 0,
                "attributes": _key_values(e.get("attributes") or {}, decode=False),
            }
            for e in events
            if isinstance(e, dict)
        ]
    return out


def trace_json(trace: Trace) -> dict[str, Any]:
    """A whole trace as MLflow's Trace proto JSON: ``{trace_info, spans}``."""
    return {
        "trace_info": info_json(trace.info),
        "spans": [span_json(s) for s in trace.data.spans],
    }
