"""Check signed checkpoints against the ledger: each signature, and the signed hash still
at its position. A checkpoint kept elsewhere proves the history up to its position is
unchanged, even when everything after it (and the head) was rewritten consistently."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from evalledger.ledger.bulk import IN_LIST_CHUNK
from evalledger.ledger.checkpoints.keys import fingerprint
from evalledger.ledger.checkpoints.signed import Checkpoint, from_payload, parse_checkpoints
from evalledger.ledger.checkpoints.writing import EVENT_TYPE, STREAM_ID, STREAM_TYPE
from evalledger.ledger.encoding import loads
from evalledger.ledger.engine import read_snapshot
from evalledger.ledger.errors import InvalidParameter, LedgerError
from evalledger.ledger.schema import events, ledger_head

IN_LEDGER = "in the ledger"
GIVEN = "kept elsewhere"


@dataclass(frozen=True, slots=True)
class CheckpointFailure:
    """A checkpoint that does not hold (None when its event in the ledger cannot be read),
    the position it is about, and the sentence that says why."""

    checkpoint: Checkpoint | None
    position: int
    problem: str


@dataclass(frozen=True, slots=True)
class CheckpointReport:
    """What the checkpoints showed: how many were checked, the latest that holds, the
    failures (earliest position first) and the warnings."""

    head_position: int
    in_ledger: int
    given: int
    checked: int
    latest: Checkpoint | None
    failures: tuple[CheckpointFailure, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def problem(self) -> str | None:
        """The first failure, as one sentence naming the checkpoint."""
        return self.failures[0].problem if self.failures else None


def verify_checkpoints(
    engine: sa.Engine,
    keys: Ed25519PublicKey | Sequence[Ed25519PublicKey],
    checkpoints: Iterable[Checkpoint | str] = (),
) -> CheckpointReport:
    """Check every checkpoint recorded in the ledger and every one given (Checkpoint
    objects, or text holding checkpoint lines) with the public key(s).

    A checkpoint fails when no given key made it, when its signature does not verify,
    when its position is beyond the head, or when the event at its position no longer has
    the signed hash. A warning says when the ledger holds fewer checkpoints than a
    checkpoint counted before itself (checkpoints were deleted from the ledger).
    """
    known = _key_map(keys)
    given = _given(checkpoints)
    with read_snapshot(engine) as conn:
        head = conn.execute(
            sa.select(ledger_head.c.position).where(ledger_head.c.id == 1)
        ).scalar_one_or_none()
        if head is None:
            raise LedgerError("the ledger head row is missing: run `evalledger db upgrade`")
        recorded, unreadable = _recorded(conn, head)
        sources: dict[Checkpoint, set[str]] = {}  # the same checkpoint, found twice, is one
        for checkpoint, source in [*((c, IN_LEDGER) for c in recorded), *given]:
            sources.setdefault(checkpoint, set()).add(source)
        ordered = sorted(sources.items(), key=lambda e: (e[0].position, e[0].time_ms))
        hashes = _hashes_at(conn, sorted({c.position for c, _ in ordered if c.position <= head}))
    failures = list(unreadable)
    holding: list[Checkpoint] = []
    for checkpoint, where in ordered:
        problem = _problem(checkpoint, known, head, hashes)
        if problem is None:
            holding.append(checkpoint)
        else:
            shown = " and ".join(sorted(where))
            failures.append(
                CheckpointFailure(
                    checkpoint, checkpoint.position, f"{checkpoint.describe()}, {shown}: {problem}"
                )
            )
    failures.sort(key=lambda f: f.position)
    in_ledger = len(recorded) + len(unreadable)
    return CheckpointReport(
        head_position=head,
        in_ledger=in_ledger,
        given=len(given),
        checked=len(ordered),
        latest=max(holding, key=lambda c: (c.position, c.time_ms), default=None),
        failures=tuple(failures),
        warnings=tuple(_warnings(ordered, holding, in_ledger)),
    )


def _key_map(keys: Ed25519PublicKey | Sequence[Ed25519PublicKey]) -> dict[str, Ed25519PublicKey]:
    listed = list(keys) if isinstance(keys, list | tuple) else [keys]
    if not listed:
        raise InvalidParameter("verify_checkpoints needs at least one public key", field="keys")
    for key in listed:
        if not isinstance(key, Ed25519PublicKey):
            raise InvalidParameter(
                f"checkpoints are verified with Ed25519 public keys, not {type(key).__name__}",
                field="keys",
            )
    return {fingerprint(key): key for key in listed}


def _given(checkpoints: Iterable[Checkpoint | str]) -> list[tuple[Checkpoint, str]]:
    if isinstance(checkpoints, str | Checkpoint):
        checkpoints = [checkpoints]
    try:
        items = list(checkpoints)
    except TypeError:
        raise InvalidParameter(
            f"checkpoints must be a list of checkpoints, not {type(checkpoints).__name__}",
            field="checkpoints",
        ) from None
    given: list[tuple[Checkpoint, str]] = []
    for item in items:
        if isinstance(item, Checkpoint):
            given.append((item, GIVEN))
        elif isinstance(item, str):
            given.extend((c, GIVEN) for c in parse_checkpoints(item))
        else:
            raise InvalidParameter(
                f"a checkpoint is a Checkpoint or its text line, not {type(item).__name__}",
                field="checkpoints",
            )
    return given


def _recorded(conn: sa.Connection, head: int) -> tuple[list[Checkpoint], list[CheckpointFailure]]:
    """The checkpoints recorded in the ledger up to the head, and those that cannot be read."""
    rows = conn.execute(
        sa.select(events.c.position, events.c.payload)
        .where(
            events.c.stream_id == STREAM_ID,
            events.c.stream_type == STREAM_TYPE,
            events.c.event_type == EVENT_TYPE,
            events.c.position <= head,
        )
        .order_by(events.c.position)
    ).all()
    recorded, unreadable = [], []
    for position, payload in rows:
        where = f"the checkpoint event at position {position}"
        try:
            recorded.append(from_payload(loads(payload), where))
        except (LedgerError, ValueError) as exc:
            reason = exc.message if isinstance(exc, LedgerError) else f"{where}: {exc}"
            unreadable.append(CheckpointFailure(None, position, f"{reason} (cannot be read)"))
    return recorded, unreadable


def _hashes_at(conn: sa.Connection, positions: list[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(positions), IN_LIST_CHUNK):
        chunk = positions[start : start + IN_LIST_CHUNK]
        rows = conn.execute(
            sa.select(events.c.position, events.c.hash).where(events.c.position.in_(chunk))
        )
        found.update({position: stored for position, stored in rows})
    return found


def _problem(
    checkpoint: Checkpoint, known: dict[str, Ed25519PublicKey], head: int, hashes: dict[int, str]
) -> str | None:
    key = known.get(checkpoint.key)
    if key is None:
        return f"it was signed by key {checkpoint.key}, not by the key given ({', '.join(known)})"
    if not checkpoint.signature_ok(key):
        return (
            f"its signature does not verify with key {checkpoint.key}: the checkpoint was "
            "altered or forged"
        )
    if checkpoint.position > head:
        return (
            f"its position is beyond the ledger head (position {head}): events up to "
            f"position {checkpoint.position} were removed"
        )
    stored = hashes.get(checkpoint.position)
    if stored is None:
        return f"the ledger has no event at position {checkpoint.position}"
    if stored != checkpoint.hash:
        return (
            f"the event at position {checkpoint.position} no longer has the signed hash: the "
            f"history up to position {checkpoint.position} was rewritten"
        )
    return None


def _warnings(
    ordered: list[tuple[Checkpoint, set[str]]], holding: list[Checkpoint], in_ledger: int
) -> list[str]:
    if not ordered:
        return [
            "no checkpoint to verify: the ledger holds none and none was given "
            "(make one with `evalledger checkpoint --key FILE`)"
        ]
    if not holding:
        return []
    claimed = max(holding, key=lambda c: c.checkpoints_before)
    if claimed.checkpoints_before + 1 > in_ledger:
        return [
            f"the ledger holds {in_ledger} checkpoint(s), but the {claimed.describe()} was "
            f"number {claimed.checkpoints_before + 1}: checkpoints were deleted from the ledger"
        ]
    where = dict(ordered)
    missing = [c for c in holding if IN_LEDGER not in where[c]]
    if missing:
        return [
            f"the {missing[0].describe()}, kept elsewhere, is not recorded in the ledger "
            f"({len(missing)} such checkpoint(s)): it was deleted, or made on another ledger"
        ]
    return []
