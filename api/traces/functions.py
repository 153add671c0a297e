"""Traces (API.md §7): log, import, read, search, tag and assess them, all on the ledger.

Every trace is a stream (stream id = trace id): TraceLogged carries the whole trace in
MLflow 3's ``Trace.to_json()`` shape, then TraceTagSet / TraceTagDeleted / AssessmentLogged
follow. The trace index (projections.traces_fold) holds what search filters and orders on;
the trace body is read from its TraceLogged event, which the index row points at.
"""

from evalledger.traces.annotations import (
    delete_trace_tag,
    log_expectation,
    log_feedback,
    set_trace_tag,
)
from evalledger.traces.importer import IMPORT_BATCH, import_traces
from evalledger.traces.log import log_trace
from evalledger.traces.reads import get_trace
from evalledger.traces.search import DF_COLUMNS, search_traces

__all__ = [
    "DF_COLUMNS",
    "IMPORT_BATCH",
    "delete_trace_tag",
    "get_trace",
    "import_traces",
    "log_expectation",
    "log_feedback",
    "log_trace",
    "search_traces",
    "set_trace_tag",
]
