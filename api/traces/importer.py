"""import_traces: MLflow exports in, checked whole, then committed in batches.

The whole input is validated before anything is written (bad input writes nothing), then
traces are committed in batches of ``IMPORT_BATCH``, each one transaction with one
statement per table. An interrupted import leaves whole batches; running it again
finishes it, since traces already in the ledger are skipped by id.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from evalledger.experiments import DEFAULT_EXPERIMENT_ID, append_created, missing_experiments
from evalledger.ledger import (
    NO_STREAM,
    InvalidParameter,
    NewEvent,
    ResourceNotFound,
    check_json,
)
from evalledger.ledger.bulk import IN_LIST_CHUNK
from evalledger.ledger.encoding import unreadable
from evalledger.ledger.exact_json import loads_exact
from evalledger.ledger.limits import (
    MAX_EXPERIMENT_ID_CHARS,
    TRACE_DOCUMENT_NESTING,
    BackendLimits,
    backend_limits,
)
from evalledger.ledger.memory import gc_paused
from evalledger.ledger.schema import events
from evalledger.oversize import check_trace_size
from evalledger.projections import event_types as et
from evalledger.projections.schema import assessments as assessments_table
from evalledger.projections.schema import experiments, trace_metadata, trace_tags, traces
from evalledger.projections.traces_fold import experiment_id_of
from evalledger.projections.unit_of_work import UnitOfWork, commit
from evalledger.session import Session
from evalledger.traces.entities import (
    Trace,
    normalize_trace,
    with_experiment,
)
from evalledger.validation import experiment_key, shown

#: Traces per import commit.
IMPORT_BATCH = 2_000
#: Bytes of checked traces (canonical JSON) an import keeps from its first pass to write in
#: its second: 100,000 traces of 2.5 kB, read and checked once; beyond, read again.
KEPT_BYTES = 256 * 1024 * 1024
#: An import that adds this many traces refreshes the planner's statistics.
ANALYZE_AFTER = 2_000

# --------------------------------------------------------------------------- import


def _is_mlflow_trace(value: Any) -> bool:
    return callable(getattr(value, "to_json", None)) and hasattr(value, "info")


Items = Callable[[], Iterator[tuple[str, Any]]]


def _jsonl_items(path: Path) -> Iterator[tuple[str, Any]]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                yield f"line {number} of {path.name}", line


def _json_file_items(path: Path) -> Iterator[tuple[str, Any]]:
    try:
        data = loads_exact(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(f"import_traces: {path.name}: {unreadable(exc)}") from None
    items = data if isinstance(data, list) else [data]
    for i, item in enumerate(items):
        yield f"trace {i} of {path.name}", item


def _path_items(path: Path) -> Items:
    try:
        found = path.is_file()
    except OSError as exc:  # a name too long for the file system, say
        raise InvalidParameter(
            f"import_traces: cannot read {shown(str(path))}: {exc.strerror or exc}"
        ) from None
    if not found:
        raise InvalidParameter(f"import_traces: no such file {shown(str(path))}")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return lambda: _jsonl_items(path)
    if suffix == ".json":
        return lambda: _json_file_items(path)
    raise InvalidParameter(
        f"import_traces: {path.name}: expected a .json or .jsonl file of exported traces"
    )


def _source_items(source: Any) -> Items:
    """The traces of a source, as a re-iterable of (label for errors, item)."""
    if isinstance(source, os.PathLike):
        return _path_items(Path(source))
    if isinstance(source, str | bytes | bytearray):
        text = source.strip()
        if isinstance(source, str) and not text.startswith(("{", "[")):
            return _path_items(Path(source))
        try:
            data = loads_exact(text)
        except orjson.JSONDecodeError as exc:
            raise InvalidParameter(f"import_traces: source: {unreadable(exc)}") from None
        source = data
    if isinstance(source, dict | Trace) or _is_mlflow_trace(source):
        items: list[Any] = [source]
    elif isinstance(source, Iterable):
        items = list(source)
    else:
        raise InvalidParameter(
            "import_traces: source must be a Trace, a list of traces, trace JSON, a dict, "
            f"or a path to a .json/.jsonl file; got {type(source).__name__}"
        )
    return lambda: ((f"trace {i}", item) for i, item in enumerate(items))


def _normalized(
    label: str, item: Any, experiment_id: str | None, limits: BackendLimits | None = None
) -> dict[str, Any]:
    """One trace of the source, checked, as an MLflow 3 trace dict."""
    text_size = 0  # bytes of the JSON text the trace came as (0: it came as objects)
    try:
        if isinstance(item, Trace):
            data, shallow = item.to_dict(), True  # normalized when it was made
        elif isinstance(item, str | bytes | bytearray):
            data, shallow, text_size = loads_exact(item), _few_brackets(item), len(item)
        elif isinstance(item, dict):
            check_json(item, "trace", TRACE_DOCUMENT_NESTING)
            data, shallow = item, True
        elif _is_mlflow_trace(item):
            text = item.to_json()
            data, shallow, text_size = orjson.loads(text), _few_brackets(text), len(text)
        else:
            raise InvalidParameter(
                f"expected a Trace, trace JSON or a trace dict, got {type(item).__name__}"
            )
        body = normalize_trace(data, "trace", shallow=shallow)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(f"import_traces: {label}: {unreadable(exc)}") from None
    except InvalidParameter as exc:
        raise InvalidParameter(f"import_traces: {label}: {exc.message}") from None
    body = body if experiment_id is None else with_experiment(body, experiment_id)
    # normalizing at most doubles a text (values encoded as JSON strings); escapes double
    # it again: only a trace that could be over the limit is encoded to measure it
    if limits is not None and not 0 < 4 * text_size <= limits.max_record_bytes:
        check_trace_size(f"import_traces: {label}", body, limits)
    return body


def _few_brackets(text: str | bytes | bytearray) -> bool:
    """True when a JSON text cannot nest deeper than a trace document may: it has fewer
    brackets than that (its structure's brackets are all in the text)."""
    if isinstance(text, str):
        return text.count("[") + text.count("{") <= TRACE_DOCUMENT_NESTING
    return text.count(b"[") + text.count(b"{") <= TRACE_DOCUMENT_NESTING


def _unique(
    items: Items,
    experiment_id: str | None,
    limits: BackendLimits | None = None,
    *,
    skip: int = 0,
    seen: set[str] | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index in the source, trace normalized) for the source's traces after the first
    `skip`; a trace id seen before (or in `seen`) is skipped."""
    seen = set() if seen is None else seen
    for n, (label, item) in enumerate(items()):
        if n < skip:
            continue
        body = _normalized(label, item, experiment_id, limits)
        trace_id = body["info"]["trace_id"]
        if trace_id not in seen:
            seen.add(trace_id)
            yield n, body


def _stream_types(conn: sa.Connection, stream_ids: list[str]) -> dict[str, str]:
    """stream id -> stream type, for those of these ids that name a stream."""
    found: dict[str, str] = {}
    for start in range(0, len(stream_ids), IN_LIST_CHUNK):
        chunk = stream_ids[start : start + IN_LIST_CHUNK]
        query = sa.select(events.c.stream_id, events.c.stream_type).where(
            events.c.stream_id.in_(chunk), events.c.version == 0
        )
        found.update((row.stream_id, row.stream_type) for row in conn.execute(query))
    return found


def _check_not_other_streams(conn: sa.Connection, trace_ids: list[str]) -> set[str]:
    """The ids among these of traces already in the ledger; InvalidParameter when an id
    names another kind of stream."""
    found = _stream_types(conn, trace_ids)
    for trace_id, stream_type in found.items():
        if stream_type != et.TRACE_STREAM:
            raise InvalidParameter(
                f"import_traces: trace id {trace_id!r} is already the id of a "
                f"{stream_type} stream in this ledger"
            )
    return set(found)


def _importable_experiments(conn: sa.Connection, experiment_ids: set[str]) -> None:
    """Experiments import will create must have ids of digits (experiment ids are)."""
    for experiment_id in missing_experiments(conn, sorted(experiment_ids)):
        if len(experiment_id) > MAX_EXPERIMENT_ID_CHARS:
            raise InvalidParameter(
                f"import_traces: the traces' experiment id {experiment_id[:40]!r}... is longer "
                f"than {MAX_EXPERIMENT_ID_CHARS} characters"
            )
        if not experiment_id.isdigit():
            raise InvalidParameter(
                f"import_traces: the traces' experiment id {experiment_id!r} does not exist "
                "and is not a string of digits; pass experiment_id= to import them into an "
                "existing experiment"
            )


def _create_experiments(tx: UnitOfWork, experiment_ids: set[str]) -> None:
    """Create the missing experiments, named ``imported-<id>`` (plus a suffix if taken)."""
    missing = missing_experiments(tx.conn, sorted(experiment_ids, key=lambda e: (len(e), e)))
    if not missing:
        return
    taken = set(tx.conn.execute(sa.select(experiments.c.name)).scalars())
    for experiment_id in missing:
        name, n = f"imported-{experiment_id}", 1
        while name in taken:
            n += 1
            name = f"imported-{experiment_id}-{n}"
        taken.add(name)
        append_created(tx, experiment_id, name, {})


def _commit_batch(session: Session, batch: list[Checked]) -> int:
    """Append the traces of one batch not yet in the ledger, in one commit; returns how many."""
    with commit(session.store, session.user) as tx:
        present = _stream_types(tx.conn, [t["info"]["trace_id"] for t, _ in batch])
        new = [(t, data) for t, data in batch if t["info"]["trace_id"] not in present]
        _check_not_other_streams(tx.conn, list(present))
        if not new:
            return 0
        ids = {experiment_id_of(t["info"]) or DEFAULT_EXPERIMENT_ID for t, _ in new}
        _create_experiments(tx, ids)
        tx.append_to_streams(
            [(body["info"]["trace_id"], [_logged(body, data)], NO_STREAM) for body, data in new],
            stream_type=et.TRACE_STREAM,
        )
    return len(new)


def _logged(body: dict[str, Any], data: bytes | None) -> NewEvent:
    """The TraceLogged event of a checked trace; `data` is its canonical JSON when made."""
    if data is None:
        return et.TRACE_LOGGED.new({"trace": body}, checked=True)
    return et.TRACE_LOGGED.new({"trace": body}, encoded=b'{"trace":' + data + b"}")


def import_traces(session: Session, source: Any, experiment_id: str | None = None) -> list[str]:
    """Import traces exported by MLflow: Trace objects (ours or MLflow's), their
    ``to_json()`` strings or dicts, or a path to a .json/.jsonl file of them.

    `experiment_id` None keeps each trace's own experiment, creating it (named
    ``imported-<id>``) when missing. Traces already in the ledger are skipped. Returns the
    ids of the source's traces, in source order, whether imported now or before.
    """
    if experiment_id is not None:
        experiment_id = _check_experiment_arg(experiment_id)
    items = _source_items(source)
    with gc_paused():
        return _import(session, items, experiment_id)


def _import(session: Session, items: Items, experiment_id: str | None) -> list[str]:
    trace_ids: list[str] = []
    experiment_ids: set[str] = set()
    kept = _Kept()
    with session.connect() as conn:
        limits = backend_limits(conn)
    for n, body in _unique(items, experiment_id, limits):  # check everything before writing
        trace_ids.append(body["info"]["trace_id"])
        experiment_ids.add(experiment_id_of(body["info"]) or DEFAULT_EXPERIMENT_ID)
        kept.add(n, body)
    with session.connect() as conn:
        if experiment_id is not None:
            if missing_experiments(conn, [experiment_id]):
                raise ResourceNotFound(f"experiment {experiment_id!r} does not exist")
        else:
            _importable_experiments(conn, experiment_ids)
        present = _check_not_other_streams(conn, trace_ids)
    if len(present) == len(trace_ids):
        return trace_ids  # every trace is in the ledger already
    added = 0
    batch: list[Checked] = []
    for checked in kept.again(items, experiment_id, trace_ids):
        batch.append(checked)
        if len(batch) == IMPORT_BATCH:
            added += _commit_batch(session, batch)
            batch = []
    if batch:
        added += _commit_batch(session, batch)
    if added >= ANALYZE_AFTER:
        _analyze(session.engine)
    return trace_ids


#: A checked trace and its canonical JSON (None: not encoded yet).
Checked = tuple[dict[str, Any], bytes | None]


class _Kept:
    """The checked traces of the first pass, kept as canonical JSON (compact, and what the
    events store) until KEPT_BYTES are held; the traces after those are read and checked
    again from the source when written, so a large source is never held whole.

    They are kept end to end in one buffer: a bytes object per trace, each allocated
    between the first pass's short-lived objects, held the process's memory at three times
    their size."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.ends = array("q")
        self.resume_at: int | None = None  # index in the source of the first trace not kept

    def add(self, n: int, body: dict[str, Any]) -> None:
        if self.resume_at is not None:
            return
        data = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        if len(self.buffer) + len(data) > KEPT_BYTES:
            self.resume_at = n
            return
        self.buffer += data
        self.ends.append(len(self.buffer))

    def again(
        self, items: Items, experiment_id: str | None, trace_ids: list[str]
    ) -> Iterator[Checked]:
        """Every trace of the first pass, in order, once each."""
        view, start = memoryview(self.buffer), 0
        for end in self.ends:
            data = bytes(view[start:end])
            start = end
            yield orjson.loads(data), data
        view.release()
        if self.resume_at is not None:
            seen = set(trace_ids[: len(self.ends)])
            rest = _unique(items, experiment_id, skip=self.resume_at, seen=seen)
            for _, body in rest:
                yield body, None


def _analyze(engine: sa.Engine) -> None:
    """Refresh the planner's statistics of the trace tables after a bulk import: without
    them PostgreSQL and MariaDB scan and sort every match instead of walking the time
    index (SQLite's planner does well without them)."""
    names = ", ".join(t.name for t in (traces, trace_tags, trace_metadata, assessments_table))
    dialect = engine.dialect.name
    if dialect == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql(f"ANALYZE {names}")
    elif dialect in ("mysql", "mariadb"):
        with engine.connect() as conn:
            conn.exec_driver_sql(f"ANALYZE TABLE {names}").all()


def _check_experiment_arg(experiment_id: Any) -> str:
    """An int is taken as its digits; else a non-empty str the database can store."""
    return experiment_key(experiment_id)
