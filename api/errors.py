"""The errors the public API raises: LedgerError and its subclasses (see API.md §8)."""

from evalledger.ledger.errors import (
    ConcurrencyConflict,
    IntegrityError,
    InvalidParameter,
    LedgerError,
    ReadOnlySnapshot,
    ResourceAlreadyExists,
    ResourceNotFound,
)

__all__ = [
    "ConcurrencyConflict",
    "IntegrityError",
    "InvalidParameter",
    "LedgerError",
    "ReadOnlySnapshot",
    "ResourceAlreadyExists",
    "ResourceNotFound",
]
