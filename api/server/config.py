"""What a server process is told: where the ledger is, whether to authenticate, limits."""

from __future__ import annotations

import os
from dataclasses import dataclass

from evalledger.ledger import InvalidParameter
from evalledger.tracking import get_tracking_uri

#: Bodies larger than this are refused with 413 before they are read whole (64 MiB).
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
#: Commits between two checkpoints when the server is given a key but no --checkpoint-every.
DEFAULT_CHECKPOINT_EVERY = 100
#: The MLflow version /version reports: the client needs >= 3.4 to send spans by OTLP.
MLFLOW_API_VERSION = "3.17.2"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """One server's settings; `from_env` reads the ones every worker process shares."""

    uri: str
    auth: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    #: The private key the server signs checkpoints with, and after how many of its
    #: commits (API.md §12); no checkpoints without a key.
    checkpoint_key: str | None = None
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY

    @classmethod
    def from_env(cls) -> ServerConfig:
        raw = os.environ.get("EVALLEDGER_MAX_BODY_BYTES", "").strip()
        try:
            limit = int(raw) if raw else DEFAULT_MAX_BODY_BYTES
        except ValueError:
            raise InvalidParameter(
                f"EVALLEDGER_MAX_BODY_BYTES must be a number of bytes, got {raw!r}"
            ) from None
        if limit <= 0:
            raise InvalidParameter(f"EVALLEDGER_MAX_BODY_BYTES must be positive, got {limit}")
        return cls(
            uri=get_tracking_uri(),
            auth=_flag("EVALLEDGER_AUTH"),
            max_body_bytes=limit,
            checkpoint_key=os.environ.get("EVALLEDGER_CHECKPOINT_KEY", "").strip() or None,
            checkpoint_every=_checkpoint_every(),
        )


def _checkpoint_every() -> int:
    raw = os.environ.get("EVALLEDGER_CHECKPOINT_EVERY", "").strip()
    try:
        every = int(raw) if raw else DEFAULT_CHECKPOINT_EVERY
    except ValueError:
        every = 0
    if every < 1:
        raise InvalidParameter(
            f"EVALLEDGER_CHECKPOINT_EVERY must be a number of commits >= 1, got {raw!r}"
        )
    return every
