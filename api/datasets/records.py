"""Dataset records as pure values: validation, source inference, dedupe/merge, digest, schema.

Nothing here touches a database; the dataset layer calls these functions (API.md §4, §6).

Choices (where API.md and MLflow leave room):

- ``normalize_records`` accepts a list (or tuple) of dicts or a pandas DataFrame. Allowed
  top-level keys are ``inputs``, ``outputs``, ``expectations``, ``tags`` and ``source``.
  The read-only columns of ``to_df()`` (``source_type``, ``source_id``, ``created_time``,
  ``dataset_record_id``, ``last_update_time``, ``created_by``, ``last_updated_by``) are
  tolerated and ignored, so ``ds.merge_records(other.to_df())`` works; provenance comes
  from the ``source`` column only. Any other key is an error.
- ``expectations``, ``tags`` and ``source`` set to None mean "absent" (as MLflow's
  ``record.get(...)``). ``outputs=None`` in a dict is an explicit null that replaces old
  outputs; in a DataFrame a None/NaN cell of any optional column (outputs too) is "absent",
  while a missing ``inputs`` cell is an error.
- Values are not deep-copied: a RecordInput holds the caller's objects (top-level dicts are
  copied only when they are dict subclasses). Tuples are accepted as JSON arrays.
- numpy values (what DataFrame rows hold) are the JSON they stand for: integer, float, bool
  and str scalars, and arrays of those (as lists). Only a field that fails the fast JSON
  walk is converted (``_as_json``, the one place) and checked again, so plain records pay
  nothing. A top-level ``pd.NA``/``pd.NaT`` in a dict record is an absent field, as a
  missing DataFrame cell is; NaN, infinity and values with no JSON meaning (datetime,
  Timestamp, bytes, sets, objects) stay errors.
- Errors name the record by its position in the batch (0-based; DataFrame rows by position,
  not by index label) and the field path, e.g. ``record 3: field 'inputs.q': ...``; the
  InvalidParameter carries both as ``index`` and ``field``.
- Source inference (MLflow's rule): an explicit source wins; truthy ``expectations`` gives
  HUMAN; absent or empty ``expectations`` gives CODE. Both with ``source_data == {}``.
- Schema: per field, the type of the first non-null value in creation order, except that
  ``integer`` widens to ``float`` when a later record has a float; a field only ever null
  is ``"null"``. Dict outputs contribute their fields; any other non-null output is typed
  under the pseudo-field ``"output"`` (mirroring trace inputs becoming ``{"input": v}``).
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from itertools import repeat
from typing import Any, NoReturn

import orjson

from evalledger.ledger.encoding import (
    TOO_DEEP,
    are_plain,
    clip_path,
    is_plain_dict,
    json_problem,
    too_deep,
)
from evalledger.ledger.errors import InvalidParameter
from evalledger.ledger.ids import uuid7_hex
from evalledger.ledger.limits import MAX_NESTING, BackendLimits
from evalledger.ledger.memory import gc_paused
from evalledger.oversize import record_too_large
from evalledger.validation import shown

__all__ = [
    "MISSING",
    "DatasetRecordSource",
    "DatasetRecordSourceType",
    "RecordInput",
    "RecordState",
    "inputs_digest",
    "inputs_key",
    "merge_batch",
    "normalize_records",
    "profile_json",
    "record_content",
    "record_ids",
    "schema_of",
]

_SORT = orjson.OPT_SORT_KEYS
_FIELDS = ("inputs", "outputs", "expectations", "tags", "source")
_IGNORED = frozenset(
    (
        "source_type",
        "source_id",
        "created_time",
        "dataset_record_id",
        "last_update_time",
        "created_by",
        "last_updated_by",
    )
)
_KNOWN = frozenset(_FIELDS) | _IGNORED
SCHEMA_VERSION = "1.0"


# --------------------------------------------------------------------------- sources


class DatasetRecordSourceType(StrEnum):
    """Where a record came from (MLflow's DatasetRecordSourceType)."""

    TRACE = "TRACE"
    HUMAN = "HUMAN"
    DOCUMENT = "DOCUMENT"
    CODE = "CODE"
    UNSPECIFIED = "UNSPECIFIED"

    @classmethod
    def parse(cls, value: Any, where: str = "source_type") -> DatasetRecordSourceType:
        """A member from a member or a case-insensitive name; InvalidParameter otherwise."""
        member = _source_type(value)
        if member is None:
            raise InvalidParameter(f"{where}: {_unknown_type(value)}")
        return member


def _source_type(value: Any) -> DatasetRecordSourceType | None:
    if isinstance(value, DatasetRecordSourceType):
        return value
    if isinstance(value, str):
        return DatasetRecordSourceType.__members__.get(value.strip().upper())
    return None


def _unknown_type(value: Any) -> str:
    names = ", ".join(DatasetRecordSourceType.__members__)
    return f"unknown source type {shown(value)} (expected one of {names})"


@dataclass(frozen=True, slots=True)
class DatasetRecordSource:
    """A record's provenance: ``{"source_type": "HUMAN", "source_data": {...}}``."""

    source_type: DatasetRecordSourceType
    source_data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The MLflow dict shape (a fresh dict; source_data is copied)."""
        return {"source_type": self.source_type.value, "source_data": dict(self.source_data)}

    @classmethod
    def from_dict(cls, data: Any, where: str = "source") -> DatasetRecordSource:
        """Parse and validate the MLflow dict shape (or pass a DatasetRecordSource through)."""
        return _parse_source(data, None, where)


_HUMAN = DatasetRecordSource(DatasetRecordSourceType.HUMAN, {})
_CODE = DatasetRecordSource(DatasetRecordSourceType.CODE, {})


def _parse_source(value: Any, index: int | None, path: str) -> DatasetRecordSource:
    """Validate a dict or DatasetRecordSource; errors name record `index` and ``path...``."""
    if isinstance(value, DatasetRecordSource):
        raw_type, data = value.source_type, value.source_data
    elif isinstance(value, dict):
        for key in value:
            if key not in ("source_type", "source_data"):
                raise _invalid(
                    index, f"{path}.{key}", "unknown field (allowed: source_type, source_data)"
                )
        if "source_type" not in value:
            raise _invalid(index, f"{path}.source_type", "missing")
        raw_type, data = value["source_type"], value.get("source_data")
    else:
        raise _invalid(index, path, f"expected a dict or DatasetRecordSource, got {_tname(value)}")
    source_type = _source_type(raw_type)
    if source_type is None:
        raise _invalid(index, f"{path}.source_type", _unknown_type(raw_type))
    if data is None:
        data = {}
    elif not isinstance(data, dict):
        raise _invalid(index, f"{path}.source_data", f"expected a dict, got {_tname(data)}")
    plain = is_plain_dict(data)
    if not plain:
        data = _as_json(index, f"{path}.source_data", data)
    _check_source_id(index, path, source_type, data)
    if plain and type(value) is DatasetRecordSource and value.source_type is source_type:
        return value
    return DatasetRecordSource(source_type, dict(data))


def _check_source_id(
    index: int | None, path: str, source_type: DatasetRecordSourceType, data: dict[str, Any]
) -> None:
    """The source id (source_data's trace_id for TRACE, else source_id) is also stored in a
    text column, where no backend takes NUL the same way (PostgreSQL refuses it)."""
    key = "trace_id" if source_type is DatasetRecordSourceType.TRACE else "source_id"
    found = data.get(key)
    if type(found) is str and "\x00" in found:
        raise _invalid(
            index, f"{path}.source_data.{key}", "text cannot contain the NUL character (\\x00)"
        )


# --------------------------------------------------------------------------- inputs


class _Missing(Enum):
    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing.MISSING
"""Marks "the record has no outputs key" (as opposed to ``outputs=None``)."""


@dataclass(frozen=True, slots=True)
class RecordInput:
    """One validated incoming record. ``expectations``/``tags``/``source`` None = absent."""

    inputs: dict[str, Any]
    outputs: Any = MISSING
    expectations: dict[str, Any] | None = None
    tags: dict[str, Any] | None = None
    source: DatasetRecordSource | None = None


_set_inputs = RecordInput.inputs.__set__  # type: ignore[attr-defined]
_set_outputs = RecordInput.outputs.__set__  # type: ignore[attr-defined]
_set_expectations = RecordInput.expectations.__set__  # type: ignore[attr-defined]
_set_tags = RecordInput.tags.__set__  # type: ignore[attr-defined]
_set_source = RecordInput.source.__set__  # type: ignore[attr-defined]


def _new_input(
    inputs: dict[str, Any],
    outputs: Any,
    expectations: dict[str, Any] | None,
    tags: dict[str, Any] | None,
    source: DatasetRecordSource | None,
) -> RecordInput:
    """RecordInput(...) without the frozen __init__'s per-field object.__setattr__ (1.6x)."""
    rec = object.__new__(RecordInput)
    _set_inputs(rec, inputs)
    _set_outputs(rec, outputs)
    _set_expectations(rec, expectations)
    _set_tags(rec, tags)
    _set_source(rec, source)
    return rec


def normalize_records(records: Any, limits: BackendLimits | None = None) -> list[RecordInput]:
    """Validate a whole batch (list of dicts or DataFrame); raise on the first bad record.

    With `limits`, a record larger than that database takes is refused here too (merge
    checks the records it writes anyway; import checks a file before writing any of it)."""
    with gc_paused():
        rows = _dataframe_rows(records) if is_dataframe(records) else _list_rows(records)
        normalized = [_normalize_one(i, rec) for i, rec in enumerate(rows)]
        size = _check_encodable(normalized)
        if limits is not None and size * 2 + _RECORD_EXTRA > limits.max_record_bytes:
            _check_sizes(normalized, limits)
        return normalized


#: Bytes a stored record has beyond its parts: ids, times, users, source type.
_RECORD_EXTRA = 1_024


def _check_sizes(records: list[RecordInput], limits: BackendLimits) -> None:
    """Refuse the first record whose JSON is more than one record of `limits` can be."""
    for i, rec in enumerate(records):
        text = orjson.dumps(_parts(rec))
        if not limits.fits(text, limits.max_record_bytes - _RECORD_EXTRA):
            size = limits.sent_bytes(text) + _RECORD_EXTRA
            raise record_too_large(i, _parts(rec), size, limits)


def _parts(rec: RecordInput) -> dict[str, Any]:
    return {
        "inputs": rec.inputs,
        "outputs": None if rec.outputs is MISSING else rec.outputs,
        "expectations": rec.expectations,
        "tags": rec.tags,
        "source": None if rec.source is None else rec.source.source_data,
    }


#: Records encoded per orjson call while checking a batch (a million at once would hold
#: the whole batch's JSON next to the records).
_ENCODE_CHUNK = 10_000


def _check_encodable(records: list[RecordInput]) -> int:
    """Strings must be valid Unicode text (a lone surrogate cannot be stored as UTF-8).

    One encode per 10,000 records; only when it fails is each record of that chunk
    encoded to find it. Returns the largest chunk's size (bytes): no record is larger.
    """
    largest = 0
    for start in range(0, len(records), _ENCODE_CHUNK):
        chunk = records[start : start + _ENCODE_CHUNK]
        try:
            largest = max(largest, len(orjson.dumps([_parts(r) for r in chunk])))
        except orjson.JSONEncodeError:
            for i, rec in enumerate(chunk, start):
                for name, value in _parts(rec).items():
                    try:
                        orjson.dumps(value)
                    except orjson.JSONEncodeError as exc:
                        raise _invalid(i, name, f"not valid Unicode text ({exc})") from None
            raise
    return largest


def _list_rows(records: Any) -> Sequence[Any]:
    if isinstance(records, list | tuple):
        return records
    raise InvalidParameter(
        f"records: expected a list of dicts or a pandas DataFrame, got {_tname(records)}"
    )


def is_dataframe(records: Any) -> bool:
    """True for a pandas DataFrame (pandas is looked up, never imported, here)."""
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(records, pd.DataFrame)


class _MissingCell:
    """A None/NaN DataFrame cell where a dict is required (reported, never stored)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _dataframe_rows(df: Any) -> list[dict[str, Any]]:
    """Rows as dicts, optional cells that are None/NaN dropped; column lists, no iterrows."""
    names = [name for name in df.columns if name not in _IGNORED]
    if len(set(names)) != len(names):
        raise InvalidParameter("records: the DataFrame has duplicate column names")
    if not names:
        return [{} for _ in range(len(df))]
    columns = [df[name].tolist() for name in names]
    rows = list(map(dict, map(zip, repeat(names), zip(*columns, strict=True))))
    missing = df[names].isna().to_numpy().any(axis=1).nonzero()[0].tolist()
    for i in missing:
        rec = rows[i]
        for name in names:
            if _is_missing(rec[name]):
                if name == "inputs":
                    rec[name] = _MissingCell(rec[name])
                else:
                    del rec[name]
    return rows


def _is_missing(value: Any) -> bool:
    """None, NaN (numpy's too), pd.NA, NaT: what a DataFrame holds for a missing cell."""
    if value is None:
        return True
    if type(value) is float:
        return value != value
    if _is_na(value):
        return True
    np = sys.modules.get("numpy")
    return np is not None and isinstance(value, np.generic) and bool(value != value)


def _is_na(value: Any) -> bool:
    """pandas' missing-value markers (pd.NA, pd.NaT)."""
    pd = sys.modules.get("pandas")
    return pd is not None and (value is pd.NA or value is pd.NaT)


def _normalize_one(i: int, rec: Any) -> RecordInput:
    if type(rec) is not dict and not isinstance(rec, dict):
        raise _invalid(i, None, f"expected a dict with an 'inputs' field, got {_tname(rec)}")
    if not rec.keys() <= _KNOWN:
        bad = next(k for k in rec if k not in _KNOWN)
        raise _invalid(
            i, str(bad), "unknown field (allowed: inputs, outputs, expectations, tags, source)"
        )
    inputs = rec.get("inputs", MISSING)
    if type(inputs) is not dict:
        if inputs is MISSING:
            raise _invalid(i, "inputs", "missing (every record needs one)")
        inputs = _as_dict(i, "inputs", inputs)
    if not is_plain_dict(inputs):
        inputs = _as_json(i, "inputs", inputs)
    outputs = rec.get("outputs", MISSING)
    if outputs is not MISSING and not are_plain((outputs,)):
        outputs = MISSING if _is_na(outputs) else _as_json(i, "outputs", outputs)
    expectations = rec.get("expectations")
    if expectations is not None:
        if type(expectations) is not dict:
            expectations = _optional_dict(i, "expectations", expectations)
        elif not is_plain_dict(expectations):
            expectations = _as_json(i, "expectations", expectations)
    tags = rec.get("tags")
    if tags is not None:
        if type(tags) is not dict:
            tags = _optional_dict(i, "tags", tags)
        elif not is_plain_dict(tags):
            tags = _as_json(i, "tags", tags)
    source = rec.get("source")
    if source is not None and (type(source) is dict or not _is_na(source)):
        source = _parse_source(source, i, "source")
    else:
        source = None
    return _new_input(inputs, outputs, expectations, tags, source)


def _as_dict(i: int, name: str, value: Any) -> dict[str, Any]:
    if type(value) is dict:
        return value
    if isinstance(value, dict):
        return dict(value)
    got = f"a missing value ({value.value!r})" if type(value) is _MissingCell else _tname(value)
    raise _invalid(i, name, f"expected a dict, got {got}")


def _optional_dict(i: int, name: str, value: Any) -> dict[str, Any] | None:
    """expectations/tags that are not a plain dict: pd.NA is absent, a dict subclass is
    copied and checked, anything else is an error."""
    if _is_na(value):
        return None
    value = _as_dict(i, name, value)
    return value if is_plain_dict(value) else _as_json(i, name, value)


def _as_json(index: int | None, path: str, value: Any) -> Any:
    """`value`, which failed the fast JSON walk, with numpy scalars and arrays as the JSON
    they stand for; InvalidParameter naming the first value that is still not JSON.

    The one place foreign values are converted: plain records never get here.
    """
    np = sys.modules.get("numpy")  # not imported: without numpy loaded there is no numpy value
    if np is not None:
        try:
            converted = _from_numpy(value, np, MAX_NESTING)
        except _TooDeep:  # stopped at the limit, far from Python's recursion limit
            raise _invalid(index, clip_path(too_deep(value, path) or path), TOO_DEEP) from None
        if are_plain((converted,)):
            return converted
        value = converted
    _raise_bad(value, path, index)


class _TooDeep(Exception):
    """A value nests deeper than MAX_NESTING (raised by _from_numpy, reported by _as_json)."""


def _from_numpy(value: Any, np: Any, levels: int) -> Any:
    """A copy of `value` with numpy bool/int/float/str scalars and arrays of them (any
    shape, object arrays too) as Python values; anything else is left for the check.
    `levels` is how deep lists and dicts may still nest (_TooDeep beyond)."""
    t = type(value)
    if t is dict:
        if levels < 1:
            raise _TooDeep
        return {
            str(k) if type(k) is np.str_ else k: _from_numpy(v, np, levels - 1)
            for k, v in value.items()
        }
    if t is list or t is tuple:
        if levels < 1:
            raise _TooDeep
        return [_from_numpy(v, np, levels - 1) for v in value]
    if isinstance(value, np.generic):
        kind = value.dtype.kind
        if kind == "b":
            return bool(value)
        if kind == "i" or kind == "u":
            return int(value)
        if kind == "f":
            return float(value)  # NaN and infinity stay, for the check to report
        if kind == "U":
            return str(value)
    elif isinstance(value, np.ndarray) and value.dtype.kind in _ARRAY_KINDS:
        return _from_numpy(value.tolist(), np, levels)
    return value


#: numpy dtype kinds whose arrays are JSON arrays: bool, int, uint, float, str, object.
#: datetime64 and timedelta64 arrays (whose tolist() gives bare integers) are not.
_ARRAY_KINDS = frozenset("biufUO")


def _raise_bad(value: Any, path: str, index: int | None) -> NoReturn:
    """Raise InvalidParameter naming the first non-JSON value under `path`."""
    where, reason = json_problem(value, path) or (path, "not a JSON value")
    raise _invalid(index, clip_path(where), reason)


def _invalid(index: int | None, field: str | None, reason: str) -> InvalidParameter:
    """The error for a bad record: ``record {index}: field '{field}': {reason}``, with
    `index` and `field` also as attributes (either may be None)."""
    where = "" if index is None else f"record {index}: "
    if field is not None:
        where += f"field '{field}': "
    return InvalidParameter(where + reason, index=index, field=field)


def _tname(value: Any) -> str:
    return "None" if value is None else type(value).__name__


# --------------------------------------------------------------------------- hashing


def inputs_key(inputs: dict[str, Any]) -> str:
    """inputs_hash for inputs that normalize_records already validated (no second check)."""
    return _hash(inputs)


def inputs_digest(inputs: dict[str, Any]) -> bytes:
    """inputs_key as its 32 bytes (``inputs_key(x) == inputs_digest(x).hex()``)."""
    return hashlib.sha256(orjson.dumps(inputs, option=_SORT)).digest()


def _hash(value: Any) -> str:
    return hashlib.sha256(orjson.dumps(value, option=_SORT)).hexdigest()


def _canon(value: Any) -> bytes:
    return orjson.dumps(value, option=_SORT)


def _same(a: Any, b: Any) -> bool:
    """Equal as canonical JSON: ``1``, ``1.0`` and ``True`` differ; tuples equal lists."""
    if a is b:
        return True
    ta = type(a)
    if ta is type(b) and (ta is str or ta is int or ta is bool):
        return a == b
    return _canon(a) == _canon(b)


# --------------------------------------------------------------------------- merge


@dataclass(slots=True)
class RecordState:
    """A stored record. ``outputs`` is None when never set; ``seq`` is creation order."""

    record_id: str
    inputs: dict[str, Any]
    outputs: Any
    expectations: dict[str, Any]
    tags: dict[str, Any]
    source: DatasetRecordSource
    created_time: int
    created_by: str
    last_update_time: int
    last_updated_by: str
    seq: int


def record_ids(count: int, time_ms: int) -> Callable[[], str]:
    """A factory handing out `count` increasing record ids minted at `time_ms`."""
    return iter(record_id_list(count, time_ms)).__next__


def record_id_list(count: int, time_ms: int) -> list[str]:
    """`count` increasing record ids minted at `time_ms`."""
    return uuid7_hex(count, time_ms, prefix="dr-")


def new_record_state(
    rec: RecordInput, record_id: str, now_ms: int, user: str, seq: int
) -> RecordState:
    """The state merge_batch gives a record new to the dataset and to its batch."""
    return _new_state(rec, record_id, now_ms, user, seq)


def _new_state(rec: RecordInput, record_id: str, now_ms: int, user: str, seq: int) -> RecordState:
    outputs = rec.outputs
    expectations = rec.expectations
    return RecordState(
        record_id,
        rec.inputs,
        None if outputs is MISSING else outputs,
        expectations or {},
        rec.tags or {},
        rec.source or (_HUMAN if expectations else _CODE),  # MLflow's inference rule
        now_ms,
        user,
        now_ms,
        user,
        seq,
    )


def _updated_state(
    old: RecordState, rec: RecordInput, now_ms: int, user: str
) -> RecordState | None:
    """The merged state, or None when `rec` changes nothing."""
    outputs = old.outputs
    changed = False
    if rec.outputs is not MISSING and not _same(outputs, rec.outputs):
        outputs = rec.outputs
        changed = True
    expectations = _merge_dict(old.expectations, rec.expectations)
    tags = _merge_dict(old.tags, rec.tags)
    if not changed and expectations is old.expectations and tags is old.tags:
        return None
    return RecordState(
        old.record_id,
        old.inputs,
        outputs,
        expectations,
        tags,
        old.source,
        old.created_time,
        old.created_by,
        now_ms,
        user,
        old.seq,
    )


def _merge_dict(old: dict[str, Any], new: dict[str, Any] | None) -> dict[str, Any]:
    """`old` itself when `new` changes nothing, else a new merged dict (new values win)."""
    if not new:
        return old
    for key, value in new.items():
        if key not in old or not _same(old[key], value):
            return {**old, **new}
    return old


def merge_batch(
    existing: Mapping[str, RecordState],
    incoming: Sequence[RecordInput],
    *,
    now_ms: int,
    user: str,
    next_seq: int | None = None,
    record_id_factory: Callable[[], str] | None = None,
    keys: Sequence[str] | None = None,
) -> tuple[list[RecordState], list[RecordState]]:
    """Merge a batch into `existing` (keyed by inputs hash; not mutated): (added, updated).

    Duplicates inside the batch merge in order. A record created in this batch counts as
    added only; an existing record counts as updated when its final content differs from
    before the batch. New records get seq numbers from `next_seq` (default: max seq + 1);
    both lists are in creation (seq) order. `keys` are the inputs hashes of `incoming`
    when the caller already computed them.
    """
    if next_seq is None:
        next_seq = max((s.seq for s in existing.values()), default=-1) + 1
    if record_id_factory is None:
        record_id_factory = record_ids(len(incoming), now_ms)
    added: dict[str, RecordState] = {}
    updated: dict[str, RecordState] = {}
    repeated: set[str] = set()
    with gc_paused():
        if keys is None:
            keys = [_hash(rec.inputs) for rec in incoming]
        for key, rec in zip(keys, incoming, strict=True):
            current = added.get(key)
            if current is not None:  # a duplicate of a record new in this batch
                state = _updated_state(current, rec, now_ms, user)
                if state is not None:
                    added[key] = state
                continue
            current = updated.get(key)
            if current is not None:
                repeated.add(key)
            else:
                current = existing.get(key)
                if current is None:
                    added[key] = _new_state(rec, record_id_factory(), now_ms, user, next_seq)
                    next_seq += 1
                    continue
            state = _updated_state(current, rec, now_ms, user)
            if state is not None:
                updated[key] = state
        for key in repeated:  # changed, then changed back within the batch: no update
            if _same_content(existing[key], updated[key]):
                del updated[key]
    return list(added.values()), sorted(updated.values(), key=_seq)


def _seq(state: RecordState) -> int:
    return state.seq


def _same_content(a: RecordState, b: RecordState) -> bool:
    return (
        _same(a.outputs, b.outputs)
        and _same(a.expectations, b.expectations)
        and _same(a.tags, b.tags)
    )


# --------------------------------------------------------------------------- digest


def record_content(state: RecordState) -> dict[str, Any]:
    """The content the digest covers: no ids, times or users."""
    return {
        "inputs": state.inputs,
        "outputs": state.outputs,
        "expectations": state.expectations,
        "tags": state.tags,
        "source": state.source.to_dict(),
    }


# --------------------------------------------------------------------------- schema/profile


def _type_name(value: Any) -> str:
    t = type(value)
    if t is bool:  # before int: bool is an int subclass
        return "boolean"
    if t is int:
        return "integer"
    if t is float:
        return "float"
    if t is str:
        return "string"
    if t is list or t is tuple:
        return "array"
    if t is dict:
        return "object"
    return "null" if value is None else "object"


def _note(types: dict[str, str], key: str, value: Any) -> None:
    new = _type_name(value)
    old = types.get(key)
    if old is None or old == "null":
        types[key] = new
    elif old == "integer" and new == "float":
        types[key] = "float"


def schema_of(records: Iterable[Any]) -> str:
    """compute_schema for records already in creation order (anything with ``inputs``,
    ``outputs`` and ``expectations``: RecordState or DatasetRecord)."""
    return _schema((r.inputs, r.outputs, r.expectations) for r in records)


def schema_of_bodies(bodies: Iterable[dict[str, Any]]) -> str:
    """schema_of for stored record bodies (dicts), without building record objects."""
    return _schema((b["inputs"], b["outputs"], b["expectations"]) for b in bodies)


def _schema(triples: Iterable[tuple[dict[str, Any], Any, dict[str, Any]]]) -> str:
    inputs: dict[str, str] = {}
    outputs: dict[str, str] = {}
    expectations: dict[str, str] = {}
    for record_inputs, out, record_expectations in triples:
        for key, value in record_inputs.items():
            _note(inputs, key, value)
        for key, value in record_expectations.items():
            _note(expectations, key, value)
        if type(out) is dict:
            for key, value in out.items():
                _note(outputs, key, value)
        elif out is not None:
            _note(outputs, "output", out)
    schema = {
        "inputs": inputs,
        "outputs": outputs,
        "expectations": expectations,
        "version": SCHEMA_VERSION,
    }
    return orjson.dumps(schema, option=_SORT).decode()


def profile_json(num_records: int, source_counts: dict[str, int]) -> str:
    """The profile's one shape: ``{"num_records": n, "source_types": {type: count}}``, only
    the types present."""
    counts = {k: v for k, v in source_counts.items() if v}
    return orjson.dumps({"num_records": num_records, "source_types": counts}, option=_SORT).decode()
