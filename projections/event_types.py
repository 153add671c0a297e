"""Every event the projections understand, declared once: its name, its stream, the fields
of its payload and its schema version. Writers build events from these declarations
(`DATASET_CREATED.new({...})`) and the fold dispatches on them, so the two cannot drift."""

from __future__ import annotations

from typing import Any

from evalledger.ledger import NewEvent, checkpoints

#: Experiment "0", named "Default", always exists; traces and datasets without one go there.
DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"

EXPERIMENT_STREAM = "experiment"
DATASET_STREAM = "dataset"
#: Labels live on their own stream per dataset: moving a label makes no dataset version.
LABEL_STREAM = "dataset_labels"
#: One stream per trace (stream id = trace id): the trace itself, then its tags and
#: assessments.
TRACE_STREAM = "trace"
#: One stream per server user (stream id ``user-<name>``): who added, changed or revoked
#: them, and every grant, is part of the audit trail (API.md §10).
USER_STREAM = "user"
#: The ledger's own stream (stream id ``ledger-checkpoints``): signed checkpoints (API.md
#: §12). No projection folds it; rebuild and the projection check pass over it.
LEDGER_STREAM = checkpoints.STREAM_TYPE


class EventType(str):
    """An event type's name (a str, as the ledger stores it) and its payload's declaration."""

    stream_type: str
    fields: frozenset[str]
    optional: frozenset[str]
    schema_version: int

    def __new__(
        cls,
        name: str,
        stream_type: str,
        fields: tuple[str, ...],
        optional: tuple[str, ...] = (),
        schema_version: int = 1,
    ) -> EventType:
        self = super().__new__(cls, name)
        self.stream_type = stream_type
        self.fields = frozenset(fields)
        self.optional = frozenset(optional)
        self.schema_version = schema_version
        return self

    def new(
        self, payload: dict[str, Any], *, checked: bool = False, encoded: bytes | None = None
    ) -> NewEvent:
        """An event of this type; the payload must have exactly the declared fields.
        `encoded` is its canonical JSON, when the caller made it (see NewEvent)."""
        keys = payload.keys()
        if not self.fields <= keys or not keys <= self.fields | self.optional:
            missing = sorted(self.fields - keys)
            unknown = sorted(keys - self.fields - self.optional)
            raise TypeError(f"{self} payload: missing {missing}, unknown {unknown}")
        return NewEvent(
            str(self),
            payload,
            schema_version=self.schema_version,
            checked=checked or encoded is not None,
            encoded=encoded,
        )


EXPERIMENT_CREATED = EventType(
    "ExperimentCreated", EXPERIMENT_STREAM, ("experiment_id", "name", "tags")
)

# Dataset events: every payload names the dataset version its commit makes.
DATASET_CREATED = EventType(
    "DatasetCreated", DATASET_STREAM, ("dataset_version", "name", "experiment_ids", "tags")
)
DATASET_TAGS_SET = EventType("DatasetTagsSet", DATASET_STREAM, ("dataset_version", "tags"))
DATASET_TAG_DELETED = EventType("DatasetTagDeleted", DATASET_STREAM, ("dataset_version", "key"))
DATASET_EXPERIMENTS_LINKED = EventType(
    "DatasetExperimentsLinked", DATASET_STREAM, ("dataset_version", "experiment_ids")
)
DATASET_EXPERIMENTS_UNLINKED = EventType(
    "DatasetExperimentsUnlinked", DATASET_STREAM, ("dataset_version", "experiment_ids")
)
#: `added` and `updated` hold whole record states (see projections.records.record_row).
DATASET_RECORDS_MERGED = EventType(
    "DatasetRecordsMerged", DATASET_STREAM, ("dataset_version", "added", "updated")
)
DATASET_RECORDS_DELETED = EventType(
    "DatasetRecordsDeleted", DATASET_STREAM, ("dataset_version", "record_ids")
)
DATASET_DELETED = EventType("DatasetDeleted", DATASET_STREAM, ("dataset_version",))
#: A deleted dataset back in the current views, with the content it had when deleted.
DATASET_UNDELETED = EventType("DatasetUndeleted", DATASET_STREAM, ("dataset_version",))
DATASET_RESTORED = EventType(
    "DatasetRestored",
    DATASET_STREAM,
    (
        "dataset_version",
        "detail",
        "deleted_record_ids",
        "tags_set",
        "tags_deleted",
        "added",
        "updated",
    ),
)

