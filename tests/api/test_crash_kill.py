"""kill -9 in the middle of a write leaves nothing, or whole commits; never half of one.

Each test starts a child process that writes (one large merge, `evalledger import` of a
file of many batches, `evalledger traces import`), waits until the database shows the
child's write transaction open, lets it run a little longer (a different delay each
round) and kills it with SIGKILL. Then: the dataset (or the traces) is unchanged or at
whole batches, the chain verifies, the projections equal a replay, and the next write
works and finishes the job. On SQLite the killed writer leaves its write-ahead log,
which the next connection recovers.

A round whose child finished before the kill could land is run again with a shorter
delay; every round must land a kill in the end.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from evalledger import Client
from evalledger.datasets.transfer import import_records
from evalledger.ledger import EventStore, ResourceNotFound, create_engine, verify_chain
from evalledger.ledger.engine import is_memory_sqlite
from evalledger.projections.rebuild import check_projections
from evalledger.traces.importer import IMPORT_BATCH

pytestmark = pytest.mark.slow

MERGE_RECORDS = 20_000
IMPORT_RECORDS, IMPORT_BATCH_SIZE = 14_000, 2_000
TRACES = 4_500
#: Seconds to let the write run once it shows in the database, one per round.
MERGE_DELAYS = (0.0, 0.1, 0.25)
IMPORT_DELAYS = (0.0, 0.05, 0.2)
TRACE_DELAYS = (0.0, 0.15)
ATTEMPTS = 4  # per round: the delay halves after each attempt that came too late
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "mlflow_traces.jsonl"
CLI = "import sys; from evalledger.cli.main import main; sys.exit(main(sys.argv[1:]))"
MERGE_CHILD = textwrap.dedent(
    """
    import sys
    from evalledger import Client

    url, round_, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ds = Client(url, user="doomed").get_dataset(name="big")
    records = [
        {"inputs": {"round": round_, "i": i}, "expectations": {"answer": f"answer {i} " * 4}}
        for i in range(count)
    ]
    print("started", flush=True)
    ds.merge_records(records)
    print("done", flush=True)
    """
)


# --------------------------------------------------------------------------- the database


class Probe:
    """Reads what the child is doing, on connections of its own that it closes before a
    kill (so on SQLite the write-ahead log left afterwards is the killed writer's)."""

    def __init__(self, url: str) -> None:
        self.url = sa.make_url(url)
        self.sqlite_path = self.url.database if self.url.get_backend_name() == "sqlite" else None
        self.engine = None if self.sqlite_path else sa.create_engine(url, poolclass=sa.NullPool)

    def count(self, query: str) -> int:
        if self.sqlite_path is not None:
            conn = sqlite3.connect(self.sqlite_path, timeout=5)
            try:
                return int(conn.execute(query).fetchone()[0])
            finally:
                conn.close()
        assert self.engine is not None
        with self.engine.connect() as conn:
            return int(conn.exec_driver_sql(query).scalar_one())

    def write_in_progress(self) -> bool:
        """True while another connection holds an open transaction that writes."""
        if self.sqlite_path is not None:
            conn = sqlite3.connect(self.sqlite_path, timeout=0, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")  # fails at once while a writer holds the lock
            except sqlite3.OperationalError:
                return True
            finally:
                conn.close()  # rolls the probe's own empty transaction back
            return False
        assert self.engine is not None
        if self.engine.dialect.name == "postgresql":  # a transaction that has written
            query = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
            )
            return self.count(query) > 0
        # MariaDB's innodb_trx does not show the child's transactions reliably: ask whether
        # the ledger head (locked by every write transaction) is locked
        with self.engine.connect() as conn, conn.begin():
            free = conn.exec_driver_sql(
                "SELECT id FROM ledger_head WHERE id = 1 FOR UPDATE SKIP LOCKED"
            ).all()
        return not free

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


@contextmanager
def probe_of(url: str) -> Iterator[Probe]:
    probe = Probe(url)
    try:
        yield probe
    finally:
        probe.close()


@contextmanager
def client_of(url: str) -> Iterator[Client]:
    """A client whose connections are all closed on exit."""
    client = Client(url, user="checker")
    try:
        yield client
    finally:
        client.store.engine.dispose()


def wal_of(url: str) -> Path | None:
    """The write-ahead log file of a SQLite database file (None on other backends)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite" or is_memory_sqlite(parsed):
        return None
    return Path(f"{parsed.database}-wal")


def assert_ledger_sound(url: str) -> None:
    """The chain verifies and the projections equal a replay of the events."""
    engine = create_engine(url)
    try:
        chain = verify_chain(engine)
        assert chain.ok, chain.problem
        projections = check_projections(EventStore(engine))
        assert projections.ok, projections.difference
    finally:
        engine.dispose()


def assert_sqlite_recovers(url: str) -> None:
    """The killed writer left its log behind; the next connection finds a sound file and,
    once every connection is closed, the log has been checkpointed away."""
    wal = wal_of(url)
    if wal is None:
        return
    assert wal.exists(), "a killed SQLite writer leaves its write-ahead log"
    conn = sqlite3.connect(wal.with_name(wal.name.removesuffix("-wal")))
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    assert not wal.exists(), "the log was recovered into the database file"


def assert_chain_verifies(url: str) -> None:
    engine = create_engine(url)
    try:
        report = verify_chain(engine)
        assert report.ok, report.problem
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- the kill


def start(url: str, args: list[str]) -> subprocess.Popen[str]:
    """A child running `python -c ARGS...` on the database at `url`."""
    wal = wal_of(url)
    assert wal is None or not wal.exists(), "every connection of the test is closed"
    return subprocess.Popen(
        [sys.executable, "-c", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def kill_during_write(
    child: subprocess.Popen[str], probe: Probe, ready: Callable[[], bool], delay: float
) -> bool:
    """Once `ready()` and then `delay` seconds, kill -9 the child while a write of its is
    open. True when the kill landed; False when the child finished first."""
    deadline = time.monotonic() + 60
    try:
        while not ready():
            assert child.poll() is None, f"the child ended early: {child.communicate()}"
            assert time.monotonic() < deadline, "the child never got going"
            time.sleep(0.005)
        time.sleep(delay)
        while not probe.write_in_progress():
            if child.poll() is not None:
                return False
            assert time.monotonic() < deadline, "no write showed in the database"
            time.sleep(0.002)
        probe.close()
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        _, err = child.communicate(timeout=60)
    if child.returncode != -signal.SIGKILL:
        assert child.returncode == 0, err
        return False
    return True


def kill_rounds(delays: tuple[float, ...], attempt: Callable[[int, float], bool]) -> int:
    """One round per delay: `attempt(n, delay)` (n counts every attempt, from 0) until it
    lands a kill, halving the delay after an attempt whose child finished first. Returns
    the kills made (one per round)."""
    kills = tries = 0
    for number, delay in enumerate(delays):
        for _ in range(ATTEMPTS):
            landed = attempt(tries, delay)
            tries += 1
            if landed:
                kills += 1
                break
            delay /= 2
        else:
            pytest.fail(f"round {number}: the child always finished before the kill")
    return kills


def dataset_state(url: str, name: str) -> tuple[int, list[int]] | None:
    """(records, records added per version) of a dataset; None when it does not exist."""
    with client_of(url) as client:
        try:
            ds = client.get_dataset(name=name)
        except ResourceNotFound:
            return None
        history = ds.history()
        return ds.num_records, [int(n) for n in history["records_added"]]


# --------------------------------------------------------------------------- the tests


def test_kill_during_a_large_merge_leaves_the_whole_commit_or_nothing(db_url: str) -> None:
    with client_of(db_url) as client:
        client.create_dataset("big")
    stored = 0

    def attempt(number: int, delay: float) -> bool:
        nonlocal stored
        child = start(db_url, [MERGE_CHILD, db_url, str(number), str(MERGE_RECORDS)])
        assert child.stdout is not None
        assert child.stdout.readline() == "started\n", child.communicate()
        with probe_of(db_url) as probe:
            landed = kill_during_write(child, probe, lambda: True, delay)
        assert_sqlite_recovers(db_url)
        state = dataset_state(db_url, "big")
        assert state is not None
        records, added = state
        assert records in (stored, stored + MERGE_RECORDS)  # one commit: all or nothing
        assert all(n in (0, MERGE_RECORDS) for n in added)
        stored = records
        assert_chain_verifies(db_url)
        return landed

    assert kill_rounds(MERGE_DELAYS, attempt) == len(MERGE_DELAYS)
    assert_ledger_sound(db_url)
    with client_of(db_url) as client:  # the next write works
        ds = client.get_dataset(name="big")
        ds.merge_records([{"inputs": {"after": "the kills"}}])
        assert ds.num_records == stored + 1
    assert_chain_verifies(db_url)


def test_kill_during_a_file_import_leaves_whole_batches(db_url: str, tmp_path: Path) -> None:
    source = tmp_path / "many.jsonl"
    source.write_text(
        "".join(
            json.dumps({"inputs": {"row": i}, "expectations": {"label": f"label {i}"}}) + "\n"
            for i in range(IMPORT_RECORDS)
        )
    )
    current = "SELECT count(*) FROM dataset_records WHERE valid_to IS NULL"

    def attempt(number: int, delay: float) -> bool:
        name = f"imported-{number}"
        with probe_of(db_url) as probe:
            before = probe.count(current)
            command = ["--uri", db_url, "import", name, str(source)]
            child = start(db_url, [CLI, *command, "--batch-size", str(IMPORT_BATCH_SIZE)])
            landed = kill_during_write(
                child, probe, lambda: probe.count(current) >= before + IMPORT_BATCH_SIZE, delay
            )
        assert_sqlite_recovers(db_url)
        state = dataset_state(db_url, name)
        assert state is not None  # a batch was committed before the kill
        records, added = state
        assert records % IMPORT_BATCH_SIZE == 0, records  # whole batches only
        assert set(added) <= {0, IMPORT_BATCH_SIZE}
        assert IMPORT_BATCH_SIZE <= records < IMPORT_RECORDS or not landed
        assert_chain_verifies(db_url)
        return landed

    assert kill_rounds(IMPORT_DELAYS, attempt) == len(IMPORT_DELAYS)
    assert_ledger_sound(db_url)
    with client_of(db_url) as client:  # importing the same file again finishes the job
        result = import_records(client.session, "imported-0", source, batch_size=IMPORT_BATCH_SIZE)
        assert result.dataset.num_records == IMPORT_RECORDS
    assert_chain_verifies(db_url)


def trace_file(path: Path, number: int) -> Path:
    """TRACES traces (copies of the fixture's first one under new ids) in a .jsonl file."""
    line = FIXTURE.read_text().splitlines()[0]
    trace_id = json.loads(line)["info"]["trace_id"]
    path.write_text(
        "".join(line.replace(trace_id, f"tr-{number:02x}{i:030x}") + "\n" for i in range(TRACES))
    )
    return path


def test_kill_during_a_trace_import_leaves_whole_batches(db_url: str, tmp_path: Path) -> None:

    def of_round(number: int) -> str:
        low, high = f"tr-{number:02x}", f"tr-{number + 1:02x}"  # the round's id prefix
        return f"SELECT count(*) FROM traces WHERE trace_id >= '{low}' AND trace_id < '{high}'"

    def attempt(number: int, delay: float) -> bool:
        with probe_of(db_url) as probe:
            source = trace_file(tmp_path / f"traces-{number}.jsonl", number)
            child = start(db_url, [CLI, "--uri", db_url, "traces", "import", str(source)])
            landed = kill_during_write(
                child, probe, lambda: probe.count(of_round(number)) >= IMPORT_BATCH, delay
            )
        assert_sqlite_recovers(db_url)
        with probe_of(db_url) as probe:
            imported = probe.count(of_round(number))
        assert imported % IMPORT_BATCH == 0 or imported == TRACES, imported
        assert IMPORT_BATCH <= imported < TRACES or not landed
        assert_chain_verifies(db_url)
        return landed

    assert kill_rounds(TRACE_DELAYS, attempt) == len(TRACE_DELAYS)
    assert_ledger_sound(db_url)
    with client_of(db_url) as client:  # importing the same file again finishes the job
        ids = client.import_traces(str(tmp_path / "traces-0.jsonl"))
        assert len(set(ids)) == TRACES
    with probe_of(db_url) as probe:
        assert probe.count(of_round(0)) == TRACES
    assert_chain_verifies(db_url)
