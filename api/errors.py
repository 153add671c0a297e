"""The errors the public API raises: LedgerError and its subclasses (see API.md §8)."""

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

__all__ = [
    "ConcurrencyConflict",
    "DatabaseUnavailable",
    "ForeignDatabase",
    "IntegrityError",
    "InvalidParameter",
    "LedgerError",
    "PermissionDenied",
    "ReadOnlySnapshot",
    "ResourceAlreadyExists",
    "ResourceNotFound",
    "Unauthenticated",
]
