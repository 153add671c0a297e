"""Ed25519 keys for checkpoints: make a pair, write it to files, read it back, name it."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from evalledger.ledger.errors import InvalidParameter

#: The public key sits next to the private one, in FILE.pub.
PUBLIC_SUFFIX = ".pub"
PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644


def fingerprint(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """A short, stable name for a key: the first 16 bytes of sha256 of its raw public bytes."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class KeyFiles:
    """Where keygen wrote the pair, and the key's fingerprint."""

    private: Path
    public: Path
    fingerprint: str


def public_path(private: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(private)}{PUBLIC_SUFFIX}")


def write_key_pair(path: str | os.PathLike[str], *, force: bool = False) -> KeyFiles:
    """A new Ed25519 key: the private key (PEM, mode 0600) to `path`, the public key to
    `path.pub`. An existing file is kept unless `force`: overwriting it loses its key."""
    private, public = Path(path), public_path(path)
    for target in (private, public):
        if target.is_dir():
            raise InvalidParameter(f"cannot write the key to {target}: it is a directory")
        if not force and (target.exists() or target.is_symlink()):
            raise InvalidParameter(
                f"{target} already exists: give --force to overwrite it (its key is then "
                "lost, and checkpoints signed with it verify only with a copy of its .pub)"
            )
    if not private.parent.is_dir():
        raise InvalidParameter(
            f"cannot write the key to {private}: the directory {private.parent} does not exist"
        )
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write_file(private, private_pem, PRIVATE_MODE)
    _write_file(public, public_pem, PUBLIC_MODE)
    return KeyFiles(private, public, fingerprint(key))


def _write_file(target: Path, data: bytes, mode: int) -> None:
    """Write `data` to a new file that has `mode` from its first byte, then move it in place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """The private key in a PEM file that keygen wrote (unencrypted PKCS#8)."""
    data = Path(path).read_bytes()
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise InvalidParameter(
            f"{os.fspath(path)}: the private key is encrypted; evalledger reads unencrypted "
            "PEM keys (protect the file instead: mode 0600, readable by the signer only)"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        if b"PUBLIC KEY" in data:
            raise InvalidParameter(
                f"{os.fspath(path)} holds a public key: signing needs the private key (the "
                f"file without {PUBLIC_SUFFIX})"
            ) from None
        raise InvalidParameter(
            f"{os.fspath(path)} is not a PEM private key (make one with `evalledger keygen`)"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidParameter(
            f"{os.fspath(path)} holds a {type(key).__name__.lstrip('_')}, not an Ed25519 key "
            "(make one with `evalledger keygen`)"
        )
    return key


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """The public key in a PEM file (keygen's FILE.pub)."""
    data = Path(path).read_bytes()
    if b"PRIVATE KEY" in data:
        raise InvalidParameter(
            f"{os.fspath(path)} holds a private key: verifying needs only the public key "
            f"({os.fspath(path)}{PUBLIC_SUFFIX}); keep the private key with the signer"
        )
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidParameter(
            f"{os.fspath(path)} is not a PEM public key (keygen writes one to FILE.pub)"
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidParameter(
            f"{os.fspath(path)} holds a {type(key).__name__.lstrip('_')}, not an Ed25519 key"
        )
    return key
