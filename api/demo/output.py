"""How the demo prints: plain lines, numbered headings, and values clipped to a width."""

from __future__ import annotations

from typing import Any


def say(text: str = "") -> None:
    print(text, flush=True)


def heading(text: str) -> None:
    say()
    say(f"== {text}")


def clip(text: str, width: int) -> str:
    """The text, cut to `width` characters with an ellipsis when longer."""
    return text if len(text) <= width else text[: width - 1] + "…"


def short(value: Any, width: int = 44) -> str:
    return clip(str(value), width)
