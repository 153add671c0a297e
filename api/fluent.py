"""The module functions (`evalledger.create_dataset`, ...): each calls the default client,
the one for the current tracking URI and the default user (API.md §1)."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from evalledger.client import Client
from evalledger.datasets.dataset import EvaluationDataset
from evalledger.experiments import Experiment
from evalledger.query.paging import PagedList
from evalledger.traces.entities import Assessment, Trace
from evalledger.tracking import default_user, get_tracking_uri

_lock = threading.Lock()
_clients: dict[tuple[str, str], Client] = {}


def default_client() -> Client:
    """The client of the current tracking URI and default user (made once per pair)."""
    key = (get_tracking_uri(), default_user())
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.setdefault(key, Client(*key))
    return client


def forget_default_clients() -> None:
    """Drop the cached default clients (tests, and processes that fork)."""
    with _lock:
        _clients.clear()


def create_experiment(name: str, tags: dict[str, Any] | None = None) -> str:
    """Create an experiment; returns its id (a string of digits). Names are unique."""
    return default_client().create_experiment(name, tags)


def get_experiment(experiment_id: str) -> Experiment:
    """The experiment with this id (ResourceNotFound when missing)."""
    return default_client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    """The experiment with this name, None when there is none."""
    return default_client().get_experiment_by_name(name)


def search_experiments() -> list[Experiment]:
    """Every experiment, oldest first."""
    return default_client().search_experiments()


def create_dataset(
    name: str,
    experiment_id: str | list[str] | None = None,
    tags: dict[str, Any] | None = None,
) -> EvaluationDataset:
    """Create an empty dataset (version 0). Names are unique among live datasets."""
    return default_client().create_dataset(name, experiment_id, tags)


def get_dataset(
    name: str | None = None,
    dataset_id: str | None = None,
    *,
    version: int | str | None = None,
    as_of: datetime | int | None = None,
) -> EvaluationDataset:
    """The live dataset by name or id; with version/as_of, a read-only snapshot."""
    return default_client().get_dataset(name, dataset_id, version=version, as_of=as_of)


def search_datasets(
    experiment_ids: str | list[str] | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: list[str] | None = None,
    page_token: str | None = None,
    include_deleted: bool = False,
) -> PagedList:
    """Live datasets matching a filter, one page at a time (`.token` for the next);
    deleted ones too (read-only, with `deleted_time`) when `include_deleted`."""
    return default_client().search_datasets(
        experiment_ids, filter_string, max_results, order_by, page_token, include_deleted
    )


def delete_dataset(dataset_id: str | None = None, name: str | None = None) -> None:
    """Remove a dataset from every current view; its history stays readable."""
    default_client().delete_dataset(dataset_id, name)


def undelete_dataset(dataset_id: str) -> EvaluationDataset:
    """Bring a deleted dataset back (a new version) with the content it had when deleted."""
    return default_client().undelete_dataset(dataset_id)


def set_dataset_tags(dataset_id: str, tags: dict[str, Any]) -> None:
    """Set (add or overwrite) tags: one new dataset version (none when nothing changes)."""
    default_client().set_dataset_tags(dataset_id, tags)


def delete_dataset_tag(dataset_id: str, key: str) -> None:
    """Delete one tag: one new dataset version (none when the key is not there)."""
    default_client().delete_dataset_tag(dataset_id, key)


def add_dataset_to_experiments(
    dataset_id: str, experiment_ids: str | list[str]
) -> EvaluationDataset:
    """Link the dataset to more experiments: one new dataset version."""
    return default_client().add_dataset_to_experiments(dataset_id, experiment_ids)


def remove_dataset_from_experiments(
    dataset_id: str, experiment_ids: str | list[str]
) -> EvaluationDataset:
    """Unlink the dataset from experiments: one new dataset version."""
    return default_client().remove_dataset_from_experiments(dataset_id, experiment_ids)


def log_trace(inputs: Any, outputs: Any = None, **options: Any) -> Trace:
    """Record a finished trace (options as `Client.log_trace`); returns it."""
    return default_client().log_trace(inputs, outputs, **options)


def import_traces(source: Any, experiment_id: str | None = None) -> list[str]:
    """Import traces exported by MLflow (objects, JSON, or a .json/.jsonl file)."""
    return default_client().import_traces(source, experiment_id)


def get_trace(trace_id: str) -> Trace:
    """The trace with its current tags and assessments."""
    return default_client().get_trace(trace_id)


def search_traces(
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
    return default_client().search_traces(
        experiment_ids,
        filter_string,
        max_results,
        order_by,
        extract_fields,
        return_type=return_type,
    )


def set_trace_tag(trace_id: str, key: str, value: Any) -> None:
    """Set (add or overwrite) one tag of a trace."""
    default_client().set_trace_tag(trace_id, key, value)


def delete_trace_tag(trace_id: str, key: str) -> None:
    """Delete one tag of a trace."""
    default_client().delete_trace_tag(trace_id, key)


def log_expectation(
    trace_id: str,
    name: str,
    value: Any,
    source: Any = None,
    metadata: dict[str, Any] | None = None,
    span_id: str | None = None,
) -> Assessment:
    """Record the expected value `name` on a trace (a later one of that name wins)."""
    return default_client().log_expectation(trace_id, name, value, source, metadata, span_id)


def log_feedback(
    trace_id: str,
    name: str,
    value: Any,
    source: Any = None,
    rationale: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Assessment:
    """Record a feedback (a judgement) on a trace."""
    return default_client().log_feedback(trace_id, name, value, source, rationale, metadata)
