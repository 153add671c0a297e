"""Canonical JSON: the one byte form of a value that hashes and digests are computed over."""

from __future__ import annotations

import math
from typing import Any

import orjson

from evalledger.ledger.errors import InvalidParameter

_CANONICAL = orjson.OPT_SORT_KEYS
_MAX_INT = 2**63 - 1


def _is_plain(value: Any) -> bool:
    """Fast check, no paths: True when the value is plain JSON."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -_MAX_INT - 1 <= value <= _MAX_INT
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        for key, sub in value.items():
            if type(key) is not str or not _is_plain(sub):
                return False
        return True
    if kind is list or kind is tuple:
        return all(_is_plain(sub) for sub in value)
    return False


def _problem(value: Any, path: str) -> str | None:
    """The message for the first value that is not plain JSON (slow; only after a failure)."""
    kind = type(value)
    if kind is int and not -_MAX_INT - 1 <= value <= _MAX_INT:
        return f"{path}: integer {value} does not fit in 64 bits"
    if kind is float and not math.isfinite(value):
        return f"{path}: {value!r} is not a JSON number (NaN and infinity are not allowed)"
    if kind is dict:
        for key, sub in value.items():
            if type(key) is not str:
                return f"{path}: key {key!r} is not a string"
            found = _problem(sub, f"{path}.{key}")
            if found:
                return found
        return None
    if kind is list or kind is tuple:
        for i, sub in enumerate(value):
            found = _problem(sub, f"{path}[{i}]")
            if found:
                return found
        return None
    if kind in (str, bool, int, float) or value is None:
        return None
    return (
        f"{path}: a {kind.__name__} is not a JSON value "
        "(use str, int, float, bool, None, list or dict)"
    )


def check_json(value: Any, where: str = "value") -> None:
    """Raise InvalidParameter naming the path of the first value that is not plain JSON.

    Plain JSON is dict (str keys), list, str, int (64-bit), finite float, bool and None.
    """
    if not _is_plain(value):
        raise InvalidParameter(_problem(value, where) or f"{where}: not a JSON value")


def canonical_bytes(value: Any, where: str = "value") -> bytes:
    """Check and encode a value as canonical JSON bytes (sorted keys, no whitespace)."""
    check_json(value, where)
    return orjson.dumps(value, option=_CANONICAL)


def canonical_text(value: Any, where: str = "value") -> str:
    """Canonical JSON as a str, for storing in text columns."""
    return canonical_bytes(value, where).decode()


def loads(text: str | bytes) -> Any:
    """Decode JSON text written by canonical_text."""
    return orjson.loads(text)


def trusted_text(value: Any) -> str:
    """Canonical JSON of a value built from already-checked JSON (no walk)."""
    return orjson.dumps(value, option=_CANONICAL).decode()
