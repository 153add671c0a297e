"""JSON text decoded without changing a number.

orjson reads an integer literal beyond 64 bits (``123456789012345678901``) as a float,
silently rounding it. A file read with it could then store a different value than the one
written, while the Python API refuses such an integer. `loads_exact` decodes with orjson
(fast, strict: no NaN, no lone surrogate) and, only when the text holds a literal orjson
could have rounded, decodes it again with the standard library, which keeps every integer
exact, so the checks that follow see the integer as written and refuse it. orjson keeps
every integer from -2**63 to 2**64-1 exact, so only 20 or more digits, or a minus sign and
19 or more, need the second decoding (19-digit nanosecond timestamps do not).
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from evalledger.ledger.encoding import too_deep
from evalledger.ledger.limits import PAYLOAD_NESTING

_LONG_DIGITS_TEXT = re.compile(r"-\d{19}|\d{20}")
_LONG_DIGITS_BYTES = re.compile(rb"-\d{19}|\d{20}")


def loads_exact(text: str | bytes) -> Any:
    """orjson.loads, with integer literals kept exact (raises orjson.JSONDecodeError)."""
    value = orjson.loads(text)
    pattern = _LONG_DIGITS_BYTES if isinstance(text, bytes) else _LONG_DIGITS_TEXT
    if pattern.search(text) and _json_can_recurse(text, value):  # type: ignore[arg-type]
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
