"""Traces that reach the server in pieces, stored once.

The MLflow client sends a trace's spans by OTLP (``/v1/traces``: one request per span in
sync mode, batches in async mode), its info by StartTraceV3 (after the root span ended),
and, when StartTraceV3 was answered without ``spansLocation=TRACKING_STORE``, the whole
span list again as a ``traces.json`` upload. In async mode the OTLP and StartTraceV3
requests race. Each request's reads and writes happen inside one commit holding the
ledger's writer lock (requests of one process that wait at the same moment share a commit,
see :class:`_GroupCommit`), so concurrent requests, threads and server processes see each
other's pieces in order:

- Spans for a trace not yet logged are staged in ``trace_parts`` (kind ``spans``, or
  ``root`` when the part holds the root span, the one without a parent).
- An info for a trace not yet logged finalizes it when the staged spans are complete: the
  root span is there, and as many spans as the info's ``mlflow.trace.sizeStats`` counts
  (when it counts them). That is one TraceLogged with the info and the spans
  (deduplicated by span id), the parts deleted, and an answer with TRACKING_STORE.
  Otherwise the info is staged (kind ``info``) and the answer makes the client upload
  ``traces.json``.
- Spans that arrive while an info is staged finalize the trace once they complete it.
- Spans for a trace already logged: those whose span id it has are dropped (the double
  write of async mode); new ones become one TraceSpansAdded holding the whole merged body.
- A StartTraceV3 for a trace already logged (a retry) writes nothing and is answered with
  TRACKING_STORE.

Nothing a client sent stays staged forever. :func:`sweep` (the trace routes run it at most
every few seconds, in its own commit, before their own) finalizes

- a staged info older than ``STALE_MS`` (60 s: the client's upload failed) with whatever
  spans are staged, and
- staged spans whose root span arrived more than 60 s ago with no info (StartTraceV3
  failed), under an info made from the root span, as MLflow's server makes one from OTLP
  spans alone. The root span ends last, and the client sends the info right after it, so
  such a trace is finished.

The trace's events carry the user who sent its info (the staged info remembers them), so
the trace is recorded as theirs whichever request completed it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa

from evalledger.ledger import NO_STREAM, EventStore, InvalidParameter, check_json
from evalledger.ledger.bulk import IN_LIST_CHUNK
from evalledger.ledger.identity import now_ms
from evalledger.ledger.schema import events
from evalledger.projections import event_types as et
from evalledger.projections.schema import trace_parts, traces
from evalledger.projections.traces_fold import (
    duration_ms,
    experiment_id_of,
    format_time_ms,
    root_span,
    time_ms,
)
from evalledger.projections.unit_of_work import UnitOfWork, commit
from evalledger.traces.entities import INPUTS, OUTPUTS, check_trace_id, normalize_trace
from evalledger.traces.log import check_experiment

log = logging.getLogger("evalledger.server.traces")

#: A staged info (or a staged root span without an info) this old is finalized as it is.
STALE_MS = 60_000
#: How often one server process looks for stale parts.
SWEEP_EVERY_S = 5.0
SWEEP_BATCH = 200
INFO, SPANS, ROOT = "info", "spans", "root"
SIZE_STATS = "mlflow.trace.sizeStats"
#: The commit user of a sweep (each event names the trace's own user).
SWEEP_USER = "evalledger-server"
PREVIEW_CHARS = 1_000


@dataclass(frozen=True, slots=True)
class Part:
    part_id: int
    kind: str
    experiment_id: str
    body: dict[str, Any]
    received_ms: int


# --------------------------------------------------------------------------- checks


def _has_root(spans: Iterable[dict[str, Any]]) -> bool:
    return any(not s.get("parent_span_id") for s in spans)


def _unique(spans: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Spans deduplicated by span id, the first one kept."""
    seen: dict[str, dict[str, Any]] = {}
    for span in spans:
        seen.setdefault(span["span_id"], span)
    return list(seen.values())


def checked_spans(trace_id: Any, spans: Any, where: str = "spans") -> list[dict[str, Any]]:
    """Spans for one trace, through normalize_trace (the one gate), deduplicated."""
    trace_id = check_trace_id(trace_id, "trace_id")
    if not isinstance(spans, list):
        raise InvalidParameter(f"{where}: expected a list of spans", field=where)
    stub = {"info": {"trace_id": trace_id, "request_time": 0}, "data": {"spans": spans}}
    return _unique(normalize_trace(stub, where)["data"]["spans"])


