"""JSON text decoded without changing a number.

orjson reads an integer literal beyond 64 bits (``123456789012345678901``) as a float,
silently rounding it. A file read with it could then store a different value than the one
written, while the Python API refuses such an integer. `loads_exact` decodes with orjson
(fast, strict: no NaN, no lone surrogate) and, only when the text holds a literal orjson
could have rounded, decodes it again with the standard library, which keeps every integer
exact, so the checks that follow see the integer as written and refuse it. orjson keeps
every integer from -2**63 to 2**64-1 exact, so only 20 or more digits, or a minus sign and
19 or more, need the second decoding (19-digit nanosecond timestamps do not). A string
that holds such a run right after one of those characters only costs the second decoding.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from evalledger.ledger.encoding import too_deep
from evalledger.ledger.limits import PAYLOAD_NESTING

#: Every digit as "0", a minus sign as "-", anything else as a space: a long run of digits
#: is then a substring search away, both in C (a regular expression scanning every
#: position of a long trace cost more than decoding it).
_DIGITS = bytes(
    ord("0") if chr(b).isdigit() and b < 128 else ord("-") if b == ord("-") else ord(" ")
    for b in range(256)
)
_RUN, _NEGATIVE_RUN = b"0" * 20, b"-" + b"0" * 19
_BEFORE_NUMBER, _SPACE = b"[:,", b" \t\n\r"


def _has_long_number(text: str | bytes) -> bool:
    """True when `text` holds a number token orjson could have rounded: 20 or more digits,
    or a minus sign and 19 or more, at the start of the text or after ``[``, ``:`` or ``,``
    and spaces (the only places JSON puts a number). The digits of an id or a hash inside
    a string do not count (a string that holds such a run right after one of those
    characters only costs the second decoding)."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    shape = raw.translate(_DIGITS)
    for run in (_RUN, _NEGATIVE_RUN):
        at = shape.find(run)
        while at >= 0:
            if _starts_number(raw, at):
                return True
            at = shape.find(b" ", at)  # past this run: the shape's next non-digit
            if at < 0:
                break
            at = shape.find(run, at)
    return False


def _starts_number(raw: bytes, at: int) -> bool:
    """True when the run of digits starting at `at` is where a JSON number may start."""
    i = at - 1
    while i >= 0 and raw[i] in _SPACE:
        i -= 1
    return i < 0 or raw[i] in _BEFORE_NUMBER


def loads_exact(text: str | bytes) -> Any:
    """orjson.loads, with integer literals kept exact (raises orjson.JSONDecodeError)."""
    value = orjson.loads(text)
    if _has_long_number(text) and _json_can_recurse(text, value):
        value = json.loads(text)  # orjson accepted it, so this reads the same value exactly
    return value


def _json_can_recurse(text: str | bytes, value: Any) -> bool:
    """True when the standard library can decode `text` without reaching Python's recursion
    limit (orjson reads 1,024 levels). A value too deep for it is past the ledger's nesting
    limit anyway, and is refused for that by whoever checks it next."""
    opening = (b"[", b"{") if isinstance(text, bytes) else ("[", "{")
    if text.count(opening[0]) + text.count(opening[1]) <= PAYLOAD_NESTING:  # type: ignore[arg-type]
        return True
    return too_deep(value, "", PAYLOAD_NESTING) is None
