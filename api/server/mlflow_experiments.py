"""MLflow's experiment routes (v2): get, get-by-name, create, search."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from evalledger.experiments import Experiment
from evalledger.ledger import InvalidParameter, ResourceNotFound
from evalledger.server.context import Ctx
from evalledger.server.experiment_filter import matches
from evalledger.server.wire import ok

V2 = "/api/2.0/mlflow/experiments"
router = APIRouter(tags=["MLflow experiments"])


class Tag(BaseModel):
    key: str
    value: str = ""


class ExperimentOut(BaseModel):
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str = "active"
    creation_time: int
    last_update_time: int
    tags: list[Tag] = []


class ExperimentResponse(BaseModel):
    experiment: ExperimentOut


class CreateExperiment(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    artifact_location: str | None = None
    tags: list[Tag] = []


class CreateExperimentResponse(BaseModel):
    experiment_id: str


class SearchExperiments(BaseModel):
    model_config = ConfigDict(extra="ignore")
    max_results: int | None = Field(default=None, ge=1, le=50_000)
    filter: str | None = None
    view_type: str | None = None
    order_by: list[str] = []
    page_token: str | None = None


class SearchExperimentsResponse(BaseModel):
    experiments: list[ExperimentOut] = []
    next_page_token: str | None = None


def experiment_json(experiment: Experiment) -> dict[str, Any]:
    body: dict[str, Any] = {
        "experiment_id": experiment.experiment_id,
        "name": experiment.name,
        "artifact_location": f"mlflow-artifacts:/{experiment.experiment_id}",
        "lifecycle_stage": "active",
        "creation_time": experiment.creation_time,
        "last_update_time": experiment.last_update_time,
    }
    if experiment.tags:
        body["tags"] = [{"key": k, "value": v} for k, v in experiment.tags.items()]
    return body


@router.get(f"{V2}/get", response_model=ExperimentResponse)
def get_experiment(experiment_id: str, ctx: Ctx) -> Response:
    try:
        found = ctx.client().get_experiment(experiment_id)
    except ResourceNotFound:
        raise ResourceNotFound(f"No Experiment with id={experiment_id} exists") from None
    return ok({"experiment": experiment_json(found)})


@router.get(f"{V2}/get-by-name", response_model=ExperimentResponse)
def get_experiment_by_name(experiment_name: str, ctx: Ctx) -> Response:
    found = ctx.client().get_experiment_by_name(experiment_name)
    if found is None:
        raise ResourceNotFound(f"Could not find experiment with name '{experiment_name}'")
    return ok({"experiment": experiment_json(found)})


@router.post(f"{V2}/create", response_model=CreateExperimentResponse)
def create_experiment(body: CreateExperiment, ctx: Ctx) -> Response:
    ctx.require_writer()
    tags = {t.key: t.value for t in body.tags}
    experiment_id = ctx.client(tags.get("mlflow.user")).create_experiment(body.name, tags or None)
    return ok({"experiment_id": experiment_id})


@router.post(f"{V2}/search", response_model=SearchExperimentsResponse)
def search_experiments(body: SearchExperiments, ctx: Ctx) -> Response:
    if body.view_type == "DELETED_ONLY":
        return ok({})
    found = [e for e in ctx.client().search_experiments() if matches(body.filter, e)]
    offset = _offset(body.page_token)
    limit = body.max_results or 1000
    page = found[offset : offset + limit]
    out: dict[str, Any] = {"experiments": [experiment_json(e) for e in page]}
    if offset + limit < len(found):
        out["next_page_token"] = str(offset + limit)
    return ok(out if page else {})


def _offset(token: str | None) -> int:
    if not token:
        return 0
    if not token.isdigit():
        raise InvalidParameter(f"page_token {token!r} is not a token this search returned")
    return int(token)
