"""The event store: an append-only, hash-chained log of events in one SQL table."""

from evalledger.ledger.checkpoints import (
    Checkpoint,
    CheckpointReport,
    create_checkpoint,
    load_private_key,
    load_public_key,
    read_checkpoints,
    verify_checkpoints,
    write_key_pair,
)
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
    "Checkpoint",
    "CheckpointReport",
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
    "create_checkpoint",
    "create_engine",
    "load_private_key",
    "load_public_key",
    "normalize_url",
    "read_checkpoints",
    "upcasters",
    "verify_chain",
    "verify_checkpoints",
    "write_key_pair",
]
