"""The CLI for people and scripts: names or ids, labels, --json, stdout exports, the small
writes (delete, undelete, restore, label, tag, untag), traces, and errors that say what to
do."""

from __future__ import annotations

import io
import itertools
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pandas as pd
import pytest
from cli_helpers import one_line_error, run

from evalledger import Client
from evalledger.cli.common import plural
from evalledger.cli.main import main
from evalledger.cli.progress import ProgressBar
from evalledger.errors import ResourceNotFound

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
TRACES = FIXTURES / "mlflow_traces.jsonl"


def seed(client: Client) -> str:
    """Dataset "qa": v0 create, v1 two records, v2 one more and a changed one, label
    golden -> v1. Returns its id."""
    ds = client.create_dataset("qa", tags={"team": "support"})
    ds.merge_records(
        [
            {"inputs": {"q": "a"}, "expectations": {"answer": "A"}},
            {"inputs": {"q": "b"}},
        ]
    )
    ds.label_version("golden")
    ds.merge_records(
        [{"inputs": {"q": "a"}, "expectations": {"answer": "AA"}}, {"inputs": {"q": "c"}}]
    )
    return ds.dataset_id


# --------------------------------------------------------------------------- names and ids


def test_a_dataset_is_named_by_name_or_id(
    client: Client, capsys: pytest.CaptureFixture[str], db_url: str, tmp_path: Path
) -> None:
    dataset_id = seed(client)
    by_name = [run(capsys, db_url, cmd, "qa")[1] for cmd in ("show", "history")]
    by_id = [run(capsys, db_url, cmd, dataset_id)[1] for cmd in ("show", "history")]
    assert by_name == by_id and "version      2\n" in by_id[0]
    assert (
        run(capsys, db_url, "diff", dataset_id, "0")[1] == run(capsys, db_url, "diff", "qa", "0")[1]
    )
    code, out, _ = run(capsys, db_url, "export", dataset_id, "-o", str(tmp_path / "qa.jsonl"))
    assert code == 0 and "3 records of dataset 'qa' version 2" in out
    # import into an existing dataset by its id, not into a new dataset named like the id
    extra = tmp_path / "extra.jsonl"
    extra.write_text('{"inputs": {"q": "d"}}\n')
    code, out, _ = run(capsys, db_url, "import", dataset_id, str(extra))
    assert code == 0 and "into dataset 'qa': 1 added" in out
    assert client.get_dataset(name="qa").num_records == 4
    code, _, err = run(capsys, db_url, "show", "d-" + "0" * 32)
    assert code == 1 and "there is no dataset with id 'd-000" in one_line_error(err)


def test_versions_are_numbers_or_labels(
    client: Client, capsys: pytest.CaptureFixture[str], db_url: str, tmp_path: Path
) -> None:
    seed(client)
    code, out, _ = run(capsys, db_url, "diff", "qa", "golden")
    assert code == 0 and out.startswith(
        "dataset 'qa': version 1 -> 2: 1 added, 0 removed, 1 changed"
    )
    code, out, _ = run(capsys, db_url, "diff", "qa", "golden", "0")
    assert code == 0 and "version 1 -> 0: 0 added, 2 removed" in out
    code, out, _ = run(capsys, db_url, "show", "qa", "--version", "golden")
    assert code == 0 and "version      1 (read-only snapshot)" in out
    assert "labels       golden (v1)" in out
    path = tmp_path / "golden.jsonl"
    code, out, _ = run(capsys, db_url, "export", "qa", "--version", "golden", "-o", str(path))
    assert code == 0 and "2 records of dataset 'qa' version 1 (snapshot)" in out
    assert len(path.read_text().splitlines()) == 2
    code, out, _ = run(capsys, db_url, "history", "qa")
    assert out.splitlines()[2].rstrip().endswith("golden")


def test_a_missing_version_or_label_says_what_there_is(
    client: Client, capsys: pytest.CaptureFixture[str], db_url: str, tmp_path: Path
) -> None:
    seed(client)
    for args in (["show", "qa", "--version", "7"], ["diff", "qa", "1", "7"]):
        code, _, err = run(capsys, db_url, *args)
        assert code == 1
        assert one_line_error(err) == (
            "evalledger: error: dataset 'qa' has no version 7: its versions are 0 to 2 (the latest)"
        )
    code, _, err = run(
        capsys, db_url, "export", "qa", "--version", "gold", "-o", str(tmp_path / "x.csv")
    )
    assert code == 1
    assert one_line_error(err).endswith(
        "dataset 'qa' has no version labelled 'gold': its labels are golden (v1)"
    )
    assert not (tmp_path / "x.csv").exists()


