"""The request and response bodies of evalledger's own API (/api/evalledger/v1/), so that
/openapi.json documents every route. Times are epoch milliseconds."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

#: A version by number, or by label ("golden-v3").
VersionRef = StrictInt | StrictStr


class Request(BaseModel):
    """A request body: unknown fields are refused (they are typos)."""

    model_config = ConfigDict(extra="forbid")


# -- datasets ---------------------------------------------------------------------------


class DatasetSummary(BaseModel):
    dataset_id: str
    name: str
    version: int = Field(description="the version read (the latest, unless a snapshot)")
    digest: str
    num_records: int
    tags: dict[str, str] = {}
    experiment_ids: list[str] = []
    created_time: int
    created_by: str
    last_update_time: int
    last_updated_by: str
    deleted: bool = False
    deleted_time: int | None = None


class DatasetDetail(DatasetSummary):
    is_snapshot: bool = Field(description="true when a version, label or as_of was asked for")
    latest_version: int = Field(description="the dataset's newest version")
    schema_: dict[str, Any] | None = Field(
        alias="schema",
        description="field types of inputs, outputs and expectations (null with "
        "include_schema=false)",
    )
    profile: dict[str, Any] = Field(description="num_records and the count per source type")
    labels: dict[str, int] = Field({}, description="every label and the version it points to")


class DatasetList(BaseModel):
    datasets: list[DatasetSummary] = []
    next_page_token: str | None = None


class DatasetResponse(BaseModel):
    dataset: DatasetDetail


class DatasetSummaryResponse(BaseModel):
    dataset: DatasetSummary


# -- records ----------------------------------------------------------------------------


class RecordSource(BaseModel):
    source_type: str
    source_data: dict[str, Any] = {}


class RecordOut(BaseModel):
    dataset_record_id: str
    dataset_id: str
    inputs: dict[str, Any]
    outputs: Any = None
    expectations: dict[str, Any] = {}
    tags: dict[str, Any] = {}
    source: RecordSource | None = None
    source_id: str | None = None
    source_type: str | None = None
    created_time: int
    last_update_time: int
    created_by: str | None = None
    last_updated_by: str | None = None


class RecordsPage(BaseModel):
    dataset_id: str
    version: int = Field(description="the version these records belong to")
    records: list[RecordOut] = []
    next_page_token: str | None = None


class RecordResponse(BaseModel):
    dataset_id: str
    version: int
    record: RecordOut


class RecordContent(BaseModel):
    """What a record's digest covers."""

    inputs: dict[str, Any]
    outputs: Any = None
    expectations: dict[str, Any] = {}
    tags: dict[str, Any] = {}
    source: RecordSource | None = None


class RecordChangeOut(BaseModel):
    version: int
    timestamp: int
    user: str
    operation: str
    fields: list[str] = Field([], description="the JSON paths that changed (updates only)")
    before: RecordContent | None = Field(None, description="null when the record was added")
    after: RecordContent | None = Field(None, description="null when the record was deleted")


class RecordHistory(BaseModel):
    dataset_id: str
    record_id: str
    changes: list[RecordChangeOut]


# -- history, diff, restore -------------------------------------------------------------


class VersionOut(BaseModel):
    version: int
    timestamp: int
    user: str
    operation: str
    source_version: int | None = Field(None, description="for RESTORE: the version restored")
    records_added: int
    records_updated: int
    records_deleted: int
    num_records: int
    digest: str
    labels: list[str] = Field([], description="the labels that point to this version now")


class History(BaseModel):
    dataset_id: str
    name: str
    deleted: bool
    versions: list[VersionOut]


class FieldChange(BaseModel):
    path: str = Field(description="a dotted JSON path, e.g. expectations.expected_answer")
    before: Any = None
    after: Any = None


class ChangedRecord(BaseModel):
    record_id: str
    inputs: dict[str, Any]
    fields: list[FieldChange]
    before: RecordOut
    after: RecordOut


class TagChange(BaseModel):
    before: str | None = None
    after: str | None = None


class DiffOut(BaseModel):
    dataset_id: str
    from_version: int
    to_version: int
    num_added: int
    num_removed: int
    num_changed: int
    added: list[RecordOut] = []
    removed: list[RecordOut] = []
    changed: list[ChangedRecord] = []
    tags_changed: dict[str, TagChange] = {}
    truncated: bool = Field(
        False, description="true when a list holds only its first max_results entries"
    )


class RestoreRequest(Request):
    version: VersionRef = Field(description="the version to restore: a number or a label")


class RestoreResponse(BaseModel):
    dataset: DatasetSummary
    restored_from: int
    changed: bool = Field(description="false when the content already equalled that version's")


# -- labels, provenance, verify ---------------------------------------------------------


class Labels(BaseModel):
    dataset_id: str
    as_of: int | None = None
    labels: dict[str, int]


class LabelMove(BaseModel):
    label: str
    from_version: int | None = Field(None, description="null for the label's first use")
    to_version: int
    user: str
    timestamp: int


class LabelMoves(BaseModel):
    dataset_id: str
    moves: list[LabelMove]


class SetLabelRequest(Request):
    label: StrictStr
    version: VersionRef | None = Field(
        None, description="a number, or another label; default the latest version"
    )


class SetLabelResponse(BaseModel):
    dataset_id: str
    label: str
    version: int
    labels: dict[str, int]


class SourceCount(BaseModel):
    source_type: str
    num_records: int
    trace_ids: list[str] = []


class Provenance(BaseModel):
    dataset_id: str
    version: int
    num_records: int
    sources: list[SourceCount]


class VerifyReportOut(BaseModel):
    ok: bool
    events_checked: int
    head_position: int
    head_hash: str
    first_bad_position: int | None = None
    problems: list[str] = []
    projections_checked: bool = Field(
        description="whether the projections were compared with a fresh replay"
    )
    rows_compared: int | None = None
