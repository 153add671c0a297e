"""The web UI's login sessions when the server runs with --auth: a random secret in an
HttpOnly cookie, and a row in the database found by the secret's sha256 (the server keeps
nothing in memory, so any process serving the database knows every session).

A session names a user; who that user is (role, grants, revoked) is read again on every
request, as for HTTP Basic. Each session has its own CSRF token for the forms it posts.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa
from fastapi import Request, Response

from evalledger.ledger import Unauthenticated
from evalledger.ledger.engine import WRITE_OPTION
from evalledger.projections.schema import ui_sessions
from evalledger.server.auth import Principal
from evalledger.server.context import ANONYMOUS
from evalledger.server.ui.display import with_query
from evalledger.stores import open_store
from evalledger.users import grants_of
from evalledger.users.reads import account_named

COOKIE = "evalledger_session"
#: How long a sign-in lasts (then the login page again).
LIFETIME_MS = 12 * 3600 * 1000
LOGIN_PATH = "/login"
#: Where the request's session and principal are kept (request.scope["state"]).
SESSION_KEY, PRINCIPAL_KEY = "ui_session", "principal"
_WELL_FORMED = re.compile(r"^[A-Za-z0-9_-]{43}$")


class LoginRequired(Unauthenticated):
    """A UI request with neither credentials nor a live session (a page load goes to the
    login page)."""


@dataclass(frozen=True, slots=True)
class UiSession:
    """A signed-in browser: whose it is, its forms' CSRF token, when it ends."""

    user: str
    csrf_token: str
    expires_ms: int


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _writing(engine: sa.Engine) -> sa.Connection:
    conn = engine.connect()
    conn.execution_options(**{WRITE_OPTION: True})  # SQLite: BEGIN IMMEDIATE
    return conn


def start(engine: sa.Engine, user: str) -> tuple[str, UiSession]:
    """A new session for `user`: (the cookie's secret, the session). Expired sessions of
    everyone are deleted in the same transaction."""
    secret = secrets.token_urlsafe(32)
    now = _now_ms()
    session = UiSession(user, secrets.token_urlsafe(32), now + LIFETIME_MS)
    with _writing(engine) as conn, conn.begin():
        conn.execute(sa.delete(ui_sessions).where(ui_sessions.c.expires_ms <= now))
        conn.execute(
            sa.insert(ui_sessions).values(
                session_hash=_hash(secret),
                user_name=user,
                csrf_token=session.csrf_token,
                created_ms=now,
                expires_ms=session.expires_ms,
            )
        )
    return secret, session


def find(engine: sa.Engine, secret: str) -> UiSession | None:
    """The live session of a cookie's secret (None: unknown, malformed or expired)."""
    if not _WELL_FORMED.match(secret):
        return None
    c = ui_sessions.c
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(c.user_name, c.csrf_token, c.expires_ms).where(
                c.session_hash == _hash(secret)
            )
        ).first()
    if row is None or row.expires_ms <= _now_ms():
        return None
    return UiSession(row.user_name, row.csrf_token, row.expires_ms)


def end(engine: sa.Engine, secret: str) -> None:
    """Forget the session of this secret (signing out); unknown secrets are ignored."""
    if not _WELL_FORMED.match(secret):
        return
    with _writing(engine) as conn, conn.begin():
        conn.execute(sa.delete(ui_sessions).where(ui_sessions.c.session_hash == _hash(secret)))


def principal_of(engine: sa.Engine, user: str) -> Principal | None:
    """The user as they are now (None when they no longer exist or were revoked)."""
    with engine.connect() as conn:
        account = account_named(conn, user)
        if account is None or account.revoked:
            return None
        return Principal(account.name, account.role, grants_of(conn, account.name))


def set_cookie(request: Request, response: Response, secret: str) -> None:
    response.set_cookie(
        COOKIE,
        secret,
        max_age=LIFETIME_MS // 1000,
        httponly=True,
        # Lax: a link from elsewhere opens the UI signed in; every change is a POST with
        # this session's CSRF token, which no other site can read
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )


def current(request: Request) -> UiSession | None:
    """The session the gate found for this request (None: none, or auth is off)."""
    return request.scope.get("state", {}).get(SESSION_KEY)


def gate(request: Request) -> None:
    """The dependency of every UI route but the login page's: with --auth, a request
    without credentials of its own (Basic or Bearer, as the API takes them) needs a live
    session; its user becomes the request's principal."""
    config = request.app.state.config
    if not config.auth or request.headers.get("authorization"):
        return
    store = open_store(config.uri, ANONYMOUS)
    session = find(store.engine, request.cookies.get(COOKIE, ""))
    principal = None if session is None else principal_of(store.engine, session.user)
    if session is None or principal is None:
        raise LoginRequired("sign in to use evalledger")
    state = request.scope.setdefault("state", {})
    state[SESSION_KEY] = session
    state[PRINCIPAL_KEY] = principal
    state["user"] = principal.name


def safe_next(target: str) -> str:
    """Where to go after signing in: a path of this site only (never another site)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ord(ch) < 32 for ch in target) or target.startswith(LOGIN_PATH):
        return "/"
    return target


def login_url(request: Request) -> str:
    """The login page, coming back to this page after."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return LOGIN_PATH if here == "/" else with_query(LOGIN_PATH, next=here)
