"""The error hierarchy shared by the ledger and the public API."""

from __future__ import annotations


def as_text(text: str) -> str:
    """`text` with any lone surrogate written as its escape (``\\ud800``), so a message that
    quotes a bad value can still be printed, logged or sent as UTF-8."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


class LedgerError(Exception):
    """Base of every error evalledger raises on purpose. Its message is always text that
    encodes as UTF-8 (a lone surrogate from the caller's value is shown escaped)."""

    error_code = "INTERNAL_ERROR"

    def __init__(self, message: str) -> None:
        message = as_text(message)
        super().__init__(message)
        self.message = message


class InvalidParameter(LedgerError, ValueError):
    """An argument or a value inside it is not acceptable; nothing was written.

    ``index`` is the position of the bad record in its batch (or file), ``field`` the dotted
    path of the bad value inside it (``"inputs.q"``, ``"outputs[2]"``, ``"expectations"``);
    either is None when the error is not about a record or a field.
    """

    error_code = "INVALID_PARAMETER_VALUE"

    def __init__(self, message: str, *, index: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.index = index
        self.field = None if field is None else as_text(field)


class ResourceNotFound(LedgerError, LookupError):
    """The named dataset, experiment, trace or version does not exist."""

    error_code = "RESOURCE_DOES_NOT_EXIST"


class ResourceAlreadyExists(LedgerError):
    """A live resource with that name already exists."""

    error_code = "RESOURCE_ALREADY_EXISTS"


class ConcurrencyConflict(LedgerError):
    """The stream moved on since the caller read it, or an event id was reused."""

    error_code = "ABORTED"


class ReadOnlySnapshot(LedgerError):
    """A write was attempted on a point-in-time snapshot."""

    error_code = "INVALID_STATE"


class IntegrityError(LedgerError):
    """The ledger or a projection does not match what the events say."""

    error_code = "DATA_LOSS"


class DatabaseUnavailable(LedgerError):
    """The database could not be used: unreachable, refusing, timing out, bad credentials,
    or a SQLite file whose directory is missing. The message says which, in one line."""

    error_code = "TEMPORARILY_UNAVAILABLE"


class Unauthenticated(LedgerError):
    """The server was asked without credentials, or with ones it does not accept (HTTP 401)."""

    error_code = "UNAUTHENTICATED"


class PermissionDenied(LedgerError):
    """The authenticated user may not do this (HTTP 403): a reader's write, or an
    experiment the user was not granted."""

    error_code = "PERMISSION_DENIED"


class ForeignDatabase(LedgerError):
    """The database holds another application's schema (MLflow's, say); nothing in it was
    touched."""

    error_code = "INVALID_STATE"