def _with_id(assessment: Any) -> Any:
    """An assessment logged inside an active trace has no id yet: it gets one here."""
    if not isinstance(assessment, dict) or assessment.get("assessment_id"):
        return assessment
    return {"valid": True, **assessment, "assessment_id": "a-" + uuid.uuid4().hex}


def checked_info(raw: Any) -> dict[str, Any]:
    """StartTraceV3's TraceInfoV3 (proto JSON) as the info of an MLflow 3 trace dict, the
    shape ``Trace.to_json()`` writes (``execution_duration_ms``), through normalize_trace."""
    if not isinstance(raw, dict):
        raise InvalidParameter("trace.trace_info: expected an object", field="trace.trace_info")
    info = dict(raw)
    if "execution_duration" in info:
        text = info.pop("execution_duration")
        ms = duration_ms({"execution_duration": text})
        if ms is None:
            raise InvalidParameter(
                f"trace.trace_info.execution_duration: not a duration like '0.087s': {text!r}",
                field="trace.trace_info.execution_duration",
            )
        info.setdefault("execution_duration_ms", ms)
    if isinstance(info.get("assessments"), list):
        info["assessments"] = [_with_id(a) for a in info["assessments"]]
    check_json(info, "trace.trace_info")
    try:
        checked = normalize_trace({"info": info, "data": {"spans": []}}, "trace.trace_info")
    except InvalidParameter:
        raise
    except (ValueError, OverflowError, OSError) as exc:  # a time no calendar holds
        raise InvalidParameter(f"trace.trace_info: {exc}", field="trace.trace_info") from None
    info = checked["info"]
    _check_time(info["request_time"], "trace.trace_info.request_time")
    for i, assessment in enumerate(info.get("assessments") or ()):
        for key in ("create_time", "last_update_time"):
            if key in assessment:
                _check_time(assessment[key], f"trace.trace_info.assessments[{i}].{key}")
    return info


def _check_time(value: Any, where: str) -> None:
    """A time the wire can show again (an RFC 3339 string of years 1 to 9999)."""
    try:
        format_time_ms(time_ms(value) or 0)
    except (ValueError, OverflowError, OSError):
        raise InvalidParameter(f"{where}: {value!r} is out of range", field=where) from None


