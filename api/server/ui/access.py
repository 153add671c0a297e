"""What the person asking may see and change: pages check reads, and render write controls
only to those who may write."""

from __future__ import annotations

from collections.abc import Iterable

from evalledger.experiments import Experiment
from evalledger.server.context import RequestContext


def may_edit(ctx: RequestContext, experiment_ids: Iterable[str]) -> bool:
    """Whether the caller may change things in one of these experiments (always, when
    authentication is off)."""
    return ctx.principal is None or ctx.principal.may("edit", list(experiment_ids))


def readable_experiment(ctx: RequestContext, experiment_id: str) -> Experiment:
    """The experiment, after the read check (ResourceNotFound, PermissionDenied)."""
    ctx.require_experiment("read", experiment_id)
    return ctx.client().get_experiment(experiment_id)


def readable_experiments(ctx: RequestContext) -> list[Experiment]:
    """Every experiment the caller may read, oldest first."""
    return [
        e for e in ctx.client().search_experiments() if ctx.may_read_experiment(e.experiment_id)
    ]


def experiment_names(ctx: RequestContext) -> dict[str, str]:
    """{experiment id: name} of the experiments the caller may read."""
    return {e.experiment_id: e.name for e in readable_experiments(ctx)}
