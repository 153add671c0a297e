"""MLflow's wire conventions: JSON out through orjson, empty fields left out, JSON-in-JSON."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response

from evalledger.ledger import InvalidParameter


def ok(body: dict[str, Any] | None = None) -> Response:
    """HTTP 200 with a JSON object (the MLflow client accepts exactly 200)."""
    return Response(orjson.dumps(body or {}), media_type="application/json")


def drop_empty(body: dict[str, Any]) -> dict[str, Any]:
    """Proto3 JSON leaves out empty repeated fields and unset ones."""
    return {k: v for k, v in body.items() if v is not None and v != [] and v != {}}


def json_text(value: Any) -> str:
    """A value as the JSON string MLflow nests inside its JSON (tags, schema, records)."""
    return orjson.dumps(value).decode()


def parse_json_text(text: str | None, field: str, default: Any = None) -> Any:
    """A JSON-in-JSON field decoded; a clear 400 naming the field when it is not JSON."""
    if text is None or text == "":
        return default
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(f"{field} is not valid JSON: {exc}", field=field) from None
