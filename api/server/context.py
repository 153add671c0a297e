"""Per request: the acting user's Client, and the permission checks routes call."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request

from evalledger.client import Client
from evalledger.ledger import EventStore, PermissionDenied
from evalledger.projections.schema import dataset_experiments
from evalledger.server.auth import Principal, authenticate
from evalledger.server.config import ServerConfig
from evalledger.stores import open_store

ANONYMOUS = "anonymous"


class RequestContext:
    """The server's settings, and who is asking (None when authentication is off)."""

    def __init__(self, config: ServerConfig, store: EventStore, principal: Principal | None):
        self.config = config
        self.store = store
        self.principal = principal

    @property
    def user(self) -> str | None:
        return None if self.principal is None else self.principal.name

    def client(self, claimed_user: str | None = None) -> Client:
        """A client acting as the authenticated user. Without authentication, the user the
        MLflow client names (its ``mlflow.user`` tag), else "anonymous"."""
        if self.principal is not None:
            name = self.principal.name
        else:
            claimed = claimed_user.strip() if isinstance(claimed_user, str) else ""
            name = claimed[:255] or ANONYMOUS
        return Client(self.config.uri, user=name)

    # -- permissions --------------------------------------------------------------------
    def _require(self, action: str, experiment_ids: Iterable[str], what: str) -> None:
        principal = self.principal
        if principal is None or principal.may(action, list(experiment_ids)):
            return
        raise PermissionDenied(f"user {principal.name!r} may not {action} {what}")

    def require_writer(self) -> None:
        """Creating an experiment needs a role that writes (editor or admin)."""
        if self.principal is not None and self.principal.role == "reader":
            raise PermissionDenied(f"user {self.principal.name!r} is a reader")

    def require_admin(self) -> None:
        if self.principal is not None and not self.principal.is_admin:
            raise PermissionDenied(f"user {self.principal.name!r} is not an admin")

    def require_experiment(self, action: str, experiment_id: str) -> None:
        self._require(action, [str(experiment_id)], f"experiment {experiment_id!r}")

    def require_experiments(self, action: str, experiment_ids: Iterable[str]) -> None:
        for experiment_id in experiment_ids:
            self.require_experiment(action, experiment_id)

    def require_dataset(self, action: str, dataset_id: str) -> None:
        """A dataset may be read or changed by whoever may read or edit one of its
        experiments (or by the role alone)."""
        if self.principal is None:
            return
        self._require(action, self.dataset_experiments(dataset_id), f"dataset {dataset_id!r}")

    def dataset_experiments(self, dataset_id: str) -> list[str]:
        c = dataset_experiments.c
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.select(c.experiment_id).where(c.dataset_id == dataset_id))
            return [r.experiment_id for r in rows]

    def may_read_experiment(self, experiment_id: str) -> bool:
        return self.principal is None or self.principal.may("read", [experiment_id])


def request_context(request: Request) -> RequestContext:
    """The FastAPI dependency every route takes."""
    config: ServerConfig = request.app.state.config
    store = open_store(config.uri, ANONYMOUS)
    # the web UI's login session, when its gate found one for this request (ui.sessions)
    established = request.scope.get("state", {}).get("principal")
    principal = (established or authenticate(request, store)) if config.auth else None
    if principal is not None:
        request.scope.setdefault("state", {})["user"] = principal.name
    return RequestContext(config, store, principal)


#: What a route declares to receive the request's context.
Ctx = Annotated[RequestContext, Depends(request_context)]
