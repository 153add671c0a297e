"""Datasets and records that are objects (MLflow's, or ours) as record dicts (API.md §4).

``merge_records`` accepts, besides dicts, DataFrames and traces:

- MLflow's ``EvaluationDataset`` (``mlflow.entities`` or the ``mlflow.genai.datasets``
  wrapper): its records. An entity that has not loaded them loads them from MLflow's own
  tracking store, as its ``records`` property does; a Databricks-backed wrapper gives its
  ``to_df()``;
- a list of ``DatasetRecord`` objects, MLflow's or ours (``other.records``);
- MLflow's ``DatasetRecordSource`` objects as ``source`` values, in dicts and in DataFrame
  cells (so MLflow's ``to_df()`` frames merge): each becomes the dict shape with its source
  type and source data, so provenance is kept. An MLflow record object with no source but
  a ``source_type`` gets the source that its ``source_type``/``source_id`` name (a frame's
  provenance comes from its ``source`` column only, as for any DataFrame).

A record keeps ``inputs``, ``outputs`` (None is "absent"), ``expectations``, ``tags`` and
``source``; ids, times and users are the new dataset's own. MLflow is never imported here:
its classes are looked up in ``sys.modules`` (a program holding MLflow objects has imported
them).
"""

from __future__ import annotations

import sys
from typing import Any

from evalledger.datasets.entities import DatasetRecord
from evalledger.datasets.records import is_dataframe
from evalledger.ledger import InvalidParameter

_ENTITY = ("mlflow.entities.evaluation_dataset", "EvaluationDataset")
_WRAPPER = ("mlflow.genai.datasets.evaluation_dataset", "EvaluationDataset")
_RECORD = ("mlflow.entities.dataset_record", "DatasetRecord")
_SOURCE = ("mlflow.entities.dataset_record_source", "DatasetRecordSource")


class _Never:
    """Stands for an MLflow class when MLflow is not imported: nothing is an instance."""


def _mlflow_class(where: tuple[str, str]) -> type | None:
    """An MLflow class if MLflow has been imported, else None."""
    module = sys.modules.get(where[0])
    found = getattr(module, where[1], None)
    return found if isinstance(found, type) else None


def _is(value: Any, where: tuple[str, str]) -> bool:
    cls = _mlflow_class(where)
    return cls is not None and isinstance(value, cls)


def _loaded_records(entity: Any) -> list[Any]:
    try:
        return list(entity.records)
    except Exception as exc:  # MLflow's own store could not load them
        raise InvalidParameter(
            f"records: could not read the records of MLflow dataset "
            f"{getattr(entity, 'dataset_id', None)!r}: {exc}"
        ) from None


def _unwrap(records: Any) -> Any:
    """An MLflow dataset's records (a list, or a DataFrame); anything else unchanged."""
    if _is(records, _WRAPPER):
        entity = getattr(records, "_mlflow_dataset", None)
        return records.to_df() if entity is None else _loaded_records(entity)
    if _is(records, _ENTITY):
        return _loaded_records(records)
    return records


def plain_source(source: Any) -> Any:
    """MLflow's DatasetRecordSource as ``{"source_type", "source_data"}``; else unchanged."""
    if not _is(source, _SOURCE):
        return source
    source_type = source.source_type
    return {
        "source_type": getattr(source_type, "value", source_type),
        "source_data": source.source_data,
    }


def _derived_source(source_type: Any, source_id: Any) -> Any:
    """The source that a ``source_type`` and ``source_id`` name (as MLflow derives them, in
    reverse); None without a source type."""
    if not isinstance(source_type, str) or not source_type:
        return None
    data = {}
    if isinstance(source_id, str):
        data["trace_id" if source_type.upper() == "TRACE" else "source_id"] = source_id
    return {"source_type": source_type, "source_data": data}


def _mlflow_record_source(record: Any) -> Any:
    if record.source is not None:
        return plain_source(record.source)
    return _derived_source(record.source_type, record.source_id)


def _record_dict(record: Any, mlflow_record: type, mlflow_source: type) -> Any:
    """A DatasetRecord (MLflow's or ours) as a record dict, a dict with MLflow's source
    with a plain one; anything else unchanged."""
    if isinstance(record, dict):
        source = record.get("source")
        if isinstance(source, mlflow_source):
            return {**record, "source": plain_source(source)}
        return record
    if isinstance(record, DatasetRecord):
        source = record.source
    elif isinstance(record, mlflow_record):
        source = _mlflow_record_source(record)
    else:
        return record
    out: dict[str, Any] = {"inputs": record.inputs}
    if record.outputs is not None:
        out["outputs"] = record.outputs
    if record.expectations is not None:
        out["expectations"] = record.expectations
    if record.tags is not None:
        out["tags"] = record.tags
    if source is not None:
        out["source"] = source
    return out


def _frame_sources(frame: Any) -> Any:
    """A DataFrame (MLflow's ``to_df()``) with MLflow's source objects as dicts."""
    mlflow_source = _mlflow_class(_SOURCE)
    if mlflow_source is None or list(frame.columns).count("source") != 1:
        return frame
    sources = frame["source"].tolist()
    if not any(isinstance(s, mlflow_source) for s in sources):
        return frame
    return frame.assign(source=[plain_source(s) for s in sources])


def records_from_datasets(records: Any) -> Any:
    """Datasets, DatasetRecord lists and MLflow sources as record dicts (see the module
    docstring); anything else unchanged."""
    records = _unwrap(records)
    if is_dataframe(records):
        return _frame_sources(records)
    if not isinstance(records, list | tuple):
        return records
    mlflow_record = _mlflow_class(_RECORD) or _Never
    mlflow_source = _mlflow_class(_SOURCE) or _Never
    if mlflow_source is _Never and not any(isinstance(r, DatasetRecord) for r in records):
        return records  # MLflow is not even imported, and no record object is there
    return [_record_dict(r, mlflow_record, mlflow_source) for r in records]
