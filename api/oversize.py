"""Errors for values too large for the database, naming the record (or trace) and the field
that holds most of its bytes. Built only when a value is refused."""

from __future__ import annotations

from typing import Any

import orjson

from evalledger.ledger import InvalidParameter
from evalledger.ledger.encoding import clip_path
from evalledger.ledger.limits import BackendLimits

RECORD_FIELDS = ("inputs", "outputs", "expectations", "tags", "source")
#: Levels a search for the largest field goes down at most.
_DEPTH = 8


def _size(value: Any) -> int:
    return len(orjson.dumps(value))


def largest_part(value: Any, path: str) -> str:
    """The path of the part of `value` that holds most of its bytes: down through dicts and
    lists while one child holds at least half of them."""
    for _ in range(_DEPTH):
        if isinstance(value, dict):
            children = [(f"{path}.{k}" if path else str(k), v) for k, v in value.items()]
        elif isinstance(value, list | tuple):
            children = [(f"{path}[{n}]", v) for n, v in enumerate(value)]
        else:
            break
        if not children:
            break
        sizes = [(_size(v), where, v) for where, v in children]
        biggest, where, child = max(sizes, key=lambda s: s[0])
        if biggest * 2 < sum(s[0] for s in sizes) and path:
            break
        path, value = where, child
    return path


def _limit(what: str, size: int, limits: BackendLimits) -> str:
    return (
        f"the {what} is {size:,} bytes as JSON as sent to the database; {limits.describe()}, "
        f"so one {what} can be at most {limits.max_record_bytes:,} bytes"
    )


def record_too_large(
    index: int, record: dict[str, Any], size: int, limits: BackendLimits
) -> InvalidParameter:
    """The error for record `index` of a batch whose JSON is `size` bytes, over the limit."""
    field = largest_part({k: record.get(k) for k in RECORD_FIELDS}, "")
    return InvalidParameter(
        f"record {index}: field '{clip_path(field)}': {_limit('record', size, limits)}",
        index=index,
        field=field,
    )


def trace_too_large(
    where: str, trace: dict[str, Any], size: int, limits: BackendLimits
) -> InvalidParameter:
    """The error for a trace (named by `where`) whose JSON is `size` bytes, over the limit."""
    field = largest_part(trace, "")
    return InvalidParameter(
        f"{where}: field '{clip_path(field)}': {_limit('trace', size, limits)}", field=field
    )


def check_trace_size(where: str, trace: dict[str, Any], limits: BackendLimits) -> bytes:
    """The trace's JSON (as the event will carry it); InvalidParameter when it is larger
    than one event of this database takes."""
    text = orjson.dumps({"trace": trace}, option=orjson.OPT_SORT_KEYS)
    if not limits.fits(text, limits.max_record_bytes):
        raise trace_too_large(where, trace, limits.sent_bytes(text), limits)
    return text
