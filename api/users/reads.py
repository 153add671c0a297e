"""The users projection as the CLI lists it and as authentication reads it."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from evalledger.ledger import ResourceNotFound
from evalledger.projections.schema import user_grants, users
from evalledger.session import Session
from evalledger.users.rules import is_user_name


@dataclass(frozen=True, slots=True)
class User:
    """A server user as `users list` shows it: no hash, only whether there is a password."""

    name: str
    role: str
    revoked: bool
    has_password: bool
    created_time: int
    created_by: str
    last_update_time: int
    #: experiment id -> read, edit or manage
    grants: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Account:
    """What authentication reads of one user: the role, the revoked flag, the hashes."""

    name: str
    role: str
    revoked: bool
    password_hash: str | None
    token_id: str | None
    token_hash: str | None


_ACCOUNT_COLUMNS = (
    users.c.name,
    users.c.role,
    users.c.revoked,
    users.c.password_hash,
    users.c.token_id,
    users.c.token_hash,
)


def _account(row: sa.Row | None) -> Account | None:
    if row is None:
        return None
    return Account(
        row.name, row.role, bool(row.revoked), row.password_hash, row.token_id, row.token_hash
    )


def account_named(conn: sa.Connection, name: str) -> Account | None:
    row = conn.execute(sa.select(*_ACCOUNT_COLUMNS).where(users.c.name == name)).first()
    return _account(row)


def account_with_token(conn: sa.Connection, token_id: str) -> Account | None:
    row = conn.execute(sa.select(*_ACCOUNT_COLUMNS).where(users.c.token_id == token_id)).first()
    return _account(row)


def grants_of(conn: sa.Connection, name: str) -> dict[str, str]:
    """experiment id -> permission, for one user."""
    c = user_grants.c
    rows = conn.execute(sa.select(c.experiment_id, c.permission).where(c.name == name))
    return {r.experiment_id: r.permission for r in rows}


def _user(row: sa.Row, grants: dict[str, str]) -> User:
    return User(
        name=row.name,
        role=row.role,
        revoked=bool(row.revoked),
        has_password=row.password_hash is not None,
        created_time=row.created_time,
        created_by=row.created_by,
        last_update_time=row.last_update_time,
        grants=grants,
    )


def get_user(session: Session, name: str) -> User:
    """One user (ResourceNotFound when there is none of that name)."""
    with session.connect() as conn:
        found = sa.select(users).where(users.c.name == name)
        row = conn.execute(found).first() if is_user_name(name) else None
        if row is None:
            raise ResourceNotFound(f"there is no user {name!r} (`evalledger users list`)")
        return _user(row, _in_id_order(grants_of(conn, name)))


def list_users(session: Session) -> list[User]:
    """Every user, revoked ones included, by name."""
    with session.connect() as conn:
        rows = conn.execute(sa.select(users).order_by(users.c.name)).all()
        c = user_grants.c
        grants: dict[str, dict[str, str]] = {}
        for g in conn.execute(sa.select(c.name, c.experiment_id, c.permission)):
            grants.setdefault(g.name, {})[g.experiment_id] = g.permission
    return [_user(row, _in_id_order(grants.get(row.name, {}))) for row in rows]


def _in_id_order(grants: dict[str, str]) -> dict[str, str]:
    """Grants by experiment id, numerically ("2" before "10")."""
    return dict(sorted(grants.items(), key=lambda item: (len(item[0]), item[0])))
