"""How a record from an event payload becomes a row of the record-versions table."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

import orjson

from evalledger.projections.schema import dataset_records

_SORT = orjson.OPT_SORT_KEYS


def body_bytes(record: dict[str, Any]) -> bytes:
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
    )


def content_hash(body: bytes) -> str:
    """sha256 of a record's canonical body (body_bytes): what the digest sums."""
    return hashlib.sha256(body).hexdigest()


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


_SIGN = 1 << 63


@lru_cache(maxsize=4096)
def _dataset_salt(dataset_id: str) -> int:
    return int.from_bytes(hashlib.sha256(dataset_id.encode()).digest()[:8], "big")


def lookup_key(dataset_id: str, inputs_hash: str) -> int:
    """The 64-bit key a merge finds a record's current version by: the first 8 bytes of
    its inputs digest mixed with the dataset's id, as a signed BIGINT.

    The index on it has entries of some 20 bytes where (dataset id, 64 hex digits) took
    110, so a merge into a large dataset dirties a fifth as many index pages (its
    inserts land on random pages however the key is made). Two records share a key only
    by a 2**-64 chance; the lookup compares the dataset id and the full digest anyway."""
    return ((int(inputs_hash[:16], 16) ^ _dataset_salt(dataset_id)) ^ _SIGN) - _SIGN


#: A record-versions row is a tuple of the dataset_records columns' values in table order
#: (the fold's buffer inserts it as it is, see ledger.bulk.insert_values: a list would be
#: copied to a tuple there, about 3% of a rebuild); the fold reads these.
DATASET_ID, RECORD_ID, VALID_TO, SEQ, CONTENT_HASH, SOURCE_TYPE = 0, 1, 3, 4, 6, 7
RecordRow = tuple[Any, ...]
assert [c.name for c in dataset_records.columns] == [
    *("dataset_id", "record_id", "valid_from", "valid_to", "seq", "inputs_hash"),
    *("content_hash", "source_type", "source_id", "created_time", "created_by"),
    *("last_update_time", "last_updated_by", "body", "lookup_key"),
]


def record_row(dataset_id: str, version: int, record: dict[str, Any]) -> RecordRow:
    """The record-versions row for a record state valid from `version`."""
    body = body_bytes(record)
    inputs_hash = record["inputs_hash"]
    source = record["source"]
    return (
        dataset_id,
        record["record_id"],
        version,  # valid_from
        None,  # valid_to
        record["seq"],
        inputs_hash,
        content_hash(body),
        source["source_type"],
        _indexed(source_id_of(source)),  # source_id
        record["created_time"],
        record["created_by"],
        record["last_update_time"],
        record["last_updated_by"],
        body.decode(),
        lookup_key(dataset_id, inputs_hash),
    )


def closed_row(row: RecordRow, version: int) -> RecordRow:
    """The row ended at `version` (its valid_to set)."""
    return (*row[:VALID_TO], version, *row[VALID_TO + 1 :])
