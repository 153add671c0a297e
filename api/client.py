"""Client: one ledger and one acting user, with every public function as a method."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from evalledger import experiments
from evalledger.datasets import functions as datasets
from evalledger.datasets.dataset import EvaluationDataset
from evalledger.datasets.search import search_datasets
from evalledger.experiments import Experiment
from evalledger.ledger import EventStore, normalize_url
from evalledger.ledger.writer_lock import LOCK_TIMEOUT_OPTION
from evalledger.ledger.writer_lock import lock_timeout_s as lock_timeout
from evalledger.query.paging import PagedList
from evalledger.session import Session
from evalledger.stores import open_store
from evalledger.traces import functions as traces
from evalledger.traces.entities import Assessment, Trace
from evalledger.tracking import default_user, get_tracking_uri
from evalledger.validation import check_user


class Client:
    """The ledger at `tracking_uri` (default: the current tracking URI, API.md §1), acting
    as `user` (default: EVALLEDGER_USER, else the OS user name).

    The database is opened, and upgraded when behind, on the first call that needs it;
    with `create=False` it must already hold a ledger (read-only tools: nothing is created).
    Every event a client writes records its user. A write waits for the writer lock at
    most `lock_timeout_s` (default: EVALLEDGER_LOCK_TIMEOUT_S, else 30 s), then raises
    ConcurrencyConflict naming what holds the lock.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        user: str | None = None,
        *,
        create: bool = True,
        lock_timeout_s: float | None = None,
    ) -> None:
        uri = tracking_uri if tracking_uri is not None else get_tracking_uri()
        normalize_url(uri)
        self._uri = str(uri)
        self._user = check_user(default_user() if user is None else user)
        self._create = create
        self._lock_timeout_s = None if lock_timeout_s is None else lock_timeout(lock_timeout_s)
        self._session: Session | None = None

    @property
    def tracking_uri(self) -> str:
        return self._uri

    @property
    def user(self) -> str:
        return self._user

    @property
    def session(self) -> Session:
        """The migrated store and the acting user (opened on first use)."""
        if self._session is None:
            store = open_store(self._uri, self._user, create=self._create)
            if self._lock_timeout_s is not None:  # the shared engine, with this client's wait
                engine = store.engine.execution_options(
                    **{LOCK_TIMEOUT_OPTION: self._lock_timeout_s}
                )
                store = EventStore(engine, store.registry)
            self._session = Session(store, self._user)
        return self._session

    @property
    def store(self) -> EventStore:
        return self.session.store

    def __repr__(self) -> str:
        return f"Client(tracking_uri={self._uri!r}, user={self._user!r})"

    # -- experiments (API.md §2) ----------------------------------------------------------
    def create_experiment(self, name: str, tags: dict[str, Any] | None = None) -> str:
        """Create an experiment; returns its id (a string of digits). Names are unique."""
        return experiments.create_experiment(self.session, name, tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment with this id (ResourceNotFound when missing)."""
        return experiments.get_experiment(self.session, experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment with this name, None when there is none."""
        return experiments.get_experiment_by_name(self.session, name)

    def search_experiments(self) -> list[Experiment]:
        """Every experiment, oldest first."""
        return experiments.search_experiments(self.session)

    # -- datasets (API.md §3) -------------------------------------------------------------
    def create_dataset(
        self,
        name: str,
        experiment_id: str | list[str] | None = None,
        tags: dict[str, Any] | None = None,
    ) -> EvaluationDataset:
        """Create an empty dataset (version 0). Names are unique among live datasets."""
        return datasets.create_dataset(self.session, name, experiment_id, tags)

    def get_dataset(
        self,
        name: str | None = None,
        dataset_id: str | None = None,
        *,
        version: int | str | None = None,
        as_of: datetime | int | None = None,
    ) -> EvaluationDataset:
        """The live dataset by name or id; with version/as_of, a read-only snapshot."""
        return datasets.get_dataset(self.session, name, dataset_id, version=version, as_of=as_of)

    def search_datasets(
        self,
        experiment_ids: str | list[str] | None = None,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
        include_deleted: bool = False,
    ) -> PagedList:
        """Live datasets matching a filter, one page at a time (`.token` for the next);
        deleted ones too (read-only, with `deleted_time`) when `include_deleted`."""
        return search_datasets(
            self.session,
            experiment_ids,
            filter_string,
            max_results,
            order_by,
            page_token,
            include_deleted,
        )

    def delete_dataset(self, dataset_id: str | None = None, name: str | None = None) -> None:
        """Remove a dataset from every current view; its history stays readable."""
        datasets.delete_dataset(self.session, dataset_id, name)

    def undelete_dataset(self, dataset_id: str) -> EvaluationDataset:
        """Bring a deleted dataset back (a new version) with the content it had when deleted."""
        return datasets.undelete_dataset(self.session, dataset_id)

    def set_dataset_tags(self, dataset_id: str, tags: dict[str, Any]) -> None:
        """Set (add or overwrite) tags: one new dataset version (none when nothing changes)."""
        datasets.set_dataset_tags(self.session, dataset_id, tags)

    def delete_dataset_tag(self, dataset_id: str, key: str) -> None:
        """Delete one tag: one new dataset version (none when the key is not there)."""
        datasets.delete_dataset_tag(self.session, dataset_id, key)

    def add_dataset_to_experiments(
        self, dataset_id: str, experiment_ids: str | list[str]
    ) -> EvaluationDataset:
        """Link the dataset to more experiments: one new dataset version."""
        return datasets.add_dataset_to_experiments(self.session, dataset_id, experiment_ids)

    def remove_dataset_from_experiments(
        self, dataset_id: str, experiment_ids: str | list[str]
    ) -> EvaluationDataset:
        """Unlink the dataset from experiments: one new dataset version."""
        return datasets.remove_dataset_from_experiments(self.session, dataset_id, experiment_ids)

    # -- traces (API.md §7) ---------------------------------------------------------------
    def log_trace(
        self,
        inputs: Any,
        outputs: Any = None,
        *,
        name: str = "root",
        experiment_id: str | None = None,
        tags: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        status: str = "OK",
        timestamp_ms: int | None = None,
        execution_time_ms: int | None = None,
        spans: list[dict[str, Any]] | None = None,
        trace_id: str | None = None,
    ) -> Trace:
        """Record a finished trace; returns it as get_trace would."""
        return traces.log_trace(
            self.session,
            inputs,
            outputs,
            name=name,
            experiment_id=experiment_id,
            tags=tags,
            metadata=metadata,
            status=status,
            timestamp_ms=timestamp_ms,
            execution_time_ms=execution_time_ms,
            spans=spans,
            trace_id=trace_id,
        )

    def import_traces(self, source: Any, experiment_id: str | None = None) -> list[str]:
        """Import traces exported by MLflow (objects, JSON, or a .json/.jsonl file)."""
        return traces.import_traces(self.session, source, experiment_id)

    def get_trace(self, trace_id: str) -> Trace:
        """The trace with its current tags and assessments."""
        return traces.get_trace(self.session, trace_id)

    def search_traces(
        self,
        experiment_ids: str | list[str] | None = None,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: list[str] | None = None,
        extract_fields: list[str] | None = None,
        *,
        return_type: str = "pandas",
    ) -> Any:
        """Traces matching a filter: a DataFrame with MLflow's columns, or a list.
        Positional arguments in MLflow's order; return_type is keyword-only."""
        return traces.search_traces(
            self.session,
            experiment_ids,
            filter_string,
            max_results,
            order_by,
            extract_fields,
            return_type=return_type,
        )

    def set_trace_tag(self, trace_id: str, key: str, value: Any) -> None:
        """Set (add or overwrite) one tag of a trace."""
        traces.set_trace_tag(self.session, trace_id, key, value)

    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        """Delete one tag of a trace."""
        traces.delete_trace_tag(self.session, trace_id, key)

    def log_expectation(
        self,
        trace_id: str,
        name: str,
        value: Any,
        source: Any = None,
        metadata: dict[str, Any] | None = None,
        span_id: str | None = None,
    ) -> Assessment:
        """Record the expected value `name` on a trace (a later one of that name wins)."""
        return traces.log_expectation(
            self.session, trace_id, name, value, source, metadata, span_id
        )

    def log_feedback(
        self,
        trace_id: str,
        name: str,
        value: Any,
        source: Any = None,
        rationale: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Assessment:
        """Record a feedback (a judgement) on a trace."""
        return traces.log_feedback(self.session, trace_id, name, value, source, rationale, metadata)
