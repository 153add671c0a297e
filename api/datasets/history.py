"""Reading a dataset's past: history, diffs between versions, one record's lineage,
provenance. Each read touches only the rows that changed, never a replay."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
import pandas as pd
import sqlalchemy as sa

from evalledger.datasets import reads
from evalledger.datasets.entities import DatasetRecord, record_from_row
from evalledger.datasets.records import record_content
from evalledger.ledger import ResourceNotFound
from evalledger.ledger.memory import gc_paused
from evalledger.projections.schema import dataset_records, dataset_versions, row_valid_at

HISTORY_COLUMNS = [
    "version",
    "timestamp",
    "user",
    "operation",
    "records_added",
    "records_updated",
    "records_deleted",
    "num_records",
    "digest",
]


def history_frame(conn: sa.Connection, dataset_id: str, up_to: int | None = None) -> pd.DataFrame:
    """One row per version, oldest first."""
    query = sa.select(dataset_versions).where(dataset_versions.c.dataset_id == dataset_id)
    if up_to is not None:
        query = query.where(dataset_versions.c.version <= up_to)
    rows = conn.execute(query.order_by(dataset_versions.c.version)).all()
    frame = pd.DataFrame(
        {
            "version": [r.version for r in rows],
            "timestamp": pd.to_datetime([r.timestamp for r in rows], unit="ms", utc=True),
            "user": pd.Series([r.user for r in rows], dtype=object),
            "operation": pd.Series([r.operation for r in rows], dtype=object),
            "records_added": [r.records_added for r in rows],
            "records_updated": [r.records_updated for r in rows],
            "records_deleted": [r.records_deleted for r in rows],
            "num_records": [r.num_records for r in rows],
            "digest": pd.Series([r.digest for r in rows], dtype=object),
        },
        columns=HISTORY_COLUMNS,
    )
    frame["source_version"] = pd.Series(
        [orjson.loads(r.detail).get("restored_from") for r in rows], dtype=object
    )
    return frame


# -- diff -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordChange:
    """A record present in both versions whose content differs."""

    record_id: str
    before: DatasetRecord
    after: DatasetRecord
    fields: list[str]

    def to_dict(self) -> dict[str, Any]:
        """The change as JSON: each changed field's path with its value before and after,
        and both records whole (what `diff --json` prints and the JSON API answers)."""
        before, after = content(self.before), content(self.after)
        return {
            "record_id": self.record_id,
            "inputs": self.after.inputs,
            "fields": [
                {"path": p, "before": value_at(before, p), "after": value_at(after, p)}
                for p in self.fields
            ],
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
        }


@dataclass
class DatasetDiff:
    from_version: int
    to_version: int
    added: list[DatasetRecord] = field(default_factory=list)
    removed: list[DatasetRecord] = field(default_factory=list)
    changed: list[RecordChange] = field(default_factory=list)
    tags_changed: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.tags_changed)

    def to_df(self) -> pd.DataFrame:
        """One row per added or removed record, and per changed field of a changed record."""
        rows: list[dict[str, Any]] = []
        for r in self.added:
            rows.append(
                {
                    "change": "added",
                    "record_id": r.dataset_record_id,
                    "field": None,
                    "before": None,
                    "after": content(r),
                }
            )
        for r in self.removed:
            rows.append(
                {
                    "change": "removed",
                    "record_id": r.dataset_record_id,
                    "field": None,
                    "before": content(r),
                    "after": None,
                }
            )
        for c in self.changed:
            before, after = content(c.before), content(c.after)
            for path in c.fields:
                rows.append(
                    {
                        "change": "changed",
                        "record_id": c.record_id,
                        "field": path,
                        "before": value_at(before, path),
                        "after": value_at(after, path),
                    }
                )
        for key, (old, new) in self.tags_changed.items():
            rows.append(
                {
                    "change": "tag",
                    "record_id": None,
                    "field": f"dataset.tags.{key}",
                    "before": old,
                    "after": new,
                }
            )
        return pd.DataFrame(
            rows, columns=["change", "record_id", "field", "before", "after"], dtype=object
        )


def content(record: DatasetRecord) -> dict[str, Any]:
    """The record's content (what the digest covers): inputs, outputs, expectations,
    tags, source."""
    return record_content(record)  # type: ignore[arg-type]


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON: 1 and 1.0 differ, as do True and 1."""
    kind = type(a)
    if kind is type(b) and kind in (str, int, float, bool, type(None)):
        return a == b
    return orjson.dumps(a, option=orjson.OPT_SORT_KEYS) == orjson.dumps(
        b, option=orjson.OPT_SORT_KEYS
    )


def changed_paths(before: Any, after: Any, prefix: str = "") -> list[str]:
    """The dotted JSON paths where two values differ (dicts are descended into)."""
    if type(before) is dict and type(after) is dict:
        paths = []
        for key in before.keys() | after.keys():
            path = f"{prefix}.{key}" if prefix else key
            if key not in before or key not in after:
                paths.append(path)
            elif not _same(before[key], after[key]):
                paths.extend(changed_paths(before[key], after[key], path))
        return sorted(paths)
    return [] if _same(before, after) else [prefix]


