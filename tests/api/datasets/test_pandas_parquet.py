"""Importing parquet files pandas wrote: struct and map columns give back the records pandas
had, so their inputs hash as before and merging the originals again changes nothing."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evalledger import Client
from evalledger.datasets import commands
from evalledger.datasets.records import normalize_records
from evalledger.datasets.transfer import import_records, read_records, validate_batch
from evalledger.errors import InvalidParameter

#: Dict columns whose rows have different keys at every depth: pandas writes each as one
#: struct type holding every key, and reading gives each row all of them (null-filled).
RAGGED: list[dict[str, Any]] = [
    {
        "inputs": {"q": "a", "ctx": {"doc": "d1"}},
        "outputs": "plain text, not JSON",
        "expectations": {"exact": 1},
        "tags": {"t": "x"},
    },
    {
        "inputs": {"q": "b", "n": 2, "ctx": {"pages": [1, 2]}},
        "outputs": "4",
        "tags": {"u": "y"},
        "source": {"source_type": "DOCUMENT", "source_data": {"doc_uri": "s3://b/k"}},
    },
    {
        "inputs": {"q": "c", "turns": [{"role": "user"}, {"role": "bot", "text": "hi"}]},
        "outputs": "",
        "expectations": {"facts": ["f1", "f2"], "exact": 3},
    },
    {
        "inputs": {"q": "d", "ctx": {}},  # an empty dict is kept, unlike a missing key
        "outputs": "null",
        "source": {"source_type": "HUMAN", "source_data": {}},
    },
    {"inputs": {"q": "e", "ctx": {"doc": "d2", "pages": []}, "n": 5}, "outputs": "[1]"},
]


def content(ds: Any) -> list[bytes]:
    """The stored records as canonical JSON (1 and 1.0 stay different)."""
    return [
        orjson.dumps(
            [r.inputs, r.outputs, r.expectations, r.tags, r.source.to_dict()],
            option=orjson.OPT_SORT_KEYS,
        )
        for r in ds.records
    ]


def expected(records: list[dict[str, Any]], client: Client, name: str) -> list[bytes]:
    """What merging `records` themselves stores."""
    return content(client.create_dataset(name).merge_records(records))


def test_a_parquet_file_pandas_wrote_imports_the_records_pandas_had(
    client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "ragged.parquet"
    pd.DataFrame(RAGGED).to_parquet(path)
    assert pq.read_table(path).column("inputs").to_pylist()[0]["n"] is None  # the null fill

    result = import_records(client.session, "imported", path)
    ds = result.dataset
    assert (result.added, result.updated) == (len(RAGGED), 0)
    assert [r.inputs for r in ds.records] == [rec["inputs"] for rec in RAGGED]
    assert [r.outputs for r in ds.records] == [rec["outputs"] for rec in RAGGED]  # strings
    assert content(ds) == expected(RAGGED, client, "direct")
    assert [r.source_type for r in ds.records] == ["HUMAN", "DOCUMENT", "HUMAN", "HUMAN", "CODE"]

    # the same inputs hashes: merging the originals (or the file again) finds every record
    assert commands.merge(client.session, ds.dataset_id, normalize_records(RAGGED)) == (0, 0)
    again = import_records(client.session, "imported", path)
    assert (again.added, again.updated) == (0, 0)
    assert again.dataset.digest == ds.digest and again.dataset.num_records == len(RAGGED)


def test_an_explicit_null_inside_a_struct_column_is_dropped(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "nulls.parquet"
    pd.DataFrame([{"inputs": {"q": "a", "hint": None}}, {"inputs": {"q": "b"}}]).to_parquet(path)
    ds = import_records(client.session, "nulls", path).dataset
    assert [r.inputs for r in ds.records] == [{"q": "a"}, {"q": "b"}]


def test_map_columns_become_dicts(client: Client, tmp_path: Path) -> None:
    strings = pa.map_(pa.string(), pa.string())
    table = pa.table(
        {
            "inputs": pa.array([[("q", "a")], [("q", "b"), ("lang", "de")]], type=strings),
            "expectations": pa.array(
                [None, [("nested", {"m": [("k", 1)], "other": None})]],
                type=pa.map_(
                    pa.string(),
                    pa.struct([("m", pa.map_(pa.string(), pa.int64())), ("other", pa.int64())]),
                ),
            ),
            "tags": pa.array([[("t", None)], []], type=strings),  # a map keeps its null values
        }
    )
    path = tmp_path / "maps.parquet"
    pq.write_table(table, path)
    ds = import_records(client.session, "maps", path).dataset
    assert [r.inputs for r in ds.records] == [{"q": "a"}, {"q": "b", "lang": "de"}]
    assert [r.expectations for r in ds.records] == [{}, {"nested": {"m": {"k": 1}}}]
    assert [r.tags for r in ds.records] == [{"t": None}, {}]


def test_the_columns_pandas_keeps_its_index_in_are_ignored(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "indexed.parquet"
    frame = pd.DataFrame(RAGGED, index=pd.Index([10, 20, 30, 40, 50], name="row_id"))
    frame.to_parquet(path)
    assert "row_id" in pq.read_schema(path).names
    ds = import_records(client.session, "indexed", path).dataset
    assert content(ds) == expected(RAGGED, client, "direct")
    pd.DataFrame(RAGGED).iloc[[4, 0, 2]].to_parquet(path)  # an unnamed, non-range index
    assert "__index_level_0__" in pq.read_schema(path).names
    ds = import_records(client.session, "filtered", path).dataset
    assert [r.inputs["q"] for r in ds.records] == ["e", "a", "c"]


def test_string_columns_of_json_text_are_still_decoded(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "text.parquet"
    pd.DataFrame(
        {"inputs": ['{"q": "a"}', '{"q": "b"}'], "outputs": ['{"answer": 4}', '"four"']}
    ).to_parquet(path)
    ds = import_records(client.session, "text", path).dataset
    assert [r.outputs for r in ds.records] == [{"answer": 4}, "four"]


def test_a_value_with_no_json_meaning_names_the_row_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "when.parquet"
    pd.DataFrame(
        [
            {"inputs": {"q": "a", "when": None}},
            {"inputs": {"q": "b", "when": datetime.datetime(2024, 1, 2)}},
        ]
    ).to_parquet(path)
    with pytest.raises(InvalidParameter) as info:
        for batch in read_records(path):
            validate_batch(batch)
    message = str(info.value)
    assert message.startswith(f"{path}: row 2: field 'inputs.when': a datetime"), message
    assert (info.value.index, info.value.field) == (1, "inputs.when")
