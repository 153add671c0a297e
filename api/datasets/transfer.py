"""Export a dataset to a file, and import records from one (jsonl, csv, parquet).

File layout (what `export_dataset` writes, and what `import_records` reads back exactly):

- One row per record, in creation order, with the columns ``inputs``, ``outputs``,
  ``expectations``, ``tags``, ``source`` (``{"source_type": ..., "source_data": {...}}``),
  ``dataset_record_id`` and ``created_time``.
- jsonl: one JSON object per line (UTF-8).
- csv and parquet: the five JSON columns hold JSON text (a string column in parquet), so any
  JSON shape round-trips exactly, ``1`` and ``1.0`` included (parquet cannot hold
  heterogeneous dicts natively). ``dataset_record_id`` is a string, ``created_time`` an
  integer (epoch ms). ``outputs`` that were never set are written as JSON ``null``.

Reading (files written by other tools too):

- jsonl lines are objects with ``inputs`` and optionally ``outputs``, ``expectations``,
  ``tags``, ``source``; blank lines are skipped. ``"outputs": null`` is an explicit null.
- csv/parquet cells of those columns are JSON text and are decoded; an empty csv cell or a
  null parquet cell means the field is absent.
- parquet columns that are native values are taken as the values pandas wrote
  (``parquet_values``): a struct cell keeps only the keys that are not null, at every depth
  (pandas gives every row every key of the column), a map cell is a dict. In a file
  evalledger did not write, an ``outputs`` string column next to a native ``inputs``
  column holds plain strings, not JSON text (``pd.DataFrame(records).to_parquet()``).
  The columns pandas stored the DataFrame index in are ignored.
- Read-only columns (``dataset_record_id``, ``dataset_id``, ``created_time``,
  ``source_type``, ``source_id``, ``last_update_time``, ``created_by``,
  ``last_updated_by``) are ignored: provenance comes from ``source`` only, record ids and
  times are assigned by the ledger. Any other column is an error.
- Errors name the file, the line (jsonl: the physical line number, from 1) or row (csv and
  parquet: the data row, from 1, the header not counted) and the field; the
  InvalidParameter's ``index`` is the record's position among the file's records (from 0)
  and ``field`` the field's path.

Importing is all or nothing with respect to bad rows: the whole file is parsed and validated
(every batch through ``normalize_records``) before anything is written, so a bad row
anywhere writes nothing (not even the new dataset). Then the file is read again and merged
in batches of ``BATCH_SIZE`` records, each batch one commit and one dataset version, so
memory stays bounded for large files. A dataset that import creates is created in the
commit of the first batch, so a failure in it leaves no dataset, empty or not. Should the
database fail later, the batches already merged stay (each a complete version); importing
the same file again is safe, as records dedupe on their inputs: batches whose records all
equal what is stored make no version.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
import pandas as pd

from evalledger.datasets import commands
from evalledger.datasets.atomic_file import write_atomically
from evalledger.datasets.functions import create_dataset, get_dataset
from evalledger.datasets.parquet_values import (
    Reader,
    cell_reader,
    json_text_columns,
    pandas_index_columns,
)
from evalledger.datasets.records import RecordInput, normalize_records
from evalledger.ledger import InvalidParameter, ResourceAlreadyExists, ResourceNotFound
from evalledger.ledger.encoding import unreadable
from evalledger.ledger.exact_json import loads_exact
from evalledger.ledger.limits import BackendLimits, backend_limits
from evalledger.projections.event_types import DEFAULT_EXPERIMENT_ID
from evalledger.session import Session
from evalledger.text import clip
from evalledger.validation import check_id_list, check_name, shown

__all__ = [
    "BATCH_SIZE",
    "FORMATS",
    "ImportResult",
    "RecordBatch",
    "export_dataset",
    "export_rows",
    "format_for",
    "import_records",
    "read_records",
    "validate_batch",
]

FORMATS = ("jsonl", "csv", "parquet")
BATCH_SIZE = 10_000
#: The columns whose cells are JSON values (JSON text in csv and parquet).
JSON_COLUMNS = ("inputs", "outputs", "expectations", "tags", "source")
EXPORT_COLUMNS = (*JSON_COLUMNS, "dataset_record_id", "created_time")
#: Columns that describe a stored record but are not part of what one merges.
READ_ONLY_COLUMNS = frozenset(
    (
        "dataset_record_id",
        "dataset_id",
        "created_time",
        "source_type",
        "source_id",
        "last_update_time",
        "created_by",
        "last_updated_by",
    )
)
_log = logging.getLogger("evalledger.export")
_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}

Progress = Callable[[str, int, int], None]
"""progress(phase, done, total): phase is "checking" (units: bytes or rows of the file)
or "importing" (units: records)."""


# --------------------------------------------------------------------------- formats


def format_for(path: str | os.PathLike[str], fmt: str | None = None) -> str:
    """The format to use: `fmt` when given, else the one the file extension names.
    A path no file system takes (NUL, text that cannot be encoded) is an InvalidParameter."""
    text = os.fspath(path) if isinstance(path, str | os.PathLike) else None
    if not isinstance(text, str):
        raise InvalidParameter(f"path must be a str or an os.PathLike of str, got {shown(path)}")
    if "\x00" in text:
        raise InvalidParameter(f"{text!r}: a path cannot contain the NUL character")
    try:
        os.fsencode(text)
    except UnicodeEncodeError:  # a lone surrogate that is not an undecodable byte
        raise InvalidParameter(f"{text!r}: not a file name this system can encode") from None
    if fmt is not None:
        name = fmt.strip().lower()
        if name not in FORMATS:
            raise InvalidParameter(f"unknown format {fmt!r} (use one of {', '.join(FORMATS)})")
        return name
    found = _EXTENSIONS.get(Path(path).suffix.lower())
    if found is None:
        raise InvalidParameter(
            f"cannot tell the format of {os.fspath(path)!r} from its extension "
            f"(.jsonl, .csv or .parquet); pass --format"
        )
    return found


# --------------------------------------------------------------------------- export


def export_rows(ds: Any) -> list[dict[str, Any]]:
    """A dataset's records as export rows, in creation order."""
    return [
        {
            "inputs": r.inputs,
            "outputs": r.outputs,
            "expectations": r.expectations,
            "tags": r.tags,
            "source": None if r.source is None else r.source.to_dict(),
            "dataset_record_id": r.dataset_record_id,
            "created_time": r.created_time,
        }
        for r in ds.records
    ]


