"""DatasetRecord: one record of a dataset as users hold it (API.md §4)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from evalledger.datasets.records import DatasetRecordSource
from evalledger.projections.records import source_id_of


@dataclass(slots=True)
class DatasetRecord:
    """One record of a dataset, as MLflow's DatasetRecord."""

    dataset_record_id: str
    dataset_id: str
    inputs: dict[str, Any]
    outputs: Any = None
    expectations: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, Any] = field(default_factory=dict)
    source: DatasetRecordSource | None = None
    source_id: str | None = None
    source_type: str | None = None
    created_time: int = 0
    last_update_time: int = 0
    created_by: str | None = None
    last_updated_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset_record_id": self.dataset_record_id,
            "dataset_id": self.dataset_id,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "expectations": self.expectations,
            "tags": self.tags,
            "source": None if self.source is None else self.source.to_dict(),
            "source_id": self.source_id,
            "source_type": self.source_type,
            "created_time": self.created_time,
            "last_update_time": self.last_update_time,
            "created_by": self.created_by,
            "last_updated_by": self.last_updated_by,
        }


def source_key(src: dict[str, Any]) -> Any:
    """What tells stored sources apart: the type alone when there is no source data."""
    return src["source_type"] if not src.get("source_data") else orjson.dumps(src)


def cached_source(
    src: dict[str, Any], cache: dict[Any, DatasetRecordSource]
) -> DatasetRecordSource:
    key = source_key(src)
    source = cache.get(key)
    if source is None:
        source = cache[key] = DatasetRecordSource.from_dict(src)
    return source


def record_from_row(
    dataset_id: str, row: Any, body: dict[str, Any], sources: dict[Any, Any] | None = None
) -> DatasetRecord:
    """A DatasetRecord from a record-versions row and its decoded body (`sources` caches
    the parsed sources across calls)."""
    src = body["source"]
    source = DatasetRecordSource.from_dict(src) if sources is None else cached_source(src, sources)
    return DatasetRecord(
        dataset_record_id=row.record_id,
        dataset_id=dataset_id,
        inputs=body["inputs"],
        outputs=body["outputs"],
        expectations=body["expectations"],
        tags=body["tags"],
        source=source,
        source_id=source_id_of(src),
        source_type=row.source_type,
        created_time=row.created_time,
        last_update_time=row.last_update_time,
        created_by=row.created_by,
        last_updated_by=row.last_updated_by,
    )
