"""Issue 13's floors: what SQLite (its `sqlite3` module) and orjson alone take to write and
read exactly the rows evalledger wrote for a workload, with no evalledger code.

Each workload runs through evalledger first (on SQLite); its database's tables and indexes
are then created in a new file with the same settings (WAL, `synchronous=FULL`, 32 MiB page
cache) and its rows inserted again in as many commits as the workload made, chunk i of every
table in commit i. That is the least any design on this schema pays for the workload, so a
target below it cannot be met by making evalledger's own code faster.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path

import orjson

from evalledger.ledger import EventStore
from evalledger.ledger.memory import gc_paused

from .dataset_bench import _records
from .harness import Report, Result, bench_store, client_of
from .trace_bench import TRACES, trace_json

#: Tables whose rows the copy leaves out: the chain's head row (advanced by a trigger in
#: place, never inserted) and the migration stamp.
_SKIPPED = ("ledger_head", "alembic_version")


def run(backend: str, report: Report) -> None:
    if backend != "sqlite":
        print(f"  [{backend:10}] (the floors are SQLite's: run with --backends sqlite)")
        return
    _merge_and_to_df(report)
    _million(report)
    _traces(report)


def _merge_and_to_df(report: Report) -> None:
    with bench_store("sqlite") as store:
        ds = client_of(store).create_dataset("floor-merge")
        ds.merge_records(_records(0, 10_000))
        report.add(
            Result(
                "SQLite alone: the rows of a 10,000-record merge, 1 commit",
                min(_rewrite(store, 1) for _ in range(3)),
                "s",
            )
        )
        ds.merge_records(_records(5_000, 15_000, answer_offset=1))
        report.add(
            Result(
                "sqlite3+orjson alone: read and decode 15,000 records",
                min(_read_and_decode(store) for _ in range(5)),
                "s",
            )
        )


def _million(report: Report) -> None:
    with bench_store("sqlite") as store:
        ds = client_of(store).create_dataset("floor-million")
        for b in range(100):
            ds.merge_records(_records(b * 10_000, (b + 1) * 10_000))
        report.add(
            Result(
                "SQLite alone: the rows of 1,000,000 records, 100 commits",
                _rewrite(store, 100),
                "s",
            )
        )
        report.add(
            Result(
                "sqlite3+orjson alone: read and decode 1,000,000 records",
                _read_and_decode(store),
                "s",
            )
        )


def _traces(report: Report) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="evalledger-floor-") as directory,
        bench_store("sqlite") as store,
    ):
        path = Path(directory) / "traces.jsonl"
        with path.open("wb") as handle:
            for i in range(TRACES):
                handle.write(trace_json(i) + b"\n")
        client_of(store).import_traces(path)
        report.add(
            Result(
                f"SQLite alone: the rows of {TRACES:,} imported traces, 50 commits",
                _rewrite(store, 50),
                "s",
            )
        )


def _database(store: EventStore) -> str:
    database = store.engine.url.database
    assert database, "the floors need a SQLite file"
    return database


def _rewrite(store: EventStore, commits: int) -> float:
    """Seconds sqlite3 takes to insert the store's rows into a new file with its schema."""
    source = sqlite3.connect(_database(store))
    try:
        schema = [
            sql
            for (sql,) in source.execute(
                "SELECT sql FROM sqlite_master WHERE type IN ('table', 'index') "
                "AND sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type DESC"
            )
        ]
        names = [
            name
            for (name,) in source.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
            if name not in _SKIPPED
        ]
        tables = {
            name: source.execute(f'SELECT * FROM "{name}" ORDER BY rowid').fetchall()
            for name in names
        }
    finally:
        source.close()
    with tempfile.TemporaryDirectory(prefix="evalledger-floor-") as directory:
        target = sqlite3.connect(Path(directory) / "floor.db", isolation_level=None)
        try:
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "cache_size=-32768"):
                target.execute(f"PRAGMA {pragma}")
            for sql in schema:
                target.execute(sql)
            return _insert_in_commits(target, tables, commits)
        finally:
            target.close()


def _insert_in_commits(
    target: sqlite3.Connection, tables: dict[str, list[tuple]], commits: int
) -> float:
    start = time.perf_counter()
    for i in range(commits):
        target.execute("BEGIN")
        for name, rows in tables.items():
            chunk = rows[i * len(rows) // commits : (i + 1) * len(rows) // commits]
            if chunk:
                marks = ", ".join("?" * len(chunk[0]))
                target.executemany(f'INSERT INTO "{name}" VALUES ({marks})', chunk)
        target.execute("COMMIT")
    return time.perf_counter() - start


def _read_and_decode(store: EventStore) -> float:
    """Seconds sqlite3 takes to read the columns to_df needs of the current records, in
    creation order, and orjson to decode their bodies (kept, as to_df keeps them)."""
    db = sqlite3.connect(_database(store))
    try:
        db.execute("PRAGMA cache_size=-32768")
        ((dataset_id,),) = db.execute("SELECT dataset_id FROM datasets").fetchall()
        with gc_paused():
            start = time.perf_counter()
            cursor = db.execute(
                "SELECT record_id, body, source_type, created_time FROM dataset_records "
                "WHERE dataset_id = ? AND valid_to IS NULL ORDER BY seq",
                (dataset_id,),
            )
            decoded = []
            while rows := cursor.fetchmany(20_000):
                decoded.append(orjson.loads("[" + ",".join([row[1] for row in rows]) + "]"))
            seconds = time.perf_counter() - start
            del decoded
        return seconds
    finally:
        db.close()
