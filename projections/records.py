"""How a record from an event payload becomes a row of the record-versions table."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

_SORT = orjson.OPT_SORT_KEYS


def body_text(record: dict[str, Any]) -> str:
    """Canonical JSON of a record's content: inputs, outputs, expectations, tags, source."""
    return orjson.dumps(
        {
            "expectations": record["expectations"],
            "inputs": record["inputs"],
            "outputs": record["outputs"],
            "source": record["source"],
            "tags": record["tags"],
        },
        option=_SORT,
    ).decode()


def content_hash(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


#: The record-versions table indexes this many characters of a source id; the record itself
#: (its source) keeps the whole id.
SOURCE_ID_INDEX_CHARS = 255


def source_id_of(source: dict[str, Any]) -> str | None:
    """The trace id for TRACE sources, else source_data["source_id"]."""
    data = source.get("source_data") or {}
    value = data.get("trace_id") if source["source_type"] == "TRACE" else data.get("source_id")
    return None if value is None else str(value)


def _indexed(source_id: str | None) -> str | None:
    return None if source_id is None else source_id[:SOURCE_ID_INDEX_CHARS]


def record_row(dataset_id: str, version: int, record: dict[str, Any]) -> dict[str, Any]:
    """The record-versions row for a record state valid from `version`."""
    body = body_text(record)
    return {
        "dataset_id": dataset_id,
        "record_id": record["record_id"],
        "valid_from": version,
        "valid_to": None,
        "seq": record["seq"],
        "inputs_hash": record["inputs_hash"],
        "content_hash": content_hash(body),
        "source_type": record["source"]["source_type"],
        "source_id": _indexed(source_id_of(record["source"])),
        "created_time": record["created_time"],
        "created_by": record["created_by"],
        "last_update_time": record["last_update_time"],
        "last_updated_by": record["last_updated_by"],
        "body": body,
    }
