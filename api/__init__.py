"""evalledger's public API: MLflow's `mlflow.genai.datasets` surface on an event ledger."""

from . import errors
from .dataset_search import search_datasets
from .datasets import (
    add_dataset_to_experiments,
    create_dataset,
    delete_dataset,
    delete_dataset_tag,
    get_dataset,
    remove_dataset_from_experiments,
    set_dataset_tags,
)
from .evaluation_dataset import DatasetRecord, EvaluationDataset
from .experiments import (
    Experiment,
    create_experiment,
    get_experiment,
    get_experiment_by_name,
    search_experiments,
)
from .records import DatasetRecordSource, DatasetRecordSourceType
from .trace_entities import Assessment, Trace
from .traces import (
    delete_trace_tag,
    get_trace,
    import_traces,
    log_expectation,
    log_feedback,
    log_trace,
    search_traces,
    set_trace_tag,
)
from .tracking import get_tracking_uri, set_tracking_uri

__all__ = [
    "Assessment",
    "DatasetRecord",
    "DatasetRecordSource",
    "DatasetRecordSourceType",
    "EvaluationDataset",
    "Experiment",
    "Trace",
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
]
