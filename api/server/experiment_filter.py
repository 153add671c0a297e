"""search_experiments' filter (``name LIKE 'x%'``, ``tags.team = 'a'``), evaluated on the
experiments themselves: there are few, and MLflow clients rarely filter them."""

from __future__ import annotations

import re
from typing import Any

from evalledger.experiments import Experiment
from evalledger.ledger import InvalidParameter
from evalledger.query.filters import And, Comparison, Expr, Or, parse_filter

_ATTRIBUTES = ("name", "experiment_id", "creation_time", "last_update_time")


def _like(pattern: str, text: str, ignore_case: bool) -> bool:
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, text, re.DOTALL | (re.IGNORECASE if ignore_case else 0)) is not None


def _value(cmp: Comparison, experiment: Experiment) -> Any:
    if cmp.field.kind == "tag":
        return experiment.tags.get(cmp.field.key)
    if cmp.field.kind == "attribute" and cmp.field.key in _ATTRIBUTES:
        return getattr(experiment, cmp.field.key)
    raise InvalidParameter(
        f"Invalid attribute key '{cmp.field.key}' specified. Valid keys are "
        f"{', '.join(_ATTRIBUTES)} and tags.<key>"
    )


def _holds(cmp: Comparison, experiment: Experiment) -> bool:
    found = _value(cmp, experiment)
    op, value = " ".join(cmp.op.upper().split()), cmp.value
    if op == "IS NULL":
        return found is None
    if op == "IS NOT NULL":
        return found is not None
    if found is None:
        return False
    if op in ("IN", "NOT IN"):
        inside = found in (value if isinstance(value, tuple) else (value,))
        return inside if op == "IN" else not inside
    if op in ("LIKE", "ILIKE"):
        return isinstance(value, str) and _like(value, str(found), op == "ILIKE")
    try:
        return {
            "=": found == value,
            "!=": found != value,
            "<": found < value,
            "<=": found <= value,
            ">": found > value,
            ">=": found >= value,
        }[op]
    except TypeError:
        raise InvalidParameter(f"cannot compare {cmp.field.key} with {value!r}") from None


def _evaluate(expr: Expr, experiment: Experiment) -> bool:
    if isinstance(expr, And):
        return all(_evaluate(e, experiment) for e in expr.items)
    if isinstance(expr, Or):
        return any(_evaluate(e, experiment) for e in expr.items)
    return _holds(expr, experiment)


def matches(filter_string: str | None, experiment: Experiment) -> bool:
    expr = parse_filter(filter_string)
    return True if expr is None else _evaluate(expr, experiment)