def _time_text(ns: int) -> str:
    """Epoch nanoseconds as an RFC 3339 string; the epoch for a time out of range."""
    try:
        return format_time_ms(ns // 1_000_000)
    except (ValueError, OverflowError, OSError):
        return format_time_ms(0)


def _expected_spans(info: dict[str, Any]) -> int | None:
    """How many spans the client counted (``mlflow.trace.sizeStats``), if it says."""
    text = (info.get("trace_metadata") or {}).get(SIZE_STATS)
    try:
        count = orjson.loads(text).get("num_spans") if text else None
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return count if type(count) is int else None


def _complete(info: dict[str, Any], spans: list[dict[str, Any]]) -> bool:
    if not _has_root(spans):
        return False
    expected = _expected_spans(info)
    return expected is None or len(spans) >= expected


def _preview(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 3] + "..."


def info_from_spans(trace_id: str, experiment_id: str, spans: list[dict[str, Any]]) -> dict:
    """The info of a trace whose StartTraceV3 never came, from its root span."""
    root = root_span(spans) or min(spans, key=lambda s: s.get("start_time_unix_nano") or 0)
    start_ns = root.get("start_time_unix_nano") or 0
    end_ns = root.get("end_time_unix_nano") or start_ns
    attributes = root.get("attributes") or {}
    failed = (root.get("status") or {}).get("code") == "STATUS_CODE_ERROR"
    info: dict[str, Any] = {
        "trace_id": trace_id,
        "trace_location": {
            "type": "MLFLOW_EXPERIMENT",
            "mlflow_experiment": {"experiment_id": experiment_id},
        },
        "request_time": _time_text(start_ns),
        "execution_duration_ms": max(0, end_ns - start_ns) // 1_000_000,
        "state": "ERROR" if failed else "OK",
        "trace_metadata": {},
        "tags": {"mlflow.traceName": str(root.get("name") or "")},
    }
    for key, attribute in (("request_preview", INPUTS), ("response_preview", OUTPUTS)):
        preview = _preview(attributes.get(attribute))
        if preview is not None:
            info[key] = preview
    return info


# --------------------------------------------------------------------------- one commit

# Built once: statement construction costs more than running these small ones.
_LOGGED = sa.select(traces.c.trace_id, traces.c.position).where(
    traces.c.trace_id.in_(sa.bindparam("ids", expanding=True))
)
_PARTS = (
    sa.select(
        trace_parts.c.part_id,
        trace_parts.c.trace_id,
        trace_parts.c.kind,
        trace_parts.c.experiment_id,
        trace_parts.c.body,
        trace_parts.c.received_ms,
    )
    .where(trace_parts.c.trace_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(trace_parts.c.part_id)
)
_BODY_AT = sa.select(events.c.event_type, events.c.schema_version, events.c.payload).where(
    events.c.position == sa.bindparam("position")
)
_STAGE = trace_parts.insert()
_DELETE = trace_parts.delete().where(trace_parts.c.part_id.in_(sa.bindparam("ids", expanding=True)))


class _Commit:
    """One intake commit, which several requests may share (see :class:`_GroupCommit`):
    the transaction, and the trace bodies appended in it so far, since the trace index is
    only folded when the commit ends."""

    def __init__(self, tx: UnitOfWork, store: EventStore) -> None:
        self.tx = tx
        self.conn = tx.conn
        self.store = store
        #: {trace_id: position of its newest body} for the bodies appended in this commit.
        self.bodies: dict[str, int] = {}

    def check_experiment(self, experiment_id: str) -> None:
        """ResourceNotFound for an unknown experiment. Experiments are never deleted, so
        one this process has seen is not looked up again."""
        known = _known_experiments.setdefault(self.store.engine, set())
        if experiment_id not in known:
            check_experiment(self.tx, experiment_id)
            known.add(experiment_id)

    def logged(self, trace_ids: list[str]) -> dict[str, int]:
        """{trace_id: position of its newest body} of the traces already logged."""
        unknown = [t for t in trace_ids if t not in self.bodies]
        found: dict[str, int] = {}
        for start in range(0, len(unknown), IN_LIST_CHUNK):
            chunk = unknown[start : start + IN_LIST_CHUNK]
            rows = self.conn.execute(_LOGGED, {"ids": chunk})
            found.update((r.trace_id, r.position) for r in rows)
        found.update((t, self.bodies[t]) for t in trace_ids if t in self.bodies)
        return found

    def parts(self, trace_ids: list[str]) -> dict[str, list[Part]]:
        """The staged parts of these traces, in arrival order."""
        found: dict[str, list[Part]] = {}
        for start in range(0, len(trace_ids), IN_LIST_CHUNK):
            chunk = trace_ids[start : start + IN_LIST_CHUNK]
            for r in self.conn.execute(_PARTS, {"ids": chunk}):
                body = orjson.loads(r.body)
                part = Part(r.part_id, r.kind, r.experiment_id, body, r.received_ms)
                found.setdefault(r.trace_id, []).append(part)
        return found

    def body_at(self, position: int) -> dict[str, Any]:
        row = self.conn.execute(_BODY_AT, {"position": position}).one()
        _, payload = self.store.registry.upcast(
            row.event_type, row.schema_version, orjson.loads(row.payload)
        )
        return payload["trace"]

    def stage(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.conn.execute(_STAGE, rows)

    def stage_row(
        self, trace_id: str, kind: str, experiment_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "trace_id": trace_id,
            "kind": kind,
            "experiment_id": experiment_id,
            "body": orjson.dumps(body).decode(),
            "received_ms": self.tx.recorded_at,
        }

    def delete(self, parts: list[Part]) -> None:
        if parts:
            self.conn.execute(_DELETE, {"ids": [p.part_id for p in parts]})

    def finalize(
        self, info: dict[str, Any], user: str, spans: list[dict[str, Any]], parts: list[Part]
    ) -> None:
        """One TraceLogged with the info and the spans (both checked when they arrived), as
        the user who sent the info; the trace's parts deleted."""
        trace_id = info["trace_id"]
        body = {"info": info, "data": {"spans": spans}}
        (stored,) = self.tx.append(
            trace_id,
            [et.TRACE_LOGGED.new({"trace": body}, checked=True)],
            NO_STREAM,
            stream_type=et.TRACE_STREAM,
            metadata={"user": user},
        )
        self.bodies[trace_id] = stored.position
        self.delete(parts)

    def add_late(
        self, trace_id: str, position: int, spans: list[dict[str, Any]], user: str
    ) -> list[str]:
        """Spans for a logged trace: the ones it lacks, as one TraceSpansAdded holding the
        merged body; returns their ids."""
        body = self.body_at(position)
        have = {s.get("span_id") for s in body["data"]["spans"]}
        new = [s for s in spans if s["span_id"] not in have]
        if not new:
            return []
        merged = {
            "info": body["info"],
            "data": {**body["data"], "spans": [*body["data"]["spans"], *new]},
        }
        span_ids = [s["span_id"] for s in new]
        (stored,) = self.tx.append(
            trace_id,
            [et.TRACE_SPANS_ADDED.new({"trace": merged, "span_ids": span_ids}, checked=True)],
            self.tx.stream_version(trace_id),
            stream_type=et.TRACE_STREAM,
            metadata={"user": user},
        )
        self.bodies[trace_id] = stored.position
        return span_ids


_known_experiments: weakref.WeakKeyDictionary[sa.Engine, set[str]] = weakref.WeakKeyDictionary()


# --------------------------------------------------------------------------- group commit


@dataclass(eq=False, slots=True)
class _Job:
    """One request's share of a commit."""

    run: Callable[[_Commit], Any]
    user: str
    wake: threading.Event = field(default_factory=threading.Event)
    finished: bool = False
    result: Any = None
    error: BaseException | None = None


class _GroupCommit:
    """The intake requests of one process that wait to write share commits.

    The ledger's writer lock serializes commits anyway. Here the first request to come
    leads: it commits every request queued by then in one transaction, then wakes the
    next queued one to lead. A commit's fixed costs (the lock, the head, the commit and
    its sync to disk) are paid once per group, and a waiting request wakes the moment it
    may go, where SQLite's busy handler sleeps and retries. A job that fails rolls its
    group back; each job is then run again alone, so it answers only for itself.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Job] = []
        self._leading = False

    def run(self, store: EventStore, user: str, run: Callable[[_Commit], Any]) -> Any:
        job = _Job(run, user)
        with self._lock:
            self._queue.append(job)
            lead = not self._leading
            self._leading = True
        if not lead:
            job.wake.wait()
        if not job.finished:  # woken to lead
            with self._lock:
                jobs, self._queue = self._queue, []
            try:
                self._commit(store, jobs)
            finally:
                with self._lock:
                    if self._queue:
                        self._queue[0].wake.set()
                    else:
                        self._leading = False
        if job.error is not None:
            raise job.error
        return job.result

    def _commit(self, store: EventStore, jobs: list[_Job]) -> None:
        try:
            with commit(store, jobs[0].user) as tx:
                work = _Commit(tx, store)
                results = [job.run(work) for job in jobs]
            for job, result in zip(jobs, results, strict=True):
                job.result = result
        except BaseException as exc:
            if len(jobs) == 1:
                jobs[0].error = exc
            else:
                for job in jobs:
                    self._commit(store, [job])
        for job in jobs:
            job.finished = True
            job.wake.set()


_groups: weakref.WeakKeyDictionary[sa.Engine, _GroupCommit] = weakref.WeakKeyDictionary()
_groups_lock = threading.Lock()


def _write(store: EventStore, user: str, run: Callable[[_Commit], Any]) -> Any:
    """Run `run` in an intake commit (shared with the requests waiting with it)."""
    with _groups_lock:
        group = _groups.setdefault(store.engine, _GroupCommit())
    return group.run(store, user, run)


# --------------------------------------------------------------------------- intake


def _receive_info(work: _Commit, user: str, info: dict[str, Any]) -> bool:
    trace_id = info["trace_id"]
    experiment_id = experiment_id_of(info) or et.DEFAULT_EXPERIMENT_ID
    work.check_experiment(experiment_id)
    if work.logged([trace_id]):
        return True
    parts = work.parts([trace_id]).get(trace_id, [])
    spans = _staged_spans(parts)
    if _complete(info, spans):
        work.finalize(info, user, spans, parts)
        return True
    work.delete([p for p in parts if p.kind == INFO])
    work.stage([work.stage_row(trace_id, INFO, experiment_id, {"info": info, "user": user})])
    return False


def receive_info(store: EventStore, user: str, info: dict[str, Any]) -> bool:
    """StartTraceV3 (an info from :func:`checked_info`): True when the trace's spans are
    stored now (or were before), False when the info waits for them."""
    return _write(store, user, lambda work: _receive_info(work, user, info))


def _receive_spans(
    work: _Commit, user: str, experiment_id: str, spans_by_trace: dict[str, list[dict]]
) -> dict[str, list[str]]:
    work.check_experiment(experiment_id)
    trace_ids = list(spans_by_trace)
    logged = work.logged(trace_ids)
    waiting = work.parts([t for t in trace_ids if t not in logged])
    added: dict[str, list[str]] = {}
    rows = []
    for trace_id, spans in spans_by_trace.items():
        if trace_id in logged:
            added[trace_id] = work.add_late(trace_id, logged[trace_id], spans, user)
            continue
        parts = waiting.get(trace_id, [])
        info_part = _latest_info(parts)
        merged = _unique([*_staged_spans(parts), *spans])
        if info_part is not None and _complete(info_part.body["info"], merged):
            work.finalize(info_part.body["info"], info_part.body["user"], merged, parts)
        else:
            kind = ROOT if _has_root(spans) else SPANS
            rows.append(
                work.stage_row(trace_id, kind, experiment_id, {"spans": spans, "user": user})
            )
    work.stage(rows)
    return added


def receive_spans(
    store: EventStore, user: str, experiment_id: str, spans_by_trace: dict[str, list[dict]]
) -> dict[str, list[str]]:
    """Checked spans (OTLP or traces.json) of one or more traces, in one commit: staged,
    completing a trace whose info waits, or added to a logged trace. Returns, per trace
    already logged, the span ids it gained."""
    return _write(
        store, user, lambda work: _receive_spans(work, user, experiment_id, spans_by_trace)
    )


def _staged_spans(parts: list[Part]) -> list[dict[str, Any]]:
    return _unique(s for p in parts if p.kind != INFO for s in p.body["spans"])


def _latest_info(parts: list[Part]) -> Part | None:
    infos = [p for p in parts if p.kind == INFO]
    return infos[-1] if infos else None


# --------------------------------------------------------------------------- sweep


def _due(store: EventStore, cutoff: int) -> list[str]:
    c = trace_parts.c
    query = (
        sa.select(c.trace_id)
        .where(c.kind.in_((INFO, ROOT)), c.received_ms < cutoff)
        .order_by(c.received_ms)
        .limit(SWEEP_BATCH)
    )
    with store.engine.connect() as conn:
        return list(dict.fromkeys(conn.execute(query).scalars()))


def _sweep(work: _Commit, due: list[str], cutoff: int) -> list[str]:
    logged = work.logged(due)
    staged = work.parts(due)
    done = []
    for trace_id in due:
        parts = staged.get(trace_id)
        if not parts:
            continue  # finalized by a request since
        spans = _staged_spans(parts)
        if trace_id in logged:
            work.add_late(trace_id, logged[trace_id], spans, SWEEP_USER)
            work.delete(parts)
            continue
        info_part = _latest_info(parts)
        if info_part is not None:
            if info_part.received_ms >= cutoff:
                continue  # a newer info: its upload may still come
            info, user = info_part.body["info"], info_part.body["user"]
        else:
            root = next((p for p in parts if p.kind == ROOT), None)
            if root is None or root.received_ms >= cutoff:
                continue
            info = info_from_spans(trace_id, root.experiment_id, spans)
            user = root.body["user"]
        work.finalize(info, user, spans, parts)
        done.append(trace_id)
    return done


def sweep(store: EventStore, now: int | None = None) -> list[str]:
    """Finalize the traces whose info (or root span, with no info) has waited longer than
    STALE_MS; returns their ids. One commit; nothing to do costs one indexed read."""
    cutoff = (now_ms() if now is None else now) - STALE_MS
    due = _due(store, cutoff)
    if not due:
        return []
    done = _write(store, SWEEP_USER, lambda work: _sweep(work, due, cutoff))
    if done:
        log.info("finalized %d trace(s) whose pieces waited over %d s", len(done), STALE_MS // 1000)
    return done


class _SweepClock:
    """When this process last swept (the sweep itself keeps no state)."""

    def __init__(self) -> None:
        self.last = float("-inf")
        self.lock = threading.Lock()

    def due(self) -> bool:
        with self.lock:
            now = time.monotonic()
            if now - self.last < SWEEP_EVERY_S:
                return False
            self.last = now
            return True


_clock = _SweepClock()


def sweep_if_due(store: EventStore) -> None:
    """Run :func:`sweep` when this process has not for SWEEP_EVERY_S. A failure is logged,
    never the request's: the stale parts belong to other traces."""
    if not _clock.due():
        return
    try:
        sweep(store)
    except Exception:
        log.exception("sweeping stale trace parts failed; will retry")
