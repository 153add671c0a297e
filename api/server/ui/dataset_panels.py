"""What the dataset pages share: who may change the dataset, its versions (as the JSON
API's history gives them), and the panels of the dataset page: the chart of its record
count, provenance by source type, the schema."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from fastapi import Request
from fastapi.responses import HTMLResponse

from evalledger.datasets.dataset import EvaluationDataset
from evalledger.projections.schema import dataset_records, valid_at
from evalledger.server.context import RequestContext
from evalledger.server.ledger_api_json import history_json
from evalledger.server.ledger_api_targets import Target
from evalledger.server.ui import chart
from evalledger.server.ui.access import may_edit
from evalledger.server.ui.display import path_part
from evalledger.server.ui.render import page

#: The schema reads every record: beyond this many it is left to the JSON API.
SCHEMA_MAX_RECORDS = 10_000
#: How many trace ids the provenance panel lists.
SHOWN_TRACES = 50


def may_change(ctx: RequestContext, target: Target) -> bool:
    """Whether this page may show write controls: the dataset as it is now (not a past
    version, not deleted), to someone who may edit one of its experiments."""
    return (
        not target.dataset.is_snapshot
        and not target.now.is_deleted
        and may_edit(ctx, target.now.experiment_ids)
    )


def may_undelete(ctx: RequestContext, target: Target) -> bool:
    return target.now.is_deleted and may_edit(ctx, target.now.experiment_ids)


def versions(now: EvaluationDataset) -> list[dict[str, Any]]:
    """Every version, oldest first (version, timestamp, user, operation, source_version,
    counts, num_records, digest, labels), as /api/evalledger/v1/.../history answers."""
    return history_json(now, now.history())["versions"]


@dataclass(frozen=True)
class Provenance:
    """Records by source type, and some of the traces that TRACE records came from."""

    counts: dict[str, int]
    trace_ids: list[str]
    more_traces: bool


def provenance(target: Target) -> Provenance:
    """From the profile (counts) and one bounded read (trace ids): cheap at any size."""
    dataset = target.dataset
    counts = dict(sorted(orjson.loads(dataset.profile).get("source_types", {}).items()))
    ids: list[str] = []
    if counts.get("TRACE"):
        c = dataset_records.c
        query = (
            sa.select(c.source_id)
            .where(
                c.dataset_id == dataset.dataset_id,
                valid_at(target.record_version),
                c.source_type == "TRACE",
                c.source_id.is_not(None),
            )
            .limit(SHOWN_TRACES * 4)
        )
        with target.client.session.connect() as conn:
            ids = list(dict.fromkeys(conn.execute(query).scalars()))
    return Provenance(counts, ids[:SHOWN_TRACES], len(ids) > SHOWN_TRACES)


def schema_rows(dataset: EvaluationDataset) -> list[tuple[str, str, str]] | None:
    """(part, field, type) of the schema; None when the dataset is too large to read here."""
    if dataset.num_records > SCHEMA_MAX_RECORDS:
        return None
    schema = orjson.loads(dataset.schema)
    return [
        (part, field, kind)
        for part in ("inputs", "outputs", "expectations")
        for field, kind in sorted(schema.get(part, {}).items())
    ]


def dataset_panels(ctx: RequestContext, target: Target) -> dict[str, Any]:
    """The values the dataset page's own panels and controls need."""
    dataset = target.dataset
    return {
        "chart": chart.records_chart(versions(target.now), dataset.version),
        "provenance": provenance(target),
        "schema_rows": schema_rows(dataset),
        "schema_limit": SCHEMA_MAX_RECORDS,
        "now": target.now,
        "may_change": may_change(ctx, target),
        "may_undelete": may_undelete(ctx, target),
    }


def tab_page(
    request: Request,
    ctx: RequestContext,
    template: str,
    target: Target,
    tab: str,
    *,
    status: int = 200,
    **values: Any,
) -> HTMLResponse:
    """One of the dataset's tabs (History, Diff, Labels, a record), in the layout."""
    dataset = target.dataset
    return page(
        request,
        template,
        title=dataset.name,
        ctx=ctx,
        status=status,
        section="datasets",
        dataset=dataset,
        now=target.now,
        tab=tab,
        ds_base=f"/datasets/{path_part(dataset.dataset_id)}",
        may_change=may_change(ctx, target),
        may_undelete=may_undelete(ctx, target),
        **values,
    )
