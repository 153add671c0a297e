"""Users over HTTP, under /api/evalledger/v1/users (API.md §10): admins list, add, change
and revoke users; an admin, or whoever has `manage` on an experiment, sets grants on it.

These routes need the server to run with --auth: without it there is nobody to be admin,
and `evalledger users` on the database is the way to manage users. Every change is an
event written as the authenticated user.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from evalledger import users
from evalledger.ledger import PermissionDenied
from evalledger.server.context import Ctx, RequestContext
from evalledger.server.wire import ok

BASE = "/api/evalledger/v1/users"
router = APIRouter(tags=["evalledger users"])


class UserOut(BaseModel):
    name: str
    role: str
    revoked: bool
    has_password: bool
    grants: dict[str, str] = Field(default_factory=dict, description="experiment id -> permission")
    created_time: int
    created_by: str
    last_update_time: int


class UserResponse(BaseModel):
    user: UserOut


class UserList(BaseModel):
    users: list[UserOut]


class AddUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    role: str = users.DEFAULT_ROLE
    password: str | None = Field(None, description="for HTTP Basic logins; a token is made too")


class AddUserResponse(BaseModel):
    user: UserOut
    token: str = Field(description="the new user's bearer token, shown only in this answer")


class SetRole(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str


class Grant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    experiment_id: str
    permission: str = Field(description="read, edit, manage, or none to withdraw the grant")


class GrantResponse(BaseModel):
    name: str
    experiment_id: str
    permission: str
    changed: bool


def _user_json(user: users.User) -> dict[str, object]:
    return {
        "name": user.name,
        "role": user.role,
        "revoked": user.revoked,
        "has_password": user.has_password,
        "grants": user.grants,
        "created_time": user.created_time,
        "created_by": user.created_by,
        "last_update_time": user.last_update_time,
    }


def _authenticated(ctx: RequestContext) -> None:
    if ctx.principal is None:
        raise PermissionDenied(
            "user management over HTTP needs the server to run with --auth; "
            "use `evalledger users` on the database instead"
        )


def _admin(ctx: RequestContext) -> None:
    _authenticated(ctx)
    ctx.require_admin()


def _one(ctx: RequestContext, name: str) -> Response:
    return ok({"user": _user_json(users.get_user(ctx.client().session, name))})


@router.get(BASE, response_model=UserList)
def list_users(ctx: Ctx) -> Response:
    _admin(ctx)
    return ok({"users": [_user_json(u) for u in users.list_users(ctx.client().session)]})


@router.post(BASE, response_model=AddUserResponse)
def add_user(body: AddUser, ctx: Ctx) -> Response:
    _admin(ctx)
    session = ctx.client().session
    token = users.add_user(session, body.name, body.role, body.password)
    return ok({"user": _user_json(users.get_user(session, body.name)), "token": token})


@router.get(BASE + "/{name}", response_model=UserResponse)
def get_user(name: str, ctx: Ctx) -> Response:
    _admin(ctx)
    return _one(ctx, name)


@router.post(BASE + "/{name}/role", response_model=UserResponse)
def set_role(name: str, body: SetRole, ctx: Ctx) -> Response:
    _admin(ctx)
    users.set_role(ctx.client().session, name, body.role)
    return _one(ctx, name)


@router.post(BASE + "/{name}/revoke", response_model=UserResponse)
def revoke_user(name: str, ctx: Ctx) -> Response:
    _admin(ctx)
    users.revoke_user(ctx.client().session, name)
    return _one(ctx, name)


@router.post(BASE + "/{name}/grants", response_model=GrantResponse)
def grant(name: str, body: Grant, ctx: Ctx) -> Response:
    """Set a user's permission on one experiment: for admins, and for whoever has
    `manage` on that experiment."""
    _authenticated(ctx)
    principal = ctx.principal
    assert principal is not None
    if not principal.may_manage(body.experiment_id):
        raise PermissionDenied(
            f"user {principal.name!r} may not manage grants on experiment "
            f"{body.experiment_id!r} (an admin, or a `manage` grant on it, may)"
        )
    changed = users.grant(ctx.client().session, name, body.experiment_id, body.permission)
    return ok(
        {
            "name": name,
            "experiment_id": body.experiment_id,
            "permission": body.permission,
            "changed": changed,
        }
    )
