"""Signed checkpoints (API.md §12): an anchor for the hash chain that the database does not
hold. keys.py makes and reads Ed25519 keys, signed.py is the checkpoint and its text line,
writing.py records one in the ledger, checking.py verifies them against the ledger."""

from evalledger.ledger.checkpoints.checking import (
    CheckpointFailure,
    CheckpointReport,
    verify_checkpoints,
)
from evalledger.ledger.checkpoints.keys import (
    KeyFiles,
    fingerprint,
    load_private_key,
    load_public_key,
    public_path,
    write_key_pair,
)
from evalledger.ledger.checkpoints.signed import (
    PAYLOAD_FIELDS,
    Checkpoint,
    parse_checkpoints,
    read_checkpoints,
)
from evalledger.ledger.checkpoints.writing import (
    EVENT_TYPE,
    SCHEMA_VERSION,
    STREAM_ID,
    STREAM_TYPE,
    create_checkpoint,
)

__all__ = [
    "EVENT_TYPE",
    "PAYLOAD_FIELDS",
    "SCHEMA_VERSION",
    "STREAM_ID",
    "STREAM_TYPE",
    "Checkpoint",
    "CheckpointFailure",
    "CheckpointReport",
    "KeyFiles",
    "create_checkpoint",
    "fingerprint",
    "load_private_key",
    "load_public_key",
    "parse_checkpoints",
    "public_path",
    "read_checkpoints",
    "verify_checkpoints",
    "write_key_pair",
]
