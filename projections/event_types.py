"""The names of the events the projections understand, and their streams."""

from __future__ import annotations

#: Experiment "0", named "Default", always exists; traces and datasets without one go there.
DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"

EXPERIMENT_STREAM = "experiment"
DATASET_STREAM = "dataset"

EXPERIMENT_CREATED = "ExperimentCreated"

DATASET_CREATED = "DatasetCreated"
DATASET_TAGS_SET = "DatasetTagsSet"
DATASET_TAG_DELETED = "DatasetTagDeleted"
DATASET_EXPERIMENTS_LINKED = "DatasetExperimentsLinked"
DATASET_EXPERIMENTS_UNLINKED = "DatasetExperimentsUnlinked"
DATASET_RECORDS_MERGED = "DatasetRecordsMerged"
DATASET_RECORDS_DELETED = "DatasetRecordsDeleted"
DATASET_DELETED = "DatasetDeleted"
DATASET_RESTORED = "DatasetRestored"

#: Labels live on their own stream per dataset: moving a label makes no dataset version.
LABEL_STREAM = "dataset_labels"
VERSION_LABELED = "DatasetVersionLabeled"

#: The history() operation name of each dataset event type.
OPERATIONS = {
    DATASET_CREATED: "CREATE",
    DATASET_TAGS_SET: "SET_TAGS",
    DATASET_TAG_DELETED: "DELETE_TAG",
    DATASET_EXPERIMENTS_LINKED: "LINK_EXPERIMENTS",
    DATASET_EXPERIMENTS_UNLINKED: "UNLINK_EXPERIMENTS",
    DATASET_RECORDS_MERGED: "MERGE",
    DATASET_RECORDS_DELETED: "DELETE_RECORDS",
    DATASET_DELETED: "DELETE",
    DATASET_RESTORED: "RESTORE",
}


def experiment_stream_id(experiment_id: str) -> str:
    return f"experiment-{experiment_id}"


def label_stream_id(dataset_id: str) -> str:
    return f"labels-{dataset_id}"


#: One stream per trace (stream id = trace id): the trace itself, then its tags and
#: assessments.
TRACE_STREAM = "trace"
TRACE_LOGGED = "TraceLogged"
TRACE_TAG_SET = "TraceTagSet"
TRACE_TAG_DELETED = "TraceTagDeleted"
ASSESSMENT_LOGGED = "AssessmentLogged"
