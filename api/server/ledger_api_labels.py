"""Version labels in evalledger's own API: where each label points (now or at an instant),
every move of every label, and setting or moving one."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Response

from evalledger.projections.schema import dataset_label_moves
from evalledger.server.context import Ctx
from evalledger.server.ledger_api_models import (
    LabelMoves,
    Labels,
    SetLabelRequest,
    SetLabelResponse,
)
from evalledger.server.ledger_api_records import AsOfParam, LabelParam, VersionParam
from evalledger.server.ledger_api_targets import (
    check_text,
    open_target,
    parse_as_of,
    version_number,
)
from evalledger.server.wire import ok

BASE = "/api/evalledger/v1/datasets/{dataset_id}/labels"
router = APIRouter(tags=["evalledger labels"])


def label_moves(conn: sa.Connection, dataset_id: str) -> list[dict[str, Any]]:
    """Every move of every label of a dataset, in the order they happened."""
    c = dataset_label_moves.c
    rows = conn.execute(
        sa.select(c.label, c.version, c.user, c.timestamp)
        .where(c.dataset_id == dataset_id)
        .order_by(c.position)
    ).all()
    pointed: dict[str, int] = {}
    moves = []
    for row in rows:
        moves.append(
            {
                "label": row.label,
                "from_version": pointed.get(row.label),
                "to_version": row.version,
                "user": row.user,
                "timestamp": row.timestamp,
            }
        )
        pointed[row.label] = row.version
    return moves


@router.get(BASE, response_model=Labels)
def get_labels(dataset_id: str, ctx: Ctx, as_of: AsOfParam = None) -> Response:
    """Which version each label points to now, or pointed to at the instant `as_of`."""
    now = open_target(ctx, dataset_id, "read").now
    at = None if as_of is None or as_of == "" else parse_as_of(as_of)
    return ok({"dataset_id": dataset_id, "as_of": at, "labels": now.version_labels(as_of=at)})


@router.get(BASE + "/moves", response_model=LabelMoves)
def get_label_moves(dataset_id: str, ctx: Ctx) -> Response:
    """Every move: which label, from which version to which, who and when."""
    target = open_target(ctx, dataset_id, "read")
    with target.client.session.connect() as conn:
        moves = label_moves(conn, dataset_id)
    return ok({"dataset_id": dataset_id, "moves": moves})


@router.post(BASE, response_model=SetLabelResponse)
def set_label(
    dataset_id: str,
    body: SetLabelRequest,
    ctx: Ctx,
    version: VersionParam = None,
    label: LabelParam = None,
    as_of: AsOfParam = None,
) -> Response:
    """Point a label at a version (default the latest): set it, or move it. A snapshot (a
    version, label or as_of in the query) is read-only: 400 INVALID_STATE."""
    check_text(body.label, "label")
    target = open_target(ctx, dataset_id, "edit", version=version, label=label, as_of=as_of)
    number = None if body.version is None else version_number(target.now, body.version, "version")
    pointed = target.dataset.label_version(body.label, number)
    return ok(
        {
            "dataset_id": dataset_id,
            "label": body.label,
            "version": pointed,
            "labels": target.now.version_labels(),
        }
    )
