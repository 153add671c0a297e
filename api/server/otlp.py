"""OTLP/HTTP trace exports (what the MLflow client posts to ``/v1/traces``) decoded into
MLflow span dicts.

A span comes out in the shape of MLflow's ``traces.json`` (``Span.to_dict()``): ids in
base64, the status code by its OTel name, attribute values JSON-encoded as MLflow encodes
them, event attributes as plain values. So a span is stored the same whichever way it
arrived (OTLP or the traces.json upload). The MLflow trace id is ``tr-`` + the hex of the
OTel trace id, and is written into each span's ``mlflow.traceRequestId`` (the client's own
value is not trusted, as MLflow's server does not trust it).

Protobuf (what the Python client sends) and OTLP JSON (hex ids, camelCase) are accepted,
plain or gzip/deflate encoded.
"""

from __future__ import annotations

import base64
import gzip
import json
import math
import zlib
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as OTelSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from evalledger.ledger import InvalidParameter

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
REQUEST_ID = "mlflow.traceRequestId"
TRACE_ID_BYTES = 16
SPAN_ID_BYTES = 8

#: {MLflow trace id: [span dicts]}, in the order the spans came.
SpansByTrace = dict[str, list[dict[str, Any]]]


def mlflow_trace_id(otel_trace_id: bytes) -> str:
    return "tr-" + otel_trace_id.hex()


def dump_attribute(value: Any) -> str:
    """An attribute value as MLflow stores it: JSON text, non-ASCII kept as it is."""
    return json.dumps(value, ensure_ascii=False)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _plain(value: Any) -> Any:
    """A decoded value the ledger can hold as JSON (bytes as base64, non-finite floats as
    text)."""
    if type(value) is bytes:
        return _b64(value)
    if type(value) is float and not math.isfinite(value):
        return str(value)
    return value


def any_value(value: AnyValue) -> Any:
    """An OTel AnyValue as a Python value (arrays as lists, key-value lists as dicts)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    return _plain(getattr(value, kind))


def _check_id(raw: bytes, size: int, where: str, *, required: bool = True) -> None:
    if not raw and not required:
        return
    if len(raw) != size:
        raise InvalidParameter(f"{where}: expected {size} bytes, got {len(raw)}", field=where)


def span_dict(span: OTelSpan, where: str) -> tuple[str, dict[str, Any]]:
    """One OTel span as (MLflow trace id, MLflow span dict)."""
    _check_id(span.trace_id, TRACE_ID_BYTES, f"{where}.trace_id")
    _check_id(span.span_id, SPAN_ID_BYTES, f"{where}.span_id")
    _check_id(span.parent_span_id, SPAN_ID_BYTES, f"{where}.parent_span_id", required=False)
    trace_id = mlflow_trace_id(span.trace_id)
    attributes = {kv.key: dump_attribute(any_value(kv.value)) for kv in span.attributes}
    attributes[REQUEST_ID] = dump_attribute(trace_id)
    out = {
        "trace_id": _b64(span.trace_id),
        "span_id": _b64(span.span_id),
        "parent_span_id": _b64(span.parent_span_id) if span.parent_span_id else None,
        "name": span.name,
        "start_time_unix_nano": span.start_time_unix_nano,
        "end_time_unix_nano": span.end_time_unix_nano or None,
        "events": [
            {
                "name": event.name,
                "time_unix_nano": event.time_unix_nano,
                "attributes": {kv.key: any_value(kv.value) for kv in event.attributes},
            }
            for event in span.events
        ],
        "status": {
            "code": Status.StatusCode.Name(span.status.code)
            if span.status.code in Status.StatusCode.values()
            else "STATUS_CODE_UNSET",
            "message": span.status.message,
        },
        "attributes": attributes,
        "links": [
            {
                "trace_id": mlflow_trace_id(link.trace_id),
                "span_id": link.span_id.hex(),
                "attributes": {kv.key: any_value(kv.value) for kv in link.attributes},
            }
            for link in span.links
        ],
    }
    return trace_id, out


def spans_by_trace(request: ExportTraceServiceRequest) -> SpansByTrace:
    found: SpansByTrace = {}
    for r, resource_spans in enumerate(request.resource_spans):
        for s, scope_spans in enumerate(resource_spans.scope_spans):
            for i, span in enumerate(scope_spans.spans):
                where = f"resource_spans[{r}].scope_spans[{s}].spans[{i}]"
                trace_id, span_out = span_dict(span, where)
                found.setdefault(trace_id, []).append(span_out)
    return found


def _decompress(body: bytes, encoding: str | None) -> bytes:
    name = (encoding or "").strip().lower()
    if name in ("", "identity"):
        return body
    try:
        if name == "gzip":
            return gzip.decompress(body)
        if name == "deflate":
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)  # raw deflate
    except (OSError, EOFError, zlib.error) as exc:
        raise InvalidParameter(
            f"the body is not valid {name} data: {exc}", field="Content-Encoding"
        ) from None
    raise InvalidParameter(
        f"Content-Encoding {encoding!r} is not supported (use gzip, deflate or none)",
        field="Content-Encoding",
    )


def _hex_to_b64(holder: dict[str, Any], key: str, where: str) -> None:
    value = holder.get(key)
    if isinstance(value, str) and value:
        try:
            holder[key] = _b64(bytes.fromhex(value))
        except ValueError:
            raise InvalidParameter(f"{where}.{key}: {value!r} is not hex", field=key) from None


def _from_json(raw: bytes) -> ExportTraceServiceRequest:
    """OTLP JSON: ids are hex there, base64 in protobuf's JSON mapping."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidParameter("the body must be an ExportTraceServiceRequest JSON object")
    for r, resource_spans in enumerate(data.get("resourceSpans") or ()):
        for s, scope_spans in enumerate((resource_spans or {}).get("scopeSpans") or ()):
            for i, span in enumerate((scope_spans or {}).get("spans") or ()):
                if not isinstance(span, dict):
                    continue
                where = f"resourceSpans[{r}].scopeSpans[{s}].spans[{i}]"
                for key in ("traceId", "spanId", "parentSpanId"):
                    _hex_to_b64(span, key, where)
                for j, link in enumerate(span.get("links") or ()):
                    if isinstance(link, dict):
                        for key in ("traceId", "spanId"):
                            _hex_to_b64(link, key, f"{where}.links[{j}]")
    request = ExportTraceServiceRequest()
    try:
        json_format.ParseDict(data, request, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise InvalidParameter(
            f"the body is not an OTLP ExportTraceServiceRequest: {exc}"
        ) from None
    return request


def _from_protobuf(raw: bytes) -> ExportTraceServiceRequest:
    try:
        return ExportTraceServiceRequest.FromString(raw)
    except (DecodeError, ValueError) as exc:
        raise InvalidParameter(
            f"the body is not an OTLP ExportTraceServiceRequest protobuf: {exc}"
        ) from None


def decode_export(
    body: bytes, content_type: str | None, content_encoding: str | None
) -> SpansByTrace:
    """The spans of an OTLP export request, by MLflow trace id; InvalidParameter (naming the
    header or the span field) for anything that is not a well-formed request."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in (PROTOBUF, JSON):
        raise InvalidParameter(
            f"Content-Type must be {PROTOBUF} or {JSON}, got {content_type!r}",
            field="Content-Type",
        )
    raw = _decompress(body, content_encoding)
    request = _from_protobuf(raw) if media == PROTOBUF else _from_json(raw)
    return spans_by_trace(request)
