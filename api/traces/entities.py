"""Traces as users hold them (API.md §7), in the shapes of MLflow 3.

A :class:`Trace` is ``info`` (:class:`TraceInfo`) and ``data`` (:class:`TraceData`, the
spans). ``Trace.to_json()`` writes the JSON MLflow's ``Trace.to_json()`` writes, and
``Trace.from_json()`` reads it back (and MLflow 2's older shape). Span attributes stay as
MLflow keeps them, JSON-encoded strings, and are decoded on access (``span.attributes``,
``span.inputs``, ``span.outputs``).

:func:`normalize_trace` is the one gate for traces coming from outside: it checks the shape,
names the offending field, and returns a fresh dict in MLflow 3's shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from evalledger.ledger import InvalidParameter
from evalledger.ledger.encoding import TOO_DEEP, are_plain, clip_path, too_deep
from evalledger.ledger.limits import (
    MAX_KEY_CHARS,
    MAX_NESTING,
    MAX_STREAM_ID_CHARS,
    TRACE_DOCUMENT_LEVELS,
    TRACE_DOCUMENT_NESTING,
)
from evalledger.projections.event_types import DEFAULT_EXPERIMENT_ID
from evalledger.projections.traces_fold import (
    assessment_kind,
    duration_ms,
    experiment_id_of,
    format_time_ms,
    time_ms,
)
from evalledger.validation import check_tag_key, check_tag_value, shown, text_problem

__all__ = [
    "Assessment",
    "AssessmentSource",
    "ExpectationValue",
    "FeedbackValue",
    "Span",
    "Trace",
    "TraceData",
    "TraceInfo",
    "normalize_trace",
]

INPUTS = "mlflow.spanInputs"
OUTPUTS = "mlflow.spanOutputs"
SPAN_TYPE = "mlflow.spanType"
MAX_TRACE_ID = MAX_STREAM_ID_CHARS
MAX_KEY = MAX_KEY_CHARS
SOURCE_TYPES = ("HUMAN", "LLM_JUDGE", "CODE", "SOURCE_TYPE_UNSPECIFIED")
STATES = ("OK", "ERROR", "IN_PROGRESS", "STATE_UNSPECIFIED")


def decode_attribute(value: Any) -> Any:
    """An attribute as MLflow stores it (a JSON string) decoded; other values as they are."""
    if type(value) is str:
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def encode_attribute(value: Any, where: str = "attribute") -> str:
    """A span attribute as MLflow stores it: JSON text (InvalidParameter naming `where`
    for a value JSON cannot hold, such as text with a lone surrogate)."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError as exc:
        raise InvalidParameter(f"{where}: not valid JSON text ({exc})") from None


# --------------------------------------------------------------------------- assessments


@dataclass(frozen=True)
class AssessmentSource:
    """Who made an assessment: ``source_type`` (HUMAN, LLM_JUDGE, CODE) and ``source_id``."""

    source_type: str
    source_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source_type": self.source_type}
        if self.source_id is not None:
            out["source_id"] = self.source_id
        return out


@dataclass(frozen=True)
class ExpectationValue:
    value: Any


@dataclass(frozen=True)
class FeedbackValue:
    value: Any
    error: Any = None


