"""Canonical JSON: the one byte form of a value that hashes and digests are computed over."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from evalledger.ledger.errors import InvalidParameter

_CANONICAL = orjson.OPT_SORT_KEYS
_MIN_INT = -(2**63)
_MAX_INT = 2**63 - 1
_JSON_TYPES = "use str, int, float, bool, None, list or dict"

# Plain JSON is dict (str keys), list (or tuple), str, int (64-bit), finite float, bool and
# None. The check is a fast boolean walk with the leaves inlined (it runs over every value
# of a large merge); only after a failure does a second walk find the path for the message.


def is_plain_dict(d: dict[Any, Any]) -> bool:
    """True when the dict is plain JSON."""
    for key, x in d.items():
        if type(key) is not str:
            return False
        t = type(x)
        if t is str or t is bool or x is None:
            continue
        if t is dict:
            if not is_plain_dict(x):
                return False
        elif t is int:
            if not _MIN_INT <= x <= _MAX_INT:
                return False
        elif t is float:
            if x - x != 0.0:  # NaN and +-inf
                return False
        elif t is list or t is tuple:
            if not are_plain(x):
                return False
        else:
            return False
    return True


def are_plain(items: Iterable[Any]) -> bool:
    """True when every item is plain JSON."""
    for x in items:
        t = type(x)
        if t is str or t is bool or x is None:
            continue
        if t is dict:
            if not is_plain_dict(x):
                return False
        elif t is int:
            if not _MIN_INT <= x <= _MAX_INT:
                return False
        elif t is float:
            if x - x != 0.0:
                return False
        elif t is list or t is tuple:
            if not are_plain(x):
                return False
        else:
            return False
    return True


def json_problem(value: Any, path: str) -> tuple[str, str] | None:
    """(path, reason) of the first value that is not plain JSON, None when all are."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        t = type(item)
        if t is str or t is bool or item is None:
            continue
        if t is int:
            if not _MIN_INT <= item <= _MAX_INT:
                return where, f"integer {item} does not fit in 64 bits"
        elif t is float:
            if item - item != 0.0:
                return where, f"{item!r} is not a JSON number (NaN and infinity are not allowed)"
        elif t is dict:
            for key in item:
                if type(key) is not str:
                    return where, f"key {key!r} is not a string"
            stack.extend((sub, f"{where}.{key}") for key, sub in reversed(item.items()))
        elif t is list or t is tuple:
            stack.extend((sub, f"{where}[{n}]") for n, sub in reversed(list(enumerate(item))))
        else:
            return where, f"a {t.__name__} is not a JSON value ({_JSON_TYPES})"
    return None


def check_json(value: Any, where: str = "value") -> None:
    """Raise InvalidParameter naming the path of the first value that is not plain JSON."""
    if not are_plain((value,)):
        where, reason = json_problem(value, where) or (where, "not a JSON value")
        raise InvalidParameter(f"{where}: {reason}")


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