def export_dataset(
    ds: Any,
    path: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    warn: Callable[[str], None] | None = None,
) -> int:
    """Write a dataset (current or snapshot) to `path`; returns the number of records.

    The file appears complete or not at all, even across a power loss: it is written next
    to `path`, fsynced, renamed over it, and the directory fsynced (see atomic_file).
    Temporary files that killed exports to `path` left are removed; those that may still
    be in use are reported through `warn` (default: a logging warning).
    """
    fmt = format_for(path, fmt)
    rows = export_rows(ds)

    def write(out: IO[bytes]) -> None:
        if fmt == "jsonl":
            _write_jsonl(rows, out)
        elif fmt == "csv":
            _write_csv(rows, out)
        else:
            _write_parquet(rows, out, ds)

    write_atomically(Path(path), write, warn or _log.warning)
    return len(rows)


def _write_jsonl(rows: list[dict[str, Any]], out: IO[bytes]) -> None:
    dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    for start in range(0, len(rows), BATCH_SIZE):
        out.write(b"".join(dumps(row, option=newline) for row in rows[start : start + BATCH_SIZE]))


def _json_text_columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    columns: dict[str, list[Any]] = {
        name: [orjson.dumps(row[name]).decode() for row in rows] for name in JSON_COLUMNS
    }
    columns["dataset_record_id"] = [row["dataset_record_id"] for row in rows]
    columns["created_time"] = [row["created_time"] for row in rows]
    return columns


def _write_csv(rows: list[dict[str, Any]], out: IO[bytes]) -> None:
    frame = pd.DataFrame(_json_text_columns(rows), columns=list(EXPORT_COLUMNS))
    frame.to_csv(out, index=False, encoding="utf-8", lineterminator="\n")


def _write_parquet(rows: list[dict[str, Any]], out: IO[bytes], ds: Any) -> None:
    import pyarrow as pa  # deferred: pyarrow is heavy and only parquet files need it
    import pyarrow.parquet as pq

    schema = pa.schema(
        [pa.field(name, pa.string()) for name in (*JSON_COLUMNS, "dataset_record_id")]
        + [pa.field("created_time", pa.int64())],
        metadata={
            "evalledger.json_columns": ",".join(JSON_COLUMNS),
            "evalledger.dataset": orjson.dumps(
                {
                    "name": ds.name,
                    "dataset_id": ds.dataset_id,
                    "version": ds.version,
                    "digest": ds.digest,
                }
            ),
        },
    )
    table = pa.Table.from_pydict(_json_text_columns(rows), schema=schema)
    pq.write_table(table, out)


