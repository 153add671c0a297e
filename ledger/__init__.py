"""The event store: an append-only, hash-chained log of events in one SQL table."""

from .encoding import canonical_bytes, canonical_text, check_json
from .engine import create_engine, normalize_url
from .errors import (
    ConcurrencyConflict,
    IntegrityError,
    InvalidParameter,
    LedgerError,
    ReadOnlySnapshot,
    ResourceAlreadyExists,
    ResourceNotFound,
)
from .events import ANY, NO_STREAM, ExpectedVersion, NewEvent, StoredEvent
from .migrate import ensure_current, upgrade
from .store import EventStore, Head, WriteTransaction
from .upcasting import UpcasterRegistry, upcasters
from .verify import VerifyReport, verify_chain

__all__ = [
    "ANY",
    "NO_STREAM",
    "ConcurrencyConflict",
    "EventStore",
    "ExpectedVersion",
    "Head",
    "IntegrityError",
    "InvalidParameter",
    "LedgerError",
    "NewEvent",
    "ReadOnlySnapshot",
    "ResourceAlreadyExists",
    "ResourceNotFound",
    "StoredEvent",
    "UpcasterRegistry",
    "VerifyReport",
    "WriteTransaction",
    "canonical_bytes",
    "canonical_text",
    "check_json",
    "create_engine",
    "ensure_current",
    "normalize_url",
    "upcasters",
    "upgrade",
    "verify_chain",
]
