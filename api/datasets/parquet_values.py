"""Parquet cells as the values pandas wrote, and what a parquet file says about its columns.

pandas writes a column of dicts as a struct column whose fields are every key any row had;
``to_pylist()`` then gives every row every key, null where the row had none. The readers
here keep only the non-null fields of a struct value, at every depth (so an explicit null
inside a struct is dropped too: parquet cannot tell it from a missing key), and turn map
values (lists of key/value pairs) into dicts. Records then hash as they did before the
file was written.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import orjson

__all__ = ["Reader", "cell_reader", "is_text", "json_text_columns", "pandas_index_columns"]

Reader = Callable[[Any], Any]
"""Turns one non-null ``to_pylist()`` value into the value pandas had."""

_JSON_COLUMNS_KEY = b"evalledger.json_columns"


def cell_reader(arrow_type: Any) -> Reader | None:
    """The reader for cells of `arrow_type`; None when ``to_pylist()`` already gives the
    values (no struct or map inside)."""
    import pyarrow as pa  # deferred: pyarrow is heavy and only parquet files need it

    return _reader(arrow_type, pa.types)


def _reader(t: Any, types: Any) -> Reader | None:
    if types.is_struct(t):
        fields = [(t.field(n).name, _reader(t.field(n).type, types)) for n in range(t.num_fields)]
        return partial(_struct, fields)
    if types.is_map(t):
        return partial(_map, _reader(t.item_type, types))
    if types.is_dictionary(t):  # to_pylist gives the decoded values
        return _reader(t.value_type, types)
    if hasattr(t, "value_type"):  # list, large_list, fixed_size_list, list_view
        item = _reader(t.value_type, types)
        return None if item is None else partial(_list, item)
    return None


def _struct(fields: list[tuple[str, Reader | None]], value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, read in fields:
        sub = value[name]
        if sub is not None:
            out[name] = sub if read is None else read(sub)
    return out


def _map(read: Reader | None, pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    """A map keeps its keys: a null value in a map is an explicit null."""
    if read is None:
        return dict(pairs)
    return {key: None if value is None else read(value) for key, value in pairs}


def _list(read: Reader, items: list[Any]) -> list[Any]:
    return [None if item is None else read(item) for item in items]


def is_text(arrow_type: Any) -> bool:
    """True for string columns (string, large_string, string_view, dictionary of strings)."""
    import pyarrow as pa  # deferred: pyarrow is heavy and only parquet files need it

    t = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
    return pa.types.is_string(t) or pa.types.is_large_string(t) or str(t) == "string_view"


def json_text_columns(schema: Any, names: list[str]) -> frozenset[str]:
    """The columns among `names` whose string cells are JSON text.

    In a file evalledger wrote, the ones its metadata lists. In any other file, every one,
    except an ``outputs`` column next to an ``inputs`` column that is not a string column:
    that is how pandas writes a DataFrame of record dicts, and its strings are plain text.
    """
    listed = (schema.metadata or {}).get(_JSON_COLUMNS_KEY)
    if listed is not None:
        return frozenset(listed.decode().split(",")) & frozenset(names)
    if "inputs" in names and not is_text(schema.field("inputs").type):
        return frozenset(name for name in names if name != "outputs")
    return frozenset(names)


def pandas_index_columns(schema: Any) -> frozenset[str]:
    """The columns pandas stored a DataFrame's index in (not record fields)."""
    raw = (schema.metadata or {}).get(b"pandas")
    if raw is None:
        return frozenset()
    try:
        index = orjson.loads(raw).get("index_columns") or ()
    except (orjson.JSONDecodeError, AttributeError):
        return frozenset()
    return frozenset(name for name in index if type(name) is str)
