"""From selected traces to an evaluation dataset: the page that lists the experiment's
datasets with an Export button each (what the export dialog shows, as a page that works
without JavaScript), creating a dataset, and the export itself: one merge, one commit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from evalledger.client import Client
from evalledger.datasets import commands
from evalledger.datasets.from_traces import records_from_any, with_current_expectations
from evalledger.datasets.records import normalize_records
from evalledger.ledger import InvalidParameter, LedgerError, ResourceNotFound
from evalledger.ledger.memory import gc_paused
from evalledger.server.context import Ctx, RequestContext
from evalledger.server.ui.access import readable_experiment
from evalledger.server.ui.csrf import CsrfChecked
from evalledger.server.ui.display import path_part, plural, with_query
from evalledger.server.ui.html_errors import HtmlRoute, wants_json
from evalledger.server.ui.pages_datasets import experiment_datasets, experiment_datasets_view
from evalledger.server.ui.render import page
from evalledger.server.wire import ok
from evalledger.traces.entities import Trace, check_trace_id
from evalledger.traces.reads import read_traces

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
#: The most traces one export takes (a page of the trace table holds at most 500).
MAX_EXPORT = 5_000

TraceIds = Annotated[list[str], Form(alias="trace_id")]


def _checked_ids(trace_ids: list[str]) -> list[str]:
    if len(trace_ids) > MAX_EXPORT:
        raise InvalidParameter(f"export at most {MAX_EXPORT} traces at once", field="trace_id")
    return list(dict.fromkeys(check_trace_id(t, "trace_id") for t in trace_ids))


def export_page(
    request: Request,
    ctx: RequestContext,
    experiment_id: str,
    trace_ids: list[str],
    *,
    created: str = "",
    create_error: str | None = None,
    name: str = "",
    status: int = 200,
) -> HTMLResponse:
    """The export page for these traces (`created`: the dataset just made, to point out;
    `create_error` and `name` refill the create form)."""
    experiment = readable_experiment(ctx, experiment_id)
    ctx.require_experiment("edit", experiment_id)
    datasets = experiment_datasets(ctx, experiment_id)
    return page(
        request,
        "add_to_dataset.html",
        title="Export traces to evaluation dataset",
        ctx=ctx,
        status=status,
        experiment=experiment,
        section="traces",
        trace_ids=trace_ids,
        datasets=datasets,
        created=next((d for d in datasets if d.dataset_id == created), None),
        create_error=create_error,
        name=name,
    )


@router.get("/experiments/{experiment_id}/add-to-dataset", response_class=HTMLResponse)
def add_to_dataset(
    experiment_id: str,
    request: Request,
    ctx: Ctx,
    trace_ids: Annotated[list[str], Query(alias="trace_id")] = [],  # noqa: B006
    created: str = "",
) -> HTMLResponse:
    """The selected traces and the experiment's datasets, each with an Export button, and
    a form that creates a dataset."""
    return export_page(request, ctx, experiment_id, _checked_ids(trace_ids), created=created)


@router.post("/experiments/{experiment_id}/datasets")
def create_dataset(
    experiment_id: str,
    request: Request,
    ctx: Ctx,
    _: CsrfChecked,
    name: Annotated[str, Form()] = "",
    trace_ids: TraceIds = [],  # noqa: B006
) -> Response:
    """Create a dataset in this experiment. The UI's script gets JSON (and lists the new
    dataset in its dialog); a plain form goes back to the list, the traces still chosen."""
    readable_experiment(ctx, experiment_id)
    ctx.require_experiment("edit", experiment_id)
    selected = _checked_ids(trace_ids)
    try:
        dataset = ctx.client().create_dataset(name.strip(), [experiment_id])
    except LedgerError as exc:  # a name that is empty, too long or taken
        if wants_json(request):
            raise
        if not selected:  # the form of the experiment's datasets page
            return experiment_datasets_view(
                request, ctx, experiment_id, create_error=exc.message, name=name
            )
        return export_page(
            request, ctx, experiment_id, selected, create_error=exc.message, name=name, status=400
        )
    if wants_json(request):
        return ok({"dataset_id": dataset.dataset_id, "name": dataset.name})
    if not selected:
        return RedirectResponse(f"/datasets/{path_part(dataset.dataset_id)}", status_code=303)
    back = with_query(
        f"/experiments/{path_part(experiment_id)}/add-to-dataset",
        trace_id=selected,
        created=dataset.dataset_id,
    )
    return RedirectResponse(back, status_code=303)


def _traces(ctx: RequestContext, trace_ids: list[str]) -> list[Trace]:
    """The traces, in the order chosen, each readable by the caller."""
    with gc_paused(), ctx.store.engine.connect() as conn:
        found = read_traces(conn, trace_ids, ctx.store)
    missing = [t for t in trace_ids if t not in found]
    if missing:
        raise ResourceNotFound(f"there is no trace {', '.join(map(repr, missing[:5]))}")
    for trace in found.values():
        ctx.require_experiment("read", trace.info.experiment_id)
    return [found[t] for t in trace_ids]


def merge_traces(client: Client, dataset_id: str, traces: list[Trace]) -> tuple[int, int]:
    """What `EvaluationDataset.merge_records(traces)` does (records from the traces, with
    their current expectations, in one commit), answering (added, updated)."""
    incoming = normalize_records(records_from_any(traces))
    incoming = with_current_expectations(incoming, client.session)
    return commands.merge(client.session, dataset_id, incoming)


@router.post("/experiments/{experiment_id}/export", response_class=HTMLResponse)
def export(
    experiment_id: str,
    request: Request,
    ctx: Ctx,
    _: CsrfChecked,
    dataset_id: Annotated[str, Form()] = "",
    trace_ids: TraceIds = [],  # noqa: B006
) -> HTMLResponse:
    """Merge the selected traces into the dataset: one new version, and the page says how
    many records were added and updated."""
    experiment = readable_experiment(ctx, experiment_id)
    selected = _checked_ids(trace_ids)
    if not selected:
        raise InvalidParameter("select at least one trace to export", field="trace_id")
    if not dataset_id:
        raise InvalidParameter("choose the dataset to export to", field="dataset_id")
    ctx.require_dataset("edit", dataset_id)
    client = ctx.client()
    dataset = client.get_dataset(dataset_id=dataset_id)
    added, updated = merge_traces(client, dataset_id, _traces(ctx, selected))
    return page(
        request,
        "export_done.html",
        title=f"Exported to {dataset.name}",
        ctx=ctx,
        experiment=experiment,
        section="traces",
        dataset=client.get_dataset(dataset_id=dataset_id),
        summary=f"{plural(added, 'record')} added, {updated:,} updated",
        exported=len(selected),
    )
