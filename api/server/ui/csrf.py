"""CSRF protection of every form post: a per-browser random token, in an HttpOnly,
SameSite=Strict cookie and in a hidden field of each form; a POST whose field does not
match its cookie is refused (403) before it writes anything.

Without authentication the token is tied to the cookie alone (a double-submit token: a
page of another site can neither read the cookie nor send it). Signed in (with --auth, see
sessions), the token is the login session's own, kept with it in the database.
"""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Annotated

from fastapi import Depends, Form, Request, Response

from evalledger.ledger import PermissionDenied
from evalledger.server.ui import sessions

COOKIE = "evalledger_csrf"
FIELD = "csrf_token"
_WELL_FORMED = re.compile(r"^[A-Za-z0-9_-]{43}$")


class CsrfRejected(PermissionDenied):
    """A form post without the token of the page it came from."""


def token(request: Request) -> str:
    """The browser's token: the one its cookie carries, else a new one (remembered on the
    request, so that `remember` sets the cookie on the response). A signed-in browser's
    token is its login session's."""
    session = sessions.current(request)
    if session is not None:
        return session.csrf_token
    given = request.cookies.get(COOKIE, "")
    if _WELL_FORMED.match(given):
        return given
    new = request.scope.setdefault("state", {}).get("csrf_new")
    if new is None:
        new = request.scope["state"]["csrf_new"] = secrets.token_urlsafe(32)
    return new


def remember(request: Request, response: Response) -> None:
    """Set the cookie when this request minted the token."""
    new = request.scope.get("state", {}).get("csrf_new")
    if new is not None:
        response.set_cookie(
            COOKIE,
            new,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )


def check(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    """The dependency of every form post: the field must equal the cookie (or, signed
    in, the login session's token)."""
    session = sessions.current(request)
    cookie = request.cookies.get(COOKIE, "") if session is None else session.csrf_token
    if not (
        _WELL_FORMED.match(cookie)
        and csrf_token
        and hmac.compare_digest(csrf_token.encode(), cookie.encode())
    ):
        raise CsrfRejected(
            "this form did not come with this site's security token (it may come from "
            "another site, or cookies are off): reload the page and submit it again"
        )


#: What a form post declares to be checked.
CsrfChecked = Annotated[None, Depends(check)]