# --------------------------------------------------------------------------- reading


class RecordBatch(list):
    """A list of record dicts read from a file, with where each one came from.

    ``rows[i]`` is the line (jsonl) or data row (csv, parquet) number of record ``i``, from
    1; ``unit`` says which ("line" or "row"). ``start`` is the position of the batch's
    first record among the file's records, from 0. ``done``/``total`` measure how far into
    the file this batch ends (bytes, or rows for parquet), for progress bars.
    """

    def __init__(
        self,
        records: list[dict[str, Any]],
        rows: list[int],
        *,
        path: str,
        unit: str,
        done: int,
        total: int,
        start: int = 0,
    ) -> None:
        super().__init__(records)
        self.rows = rows
        self.path = path
        self.unit = unit
        self.done = done
        self.total = total
        self.start = start

    def where(self, index: int) -> str:
        return f"{self.path}: {self.unit} {self.rows[index]}"


def read_records(
    path: str | os.PathLike[str], fmt: str | None = None, *, batch_size: int = BATCH_SIZE
) -> Iterator[RecordBatch]:
    """Record dicts from a file, `batch_size` at a time (read-only columns dropped).

    Raises InvalidParameter naming the file, line/row and field for rows that cannot be
    decoded, and for files that are not readable as `fmt`; OSError when the file cannot be
    opened. The dicts are not validated: pass each batch to `validate_batch`.
    """
    fmt = format_for(path, fmt)
    if batch_size < 1:
        raise InvalidParameter(f"batch_size must be at least 1, got {batch_size}")
    shown = os.fspath(path)
    if fmt == "jsonl":
        return _read_jsonl(path, shown, batch_size)
    if fmt == "csv":
        return _read_csv(path, shown, batch_size)
    return _read_parquet(path, shown, batch_size)


def _read_jsonl(path: str | os.PathLike[str], shown: str, batch_size: int) -> Iterator[RecordBatch]:
    total = os.path.getsize(path)
    with open(path, "rb") as f:
        records: list[dict[str, Any]] = []
        rows: list[int] = []
        start = 0
        for number, line in enumerate(f, start=1):
            if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if not line.strip():
                continue
            index = start + len(records)
            try:
                value = loads_exact(line)
            except orjson.JSONDecodeError as exc:
                raise InvalidParameter(
                    f"{shown}: line {number}: {unreadable(exc)}", index=index
                ) from None
            if type(value) is not dict:
                got = "null" if value is None else type(value).__name__
                raise InvalidParameter(
                    f"{shown}: line {number}: expected a JSON object with an 'inputs' field, "
                    f"got {got}",
                    index=index,
                )
            for key in READ_ONLY_COLUMNS.intersection(value):
                del value[key]
            records.append(value)
            rows.append(number)
            if len(records) >= batch_size:
                yield RecordBatch(
                    records, rows, path=shown, unit="line", done=f.tell(), total=total, start=start
                )
                start += len(records)
                records, rows = [], []
        if records or not start:
            yield RecordBatch(
                records, rows, path=shown, unit="line", done=total, total=total, start=start
            )


