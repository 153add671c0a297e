"""MLflow's evaluation-dataset routes (v3), as the MLflow 3.17.2 client calls them.

Tags, schema, profile and records travel as JSON strings inside the JSON. Where MLflow's
server answers a bug (duplicate names accepted, records without inputs, a 500 for a bad
filter) this one answers the error (API.md §10).
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from evalledger.datasets import commands, reads
from evalledger.datasets.dataset import EvaluationDataset
from evalledger.datasets.from_traces import with_current_expectations
from evalledger.datasets.records import normalize_records
from evalledger.ledger import InvalidParameter, ResourceNotFound
from evalledger.projections.records import source_id_of
from evalledger.server.context import Ctx, RequestContext
from evalledger.server.wire import ok, parse_json_text

V3 = "/api/3.0/mlflow/datasets"
router = APIRouter(tags=["MLflow evaluation datasets"])
MAX_PAGE = 10_000


class DatasetOut(BaseModel):
    dataset_id: str
    name: str
    tags: str | None = Field(None, description="JSON object, as a string")
    schema_: str | None = Field(None, alias="schema", description="JSON, as a string")
    profile: str | None = Field(None, description="JSON, as a string")
    digest: str
    created_time: int
    last_update_time: int
    created_by: str | None = None
    last_updated_by: str | None = None
    experiment_ids: list[str] = []


class DatasetResponse(BaseModel):
    dataset: DatasetOut


class CreateDataset(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    experiment_ids: list[str] = []
    tags: str | None = Field(None, description="JSON object, as a string")


class SearchDatasets(BaseModel):
    model_config = ConfigDict(extra="ignore")
    experiment_ids: list[str] = []
    filter_string: str | None = None
    max_results: int | None = Field(default=None, ge=1, le=MAX_PAGE)
    order_by: list[str] = []
    page_token: str | None = None


class SearchDatasetsResponse(BaseModel):
    datasets: list[DatasetOut] = []
    next_page_token: str | None = None


class SetTags(BaseModel):
    model_config = ConfigDict(extra="ignore")
    tags: str = Field(description="JSON object, as a string")


class UpsertRecords(BaseModel):
    model_config = ConfigDict(extra="ignore")
    records: str = Field(description="JSON list of records, as a string")


class UpsertRecordsResponse(BaseModel):
    inserted_count: int = 0
    updated_count: int = 0


class RecordsPage(BaseModel):
    records: str = Field(description="JSON list of records, as a string")
    next_page_token: str | None = None


class DeleteRecords(BaseModel):
    model_config = ConfigDict(extra="ignore")
    dataset_record_ids: list[str]


class DeleteRecordsResponse(BaseModel):
    deleted_count: int = 0


class ExperimentIds(BaseModel):
    model_config = ConfigDict(extra="ignore")
    dataset_id: str | None = None
    experiment_ids: list[str] = []


class ExperimentIdsResponse(BaseModel):
    experiment_ids: list[str] = []


def dataset_json(dataset: EvaluationDataset, *, with_experiments: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "dataset_id": dataset.dataset_id,
        "name": dataset.name,
        "tags": orjson.dumps(dataset.tags).decode(),
        "digest": dataset.digest,
        "created_time": dataset.created_time,
        "last_update_time": dataset.last_update_time,
        "created_by": dataset.created_by,
        "last_updated_by": dataset.last_updated_by,
    }
    if dataset.num_records:
        body["schema"] = dataset.schema
        body["profile"] = dataset.profile
    if with_experiments and dataset.experiment_ids:
        body["experiment_ids"] = list(dataset.experiment_ids)
    return body


def _live(ctx: RequestContext, dataset_id: str, action: str, missing: str) -> EvaluationDataset:
    try:
        ctx.require_dataset(action, dataset_id)
        return ctx.client().get_dataset(dataset_id=dataset_id)
    except ResourceNotFound:
        raise ResourceNotFound(missing.format(dataset_id)) from None


def _not_found(dataset_id: str) -> str:
    return f"Evaluation dataset with id '{dataset_id}' not found"


@router.post(f"{V3}/create", response_model=DatasetResponse)
def create_dataset(body: CreateDataset, ctx: Ctx) -> Response:
    tags = parse_json_text(body.tags, "tags", {})
    if not isinstance(tags, dict):
        raise InvalidParameter("tags must be a JSON object", field="tags")
    experiment_ids = body.experiment_ids or ["0"]
    ctx.require_experiments("edit", experiment_ids)
    user = tags.get("mlflow.user") if isinstance(tags.get("mlflow.user"), str) else None
    dataset = ctx.client(user).create_dataset(body.name, experiment_ids, tags)
    return ok({"dataset": dataset_json(dataset, with_experiments=True)})


@router.get(V3 + "/{dataset_id}", response_model=DatasetResponse)
def get_dataset(dataset_id: str, ctx: Ctx) -> Response:
    dataset = _live(ctx, dataset_id, "read", "Evaluation dataset with id '{}' not found")
    return ok({"dataset": dataset_json(dataset)})


@router.delete(V3 + "/{dataset_id}")
def delete_dataset(dataset_id: str, ctx: Ctx) -> Response:
    """Idempotent, as MLflow's: a missing or already deleted dataset is 200 too."""
    try:
        ctx.require_dataset("edit", dataset_id)
        ctx.client().delete_dataset(dataset_id=dataset_id)
    except ResourceNotFound:
        pass
    return ok()


