"""EvaluationDataset: a handle on one dataset, live or a snapshot (API.md §4)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

import numpy as np
import orjson
import pandas as pd

from evalledger.datasets import commands, reads
from evalledger.datasets.entities import DatasetRecord, record_from_row, source_key
from evalledger.datasets.from_traces import records_from_any, with_current_expectations
from evalledger.datasets.history import (
    DatasetDiff,
    diff,
    history_frame,
    provenance_frame,
    record_history_frame,
)
from evalledger.datasets.labels import check_label, labels_at
from evalledger.datasets.records import (
    DatasetRecordSource,
    normalize_records,
    profile_json,
    schema_of,
    schema_of_bodies,
)
from evalledger.ledger import ReadOnlySnapshot, ResourceNotFound
from evalledger.ledger.memory import gc_paused
from evalledger.projections.records import source_id_of
from evalledger.projections.schema import dataset_records
from evalledger.session import Session
from evalledger.validation import check_id, check_int64, check_tags, to_ms

_FRAME_CHUNK = 20_000

#: to_df() columns, exactly MLflow's, in MLflow's order.
DF_COLUMNS = [
    "inputs",
    "outputs",
    "expectations",
    "tags",
    "source_type",
    "source_id",
    "source",
    "created_time",
    "dataset_record_id",
]


@dataclass(frozen=True)
class EvaluationDatasetVersion:
    """One version of a dataset, as MLflow's ``list_versions()`` gives it."""

    version: int
    created_at: datetime | None = None
    created_by: str | None = None
    operation: str | None = None


