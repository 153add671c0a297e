"""Where data lives (the tracking URI) and who acts (the default user): API.md §1."""

from __future__ import annotations

import getpass
import os

from evalledger.ledger import normalize_url

DEFAULT_URI = "sqlite:///evalledger.db"

_uri: str | None = None


def set_tracking_uri(uri: str | None) -> None:
    """Use this SQLAlchemy URL from now on (None goes back to the environment/default)."""
    global _uri
    if uri is not None:
        normalize_url(uri)
    _uri = None if uri is None else str(uri)


def get_tracking_uri() -> str:
    """set_tracking_uri(), else EVALLEDGER_TRACKING_URI, else sqlite:///evalledger.db."""
    return _uri or os.environ.get("EVALLEDGER_TRACKING_URI") or DEFAULT_URI


def default_user() -> str:
    """EVALLEDGER_USER, else the OS user name."""
    user = os.environ.get("EVALLEDGER_USER")
    if user:
        return user
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry for this uid (containers)
        return f"uid-{os.getuid()}"
