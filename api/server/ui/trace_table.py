"""The trace table's controls: which order it is in, the column links that change it, and
what a row shows of a trace."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evalledger.server.ui.display import with_query
from evalledger.traces.entities import Trace

TIME = "attributes.timestamp_ms"
LATENCY = "attributes.execution_time_ms"
DEFAULT_ORDER = f"{TIME} DESC"
#: Tags whose key starts so are MLflow's own bookkeeping: shown on the trace page only.
HIDDEN_TAG_PREFIX = "mlflow."


@dataclass(frozen=True)
class SortLink:
    """A column header that sorts: where it links, and its aria-sort now."""

    href: str
    aria_sort: str  # "ascending", "descending" or "none"
    arrow: str


def _current(order_by: str) -> tuple[str, bool]:
    """(key, descending) of the order asked for (the default: newest first)."""
    words = (order_by or DEFAULT_ORDER).split()
    key = words[0] if words else TIME
    return key, len(words) < 2 or words[-1].upper() != "ASC"


def sort_link(base: str, params: dict[str, Any], order_by: str, key: str) -> SortLink:
    """The header link of the column sorted by `key`: toggles the direction when the table
    is sorted by it, else sorts by it, largest first."""
    current, descending = _current(order_by)
    if current == key:
        target, state, arrow = (
            (f"{key} ASC", "descending", "↓") if descending else (f"{key} DESC", "ascending", "↑")
        )
    else:
        target, state, arrow = f"{key} DESC", "none", ""
    order = "" if target == DEFAULT_ORDER else target
    return SortLink(with_query(base, **params, order_by=order), state, arrow)


def visible_tags(trace: Trace) -> dict[str, str]:
    """The tags a row shows: the user's, not MLflow's bookkeeping."""
    return {k: v for k, v in trace.info.tags.items() if not k.startswith(HIDDEN_TAG_PREFIX)}


def request_of(trace: Trace) -> Any:
    """What the trace was asked: its root span's inputs (or MLflow's preview)."""
    root = trace.data.root_span
    if root is not None and root.inputs is not None:
        return root.inputs
    return trace.info.request_preview


def name_of(trace: Trace) -> str:
    root = trace.data.root_span
    return root.name if root is not None else trace.info.tags.get("mlflow.traceName", "")