VERSION_LABELED = EventType(
    "DatasetVersionLabeled", LABEL_STREAM, ("dataset_id", "label", "version")
)

#: `trace` is the whole trace in MLflow 3's ``Trace.to_json()`` shape.
TRACE_LOGGED = EventType("TraceLogged", TRACE_STREAM, ("trace",))
TRACE_TAG_SET = EventType("TraceTagSet", TRACE_STREAM, ("key", "value"))
TRACE_TAG_DELETED = EventType("TraceTagDeleted", TRACE_STREAM, ("key",))
ASSESSMENT_LOGGED = EventType("AssessmentLogged", TRACE_STREAM, ("assessment",))
#: Spans that reached the server after their trace was logged: `trace` is the whole trace
#: with them merged in (it replaces the body the index points at), `span_ids` the new ones.
TRACE_SPANS_ADDED = EventType("TraceSpansAdded", TRACE_STREAM, ("trace", "span_ids"))

#: Secrets appear only as salted slow hashes; `token_id` is the public half of a token.
USER_ADDED = EventType(
    "UserAdded", USER_STREAM, ("name", "role", "password_hash", "token_id", "token_hash")
)
USER_ROLE_SET = EventType("UserRoleSet", USER_STREAM, ("name", "role"))
USER_CREDENTIALS_SET = EventType(
    "UserCredentialsSet", USER_STREAM, ("name", "password_hash", "token_id", "token_hash")
)
USER_REVOKED = EventType("UserRevoked", USER_STREAM, ("name",))
#: `permission` is read, edit, manage, or none (the grant withdrawn).
PERMISSION_GRANTED = EventType(
    "PermissionGranted", USER_STREAM, ("name", "experiment_id", "permission")
)

#: A signed checkpoint of the head (position, hash, time); see evalledger.ledger.checkpoints.
CHECKPOINT_SIGNED = EventType(
    checkpoints.EVENT_TYPE,
    LEDGER_STREAM,
    checkpoints.PAYLOAD_FIELDS,
    schema_version=checkpoints.SCHEMA_VERSION,
)

EVENT_TYPES = (
    EXPERIMENT_CREATED,
    DATASET_CREATED,
    DATASET_TAGS_SET,
    DATASET_TAG_DELETED,
    DATASET_EXPERIMENTS_LINKED,
    DATASET_EXPERIMENTS_UNLINKED,
    DATASET_RECORDS_MERGED,
    DATASET_RECORDS_DELETED,
    DATASET_DELETED,
    DATASET_UNDELETED,
    DATASET_RESTORED,
    VERSION_LABELED,
    TRACE_LOGGED,
    TRACE_TAG_SET,
    TRACE_TAG_DELETED,
    ASSESSMENT_LOGGED,
    TRACE_SPANS_ADDED,
    USER_ADDED,
    USER_ROLE_SET,
    USER_CREDENTIALS_SET,
    USER_REVOKED,
    PERMISSION_GRANTED,
    CHECKPOINT_SIGNED,
)

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
    DATASET_UNDELETED: "UNDELETE",
    DATASET_RESTORED: "RESTORE",
}


def experiment_stream_id(experiment_id: str) -> str:
    return f"experiment-{experiment_id}"


def user_stream_id(name: str) -> str:
    return f"user-{name}"


def label_stream_id(dataset_id: str) -> str:
    return f"labels-{dataset_id}"
