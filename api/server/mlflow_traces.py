"""MLflow's trace routes, as the MLflow 3.17.2 client calls them (mlflow_wire.md (a)-(d)).

Writes: spans by OTLP (``POST /v1/traces``), the info by StartTraceV3, both assembled into
one stored trace by :mod:`trace_intake`; assessments; tags (on the v2 path, as the client
sends them). Reads: the info, the whole trace with OTel spans, search and batchGet.

Where MLflow's server answers a bug this one answers the error: a tag set on a missing
trace is a 404 JSON error (MLflow: 400 with raw SQL). Every missing trace on these routes is
a JSON ``RESOURCE_DOES_NOT_EXIST`` 404, since a non-JSON 404 sends the client to its v2
fallbacks.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Header, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from evalledger.ledger import InvalidParameter, ResourceNotFound
from evalledger.ledger.memory import gc_paused
from evalledger.projections.schema import traces
from evalledger.query import paging
from evalledger.server import trace_intake, trace_wire
from evalledger.server.context import Ctx, RequestContext
from evalledger.server.mlflow_trace_models import (
    AssessmentResponse,
    BatchGetTraceInfos,
    BatchGetTraceInfosResponse,
    BatchGetTracesResponse,
    CreateAssessment,
    DeleteTraceTag,
    Empty,
    SearchTraces,
    SearchTracesResponse,
    SetTraceTag,
    StartTrace,
    TraceInfoResponse,
    TraceResponse,
)
from evalledger.server.otlp import PROTOBUF, decode_export
from evalledger.server.wire import ok
from evalledger.traces.entities import Trace, TraceInfo, check_trace_id
from evalledger.traces.reads import hydrate, read_traces
from evalledger.traces.search import search_query

V2 = "/api/2.0/mlflow/traces"
V3 = "/api/3.0/mlflow/traces"
OTLP = "/v1/traces"
EXPERIMENT_HEADER = "x-mlflow-experiment-id"
#: The page size when a search names none (the MLflow client's own default).
DEFAULT_PAGE = 100
MAX_BATCH = 1_000

router = APIRouter(tags=["MLflow traces"])


def not_found(trace_id: str) -> ResourceNotFound:
    return ResourceNotFound(f"Trace with ID '{trace_id}' not found.")


def _read(ctx: RequestContext, trace_ids: list[str]) -> dict[str, Trace]:
    """The traces found, each checked readable by the caller."""
    with gc_paused(), ctx.store.engine.connect() as conn:
        found = read_traces(conn, trace_ids, ctx.store)
    for trace in found.values():
        ctx.require_experiment("read", trace.info.experiment_id)
    return found


def _one(ctx: RequestContext, trace_id: str) -> Trace:
    trace_id = check_trace_id(trace_id)
    found = _read(ctx, [trace_id]).get(trace_id)
    if found is None:
        raise not_found(trace_id)
    return found


def _experiment_of(ctx: RequestContext, trace_id: str, action: str) -> str:
    """The experiment of a logged trace, once the caller may `action` it; 404 when missing."""
    trace_id = check_trace_id(trace_id)
    with ctx.store.engine.connect() as conn:
        experiment_id = conn.execute(
            sa.select(traces.c.experiment_id).where(traces.c.trace_id == trace_id)
        ).scalar()
    if experiment_id is None:
        raise not_found(trace_id)
    ctx.require_experiment(action, experiment_id)
    return experiment_id


# --------------------------------------------------------------------------- writes


def _export(
    ctx: RequestContext, body: bytes, content_type: str | None, encoding: str | None, exp: str
) -> Response:
    experiment_id = exp.strip()
    if not experiment_id:
        raise InvalidParameter(
            f"the {EXPERIMENT_HEADER} header is required", field=EXPERIMENT_HEADER
        )
    decoded = decode_export(body, content_type, encoding)
    spans_by_trace = {
        trace_id: trace_intake.checked_spans(trace_id, spans) for trace_id, spans in decoded.items()
    }
    ctx.require_experiment("edit", experiment_id)
    if spans_by_trace:
        trace_intake.sweep_if_due(ctx.store)
        trace_intake.receive_spans(ctx.store, ctx.client().user, experiment_id, spans_by_trace)
    return Response(b"", media_type=PROTOBUF)


@router.post(
    OTLP,
    response_class=Response,
    responses={200: {"content": {PROTOBUF: {}}, "description": "empty ExportTraceServiceResponse"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
                "application/json": {"schema": {"type": "object"}},
            },
            "description": "an OTLP ExportTraceServiceRequest (protobuf, or OTLP JSON)",
        }
    },
)
async def export_spans(
    request: Request,
    ctx: Ctx,
    x_mlflow_experiment_id: Annotated[str, Header(alias=EXPERIMENT_HEADER)] = "",
) -> Response:
    """OTLP/HTTP span export: the spans are staged until their trace's info comes, or
    complete or extend a trace (answers 200 with an empty protobuf body)."""
    body = await request.body()
    headers = request.headers
    return await run_in_threadpool(
        _export,
        ctx,
        body,
        headers.get("content-type"),
        headers.get("content-encoding"),
        x_mlflow_experiment_id,
    )


@router.post(V3, response_model=TraceInfoResponse)
def start_trace(body: StartTrace, ctx: Ctx) -> Response:
    """StartTraceV3 (sent when the trace ended): the info echoed, with
    ``spansLocation: TRACKING_STORE`` once the trace's spans are stored here."""
    info = trace_intake.checked_info(body.trace.trace_info)
    entity = TraceInfo(info)
    ctx.require_experiment("edit", entity.experiment_id)
    user = ctx.client(info["trace_metadata"].get("mlflow.user")).user
    trace_intake.sweep_if_due(ctx.store)
    stored = trace_intake.receive_info(ctx.store, user, info)
    return ok({"trace": {"trace_info": trace_wire.info_json(entity, spans_stored=stored)}})


