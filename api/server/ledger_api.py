"""evalledger's own JSON API under /api/evalledger/v1/ (API.md §10): what the web UI and
scripts read and do beyond MLflow's routes (history, snapshots by version, label or
instant, diff, restore, labels, record history, provenance, undelete, verify).

The routes live by subject in ledger_api_datasets, ledger_api_records and
ledger_api_labels; this module gathers them into one router and serves verify.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from evalledger.ledger import LedgerError, verify_chain
from evalledger.projections.rebuild import check_projections
from evalledger.server import ledger_api_datasets, ledger_api_labels, ledger_api_records
from evalledger.server.context import Ctx
from evalledger.server.ledger_api_models import VerifyReportOut
from evalledger.server.wire import ok

PREFIX = "/api/evalledger/v1"
router = APIRouter()
router.include_router(ledger_api_datasets.router)
router.include_router(ledger_api_records.router)
router.include_router(ledger_api_labels.router)


@router.get(PREFIX + "/verify", response_model=VerifyReportOut, tags=["evalledger ledger"])
def verify(ctx: Ctx, projections: bool = True) -> Response:
    """The hash chain walked event by event, then (unless projections=false) every
    projection row compared with a fresh replay. A broken ledger is a report (200 with
    ok=false and the problems), not an error."""
    chain = verify_chain(ctx.store.engine)
    out: dict[str, Any] = {
        "ok": chain.ok,
        "events_checked": chain.events_checked,
        "head_position": chain.head_position,
        "head_hash": chain.head_hash,
        "first_bad_position": chain.first_bad_position,
        "problems": [] if chain.problem is None else [chain.problem],
        "projections_checked": False,
        "rows_compared": None,
    }
    if chain.ok and projections:
        try:
            report = check_projections(ctx.store)
        except LedgerError as exc:  # a replay that cannot read an event is a finding too
            out["problems"].append(f"the projections could not be replayed: {exc.message}")
        else:
            out["rows_compared"] = report.rows_compared
            if report.difference is not None:
                out["problems"].append(report.difference)
        out["projections_checked"] = True
        out["ok"] = not out["problems"]
    return ok(out)
