"""Turning whatever merge_records was given into record dicts (traces come in issue 5)."""

from __future__ import annotations

from typing import Any


def records_from_any(records: Any) -> Any:
    """Lists of dicts and DataFrames pass through to validation unchanged."""
    return records
