"""The command line, driven through el.cli.main on every backend."""

from __future__ import annotations

import io
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from cli_helpers import one_line_error, run

from evalledger import Client
from evalledger.cli.main import main
from evalledger.errors import ResourceNotFound


def seed(client: Client) -> None:
    ds = client.create_dataset("qa", tags={"team": "support", "stage": "dev"})
    ds.merge_records(
        [
            {"inputs": {"q": "What is MLflow?"}, "expectations": {"a": "a platform"}},
            {"inputs": {"q": "Ünïcødé ☕"}, "outputs": {"n": 1.0}, "tags": {"t": "x"}},
        ]
    )
    ds.merge_records([{"inputs": {"q": "third"}, "outputs": [1, None]}])
    client.create_dataset("alpha")


def test_datasets_lists_live_datasets(
    client: Client, capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    code, out, _ = run(capsys, db_url, "datasets")
    assert code == 0 and out.strip() == "no datasets"
    seed(client)
    code, out, _ = run(capsys, db_url, "datasets")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["name", "id", "version", "records", "last", "update", "tags"]
    qa = client.get_dataset(name="qa")
    assert lines[2].startswith("alpha ")
    assert lines[3].split()[:4] == ["qa", qa.dataset_id, "2", "3"]
    assert "stage=dev, team=support" in lines[3] and " UTC" in lines[3]
    assert lines[-1] == "2 datasets"

    code, out, _ = run(capsys, db_url, "datasets", "--filter", "tags.team = 'support'")
    assert code == 0 and "qa " in out and "alpha" not in out
    code, _, err = run(capsys, db_url, "datasets", "--filter", "name ==== 'x'")
    assert code == 1 and "filter" in one_line_error(err)


def test_show(client: Client, capsys: pytest.CaptureFixture[str], db_url: str) -> None:
    seed(client)
    code, out, _ = run(capsys, db_url, "show", "qa")
    assert code == 0
    qa = client.get_dataset(name="qa")
    assert f"id           {qa.dataset_id}" in out
    assert "version      2\n" in out
    assert "records      3 (CODE 2, HUMAN 1)" in out
    assert f"digest       {qa.digest}" in out
    assert "tags         stage=dev, team=support" in out
    assert f"profile      {qa.profile}" in out
    assert "records (all):" in out
    assert '{"q":"What is MLflow?"}' in out and '{"a":"a platform"}' in out
    assert '{"q":"Ünïcødé ☕"}' in out and '{"n":1.0}' in out

    code, out, _ = run(capsys, db_url, "show", "qa", "--version", "1", "--rows", "1")
    assert code == 0
    assert "version      1 (read-only snapshot)" in out and "records (first 1 of 2):" in out
    code, out, _ = run(capsys, db_url, "show", "qa", "--rows", "0")
    assert code == 0 and "records (" not in out

    code, _, err = run(capsys, db_url, "show", "nope")
    assert code == 1 and "'nope' does not exist" in one_line_error(err)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_export_import_round_trip(
    client: Client, capsys: pytest.CaptureFixture[str], db_url: str, tmp_path: Path, fmt: str
) -> None:
    seed(client)
    path = tmp_path / f"qa.{fmt}"
    code, out, _ = run(capsys, db_url, "export", "qa", "--format", fmt, "-o", str(path))
    qa = client.get_dataset(name="qa")
    assert code == 0
    assert out.strip() == (
        f"exported 3 records of dataset 'qa' version 2 to {path} ({fmt}); digest {qa.digest}"
    )
    code, out, _ = run(capsys, db_url, "import", "copy", str(path))
    assert code == 0
    copy = client.get_dataset(name="copy")
    assert out.splitlines() == [
        f"imported 3 records from {path} into created dataset 'copy': 3 added, 0 updated",
        f"dataset 'copy' version 1: 3 records, digest {qa.digest}",
    ]
    assert copy.digest == qa.digest
    cols = ["inputs", "outputs", "expectations", "tags", "source_type"]
    assert orjson.dumps(copy.to_df()[cols].to_dict("records")) == orjson.dumps(
        qa.to_df()[cols].to_dict("records")
    )


def test_export_old_versions(
    client: Client, capsys: pytest.CaptureFixture[str], db_url: str, tmp_path: Path
) -> None:
    seed(client)
    v1 = client.get_dataset(name="qa", version=1)
    path = tmp_path / "v1.jsonl"
    code, out, _ = run(capsys, db_url, "export", "qa", "--version", "1", "-o", str(path))
    assert code == 0 and "2 records of dataset 'qa' version 1 (snapshot)" in out
    assert len(path.read_text().splitlines()) == 2
    code, out, _ = run(capsys, db_url, "import", "v1", str(path))
    assert code == 0 and client.get_dataset(name="v1").digest == v1.digest

    now = datetime.now(UTC).isoformat()
    for when in (now, str(int(datetime.now(UTC).timestamp() * 1000))):
        code, out, _ = run(capsys, db_url, "export", "qa", "--as-of", when, "-o", str(path))
        assert code == 0 and f"version 2 (snapshot) to {path}" in out
    code, _, err = run(capsys, db_url, "export", "qa", "--as-of", "0", "-o", str(path))
    assert code == 1 and "did not exist" in one_line_error(err)
    code, _, err = run(capsys, db_url, "export", "qa", "--version", "9", "-o", str(path))
    assert code == 1 and one_line_error(err)


def test_import_creates_then_merges(
    client: Client, capsys: pytest.CaptureFixture[str], db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "cases.data"
    path.write_text(
        '{"inputs": {"q": 1}, "expectations": {"a": 1}}\n{"inputs": {"q": 2}}\n'
        '{"inputs": {"q": 3}}\n'
    )
    code, _, err = run(capsys, db_url, "import", "cases", str(path))
    assert code == 1 and "pass --format" in one_line_error(err)
    code, out, _ = run(
        capsys, db_url, "import", "cases", str(path), "--format", "jsonl", "--batch-size", "2"
    )
    assert code == 0
    assert "into created dataset 'cases': 3 added, 0 updated" in out
    assert "dataset 'cases' version 2: 3 records" in out  # two batches, two versions
    ds = client.get_dataset(name="cases")
    assert ds.experiment_ids == ["0"]

    path.write_text('{"inputs": {"q": 1}, "expectations": {"b": 2}}\n{"inputs": {"q": 4}}\n')
    code, out, _ = run(capsys, db_url, "import", "cases", str(path), "--format", "jsonl")
    assert code == 0
    assert "into dataset 'cases': 1 added, 1 updated" in out
    assert "dataset 'cases' version 3: 4 records" in out
    first = client.get_dataset(name="cases").records[0]
    assert first.expectations == {"a": 1, "b": 2}


def test_import_bad_row_writes_nothing(
    client: Client, capsys: pytest.CaptureFixture[str], db_url: str, tmp_path: Path
) -> None:
    seed(client)
    path = tmp_path / "bad.csv"
    path.write_text('inputs,expectations\n"{""q"": 10}",\n"{""q"": 11}",\n"{""q"": 12}","[1]"\n')
    code, out, err = run(capsys, db_url, "import", "fresh", str(path), "--batch-size", "2")
    assert code == 1 and out == ""
    assert one_line_error(err) == (
        f"evalledger: error: {path}: row 3: field 'expectations': expected a dict, got list"
    )
    with pytest.raises(ResourceNotFound):
        client.get_dataset(name="fresh")
    before = client.get_dataset(name="qa")
    code, _, err = run(capsys, db_url, "import", "qa", str(path), "--batch-size", "2")
    assert code == 1 and "row 3" in one_line_error(err)
    after = client.get_dataset(name="qa")
    assert (after.version, after.digest) == (before.version, before.digest)


def test_user_errors_exit_1(
    client: Client, capsys: pytest.CaptureFixture[str], db_url: str, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.jsonl"
    code, _, err = run(capsys, db_url, "import", "x", str(missing))
    assert code == 1
    assert one_line_error(err) == f"evalledger: error: {missing}: No such file or directory"
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"\x00" * 64)
    code, _, err = run(capsys, db_url, "import", "x", str(garbage))
    assert code == 1 and "not a readable parquet file" in one_line_error(err)
    code, _, err = run(capsys, db_url, "export", "missing", "-o", str(tmp_path / "a.csv"))
    assert code == 1 and "does not exist" in one_line_error(err)
    code, _, err = run(capsys, db_url, "export", "missing", "-o", str(tmp_path / "a.txt"))
    assert code == 1 and "pass --format" in one_line_error(err)
    client.create_dataset("x")
    target = tmp_path / "no" / "dir" / "a.jsonl"
    code, _, err = run(capsys, db_url, "export", "x", "-o", str(target))
    assert one_line_error(err) == (
        f"evalledger: error: cannot write {target}: the directory {target.parent} does not exist"
    )
    assert code == 1 and ".tmp" not in err
    code, _, err = run(capsys, db_url, "export", "x", "--format", "csv", "-o", str(tmp_path))
    assert code == 1 and "it is a directory" in one_line_error(err)
    assert main(["--uri", "nosuchdb://x", "datasets"]) == 1
    assert "not supported" in one_line_error(capsys.readouterr().err)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nosuchcommand"],
        ["export", "qa"],  # no -o
        ["export", "qa", "-o", "x.csv", "--format", "xml"],
        ["export", "qa", "-o", "x.csv", "--version", "1", "--as-of", "5"],
        ["export", "qa", "-o", "x.csv", "--as-of", "yesterday"],
        ["import", "qa"],
        ["import", "qa", "f.jsonl", "--batch-size", "0"],
        ["show"],
        ["show", "qa", "--rows", "-1"],
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage: evalledger" in capsys.readouterr().err


def test_uri_after_the_command(
    client: Client, capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    seed(client)
    assert main(["datasets", "--uri", db_url]) == 0
    assert "qa " in capsys.readouterr().out


def test_demo_runs_twice(client: Client, capsys: pytest.CaptureFixture[str], db_url: str) -> None:
    finals = []
    for _ in range(2):
        code, out, _ = run(capsys, db_url, "demo")
        assert code == 0
        last = out.strip().splitlines()[-1]
        assert last.startswith("demo done: dataset customer_support_qa version ")
        finals.append(last)
        assert "MLflow is an open source platform" in out  # the to_df preview
    ds = client.get_dataset(name="customer_support_qa")
    assert finals[1].endswith(f"version {ds.version}, 5 records, digest {ds.digest}")
    # the second run reuses the dataset and changes nothing: same records, digest, version
    assert finals[0] == finals[1]
    assert "exists from a previous run" in out
    assert ds.tags == {"team": "support", "stage": "development", "owner": "demo", "version": "1"}
    what_is = next(r for r in ds.records if r.inputs == {"question": "What is MLflow?"})
    assert {"answer", "key_topics", "answer_length"} <= set(what_is.expectations)
    code, out, _ = run(capsys, db_url, "verify")
    assert code == 0 and out.startswith("ok: ")


def test_import_shows_a_progress_bar_on_a_terminal(
    capsys: pytest.CaptureFixture[str],
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    path = tmp_path / "x.jsonl"
    path.write_text("".join(f'{{"inputs": {{"i": {i}}}}}\n' for i in range(5)))
    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    assert main(["--uri", db_url, "import", "bar", str(path), "--batch-size", "2"]) == 0
    bar = tty.getvalue()
    assert "\rchecking [" in bar and "\rimporting [" in bar and "5/5" in bar
    assert bar.endswith("\n")
    assert "5 added, 0 updated" in capsys.readouterr().out

    monkeypatch.undo()
    capsys.readouterr()
    assert main(["--uri", db_url, "import", "bar", str(path)]) == 0
    assert capsys.readouterr().err == ""  # not a terminal: no bar