class Assessment:
    """An expectation or a feedback on a trace (MLflow's ``Assessment``).

    ``kind`` is ``"expectation"`` or ``"feedback"``; ``expectation``/``feedback`` hold the
    value of the matching kind (None for the other). ``valid`` is False once a later
    expectation of the same name overrode this one.
    """

    __slots__ = ("_d",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._d = data

    @classmethod
    def from_dictionary(cls, data: dict[str, Any]) -> Assessment:
        return cls(dict(data))

    @property
    def assessment_id(self) -> str:
        return self._d["assessment_id"]

    @property
    def name(self) -> str:
        return self._d["assessment_name"]

    @property
    def trace_id(self) -> str | None:
        return self._d.get("trace_id")

    @property
    def kind(self) -> str:
        return assessment_kind(self._d)

    @property
    def value(self) -> Any:
        body = self._d.get("expectation") or self._d.get("feedback") or {}
        if "value" in body:
            return body["value"]
        serialized = body.get("serialized_value")
        if isinstance(serialized, dict) and isinstance(serialized.get("value"), str):
            return decode_attribute(serialized["value"])
        return None

    @property
    def expectation(self) -> ExpectationValue | None:
        return ExpectationValue(self.value) if self.kind == "expectation" else None

    @property
    def feedback(self) -> FeedbackValue | None:
        if self.kind != "feedback":
            return None
        return FeedbackValue(self.value, (self._d.get("feedback") or {}).get("error"))

    @property
    def source(self) -> AssessmentSource:
        source = self._d.get("source") or {}
        return AssessmentSource(
            str(source.get("source_type") or "SOURCE_TYPE_UNSPECIFIED"), source.get("source_id")
        )

    @property
    def create_time_ms(self) -> int | None:
        return time_ms(self._d.get("create_time"))

    @property
    def last_update_time_ms(self) -> int | None:
        return time_ms(self._d.get("last_update_time"))

    @property
    def valid(self) -> bool:
        return self._d.get("valid") is not False

    @property
    def rationale(self) -> str | None:
        return self._d.get("rationale")

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self._d.get("metadata") or {})

    @property
    def span_id(self) -> str | None:
        return self._d.get("span_id")

    def to_dictionary(self) -> dict[str, Any]:
        """MLflow's dict shape (``Assessment.to_dictionary()``)."""
        return dict(self._d)

    to_dict = to_dictionary

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Assessment) and self._d == other._d

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Assessment(assessment_id={self.assessment_id!r}, name={self.name!r}, "
            f"kind={self.kind!r}, value={self.value!r}, valid={self.valid})"
        )


# --------------------------------------------------------------------------- spans


class Span:
    """One span, over MLflow 3's span dict. Attribute values are decoded on access."""

    __slots__ = ("_attributes", "_d")

    def __init__(self, data: dict[str, Any]) -> None:
        self._d = data
        self._attributes: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return self._d.get("name") or ""

    @property
    def span_id(self) -> str:
        return self._d.get("span_id") or ""

    @property
    def parent_id(self) -> str | None:
        return self._d.get("parent_span_id") or None

    @property
    def trace_id(self) -> str | None:
        """The OpenTelemetry trace id as MLflow exports it (not the ``tr-`` id)."""
        return self._d.get("trace_id")

    @property
    def start_time_ns(self) -> int | None:
        return self._d.get("start_time_unix_nano")

    @property
    def end_time_ns(self) -> int | None:
        return self._d.get("end_time_unix_nano")

    @property
    def status(self) -> str:
        return str((self._d.get("status") or {}).get("code") or "STATUS_CODE_UNSET")

    @property
    def events(self) -> list[Any]:
        return list(self._d.get("events") or ())

    @property
    def attributes(self) -> dict[str, Any]:
        """Every attribute, decoded from the JSON strings MLflow stores."""
        if self._attributes is None:
            raw = self._d.get("attributes") or {}
            self._attributes = {k: decode_attribute(v) for k, v in raw.items()}
        return self._attributes

    def get_attribute(self, key: str) -> Any:
        return self.attributes.get(key)

    def _decoded(self, key: str) -> Any:
        if self._attributes is not None:
            return self._attributes.get(key)
        return decode_attribute((self._d.get("attributes") or {}).get(key))

    @property
    def inputs(self) -> Any:
        return self._decoded(INPUTS)

    @property
    def outputs(self) -> Any:
        return self._decoded(OUTPUTS)

    @property
    def span_type(self) -> str | None:
        return self.attributes.get(SPAN_TYPE)

    def to_dict(self) -> dict[str, Any]:
        """MLflow 3's span dict (attribute values JSON-encoded)."""
        return dict(self._d)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Span) and self._d == other._d

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Span(name={self.name!r}, span_id={self.span_id!r}, parent_id={self.parent_id!r})"


# --------------------------------------------------------------------------- trace

_INFO_KEYS = frozenset(
    (
        "trace_id",
        "trace_location",
        "request_time",
        "state",
        "trace_metadata",
        "tags",
        "assessments",
        "request_preview",
        "response_preview",
        "client_request_id",
        "execution_duration_ms",
        "execution_duration",
    )
)


