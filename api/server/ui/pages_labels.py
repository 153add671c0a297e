"""A dataset's version labels: where each points now, the form that sets or moves one
(EvaluationDataset.label_version, as the acting user: each move is an event, not a new
version), and every move (label, from, to, who, when)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from evalledger.datasets.labels import check_label
from evalledger.ledger import LedgerError
from evalledger.server.context import Ctx, RequestContext
from evalledger.server.ledger_api_labels import label_moves
from evalledger.server.ledger_api_targets import (
    Target,
    check_text,
    open_target,
    version_number,
    version_ref,
)
from evalledger.server.ui.csrf import CsrfChecked
from evalledger.server.ui.dataset_panels import may_change, tab_page, versions
from evalledger.server.ui.display import path_part, with_query
from evalledger.server.ui.html_errors import HtmlRoute

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)


def labels_view(
    request: Request,
    ctx: RequestContext,
    target: Target,
    *,
    saved: str = "",
    form: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The labels page; `form` and `error` refill the form after a refused change."""
    now = target.now
    with target.client.session.connect() as conn:
        moves = label_moves(conn, now.dataset_id)
    labels = now.version_labels()
    notice = None
    if saved and saved in labels:
        notice = f"Label {saved} now points to version {labels[saved]}."
    return tab_page(
        request,
        ctx,
        "labels_page.html",
        target,
        "labels",
        status=status,
        labels=labels,
        moves=list(reversed(moves)),
        rows=list(reversed(versions(now))),
        notice=notice,
        form=form or {"label": "", "version": str(now.version)},
        error=error,
    )


@router.get("/datasets/{dataset_id}/labels", response_class=HTMLResponse)
def labels_page(dataset_id: str, request: Request, ctx: Ctx, saved: str = "") -> HTMLResponse:
    """Where each label points, the form that sets or moves one, and every move."""
    return labels_view(request, ctx, open_target(ctx, dataset_id, "read"), saved=saved)


@router.get("/datasets/{dataset_id}/labels/{label:path}")
def labelled_version(dataset_id: str, label: str, ctx: Ctx) -> Response:
    """The version a label points to, read-only (a link that follows the label)."""
    target = open_target(ctx, dataset_id, "read")
    number = version_number(target.now, check_text(label, "label"), "label")
    return RedirectResponse(f"/datasets/{path_part(dataset_id)}?version={number}", status_code=303)


@router.post("/datasets/{dataset_id}/labels", response_class=HTMLResponse)
def set_label(
    dataset_id: str,
    request: Request,
    ctx: Ctx,
    _: CsrfChecked,
    label: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
) -> Response:
    """Set a label on a version, or move it there; a refused change is said on the page
    (400 or 404) and writes nothing."""
    target = open_target(ctx, dataset_id, "edit")
    name = label.strip()
    try:
        check_label(check_text(name, "label"))
        number = version_number(
            target.now, version_ref(check_text(version, "version"), "version"), "version"
        )
        target.client.get_dataset(dataset_id=dataset_id).label_version(name, number)
    except LedgerError as exc:
        if not may_change(ctx, target):  # no form to say it in (a deleted dataset)
            raise
        status = 404 if exc.error_code == "RESOURCE_DOES_NOT_EXIST" else 400
        form = {"label": label, "version": version}
        return labels_view(request, ctx, target, form=form, error=exc.message, status=status)
    back = with_query(f"/datasets/{path_part(dataset_id)}/labels", saved=name)
    return RedirectResponse(back, status_code=303)
