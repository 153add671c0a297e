"""Signing in and out of the web UI when the server runs with --auth: a login page (user
name, password: the password `evalledger users` set, or the user's token), a session
cookie (HttpOnly, SameSite=Lax, Secure over HTTPS; see sessions), and signing out.

These routes are the only UI routes outside the session gate. The login form carries a
CSRF token too (the browser's cookie token: there is no session yet)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from evalledger.ledger import Unauthenticated
from evalledger.server.context import ANONYMOUS
from evalledger.server.ui import csrf, sessions
from evalledger.server.ui.html_errors import HtmlRoute
from evalledger.server.ui.render import page
from evalledger.stores import open_store
from evalledger.users import check_login

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
_WRONG = "wrong user name or password"


def _auth_on(request: Request) -> bool:
    return bool(request.app.state.config.auth)


def login_form(
    request: Request,
    *,
    next_path: str = "/",
    username: str = "",
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "login.html",
        title="Sign in",
        status=status,
        next_path=sessions.safe_next(next_path),
        username=username,
        error=error,
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next_path: Annotated[str, Query(alias="next")] = "/") -> Response:
    """The login form (without --auth there is nothing to sign in to: back to the UI)."""
    if not _auth_on(request):
        return RedirectResponse(sessions.safe_next(next_path), status_code=303)
    return login_form(request, next_path=next_path)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    _: csrf.CsrfChecked,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next_path: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    """Check the user name and password; on success a new session and back to `next`."""
    if not _auth_on(request):
        return RedirectResponse(sessions.safe_next(next_path), status_code=303)
    config = request.app.state.config
    engine = open_store(config.uri, ANONYMOUS).engine
    name = username.strip()
    try:
        with engine.connect() as conn:
            account = check_login(conn, name, password)
    except Unauthenticated:
        return login_form(request, next_path=next_path, username=name, error=_WRONG, status=401)
    secret, _session = sessions.start(engine, account.name)
    response = RedirectResponse(sessions.safe_next(next_path), status_code=303)
    sessions.set_cookie(request, response, secret)
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    """End the session (its row is deleted: the cookie is worthless after) and go to the
    login page. The form must carry the session's CSRF token."""
    response = RedirectResponse(sessions.LOGIN_PATH, status_code=303)
    if not _auth_on(request):
        return response
    engine = open_store(request.app.state.config.uri, ANONYMOUS).engine
    secret = request.cookies.get(sessions.COOKIE, "")
    session = sessions.find(engine, secret)
    if session is not None:
        request.scope.setdefault("state", {})[sessions.SESSION_KEY] = session
        csrf.check(request, csrf_token)
        sessions.end(engine, secret)
    sessions.clear_cookie(request, response)
    return response
