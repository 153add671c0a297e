"""Who is acting, and what time it is, as the ledger records them."""

from __future__ import annotations

import getpass
import os
import time


def acting_user() -> str:
    """EVALLEDGER_USER, else the OS user name."""
    user = os.environ.get("EVALLEDGER_USER")
    if user:
        return user
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry for this uid (containers)
        return f"uid-{os.getuid()}"


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return time.time_ns() // 1_000_000
