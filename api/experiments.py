"""Experiments (API.md §2): event-sourced like everything else."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson
import sqlalchemy as sa

from evalledger.ledger import (
    NO_STREAM,
    EventStore,
    ResourceAlreadyExists,
    ResourceNotFound,
)
from evalledger.projections import event_types as et
from evalledger.projections.schema import experiments
from evalledger.projections.unit_of_work import UnitOfWork, commit
from evalledger.query.filters import compare
from evalledger.session import Session
from evalledger.validation import check_id, check_name, check_tags, experiment_key

DEFAULT_EXPERIMENT_ID = et.DEFAULT_EXPERIMENT_ID


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int = 0
    last_update_time: int = 0


def _from_row(row: sa.Row) -> Experiment:
    return Experiment(
        row.experiment_id, row.name, orjson.loads(row.tags), row.creation_time, row.last_update_time
    )


def append_created(tx: UnitOfWork, experiment_id: str, name: str, tags: dict[str, str]) -> None:
    tx.append(
        et.experiment_stream_id(experiment_id),
        [et.EXPERIMENT_CREATED.new({"experiment_id": experiment_id, "name": name, "tags": tags})],
        NO_STREAM,
        stream_type=et.EXPERIMENT_STREAM,
    )


def ensure_default(store: EventStore, user: str) -> None:
    """Experiment "0" ("Default") always exists: created by an event on first use."""
    with store.engine.connect() as conn:
        if conn.execute(
            sa.select(experiments.c.experiment_id).where(
                experiments.c.experiment_id == DEFAULT_EXPERIMENT_ID
            )
        ).first():
            return
    with commit(store, user) as tx:
        if tx.stream_version(et.experiment_stream_id(DEFAULT_EXPERIMENT_ID)) is None:
            append_created(tx, DEFAULT_EXPERIMENT_ID, et.DEFAULT_EXPERIMENT_NAME, {})


def create_experiment(session: Session, name: str, tags: dict | None = None) -> str:
    """Create an experiment; returns its id (a string of digits). Names are unique."""
    name = check_name(name)
    checked_tags = check_tags(tags)
    with commit(session.store, session.user) as tx:
        rows = tx.conn.execute(sa.select(experiments.c.experiment_id, experiments.c.name)).all()
        if any(r.name == name for r in rows):
            raise ResourceAlreadyExists(f"an experiment named {name!r} already exists")
        experiment_id = str(max((int(r.experiment_id) for r in rows), default=0) + 1)
        append_created(tx, experiment_id, name, checked_tags)
    return experiment_id


def get_experiment(session: Session, experiment_id: str) -> Experiment:
    with session.connect() as conn:
        row = conn.execute(
            sa.select(experiments).where(
                experiments.c.experiment_id == experiment_key(experiment_id)
            )
        ).first()
    if row is None:
        raise ResourceNotFound(f"experiment {experiment_id!r} does not exist")
    return _from_row(row)


def get_experiment_by_name(session: Session, name: str) -> Experiment | None:
    with session.connect() as conn:
        row = conn.execute(
            sa.select(experiments).where(compare(experiments.c.name, "=", check_id(name, "name")))
        ).first()
    return None if row is None else _from_row(row)


def search_experiments(session: Session) -> list[Experiment]:
    """Every experiment, oldest first."""
    with session.connect() as conn:
        rows = conn.execute(
            sa.select(experiments).order_by(
                experiments.c.creation_time, experiments.c.experiment_id
            )
        ).all()
    return [_from_row(r) for r in rows]


def missing_experiments(conn: sa.Connection, experiment_ids: Iterable[str]) -> list[str]:
    """The ids among these that name no experiment."""
    wanted = list(experiment_ids)
    if not wanted:
        return []
    found = set(
        conn.execute(
            sa.select(experiments.c.experiment_id).where(experiments.c.experiment_id.in_(wanted))
        ).scalars()
    )
    return [e for e in wanted if e not in found]
