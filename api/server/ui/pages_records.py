"""One record of a dataset: its page (inputs, outputs, expectations, tags, source with a
link to its trace, its own history), the form that edits its expectations (one merge, so
one commit: EvaluationDataset.merge_records with the record's inputs and the new
expectations), and deleting records (EvaluationDataset.delete_records, after a
confirmation), each as the acting user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from evalledger.datasets import reads
from evalledger.datasets.entities import DatasetRecord, record_from_row
from evalledger.datasets.history import value_at
from evalledger.ledger import InvalidParameter, LedgerError, ResourceNotFound
from evalledger.projections.schema import dataset_records, row_valid_at
from evalledger.server.context import Ctx, RequestContext
from evalledger.server.ledger_api_json import record_history_json
from evalledger.server.ledger_api_targets import Target, check_text, open_target
from evalledger.server.ui.csrf import CsrfChecked
from evalledger.server.ui.dataset_panels import may_change, tab_page
from evalledger.server.ui.display import path_part, pretty_json, with_query
from evalledger.server.ui.html_errors import HtmlRoute
from evalledger.server.ui.pages_history import CONFIRMED, has_path, history_url

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
#: The most records one delete takes (a page of the records table holds at most 1,000).
MAX_DELETE = 10_000
_COLUMNS = (*reads.RECORD_COLUMNS, dataset_records.c.valid_from, dataset_records.c.valid_to)


@dataclass(frozen=True)
class RecordAt:
    """A record as it is at the version asked for (or now), and where it ended."""

    record: DatasetRecord
    deleted_in: int | None  # the version that deleted it (now: it is gone)


def read_record(target: Target, record_id: str) -> RecordAt:
    """The record at the target's version, or now; a record deleted since shows as it
    was last (with the version that deleted it)."""
    dataset_id = target.dataset.dataset_id
    c = dataset_records.c
    with target.client.session.connect() as conn:
        rows = conn.execute(
            sa.select(*_COLUMNS)
            .where(c.dataset_id == dataset_id, c.record_id == record_id)
            .order_by(c.valid_from)
        ).all()
    if not rows:
        raise ResourceNotFound(f"dataset {target.dataset.name!r} has no record {record_id!r}")
    at = target.record_version
    if at is not None:
        found = [r for r in rows if row_valid_at(r, at)]
        if not found:
            raise ResourceNotFound(f"record {record_id!r} is not in version {at} of the dataset")
        row, deleted_in = found[0], None
    else:
        current = [r for r in rows if r.valid_to is None]
        row = current[0] if current else rows[-1]
        deleted_in = None if current else rows[-1].valid_to
    return RecordAt(record_from_row(dataset_id, row, reads.decode_bodies([row])[0]), deleted_in)


def field_values(change: dict[str, Any]) -> list[dict[str, Any]]:
    """Each changed field of one change of a record: path, value before and after, and
    whether it exists on each side."""
    before, after = change["before"], change["after"]
    return [
        {
            "path": path,
            "before": value_at(before, path),
            "after": value_at(after, path),
            "in_before": has_path(before, path),
            "in_after": has_path(after, path),
        }
        for path in change["fields"]
    ]


def record_url(dataset_id: str, record_id: str, **params: Any) -> str:
    return with_query(f"/datasets/{path_part(dataset_id)}/records/{path_part(record_id)}", **params)


def record_view(
    request: Request,
    ctx: RequestContext,
    target: Target,
    record_id: str,
    *,
    saved: int | None = None,
    unchanged: bool = False,
    text: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The record's page; `text` and `error` refill the expectations form after a refusal."""
    found = read_record(target, record_id)
    changes = [
        {**change, "values": field_values(change)}
        for change in record_history_json(
            target.dataset.dataset_id, record_id, target.now.record_history(record_id)
        )["changes"]
    ]
    notice = None
    if saved is not None and any(c["version"] == saved for c in changes):
        notice = f"Expectations saved: version {saved} of the dataset has them."
    elif unchanged:
        notice = "Nothing changed: the expectations are as they were, so no version was made."
    editable = may_change(ctx, target) and found.deleted_in is None
    return tab_page(
        request,
        ctx,
        "record_page.html",
        target,
        "records",
        status=status,
        record=found.record,
        deleted_in=found.deleted_in,
        changes=list(reversed(changes)),
        editable=editable,
        notice=notice,
        text=pretty_json(found.record.expectations) if text is None else text,
        error=error,
    )


