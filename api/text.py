"""Text shown to people: one way to cut a long value down to a width."""

from __future__ import annotations

from typing import Any

import orjson


def clip(text: str, width: int) -> str:
    """White space folded to single spaces, cut to `width` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def clip_json(value: Any, width: int) -> str:
    """A value as compact JSON (anything else as its str), clipped."""
    return clip(orjson.dumps(value, default=str).decode(), width)
