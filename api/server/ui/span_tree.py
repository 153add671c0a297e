"""A trace's spans as a tree, each with its place on the trace's time line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evalledger.traces.entities import INPUTS, OUTPUTS, SPAN_TYPE, Span

#: Attributes shown apart (inputs, outputs, type), so not again among its attributes.
_SHOWN_APART = frozenset((INPUTS, OUTPUTS, SPAN_TYPE))


@dataclass
class SpanNode:
    """One span, its children, and its start and length on the trace's time line."""

    span: Span
    start_ms: float | None
    duration_ms: float | None
    left_pct: float
    width_pct: float
    children: list[SpanNode] = field(default_factory=list)

    @property
    def other_attributes(self) -> dict[str, Any]:
        """The span's attributes without its inputs and outputs (decoded JSON values)."""
        return {
            key: self.span.get_attribute(key)
            for key in self.span.attributes
            if key not in _SHOWN_APART
        }


def _ms(ns: int | None) -> float | None:
    return None if ns is None else ns / 1_000_000


def span_tree(spans: list[Span]) -> list[SpanNode]:
    """The root spans (a span whose parent is missing counts as one), children in start
    order under their parents."""
    starts = [s.start_time_ns for s in spans if s.start_time_ns is not None]
    ends = [s.end_time_ns for s in spans if s.end_time_ns is not None]
    origin = min(starts) if starts else 0
    total = max(max(ends, default=origin) - origin, 1)
    nodes: list[SpanNode] = []
    by_id: dict[str, SpanNode] = {}
    for span in sorted(spans, key=lambda s: (s.start_time_ns or 0, s.span_id or "")):
        start, end = span.start_time_ns, span.end_time_ns
        offset = None if start is None else start - origin
        length = None if start is None or end is None else max(end - start, 0)
        node = SpanNode(
            span,
            _ms(offset),
            _ms(length),
            0.0 if offset is None else round(100 * offset / total, 2),
            0.0 if length is None else max(round(100 * length / total, 2), 0.5),
        )
        nodes.append(node)
        by_id.setdefault(span.span_id, node)
    roots = []
    for node in nodes:
        parent = by_id.get(node.span.parent_id) if node.span.parent_id else None
        if parent is None or parent is node:
            roots.append(node)
        else:
            parent.children.append(node)
    return roots