def test_as_of_before_creation_names_the_creation_time(
    client: Client, capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    seed(client)
    created = client.get_dataset(name="qa").created_time
    stamp = datetime.fromtimestamp(created / 1000, tz=UTC)
    code, _, err = run(capsys, db_url, "show", "qa", "--as-of", "2020-01-01T00:00:00")
    assert code == 1
    line = one_line_error(err)
    assert "did not exist yet at 2020-01-01T00:00:00.000Z" in line
    assert f"it was created at {stamp:%Y-%m-%dT%H:%M:%S}." in line
    assert str(created) not in line  # a date, not milliseconds
    # the creation time as printed is accepted back by --as-of
    shown = line.rsplit("created at ", 1)[1]
    code, out, _ = run(capsys, db_url, "show", "qa", "--as-of", shown, "--rows", "0")
    assert code == 0 and "(read-only snapshot)" in out


# --------------------------------------------------------------------------- --json


def test_json_documents(client: Client, capsys: pytest.CaptureFixture[str], db_url: str) -> None:
    dataset_id = seed(client)
    qa = client.get_dataset(name="qa")

    code, out, _ = run(capsys, db_url, "datasets", "--json")
    assert code == 0
    (listed,) = orjson.loads(out)["datasets"]
    assert listed["dataset_id"] == dataset_id and listed["name"] == "qa"
    assert listed["version"] == 2 and listed["num_records"] == 3 and listed["digest"] == qa.digest
    assert listed["tags"] == {"team": "support"} and listed["deleted"] is False
    assert listed["deleted_time"] is None and listed["created_time"] == qa.created_time

    code, out, _ = run(capsys, db_url, "show", "qa", "--json", "--rows", "2")
    shown = orjson.loads(out)
    assert shown["version"] == 2 and shown["is_snapshot"] is False
    assert shown["labels"] == {"golden": 1}
    assert shown["profile"]["num_records"] == 3 and shown["schema"]["version"] == "1.0"
    assert [r["inputs"] for r in shown["records"]] == [{"q": "a"}, {"q": "b"}]
    assert shown["records"][0]["expectations"] == {"answer": "AA"}

    code, out, _ = run(capsys, db_url, "history", "qa", "--json")
    versions = orjson.loads(out)["versions"]
    assert [v["version"] for v in versions] == [0, 1, 2]
    assert versions[1]["operation"] == "MERGE" and versions[1]["records_added"] == 2
    assert versions[1]["labels"] == ["golden"] and isinstance(versions[1]["timestamp"], int)
    assert versions[2]["num_records"] == 3 and versions[2]["digest"] == qa.digest

    code, out, _ = run(capsys, db_url, "diff", "qa", "golden", "--json")
    d = orjson.loads(out)
    assert (d["from_version"], d["to_version"]) == (1, 2)
    assert [r["inputs"] for r in d["added"]] == [{"q": "c"}] and d["removed"] == []
    (change,) = d["changed"]
    assert change["fields"] == [{"path": "expectations.answer", "before": "A", "after": "AA"}]
    assert change["inputs"] == {"q": "a"}


def test_traces_import_and_search(
    client: Client, capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    client.create_experiment("support")
    code, out, _ = run(capsys, db_url, "traces", "import", str(TRACES), "--experiment-id", "1")
    assert code == 0
    assert out.strip() == f"imported 30 traces from {TRACES}: 30 new, 0 already in the ledger"
    code, out, _ = run(capsys, db_url, "traces", "import", str(TRACES))
    assert code == 0 and "0 new, 30 already in the ledger" in out

    code, out, _ = run(
        capsys,
        db_url,
        "traces",
        "search",
        "--filter",
        "tag.quality_score < 0.7",
        "--order-by",
        "attributes.timestamp_ms ASC",
        "--max-results",
        "3",
        "--extract",
        "span.attributes.usage.total_tokens",
        "--json",
    )
    assert code == 0
    found = orjson.loads(out)["traces"]
    expected = client.search_traces(
        filter_string="tag.quality_score < 0.7",
        order_by=["attributes.timestamp_ms ASC"],
        max_results=3,
        extract_fields=["span.attributes.usage.total_tokens"],
    )
    assert [t["trace_id"] for t in found] == list(expected["trace_id"])
    assert all(float(t["tags"]["quality_score"]) < 0.7 for t in found)
    assert [t["extracted"]["span.attributes.usage.total_tokens"] for t in found] == list(
        expected["span.attributes.usage.total_tokens"]
    )
    assert set(found[0]) == {
        "trace_id",
        "request_time",
        "state",
        "execution_duration",
        "request",
        "response",
        "trace_metadata",
        "tags",
        "assessments",
        "extracted",
    }

    code, out, _ = run(
        capsys, db_url, "traces", "search", "--max-results", "2", "--extract", "tag.quality_score"
    )
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:4] == ["trace_id", "time", "state", "ms"]
    assert lines[0].rstrip().endswith("tag.quality_score") and lines[-1] == "2 traces"
    code, out, _ = run(capsys, db_url, "traces", "search", "--filter", "tag.nope = 'x'")
    assert code == 0 and out.strip() == "no traces match the filter"
    code, _, err = run(capsys, db_url, "traces", "search", "--filter", "tag.x ==== 1")
    assert code == 1 and one_line_error(err)
    code, _, err = run(capsys, db_url, "traces", "import", "no-such-file.jsonl")
    assert one_line_error(err) == "evalledger: error: no-such-file.jsonl: No such file or directory"


# --------------------------------------------------------------------------- export to stdout


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_export_to_stdout(
    client: Client, capsysbinary: pytest.CaptureFixture[bytes], db_url: str, fmt: str
) -> None:
    seed(client)
    qa = client.get_dataset(name="qa")
    args = ["export", "qa", "-o", "-"] + ([] if fmt == "jsonl" else ["--format", fmt])
    assert main(["--uri", db_url, *args]) == 0
    out, err = capsysbinary.readouterr()
    assert err == b""
    if fmt == "jsonl":
        rows = [orjson.loads(line) for line in out.splitlines()]
    elif fmt == "csv":
        rows = pd.read_csv(io.BytesIO(out)).to_dict("records")
    else:
        rows = pd.read_parquet(io.BytesIO(out)).to_dict("records")
    assert [r["dataset_record_id"] for r in rows] == [r.dataset_record_id for r in qa.records]


# --------------------------------------------------------------------------- writes


def test_delete_undelete_and_reading_a_deleted_dataset_by_id(
    client: Client, capsys: pytest.CaptureFixture[str], db_url: str, tmp_path: Path
) -> None:
    dataset_id = seed(client)
    code, out, _ = run(capsys, db_url, "delete", "qa")
    assert code == 0 and f"deleted dataset 'qa' ({dataset_id}) at version 3" in out
    assert f"evalledger undelete {dataset_id}" in out
    with pytest.raises(ResourceNotFound):
        client.get_dataset(name="qa")

    code, out, _ = run(capsys, db_url, "datasets")
    assert out.strip() == "no datasets"
    code, out, _ = run(capsys, db_url, "datasets", "--deleted")
    assert dataset_id in out and out.splitlines()[-1] == "1 dataset (0 live, 1 deleted)"
    code, out, _ = run(capsys, db_url, "datasets", "--deleted", "--json")
    (listed,) = orjson.loads(out)["datasets"]
    assert listed["deleted"] is True and isinstance(listed["deleted_time"], int)

    code, _, err = run(capsys, db_url, "show", "qa")
    assert code == 1 and f"a deleted dataset of that name has the id {dataset_id}" in err
    code, out, _ = run(capsys, db_url, "show", dataset_id)
    assert code == 0 and "version      3 (deleted)" in out and "records      3" in out
    code, out, _ = run(capsys, db_url, "history", dataset_id)
    assert code == 0 and "DELETE" in out.splitlines()[-1]
    code, out, _ = run(capsys, db_url, "diff", dataset_id, "golden")
    assert code == 0 and "version 1 -> 3" in out
    code, out, _ = run(capsys, db_url, "export", dataset_id, "-o", str(tmp_path / "gone.csv"))
    assert code == 0 and "3 records of dataset 'qa' version 3 (deleted)" in out
    before = client.get_dataset(dataset_id=dataset_id, version=2).last_update_time
    code, out, _ = run(capsys, db_url, "show", dataset_id, "--as-of", str(before), "--rows", "0")
    assert code == 0 and "version      2 (read-only snapshot)" in out
    code, _, err = run(capsys, db_url, "show", dataset_id, "--as-of", "2999-01-01T00:00:00")
    line = one_line_error(err)
    assert "was deleted at 20" in line and "--version from 0 to 3" in line
    code, _, err = run(capsys, db_url, "tag", dataset_id, "a=b")
    assert code == 1 and f"`evalledger undelete {dataset_id}` brings it back" in one_line_error(err)

    code, _, err = run(capsys, db_url, "undelete", "qa")
    line = one_line_error(err)
    assert "undelete takes a dataset id" in line and dataset_id in line
    code, out, _ = run(capsys, db_url, "undelete", dataset_id)
    assert code == 0 and f"undeleted dataset 'qa' ({dataset_id}): version 4, 3 records" in out
    assert client.get_dataset(name="qa").num_records == 3
    code, _, err = run(capsys, db_url, "undelete", dataset_id)
    assert code == 1 and "is not deleted" in one_line_error(err)


def test_restore_label_tag_untag(
    client: Client, capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    seed(client)
    code, out, _ = run(capsys, db_url, "restore", "qa", "golden")
    assert code == 0 and out.startswith(
        "restored dataset 'qa' to the content of version 1: version 3, 2 records"
    )
    assert client.get_dataset(name="qa").digest == client.get_dataset(name="qa", version=1).digest
    code, out, _ = run(capsys, db_url, "restore", "qa", "1")
    assert code == 0 and "nothing changed" in out and client.get_dataset(name="qa").version == 3
    code, _, err = run(capsys, db_url, "restore", "qa", "9")
    assert code == 1 and "its versions are 0 to 3" in one_line_error(err)

    code, out, _ = run(capsys, db_url, "label", "qa", "v-two", "2")
    assert code == 0 and out.strip() == "label 'v-two' -> dataset 'qa' version 2"
    code, out, _ = run(capsys, db_url, "label", "qa", "golden")
    assert out.strip() == "label 'golden' -> dataset 'qa' version 3 (moved from version 1)"
    code, out, _ = run(capsys, db_url, "label", "qa", "best", "v-two")
    assert out.strip() == "label 'best' -> dataset 'qa' version 2"
    assert client.get_dataset(name="qa").version_labels() == {"best": 2, "golden": 3, "v-two": 2}
    code, _, err = run(capsys, db_url, "label", "qa", "3")
    assert code == 1 and "choose a label with a letter" in one_line_error(err)

    code, out, _ = run(capsys, db_url, "tag", "qa", "stage=prod", "note=a=b")
    assert code == 0 and out.strip() == (
        "dataset 'qa' version 4: tags note=a=b, stage=prod, team=support"
    )
    code, out, _ = run(capsys, db_url, "tag", "qa", "stage=prod")
    assert "nothing changed" in out and client.get_dataset(name="qa").version == 4
    code, out, _ = run(capsys, db_url, "untag", "qa", "note")
    assert code == 0 and out.strip() == "dataset 'qa' version 5: tags stage=prod, team=support"
    code, out, _ = run(capsys, db_url, "untag", "qa", "note")
    assert code == 0 and "has no tag 'note' (its tags: stage, team): nothing changed" in out
    assert client.get_dataset(name="qa").tags == {"stage": "prod", "team": "support"}


def test_show_one_record(client: Client, capsys: pytest.CaptureFixture[str], db_url: str) -> None:
    seed(client)
    first = client.get_dataset(name="qa").records[0]
    code, out, _ = run(capsys, db_url, "show", "qa", "--record", first.dataset_record_id)
    assert code == 0 and out.startswith("{\n  ")  # pretty
    assert orjson.loads(out) == orjson.loads(orjson.dumps(first.to_dict()))
    code, out, _ = run(
        capsys, db_url, "show", "qa", "--version", "golden", "--record", first.dataset_record_id
    )
    assert orjson.loads(out)["expectations"] == {"answer": "A"}
    third = client.get_dataset(name="qa").records[2]
    code, _, err = run(
        capsys, db_url, "show", "qa", "--version", "1", "--record", third.dataset_record_id
    )
    assert code == 1 and "version 2 has it (--version 2)" in one_line_error(err)
    code, _, err = run(capsys, db_url, "show", "qa", "--record", "dr-nope")
    assert code == 1 and "has no record 'dr-nope'" in one_line_error(err)


@pytest.mark.parametrize(
    "argv",
    [
        ["tag", "qa"],
        ["tag", "qa", "novalue"],
        ["tag", "qa", "=x"],
        ["untag", "qa"],
        ["label", "qa"],
        ["restore", "qa"],
        ["undelete"],
        ["traces"],
        ["traces", "search", "--max-results", "0"],
        ["diff", "qa", ""],
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage: evalledger" in capsys.readouterr().err


# --------------------------------------------------------------------------- SQLite files


@pytest.mark.parametrize(
    "argv",
    [
        ["verify"],
        ["datasets"],
        ["show", "qa"],
        ["history", "qa"],
        ["diff", "qa", "0"],
        ["export", "qa", "-o", "-"],
        ["traces", "search"],
    ],
)
def test_read_only_commands_never_create_a_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str]
) -> None:
    path = tmp_path / "missing.db"
    assert main(["--uri", f"sqlite:///{path}", *argv]) == 1
    assert str(path) in one_line_error(capsys.readouterr().err)
    assert not path.exists()


@pytest.mark.parametrize("given", ["evalledger.db", "/tmp/x.db", "data/ledger.sqlite"])
def test_a_bare_path_as_uri_says_how_to_write_it(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    given: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["--uri", given, "datasets"]) == 1
    assert one_line_error(capsys.readouterr().err) == (
        f"evalledger: error: --uri {given!r} is a path, not a URL: for an SQLite file write "
        f"sqlite:///{given}"
    )
    monkeypatch.setenv("EVALLEDGER_TRACKING_URI", given)
    assert main(["import", "x", "f.jsonl"]) == 1
    assert "EVALLEDGER_TRACKING_URI" in one_line_error(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []


def test_bad_jsonl_lines_name_their_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    path = tmp_path / "bad.jsonl"
    path.write_text('{"inputs": {"q": 1}}\n\n{"inputs": {"q": 2},}\n{"inputs": 5}\n')
    assert main(["--uri", url, "import", "x", str(path)]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert line.startswith(f"evalledger: error: {path}: line 3: not valid JSON")
    assert "line 1" not in line and "column 20" in line  # orjson's own line would mislead
    path.write_text('{"inputs": {"q": 1}}\n{"inputs": 5}\n')
    assert main(["--uri", url, "import", "x", str(path)]) == 1
    assert one_line_error(capsys.readouterr().err) == (
        f"evalledger: error: {path}: line 2: field 'inputs': expected a dict, got int"
    )


def test_counts_are_singular_or_plural(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    path = tmp_path / "one.jsonl"
    path.write_text('{"inputs": {"q": 1}}\n')
    assert main(["--uri", url, "import", "one", str(path)]) == 0
    out = capsys.readouterr().out
    assert "imported 1 record from" in out and "version 1: 1 record, digest" in out
    assert main(["--uri", url, "export", "one", "-o", str(tmp_path / "o.csv")]) == 0
    assert "exported 1 record of" in capsys.readouterr().out
    assert main(["--uri", url, "datasets"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 dataset"
    assert (plural(1, "event"), plural(2, "event"), plural(0, "event")) == (
        "1 event",
        "2 events",
        "0 events",
    )
    assert plural(1234, "record") == "1,234 records"


# --------------------------------------------------------------------------- progress bars


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([10.0, 10.0, 12.0, 13.0, 14.0])
    monkeypatch.setattr("evalledger.cli.progress.time.perf_counter", lambda: next(clock))
    stream = Tty()
    with ProgressBar("importing", stream, unit="records") as bar:
        bar.update(0, 1000)
        bar.update(500, 1000)
        bar.update(999, 1000)
        bar.update(1000, 1000)
    text = stream.getvalue()
    frames = text.rstrip("\n").split("\r")[1:]
    assert text.endswith("\n") and text.count("\n") == 1
    assert frames[0].startswith("importing [--------------------]   0%  0/1,000 records")
    assert "ETA --:--" in frames[0]
    assert frames[1] == "importing [##########----------]  50%  500/1,000 records  250/s  ETA 0:02"
    assert (
        frames[-1].rstrip() == "importing [####################] 100%  1,000/1,000 records  in 0:04"
    )
    # each frame covers the one before it, within the terminal's width, no control characters
    for before, after in itertools.pairwise(frames):
        assert len(after) >= len(before.rstrip())
    assert all(len(f) < 80 and f.isprintable() for f in frames)


def test_progress_bar_bytes_and_narrow_terminals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("evalledger.cli.progress._columns", lambda _stream: 50)
    stream = Tty()
    bar = ProgressBar("checking", stream, unit="bytes")
    assert "1.5 MB/3.0 MB" in bar.line(1_500_000, 3_000_000, 1.0)
    assert "1.5 MB/s" in bar.line(1_500_000, 3_000_000, 1.0)
    bar.update(1_500_000, 3_000_000)
    bar.close()
    (frame,) = stream.getvalue().rstrip("\n").split("\r")[1:]
    assert len(frame) <= 49


def test_no_progress_bar_when_not_a_terminal() -> None:
    stream = io.StringIO()
    with ProgressBar("rebuild", stream, unit="events") as bar:
        bar.update(1, 2)
        bar.update(2, 2)
    assert stream.getvalue() == ""
