"""Datasets in evalledger's own API: the list, one dataset (now or as a snapshot), its
history, diffs, restore, provenance and undelete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from evalledger.server.context import Ctx, RequestContext
from evalledger.server.ledger_api_json import (
    detail_json,
    diff_json,
    history_json,
    provenance_json,
    summary_json,
)
from evalledger.server.ledger_api_models import (
    DatasetList,
    DatasetResponse,
    DatasetSummaryResponse,
    DiffOut,
    History,
    Provenance,
    RestoreRequest,
    RestoreResponse,
)
from evalledger.server.ledger_api_records import AsOfParam, LabelParam, VersionParam
from evalledger.server.ledger_api_targets import (
    check_text,
    open_target,
    version_number,
    version_ref,
)
from evalledger.server.wire import ok

BASE = "/api/evalledger/v1/datasets"
router = APIRouter(tags=["evalledger datasets"])
MAX_LIST, MAX_DIFF = 50_000, 50_000


def _may_read(ctx: RequestContext, experiment_ids: list[str]) -> bool:
    return ctx.principal is None or ctx.principal.may("read", experiment_ids)


@router.get(BASE, response_model=DatasetList)
def list_datasets(
    ctx: Ctx,
    filter_string: Annotated[
        str | None, Query(alias="filter", description="the search_datasets grammar")
    ] = None,
    experiment_id: Annotated[list[str] | None, Query(description="repeatable")] = None,
    order_by: Annotated[list[str] | None, Query(description="e.g. `name ASC`")] = None,
    include_deleted: bool = False,
    max_results: Annotated[int | None, Query(ge=1, le=MAX_LIST)] = None,
    page_token: str | None = None,
) -> Response:
    """Datasets matching a filter (deleted ones too with include_deleted), newest first."""
    for field, values in (
        ("filter", [filter_string or ""]),
        ("experiment_id", experiment_id or []),
        ("order_by", order_by or []),
    ):
        for value in values:
            check_text(value, field)
    page = ctx.client().search_datasets(
        experiment_ids=experiment_id or None,
        filter_string=filter_string or None,
        max_results=max_results,
        order_by=order_by or None,
        page_token=page_token or None,
        include_deleted=include_deleted,
    )
    out: dict[str, Any] = {
        "datasets": [summary_json(d) for d in page if _may_read(ctx, d.experiment_ids)]
    }
    if page.token:
        out["next_page_token"] = page.token
    return ok(out)


@router.get(BASE + "/{dataset_id}", response_model=DatasetResponse)
def get_dataset(
    dataset_id: str,
    ctx: Ctx,
    version: VersionParam = None,
    label: LabelParam = None,
    as_of: AsOfParam = None,
    include_schema: Annotated[
        bool, Query(description="false skips the schema, which reads every record")
    ] = True,
) -> Response:
    """A dataset's metadata now (a deleted one too), or a snapshot's."""
    target = open_target(ctx, dataset_id, "read", version=version, label=label, as_of=as_of)
    detail = detail_json(target.dataset, target.now, with_schema=include_schema)
    return ok({"dataset": detail})


@router.get(BASE + "/{dataset_id}/history", response_model=History)
def get_history(dataset_id: str, ctx: Ctx) -> Response:
    """Every version, oldest first: who, when, what, counts, digest, labels."""
    now = open_target(ctx, dataset_id, "read").now
    return ok(history_json(now, now.history()))


@router.get(BASE + "/{dataset_id}/diff", response_model=DiffOut)
def get_diff(
    dataset_id: str,
    ctx: Ctx,
    from_version: Annotated[str, Query(description="a version number or label")],
    to_version: Annotated[str | None, Query(description="default: the latest")] = None,
    max_results: Annotated[int, Query(ge=1, le=MAX_DIFF)] = 1000,
) -> Response:
    """Records added, removed and changed (with field paths) from one version to another."""
    now = open_target(ctx, dataset_id, "read").now
    start = version_number(now, version_ref(from_version, "from_version"), "from_version")
    end = (
        now.version
        if to_version is None
        else version_number(now, version_ref(to_version, "to_version"), "to_version")
    )
    return ok(diff_json(dataset_id, now.diff(start, end), max_results))


@router.post(BASE + "/{dataset_id}/restore", response_model=RestoreResponse)
def restore(
    dataset_id: str,
    body: RestoreRequest,
    ctx: Ctx,
    version: VersionParam = None,
    label: LabelParam = None,
    as_of: AsOfParam = None,
) -> Response:
    """A new version whose content equals the version named in the body. A snapshot (a
    version, label or as_of in the query) is read-only: 400 INVALID_STATE."""
    target = open_target(ctx, dataset_id, "edit", version=version, label=label, as_of=as_of)
    source = version_number(target.now, body.version, "version")
    before = target.dataset.version
    restored = target.dataset.restore(source)
    return ok(
        {
            "dataset": summary_json(restored),
            "restored_from": source,
            "changed": restored.version != before,
        }
    )


@router.get(BASE + "/{dataset_id}/provenance", response_model=Provenance)
def get_provenance(
    dataset_id: str,
    ctx: Ctx,
    version: VersionParam = None,
    label: LabelParam = None,
    as_of: AsOfParam = None,
) -> Response:
    """Counts of records by source type, and the trace ids of TRACE records."""
    target = open_target(ctx, dataset_id, "read", version=version, label=label, as_of=as_of)
    return ok(provenance_json(target.dataset, target.dataset.provenance()))


@router.post(BASE + "/{dataset_id}/undelete", response_model=DatasetSummaryResponse)
def undelete(dataset_id: str, ctx: Ctx) -> Response:
    """A deleted dataset back, as a new version with the content it had when deleted."""
    target = open_target(ctx, dataset_id, "edit")
    return ok({"dataset": summary_json(target.client.undelete_dataset(dataset_id))})