class TraceInfo:
    """A trace's metadata: ids, times, state, tags, metadata and assessments (MLflow 3).

    MLflow 2's names are aliases: ``timestamp_ms`` (``request_time``), ``execution_time_ms``
    (``execution_duration``), ``status`` (``state``), ``request_id`` (``trace_id``),
    ``request_metadata`` (``trace_metadata``).
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.trace_id: str = data["trace_id"]
        self.trace_location: dict[str, Any] = data.get("trace_location") or _location(
            DEFAULT_EXPERIMENT_ID
        )
        self.experiment_id: str = experiment_id_of(data) or DEFAULT_EXPERIMENT_ID
        self.request_time: int = time_ms(data.get("request_time")) or 0
        self.execution_duration: int | None = duration_ms(data)
        self.state: str = data.get("state") or "STATE_UNSPECIFIED"
        self.tags: dict[str, str] = dict(data.get("tags") or {})
        self.trace_metadata: dict[str, str] = dict(data.get("trace_metadata") or {})
        self.assessments: list[Assessment] = [Assessment(a) for a in data.get("assessments") or ()]
        self.request_preview: str | None = data.get("request_preview")
        self.response_preview: str | None = data.get("response_preview")
        self.client_request_id: str | None = data.get("client_request_id")
        self._extra = {k: v for k, v in data.items() if k not in _INFO_KEYS}

    @property
    def timestamp_ms(self) -> int:
        return self.request_time

    @property
    def execution_time_ms(self) -> int | None:
        return self.execution_duration

    @property
    def status(self) -> str:
        return self.state

    @property
    def request_id(self) -> str:
        return self.trace_id

    @property
    def request_metadata(self) -> dict[str, str]:
        return self.trace_metadata

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            **self._extra,
            "trace_id": self.trace_id,
            "trace_location": self.trace_location,
            "request_time": format_time_ms(self.request_time),
            "state": self.state,
            "trace_metadata": dict(self.trace_metadata),
            "tags": dict(self.tags),
        }
        if self.assessments:
            out["assessments"] = [a.to_dictionary() for a in self.assessments]
        for key in ("request_preview", "response_preview", "client_request_id"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.execution_duration is not None:
            out["execution_duration_ms"] = self.execution_duration
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TraceInfo) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"TraceInfo(trace_id={self.trace_id!r}, experiment_id={self.experiment_id!r}, "
            f"request_time={self.request_time}, state={self.state!r})"
        )


class TraceData:
    """A trace's spans; ``request``/``response`` are the root span's inputs/outputs as the
    JSON strings MLflow stores (as MLflow's ``TraceData``)."""

    def __init__(self, spans: list[Span] | None = None, extra: dict[str, Any] | None = None):
        self.spans: list[Span] = list(spans or ())
        self._extra = dict(extra or {})

    @property
    def root_span(self) -> Span | None:
        for span in self.spans:
            if span.parent_id is None:
                return span
        return None

    @property
    def request(self) -> str | None:
        root = self.root_span
        return None if root is None else (root._d.get("attributes") or {}).get(INPUTS)

    @property
    def response(self) -> str | None:
        root = self.root_span
        return None if root is None else (root._d.get("attributes") or {}).get(OUTPUTS)

    def to_dict(self) -> dict[str, Any]:
        return {**self._extra, "spans": [s.to_dict() for s in self.spans]}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TraceData) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