@router.post(f"{V3}/search", response_model=SearchDatasetsResponse)
def search_datasets(body: SearchDatasets, ctx: Ctx) -> Response:
    page = ctx.client().search_datasets(
        experiment_ids=body.experiment_ids or None,
        filter_string=body.filter_string or None,
        max_results=body.max_results,
        order_by=body.order_by or None,
        page_token=body.page_token or None,
    )
    if not page:
        return ok({})
    out: dict[str, Any] = {"datasets": [dataset_json(d) for d in page]}
    if page.token:
        out["next_page_token"] = page.token
    return ok(out)


@router.patch(V3 + "/{dataset_id}/tags")
def set_dataset_tags(dataset_id: str, body: SetTags, ctx: Ctx) -> Response:
    tags = parse_json_text(body.tags, "tags", {})
    if not isinstance(tags, dict):
        raise InvalidParameter("tags must be a JSON object", field="tags")
    _live(ctx, dataset_id, "edit", "Could not find evaluation dataset with ID {}")
    ctx.client().set_dataset_tags(dataset_id, tags)
    return ok()


@router.delete(V3 + "/{dataset_id}/tags/{key:path}")
def delete_dataset_tag(dataset_id: str, key: str, ctx: Ctx) -> Response:
    _live(ctx, dataset_id, "edit", "Could not find evaluation dataset with ID {}")
    ctx.client().delete_dataset_tag(dataset_id, key)
    return ok()


def _claimed_user(records: list[Any]) -> str | None:
    for record in records[:1]:
        tags = record.get("tags") if isinstance(record, dict) else None
        if isinstance(tags, dict) and isinstance(tags.get("mlflow.user"), str):
            return tags["mlflow.user"]
    return None


@router.post(V3 + "/{dataset_id}/records", response_model=UpsertRecordsResponse)
def upsert_records(dataset_id: str, body: UpsertRecords, ctx: Ctx) -> Response:
    """Merge records: one commit, one version; a record with the same inputs is updated."""
    records = parse_json_text(body.records, "records")
    if not isinstance(records, list):
        raise InvalidParameter("records must be a JSON list of records", field="records")
    ctx.require_dataset("edit", dataset_id)
    session = ctx.client(_claimed_user(records)).session
    incoming = with_current_expectations(normalize_records(records), session)
    try:
        inserted, updated = commands.merge(session, dataset_id, incoming)
    except ResourceNotFound:
        raise ResourceNotFound(_not_found(dataset_id)) from None
    return ok({"inserted_count": inserted, "updated_count": updated})


