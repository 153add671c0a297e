"""Keyset paging: page tokens that carry the last row's sort key, stable under inserts."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson
import sqlalchemy as sa

from evalledger.ledger import InvalidParameter
from evalledger.validation import shown


class PagedList(list):
    """A page of results; `.token` continues with the next page (None on the last page)."""

    token: str | None = None

    def __init__(self, items: list[Any], token: str | None) -> None:
        super().__init__(items)
        self.token = token


def fingerprint(*parts: Any) -> str:
    """Ties a token to the query it came from, so it is not reused with another one."""
    return hashlib.sha256(orjson.dumps(parts, default=str)).hexdigest()[:12]


def encode_token(query_id: str, key: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([query_id, key])).decode()


def decode_token(token: str | None, query_id: str) -> list[Any] | None:
    if token is None:
        return None
    try:
        found_id, key = orjson.loads(base64.urlsafe_b64decode(token.encode()))
    except Exception:
        raise InvalidParameter(
            f"page_token {shown(token)} is not a token this search returned"
        ) from None
    if found_id != query_id:
        raise InvalidParameter(
            "page_token belongs to a search with another filter, order or experiment list"
        )
    if not isinstance(key, list) or not all(_is_sort_value(v) for v in key):
        raise InvalidParameter(f"page_token {shown(token)} is not a token this search returned")
    return key


def _is_sort_value(value: Any) -> bool:
    """A value a sort column can hold: text, a 64-bit integer, a finite float, or NULL."""
    if value is None or type(value) is str:
        return type(value) is not str or "\x00" not in value
    if type(value) is int:
        return -(2**63) <= value < 2**63
    return type(value) is float and value - value == 0.0


def after(
    columns: list[tuple[sa.ColumnElement[Any], bool]], key: list[Any]
) -> sa.ColumnElement[bool]:
    """Rows strictly after `key` in the order (column, descending) ...: a keyset condition."""
    clauses = []
    for i, (column, descending) in enumerate(columns):
        equal = [c == v for (c, _), v in zip(columns[:i], key[:i], strict=True)]
        beyond = column < key[i] if descending else column > key[i]
        clauses.append(sa.and_(*equal, beyond))
    return sa.or_(*clauses)


def check_max_results(max_results: Any, default: int, limit: int) -> int:
    if max_results is None:
        return default
    if (
        isinstance(max_results, bool)
        or not isinstance(max_results, int)
        or not 1 <= max_results <= limit
    ):
        raise InvalidParameter(
            f"max_results must be an int from 1 to {limit}, got {shown(max_results)}"
        )
    return max_results
