"""A progress bar on stderr, drawn only when stderr is a terminal.

One line, redrawn in place: ``importing [#####-----]  52%  5,200/10,000 records  3,100/s
ETA 0:02``. Each redraw pads over what the previous one left and stays within the
terminal's width, so nothing is left behind and the line never wraps. Units are counted
(``records``, ``events``, ``rows``) or ``bytes`` (shown as kB, MB, GB).
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

BAR_WIDTH = 20
REDRAW_SECONDS = 0.1
#: An ETA is shown once this much time has passed (the first rates are noise).
ETA_AFTER_SECONDS = 0.5


def _size(count: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:,.0f} {unit}" if unit == "B" else f"{count:,.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


def _duration(seconds: float) -> str:
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _columns(stream: TextIO) -> int:
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        columns = 0
    return columns or 80  # a pseudo-terminal may report 0


class ProgressBar:
    """Call update(done, total); close() ends the line. Silent when not on a terminal.

    `unit` names what is counted (`records`, `events`, `rows`), or is `bytes`.
    """

    def __init__(
        self,
        label: str,
        stream: TextIO | None = None,
        *,
        unit: str = "records",
        force: bool = False,
    ) -> None:
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.enabled = force or _is_terminal(self.stream)
        self._started = time.perf_counter()
        self._last_draw = 0.0
        self._drawn = 0  # the longest line drawn (0: nothing drawn yet)

    def _amount(self, done: int, total: int) -> str:
        if self.unit == "bytes":
            return f"{_size(done)}/{_size(total)}"
        return f"{done:,}/{total:,} {self.unit}"

    def _rate(self, rate: float) -> str:
        if self.unit == "bytes":
            return f"{_size(rate)}/s"
        return f"{rate:,.0f}/s"

    def line(self, done: int, total: int, elapsed: float, width: int = 200) -> str:
        """The text of the bar for this state (no carriage return), at most `width`
        characters: the rate goes first when space is short, then the end is cut."""
        fraction = 1.0 if total <= 0 else min(1.0, max(0.0, done / total))
        filled = int(BAR_WIDTH * fraction)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        head = [f"{self.label} [{bar}] {fraction * 100:3.0f}%", self._amount(done, total)]
        rate = done / elapsed if elapsed > 0 else 0.0
        if done >= total:
            tail, extra = [f"in {_duration(elapsed)}"], []
        elif elapsed >= ETA_AFTER_SECONDS and rate > 0:
            tail, extra = [f"ETA {_duration((total - done) / rate)}"], [self._rate(rate)]
        else:
            tail, extra = ["ETA --:--"], []
        text = "  ".join(head + extra + tail)
        if len(text) > width:
            text = "  ".join(head + tail)
        return text[:width]

    def update(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last_draw < REDRAW_SECONDS and done < total:
            return
        self._last_draw = now
        width = max(10, _columns(self.stream) - 1)  # a full-width line would wrap
        self._draw(self.line(done, total, now - self._started, width), width)

    def _draw(self, text: str, width: int) -> None:
        # spaces over the end of a longer previous line: nothing of it is left behind
        self.stream.write("\r" + text.ljust(min(self._drawn, width)))
        self.stream.flush()
        self._drawn = max(self._drawn, len(text))

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = 0

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
