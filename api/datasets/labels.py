"""Version labels ("golden-v3"): movable names for dataset versions, each move an event."""

from __future__ import annotations

import sqlalchemy as sa

from evalledger.ledger import ANY, InvalidParameter, ResourceNotFound
from evalledger.ledger.limits import MAX_KEY_CHARS
from evalledger.projections import event_types as et
from evalledger.projections.schema import dataset_label_moves, dataset_versions
from evalledger.projections.unit_of_work import commit
from evalledger.query.filters import compare
from evalledger.session import Session
from evalledger.validation import check_text

MAX_LABEL = MAX_KEY_CHARS


def check_label(label: object) -> str:
    if not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL:
        raise InvalidParameter(
            f"label must be a non-empty string of at most {MAX_LABEL} characters"
        )
    return check_text(label, "label")


def move_label(session: Session, dataset_id: str, label: str, version: int) -> None:
    """Point `label` at `version` (which must exist); already there, nothing is written."""
    with commit(session.store, session.user) as tx:
        if _target(tx.conn, dataset_id, label) == version:
            return
        exists = tx.conn.execute(
            sa.select(dataset_versions.c.version).where(
                dataset_versions.c.dataset_id == dataset_id, dataset_versions.c.version == version
            )
        ).first()
        if exists is None:
            raise ResourceNotFound(f"dataset {dataset_id!r} has no version {version}")
        payload = {"dataset_id": dataset_id, "label": label, "version": version}
        tx.append(
            et.label_stream_id(dataset_id),
            [et.VERSION_LABELED.new(payload)],
            ANY,
            stream_type=et.LABEL_STREAM,
        )


def labels_at(conn: sa.Connection, dataset_id: str, at_ms: int | None = None) -> dict[str, int]:
    """Which version each label points to now (or pointed to at an instant)."""
    query = sa.select(dataset_label_moves.c.label, dataset_label_moves.c.version).where(
        dataset_label_moves.c.dataset_id == dataset_id
    )
    if at_ms is not None:
        query = query.where(dataset_label_moves.c.timestamp <= at_ms)
    labels: dict[str, int] = {}
    for row in conn.execute(query.order_by(dataset_label_moves.c.position)).all():
        labels[row.label] = row.version
    return dict(sorted(labels.items()))


def label_target(conn: sa.Connection, dataset_id: str, label: str) -> int:
    """The version a label points to now (ResourceNotFound when it points nowhere)."""
    version = _target(conn, dataset_id, label)
    if version is None:
        raise ResourceNotFound(f"dataset {dataset_id!r} has no version labelled {label!r}")
    return version


def _target(conn: sa.Connection, dataset_id: str, label: str) -> int | None:
    row = conn.execute(
        sa.select(dataset_label_moves.c.version)
        .where(
            dataset_label_moves.c.dataset_id == dataset_id,
            compare(dataset_label_moves.c.label, "=", label),
        )
        .order_by(dataset_label_moves.c.position.desc())
        .limit(1)
    ).first()
    return None if row is None else row.version
