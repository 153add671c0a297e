"""A dataset's past: its History (every version: who, when, what, counts, digest, labels),
the Diff between any two versions, Restore of a version (after a confirmation: a dialog
with the UI's script, a page without it), and Undelete of a deleted dataset.

Every write goes through the library (EvaluationDataset.restore, undelete_dataset) as the
acting user, then back to the History, which says what the new version did."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from evalledger.ledger import InvalidParameter, LedgerError
from evalledger.server.context import Ctx
from evalledger.server.ledger_api_json import diff_json
from evalledger.server.ledger_api_targets import (
    check_text,
    open_target,
    version_number,
    version_ref,
)
from evalledger.server.ui import chart
from evalledger.server.ui.csrf import CsrfChecked
from evalledger.server.ui.dataset_panels import tab_page, versions
from evalledger.server.ui.display import path_part, plural, with_query
from evalledger.server.ui.html_errors import HtmlRoute

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
#: A diff page lists at most this many records of each kind (the JSON API has them all).
DIFF_SHOWN = 200
#: The History lists this many versions a page, newest first.
HISTORY_SHOWN = 200
#: The value of the field that says a confirmation was given.
CONFIRMED = "yes"

_DOING = {
    "CREATE": "created the dataset",
    "MERGE": "merged records",
    "DELETE_RECORDS": "deleted records",
    "SET_TAGS": "set tags",
    "DELETE_TAG": "deleted a tag",
    "LINK_EXPERIMENTS": "linked experiments",
    "UNLINK_EXPERIMENTS": "unlinked experiments",
    "DELETE": "deleted the dataset",
    "UNDELETE": "undeleted the dataset",
}


def history_url(dataset_id: str, **params: Any) -> str:
    return with_query(f"/datasets/{path_part(dataset_id)}/history", **params)


def what_it_did(row: dict[str, Any]) -> str:
    """A version's operation in words: ``restored version 1``, ``merged records``."""
    if row["operation"] == "RESTORE" and row["source_version"] is not None:
        return f"restored version {row['source_version']}"
    return _DOING.get(row["operation"], row["operation"].lower().replace("_", " "))


def saved_notice(rows: list[dict[str, Any]], saved: int | None) -> str | None:
    """What the version just written did, read from the history itself."""
    by_version = {r["version"]: r for r in rows}
    row = by_version.get(saved) if saved is not None else None
    if row is None:
        return None
    counts = (
        f"{row['records_added']:,} added, {row['records_updated']:,} updated, "
        f"{row['records_deleted']:,} deleted"
    )
    text = (
        f"Version {row['version']}: {row['user']} {what_it_did(row)} ({counts}); the dataset "
        f"now has {plural(row['num_records'], 'record')}."
    )
    source = by_version.get(row["source_version"])
    if row["operation"] == "RESTORE" and source is not None:
        same = "equals" if source["digest"] == row["digest"] else "differs from"
        text += f" Its digest {same} version {source['version']}'s."
    return text