class Trace:
    """A trace: ``info`` (:class:`TraceInfo`) and ``data`` (:class:`TraceData`)."""

    __slots__ = ("data", "info")

    def __init__(self, info: TraceInfo, data: TraceData) -> None:
        self.info = info
        self.data = data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        """A trace from ``Trace.to_json()``'s dict (MLflow 3, or MLflow 2's shape)."""
        return cls._trusted(normalize_trace(data, "trace"))

    @classmethod
    def from_json(cls, text: str | bytes | dict[str, Any]) -> Trace:
        """The inverse of :meth:`to_json`; MLflow's JSON (either version) reads too."""
        if isinstance(text, dict):
            return cls.from_dict(text)
        if isinstance(text, Trace):
            return text
        if not isinstance(text, str | bytes | bytearray):
            raise InvalidParameter(
                f"Trace.from_json needs a JSON string, got {type(text).__name__}"
            )
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise InvalidParameter(f"trace: not valid JSON ({exc})") from None
        return cls.from_dict(data)

    @classmethod
    def _trusted(cls, data: dict[str, Any]) -> Trace:
        """A trace from a dict normalize_trace already produced (no second check)."""
        body = data["data"]
        extra = {k: v for k, v in body.items() if k != "spans"}
        return cls(TraceInfo(data["info"]), TraceData([Span(s) for s in body["spans"]], extra))

    def to_dict(self) -> dict[str, Any]:
        return {"info": self.info.to_dict(), "data": self.data.to_dict()}

    def to_json(self, pretty: bool = False) -> str:
        option = orjson.OPT_INDENT_2 if pretty else 0
        return orjson.dumps(self.to_dict(), option=option).decode()

    def search_spans(self, name: str | None = None) -> list[Span]:
        """The spans with this name (every span when name is None)."""
        return [s for s in self.data.spans if name is None or s.name == name]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Trace) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Trace(trace_id={self.info.trace_id!r})"


# --------------------------------------------------------------------------- normalize


def _location(experiment_id: str) -> dict[str, Any]:
    return {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}}


def _fail(where: str, detail: str) -> InvalidParameter:
    return InvalidParameter(f"{where}: {detail}")


def _tname(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def _str_map(value: Any, where: str) -> dict[str, str]:
    """A dict of str -> str (MLflow's tags and metadata); scalars become str."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(where, f"expected a dict, got {_tname(value)}")
    out = {}
    for key, item in value.items():
        check_tag_key(key, where)
        if type(item) is str:
            out[key] = check_tag_value(check_text(item, f"{where}.{key}"), f"{where}.{key}")
        elif isinstance(item, str | int | float | bool):
            out[key] = str(item)
        else:
            raise _fail(f"{where}.{key}", f"expected a string value, got {_tname(item)}")
    return out


def check_text(value: str, where: str) -> str:
    """Text that lands in an SQL column: no NUL (PostgreSQL rejects it), no lone surrogate."""
    problem = text_problem(value)
    if problem is not None:
        raise _fail(where, problem)
    return value


def _from_v2(info: dict[str, Any], data: dict[str, Any]) -> tuple[dict, dict]:
    """MLflow 2's trace dict (request_id, timestamp_ms, context span ids) in MLflow 3's shape."""
    state = str(info.get("status") or "STATE_UNSPECIFIED")
    v3 = {
        "trace_id": info.get("request_id"),
        "trace_location": _location(str(info.get("experiment_id") or DEFAULT_EXPERIMENT_ID)),
        "request_time": info.get("timestamp_ms"),
        "state": "STATE_UNSPECIFIED" if state == "UNSPECIFIED" else state,
        "trace_metadata": info.get("request_metadata") or {},
        "tags": info.get("tags") or {},
        "execution_duration_ms": info.get("execution_time_ms"),
    }
    if info.get("assessments"):
        v3["assessments"] = info["assessments"]
    spans = []
    for span in data.get("spans") or ():
        if not isinstance(span, dict) or "context" not in span:
            spans.append(span)
            continue
        context = span.get("context") or {}
        spans.append(
            {
                "trace_id": context.get("trace_id"),
                "span_id": context.get("span_id"),
                "parent_span_id": span.get("parent_id"),
                "name": span.get("name"),
                "start_time_unix_nano": span.get("start_time"),
                "end_time_unix_nano": span.get("end_time"),
                "events": span.get("events") or [],
                "status": {
                    "code": f"STATUS_CODE_{span.get('status_code') or 'UNSET'}",
                    "message": span.get("status_message") or "",
                },
                "attributes": span.get("attributes") or {},
            }
        )
    return v3, {"spans": spans}


def _int_or_none(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, f"expected an integer, got {_tname(value)}")
    return value


def _span(span: Any, where: str) -> dict[str, Any]:
    if not isinstance(span, dict):
        raise _fail(where, f"expected a dict, got {_tname(span)}")
    out = dict(span)
    name = span.get("name")
    if not isinstance(name, str):
        raise _fail(f"{where}.name", f"expected a string, got {_tname(name)}")
    check_text(name, f"{where}.name")
    span_id = span.get("span_id")
    if not isinstance(span_id, str) or not span_id:
        raise _fail(f"{where}.span_id", f"expected a non-empty string, got {shown(span_id)}")
    parent = span.get("parent_span_id")
    if parent is not None and not isinstance(parent, str):
        raise _fail(f"{where}.parent_span_id", f"expected a string or None, got {_tname(parent)}")
    out["parent_span_id"] = parent or None
    _int_or_none(span.get("start_time_unix_nano"), f"{where}.start_time_unix_nano")
    _int_or_none(span.get("end_time_unix_nano"), f"{where}.end_time_unix_nano")
    attributes = span.get("attributes")
    if attributes is None:
        attributes = {}
    if not isinstance(attributes, dict):
        raise _fail(f"{where}.attributes", f"expected a dict, got {_tname(attributes)}")
    if not all(type(v) is str for v in attributes.values()):
        # MLflow keeps every attribute value as a JSON string; encode the others likewise.
        attributes = {
            k: v if type(v) is str else encode_attribute(v) for k, v in attributes.items()
        }
    # JSON nesting n levels holds 2n brackets: short texts and most long ones need no parse
    for key, text in attributes.items():
        if len(text) > 2 * MAX_NESTING and text.count("[") + text.count("{") > MAX_NESTING:
            _check_attribute_nesting(text, f"{where}.attributes.{key}")
    out["attributes"] = attributes
    return out


def _check_attribute_nesting(text: str, where: str) -> None:
    """An attribute's JSON nests at most MAX_NESTING levels (a text that is not JSON is a
    plain string, which is fine)."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        if "depth" in str(exc) or "recursion" in str(exc):
            raise _fail(where, TOO_DEEP) from None
        return
    deep = too_deep(value, where)
    if deep is not None:
        raise _fail(clip_path(deep), TOO_DEEP)


