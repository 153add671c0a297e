"""Records of evalledger's own API: a page of a dataset's records (now or at a version),
one record whole, one record's history."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Response

from evalledger.datasets import reads
from evalledger.datasets.entities import record_from_row
from evalledger.ledger import ResourceNotFound
from evalledger.projections.schema import dataset_records, row_valid_at
from evalledger.server.context import Ctx
from evalledger.server.ledger_api_json import record_history_json, record_json
from evalledger.server.ledger_api_models import RecordHistory, RecordResponse, RecordsPage
from evalledger.server.ledger_api_paging import current_page, read_token, snapshot_page
from evalledger.server.ledger_api_targets import check_text, open_target
from evalledger.server.wire import ok

BASE = "/api/evalledger/v1/datasets/{dataset_id}/records"
router = APIRouter(tags=["evalledger records"])
MAX_PAGE = 10_000
_ONE_COLUMNS = (*reads.RECORD_COLUMNS, dataset_records.c.valid_from, dataset_records.c.valid_to)

VersionParam = Annotated[int | None, Query(ge=0, description="a version number")]
LabelParam = Annotated[str | None, Query(description="a version label")]
AsOfParam = Annotated[str | None, Query(description="epoch ms, or an ISO 8601 datetime")]


@router.get(BASE, response_model=RecordsPage)
def list_records(
    dataset_id: str,
    ctx: Ctx,
    version: VersionParam = None,
    label: LabelParam = None,
    as_of: AsOfParam = None,
    max_results: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1000,
    page_token: str | None = None,
) -> Response:
    """The records in creation order, a page at a time; `next_page_token` continues."""
    start = read_token(page_token)
    target = open_target(ctx, dataset_id, "read", version=version, label=label, as_of=as_of)
    at = target.record_version
    with target.client.session.connect() as conn:
        if at is None:
            rows, following = current_page(conn, dataset_id, start, max_results)
        else:
            count = target.dataset.num_records
            rows, following = snapshot_page(conn, dataset_id, at, count, start, max_results)
    sources: dict[Any, Any] = {}
    records = [
        record_json(record_from_row(dataset_id, row, body, sources))
        for row, body in zip(rows, reads.decode_bodies(rows), strict=True)
    ]
    out: dict[str, Any] = {
        "dataset_id": dataset_id,
        "version": target.dataset.version,
        "records": records,
    }
    if following is not None:
        out["next_page_token"] = following.token()
    return ok(out)


@router.get(BASE + "/{record_id}", response_model=RecordResponse)
def get_record(
    dataset_id: str,
    record_id: str,
    ctx: Ctx,
    version: VersionParam = None,
    label: LabelParam = None,
    as_of: AsOfParam = None,
) -> Response:
    """One record whole, as it is now or as it was at a version."""
    check_text(record_id, "record_id")
    target = open_target(ctx, dataset_id, "read", version=version, label=label, as_of=as_of)
    at = target.record_version
    c = dataset_records.c
    with target.client.session.connect() as conn:
        rows = conn.execute(
            sa.select(*_ONE_COLUMNS).where(c.dataset_id == dataset_id, c.record_id == record_id)
        ).all()
    found = [r for r in rows if (r.valid_to is None if at is None else row_valid_at(r, at))]
    if not found:
        when = "now" if at is None else f"at version {at}"
        raise ResourceNotFound(f"dataset {dataset_id!r} has no record {record_id!r} {when}")
    row = found[0]
    record = record_from_row(dataset_id, row, reads.decode_bodies([row])[0])
    return ok(
        {"dataset_id": dataset_id, "version": target.dataset.version, "record": record_json(record)}
    )


@router.get(BASE + "/{record_id}/history", response_model=RecordHistory)
def get_record_history(dataset_id: str, record_id: str, ctx: Ctx) -> Response:
    """Every change of one record: version, time, user, operation, before and after."""
    check_text(record_id, "record_id")
    target = open_target(ctx, dataset_id, "read")
    frame = target.now.record_history(record_id)
    return ok(record_history_json(dataset_id, record_id, frame))
