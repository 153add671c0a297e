"""The event envelope: what callers hand to append and what reads give back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

NO_STREAM: Final = "no stream"
ANY: Final = "any"

#: An exact last version of the stream, NO_STREAM (it must not exist yet) or ANY.
ExpectedVersion = int | Literal["no stream", "any"]


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append. Without an event_id the ledger assigns a fresh UUID.

    `checked` says the caller already proved the payload is plain JSON (no NaN, infinity or
    foreign objects), so the ledger skips its own walk of it. `encoded` is the payload's
    canonical JSON when the caller already made it (it measured the event's size so), which
    the ledger then stores as given instead of encoding the payload again.
    """

    event_type: str
    payload: dict[str, Any]
    event_id: str | None = None
    schema_version: int | None = None
    checked: bool = False
    encoded: bytes | None = None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the ledger holds it, its payload upcast to the current schema version."""

    position: int
    event_id: str
    stream_type: str
    stream_id: str
    version: int
    event_type: str
    schema_version: int
    payload: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: int
    prev_hash: str
    hash: str
