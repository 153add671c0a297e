"""Turning whatever merge_records was given into record dicts: traces become records (§6).

A list of Trace objects (ours, or MLflow's: anything with ``.info``, ``.data`` and
``to_json()``), or a DataFrame with a ``trace`` column (what search_traces returns: JSON
strings; Trace objects and trace dicts work too) becomes one record per trace:

- ``inputs``: the root span's inputs; missing or None gives ``{}``, and any other non-dict
  value becomes ``{"input": value}``;
- ``outputs``: the root span's outputs;
- ``expectations``: ``{name: value}`` of the trace's valid expectations, later ones winning
  (feedback is left out);
- ``source``: TRACE with ``{"trace_id": ...}``, plus ``session_id`` when the trace metadata
  has ``mlflow.trace.session``.

When a trace is in the ledger, the expectations come from the ledger at merge time, not
from the (possibly older) copy in hand: ``with_current_expectations`` runs on the validated
batch, so it covers Trace lists, search_traces DataFrames and any record whose source is
TRACE with a ``trace_id`` (dicts, ``to_df()`` frames, MLflow's records). The ledger's value
wins name by name; names only the copy has are kept. A trace not in the ledger keeps its
own copy.

Datasets and record objects go through ``from_datasets``; lists of dicts and other
DataFrames pass through to validation unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import orjson

from evalledger.datasets.from_datasets import records_from_datasets
from evalledger.datasets.records import (
    DatasetRecordSource,
    DatasetRecordSourceType,
    RecordInput,
    is_dataframe,
)
from evalledger.ledger import InvalidParameter
from evalledger.ledger.memory import gc_paused
from evalledger.projections.traces_fold import root_span
from evalledger.session import Session
from evalledger.traces.entities import Assessment, Span, Trace
from evalledger.traces.reads import current_expectations

SESSION_KEY = "mlflow.trace.session"


def _is_trace(value: Any) -> bool:
    return isinstance(value, Trace) or (
        hasattr(value, "info")
        and hasattr(value, "data")
        and callable(getattr(value, "to_json", None))
    )


def record_from_trace(trace: Trace) -> dict[str, Any]:
    """The dataset record a trace gives (API.md §6)."""
    info = trace.info
    return _record(info.trace_id, trace.data.root_span, info.assessments, info.trace_metadata)


def _record(
    trace_id: str,
    root: Span | None,
    assessments: Iterable[Assessment],
    metadata: dict[str, str],
) -> dict[str, Any]:
    inputs = None if root is None else root.inputs
    if inputs is None:
        inputs = {}
    elif type(inputs) is not dict:
        inputs = {"input": inputs}
    found = [a for a in assessments if a.kind == "expectation" and a.valid]
    if len(found) > 1:
        found.sort(key=lambda a: a.create_time_ms or 0)
    source_data = {"trace_id": trace_id}
    session = metadata.get(SESSION_KEY)
    if session:
        source_data["session_id"] = session
    return {
        "inputs": inputs,
        "outputs": None if root is None else root.outputs,
        "expectations": {a.name: a.value for a in found},
        "source": DatasetRecordSource(DatasetRecordSourceType.TRACE, source_data),
    }


def _record_from_dict(value: dict[str, Any], i: int) -> dict[str, Any]:
    """MLflow 3's trace dict (search_traces' JSON) is read as is, without building a whole
    Trace; any other shape goes through the full check."""
    try:
        info = value["info"]
        root = root_span(value["data"]["spans"])
        return _record(
            info["trace_id"],
            None if root is None else Span(root),
            [Assessment(a) for a in info.get("assessments") or ()],
            info.get("trace_metadata") or {},
        )
    except (KeyError, TypeError, AttributeError):
        pass
    try:
        return record_from_trace(Trace.from_dict(value))
    except InvalidParameter as exc:
        raise InvalidParameter(
            f"record {i}: field 'trace': {exc.message}", index=i, field="trace"
        ) from None


def _record_of(value: Any, i: int) -> dict[str, Any]:
    if isinstance(value, Trace):
        return record_from_trace(value)
    if isinstance(value, str | bytes | bytearray):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise InvalidParameter(
                f"record {i}: field 'trace': not valid JSON ({exc})", index=i, field="trace"
            ) from None
    if isinstance(value, dict):
        return _record_from_dict(value, i)
    if _is_trace(value):  # MLflow's Trace
        return _record_of(value.to_json(), i)
    raise InvalidParameter(
        f"record {i}: field 'trace': expected a Trace, trace JSON or a trace dict, "
        f"got {type(value).__name__}",
        index=i,
        field="trace",
    )


def records_from_any(records: Any) -> Any:
    """Traces (a list of them, or a DataFrame with a ``trace`` column), datasets and record
    objects as record dicts; anything else unchanged."""
    records = records_from_datasets(records)
    if is_dataframe(records):
        if "trace" not in records.columns:
            return records
        values = records["trace"].tolist()
    elif isinstance(records, list | tuple) and any(_is_trace(r) for r in records):
        values = list(records)
        for i, value in enumerate(values):
            if not _is_trace(value):
                raise InvalidParameter(
                    f"record {i}: expected a Trace like the other items, "
                    f"got {type(value).__name__}",
                    index=i,
                )
    else:
        return records
    with gc_paused():
        return [_record_of(value, i) for i, value in enumerate(values)]


def _trace_id_of(record: RecordInput) -> str | None:
    source = record.source
    if source is None or source.source_type is not DatasetRecordSourceType.TRACE:
        return None
    trace_id = source.source_data.get("trace_id")
    return trace_id if type(trace_id) is str else None


def with_current_expectations(records: list[RecordInput], session: Session) -> list[RecordInput]:
    """The batch with each TRACE record's expectations brought up to date from the ledger
    (see the module docstring): one query per 5,000 trace ids, none without TRACE records."""
    trace_ids = [_trace_id_of(r) for r in records]
    ids = [trace_id for trace_id in trace_ids if trace_id is not None]
    if not ids:
        return records
    with session.connect() as conn:
        current = current_expectations(conn, ids)
    out = []
    for record, trace_id in zip(records, trace_ids, strict=True):
        found = None if trace_id is None else current.get(trace_id)
        if found:
            own = record.expectations
            record = replace(record, expectations={**own, **found} if own else found)
        out.append(record)
    return out
