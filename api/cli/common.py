"""What every command of the CLI shares: the user error it raises, and how it prints
times, counts, tables and JSON documents."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from evalledger.text import clip, clip_json

CELL_WIDTH = 60


class UserError(Exception):
    """A mistake the user can fix (a path, an argument): exit 1 with this one line."""


# --------------------------------------------------------------------------- counts, times


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`1 event`, `2 events`, `1,000 records` (nouns: the plural when it is not noun + s)."""
    word = noun if count == 1 else (nouns or noun + "s")
    return f"{count:,} {word}"


def time_text(ms: int | None) -> str:
    """Epoch ms as `2026-12-01 11:15:56 UTC` (a dash for None)."""
    if ms is None:
        return "-"
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (ValueError, OverflowError, OSError):  # beyond the years 1 to 9999
        return f"{ms} ms"


def instant_text(ms: int) -> str:
    """Epoch ms as an exact ISO 8601 instant (`2026-12-01T11:15:56.123Z`), which --as-of takes
    back as it is."""
    try:
        moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):  # beyond the years 1 to 9999
        return f"{ms} (epoch ms)"
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def timestamp_ms(value: Any) -> int:
    """A pandas Timestamp (as history() returns them) as epoch ms."""
    return int(value.value // 1_000_000)


# --------------------------------------------------------------------------- text


def cell(value: Any, width: int = CELL_WIDTH) -> str:
    """A JSON value as compact JSON, clipped to a table cell."""
    return clip_json(value, width)


def clip_text(text: str, width: int = CELL_WIDTH) -> str:
    return clip(text, width)


def tags_text(tags: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(tags.items())) or "-"


def labels_text(labels: dict[str, int]) -> str:
    return ", ".join(f"{label} (v{version})" for label, version in labels.items()) or "-"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """Columns padded to their widest cell; the columns numbered in `right` align right."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out.extend(line(row) for row in rows)
    return "\n".join(out)


# --------------------------------------------------------------------------- JSON


def json_text(value: Any) -> str:
    """Compact JSON, as records are shown in tables."""
    return orjson.dumps(value, default=str).decode()


def print_json(document: Any) -> None:
    """One JSON document on stdout, indented, keys in the order they were built."""
    sys.stdout.write(orjson.dumps(document, default=str, option=orjson.OPT_INDENT_2).decode())
    sys.stdout.write("\n")


def record_json(record: Any) -> dict[str, Any]:
    """A DatasetRecord as the JSON object --json and `show --record` print."""
    return record.to_dict()
