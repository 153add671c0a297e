"""Library objects as the JSON bodies of evalledger's own API (the shapes of
ledger_api_models): datasets, records, history, diffs, provenance. Times as epoch ms."""

from __future__ import annotations

from typing import Any

import orjson
import pandas as pd

from evalledger.datasets.dataset import EvaluationDataset
from evalledger.datasets.entities import DatasetRecord
from evalledger.datasets.history import DatasetDiff, changed_paths


def epoch_ms(moment: pd.Timestamp) -> int:
    """A pandas Timestamp (as history() returns them) as epoch ms."""
    return int(moment.value // 1_000_000)


def summary_json(ds: EvaluationDataset) -> dict[str, Any]:
    """What a listing shows of a dataset (no records are read)."""
    return {
        "dataset_id": ds.dataset_id,
        "name": ds.name,
        "version": ds.version,
        "digest": ds.digest,
        "num_records": ds.num_records,
        "tags": ds.tags,
        "experiment_ids": ds.experiment_ids,
        "created_time": ds.created_time,
        "created_by": ds.created_by,
        "last_update_time": ds.last_update_time,
        "last_updated_by": ds.last_updated_by,
        "deleted": ds.is_deleted,
        "deleted_time": ds.deleted_time,
    }


def detail_json(
    ds: EvaluationDataset, now: EvaluationDataset, *, with_schema: bool = True
) -> dict[str, Any]:
    """A dataset's (or a snapshot's) metadata with its profile, labels and (unless told
    otherwise: it reads every record) its schema."""
    return {
        **summary_json(ds),
        "is_snapshot": ds.is_snapshot,
        "latest_version": now.version,
        "schema": orjson.loads(ds.schema) if with_schema else None,
        "profile": orjson.loads(ds.profile),
        "labels": now.version_labels(),
    }


def record_json(record: DatasetRecord) -> dict[str, Any]:
    return record.to_dict()


def history_json(ds: EvaluationDataset, frame: pd.DataFrame) -> dict[str, Any]:
    """Every version, oldest first, with the labels that point to it now."""
    by_version: dict[int, list[str]] = {}
    for label, version in ds.version_labels().items():
        by_version.setdefault(version, []).append(label)
    versions = [
        {
            "version": int(row.version),
            "timestamp": epoch_ms(row.timestamp),
            "user": row.user,
            "operation": row.operation,
            "source_version": None if pd.isna(row.source_version) else int(row.source_version),
            "records_added": int(row.records_added),
            "records_updated": int(row.records_updated),
            "records_deleted": int(row.records_deleted),
            "num_records": int(row.num_records),
            "digest": row.digest,
            "labels": by_version.get(int(row.version), []),
        }
        for row in frame.itertuples(index=False)
    ]
    return {
        "dataset_id": ds.dataset_id,
        "name": ds.name,
        "deleted": ds.is_deleted,
        "versions": versions,
    }


def diff_json(dataset_id: str, d: DatasetDiff, limit: int) -> dict[str, Any]:
    """Added, removed and changed records (each list cut at `limit`), changed tags."""
    changed = [change.to_dict() for change in d.changed[:limit]]
    return {
        "dataset_id": dataset_id,
        "from_version": d.from_version,
        "to_version": d.to_version,
        "num_added": len(d.added),
        "num_removed": len(d.removed),
        "num_changed": len(d.changed),
        "added": [record_json(r) for r in d.added[:limit]],
        "removed": [record_json(r) for r in d.removed[:limit]],
        "changed": changed,
        "tags_changed": {k: {"before": o, "after": n} for k, (o, n) in d.tags_changed.items()},
        "truncated": max(len(d.added), len(d.removed), len(d.changed)) > limit,
    }


def record_history_json(dataset_id: str, record_id: str, frame: pd.DataFrame) -> dict[str, Any]:
    """Every change of one record, with the paths that an update changed."""
    changes = []
    for row in frame.itertuples(index=False):
        both = row.before is not None and row.after is not None
        changes.append(
            {
                "version": int(row.version),
                "timestamp": epoch_ms(row.timestamp),
                "user": row.user,
                "operation": row.operation,
                "fields": changed_paths(row.before, row.after) if both else [],
                "before": row.before,
                "after": row.after,
            }
        )
    return {"dataset_id": dataset_id, "record_id": record_id, "changes": changes}


def provenance_json(ds: EvaluationDataset, frame: pd.DataFrame) -> dict[str, Any]:
    """Counts of records by source type, with the trace ids of TRACE records."""
    sources = [
        {
            "source_type": row.source_type,
            "num_records": int(row.num_records),
            "trace_ids": list(row.trace_ids),
        }
        for row in frame.itertuples(index=False)
    ]
    return {
        "dataset_id": ds.dataset_id,
        "version": ds.version,
        "num_records": ds.num_records,
        "sources": sources,
    }