def _check_columns(shown: str, names: list[str]) -> list[str]:
    """The record columns of a csv/parquet file (read-only ones dropped); unknown ones fail."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidParameter(f"{shown}: column {name!r} appears twice")
        seen.add(name)
        if name not in JSON_COLUMNS and name not in READ_ONLY_COLUMNS:
            raise InvalidParameter(
                f"{shown}: column {name!r} is not a record field (use inputs, outputs, "
                f"expectations, tags, source; read-only columns such as dataset_record_id "
                f"and created_time are ignored)"
            )
    if "inputs" not in seen:
        raise InvalidParameter(f"{shown}: there is no 'inputs' column")
    return [name for name in names if name in JSON_COLUMNS]


def _decode_cell(shown: str, row: int, name: str, cell: Any) -> Any:
    """A JSON text cell (str or UTF-8 bytes) decoded; other cells as they are."""
    if type(cell) is bytes:
        try:
            cell = cell.decode()
        except UnicodeDecodeError:
            raise InvalidParameter(
                f"{shown}: row {row}: field {name!r}: not UTF-8 text", index=row - 1, field=name
            ) from None
    if type(cell) is not str:
        return cell
    try:
        return loads_exact(cell)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(
            f"{shown}: row {row}: field {name!r}: {unreadable(exc)}: {_clip(cell)}",
            index=row - 1,
            field=name,
        ) from None


def _rows_from_columns(
    shown: str,
    names: list[str],
    columns: list[list[Any]],
    first_row: int,
    empty: Any,
    json_text: frozenset[str] | None = None,
) -> tuple[list[dict[str, Any]], list[int]]:
    """Record dicts from column lists; cells equal to `empty` (or None) are absent fields.

    Cells of the columns in `json_text` (all when None) are decoded as JSON text.
    """
    count = len(columns[0]) if columns else 0
    records: list[dict[str, Any]] = [{} for _ in range(count)]
    for name, cells in zip(names, columns, strict=True):
        decode = json_text is None or name in json_text
        for i, cell in enumerate(cells):
            if cell is None or cell == empty:
                continue
            records[i][name] = _decode_cell(shown, first_row + i, name, cell) if decode else cell
    return records, list(range(first_row, first_row + count))


def _read_csv(path: str | os.PathLike[str], shown: str, batch_size: int) -> Iterator[RecordBatch]:
    total = os.path.getsize(path)
    with open(path, "rb") as f:
        try:
            reader = pd.read_csv(
                f,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                encoding="utf-8",
                chunksize=batch_size,
            )
            with reader:
                names: list[str] | None = None
                first_row = 1
                produced = False
                for chunk in reader:
                    if names is None:
                        names = _check_columns(shown, [str(c) for c in chunk.columns])
                    columns = [chunk[name].tolist() for name in names]
                    records, rows = _rows_from_columns(shown, names, columns, first_row, "")
                    first_row += len(chunk)
                    produced = True
                    yield RecordBatch(
                        records,
                        rows,
                        path=shown,
                        unit="row",
                        done=f.tell(),
                        total=total,
                        start=rows[0] - 1 if rows else 0,
                    )
                if not produced:
                    yield RecordBatch([], [], path=shown, unit="row", done=total, total=total)
        except InvalidParameter:
            raise
        except pd.errors.EmptyDataError:
            raise InvalidParameter(f"{shown}: the file is empty (no header row)") from None
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            raise InvalidParameter(f"{shown}: not a readable csv file ({_one_line(exc)})") from None


def _read_parquet(
    path: str | os.PathLike[str], shown: str, batch_size: int
) -> Iterator[RecordBatch]:
    import pyarrow as pa  # deferred: pyarrow is heavy and only parquet files need it
    import pyarrow.parquet as pq

    try:
        with open(path, "rb") as f:
            parquet = pq.ParquetFile(f)
            total = parquet.metadata.num_rows
            schema = parquet.schema_arrow
            index = pandas_index_columns(schema)
            names = _check_columns(shown, [n for n in schema.names if n not in index])
            readers = [cell_reader(schema.field(name).type) for name in names]
            json_text = json_text_columns(schema, names)
            first_row = 1
            produced = False
            for batch in parquet.iter_batches(batch_size=batch_size, columns=names):
                columns = [
                    _parquet_cells(batch.column(name), read)
                    for name, read in zip(names, readers, strict=True)
                ]
                records, rows = _rows_from_columns(
                    shown, names, columns, first_row, None, json_text
                )
                produced = True
                yield RecordBatch(
                    records,
                    rows,
                    path=shown,
                    unit="row",
                    done=first_row - 1 + batch.num_rows,
                    total=total,
                    start=first_row - 1,
                )
                first_row += batch.num_rows
            if not produced:
                yield RecordBatch([], [], path=shown, unit="row", done=total, total=total)
    except InvalidParameter:
        raise
    except (pa.ArrowException, ValueError) as exc:
        raise InvalidParameter(f"{shown}: not a readable parquet file ({_one_line(exc)})") from None


def _parquet_cells(column: Any, read: Reader | None) -> list[Any]:
    cells = column.to_pylist()
    if read is None:
        return cells
    return [None if cell is None else read(cell) for cell in cells]


def validate_batch(batch: RecordBatch, limits: BackendLimits | None = None) -> list[RecordInput]:
    """normalize_records on a batch; errors name the file, line/row and field, and carry
    the record's position in the file as ``index``. With `limits`, a record too large for
    that database is refused too."""
    try:
        return normalize_records(list(batch), limits)
    except InvalidParameter as exc:
        if exc.index is None:
            raise InvalidParameter(f"{batch.path}: {exc}", field=exc.field) from None
        detail = exc.message.removeprefix(f"record {exc.index}: ")
        raise InvalidParameter(
            f"{batch.where(exc.index)}: {detail}", index=batch.start + exc.index, field=exc.field
        ) from None


# --------------------------------------------------------------------------- import


@dataclass(frozen=True)
class ImportResult:
    dataset: Any  # EvaluationDataset, refreshed after the last batch
    created: bool
    records: int  # records read from the file
    added: int
    updated: int
    batches: int  # merge commits (dataset versions) made


def import_records(
    session: Session,
    name: str,
    path: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    experiment_id: str | list[str] | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Merge a file's records into the dataset `name`, creating it when missing.

    The whole file is validated first (nothing is written when any row is bad), then
    merged `batch_size` records per commit. A dataset that import creates is created in
    the commit of the first batch, so a failure there leaves no dataset behind.
    """
    fmt = format_for(path, fmt)
    name = check_name(name)
    experiment_ids = (
        [DEFAULT_EXPERIMENT_ID]
        if experiment_id is None
        else check_id_list(experiment_id, "experiment_id")
    )
    if progress is not None:
        progress("checking", 0, _progress_total(path, fmt))
    count = 0
    with session.connect() as conn:
        limits = backend_limits(conn)
    for batch in read_records(path, fmt, batch_size=batch_size):
        validate_batch(batch, limits)
        count += len(batch)
        if progress is not None:
            progress("checking", batch.done, batch.total)

    target = _ImportTarget(session, name, experiment_ids)
    added = updated = batches = done = 0
    if progress is not None:
        progress("importing", 0, count)
    for batch in read_records(path, fmt, batch_size=batch_size):
        if not batch:
            continue
        got_added, got_updated = target.merge(validate_batch(batch))
        added += got_added
        updated += got_updated
        if got_added or got_updated:  # a batch that would change nothing makes no version
            batches += 1
        done += len(batch)
        if progress is not None:
            progress("importing", done, count)
    return ImportResult(
        dataset=get_dataset(session, dataset_id=target.finish()),
        created=target.created,
        records=count,
        added=added,
        updated=updated,
        batches=batches,
    )


