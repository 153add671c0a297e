"""Adding and changing server users: each change is an event on the user's stream, so who
added, promoted, revoked or granted whom is part of the audit trail (API.md §10).

Secrets are hashed before the writer lock is taken (a hash takes tens of milliseconds) and
only their hashes enter an event. A change that changes nothing writes nothing.
"""

from __future__ import annotations

from typing import Any

from evalledger.experiments import missing_experiments
from evalledger.ledger import (
    NO_STREAM,
    ExpectedVersion,
    InvalidParameter,
    ResourceAlreadyExists,
    ResourceNotFound,
)
from evalledger.projections import event_types as et
from evalledger.projections.unit_of_work import UnitOfWork, commit
from evalledger.session import Session
from evalledger.users.hashing import hash_secret, new_token
from evalledger.users.reads import Account, account_named, grants_of
from evalledger.users.rules import (
    DEFAULT_ROLE,
    NO_PERMISSION,
    check_password,
    check_permission,
    check_role,
    check_user_name,
    is_user_name,
)

#: experiments.experiment_id is 32 characters.
MAX_EXPERIMENT_ID = 32


def _fresh_token() -> tuple[str, dict[str, str]]:
    """A new bearer token (shown once) and what the ledger keeps of it."""
    token, token_id, secret = new_token()
    return token, {"token_id": token_id, "token_hash": hash_secret(secret)}


def _append(
    tx: UnitOfWork,
    name: str,
    expected: ExpectedVersion,
    event_type: et.EventType,
    **payload: Any,
) -> None:
    tx.append(
        et.user_stream_id(name),
        [event_type.new({"name": name, **payload})],
        expected,
        stream_type=et.USER_STREAM,
    )


def _existing(tx: UnitOfWork, name: str) -> tuple[int, Account]:
    """The user's stream version and account, read under the writer lock."""
    known = is_user_name(name)
    version = tx.stream_version(et.user_stream_id(name)) if known else None
    account = account_named(tx.conn, name) if known else None
    if version is None or account is None:
        raise ResourceNotFound(f"there is no user {name!r} (`evalledger users list`)")
    return version, account


def _is_experiment_id(text: str) -> bool:
    """Whether `text` could be an experiment id (so the database is asked only then)."""
    return 0 < len(text) <= MAX_EXPERIMENT_ID and text.isprintable()


def _not_revoked(account: Account) -> None:
    if account.revoked:
        raise InvalidParameter(
            f"user {account.name!r} is revoked, and stays revoked (add a new user instead)",
            field="name",
        )


def add_user(
    session: Session, name: str, role: str = DEFAULT_ROLE, password: str | None = None
) -> str:
    """Add a user with this role (and a password, if given); returns their bearer token,
    which is shown nowhere else."""
    name = check_user_name(name)
    role = check_role(role)
    password_hash = None if password is None else hash_secret(check_password(password))
    token, token_fields = _fresh_token()
    with commit(session.store, session.user) as tx:
        if tx.stream_version(et.user_stream_id(name)) is not None:
            raise ResourceAlreadyExists(f"a user named {name!r} already exists")
        _append(
            tx,
            name,
            NO_STREAM,
            et.USER_ADDED,
            role=role,
            password_hash=password_hash,
            **token_fields,
        )
    return token


def set_role(session: Session, name: str, role: str) -> bool:
    """Give a user another role; False when they had it already (nothing written)."""
    role = check_role(role)
    with commit(session.store, session.user) as tx:
        version, account = _existing(tx, name)
        if account.role == role:
            return False
        _append(tx, name, version, et.USER_ROLE_SET, role=role)
    return True


def revoke_user(session: Session, name: str) -> bool:
    """Revoke a user: their password and token stop working on the next request. False
    when they were revoked already."""
    with commit(session.store, session.user) as tx:
        version, account = _existing(tx, name)
        if account.revoked:
            return False
        _append(tx, name, version, et.USER_REVOKED)
    return True


def set_password(session: Session, name: str, password: str) -> None:
    """A new password for a user (the old one stops working; the token is kept)."""
    password_hash = hash_secret(check_password(password))
    with commit(session.store, session.user) as tx:
        version, account = _existing(tx, name)
        _not_revoked(account)
        _append(
            tx,
            name,
            version,
            et.USER_CREDENTIALS_SET,
            password_hash=password_hash,
            token_id=account.token_id,
            token_hash=account.token_hash,
        )


def new_user_token(session: Session, name: str) -> str:
    """A new bearer token for a user, returned once (the old one stops working; the
    password is kept)."""
    token, token_fields = _fresh_token()
    with commit(session.store, session.user) as tx:
        version, account = _existing(tx, name)
        _not_revoked(account)
        _append(
            tx,
            name,
            version,
            et.USER_CREDENTIALS_SET,
            password_hash=account.password_hash,
            **token_fields,
        )
    return token


def grant(session: Session, name: str, experiment_id: str, permission: str) -> bool:
    """Give a user read, edit or manage on one experiment (beyond their role), or withdraw
    the grant with "none". False when nothing changes."""
    permission = check_permission(permission)
    experiment_id = str(experiment_id)
    with commit(session.store, session.user) as tx:
        version, _ = _existing(tx, name)
        if not _is_experiment_id(experiment_id) or missing_experiments(tx.conn, [experiment_id]):
            raise ResourceNotFound(f"experiment {experiment_id!r} does not exist")
        current = grants_of(tx.conn, name).get(experiment_id, NO_PERMISSION)
        if current == permission:
            return False
        _append(
            tx,
            name,
            version,
            et.PERMISSION_GRANTED,
            experiment_id=experiment_id,
            permission=permission,
        )
    return True
