"""Who is asking: HTTP Basic or a bearer token checked against the users projection.

(Interface; the credential checks are filled in with the users commands.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from fastapi import Request

from evalledger.ledger import EventStore, Unauthenticated

ROLES = ("reader", "editor", "admin")
#: What each per-experiment permission allows, as MLflow's basic-auth app has them.
PERMISSIONS = ("read", "edit", "manage")


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


def authenticate(request: Request, store: EventStore) -> Principal:
    """The user the request's credentials name; Unauthenticated when there are none or
    they are wrong."""
    raise Unauthenticated("authentication is not available yet")
