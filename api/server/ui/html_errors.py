"""Errors on UI routes in words: an HTML page with a sentence and a link back (never a
stack trace), or the usual JSON error for the UI's own script (which asks for JSON)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from evalledger.ledger import LedgerError
from evalledger.server.errors import error_response, status_of
from evalledger.server.ui.display import sentence
from evalledger.server.ui.render import page
from evalledger.server.ui.sessions import LoginRequired, login_url

log = logging.getLogger("evalledger.server.ui")

_HEADINGS = {
    400: "That request could not be used",
    401: "Sign in needed",
    403: "Not allowed",
    404: "Not found",
    409: "Try again",
    503: "The database is unavailable",
}


def wants_json(request: Request) -> bool:
    """Whether the caller is the UI's script (it asks for JSON), not a page load."""
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_page(request: Request, status: int, message: str) -> Response:
    return page(
        request,
        "error.html",
        title=_HEADINGS.get(status, "Something went wrong"),
        status=status,
        message=sentence(message),
        request_id=request.scope.get("state", {}).get("request_id", ""),
    )


def _ledger_error(request: Request, exc: LedgerError) -> Response:
    status = status_of(exc)
    if wants_json(request):
        return error_response(status, exc.error_code, exc.message)
    if isinstance(exc, LoginRequired) and request.method in ("GET", "HEAD"):
        return RedirectResponse(login_url(request), status_code=303)
    response = error_page(request, status, exc.message)
    if status == 401 and not isinstance(exc, LoginRequired):
        response.headers["WWW-Authenticate"] = 'Basic realm="evalledger"'
    return response


def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query"))
    message = f"{where}: {first.get('msg', 'invalid value')}" if where else "invalid request"
    if wants_json(request):
        return error_response(400, "INVALID_PARAMETER_VALUE", message)
    return error_page(request, 400, message)


class HtmlRoute(APIRoute):
    """A route whose errors are answered in words (see the module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answered(request: Request) -> Response:
            try:
                return await handler(request)
            except LedgerError as exc:
                return _ledger_error(request, exc)
            except RequestValidationError as exc:
                return _validation_error(request, exc)
            except Exception as exc:
                log.exception("unexpected error on %s %s", request.method, request.url.path)
                message = f"the server failed ({type(exc).__name__}); the error is in its log"
                if wants_json(request):
                    return error_response(500, "INTERNAL_ERROR", message)
                return error_page(request, 500, message)

        return answered
