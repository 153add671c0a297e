"""The event store: an append-only, hash-chained log of events in one SQL table."""

from evalledger.ledger.encoding import canonical_bytes, canonical_text, check_json
from evalledger.ledger.engine import create_engine, normalize_url
from evalledger.ledger.errors import (
    ConcurrencyConflict,
    DatabaseUnavailable,
    ForeignDatabase,
    IntegrityError,
    InvalidParameter,
    LedgerError,
    PermissionDenied,
    ReadOnlySnapshot,
    ResourceAlreadyExists,
    ResourceNotFound,
    Unauthenticated,
)
from evalledger.ledger.events import ANY, NO_STREAM, ExpectedVersion, NewEvent, StoredEvent
from evalledger.ledger.store import EventStore, Head, WriteTransaction
from evalledger.ledger.upcasting import UpcasterRegistry, upcasters
from evalledger.ledger.verify import VerifyReport, verify_chain

__all__ = [
    "ANY",
    "NO_STREAM",
    "ConcurrencyConflict",
    "DatabaseUnavailable",
    "EventStore",
    "ExpectedVersion",
    "ForeignDatabase",
    "Head",
    "IntegrityError",
    "InvalidParameter",
    "LedgerError",
    "NewEvent",
    "PermissionDenied",
    "ReadOnlySnapshot",
    "ResourceAlreadyExists",
    "ResourceNotFound",
    "StoredEvent",
    "Unauthenticated",
    "UpcasterRegistry",
    "VerifyReport",
    "WriteTransaction",
    "canonical_bytes",
    "canonical_text",
    "check_json",
    "create_engine",
    "normalize_url",
    "upcasters",
    "verify_chain",
]