def _value_of(assessment: dict[str, Any], kind: str) -> Any:
    body = assessment[kind]
    if not isinstance(body, dict):
        raise InvalidParameter(f"assessment.{kind}: expected an object", field=f"assessment.{kind}")
    if "value" in body:
        return body["value"]
    serialized = body.get("serialized_value")
    if isinstance(serialized, dict) and isinstance(serialized.get("value"), str):
        try:
            return orjson.loads(serialized["value"])
        except orjson.JSONDecodeError as exc:
            where = f"assessment.{kind}.serialized_value.value"
            raise InvalidParameter(f"{where} is not valid JSON: {exc}", field=where) from None
    if kind == "feedback":
        return None  # a feedback may carry only an error
    raise InvalidParameter(f"assessment.{kind}.value is required", field=f"assessment.{kind}.value")


def _span_id(value: Any) -> Any:
    """The MLflow client names spans by hex id; stored spans carry base64 ones."""
    if isinstance(value, str) and len(value) == 16:
        try:
            return base64.b64encode(bytes.fromhex(value)).decode("ascii")
        except ValueError:
            return value
    return value or None


@router.post(V3 + "/{trace_id}/assessments", response_model=AssessmentResponse)
def create_assessment(trace_id: str, body: CreateAssessment, ctx: Ctx) -> Response:
    """Log an expectation or a feedback on a trace (a later expectation of the same name
    overrides an earlier one)."""
    assessment = body.assessment
    kinds = [k for k in ("expectation", "feedback") if assessment.get(k) is not None]
    if len(kinds) != 1:
        raise InvalidParameter(
            "assessment needs exactly one of 'expectation' or 'feedback'", field="assessment"
        )
    kind = kinds[0]
    value = _value_of(assessment, kind)
    _experiment_of(ctx, trace_id, "edit")
    source = assessment.get("source")
    claimed = None
    if isinstance(source, dict) and source.get("source_type") == "HUMAN":
        claimed = source.get("source_id")
    client = ctx.client(claimed if isinstance(claimed, str) else None)
    name = assessment.get("assessment_name")
    metadata = assessment.get("metadata") or None
    try:
        if kind == "expectation":
            created = client.log_expectation(
                trace_id, name, value, source, metadata, _span_id(assessment.get("span_id"))
            )
        else:
            created = client.log_feedback(
                trace_id, name, value, source, assessment.get("rationale"), metadata
            )
    except ResourceNotFound:
        raise not_found(trace_id) from None
    return ok({"assessment": trace_wire.assessment_json(created.to_dictionary())})


@router.patch(V2 + "/{trace_id}/tags", response_model=Empty)
def set_trace_tag(trace_id: str, body: SetTraceTag, ctx: Ctx) -> Response:
    _experiment_of(ctx, trace_id, "edit")
    ctx.client().set_trace_tag(trace_id, body.key, body.value)
    return ok()


@router.delete(V2 + "/{trace_id}/tags", response_model=Empty)
def delete_trace_tag(trace_id: str, body: DeleteTraceTag, ctx: Ctx) -> Response:
    """The key comes in a JSON body (as the MLflow client sends it); a missing tag is 404."""
    _experiment_of(ctx, trace_id, "edit")
    try:
        ctx.client().delete_trace_tag(trace_id, body.key)
    except ResourceNotFound:
        raise ResourceNotFound(
            f"No trace tag with key '{body.key}' for trace with ID '{trace_id}'"
        ) from None
    return ok()


