"""The artifact routes the MLflow client uses for traces, and ``/api/3.0/mlflow/server-info``.

When StartTraceV3 is answered without ``spansLocation: TRACKING_STORE`` (the spans had not
arrived yet), the client uploads the whole trace as
``PUT /api/2.0/mlflow-artifacts/artifacts/<exp>/traces/<trace id>/artifacts/traces.json``.
Those spans go through the same intake as OTLP spans (:mod:`trace_intake`): the trace is
stored once. A GET of the same path answers the stored spans in that file's shape. The
server stores no other artifacts: any other path is a 404 JSON error.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from evalledger.ledger import InvalidParameter, ResourceNotFound
from evalledger.server import trace_intake
from evalledger.server.context import Ctx, RequestContext
from evalledger.server.mlflow_trace_models import Empty, ServerInfo, TraceData
from evalledger.server.mlflow_traces import not_found
from evalledger.server.wire import ok
from evalledger.traces.reads import read_traces

ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
TRACE_DATA = re.compile(r"^(?P<experiment>[^/]+)/traces/(?P<trace>[^/]+)/artifacts/traces\.json$")

router = APIRouter(tags=["MLflow trace artifacts"])


def _trace_path(path: str) -> tuple[str, str]:
    """(experiment id, trace id) of a traces.json path; 404 for any other artifact."""
    match = TRACE_DATA.match(path)
    if match is None:
        raise ResourceNotFound(
            f"artifact {path!r} is not stored by this server (it keeps only "
            "<experiment>/traces/<trace id>/artifacts/traces.json)"
        )
    return match["experiment"], match["trace"]


def _spans_of(body: bytes) -> Any:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(f"traces.json is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("spans"), list):
        raise InvalidParameter(
            'traces.json must be an object {"spans": [...]} (MLflow\'s TraceData)',
            field="spans",
        )
    return data["spans"]


def _upload(ctx: RequestContext, path: str, body: bytes) -> Response:
    experiment_id, trace_id = _trace_path(path)
    spans = trace_intake.checked_spans(trace_id, _spans_of(body), "traces.json spans")
    ctx.require_experiment("edit", experiment_id)
    trace_intake.receive_spans(ctx.store, ctx.client().user, experiment_id, {trace_id: spans})
    return ok()


@router.put(
    ARTIFACTS + "/{path:path}",
    response_model=Empty,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": TraceData.model_json_schema()}},
            "description": "traces.json: MLflow's TraceData ({spans: [...]})",
        }
    },
)
async def upload_artifact(path: str, request: Request, ctx: Ctx) -> Response:
    """Upload a trace's traces.json: its spans are stored with the trace (once)."""
    body = await request.body()
    return await run_in_threadpool(_upload, ctx, path, body)


@router.get(ARTIFACTS + "/{path:path}", response_model=TraceData)
def download_artifact(path: str, ctx: Ctx) -> Response:
    """A stored trace's traces.json (``{"spans": [...]}``, MLflow's span dicts)."""
    _, trace_id = _trace_path(path)
    with ctx.store.engine.connect() as conn:
        trace = read_traces(conn, [trace_id], ctx.store).get(trace_id)
    if trace is None:
        raise not_found(trace_id)
    ctx.require_experiment("read", trace.info.experiment_id)
    return ok(trace.data.to_dict())


@router.get("/api/3.0/mlflow/server-info", response_model=ServerInfo)
def server_info() -> Response:
    """What the client asks before downloading artifacts: nothing optional is on."""
    return ok(
        {
            "store_type": "SqlStore",
            "workspaces_enabled": False,
            "trace_archival_enabled": False,
            "multipart_uploads_enabled": False,
            "multipart_downloads_enabled": False,
        }
    )
