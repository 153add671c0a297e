"""Checking a user's password or bearer token against the users projection.

scrypt makes each check cost tens of milliseconds, and the MLflow client sends its
credentials with every one of its many requests, so successful checks are remembered in a
small bounded in-process cache. Its key is an HMAC (under a key made fresh in each
process) of the user, the secret and the stored hash: a new password or token changes the
stored hash and so misses the cache, and the revoked flag is read from the database on
every request, so a change takes effect on the next request. Failures are never cached.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict

import sqlalchemy as sa

from evalledger.ledger import Unauthenticated
from evalledger.users.hashing import split_token, verify_secret
from evalledger.users.reads import Account, account_named, account_with_token
from evalledger.users.rules import is_user_name

#: How many successful checks each process remembers.
CACHE_SIZE = 1024
_BAD_LOGIN = "invalid user name or password"
_BAD_TOKEN = "invalid bearer token"


class VerifiedSecrets:
    """A bounded, thread-safe LRU set of the (user, secret, stored hash) that verified."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._key = secrets.token_bytes(32)
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def _digest(self, name: str, secret: str, stored: str) -> bytes:
        message = b"\0".join(
            part.encode("utf-8", "surrogatepass") for part in (name, stored, secret)
        )
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def verify(self, name: str, secret: str, stored: str | None) -> bool:
        """Whether `secret` matches `stored` (a missing hash matches nothing, after the
        same work)."""
        if stored is None:
            return verify_secret(secret, None)
        digest = self._digest(name, secret, stored)
        with self._lock:
            if digest in self._seen:
                self._seen.move_to_end(digest)
                return True
        if not verify_secret(secret, stored):
            return False
        with self._lock:
            self._seen[digest] = None
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)
        return True


#: This process's cache of successful checks.
VERIFIED = VerifiedSecrets()


def _usable(account: Account) -> Account:
    if account.revoked:
        raise Unauthenticated(f"user {account.name!r} has been revoked")
    return account


def check_login(
    conn: sa.Connection, name: str, password: str, cache: VerifiedSecrets = VERIFIED
) -> Account:
    """The account of HTTP Basic credentials. The password may be the user's password or
    their bearer token. Unauthenticated when they do not match, or the user is revoked."""
    account = account_named(conn, name) if is_user_name(name) else None
    if account is None:
        verify_secret(password, None)  # as slow as a real check: no hint that it is unknown
        raise Unauthenticated(_BAD_LOGIN)
    token = split_token(password)
    if token is not None and account.token_id is not None and token[0] == account.token_id:
        ok = cache.verify(account.name, token[1], account.token_hash)
    else:
        ok = cache.verify(account.name, password, account.password_hash)
    if not ok:
        raise Unauthenticated(_BAD_LOGIN)
    return _usable(account)


def check_token(conn: sa.Connection, token: str, cache: VerifiedSecrets = VERIFIED) -> Account:
    """The account of a bearer token; Unauthenticated when it is no user's current token,
    or the user is revoked."""
    parts = split_token(token)
    if parts is None:
        raise Unauthenticated(f"{_BAD_TOKEN} (evalledger tokens look like evl_<id>.<secret>)")
    account = account_with_token(conn, parts[0])
    if account is None:
        verify_secret(parts[1], None)  # as slow as a real check
        raise Unauthenticated(_BAD_TOKEN)
    if not cache.verify(account.name, parts[1], account.token_hash):
        raise Unauthenticated(_BAD_TOKEN)
    return _usable(account)
