"""The hash chain: each event's hash covers the previous hash and its own canonical bytes."""

from __future__ import annotations

import hashlib

import orjson


def event_hash(
    prev_hash: str,
    position: int,
    event_id: str,
    stream_type: str,
    stream_id: str,
    version: int,
    event_type: str,
    schema_version: int,
    payload: str,
    metadata: str,
    recorded_at: int,
) -> str:
    """sha256 over the previous hash and the event's fields as one canonical JSON array."""
    body = orjson.dumps(
        [
            position,
            event_id,
            stream_type,
            stream_id,
            version,
            event_type,
            schema_version,
            payload,
            metadata,
            recorded_at,
        ]
    )
    return hashlib.sha256(prev_hash.encode() + body).hexdigest()
