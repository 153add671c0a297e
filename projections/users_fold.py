"""User events -> the users and user_grants tables (the server's accounts, API.md §10).

User events are few (one per account change), so each is applied at once rather than
buffered: the rows a later event of the same commit or replay updates are already there.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from evalledger.ledger import StoredEvent
from evalledger.projections import event_types as et
from evalledger.projections.schema import user_grants, users

#: The permission a PermissionGranted event gives to withdraw a grant.
NO_PERMISSION = "none"


class UserProjector:
    """Applies user events to the users tables, one statement per event."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def apply(self, event: StoredEvent) -> None:
        handler = _HANDLERS.get(event.event_type)
        if handler is not None:
            handler(self, event)

    def _update(self, event: StoredEvent, **values: object) -> None:
        self.conn.execute(
            users.update()
            .where(users.c.name == event.payload["name"])
            .values(last_update_time=event.recorded_at, **values)
        )

    def _added(self, event: StoredEvent) -> None:
        p = event.payload
        self.conn.execute(
            users.insert().values(
                name=p["name"],
                role=p["role"],
                password_hash=p["password_hash"],
                token_id=p["token_id"],
                token_hash=p["token_hash"],
                revoked=False,
                created_time=event.recorded_at,
                created_by=event.metadata.get("user", ""),
                last_update_time=event.recorded_at,
            )
        )

    def _role_set(self, event: StoredEvent) -> None:
        self._update(event, role=event.payload["role"])

    def _credentials_set(self, event: StoredEvent) -> None:
        p = event.payload
        self._update(
            event,
            password_hash=p["password_hash"],
            token_id=p["token_id"],
            token_hash=p["token_hash"],
        )

    def _revoked(self, event: StoredEvent) -> None:
        self._update(event, revoked=True)

    def _permission_granted(self, event: StoredEvent) -> None:
        p = event.payload
        c = user_grants.c
        self.conn.execute(
            user_grants.delete().where(c.name == p["name"], c.experiment_id == p["experiment_id"])
        )
        if p["permission"] != NO_PERMISSION:
            self.conn.execute(
                user_grants.insert().values(
                    name=p["name"],
                    experiment_id=p["experiment_id"],
                    permission=p["permission"],
                    granted_time=event.recorded_at,
                    granted_by=event.metadata.get("user", ""),
                )
            )


_HANDLERS: dict[str, Callable[[UserProjector, StoredEvent], None]] = {
    et.USER_ADDED: UserProjector._added,
    et.USER_ROLE_SET: UserProjector._role_set,
    et.USER_CREDENTIALS_SET: UserProjector._credentials_set,
    et.USER_REVOKED: UserProjector._revoked,
    et.PERMISSION_GRANTED: UserProjector._permission_granted,
}
