"""Salted slow hashes of passwords and tokens, and the tokens themselves.

A hash is stored as ``scrypt$N$r$p$<salt>$<digest>`` (salt and digest in unpadded
URL-safe base64), so its cost parameters travel with it and can be raised later without
invalidating the hashes already stored. A token is ``evl_<token id>.<secret>``: the id is
public (it finds the user in one lookup), only the secret is hashed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets

SCHEME = "scrypt"
#: scrypt's cost: 16 MiB of memory and about 50 ms of one core per hash.
COST_N = 2**14
BLOCK_SIZE_R = 8
PARALLELISM_P = 1
SALT_BYTES = 16
DIGEST_BYTES = 32
#: Refuse stored parameters beyond these (a corrupted row must not stall the server).
MAX_COST_N = 2**20
MAX_MEMORY = 256 * 1024 * 1024

TOKEN_PREFIX = "evl_"
TOKEN_ID_BYTES = 12
TOKEN_SECRET_BYTES = 32
_TOKEN = re.compile(r"evl_([0-9a-f]{24})\.([A-Za-z0-9_-]{16,128})")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        secret.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=MAX_MEMORY, dklen=DIGEST_BYTES
    )


def hash_secret(secret: str) -> str:
    """A new salted scrypt hash of `secret`, with its parameters, as one string."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(secret, salt, COST_N, BLOCK_SIZE_R, PARALLELISM_P)
    return f"{SCHEME}${COST_N}${BLOCK_SIZE_R}${PARALLELISM_P}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, stored: str | None) -> bool:
    """Whether `secret` is the one `stored` is a hash of (constant-time comparison).

    A missing or malformed hash verifies nothing, after the same work as a real check, so
    the time taken does not tell whether an account has a password.
    """
    parsed = _parse(stored)
    if parsed is None:
        _scrypt(secret, b"\0" * SALT_BYTES, COST_N, BLOCK_SIZE_R, PARALLELISM_P)
        return False
    n, r, p, salt, expected = parsed
    return hmac.compare_digest(_scrypt(secret, salt, n, r, p), expected)


def _parse(stored: str | None) -> tuple[int, int, int, bytes, bytes] | None:
    if not stored:
        return None
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
    except (ValueError, binascii.Error):
        return None
    if not (1 < n <= MAX_COST_N and n & (n - 1) == 0 and 0 < r <= 64 and 0 < p <= 16):
        return None
    if 128 * r * n > MAX_MEMORY or not salt or len(digest) != DIGEST_BYTES:
        return None
    return n, r, p, salt, digest


def new_token() -> tuple[str, str, str]:
    """A fresh bearer token: (token, its public id, its secret)."""
    token_id = secrets.token_hex(TOKEN_ID_BYTES)
    secret = secrets.token_urlsafe(TOKEN_SECRET_BYTES)
    return f"{TOKEN_PREFIX}{token_id}.{secret}", token_id, secret


def split_token(token: str) -> tuple[str, str] | None:
    """(token id, secret) of a well-formed token, else None."""
    match = _TOKEN.fullmatch(token)
    return None if match is None else (match.group(1), match.group(2))
