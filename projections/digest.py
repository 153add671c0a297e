"""The dataset digest: order-independent, and maintained in O(changed records) per commit.

Each record's content hash is sha256 of its canonical body. The dataset keeps the sum of
those hashes modulo 2**256 (adding a record adds its hash, removing subtracts it), and the
digest is sha256 of that sum: equal record contents give equal digests whatever the order
or time they were merged in.
"""

from __future__ import annotations

import hashlib

_MOD = 1 << 256


def add(total: int, content_hash: str) -> int:
    return (total + int(content_hash, 16)) % _MOD


def add_sum(total: int, hash_sum: int) -> int:
    """add() of hashes already summed as numbers (int(hash, 16) each), with one reduction."""
    return (total + hash_sum) % _MOD


def remove(total: int, content_hash: str) -> int:
    return (total - int(content_hash, 16)) % _MOD


def to_hex(total: int) -> str:
    return f"{total:064x}"


def digest(total: int) -> str:
    """The public digest of a dataset whose content hashes sum to `total`."""
    return hashlib.sha256(b"evalledger-dataset-v1:%064x" % total).hexdigest()  # to_hex's digits
