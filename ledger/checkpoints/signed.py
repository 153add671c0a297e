"""A signed checkpoint: what it signs, its signature, and the one line of text it travels as.

A checkpoint signs the head of the chain at one moment (position and hash), the time (ms),
how many checkpoints the ledger held before it, and the fingerprint of the signing key. Its
text form, ``evalledger-checkpoint:1:<base64url of canonical JSON>``, can be kept anywhere
(a ticket, a repository, a log) and read back from a file or from the text itself.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from evalledger.ledger.checkpoints.keys import fingerprint
from evalledger.ledger.errors import InvalidParameter

FORMAT = 1
LINE_PREFIX = "evalledger-checkpoint"
#: A checkpoint line anywhere in a text (a log line may carry one after its timestamp).
_LINE = re.compile(rf"{LINE_PREFIX}:(\d{{1,9}}):([A-Za-z0-9_-]*)")
#: Signed in front of the fields, so a signature is never valid for another kind of message.
_DOMAIN = b"evalledger checkpoint\n"
_HEX = re.compile(r"[0-9a-f]+")
_MAX_INT = 2**63 - 1

SIGNED_FIELDS = ("format", "position", "hash", "time_ms", "checkpoints_before", "key")
PAYLOAD_FIELDS = (*SIGNED_FIELDS, "signature")


def instant(ms: int) -> str:
    """Epoch ms as an ISO 8601 instant in UTC (`2026-12-01T11:15:56.123Z`)."""
    try:
        moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return f"{ms} ms"
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One signed checkpoint. `hash` is the hash of the event at `position` when it was
    signed; `key` the fingerprint of the key that signed it."""

    position: int
    hash: str
    time_ms: int
    checkpoints_before: int
    key: str
    signature: str

    def _signed_fields(self) -> dict[str, Any]:
        """Every field but the signature: what the signature covers."""
        return {
            "format": FORMAT,
            "position": self.position,
            "hash": self.hash,
            "time_ms": self.time_ms,
            "checkpoints_before": self.checkpoints_before,
            "key": self.key,
        }

    def signed_bytes(self) -> bytes:
        """The exact bytes the signature covers."""
        return _DOMAIN + orjson.dumps(self._signed_fields(), option=orjson.OPT_SORT_KEYS)

    def to_payload(self) -> dict[str, Any]:
        """The checkpoint as a JSON object (the payload of its event in the ledger)."""
        return {**self._signed_fields(), "signature": self.signature}

    def to_line(self) -> str:
        """The one line of text to keep elsewhere."""
        body = orjson.dumps(self.to_payload(), option=orjson.OPT_SORT_KEYS)
        return f"{LINE_PREFIX}:{FORMAT}:{_b64(body)}"

    def describe(self) -> str:
        """How messages name it: `checkpoint at position 12 (2026-12-01T11:15:56.123Z)`."""
        return f"checkpoint at position {self.position} ({instant(self.time_ms)})"

    def signature_ok(self, key: Ed25519PublicKey) -> bool:
        """True when `key` made this signature over exactly these fields."""
        try:
            key.verify(_unb64(self.signature), self.signed_bytes())
        except (InvalidSignature, ValueError, binascii.Error):
            return False
        return True


def sign(
    key: Ed25519PrivateKey, *, position: int, hash: str, time_ms: int, checkpoints_before: int
) -> Checkpoint:
    """A checkpoint of the chain at `position` (whose event has `hash`), signed by `key`."""
    unsigned = Checkpoint(position, hash, time_ms, checkpoints_before, fingerprint(key), "")
    signature = _b64(key.sign(unsigned.signed_bytes()))
    return Checkpoint(position, hash, time_ms, checkpoints_before, unsigned.key, signature)