class EvaluationDataset:
    """A dataset, current (writable) or a read-only snapshot of one version."""

    def __init__(
        self, session: Session, view: reads.DatasetView, *, snapshot: bool = False
    ) -> None:
        self._session = session
        self._snapshot = snapshot
        self._records: list[DatasetRecord] | None = None
        self._schema: str | None = None
        self._load(view)

    def _load(self, view: reads.DatasetView) -> None:
        self._view = view
        self._records = None
        self._schema = None

    # -- attributes -------------------------------------------------------------------
    @property
    def dataset_id(self) -> str:
        return self._view.dataset_id

    @property
    def name(self) -> str:
        return self._view.name

    @property
    def version(self) -> int:
        return self._view.version

    @property
    def digest(self) -> str:
        return self._view.digest

    @property
    def created_time(self) -> int:
        return self._view.created_time

    @property
    def create_time(self) -> int:
        """Alias of created_time (as MLflow's)."""
        return self._view.created_time

    @property
    def last_update_time(self) -> int:
        return self._view.last_update_time

    @property
    def created_by(self) -> str:
        return self._view.created_by

    @property
    def last_updated_by(self) -> str:
        return self._view.last_updated_by

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._view.tags)

    @property
    def experiment_ids(self) -> list[str]:
        return list(self._view.experiment_ids)

    @property
    def is_snapshot(self) -> bool:
        return self._snapshot

    @property
    def is_deleted(self) -> bool:
        """True for a deleted dataset (from search_datasets(include_deleted=True))."""
        return self._view.deleted

    @property
    def deleted_time(self) -> int | None:
        """When the dataset was deleted (epoch ms); None for a live one."""
        # a deleted dataset's last commit is its deletion: nothing else writes to it
        return self._view.last_update_time if self._view.deleted else None

    @property
    def num_records(self) -> int:
        return self._view.num_records

    @property
    def profile(self) -> str:
        """JSON: num_records and the count of records per source type."""
        return profile_json(self._view.num_records, self._view.source_counts)

    @property
    def schema(self) -> str:
        """JSON: the field types of inputs, outputs and expectations over all records."""
        if self._schema is None:
            if self._records is not None:
                self._schema = schema_of(self._records)
            else:  # the bodies alone: no record objects are built
                with self._session.connect() as conn:
                    rows = reads.record_rows(
                        conn, self.dataset_id, self._record_version(), (dataset_records.c.body,)
                    )
                self._schema = schema_of_bodies(reads.decode_bodies(rows))
        return self._schema

    @property
    def records(self) -> list[DatasetRecord]:
        if self._records is None:
            self._records = self._read_records()
        return self._records

    def has_records(self) -> bool:
        """Whether the records are loaded (read), without loading them (as MLflow's)."""
        return self._records is not None

    def _record_version(self) -> int | None:
        return self._view.version if self._snapshot else None

    def _read_records(self) -> list[DatasetRecord]:
        with gc_paused():
            return self._decode_records()

    def _decode_records(self) -> list[DatasetRecord]:
        with self._session.connect() as conn:
            rows = reads.record_rows(conn, self.dataset_id, self._record_version())
        sources: dict[Any, Any] = {}
        return [
            record_from_row(self.dataset_id, row, body, sources)
            for row, body in zip(rows, reads.decode_bodies(rows), strict=True)
        ]

    def to_df(self) -> pd.DataFrame:
        """The records as a DataFrame with MLflow's columns, in creation order."""
        with gc_paused():
            return self._frame()

    def _frame(self) -> pd.DataFrame:
        chunks: list[list[Any]] = []
        sources: dict[Any, tuple[DatasetRecordSource, str | None]] = {}
        query = reads.records_query(self.dataset_id, self._record_version(), reads.FRAME_COLUMNS)
        with self._session.connect() as conn:
            result = conn.execution_options(yield_per=_FRAME_CHUNK).execute(query)
            for rows in result.partitions():
                # decoded chunk by chunk: the raw rows of a large dataset never all coexist
                chunks.append(_frame_columns(rows, reads.decode_bodies(rows), sources))
        return _frame_of(chunks)

    # -- writes -----------------------------------------------------------------------
    def _writable(self, action: str) -> None:
        if self._snapshot:
            raise ReadOnlySnapshot(
                f"dataset {self.name!r} version {self.version} is a read-only snapshot: "
                f"{action} on the current dataset (get_dataset without version/as_of)"
            )
        if self._view.deleted:
            raise ResourceNotFound(
                f"dataset {self.name!r} ({self.dataset_id}) is deleted, so this handle is "
                f"read-only: undelete_dataset({self.dataset_id!r}) first, then {action}"
            )

    def _refresh(self) -> None:
        with self._session.connect() as conn:
            view = reads.current(conn, dataset_id=self.dataset_id, include_deleted=True)
        if view is not None:
            self._load(view)

    def merge_records(self, records: Any) -> EvaluationDataset:
        """Merge records (dicts, a DataFrame, traces, a dataset: ours or MLflow's); one
        atomic commit. Records from traces in the ledger carry their current expectations.
        Returns self."""
        self._writable("merge_records")
        if isinstance(records, EvaluationDataset):
            records = records.records
        incoming = normalize_records(records_from_any(records))
        incoming = with_current_expectations(incoming, self._session)
        commands.merge(self._session, self.dataset_id, incoming)
        self._refresh()
        return self

    def delete_records(self, record_ids: list[str]) -> int:
        """Delete records by id; returns how many were deleted."""
        self._writable("delete_records")
        count = commands.delete_records(
            self._session, self.dataset_id, commands.check_record_ids(record_ids)
        )
        self._refresh()
        return count

    def set_tags(self, tags: dict[str, Any]) -> EvaluationDataset:
        """Set (add or overwrite) tags: one new version (none when nothing changes)."""
        self._writable("set_tags")
        commands.set_tags(self._session, self.dataset_id, check_tags(tags))
        self._refresh()
        return self

    # -- history ----------------------------------------------------------------------
    def _upper(self) -> int | None:
        return self._view.version if self._snapshot else None

    def history(self) -> pd.DataFrame:
        """One row per version: version, timestamp (UTC), user, operation, counts, digest."""

        with self._session.connect() as conn:
            return history_frame(conn, self.dataset_id, self._upper())

    def diff(self, from_version: int, to_version: int | None = None) -> DatasetDiff:
        """Records added, removed and changed (with the JSON paths) between two versions."""

        from_version = check_int64(from_version, "from_version")
        if to_version is not None:
            to_version = check_int64(to_version, "to_version")
        with self._session.connect() as conn:
            latest = self._upper()
            if latest is None:
                view = reads.current(conn, dataset_id=self.dataset_id, include_deleted=True)
                latest = self.version if view is None else view.version
            target = latest if to_version is None else to_version
            if self._snapshot and max(from_version, target) > latest:
                raise ResourceNotFound(
                    f"snapshot at version {latest} cannot see version {max(from_version, target)}"
                )
            return diff(conn, self.dataset_id, from_version, target)

    def restore(self, version: int) -> EvaluationDataset:
        """Make a new version whose content equals `version`'s. Nothing is erased."""
        self._writable("restore")
        version = check_int64(version, "version")
        commands.restore(self._session, self.dataset_id, version)
        self._refresh()
        return self

    def label_version(self, label: str, version: int | None = None) -> int:
        """Point a label (e.g. "golden-v3") at a version, default the latest; returns it."""

        self._writable("label_version")
        if version is not None:
            version = check_int64(version, "version")
        return commands.label(self._session, self.dataset_id, check_label(label), version)

    def version_labels(self, as_of: Any = None) -> dict[str, int]:
        """Which version each label points to now, or pointed to at an instant."""

        at = None if as_of is None else to_ms(as_of)
        if self._snapshot:
            at = self.last_update_time if at is None else min(at, self.last_update_time)
        with self._session.connect() as conn:
            return labels_at(conn, self.dataset_id, at)

    def record_history(self, record_id: str) -> pd.DataFrame:
        """Every change of one record: version, timestamp, user, operation, before, after."""

        record_id = check_id(record_id, "record_id")
        with self._session.connect() as conn:
            return record_history_frame(conn, self.dataset_id, record_id, self._upper())

    def provenance(self) -> pd.DataFrame:
        """Counts of records by source type, with the trace ids of TRACE records."""

        return provenance_frame(self.records)

    def list_versions(self) -> list[EvaluationDatasetVersion]:
        """Every version, oldest first: version, created_at (UTC), created_by, operation.
        (MLflow answers this for Databricks datasets only.)"""
        frame = self.history()
        return [
            EvaluationDatasetVersion(int(version), at.to_pydatetime(), user, operation)
            for version, at, user, operation in zip(
                frame["version"], frame["timestamp"], frame["user"], frame["operation"], strict=True
            )
        ]

    # -- MLflow's serialized form -----------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """MLflow's dict form (``mlflow.genai.datasets.EvaluationDataset.from_dict`` reads
        it), records included."""
        return {
            "name": self.name,
            "digest": self.digest,
            "dataset_id": self.dataset_id,
            "tags": self.tags,
            "schema": self.schema,
            "profile": self.profile,
            "created_time": self.created_time,
            "last_update_time": self.last_update_time,
            "created_by": self.created_by,
            "last_updated_by": self.last_updated_by,
            "experiment_ids": self.experiment_ids,
            "version": self.version,
            "records": [record.to_dict() for record in self.records],
        }

    def to_json(self) -> str:
        """to_dict() as a JSON string."""
        return orjson.dumps(self.to_dict()).decode()

    def __repr__(self) -> str:
        kind = "snapshot " if self._snapshot else "deleted " if self._view.deleted else ""
        return (
            f"<EvaluationDataset {kind}{self.name!r} id={self.dataset_id} version={self.version} "
            f"records={self.num_records}>"
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, EvaluationDataset)
            and self.dataset_id == other.dataset_id
            and self.version == other.version
            and self._snapshot == other._snapshot
        )

    def __hash__(self) -> int:
        return hash((self.dataset_id, self.version))


#: The order _frame_columns builds the columns in: DF_COLUMNS but created_time last.
_FRAME_ORDER = [name for name in DF_COLUMNS if name != "created_time"] + ["created_time"]


def _frame_of(chunks: list[list[Any]]) -> pd.DataFrame:
    """The DataFrame of the chunks' columns, filled into one object block and one int64
    column: no per-column Series, no consolidating copy, no reordering copy (at a million
    records each of those held another copy of every reference)."""
    count = sum(len(chunk[0]) for chunk in chunks)
    objects = np.empty((count, len(_FRAME_ORDER) - 1), dtype=object)
    created = np.empty(count, dtype="int64")
    start = 0
    for chunk in chunks:
        stop = start + len(chunk[0])
        for j, column in enumerate(chunk[:-1]):
            # fromiter keeps each value one object (a slice assignment would read equal-length
            # lists as rows of a 2D array)
            objects[start:stop, j] = np.fromiter(column, dtype=object, count=stop - start)
        created[start:stop] = chunk[-1]
        start = stop
    chunks.clear()
    frame = pd.DataFrame(objects, columns=_FRAME_ORDER[:-1], dtype=object, copy=False)
    frame.insert(DF_COLUMNS.index("created_time"), "created_time", created)
    return frame


_BODY_PARTS = itemgetter("inputs", "outputs", "expectations", "tags", "source")


def _frame_columns(
    rows: Sequence[Any],
    bodies: list[dict[str, Any]],
    sources: dict[Any, tuple[DatasetRecordSource, str | None]],
) -> list[Any]:
    """One chunk's columns, in _FRAME_ORDER: transposed in C (zip, itemgetter), with one
    Python step per record only for the source (parsed once per distinct source)."""
    inputs, outputs, expectations, tags, raw_sources = zip(*map(_BODY_PARTS, bodies), strict=True)
    parsed = [_frame_source(src, sources) for src in raw_sources]
    record_ids, _, source_types, created_times = zip(*rows, strict=True)
    by_name = {
        "inputs": inputs,
        "outputs": outputs,
        "expectations": expectations,
        "tags": tags,
        "source": [pair[0] for pair in parsed],
        "source_id": [pair[1] for pair in parsed],
        "dataset_record_id": record_ids,
        "source_type": source_types,
        "created_time": created_times,
    }
    return [by_name[name] for name in _FRAME_ORDER]


def _frame_source(
    src: dict[str, Any], cache: dict[Any, tuple[DatasetRecordSource, str | None]]
) -> tuple[DatasetRecordSource, str | None]:
    """A stored source as (DatasetRecordSource, its source id), parsed once per distinct
    source: most records of a dataset share a handful."""
    key = source_key(src)
    found = cache.get(key)
    if found is None:
        found = cache[key] = (DatasetRecordSource.from_dict(src), source_id_of(src))
    return found
