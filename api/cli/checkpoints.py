"""The checkpoint commands of the CLI (API.md §12): keygen, checkpoint, and what verify
does with --key and --checkpoint."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from evalledger.cli.common import UserError, plural
from evalledger.client import Client
from evalledger.ledger import (
    Checkpoint,
    EventStore,
    IntegrityError,
    create_checkpoint,
    load_private_key,
    load_public_key,
    read_checkpoints,
    verify_checkpoints,
    write_key_pair,
)
from evalledger.ledger.checkpoints import fingerprint

KEYGEN_HELP = (
    "Write a new Ed25519 private key to FILE (mode 0600) and its public key to FILE.pub. "
    "`evalledger checkpoint --key FILE` signs with it; `evalledger verify --key FILE.pub` "
    "checks the checkpoints. An existing file is never overwritten without --force."
)
CHECKPOINT_HELP = (
    "Sign the ledger's head (position, hash, time) with the private key FILE, record the "
    "checkpoint in the ledger, and print it as one line on stdout. Keep that line somewhere "
    "the database's administrators cannot edit (a ticket, a repository, a log): "
    "`evalledger verify --key FILE.pub --checkpoint LINE` then proves the history up to its "
    "position is unchanged, even if the rest of the ledger was rewritten."
)


def keygen(args: argparse.Namespace) -> int:
    files = write_key_pair(args.output, force=args.force)
    print(f"private key {files.private} (mode 0600: for `evalledger checkpoint --key`)")
    print(f"public key  {files.public} (for `evalledger verify --key`)")
    print(f"fingerprint {files.fingerprint}")
    return 0


def checkpoint(args: argparse.Namespace) -> int:
    key = load_private_key(args.key)
    # a checkpoint of a ledger that does not exist would sign nothing: never create one
    client = Client(args.client.tracking_uri, user=args.client.user, create=False)
    signed = create_checkpoint(client.store, key, user=client.user)
    print(signed.to_line(), flush=True)
    print(
        f"signed the head at position {signed.position} (hash {signed.hash}) with key "
        f"{signed.key}; recorded in the ledger. Keep the line above elsewhere too.",
        file=sys.stderr,
    )
    return 0


@dataclass(frozen=True, slots=True)
class CheckpointArgs:
    """What verify was given: the public keys and the checkpoints kept elsewhere."""

    keys: list[Ed25519PublicKey]
    given: list[Checkpoint]


def prepare(args: argparse.Namespace) -> CheckpointArgs | None:
    """Read --key and --checkpoint before the chain is walked, so a bad file fails at once.
    None without --key (verify then checks the chain and the projections only)."""
    if not args.keys:
        if args.checkpoints:
            raise UserError("--checkpoint needs the public key to check it with: --key FILE.pub")
        return None
    keys = [load_public_key(path) for path in args.keys]
    given = [c for source in args.checkpoints or () for c in read_checkpoints(source)]
    return CheckpointArgs(keys, given)


def check(store: EventStore, given: CheckpointArgs) -> None:
    """Verify every checkpoint in the ledger and given; raise IntegrityError naming the
    first that fails, warn on stderr when checkpoints are missing from the ledger."""
    report = verify_checkpoints(store.engine, given.keys, given.given)
    for warning in report.warnings:
        print(f"evalledger: warning: {warning}", file=sys.stderr)
    if not report.ok:
        more = len(report.failures) - 1
        verb = "fails" if more == 1 else "fail"
        also = f" (and {plural(more, 'more checkpoint')} {verb})" if more else ""
        raise IntegrityError(f"verify failed: {report.problem}{also}")
    if report.latest is None:
        return
    keys = ", ".join(fingerprint(k) for k in given.keys)
    print(
        f"ok: {plural(report.checked, 'checkpoint')} verified with key {keys} "
        f"({report.in_ledger:,} in the ledger, {report.given:,} kept elsewhere); the latest "
        f"signs {report.latest.describe().removeprefix('checkpoint at ')}"
    )


def add_verify_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--key",
        dest="keys",
        action="append",
        metavar="FILE.pub",
        help="also check every signed checkpoint with this public key (repeatable, e.g. "
        "after a key was replaced)",
    )
    parser.add_argument(
        "--checkpoint",
        dest="checkpoints",
        action="append",
        metavar="C",
        help="a checkpoint kept elsewhere: a file holding checkpoint lines, or the line "
        "itself (repeatable; needs --key)",
    )


def register(commands: Any, common: list[argparse.ArgumentParser]) -> None:
    """keygen and checkpoint."""
    parser = commands.add_parser(
        "keygen", help="make an Ed25519 key pair for checkpoints", description=KEYGEN_HELP
    )
    parser.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="the private key's file"
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite FILE and FILE.pub if they exist"
    )
    parser.set_defaults(handler=keygen, no_ledger=True)

    parser = commands.add_parser(
        "checkpoint",
        help="sign the ledger's head and print the checkpoint",
        parents=common,
        description=CHECKPOINT_HELP,
    )
    parser.add_argument(
        "--key", required=True, metavar="FILE", help="the private key (from `evalledger keygen`)"
    )
    parser.set_defaults(handler=checkpoint)