def from_payload(payload: Any, where: str) -> Checkpoint:
    """A checkpoint from its JSON object; InvalidParameter names `where` and the bad field."""
    if not isinstance(payload, dict):
        raise InvalidParameter(f"{where}: a checkpoint is a JSON object", field="checkpoint")
    keys = set(payload)
    if keys != set(PAYLOAD_FIELDS):
        missing, unknown = sorted(set(PAYLOAD_FIELDS) - keys), sorted(keys - set(PAYLOAD_FIELDS))
        detail = ", ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"unknown {', '.join(map(str, unknown))}" if unknown else "",
            )
            if part
        )
        raise InvalidParameter(f"{where}: not a checkpoint ({detail})", field="checkpoint")
    if payload["format"] != FORMAT or type(payload["format"]) is not int:
        raise InvalidParameter(
            f"{where}: checkpoint format {payload['format']!r} is not known (this evalledger "
            f"reads format {FORMAT})",
            field="format",
        )
    for name in ("position", "time_ms", "checkpoints_before"):
        value = payload[name]
        if type(value) is not int or not 0 <= value <= _MAX_INT:
            raise InvalidParameter(
                f"{where}: field {name!r} must be a whole number >= 0, not {value!r}", field=name
            )
    for name, length in (("hash", 64), ("key", 32)):
        value = payload[name]
        if not isinstance(value, str) or len(value) != length or not _HEX.fullmatch(value):
            raise InvalidParameter(
                f"{where}: field {name!r} must be {length} lowercase hex digits, not {value!r}",
                field=name,
            )
    signature = payload["signature"]
    if not isinstance(signature, str) or not _signature_shape(signature):
        raise InvalidParameter(
            f"{where}: field 'signature' must be an Ed25519 signature in base64url",
            field="signature",
        )
    return Checkpoint(
        payload["position"],
        payload["hash"],
        payload["time_ms"],
        payload["checkpoints_before"],
        payload["key"],
        signature,
    )


def _signature_shape(text: str) -> bool:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        return False
    try:
        return len(_unb64(text)) == 64
    except (ValueError, binascii.Error):
        return False


def parse_checkpoints(text: str, where: str = "the text") -> list[Checkpoint]:
    """Every checkpoint line in `text`, in order; InvalidParameter when one is damaged or
    when there is none."""
    found = [
        _parse_match(match, f"{where}, checkpoint {number}")
        for number, match in enumerate(_LINE.finditer(text), start=1)
    ]
    if not found:
        raise _none_in(where)
    return found


def read_checkpoints(source: str | os.PathLike[str]) -> list[Checkpoint]:
    """The checkpoints in `source`: the printed text itself, or a file holding one or more
    checkpoint lines among any other text (a server log, say), read line by line."""
    text = os.fspath(source)
    if LINE_PREFIX + ":" in text:
        return parse_checkpoints(text)
    found = []
    try:
        with Path(text).open(encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, start=1):
                for match in _LINE.finditer(line):
                    found.append(_parse_match(match, f"{text} line {number}"))
    except (FileNotFoundError, NotADirectoryError):
        raise InvalidParameter(
            f"checkpoint {text!r} is neither a file nor a checkpoint line", field="checkpoint"
        ) from None
    except OSError as exc:
        raise InvalidParameter(
            f"cannot read checkpoint file {text}: {exc.strerror or exc}", field="checkpoint"
        ) from None
    if not found:
        raise _none_in(text)
    return found


def _parse_match(match: re.Match[str], where: str) -> Checkpoint:
    if int(match.group(1)) != FORMAT:
        raise InvalidParameter(
            f"{where}: checkpoint format {match.group(1)} is not known (this evalledger reads "
            f"format {FORMAT})",
            field="format",
        )
    try:
        payload = orjson.loads(_unb64(match.group(2)))
    except (ValueError, binascii.Error):
        raise InvalidParameter(
            f"{where}: the text after {LINE_PREFIX}:{FORMAT}: is damaged (not base64url of a "
            "JSON object); copy the whole line again",
            field="checkpoint",
        ) from None
    return from_payload(payload, where)


def _none_in(where: str) -> InvalidParameter:
    return InvalidParameter(
        f"{where} holds no checkpoint line ({LINE_PREFIX}:{FORMAT}:...)", field="checkpoint"
    )
