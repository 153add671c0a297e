"""Canonical JSON: the one byte form of a value that hashes and digests are computed over."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson

from evalledger.ledger.errors import InvalidParameter
from evalledger.ledger.limits import MAX_NESTING

_CANONICAL = orjson.OPT_SORT_KEYS
_MIN_INT = -(2**63)
_MAX_INT = 2**63 - 1
_JSON_TYPES = "use str, int, float, bool, None, list or dict"


def _too_deep(levels: int) -> str:
    return f"nests deeper than {levels} levels of lists and dicts (the limit)"


TOO_DEEP = _too_deep(MAX_NESTING)

# Plain JSON is dict (str keys), list (or tuple), str, int (64-bit), finite float, bool and
# None, nesting at most MAX_NESTING levels. The check is a fast boolean walk with the
# leaves inlined (it runs over every value of a large merge); `levels` is what the value
# may still nest, so a value too deep fails after MAX_NESTING calls, never near Python's
# recursion limit. Only after a failure does a second walk find the path for the message.


def is_plain_dict(d: dict[Any, Any], levels: int = MAX_NESTING) -> bool:
    """True when the dict is plain JSON nesting at most `levels` levels (itself is one)."""
    for key, x in d.items():
        if type(key) is not str:
            return False
        t = type(x)
        if t is str or t is bool or x is None:
            continue
        if t is dict:
            if levels < 2 or not is_plain_dict(x, levels - 1):
                return False
        elif t is int:
            if not _MIN_INT <= x <= _MAX_INT:
                return False
        elif t is float:
            if x - x != 0.0:  # NaN and +-inf
                return False
        elif t is list or t is tuple:
            if levels < 2 or not are_plain(x, levels - 2):
                return False
        else:
            return False
    return True


def are_plain(items: Iterable[Any], levels: int = MAX_NESTING) -> bool:
    """True when every item is plain JSON nesting at most `levels` levels."""
    for x in items:
        t = type(x)
        if t is str or t is bool or x is None:
            continue
        if t is dict:
            if levels < 1 or not is_plain_dict(x, levels):
                return False
        elif t is int:
            if not _MIN_INT <= x <= _MAX_INT:
                return False
        elif t is float:
            if x - x != 0.0:
                return False
        elif t is list or t is tuple:
            if levels < 1 or not are_plain(x, levels - 1):
                return False
        else:
            return False
    return True


def json_problem(value: Any, path: str, levels: int = MAX_NESTING) -> tuple[str, str] | None:
    """(path, reason) of the first value that is not plain JSON (or nests deeper than
    `levels`), None when all are."""
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        t = type(item)
        if t is str or t is bool or item is None:
            continue
        if t is int:
            if not _MIN_INT <= item <= _MAX_INT:
                return where, f"integer {item} does not fit in 64 bits"
        elif t is float:
            if item - item != 0.0:
                return where, f"{item!r} is not a JSON number (NaN and infinity are not allowed)"
        elif t is dict or t is list or t is tuple:
            if depth == levels:
                return where, _too_deep(levels)
            if t is dict:
                for key in item:
                    if type(key) is not str:
                        return where, f"key {key!r} is not a string"
                inner = reversed(item.items())
                stack.extend((sub, f"{where}.{key}", depth + 1) for key, sub in inner)
            else:
                inner = reversed(list(enumerate(item)))
                stack.extend((sub, f"{where}[{n}]", depth + 1) for n, sub in inner)
        else:
            return where, f"a {t.__name__} is not a JSON value ({_JSON_TYPES})"
    return None


def too_deep(value: Any, path: str, levels: int = MAX_NESTING) -> str | None:
    """The path of the first list or dict nested deeper than `levels`, None when there is
    none. Walks any containers (foreign values too) without recursing."""
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[tuple[Any, Any]] = item.items()
        elif isinstance(item, list | tuple):
            children = enumerate(item)
        else:
            continue
        if depth == levels:
            return where
        for key, sub in children:
            if isinstance(sub, dict | list | tuple):
                shown = f"{where}[{key}]" if type(key) is int else f"{where}.{key}"
                stack.append((sub, shown, depth + 1))
    return None


def unreadable(exc: orjson.JSONDecodeError) -> str:
    """Why orjson could not read a text: nesting beyond its 1,024 levels (which is beyond
    the ledger's limit too), or text that is not JSON."""
    return TOO_DEEP if "depth" in str(exc) else f"not valid JSON ({exc})"


def clip_path(path: str, limit: int = 200) -> str:
    """A path short enough for a message (a value 100 levels deep has a long path)."""
    return path if len(path) <= limit else f"{path[: limit // 2]}...{path[-limit // 2 :]}"


def check_json(value: Any, where: str = "value", levels: int = MAX_NESTING) -> None:
    """Raise InvalidParameter naming the path of the first value that is not plain JSON,
    or that nests deeper than `levels`."""
    if not are_plain((value,), levels):
        where, reason = json_problem(value, where, levels) or (where, "not a JSON value")
        raise InvalidParameter(f"{clip_path(where)}: {reason}")


def canonical_bytes(value: Any, where: str = "value", levels: int = MAX_NESTING) -> bytes:
    """Check and encode a value as canonical JSON bytes (sorted keys, no whitespace)."""
    check_json(value, where, levels)
    try:
        return orjson.dumps(value, option=_CANONICAL)
    except orjson.JSONEncodeError as exc:
        raise InvalidParameter(f"{_unencodable_path(value, where)}: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    text = str(exc)
    return f"not valid Unicode text ({text})" if "UTF-8" in text else text


def _unencodable_path(value: Any, path: str) -> str:
    """The path of the first string (or key) orjson cannot encode, else `path` itself."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if type(item) is str:
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return where
        elif type(item) is dict:
            for key in item:
                try:
                    key.encode("utf-8")
                except UnicodeEncodeError:
                    return f"{where}.{_shown(key)} (a key)"
            stack.extend((sub, f"{where}.{_shown(key)}") for key, sub in reversed(item.items()))
        elif type(item) is list or type(item) is tuple:
            stack.extend((sub, f"{where}[{n}]") for n, sub in reversed(list(enumerate(item))))
    return path


def _shown(key: str) -> str:
    """A key as a message can show it: a lone surrogate written as its escape."""
    return key.encode("utf-8", "backslashreplace").decode()


def canonical_text(value: Any, where: str = "value") -> str:
    """Canonical JSON as a str, for storing in text columns."""
    return canonical_bytes(value, where).decode()


#: Decode JSON text written by canonical_text: orjson.loads itself, as a wrapper's call
#: costs some 60 ns a decode, two per event read (payload and metadata).
loads: Callable[[str | bytes], Any] = orjson.loads


def trusted_text(value: Any) -> str:
    """Canonical JSON of a value built from already-checked JSON (no walk)."""
    return orjson.dumps(value, option=_CANONICAL).decode()
