"""Time-ordered identifiers (UUIDv7, RFC 9562): a millisecond timestamp, then randomness.

Ids generated in increasing order keep the unique indexes they live in append-mostly;
random UUID4s would dirty a random index page per row (half the append throughput on
SQLite, measured).
"""

from __future__ import annotations

import os


def uuid7_hex(count: int, time_ms: int, prefix: str = "") -> list[str]:
    """`count` UUIDv7 values as 32 lowercase hex digits, sorted; each after `prefix`
    (made in place: a million ids are not built twice)."""
    head = f"{prefix}{time_ms & 0xFFFFFFFFFFFF:012x}"
    raw = os.urandom(10 * count).hex()
    ids = []
    for i in range(0, 20 * count, 20):
        h = raw[i : i + 20]
        variant = "89ab"[int(h[3], 16) & 3]
        ids.append(f"{head}7{h[:3]}{variant}{h[4:19]}")
    ids.sort()
    return ids


def uuid7_strings(count: int, time_ms: int) -> list[str]:
    """`count` UUIDv7 values in the canonical 8-4-4-4-12 form, sorted."""
    return [f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" for h in uuid7_hex(count, time_ms)]
