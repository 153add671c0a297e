"""Who is asking: HTTP Basic or a bearer token checked against the users projection.

The MLflow client sends ``Authorization: Basic ...`` for MLFLOW_TRACKING_USERNAME /
MLFLOW_TRACKING_PASSWORD and ``Authorization: Bearer ...`` for MLFLOW_TRACKING_TOKEN. The
role, the revoked flag and the grants are read on every request, so a change made with
`evalledger users` applies to the next one. No message here ever repeats a secret.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from fastapi import Request

from evalledger.ledger import EventStore, Unauthenticated
from evalledger.users import PERMISSIONS, ROLES, Account, check_login, check_token, grants_of

__all__ = ["PERMISSIONS", "ROLES", "Principal", "authenticate"]

_MAX_HEADER = 8192
_NO_CREDENTIALS = (
    "authentication required: send HTTP Basic credentials (MLFLOW_TRACKING_USERNAME and "
    "MLFLOW_TRACKING_PASSWORD) or a bearer token (MLFLOW_TRACKING_TOKEN)"
)
_MALFORMED_BASIC = "malformed HTTP Basic credentials (base64 of user:password expected)"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user: a role on every experiment, and grants on some."""

    name: str
    role: str
    grants: dict[str, str] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may(self, action: str, experiment_ids: Iterable[str]) -> bool:
        """`action` is "read" or "edit": allowed by the role, or by a grant on one of the
        experiments."""
        if (
            self.role == "admin"
            or (self.role == "editor")
            or (action == "read" and self.role == "reader")
        ):
            return True
        allowed = ("read", "edit", "manage") if action == "read" else ("edit", "manage")
        return any(self.grants.get(e) in allowed for e in experiment_ids)

    def may_manage(self, experiment_id: str) -> bool:
        """Whether this user may change other users' grants on the experiment."""
        return self.is_admin or self.grants.get(str(experiment_id)) == "manage"


def _basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthenticated(_MALFORMED_BASIC) from None
    name, colon, password = decoded.partition(":")
    if not colon or not name:
        raise Unauthenticated(_MALFORMED_BASIC)
    return name, password


def _account(header: str, conn: sa.Connection) -> Account:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "basic":
        name, password = _basic(value)
        return check_login(conn, name, password)
    if scheme.lower() == "bearer" and value.strip():
        return check_token(conn, value.strip())
    raise Unauthenticated("unsupported Authorization header: use HTTP Basic or Bearer credentials")


def authenticate(request: Request, store: EventStore) -> Principal:
    """The user the request's credentials name; Unauthenticated when there are none or
    they are wrong, or the user was revoked."""
    header = request.headers.get("authorization")
    if not header or not header.strip():
        raise Unauthenticated(_NO_CREDENTIALS)
    if len(header) > _MAX_HEADER:
        raise Unauthenticated("the Authorization header is too long")
    with store.engine.connect() as conn:
        account = _account(header, conn)
        return Principal(account.name, account.role, grants_of(conn, account.name))
