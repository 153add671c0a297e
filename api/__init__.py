"""evalledger: evaluation datasets for LLM applications on an event ledger.

The public API: MLflow's `mlflow.genai.datasets` surface on an event ledger."""

from importlib.metadata import PackageNotFoundError, version

from evalledger import errors
from evalledger.client import Client
from evalledger.datasets.dataset import EvaluationDataset
from evalledger.datasets.entities import DatasetRecord
from evalledger.datasets.records import DatasetRecordSource, DatasetRecordSourceType
from evalledger.experiments import Experiment
from evalledger.fluent import (
    add_dataset_to_experiments,
    create_dataset,
    create_experiment,
    delete_dataset,
    delete_dataset_tag,
    delete_trace_tag,
    get_dataset,
    get_experiment,
    get_experiment_by_name,
    get_trace,
    import_traces,
    log_expectation,
    log_feedback,
    log_trace,
    remove_dataset_from_experiments,
    search_datasets,
    search_experiments,
    search_traces,
    set_dataset_tags,
    set_trace_tag,
    undelete_dataset,
)
from evalledger.traces.entities import Assessment, Trace
from evalledger.tracking import get_tracking_uri, set_tracking_uri

try:
    __version__ = version("evalledger")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"

__all__ = [
    "Assessment",
    "Client",
    "DatasetRecord",
    "DatasetRecordSource",
    "DatasetRecordSourceType",
    "EvaluationDataset",
    "Experiment",
    "Trace",
    "__version__",
    "add_dataset_to_experiments",
    "create_dataset",
    "create_experiment",
    "delete_dataset",
    "delete_dataset_tag",
    "delete_trace_tag",
    "errors",
    "get_dataset",
    "get_experiment",
    "get_experiment_by_name",
    "get_trace",
    "get_tracking_uri",
    "import_traces",
    "log_expectation",
    "log_feedback",
    "log_trace",
    "remove_dataset_from_experiments",
    "search_datasets",
    "search_experiments",
    "search_traces",
    "set_dataset_tags",
    "set_trace_tag",
    "set_tracking_uri",
    "undelete_dataset",
]
