"""The datasets list (search box, pages), an experiment's datasets, and a dataset's page
(details and its records, a keyset page at a time, now or at a past version)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from evalledger.datasets import reads
from evalledger.datasets.dataset import EvaluationDataset
from evalledger.datasets.entities import DatasetRecord, record_from_row
from evalledger.ledger import InvalidParameter
from evalledger.server.context import Ctx, RequestContext
from evalledger.server.ledger_api_paging import current_page, read_token, snapshot_page
from evalledger.server.ledger_api_targets import check_text, open_target
from evalledger.server.ui.access import experiment_names, may_edit, readable_experiment
from evalledger.server.ui.dataset_panels import dataset_panels
from evalledger.server.ui.display import path_part
from evalledger.server.ui.html_errors import HtmlRoute
from evalledger.server.ui.render import page

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
LIST_PAGE, RECORDS_PAGE, MAX_PAGE = 50, 50, 1000
EXPERIMENT_DATASETS = 1000


def search(
    ctx: RequestContext,
    experiment_ids: list[str] | None,
    filter_string: str,
    page_token: str,
    max_results: int,
    order_by: list[str] | None = None,
) -> tuple[list[EvaluationDataset], str | None, str | None]:
    """(datasets the caller may read, next page token, the error of a bad filter)."""
    try:
        check_text(filter_string, "filter")
        check_text(page_token, "page_token")
        found = ctx.client().search_datasets(
            experiment_ids=experiment_ids,
            filter_string=filter_string if filter_string.strip() else None,
            max_results=max_results,
            order_by=order_by,
            page_token=page_token or None,
        )
    except InvalidParameter as exc:
        return [], None, exc.message
    readable = [
        d for d in found if ctx.principal is None or ctx.principal.may("read", d.experiment_ids)
    ]
    return readable, found.token, None


def experiment_datasets(ctx: RequestContext, experiment_id: str) -> list[EvaluationDataset]:
    """The experiment's live datasets by name (the first EXPERIMENT_DATASETS of them), as
    the export dialog lists them."""
    found, _, _ = search(ctx, [experiment_id], "", "", EXPERIMENT_DATASETS, ["name ASC"])
    return found


@router.get("/datasets", response_class=HTMLResponse)
def datasets_page(
    request: Request,
    ctx: Ctx,
    filter_string: Annotated[str, Query(alias="filter")] = "",
    page_token: str = "",
) -> HTMLResponse:
    """Every dataset, newest first, with a search box in the search_datasets grammar."""
    found, token, error = search(ctx, None, filter_string, page_token, LIST_PAGE)
    return page(
        request,
        "datasets.html",
        title="Datasets",
        ctx=ctx,
        status=400 if error else 200,
        section="datasets",
        datasets=found,
        experiment_names=experiment_names(ctx),
        filter_string=filter_string,
        filter_error=error,
        base="/datasets",
        next_page=None if token is None else {"filter": filter_string, "page_token": token},
        first_page={"filter": filter_string} if page_token else None,
        create_action=None,
        create_error=None,
        name="",
    )


@router.get("/experiments/{experiment_id}/datasets", response_class=HTMLResponse)
def experiment_datasets_page(
    experiment_id: str,
    request: Request,
    ctx: Ctx,
    filter_string: Annotated[str, Query(alias="filter")] = "",
    page_token: str = "",
) -> HTMLResponse:
    """The experiment's datasets, and (for those who may) a form that creates one."""
    return experiment_datasets_view(request, ctx, experiment_id, filter_string, page_token)


def experiment_datasets_view(
    request: Request,
    ctx: RequestContext,
    experiment_id: str,
    filter_string: str = "",
    page_token: str = "",
    *,
    create_error: str | None = None,
    name: str = "",
) -> HTMLResponse:
    """The experiment's datasets page; `create_error` and `name` refill the create form."""
    experiment = readable_experiment(ctx, experiment_id)
    found, token, error = search(ctx, [experiment_id], filter_string, page_token, LIST_PAGE)
    base = f"/experiments/{path_part(experiment_id)}/datasets"
    return page(
        request,
        "datasets.html",
        title=f"Datasets of {experiment.name}",
        ctx=ctx,
        status=400 if error or create_error else 200,
        experiment=experiment,
        section="experiment-datasets",
        datasets=found,
        experiment_names=experiment_names(ctx),
        filter_string=filter_string,
        filter_error=error,
        base=base,
        next_page=None if token is None else {"filter": filter_string, "page_token": token},
        first_page={"filter": filter_string} if page_token else None,
        create_action=base if may_edit(ctx, [experiment_id]) else None,
        create_error=create_error,
        name=name,
    )


def _records(
    target: Any, dataset_id: str, page_token: str, limit: int
) -> tuple[list[DatasetRecord], str | None]:
    """A page of the target's records (current, or at its snapshot's version)."""
    start = read_token(page_token or None)
    at = target.record_version
    with target.client.session.connect() as conn:
        if at is None:
            rows, following = current_page(conn, dataset_id, start, limit)
        else:
            count = target.dataset.num_records
            rows, following = snapshot_page(conn, dataset_id, at, count, start, limit)
    sources: dict[Any, Any] = {}
    records = [
        record_from_row(dataset_id, row, body, sources)
        for row, body in zip(rows, reads.decode_bodies(rows), strict=True)
    ]
    return records, None if following is None else following.token()


@router.get("/datasets/{dataset_id}", response_class=HTMLResponse)
def dataset_page(
    dataset_id: str,
    request: Request,
    ctx: Ctx,
    version: Annotated[int | None, Query(ge=0)] = None,
    page_token: str = "",
    max_results: Annotated[int, Query(ge=1, le=MAX_PAGE)] = RECORDS_PAGE,
) -> HTMLResponse:
    """A dataset: name, version, digest, tags, profile, and its records, with the panels
    of dataset_panels (chart, provenance, schema: this one only for smaller datasets)."""
    target = open_target(ctx, dataset_id, "read", version=version)
    dataset = target.dataset
    records, token = _records(target, dataset_id, page_token, max_results)
    base = f"/datasets/{path_part(dataset_id)}"
    params: dict[str, Any] = {"version": version}
    if max_results != RECORDS_PAGE:
        params["max_results"] = max_results
    return page(
        request,
        "dataset.html",
        title=dataset.name,
        ctx=ctx,
        section="datasets",
        dataset=dataset,
        experiment_names=experiment_names(ctx),
        latest_version=target.now.version,
        labels=target.now.version_labels(),
        profile=orjson.loads(dataset.profile),
        records=records,
        base=base,
        next_page=None if token is None else {**params, "page_token": token},
        first_page=params if page_token else None,
        tab="records",
        **dataset_panels(ctx, target),
    )
