"""Export is complete or not at all, across a kill and a power loss: the file and its
directory are fsynced around the rename, and a killed export's temporary file is removed
by the next export (or reported when its writer may still be running).

Export does not depend on the backend, so these tests use one SQLite file of their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson
import pytest

from evalledger import Client
from evalledger.cli.main import main
from evalledger.datasets.atomic_file import TEMP_MARKER, leftovers, temp_path
from evalledger.datasets.transfer import export_dataset, read_records

RECORDS = 2_000


@pytest.fixture
def dataset_client(tmp_path: Path) -> Client:
    client = Client(f"sqlite:///{tmp_path / 'export.db'}", user="tester")
    client.create_dataset("qa").merge_records(
        [{"inputs": {"q": i}, "expectations": {"a": str(i)}} for i in range(RECORDS)]
    )
    return client


def exported_inputs(path: Path) -> list[object]:
    return [record["inputs"] for batch in read_records(path) for record in batch]


def dead_pid() -> int:
    """The id of a process that has exited (and was reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def fake_leftover(target: Path, pid: int, host: str | None = None) -> Path:
    """A temporary file as an export by `pid` (on `host`, default this one) leaves it."""
    head, _, rest = temp_path(target).name.partition(TEMP_MARKER)
    this_host, _, random = rest.split("-")
    path = target.with_name(f"{head}{TEMP_MARKER}{host or this_host}-{pid}-{random}")
    path.write_bytes(b'{"inputs": {"half": "writ')
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_the_exported_file_is_complete_and_no_temporary_file_stays(
    dataset_client: Client, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    target = out / f"qa.{fmt}"
    target.write_bytes(b"an older export")
    assert export_dataset(dataset_client.get_dataset(name="qa"), target) == RECORDS
    assert exported_inputs(target) == [{"q": i} for i in range(RECORDS)]
    assert sorted(os.listdir(out)) == [target.name]


def test_the_file_is_fsynced_before_the_rename_and_the_directory_after(
    dataset_client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append(("replace", os.fspath(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "qa.jsonl"
    export_dataset(dataset_client.get_dataset(name="qa"), target)
    assert [kind for kind, _ in calls] == ["fsync", "replace", "fsync"]
    file_synced, renamed, directory_synced = (path for _, path in calls)
    assert Path(file_synced).name.startswith(f".qa.jsonl{TEMP_MARKER}")
    assert Path(file_synced).parent == tmp_path.resolve()
    assert renamed == str(target)
    assert Path(directory_synced) == tmp_path.resolve()


def test_a_leftover_of_a_dead_export_is_removed_by_the_next_export(
    dataset_client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "qa.jsonl"
    gone = fake_leftover(target, dead_pid())
    same_pid = fake_leftover(target, os.getpid())  # an earlier process had our id
    other = tmp_path / f".other.jsonl{TEMP_MARKER}host-1-0123abcd"  # another target's
    other.write_bytes(b"")
    uri = dataset_client.store.engine.url.render_as_string(hide_password=False)
    assert main(["--uri", uri, "export", "qa", "-o", str(target)]) == 0
    err = capsys.readouterr().err
    assert err == ""
    assert not gone.exists() and not same_pid.exists() and other.exists()
    assert len(exported_inputs(target)) == RECORDS


def test_leftovers_that_may_be_in_use_are_kept_and_reported(
    dataset_client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "qa.jsonl"
    running = fake_leftover(target, os.getppid())
    elsewhere = fake_leftover(target, dead_pid(), host="buildhost.example")
    uri = dataset_client.store.engine.url.render_as_string(hide_password=False)
    assert main(["--uri", uri, "export", "qa", "-o", str(target)]) == 0
    warnings = capsys.readouterr().err.splitlines()
    assert sorted(warnings) == sorted(
        [
            f"evalledger: warning: left {running} in place: process {os.getppid()} is still "
            "running; remove it once no export is running",
            f"evalledger: warning: left {elsewhere} in place: it was written on host "
            "'buildhost.example'; remove it once no export is running",
        ]
    )
    assert running.exists() and elsewhere.exists()
    assert len(exported_inputs(target)) == RECORDS


CHILD = textwrap.dedent(
    """
    import sys, time
    from evalledger import Client
    from evalledger.datasets import transfer

    write_jsonl = transfer._write_jsonl

    def write_then_hang(rows, out):
        write_jsonl(rows, out)
        out.flush()
        print("written", flush=True)
        time.sleep(60)  # killed here: the file is written but not yet renamed

    transfer._write_jsonl = write_then_hang
    ds = Client(sys.argv[1], user="child").get_dataset(name="qa")
    transfer.export_dataset(ds, sys.argv[2])
    """
)


def test_a_killed_export_leaves_the_old_file_and_the_next_export_cleans_up(
    dataset_client: Client, tmp_path: Path
) -> None:
    target = tmp_path / "qa.jsonl"
    target.write_bytes(b"the previous export\n")
    uri = dataset_client.store.engine.url.render_as_string(hide_password=False)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, uri, str(target)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "written\n"
        child.kill()
    finally:
        child.kill()
        child.wait(30)
    left = leftovers(target)
    assert [(x.pid, x.path.stat().st_size > 0) for x in left] == [(child.pid, True)]
    assert target.read_bytes() == b"the previous export\n"
    warnings: list[str] = []
    export_dataset(dataset_client.get_dataset(name="qa"), target, warn=warnings.append)
    assert warnings == [] and leftovers(target) == []
    lines = target.read_bytes().splitlines()
    assert len(lines) == RECORDS and orjson.loads(lines[-1])["inputs"] == {"q": RECORDS - 1}