def _assessment(value: Any, trace_id: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, f"expected a dict, got {_tname(value)}")
    out = dict(value)
    assessment_id = value.get("assessment_id")
    if not isinstance(assessment_id, str) or not assessment_id:
        got = shown(assessment_id)
        raise _fail(f"{where}.assessment_id", f"expected a non-empty string, got {got}")
    if len(assessment_id) > MAX_TRACE_ID:
        raise _fail(f"{where}.assessment_id", f"is longer than {MAX_TRACE_ID} characters")
    check_text(assessment_id, f"{where}.assessment_id")
    name = value.get("assessment_name")
    if not isinstance(name, str) or not name or len(name) > MAX_KEY:
        raise _fail(f"{where}.assessment_name", f"expected a string of 1 to {MAX_KEY} characters")
    check_text(name, f"{where}.assessment_name")
    kinds = [k for k in ("expectation", "feedback") if k in value]
    if len(kinds) != 1 or not isinstance(value[kinds[0]], dict):
        raise _fail(where, "needs exactly one of 'expectation' or 'feedback' (a dict)")
    for key in ("create_time", "last_update_time"):
        if key in value and time_ms(value[key]) is None:
            raise _fail(f"{where}.{key}", f"not a time: {shown(value[key])}")
    if "valid" in value and not isinstance(value["valid"], bool):
        raise _fail(f"{where}.valid", f"expected a bool, got {_tname(value['valid'])}")
    out["trace_id"] = trace_id
    return out


def check_trace_id(trace_id: Any, where: str = "trace_id") -> str:
    """A trace id: a non-empty string of at most 191 characters (it is a stream id)."""
    if not isinstance(trace_id, str) or not trace_id.strip():
        raise _fail(where, f"expected a non-empty string, got {shown(trace_id)}")
    if len(trace_id) > MAX_TRACE_ID:
        raise _fail(where, f"is longer than {MAX_TRACE_ID} characters")
    if trace_id != trace_id.strip():
        raise _fail(where, f"{trace_id!r} cannot start or end with white space")
    return check_text(trace_id, where)