@router.get("/datasets/{dataset_id}/records/{record_id}", response_class=HTMLResponse)
def record_page(
    dataset_id: str,
    record_id: str,
    request: Request,
    ctx: Ctx,
    version: Annotated[int | None, Query(ge=0)] = None,
    saved: Annotated[int | None, Query(ge=0)] = None,
    unchanged: bool = False,
) -> HTMLResponse:
    """A record now (editable by those who may), or at a version (read-only)."""
    check_text(record_id, "record_id")
    target = open_target(ctx, dataset_id, "read", version=version)
    return record_view(request, ctx, target, record_id, saved=saved, unchanged=unchanged)


def parse_expectations(text: str, current: dict[str, Any]) -> dict[str, Any]:
    """The form's JSON object. A merge keeps keys it is not given, so a key missing from
    the form would silently stay: that is refused, naming the keys."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(
            f"the expectations are not valid JSON ({exc})", field="expectations"
        ) from None
    if not isinstance(value, dict):
        raise InvalidParameter(
            'the expectations must be a JSON object, such as {"expected_answer": "Paris"}',
            field="expectations",
        )
    missing = [key for key in current if key not in value]
    if missing:
        raise InvalidParameter(
            f"expectations cannot be removed here (a merge keeps the keys it is not given): "
            f"put back {', '.join(map(repr, missing))}, with a new value if it should change",
            field="expectations",
        )
    return value


@router.post("/datasets/{dataset_id}/records/{record_id}/expectations")
def edit_expectations(
    dataset_id: str,
    record_id: str,
    request: Request,
    ctx: Ctx,
    _: CsrfChecked,
    expectations: Annotated[str, Form()] = "",
) -> Response:
    """Save the record's expectations in one commit; a refusal (bad JSON, not an object,
    a key left out) is said above the form (400) and writes nothing."""
    check_text(record_id, "record_id")
    target = open_target(ctx, dataset_id, "edit")
    found = read_record(target, record_id)
    if found.deleted_in is not None:
        raise ResourceNotFound(
            f"record {record_id!r} was deleted in version {found.deleted_in}: restore a "
            "version that has it to edit it again"
        )
    record = found.record
    try:
        wanted = parse_expectations(check_text(expectations, "expectations"), record.expectations)
        dataset = target.client.get_dataset(dataset_id=dataset_id)
        before = dataset.version
        dataset.merge_records([{"inputs": record.inputs, "expectations": wanted}])
    except LedgerError as exc:
        if not may_change(ctx, target):  # no form to say it in (a deleted dataset)
            raise
        return record_view(
            request, ctx, target, record_id, text=expectations, error=exc.message, status=400
        )
    if dataset.version == before:
        return RedirectResponse(record_url(dataset_id, record_id, unchanged=1), status_code=303)
    return RedirectResponse(
        record_url(dataset_id, record_id, saved=dataset.version), status_code=303
    )


def _checked_ids(record_ids: list[str]) -> list[str]:
    if not record_ids:
        raise InvalidParameter("select at least one record to delete", field="record_id")
    if len(record_ids) > MAX_DELETE:
        raise InvalidParameter(f"delete at most {MAX_DELETE:,} records at once", field="record_id")
    return list(dict.fromkeys(check_text(r, "record_id") for r in record_ids))


@router.post("/datasets/{dataset_id}/records/delete", response_class=HTMLResponse)
def delete_records(
    dataset_id: str,
    request: Request,
    ctx: Ctx,
    _: CsrfChecked,
    record_ids: Annotated[list[str], Form(alias="record_id")] = [],  # noqa: B006
    confirmed: Annotated[str, Form()] = "",
) -> Response:
    """Delete the records chosen, in one commit: first the page that asks to confirm
    (without the UI's script), then EvaluationDataset.delete_records."""
    target = open_target(ctx, dataset_id, "edit")
    chosen = _checked_ids(record_ids)
    if confirmed != CONFIRMED:
        return tab_page(request, ctx, "record_confirm.html", target, "records", chosen=chosen)
    dataset = target.client.get_dataset(dataset_id=dataset_id)
    if dataset.delete_records(chosen) == 0:
        return RedirectResponse(history_url(dataset_id, nothing_deleted=1), status_code=303)
    return RedirectResponse(history_url(dataset_id, saved=dataset.version), status_code=303)
