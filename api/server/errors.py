"""Every failure as MLflow's JSON error body with MLflow's status; never a 500 for bad input
(the MLflow client retries a 5xx for about four minutes)."""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from evalledger.ledger import (
    ConcurrencyConflict,
    DatabaseUnavailable,
    InvalidParameter,
    LedgerError,
    PermissionDenied,
    ResourceNotFound,
    Unauthenticated,
)

log = logging.getLogger("evalledger.server")

_STATUS: tuple[tuple[type[LedgerError], int], ...] = (
    (ResourceNotFound, 404),
    (Unauthenticated, 401),
    (PermissionDenied, 403),
    (ConcurrencyConflict, 409),
    (DatabaseUnavailable, 503),
)
_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "ENDPOINT_NOT_FOUND",
    405: "ENDPOINT_NOT_FOUND",
    413: "REQUEST_LIMIT_EXCEEDED",
    415: "BAD_REQUEST",
}


def error_response(status: int, code: str, message: str, **headers: str) -> Response:
    body = orjson.dumps({"error_code": code, "message": message})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def status_of(exc: LedgerError) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 400


def _ledger_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LedgerError)
    status = status_of(exc)
    headers = {"WWW-Authenticate": 'Basic realm="evalledger"'} if status == 401 else {}
    return error_response(status, exc.error_code, exc.message, **headers)


def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = str(first.get("msg", "invalid request"))
    text = f"{where}: {message}" if where else message
    return error_response(400, InvalidParameter.error_code, f"invalid request: {text}")


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "BAD_REQUEST")
    detail = exc.detail if isinstance(exc.detail, str) else "request refused"
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no route {request.method} {request.url.path}"
    return error_response(exc.status_code, code, detail)


def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "INTERNAL_ERROR", f"internal error ({type(exc).__name__})")


def install(app: FastAPI) -> None:
    app.add_exception_handler(LedgerError, _ledger_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
