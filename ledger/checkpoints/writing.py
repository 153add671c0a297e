"""Sign the head of the chain and record the checkpoint in the ledger, in one commit."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evalledger.ledger.checkpoints.signed import Checkpoint, sign
from evalledger.ledger.errors import InvalidParameter, LedgerError
from evalledger.ledger.events import NO_STREAM, NewEvent
from evalledger.ledger.store import EventStore

#: Checkpoints are events of the ledger's own stream; no projection folds them.
STREAM_TYPE = "ledger"
STREAM_ID = "ledger-checkpoints"
EVENT_TYPE = "CheckpointSigned"
SCHEMA_VERSION = 1


def create_checkpoint(
    store: EventStore, key: Ed25519PrivateKey, *, user: str | None = None
) -> Checkpoint:
    """Sign the current head (position, hash, time) with `key`, record the checkpoint in
    the ledger as a CheckpointSigned event right after the head it signs, and return it.

    The writer lock is held meanwhile, so the signed head is the last event when it is
    signed. Keep `checkpoint.to_line()` somewhere the database's administrators cannot
    edit: it is what catches a rewrite of the whole ledger.
    """
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidParameter(
            f"a checkpoint is signed with an Ed25519 private key, not {type(key).__name__}",
            field="key",
        )
    with store.transaction(user=user, metadata={"operation": "checkpoint"}) as tx:
        head = tx.head
        if head.position == 0:
            raise LedgerError("the ledger is empty: there is nothing to sign yet")
        last = tx.stream_version(STREAM_ID)
        checkpoint = sign(
            key,
            position=head.position,
            hash=head.hash,
            time_ms=tx.recorded_at,
            checkpoints_before=0 if last is None else last + 1,
        )
        event = NewEvent(
            EVENT_TYPE, checkpoint.to_payload(), schema_version=SCHEMA_VERSION, checked=True
        )
        tx.append(STREAM_ID, [event], NO_STREAM if last is None else last, stream_type=STREAM_TYPE)
    return checkpoint
