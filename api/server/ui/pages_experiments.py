"""The experiments table (`/`, `/experiments`) and one experiment's overview."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from evalledger.projections.schema import dataset_experiments, datasets, traces
from evalledger.server.context import Ctx
from evalledger.server.ui.access import readable_experiment, readable_experiments
from evalledger.server.ui.html_errors import HtmlRoute
from evalledger.server.ui.render import page

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
@router.get("/experiments", response_class=HTMLResponse)
def experiments_page(request: Request, ctx: Ctx) -> HTMLResponse:
    """Every experiment the caller may read; a name opens the experiment."""
    return page(
        request,
        "experiments.html",
        title="Experiments",
        ctx=ctx,
        section="experiments",
        experiments=readable_experiments(ctx),
    )


@router.get("/experiments/{experiment_id}", response_class=HTMLResponse)
def experiment_page(experiment_id: str, request: Request, ctx: Ctx) -> HTMLResponse:
    """An experiment: its details, how many traces and datasets it has."""
    experiment = readable_experiment(ctx, experiment_id)
    with ctx.store.engine.connect() as conn:
        num_traces = conn.execute(
            sa.select(sa.func.count()).where(traces.c.experiment_id == experiment_id)
        ).scalar_one()
        num_datasets = conn.execute(
            sa.select(sa.func.count())
            .select_from(
                dataset_experiments.join(
                    datasets, datasets.c.dataset_id == dataset_experiments.c.dataset_id
                )
            )
            .where(
                dataset_experiments.c.experiment_id == experiment_id,
                datasets.c.deleted.is_(False),
            )
        ).scalar_one()
    return page(
        request,
        "experiment.html",
        title=experiment.name,
        ctx=ctx,
        experiment=experiment,
        section="overview",
        num_traces=num_traces,
        num_datasets=num_datasets,
    )
