"""el.transfer: export/import round trips, foreign files, bad rows, batching, progress."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evalledger import Client
from evalledger.datasets.transfer import (
    EXPORT_COLUMNS,
    export_dataset,
    format_for,
    import_records,
    read_records,
    validate_batch,
)
from evalledger.errors import InvalidParameter, ResourceNotFound

FORMATS = ["jsonl", "csv", "parquet"]

#: Awkward JSON: unicode, nested lists, nulls, 1 vs 1.0, strings that look like csv/NA
#: markers, big and tiny numbers, every source type shape.
AWKWARD: list[dict[str, Any]] = [
    {
        "inputs": {"q": "naïve café ☕ 日本語 🎉", "n": 1},
        "outputs": {"answer": "ok", "scores": [1, 1.0, 0.5, -0.0]},
        "expectations": {"exact": 1, "approx": 1.0},
        "tags": {"lang": "mixed"},
    },
    {  # differs from the first only by 1.0 vs 1: a separate record
        "inputs": {"q": "naïve café ☕ 日本語 🎉", "n": 1.0},
        "outputs": 1.0,
    },
    {"inputs": {"q": "int output"}, "outputs": 1},
    {
        "inputs": {"q": "nested", "deep": [[1, [2, [3.5, None]]], {"a": [], "b": {}}]},
        "outputs": [[[]], [None, True, False], {"x": [{"y": [1e-300, 1.5e300]}]}],
        "expectations": {"big": 2**63 - 1, "small": -(2**63), "list": [[], [[]]]},
    },
    {"inputs": {"q": "explicit null outputs"}, "outputs": None},
    {"inputs": {"q": "no outputs key, no expectations"}},
    {"inputs": {}, "outputs": "empty inputs"},
    {
        "inputs": {"q": 'commas, "quotes", \ttabs\nand\r\nnewlines', "key with space.dot": ""},
        "outputs": "NA",
        "expectations": {"null": "null", "empty": "", "nan": "NaN"},
        "tags": {"a,b": 'c"d'},
    },
    {
        "inputs": {"q": "trace sourced"},
        "outputs": False,
        "source": {"source_type": "TRACE", "source_data": {"trace_id": "tr-1", "n": 1.0}},
    },
    {
        "inputs": {"q": "document sourced"},
        "expectations": {},
        "source": {"source_type": "DOCUMENT", "source_data": {"doc_uri": "s3://b/k"}},
    },
    {"inputs": {"q": "zero"}, "outputs": 0, "tags": {"t": "1.0"}},
]

CONTENT = ["inputs", "outputs", "expectations", "tags", "source"]


def canonical_rows(ds: Any) -> list[bytes]:
    """to_df content as canonical JSON, so 1 and 1.0 (and True) stay different."""
    df = ds.to_df()
    rows = []
    for row in df.itertuples(index=False):
        source = row.source.to_dict() if row.source is not None else None
        rows.append(
            orjson.dumps(
                [row.inputs, row.outputs, row.expectations, row.tags, source, row.source_type],
                option=orjson.OPT_SORT_KEYS,
            )
        )
    return rows


@pytest.fixture
def source_ds(client: Client) -> Any:
    ds = client.create_dataset("source", tags={"k": "v"})
    ds.merge_records(AWKWARD[:6])
    ds.merge_records(AWKWARD[6:])
    return ds


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_keeps_digest_and_content(
    client: Client, source_ds: Any, tmp_path: Path, fmt: str
) -> None:
    path = tmp_path / f"out.{fmt}"
    assert export_dataset(source_ds, path, fmt) == len(AWKWARD)
    result = import_records(client.session, "copy", path)
    copy = result.dataset
    assert result.created and result.records == len(AWKWARD)
    assert (result.added, result.updated, result.batches) == (len(AWKWARD), 0, 1)
    assert copy.num_records == len(AWKWARD)
    assert copy.digest == source_ds.digest
    assert canonical_rows(copy) == canonical_rows(source_ds)

    # 1 and 1.0 survive in every format (csv too: the cells are JSON text)
    by_q = {orjson.dumps(r.inputs, option=orjson.OPT_SORT_KEYS): r for r in copy.records}
    first = by_q[orjson.dumps({"n": 1, "q": AWKWARD[0]["inputs"]["q"]})]
    second = by_q[orjson.dumps({"n": 1.0, "q": AWKWARD[0]["inputs"]["q"]})]
    assert type(first.inputs["n"]) is int and type(second.inputs["n"]) is float
    assert type(first.expectations["exact"]) is int
    assert type(first.expectations["approx"]) is float
    assert type(second.outputs) is float
    assert [type(x) for x in first.outputs["scores"]] == [int, float, float, float]
    ints = next(r for r in copy.records if r.inputs == {"q": "int output"})
    assert type(ints.outputs) is int

    # importing the same file again dedupes: nothing new, nothing changed
    again = import_records(client.session, "copy", path)
    assert not again.created and (again.added, again.updated) == (0, 0)
    assert again.dataset.digest == source_ds.digest


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_layout(source_ds: Any, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    export_dataset(source_ds, path)  # format from the extension
    if fmt == "jsonl":
        lines = path.read_bytes().splitlines()
        assert len(lines) == len(AWKWARD)
        rows = [orjson.loads(line) for line in lines]
        assert all(list(r) == list(EXPORT_COLUMNS) for r in rows)
        assert rows[0]["inputs"] == AWKWARD[0]["inputs"]
        assert rows[4]["outputs"] is None and "outputs" in rows[4]
    else:
        if fmt == "csv":
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
        else:
            table = pq.read_table(path)
            for name in ("inputs", "outputs", "expectations", "tags", "source"):
                assert table.schema.field(name).type == pa.string()
            assert table.schema.field("created_time").type == pa.int64()
            assert b"evalledger.dataset" in table.schema.metadata
            df = table.to_pandas()
        assert list(df.columns) == list(EXPORT_COLUMNS)
        assert orjson.loads(df["inputs"][0]) == AWKWARD[0]["inputs"]
        assert df["outputs"][4] == "null"
        assert orjson.loads(df["source"][8]) == AWKWARD[8]["source"]
    records = source_ds.records
    ids = [r.dataset_record_id for r in records]
    if fmt == "jsonl":
        assert [r["dataset_record_id"] for r in rows] == ids
    else:
        assert list(df["dataset_record_id"]) == ids


def test_export_of_a_snapshot_and_an_empty_dataset(client: Client, tmp_path: Path) -> None:
    ds = client.create_dataset("versions")
    for fmt in FORMATS:  # an empty dataset exports to a file that imports to nothing
        export_dataset(ds, tmp_path / f"empty.{fmt}")
        result = import_records(client.session, f"empty_{fmt}", tmp_path / f"empty.{fmt}")
        assert result.created and result.records == 0 and result.dataset.num_records == 0
        assert result.dataset.digest == ds.digest
    ds.merge_records([{"inputs": {"q": 1}}])
    ds.merge_records([{"inputs": {"q": 2}}])
    old = client.get_dataset(name="versions", version=1)
    assert export_dataset(old, tmp_path / "v1.jsonl") == 1
    assert import_records(client.session, "v1", tmp_path / "v1.jsonl").dataset.digest == old.digest


def test_failed_export_leaves_no_file(client: Client, tmp_path: Path) -> None:
    ds = client.create_dataset("x")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InvalidParameter, match="unknown format"):
        export_dataset(ds, out / "out.jsonl", "xml")
    with pytest.raises(InvalidParameter, match="extension"):
        export_dataset(ds, out / "out.txt")
    with pytest.raises(FileNotFoundError):
        export_dataset(ds, out / "no such dir" / "out.jsonl")
    assert list(out.iterdir()) == []


# --------------------------------------------------------------------------- other tools' files


def test_foreign_files_import(client: Client, tmp_path: Path) -> None:
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_bytes(
        b"\xef\xbb\xbf"  # a BOM, as some editors write
        + b'{"inputs": {"q": "a"}, "expectations": {"x": 1}}\n'
        + b"\n   \n"
        + b'{"inputs": {"q": "b"}, "source_type": "CODE", "source_id": null, '
        + b'"created_time": 5, "dataset_id": "d-x", "last_updated_by": "me"}\n'
    )
    csv = tmp_path / "b.csv"
    csv.write_text('expectations,inputs\n"{""x"": 1}","{""q"": ""a""}"\n,"{""q"": ""b""}"\n')
    parquet_strings = tmp_path / "c.parquet"
    pd.DataFrame(
        {"inputs": ['{"q": "a"}', '{"q": "b"}'], "expectations": ['{"x": 1}', None]}
    ).to_parquet(parquet_strings)
    parquet_native = tmp_path / "d.parquet"  # a struct column, as pandas writes dicts
    pd.DataFrame({"inputs": [{"q": "a"}, {"q": "b"}], "source_id": ["s1", None]}).to_parquet(
        parquet_native
    )
    digests = set()
    for i, path in enumerate([jsonl, csv, parquet_strings]):
        ds = import_records(client.session, f"foreign{i}", path).dataset
        assert [r.inputs for r in ds.records] == [{"q": "a"}, {"q": "b"}]
        assert [r.expectations for r in ds.records] == [{"x": 1}, {}]
        assert [r.source_type for r in ds.records] == ["HUMAN", "CODE"]
        digests.add(ds.digest)
    assert len(digests) == 1
    native = import_records(client.session, "native", parquet_native).dataset
    assert [r.inputs for r in native.records] == [{"q": "a"}, {"q": "b"}]


def test_read_records_batches_and_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(f'{{"inputs": {{"i": {i}}}}}' if i != 2 else "" for i in range(7)))
    batches = list(read_records(path, batch_size=2))
    assert [len(b) for b in batches] == [2, 2, 2]
    assert [b.rows for b in batches] == [[1, 2], [4, 5], [6, 7]]
    assert batches[-1].done == batches[-1].total == path.stat().st_size
    assert [r["inputs"]["i"] for b in batches for r in b] == [0, 1, 3, 4, 5, 6]

    csv = tmp_path / "x.csv"
    csv.write_text("inputs\n" + "".join(f'"{{""i"": {i}}}"\n' for i in range(5)))
    batches = list(read_records(csv, batch_size=2))
    assert [b.rows for b in batches] == [[1, 2], [3, 4], [5]]
    assert batches[0].unit == "row"

    pq_path = tmp_path / "x.parquet"
    pd.DataFrame({"inputs": [f'{{"i": {i}}}' for i in range(5)]}).to_parquet(pq_path)
    batches = list(read_records(pq_path, batch_size=2))
    assert [b.rows for b in batches] == [[1, 2], [3, 4], [5]]
    assert [(b.done, b.total) for b in batches] == [(2, 5), (4, 5), (5, 5)]


def test_format_for() -> None:
    assert format_for("a.JSONL") == "jsonl"
    assert format_for("a.ndjson") == "jsonl"
    assert format_for("dir.v2/a.csv") == "csv"
    assert format_for("a.pq") == "parquet"
    assert format_for("a.txt", "Parquet") == "parquet"
    with pytest.raises(InvalidParameter, match="pass --format"):
        format_for("a.json")
    with pytest.raises(InvalidParameter, match="unknown format 'xls'"):
        format_for("a.csv", "xls")


# --------------------------------------------------------------------------- bad files


def _first_error(path: Path, fmt: str | None = None) -> str:
    with pytest.raises(InvalidParameter) as info:
        for batch in read_records(path, fmt, batch_size=2):
            validate_batch(batch)
    return str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"inputs": {}}\n{"inputs": {"a": 1}\n', r"x\.jsonl: line 2: not valid JSON"),
        ('{"inputs": {}}\n\n[1, 2]\n', r"line 3: expected a JSON object .*got list"),
        ('{"inputs": {}}\n{"inputs": {}}\n{"inputs": "q"}\n', r"line 3: field 'inputs': expected"),
        ('{"inputs": {}}\n{"outputs": 1}\n', r"line 2: field 'inputs': missing"),
        ('{"inputs": {}, "extra": 1}\n', r"line 1: field 'extra': unknown field"),
        ('{"inputs": {}, "tags": [1]}\n', r"line 1: field 'tags': expected a dict"),
        ('{"inputs": {"x": 1e999}}\n', r"line 1: not valid JSON"),
        (
            '{"inputs": {}}\n{"inputs": {}, "source": {"source_type": "ROBOT"}}\n',
            r"line 2: field 'source.source_type': unknown source type 'ROBOT'",
        ),
    ],
)
def test_bad_jsonl_rows_are_named(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(text)
    message = _first_error(path)
    assert re.search(expected, message), message


def test_bad_csv_and_parquet_files(tmp_path: Path) -> None:
    csv = tmp_path / "x.csv"
    csv.write_text('inputs,expectations\n"{}",\n"{}","{not json"\n')
    assert "x.csv: row 2: field 'expectations': not valid JSON" in _first_error(csv)
    csv.write_text('inputs,expectations\n"{}",\n"{}",\n"[1]",\n')
    assert "row 3: field 'inputs': expected a dict, got list" in _first_error(csv)
    csv.write_text('inputs,tags\n"{}",\n\n,"{}"\n')  # the blank line is skipped: a data row 2
    assert "row 2: field 'inputs': missing" in _first_error(csv)
    csv.write_text('inputs,question\n"{}",hi\n')
    assert "column 'question' is not a record field" in _first_error(csv)
    csv.write_text("expectations\n{}\n")
    assert "no 'inputs' column" in _first_error(csv)
    csv.write_text("")
    assert "the file is empty" in _first_error(csv)
    csv.write_bytes(b'inputs\n"{\xff}"\n')
    assert "not a readable csv file" in _first_error(csv)

    parquet = tmp_path / "x.parquet"
    pd.DataFrame({"inputs": ["{}", "{}", "{}", '{"a": NaN}']}).to_parquet(parquet)
    assert "x.parquet: row 4: field 'inputs': not valid JSON" in _first_error(parquet)
    parquet.write_bytes(b"not parquet at all")
    assert "not a readable parquet file" in _first_error(parquet)

    with pytest.raises(FileNotFoundError):
        list(read_records(tmp_path / "missing.jsonl"))


def _first_exception(path: Path) -> InvalidParameter:
    with pytest.raises(InvalidParameter) as info:
        for batch in read_records(path, batch_size=2):
            validate_batch(batch)
    return info.value


def test_errors_carry_the_record_position_in_the_file_and_the_field(tmp_path: Path) -> None:
    """index counts the file's records from 0 across batches (jsonl blank lines are not
    records); field is the path inside the record."""
    path = tmp_path / "x.jsonl"
    lines = ['{"inputs": {}}'] * 5 + ["", '{"inputs": {}, "tags": {"t": {"deep": 1e400}}}']
    path.write_text("\n".join(lines) + "\n")
    exc = _first_exception(path)
    assert str(exc).startswith(f"{path}: line 7: not valid JSON")
    assert (exc.index, exc.field) == (5, None)
    path.write_text(
        "\n".join(['{"inputs": {}}'] * 4 + ["", '{"inputs": {"q": {"x": [1, {}]}}, "tags": [1]}'])
    )
    exc = _first_exception(path)
    assert str(exc) == f"{path}: line 6: field 'tags': expected a dict, got list"
    assert (exc.index, exc.field) == (4, "tags")
    path.write_text(
        '{"inputs": {}}\n{"inputs": {}}\n{"inputs": {}, "source": {"source_type": "X"}}\n'
    )
    exc = _first_exception(path)
    assert (exc.index, exc.field) == (2, "source.source_type")

    csv = tmp_path / "x.csv"
    csv.write_text('inputs,expectations\n"{}",\n"{}",\n"{}","{bad"\n')
    exc = _first_exception(csv)
    assert "x.csv: row 3: field 'expectations': not valid JSON" in str(exc)
    assert (exc.index, exc.field) == (2, "expectations")
    csv.write_text('inputs\n"{}"\n"{}"\n"{}"\n"{""a"": [1, NaN]}"\n')
    exc = _first_exception(csv)
    assert (exc.index, exc.field) == (3, "inputs")

    parquet = tmp_path / "x.parquet"
    pd.DataFrame({"inputs": ["{}", "{}", '{"a": {"b": [0, "x"]}}', "[]"]}).to_parquet(parquet)
    exc = _first_exception(parquet)
    assert str(exc) == f"{parquet}: row 4: field 'inputs': expected a dict, got list"
    assert (exc.index, exc.field) == (3, "inputs")


def test_a_bad_row_in_a_later_batch_writes_nothing(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    lines = [orjson.dumps({"inputs": {"i": i}}).decode() for i in range(5)]
    path.write_text("\n".join([*lines, '{"inputs": {"i": 5}, "outputs": NaN}']) + "\n")
    with pytest.raises(InvalidParameter, match="line 6: not valid JSON"):
        import_records(client.session, "new", path, batch_size=2)
    with pytest.raises(ResourceNotFound):
        client.get_dataset(name="new")  # not even created

    ds = client.create_dataset("existing")
    path.write_text("\n".join([*lines, '{"inputs": {"i": 5}, "expectations": 3}']) + "\n")
    with pytest.raises(InvalidParameter, match="line 6: field 'expectations'"):
        import_records(client.session, "existing", path, batch_size=2)
    assert client.get_dataset(name="existing").version == ds.version == 0


def test_batches_are_versions_and_progress_is_reported(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    rows = [{"inputs": {"i": i % 4}, "tags": {"n": str(i)}} for i in range(6)]
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    calls: list[tuple[str, int, int]] = []
    result = import_records(
        client.session,
        "batched",
        path,
        batch_size=4,
        experiment_id="0",
        progress=lambda *a: calls.append(a),
    )
    # batch 1 adds i=0..3; batch 2 (i=0, 1 again) updates their tags
    assert (result.records, result.added, result.updated, result.batches) == (6, 4, 2, 2)
    assert result.dataset.version == 2 and result.dataset.num_records == 4
    assert [r.tags for r in result.dataset.records][:2] == [{"n": "4"}, {"n": "5"}]
    size = path.stat().st_size
    checking = [c for c in calls if c[0] == "checking"]
    assert checking[0] == ("checking", 0, size) and checking[-1] == ("checking", size, size)
    assert len(checking) == 3 and 0 < checking[1][1] < size
    assert calls[3:] == [("importing", 0, 6), ("importing", 4, 6), ("importing", 6, 6)]


def test_progress_bar_draws_on_a_terminal(client: Client, tmp_path: Path) -> None:
    """The bar the CLI uses, forced on: it draws both phases and ends its lines."""
    from evalledger.cli.main import _PhasedProgress
    from evalledger.cli.progress import ProgressBar

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    path = tmp_path / "x.jsonl"
    path.write_text('{"inputs": {"a": 1}}\n{"inputs": {"a": 2}}\n')
    stream = Tty()
    bar = ProgressBar("forced", io.StringIO(), force=True)
    bar.update(1, 2)
    bar.close()
    assert bar.stream.getvalue().startswith("\rforced [")  # type: ignore[attr-defined]

    old, sys.stderr = sys.stderr, stream
    try:
        with _PhasedProgress({"checking": "checking", "importing": "importing"}) as progress:
            import_records(client.session, "bar", path, progress=progress)
    finally:
        sys.stderr = old
    text = stream.getvalue()
    assert "checking [" in text and "importing [" in text and "2/2" in text
    assert text.endswith("\n")