_DOCUMENT_TOO_DEEP = (
    f"nests deeper than {TRACE_DOCUMENT_NESTING} levels of lists and dicts (the limit of a "
    f"trace document: {MAX_NESTING} for a value, plus {TRACE_DOCUMENT_LEVELS} for the document)"
)


def normalize_trace(raw: Any, where: str = "trace", *, shallow: bool = False) -> dict[str, Any]:
    """Check a trace dict (``Trace.to_json()``'s shape, MLflow 3 or 2) and return a fresh
    dict in MLflow 3's shape. Values must already be JSON (callers check dicts they did
    not parse themselves). Raises InvalidParameter naming the field.

    The document may nest TRACE_DOCUMENT_NESTING levels, each attribute's JSON
    MAX_NESTING; `shallow` says the caller already knows the document nests no deeper."""
    if not isinstance(raw, dict):
        raise _fail(where, f"expected a trace dict with 'info' and 'data', got {_tname(raw)}")
    if not shallow and not are_plain((raw,), TRACE_DOCUMENT_NESTING):
        deep = too_deep(raw, where, TRACE_DOCUMENT_NESTING)
        if deep is not None:
            raise _fail(clip_path(deep), _DOCUMENT_TOO_DEEP)
    info, data = raw.get("info"), raw.get("data")
    if not isinstance(info, dict):
        raise _fail(f"{where}.info", f"expected a dict, got {_tname(info)}")
    if data is None:
        data = {"spans": []}
    if not isinstance(data, dict):
        raise _fail(f"{where}.data", f"expected a dict, got {_tname(data)}")
    if "trace_id" not in info and "request_id" in info:
        info, data = _from_v2(info, data)
    info = dict(info)
    trace_id = info.get("trace_id")
    check_trace_id(trace_id, f"{where}.info.trace_id")
    where = f"trace {trace_id!r}"
    location = info.get("trace_location")
    if location is None:
        info["trace_location"] = _location(DEFAULT_EXPERIMENT_ID)
    elif not isinstance(location, dict):
        raise _fail(f"{where}: info.trace_location", f"expected a dict, got {_tname(location)}")
    request_time = time_ms(info.get("request_time"))
    if request_time is None:
        raise _fail(f"{where}: info.request_time", f"not a time: {shown(info.get('request_time'))}")
    if type(info["request_time"]) is not str:
        info["request_time"] = format_time_ms(request_time)
    state = info.get("state")
    if state is None:
        info["state"] = "STATE_UNSPECIFIED"
    elif not isinstance(state, str) or not 0 < len(state) <= 32:
        raise _fail(f"{where}: info.state", f"expected a state name, got {shown(state)}")
    else:
        check_text(state, f"{where}: info.state")
    info["tags"] = _str_map(info.get("tags"), f"{where}: info.tags")
    info["trace_metadata"] = _str_map(info.get("trace_metadata"), f"{where}: info.trace_metadata")
    if "execution_duration_ms" in info:
        _int_or_none(info["execution_duration_ms"], f"{where}: info.execution_duration_ms")
    found = info.get("assessments")
    if found is not None:
        if not isinstance(found, list | tuple):
            raise _fail(f"{where}: info.assessments", f"expected a list, got {_tname(found)}")
        checked = [
            _assessment(a, trace_id, f"{where}: info.assessments[{i}]") for i, a in enumerate(found)
        ]
        ids = [a["assessment_id"] for a in checked]
        if len(set(ids)) != len(ids):
            raise _fail(f"{where}: info.assessments", "two assessments share one assessment_id")
        if checked:
            info["assessments"] = checked
        else:
            del info["assessments"]
    spans = data.get("spans")
    if spans is None:
        spans = []
    if not isinstance(spans, list | tuple):
        raise _fail(f"{where}: data.spans", f"expected a list, got {_tname(spans)}")
    data = {**data, "spans": [_span(s, f"{where}: data.spans[{i}]") for i, s in enumerate(spans)]}
    return {"info": info, "data": data}


def with_experiment(trace: dict[str, Any], experiment_id: str) -> dict[str, Any]:
    """The trace moved to another experiment (a new info dict; the rest is shared)."""
    info = {**trace["info"], "trace_location": _location(experiment_id)}
    return {"info": info, "data": trace["data"]}