def _record_json(dataset_id: str, row: Any, body: dict[str, Any]) -> dict[str, Any]:
    out = {
        "dataset_record_id": row.record_id,
        "dataset_id": dataset_id,
        "inputs": body["inputs"],
        "expectations": body["expectations"],
        "tags": body["tags"],
        "source": body["source"],
        "source_type": row.source_type,
        "created_time": row.created_time,
        "last_update_time": row.last_update_time,
        "created_by": row.created_by,
        "last_updated_by": row.last_updated_by,
    }
    source_id = source_id_of(body["source"])
    if source_id is not None:
        out["source_id"] = source_id
    if body["outputs"] is not None:
        out["outputs"] = body["outputs"]
    return out


def _after_seq(token: str | None) -> int:
    if not token:
        return -1
    try:
        after = orjson.loads(base64.urlsafe_b64decode(token.encode()))["after_seq"]
    except Exception:
        after = None
    if not isinstance(after, int) or isinstance(after, bool) or after < -1:
        raise InvalidParameter(f"page_token {token!r} is not a token this listing returned")
    return after


@router.get(V3 + "/{dataset_id}/records", response_model=RecordsPage)
def list_records(
    dataset_id: str,
    ctx: Ctx,
    max_results: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1000,
    page_token: str | None = None,
) -> Response:
    """The current records in creation order, a page at a time (keyset paging)."""
    after = _after_seq(page_token)
    _live(ctx, dataset_id, "read", "Evaluation dataset with id '{}' not found")
    with ctx.store.engine.connect() as conn:
        rows = reads.record_page(conn, dataset_id, after, max_results + 1)
    more = len(rows) > max_results
    rows = rows[:max_results]
    bodies = reads.decode_bodies(rows)
    records = [_record_json(dataset_id, r, b) for r, b in zip(rows, bodies, strict=True)]
    out: dict[str, Any] = {"records": orjson.dumps(records).decode()}
    if more:
        token = orjson.dumps({"after_seq": rows[-1].seq})
        out["next_page_token"] = base64.urlsafe_b64encode(token).decode()
    return ok(out)


@router.delete(V3 + "/{dataset_id}/records", response_model=DeleteRecordsResponse)
def delete_records(dataset_id: str, body: DeleteRecords, ctx: Ctx) -> Response:
    _live(ctx, dataset_id, "edit", "Evaluation dataset with id '{}' not found")
    deleted = commands.delete_records(ctx.client().session, dataset_id, body.dataset_record_ids)
    return ok({"deleted_count": deleted})


@router.get(V3 + "/{dataset_id}/experiment-ids", response_model=ExperimentIdsResponse)
def get_experiment_ids(dataset_id: str, ctx: Ctx) -> Response:
    dataset = _live(ctx, dataset_id, "read", "Evaluation dataset with id '{}' not found")
    return ok({"experiment_ids": list(dataset.experiment_ids)} if dataset.experiment_ids else {})


@router.post(V3 + "/{dataset_id}/add-experiments", response_model=DatasetResponse)
def add_experiments(dataset_id: str, body: ExperimentIds, ctx: Ctx) -> Response:
    _live(ctx, dataset_id, "edit", "Evaluation dataset with id '{}' not found")
    ctx.require_experiments("edit", body.experiment_ids)
    client = ctx.client()
    client.add_dataset_to_experiments(dataset_id, body.experiment_ids)
    return ok({"dataset": dataset_json(client.get_dataset(dataset_id=dataset_id))})


@router.post(V3 + "/{dataset_id}/remove-experiments", response_model=DatasetResponse)
def remove_experiments(dataset_id: str, body: ExperimentIds, ctx: Ctx) -> Response:
    _live(ctx, dataset_id, "edit", "Evaluation dataset with id '{}' not found")
    ctx.require_experiments("edit", body.experiment_ids)
    client = ctx.client()
    client.remove_dataset_from_experiments(dataset_id, body.experiment_ids)
    return ok({"dataset": dataset_json(client.get_dataset(dataset_id=dataset_id))})
