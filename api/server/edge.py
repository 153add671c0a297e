"""The edge of every request: a request id, one log line, and the body size limit.

A pure ASGI middleware, so a body over the limit is refused (413) as soon as its
Content-Length is seen or its bytes pass the limit, before a route sees any of it (the
body is read here, bounded, and handed on). Log lines
never carry headers or bodies, so no credential reaches a log.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import orjson

log = logging.getLogger("evalledger.server.requests")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

Scope = dict[str, Any]


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value
    return None


async def _read_body(receive: Any, limit: int) -> bytes | None:
    """The whole request body, or None as soon as it passes `limit` bytes."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def _replay(body: bytes, receive: Any) -> Any:
    """A receive() that hands the app the body already read, then waits as the server's."""
    sent = False

    async def replayed() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


class EdgeMiddleware:
    """Request id (X-Request-Id, echoed), body limit, and a log line per request."""

    def __init__(self, app: Any, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = (_header(scope, b"x-request-id") or b"").decode("latin-1")
        request_id = given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = {"code": 500}
        limit = self.max_body_bytes

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await self._too_large(send_with_id, limit)
        else:
            body = await _read_body(receive, limit)
            if body is None:
                await self._too_large(send_with_id, limit)
            else:
                await self.app(scope, _replay(body, receive), send_with_id)
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.info(
            "%s %s %s %.1fms user=%s request_id=%s",
            scope["method"],
            scope["path"],
            status["code"],
            elapsed_ms,
            scope["state"].get("user", "-"),
            request_id,
        )

    @staticmethod
    async def _too_large(send: Any, limit: int) -> None:
        body = orjson.dumps(
            {
                "error_code": "REQUEST_LIMIT_EXCEEDED",
                "message": f"the request body is larger than the limit of {limit} bytes "
                "(EVALLEDGER_MAX_BODY_BYTES)",
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
