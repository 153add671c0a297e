"""An experiment's trace table (filter, sort, keyset pages, selection) and a trace's page
(info, tags, span tree, assessments, the form that logs an expectation)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from evalledger.experiments import Experiment
from evalledger.ledger import InvalidParameter, ResourceNotFound
from evalledger.server.context import Ctx, RequestContext
from evalledger.server.ledger_api_targets import check_text
from evalledger.server.ui import trace_table
from evalledger.server.ui.access import may_edit, readable_experiment
from evalledger.server.ui.display import path_part
from evalledger.server.ui.html_errors import HtmlRoute
from evalledger.server.ui.pages_datasets import experiment_datasets
from evalledger.server.ui.render import page
from evalledger.server.ui.span_tree import span_tree
from evalledger.traces.entities import Trace
from evalledger.traces.search import search_page

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
PAGE_SIZE, MAX_PAGE = 50, 500


@router.get("/experiments/{experiment_id}/traces", response_class=HTMLResponse)
def traces_page(
    experiment_id: str,
    request: Request,
    ctx: Ctx,
    filter_string: Annotated[str, Query(alias="filter")] = "",
    order_by: str = "",
    page_token: str = "",
    max_results: Annotated[int, Query(ge=1, le=MAX_PAGE)] = PAGE_SIZE,
) -> HTMLResponse:
    """The experiment's traces, a page at a time; a filter that does not parse is shown
    next to the box (its message names the position) and the page still renders."""
    experiment = readable_experiment(ctx, experiment_id)
    error = None
    found: list[Trace] = []
    token = None
    try:
        for value, field in ((filter_string, "filter"), (order_by, "order_by")):
            check_text(value, field)
        result = search_page(
            ctx.client().session,
            [experiment_id],
            filter_string if filter_string.strip() else None,  # positions as typed
            [order_by] if order_by.strip() else None,
            max_results,
            page_token or None,
        )
        found, token = list(result), result.token
    except InvalidParameter as exc:
        error = exc.message
    base = f"/experiments/{path_part(experiment_id)}/traces"
    params: dict[str, Any] = {"filter": filter_string}
    if max_results != PAGE_SIZE:
        params["max_results"] = max_results
    paged = {**params, "order_by": order_by}
    writer = may_edit(ctx, [experiment_id])
    return page(
        request,
        "traces.html",
        title=f"Traces of {experiment.name}",
        ctx=ctx,
        status=400 if error else 200,
        experiment=experiment,
        section="traces",
        traces=found,
        filter_string=filter_string,
        order_by=order_by,
        filter_error=error,
        keep={k: v for k, v in paged.items() if k != "filter"},
        sort_time=trace_table.sort_link(base, params, order_by, trace_table.TIME),
        sort_latency=trace_table.sort_link(base, params, order_by, trace_table.LATENCY),
        next_page=None if token is None else {**paged, "page_token": token},
        first_page=paged if page_token else None,
        base=base,
        may_write=writer,
        datasets=experiment_datasets(ctx, experiment_id) if writer else [],
        row=trace_table,
    )


def readable_trace(ctx: RequestContext, trace_id: str) -> Trace:
    """The trace, after the read check on its experiment."""
    trace = ctx.client().get_trace(trace_id)
    ctx.require_experiment("read", trace.info.experiment_id)
    return trace


def experiment_or_none(ctx: RequestContext, experiment_id: str) -> Experiment | None:
    try:
        return ctx.client().get_experiment(experiment_id)
    except ResourceNotFound:
        return None


def trace_page(
    request: Request,
    ctx: RequestContext,
    trace_id: str,
    *,
    status: int = 200,
    form: dict[str, str] | None = None,
    form_error: str | None = None,
) -> HTMLResponse:
    """A trace's page; `form` and `form_error` refill the expectation form after an error."""
    trace = readable_trace(ctx, trace_id)
    experiment_id = trace.info.experiment_id
    return page(
        request,
        "trace.html",
        title=f"Trace {trace.info.trace_id}",
        ctx=ctx,
        status=status,
        experiment=experiment_or_none(ctx, experiment_id),
        section="traces",
        trace=trace,
        spans=span_tree(trace.data.spans),
        may_write=may_edit(ctx, [experiment_id]),
        form=form or {"name": "", "value": "", "value_type": "json"},
        form_error=form_error,
        row=trace_table,
    )


@router.get("/traces/{trace_id:path}", response_class=HTMLResponse)
def trace_detail(trace_id: str, request: Request, ctx: Ctx) -> HTMLResponse:
    try:
        return trace_page(request, ctx, trace_id)
    except InvalidParameter as exc:  # an id that cannot name a trace names none
        raise ResourceNotFound(f"there is no trace {trace_id!r} ({exc.message})") from None