class _ImportTarget:
    """The dataset an import merges into. A missing one is created by the first merge, in
    its commit (or, for a file without records, at the end); when another writer creates
    it meanwhile, the import merges into theirs."""

    def __init__(self, session: Session, name: str, experiment_ids: list[str]) -> None:
        self.session = session
        self.name = name
        self.created = False
        self.pending: commands.NewDataset | None = None
        try:
            self.dataset_id = get_dataset(session, name=name).dataset_id
        except ResourceNotFound:
            self.dataset_id = commands.new_dataset_id()
            self.pending = commands.NewDataset(name, experiment_ids)

    def merge(self, incoming: list[RecordInput]) -> tuple[int, int]:
        if self.pending is None:
            return commands.merge(self.session, self.dataset_id, incoming)
        try:
            result = commands.merge(self.session, self.dataset_id, incoming, create=self.pending)
        except ResourceAlreadyExists:  # created meanwhile by someone else
            self.pending = None
            self.dataset_id = get_dataset(self.session, name=self.name).dataset_id
            return commands.merge(self.session, self.dataset_id, incoming)
        self.pending, self.created = None, True
        return result

    def finish(self) -> str:
        """The dataset's id, once it exists (an empty file creates an empty dataset)."""
        if self.pending is not None:
            try:
                self.dataset_id = create_dataset(
                    self.session, self.name, experiment_id=self.pending.experiment_ids
                ).dataset_id
                self.created = True
            except ResourceAlreadyExists:
                self.dataset_id = get_dataset(self.session, name=self.name).dataset_id
            self.pending = None
        return self.dataset_id


def _progress_total(path: str | os.PathLike[str], fmt: str) -> int:
    """What read_records' batches count progress in: rows for parquet, else bytes."""
    if fmt != "parquet":
        return os.path.getsize(path)
    import pyarrow as pa  # deferred: pyarrow is heavy and only parquet files need it
    import pyarrow.parquet as pq

    try:
        return pq.read_metadata(path).num_rows
    except (pa.ArrowException, ValueError):
        return 0  # read_records reports what is wrong with the file


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _clip(text: str, limit: int = 60) -> str:
    return repr(clip(text, limit))
