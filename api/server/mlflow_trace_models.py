"""The request and response models of MLflow's trace routes, for /openapi.json.

Trace bodies (TraceInfoV3, OTel spans, assessments) are declared as JSON objects: they are
checked by normalize_trace and the trace functions, not field by field here, so a big
trace costs no per-span model validation.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

TraceInfoJson = dict[str, Any]


class TraceEnvelope(BaseModel):
    model_config = ConfigDict(extra="ignore")
    trace_info: TraceInfoJson = Field(description="TraceInfoV3, proto JSON (snake_case)")


class StartTrace(BaseModel):
    """StartTraceV3: the trace's info, sent after its root span ended (no spans)."""

    model_config = ConfigDict(extra="ignore")
    trace: TraceEnvelope


class TraceInfoOnly(BaseModel):
    trace_info: TraceInfoJson


class TraceInfoResponse(BaseModel):
    trace: TraceInfoOnly


class TraceWithSpans(BaseModel):
    trace_info: TraceInfoJson
    spans: list[dict[str, Any]] = Field(
        default=[], description="OpenTelemetry Span, proto JSON: base64 ids, AnyValue values"
    )


class TraceResponse(BaseModel):
    trace: TraceWithSpans


class BatchGetTracesResponse(BaseModel):
    traces: list[TraceWithSpans] = []


class BatchGetTraceInfos(BaseModel):
    model_config = ConfigDict(extra="ignore")
    trace_ids: list[str] = []
    experiment_ids: list[str] | None = None


class BatchGetTraceInfosResponse(BaseModel):
    trace_infos: list[TraceInfoJson] = []


class SearchTraces(BaseModel):
    model_config = ConfigDict(extra="ignore")
    locations: list[dict[str, Any]] = Field(
        default=[],
        description='[{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id"}}]',
    )
    filter: str | None = Field(None, description="search_traces' filter grammar")
    max_results: int | None = Field(default=None, ge=1, le=50_000)
    order_by: list[str] = []
    page_token: str | None = None


class SearchTracesResponse(BaseModel):
    traces: list[TraceInfoJson] = []
    next_page_token: str | None = None


class CreateAssessment(BaseModel):
    model_config = ConfigDict(extra="ignore")
    assessment: dict[str, Any] = Field(
        description="Assessment, proto JSON: assessment_name, source, and expectation "
        "{value} or feedback {value}; rationale, metadata, span_id optional"
    )


class AssessmentResponse(BaseModel):
    assessment: dict[str, Any]


class SetTraceTag(BaseModel):
    model_config = ConfigDict(extra="ignore")
    key: str
    value: str = ""


class DeleteTraceTag(BaseModel):
    model_config = ConfigDict(extra="ignore")
    key: str


class Empty(BaseModel):
    pass


class ServerInfo(BaseModel):
    store_type: str
    workspaces_enabled: bool = False
    trace_archival_enabled: bool = False
    multipart_uploads_enabled: bool = False
    multipart_downloads_enabled: bool = False


class TraceData(BaseModel):
    """traces.json: MLflow's span dicts (attribute values as JSON strings)."""

    model_config = ConfigDict(extra="allow")
    spans: list[dict[str, Any]] = []
