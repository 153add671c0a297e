"""Compare a table in two databases in constant memory: row digests summed per bucket.

Each row's digest is the SHA-256 of its canonical JSON; rows go to one of BUCKETS buckets
by their primary key, and each bucket keeps the count and the sum of its digests. Equal
tables give equal sums whatever order the rows come in. Only when a bucket differs is it
read again, on both sides, row by row, to name the first differing row; memory is then
the rows of that bucket (a thousandth of the table), never the table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa

BUCKETS = 1024
#: Rows fetched per round trip (a server-side cursor on PostgreSQL and MySQL/MariaDB).
FETCH_ROWS = 2_000
#: Differing buckets read again to find the first differing row among them.
BUCKETS_REREAD = 8

Key = tuple[Any, ...]


@dataclass
class TableSums:
    """Per bucket, how many rows and the sum of their digests."""

    counts: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    sums: list[int] = field(default_factory=lambda: [0] * BUCKETS)

    @property
    def rows(self) -> int:
        return sum(self.counts)

    def differing(self, other: TableSums) -> list[int]:
        return [
            b
            for b in range(BUCKETS)
            if self.counts[b] != other.counts[b] or self.sums[b] != other.sums[b]
        ]


def _rows(conn: sa.Connection, table: sa.Table) -> Iterator[list[tuple[Key, int]]]:
    """(primary key, digest) of every row, a fetch at a time.

    A row's digest is over its values in column order (both sides select the same
    columns), booleans as 0/1 whatever the driver returns."""
    columns = list(table.columns)
    keys = [columns.index(c) for c in table.primary_key.columns]
    flags = [i for i, c in enumerate(columns) if isinstance(c.type, sa.Boolean)]
    sha256, dumps, from_bytes = hashlib.sha256, orjson.dumps, int.from_bytes
    query = sa.select(table).execution_options(yield_per=FETCH_ROWS)
    for rows in conn.execute(query).partitions():
        out = []
        for row in rows:
            if flags:
                row = list(row)
                for i in flags:
                    row[i] = None if row[i] is None else int(row[i])
            key = tuple([row[i] for i in keys])
            out.append((key, from_bytes(sha256(dumps(tuple(row))).digest(), "big")))
        yield out


def _bucket(key: Key) -> int:
    return hash(key) % BUCKETS  # the same process reads both sides: hash() is stable here


def table_sums(conn: sa.Connection, table: sa.Table) -> TableSums:
    sums = TableSums()
    counts, totals = sums.counts, sums.sums
    for rows in _rows(conn, table):
        for key, digest in rows:
            b = hash(key) % BUCKETS  # _bucket, inlined
            counts[b] += 1
            totals[b] += digest
    return sums


def _bucket_rows(conn: sa.Connection, table: sa.Table, buckets: set[int]) -> dict[Key, int]:
    found: dict[Key, int] = {}
    for rows in _rows(conn, table):
        found.update((key, digest) for key, digest in rows if _bucket(key) in buckets)
    return found


def first_difference(
    table: sa.Table,
    stored_conn: sa.Connection,
    fresh_conn: sa.Connection,
    stored: TableSums,
    fresh: TableSums,
) -> str | None:
    """None when the table is the same in both; else a sentence naming the first
    differing row (by key) among the first differing buckets."""
    buckets = stored.differing(fresh)
    if not buckets:
        return None
    wanted = set(buckets[:BUCKETS_REREAD])
    in_db = _bucket_rows(stored_conn, table, wanted)
    replayed = _bucket_rows(fresh_conn, table, wanted)
    for key in sorted(set(in_db) | set(replayed), key=repr):
        if key not in replayed:
            return f"table {table.name}: row {key} is in the database but not in a fresh replay"
        if key not in in_db:
            return f"table {table.name}: row {key} is missing from the database"
        if in_db[key] != replayed[key]:
            return f"table {table.name}: row {key} differs from a fresh replay of the events"
    return f"table {table.name}: its rows changed while they were compared"
