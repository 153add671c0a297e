"""How the demo prints: plain lines, numbered headings, and values clipped to a width."""

from __future__ import annotations

from typing import Any

from evalledger.text import clip


def say(text: str = "") -> None:
    print(text, flush=True)


def heading(text: str) -> None:
    say()
    say(f"== {text}")


def short(value: Any, width: int = 44) -> str:
    return clip(str(value), width)