@router.get("/datasets/{dataset_id}/history", response_class=HTMLResponse)
def history_page(
    dataset_id: str,
    request: Request,
    ctx: Ctx,
    saved: Annotated[int | None, Query(ge=0)] = None,
    same_as: Annotated[int | None, Query(ge=0)] = None,
    nothing_deleted: bool = False,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """Every version, newest first (HISTORY_SHOWN a page, `before` pages back), with a
    Restore button on the past ones (for those who may change the dataset) and a Diff
    link to the version before."""
    target = open_target(ctx, dataset_id, "read")
    rows = versions(target.now)
    newest_first = [r for r in reversed(rows) if before is None or r["version"] < before]
    page_rows = newest_first[:HISTORY_SHOWN]
    older = page_rows[-1]["version"] if len(newest_first) > HISTORY_SHOWN else None
    notice = saved_notice(rows, saved)
    if same_as is not None:
        notice = f"The dataset already equals version {same_as}: nothing was written."
    if nothing_deleted:
        notice = "None of those records is in the dataset now: nothing was written."
    return tab_page(
        request,
        ctx,
        "history_page.html",
        target,
        "history",
        rows=page_rows,
        num_versions=len(rows),
        older=None if older is None else history_url(dataset_id, before=older),
        newest=history_url(dataset_id) if before is not None else None,
        chart=chart.records_chart(rows, target.now.version),
        notice=notice,
        what_it_did=what_it_did,
    )


def has_path(value: Any, path: str) -> bool:
    """Whether the dotted JSON path exists in the value (a null value exists too)."""
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return True


def with_presence(result: dict[str, Any]) -> dict[str, Any]:
    """The JSON API's diff, each changed field told whether it exists before and after
    (a field added or removed shows as absent, not as null)."""
    for change in result["changed"]:
        for field in change["fields"]:
            field["in_before"] = has_path(change["before"], field["path"])
            field["in_after"] = has_path(change["after"], field["path"])
    return result


def _diff_versions(now: Any, from_text: str, to_text: str) -> tuple[int, int]:
    """The two versions asked for (numbers or labels); by default the latest and the one
    before it."""
    latest = now.version
    start = (
        version_number(now, version_ref(check_text(from_text, "from"), "from"), "from")
        if from_text
        else max(latest - 1, 0)
    )
    end = (
        version_number(now, version_ref(check_text(to_text, "to"), "to"), "to")
        if to_text
        else latest
    )
    return start, end


@router.get("/datasets/{dataset_id}/diff", response_class=HTMLResponse)
def diff_page(
    dataset_id: str,
    request: Request,
    ctx: Ctx,
    from_text: Annotated[str, Query(alias="from")] = "",
    to_text: Annotated[str, Query(alias="to")] = "",
) -> HTMLResponse:
    """Two versions picked (numbers or labels), and what changed from one to the other:
    records added, removed, and changed with each field's path, before and after. A
    version that does not exist is said next to the pickers (404), nothing else shown."""
    target = open_target(ctx, dataset_id, "read")
    now = target.now
    rows = versions(now)
    error, status, result = None, 200, None
    start = end = now.version
    try:
        start, end = _diff_versions(now, from_text.strip(), to_text.strip())
        result = with_presence(diff_json(dataset_id, now.diff(start, end), DIFF_SHOWN))
    except LedgerError as exc:
        error, status = exc.message, 404 if exc.error_code == "RESOURCE_DOES_NOT_EXIST" else 400
    return tab_page(
        request,
        ctx,
        "diff_page.html",
        target,
        "diff",
        status=status,
        rows=list(reversed(rows)),
        chosen_from=from_text.strip() or str(start),
        chosen_to=to_text.strip() or str(end),
        error=error,
        diff=result,
        shown=DIFF_SHOWN,
        api_url=with_query(
            f"/api/evalledger/v1/datasets/{path_part(dataset_id)}/diff",
            from_version=start,
            to_version=end,
        ),
    )


@router.post("/datasets/{dataset_id}/restore", response_class=HTMLResponse)
def restore(
    dataset_id: str,
    request: Request,
    ctx: Ctx,
    _: CsrfChecked,
    version: Annotated[str, Form()] = "",
    confirmed: Annotated[str, Form()] = "",
) -> Response:
    """Restore a version: without the confirmation, the page that asks for it (what the
    restore would change); with it, one new version through EvaluationDataset.restore."""
    target = open_target(ctx, dataset_id, "edit")
    now = target.now
    if not version.strip():
        raise InvalidParameter("choose the version to restore", field="version")
    source = version_number(now, version_ref(check_text(version, "version"), "version"), "version")
    if confirmed != CONFIRMED:
        changes = diff_json(dataset_id, now.diff(now.version, source), 0)
        rows = {r["version"]: r for r in versions(now)}
        return tab_page(
            request,
            ctx,
            "history_confirm.html",
            target,
            "history",
            source=rows[source],
            changes=changes,
        )
    before = now.version
    restored = target.client.get_dataset(dataset_id=dataset_id).restore(source)
    if restored.version == before:
        return RedirectResponse(history_url(dataset_id, same_as=source), status_code=303)
    return RedirectResponse(history_url(dataset_id, saved=restored.version), status_code=303)


@router.post("/datasets/{dataset_id}/undelete")
def undelete(dataset_id: str, request: Request, ctx: Ctx, _: CsrfChecked) -> Response:
    """Bring a deleted dataset back (one new version, the content it had when deleted)."""
    target = open_target(ctx, dataset_id, "edit")
    back = target.client.undelete_dataset(dataset_id)
    return RedirectResponse(history_url(dataset_id, saved=back.version), status_code=303)