# --------------------------------------------------------------------------- reads


def _experiments_of(locations: list[dict[str, Any]]) -> list[str]:
    found = []
    for i, location in enumerate(locations):
        experiment = location.get("mlflow_experiment")
        experiment_id = experiment.get("experiment_id") if isinstance(experiment, dict) else None
        if not isinstance(experiment_id, str | int) or isinstance(experiment_id, bool):
            raise InvalidParameter(
                f"locations[{i}]: only MLFLOW_EXPERIMENT locations with an experiment_id are "
                "stored here",
                field=f"locations[{i}]",
            )
        found.append(str(experiment_id))
    if not found:
        raise InvalidParameter("locations: name at least one experiment", field="locations")
    return found


def _offset(token: str | None, query_id: str) -> int:
    key = paging.decode_token(token or None, query_id)
    if key is None:
        return 0
    if len(key) != 1 or type(key[0]) is not int or key[0] < 0:
        raise InvalidParameter(f"page_token {token!r} is not a token this search returned")
    return key[0]


@router.post(V3 + "/search", response_model=SearchTracesResponse)
def search_traces(body: SearchTraces, ctx: Ctx) -> Response:
    """TraceInfoV3 of the traces matching the filter (newest first unless ordered), a page
    at a time; a filter or order_by that does not parse is a 400."""
    experiment_ids = _experiments_of(body.locations)
    ctx.require_experiments("read", experiment_ids)
    query = search_query(experiment_ids, body.filter or None, body.order_by or None)
    limit = body.max_results or DEFAULT_PAGE
    query_id = paging.fingerprint("traces", experiment_ids, body.filter or "", body.order_by)
    offset = _offset(body.page_token, query_id)
    with gc_paused(), ctx.store.engine.connect() as conn:
        rows = conn.execute(query.offset(offset).limit(limit + 1)).all()
        found = hydrate(conn, rows[:limit], ctx.store)
    out: dict[str, Any] = {}
    if found:
        out["traces"] = [trace_wire.info_json(t.info) for t in found]
    if len(rows) > limit:
        out["next_page_token"] = paging.encode_token(query_id, [offset + limit])
    return ok(out)


def _batch(
    ctx: RequestContext, trace_ids: list[str], experiment_ids: list[str] | None
) -> list[Trace]:
    """The traces found among these ids, in their order (in these experiments, if named)."""
    if len(trace_ids) > MAX_BATCH:
        raise InvalidParameter(f"trace_ids: at most {MAX_BATCH} per call", field="trace_ids")
    wanted = list(dict.fromkeys(check_trace_id(t, "trace_ids") for t in trace_ids))
    found = _read(ctx, wanted) if wanted else {}
    keep = None if experiment_ids is None else set(experiment_ids)
    return [
        found[t]
        for t in wanted
        if t in found and (keep is None or found[t].info.experiment_id in keep)
    ]


@router.get(V3 + "/batchGet", response_model=BatchGetTracesResponse)
def batch_get_traces(
    ctx: Ctx,
    trace_ids: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies defaults)
    experiment_ids: Annotated[list[str] | None, Query()] = None,
) -> Response:
    """Whole traces (info and OTel spans) by id; ids not found are left out."""
    out = [trace_wire.trace_json(t) for t in _batch(ctx, trace_ids, experiment_ids)]
    return ok({"traces": out} if out else {})


@router.post(V3 + "/batchGetInfos", response_model=BatchGetTraceInfosResponse)
def batch_get_trace_infos(body: BatchGetTraceInfos, ctx: Ctx) -> Response:
    """TraceInfoV3 by id (no spans); ids not found are left out."""
    found = _batch(ctx, body.trace_ids, body.experiment_ids)
    return ok({"trace_infos": [trace_wire.info_json(t.info) for t in found]} if found else {})


@router.get(V3 + "/get", response_model=TraceResponse)
def get_trace(trace_id: str, ctx: Ctx, allow_partial: str | None = None) -> Response:
    """The whole trace: info and spans (``allow_partial`` is accepted: a stored trace here
    is never partial)."""
    return ok({"trace": trace_wire.trace_json(_one(ctx, trace_id))})


@router.get(V3 + "/{trace_id}", response_model=TraceInfoResponse)
def get_trace_info(trace_id: str, ctx: Ctx) -> Response:
    """GetTraceInfoV3: the info with its assessments (the client repeats ``trace_id`` in the
    query; the path decides)."""
    return ok({"trace": {"trace_info": trace_wire.info_json(_one(ctx, trace_id).info)}})