def value_at(value: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def diff(conn: sa.Connection, dataset_id: str, a: int, b: int) -> DatasetDiff:
    """What changed from version a to version b (either order), reading only changed rows."""
    with gc_paused():
        return _diff(conn, dataset_id, a, b)


def _diff(conn: sa.Connection, dataset_id: str, a: int, b: int) -> DatasetDiff:
    if a > b:
        reverse = _diff(conn, dataset_id, b, a)
        return DatasetDiff(
            a,
            b,
            added=reverse.removed,
            removed=reverse.added,
            changed=[
                RecordChange(c.record_id, c.after, c.before, c.fields) for c in reverse.changed
            ],
            tags_changed={k: (n, o) for k, (o, n) in reverse.tags_changed.items()},
        )
    views = [reads.versions_table_view(conn, dataset_id, v) for v in (a, b)]
    for version, view in zip((a, b), views, strict=True):
        if view is None:
            raise ResourceNotFound(f"dataset {dataset_id!r} has no version {version}")
    result = DatasetDiff(a, b)
    tags_a, tags_b = views[0].tags, views[1].tags  # type: ignore[union-attr]
    for key in sorted(set(tags_a) | set(tags_b)):
        if tags_a.get(key) != tags_b.get(key):
            result.tags_changed[key] = (tags_a.get(key), tags_b.get(key))
    if a == b:
        return result
    query = (
        sa.select(
            *reads.RECORD_COLUMNS,
            dataset_records.c.valid_from,
            dataset_records.c.valid_to,
            dataset_records.c.content_hash,
        )
        .where(
            dataset_records.c.dataset_id == dataset_id,
            sa.or_(
                sa.and_(dataset_records.c.valid_from > a, dataset_records.c.valid_from <= b),
                sa.and_(dataset_records.c.valid_to > a, dataset_records.c.valid_to <= b),
            ),
        )
        .order_by(dataset_records.c.seq, dataset_records.c.valid_from)
    )
    rows = conn.execute(query).all()
    # Only the rows valid at a or at b matter (not the versions in between).
    at_a: dict[str, Any] = {}
    at_b: dict[str, Any] = {}
    for row in rows:
        if row_valid_at(row, a):
            at_a[row.record_id] = row
        if row_valid_at(row, b):
            at_b[row.record_id] = row
    wanted = list({id(r): r for r in [*at_a.values(), *at_b.values()]}.values())
    bodies = dict(zip(map(id, wanted), reads.decode_bodies(wanted), strict=True))
    sources: dict[Any, Any] = {}

    def record(row: Any) -> DatasetRecord:
        return record_from_row(dataset_id, row, bodies[id(row)], sources)

    for record_id in dict.fromkeys(r.record_id for r in rows):
        before, after = at_a.get(record_id), at_b.get(record_id)
        if before is None and after is not None:
            result.added.append(record(after))
        elif after is None and before is not None:
            result.removed.append(record(before))
        elif before is not None and after is not None and before.content_hash != after.content_hash:
            old, new = bodies[id(before)], bodies[id(after)]
            # inputs and the first source never change for a record id
            paths = changed_paths({k: old[k] for k in _MUTABLE}, {k: new[k] for k in _MUTABLE})
            if paths:
                result.changed.append(RecordChange(record_id, record(before), record(after), paths))
    return result


_MUTABLE = ("outputs", "expectations", "tags")


# -- one record's lineage, provenance ---------------------------------------------------


def record_history_frame(
    conn: sa.Connection, dataset_id: str, record_id: str, up_to: int | None = None
) -> pd.DataFrame:
    """Every change of one record: the version, who, when, the operation, before and after."""
    rows = conn.execute(
        sa.select(*reads.RECORD_COLUMNS, dataset_records.c.valid_from, dataset_records.c.valid_to)
        .where(dataset_records.c.dataset_id == dataset_id, dataset_records.c.record_id == record_id)
        .order_by(dataset_records.c.valid_from)
    ).all()
    if not rows:
        raise ResourceNotFound(f"dataset {dataset_id!r} has no record {record_id!r}")
    versions = {
        r.version: r
        for r in conn.execute(
            sa.select(dataset_versions).where(dataset_versions.c.dataset_id == dataset_id)
        ).all()
    }
    changes: list[tuple[int, Any, Any]] = []
    previous = None
    for row, body in zip(rows, reads.decode_bodies(rows), strict=True):
        after = content(record_from_row(dataset_id, row, body))
        if previous is not None and previous[0].valid_to != row.valid_from:
            changes.append((previous[0].valid_to, previous[1], None))  # deleted, later restored
            changes.append((row.valid_from, None, after))
        else:
            changes.append((row.valid_from, None if previous is None else previous[1], after))
        previous = (row, after)
    if previous is not None and previous[0].valid_to is not None:
        changes.append((previous[0].valid_to, previous[1], None))
    if up_to is not None:
        changes = [c for c in changes if c[0] <= up_to]
    return pd.DataFrame(
        {
            "version": [c[0] for c in changes],
            "timestamp": pd.to_datetime(
                [versions[c[0]].timestamp for c in changes], unit="ms", utc=True
            ),
            "user": pd.Series([versions[c[0]].user for c in changes], dtype=object),
            "operation": pd.Series([versions[c[0]].operation for c in changes], dtype=object),
            "before": pd.Series([c[1] for c in changes], dtype=object),
            "after": pd.Series([c[2] for c in changes], dtype=object),
        }
    )


def provenance_frame(records: list[DatasetRecord]) -> pd.DataFrame:
    """Counts of records by source type; for TRACE sources, the trace ids."""
    counts: dict[str, int] = {}
    traces: dict[str, list[str]] = {}
    for r in records:
        kind = r.source_type or "UNSPECIFIED"
        counts[kind] = counts.get(kind, 0) + 1
        if kind == "TRACE" and r.source_id:
            traces.setdefault(kind, []).append(r.source_id)
    kinds = sorted(counts)
    return pd.DataFrame(
        {
            "source_type": pd.Series(kinds, dtype=object),
            "num_records": [counts[k] for k in kinds],
            "trace_ids": pd.Series([sorted(set(traces.get(k, []))) for k in kinds], dtype=object),
        }
    )
