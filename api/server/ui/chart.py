"""The record count of a dataset over its versions, as an SVG drawn on the server (no
script, no library): a step line, since the count holds from one version to the next,
with a marker per version (hover shows it) and the version on view set apart."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

WIDTH, HEIGHT = 760, 160
LEFT, RIGHT, TOP, BOTTOM = 56, 18, 14, 34
#: Beyond this many versions the line is drawn through an even sample of them.
MAX_POINTS = 800
#: Markers (with their hover text) only up to this many versions.
MAX_MARKERS = 120
X_TICKS = 6
Y_TICKS = 4


def nice_step(value: float) -> int:
    """The smallest of 1, 2, 5 times a power of ten that is at least `value` (and >= 1)."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    return next(s * magnitude for s in (1, 2, 5, 10) if s * magnitude >= value)


def y_ticks(largest: int) -> list[int]:
    """Round gridline values from 0 to at least `largest`, about Y_TICKS of them."""
    step = nice_step(largest / Y_TICKS)
    top = max(step, math.ceil(largest / step) * step)
    return list(range(0, top + 1, step))


def short_count(count: int) -> str:
    """An axis label: 950, 12,000, 50k, 1.5M."""
    if count >= 1_000_000:
        return f"{count / 1_000_000:g}M"
    if count >= 100_000:
        return f"{count / 1000:g}k"
    return f"{count:,}"


def _sample(points: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """At most MAX_POINTS versions, evenly spread, the first, last and largest kept."""
    if len(points) <= MAX_POINTS:
        return list(points)
    step = (len(points) - 1) / (MAX_POINTS - 1)
    keep = {round(i * step) for i in range(MAX_POINTS)}
    keep.add(max(range(len(points)), key=lambda i: points[i]["num_records"]))
    return [points[i] for i in sorted(keep)]


def _x_ticks(first: int, last: int) -> list[int]:
    if last <= first:
        return [first]
    count = min(X_TICKS, last - first + 1)
    return sorted({round(first + i * (last - first) / (count - 1)) for i in range(count)})


def _summary(points: Sequence[dict[str, Any]]) -> str:
    first, last = points[0], points[-1]
    most = max(points, key=lambda p: p["num_records"])
    return (
        f"Records over {len(points):,} versions: {first['num_records']:,} at version "
        f"{first['version']}, {last['num_records']:,} at version {last['version']}; the most, "
        f"{most['num_records']:,}, at version {most['version']}."
    )


def records_chart(points: Sequence[dict[str, Any]], current: int | None) -> Markup:
    """The chart of `points` (history rows: version, num_records, operation), `current`
    (the version on view) marked. Empty markup when there is nothing to draw."""
    if not points:
        return Markup("")
    drawn = _sample(points)
    first, last = drawn[0]["version"], drawn[-1]["version"]
    ticks = y_ticks(max(p["num_records"] for p in drawn))
    top = ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(version: int) -> float:
        if last == first:
            return LEFT + plot_w / 2
        return round(LEFT + (version - first) / (last - first) * plot_w, 1)

    def y(count: int) -> float:
        return round(TOP + plot_h - count / top * plot_h, 1)

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(_summary(points))}" preserveAspectRatio="xMinYMin meet">',
        f"<title>{escape(_summary(points))}</title>",
    ]
    for tick in ticks:
        parts.append(
            f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick)}" '
            f'y2="{y(tick)}"/><text class="chart-label" x="{LEFT - 8}" y="{y(tick) + 4}" '
            f'text-anchor="end">{short_count(tick)}</text>'
        )
    for version in _x_ticks(first, last):
        parts.append(
            f'<text class="chart-label" x="{x(version)}" y="{HEIGHT - BOTTOM + 18}" '
            f'text-anchor="middle">v{version}</text>'
        )
    path = [f"M{x(first)},{y(drawn[0]['num_records'])}"]
    for point in drawn[1:]:
        path.append(f"H{x(point['version'])}V{y(point['num_records'])}")
    line = "".join(path)
    parts.append(
        f'<path class="chart-area" d="{line}V{y(0)}H{x(first)}Z"/>'
        f'<path class="chart-line" d="{line}"/>'
    )
    if len(drawn) <= MAX_MARKERS:
        for point in drawn:
            version, count = point["version"], point["num_records"]
            kind = "chart-point current" if version == current else "chart-point"
            radius = 5.5 if version == current else 3.5
            hover = f"version {version}: {count:,} records after {point['operation']}"
            parts.append(
                f'<circle class="{kind}" cx="{x(version)}" cy="{y(count)}" r="{radius}">'
                f"<title>{escape(hover)}</title></circle>"
            )
    parts.append(
        f'<line class="chart-axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(0)}" y2="{y(0)}"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))
