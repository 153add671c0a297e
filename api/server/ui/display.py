"""How values read on a page: times, durations, JSON (compact, pretty, previews), URLs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import orjson

#: JSON longer than this (compact) is folded in a <details>; shorter shows inline.
INLINE_JSON = 80
#: Folded JSON beyond this many characters is cut, with a note saying how much is left.
MAX_PRETTY = 100_000


def utc_text(ms: int | None) -> str:
    """Epoch ms as ``2026-11-26 03:13:03 UTC`` (what shows without JavaScript)."""
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso_text(ms: int | None) -> str:
    """Epoch ms as ISO 8601 in UTC, for <time datetime=...>."""
    if ms is None:
        return ""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def duration_text(ms: int | float | None) -> str:
    """A duration: ``850 ms``, ``1.25 s``, ``3 min 5 s``; an em dash when unknown."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms:.0f} ms" if float(ms).is_integer() else f"{ms:.1f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f} s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    return f"{minutes} min {seconds} s"


def compact_json(value: Any) -> str:
    """One line of JSON (non-ASCII kept); a string shows as itself, in quotes."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str).decode()


def pretty_json(value: Any) -> str:
    """Indented JSON, cut at MAX_PRETTY characters with a note."""
    text = orjson.dumps(
        value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str
    ).decode()
    if len(text) <= MAX_PRETTY:
        return text
    return text[:MAX_PRETTY] + f"\n… ({len(text) - MAX_PRETTY:,} more characters not shown)"


def is_short(value: Any) -> bool:
    """Whether this value reads inline (else it is folded)."""
    return len(compact_json(value)) <= INLINE_JSON


def preview(value: Any, limit: int = 100) -> str:
    """A one-line preview of a value: strings as they are, anything else as JSON."""
    text = value if isinstance(value, str) else compact_json(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def path_part(value: Any) -> str:
    """A value quoted to be one segment of a URL path."""
    return quote(str(value), safe="")


def with_query(path: str, **params: Any) -> str:
    """`path` with the query parameters that are set (lists repeat the name)."""
    kept = {k: v for k, v in params.items() if v not in (None, "", [])}
    return f"{path}?{urlencode(kept, doseq=True)}" if kept else path


def sentence(text: str) -> str:
    """A message as a sentence: capital first letter, a full stop at the end."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def plural(count: int, singular: str, many: str | None = None) -> str:
    """``1 record``, ``2 records``."""
    return f"{count:,} {singular if count == 1 else many or singular + 's'}"


FILTERS = {
    "utc": utc_text,
    "iso": iso_text,
    "duration": duration_text,
    "compact_json": compact_json,
    "pretty_json": pretty_json,
    "preview": preview,
    "q": path_part,
    "sentence": sentence,
}
GLOBALS = {"is_short": is_short, "with_query": with_query, "plural": plural}
