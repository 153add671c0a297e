"""The trace flows of the demo: import MLflow traces, curate them, build a dataset, analyse.

``run_trace_demo(client)`` runs on a client's ledger and prints each step. It reads the 30
MLflow traces that ship with the package (``evalledger/demo/data/mlflow_traces.jsonl``), or
a file given instead, and says so, writing nothing, when that file is missing. Running it
again works: the import skips traces already in the ledger, the dataset is reused, and
merging the same traces again adds and changes nothing.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from evalledger import errors
from evalledger.client import Client
from evalledger.demo.output import heading, say, short
from evalledger.traces.entities import Trace

DATASET_NAME = "support_bot_production_cases"
FIXTURE = Path(str(resources.files("evalledger.demo") / "data" / "mlflow_traces.jsonl"))
PRODUCTION_CHATS = "tags.environment = 'production' AND attributes.name = 'chat_completion'"
TOKENS = "span.attributes.usage.total_tokens"
QUALITY = "tag.quality_score"


def run_trace_demo(client: Client, fixture: Path | None = None) -> None:
    """Import the fixture traces, label the production ones, turn them into a dataset, and
    correlate token usage with quality."""
    path = fixture or FIXTURE
    say(f"tracking URI: {client.tracking_uri}")
    heading("1. import MLflow traces")
    if not path.is_file():
        say(f"the trace fixture is missing ({path}); skipping the trace flows")
        return
    before = len(client.search_traces(return_type="list"))
    trace_ids = client.import_traces(path)
    after = len(client.search_traces(return_type="list"))
    say(
        f"{path.name}: {len(trace_ids)} traces, {after - before} new "
        f"(traces already in the ledger are skipped); {after} traces in the ledger"
    )

    heading("2. search production chat_completion traces, newest first")
    say(f"filter: {PRODUCTION_CHATS}")
    found = client.search_traces(
        filter_string=PRODUCTION_CHATS, order_by=["attributes.timestamp_ms DESC"]
    )
    say(f"{len(found)} traces")
    for row in found.head(5).itertuples(index=False):
        question = row.request.get("question") if isinstance(row.request, dict) else row.request
        say(f"  {row.trace_id}  {row.request_time}  {short(question)}")
    if len(found) > 5:
        say(f"  ... and {len(found) - 5} more")

    heading("3. log the expected answer on each")
    for row in found.itertuples(index=False):
        answer = row.response.get("answer") if isinstance(row.response, dict) else row.response
        topic = str(answer or "").removeprefix("Answer about ")
        client.log_expectation(
            row.trace_id,
            "expected_answer",
            f"Correct answer about {topic}",
            source={"source_type": "HUMAN", "source_id": "demo-reviewer@example.com"},
        )
    say(f"logged expected_answer on {len(found)} traces (a later one overrides an earlier one)")

    heading(f"4. merge them into the dataset {DATASET_NAME!r}")
    experiment_id = _experiment_of(found)
    try:
        ds = client.create_dataset(DATASET_NAME, experiment_id=experiment_id)
        say(f"created {DATASET_NAME!r} ({ds.dataset_id}) in experiment {experiment_id}")
    except errors.ResourceAlreadyExists:
        ds = client.get_dataset(name=DATASET_NAME)
        say(f"{DATASET_NAME!r} exists from a previous run ({ds.dataset_id}): reusing it")
    labelled = client.search_traces(
        filter_string=PRODUCTION_CHATS, order_by=["attributes.timestamp_ms DESC"]
    )
    version, count, digest = ds.version, ds.num_records, ds.digest
    ds.merge_records(labelled)
    history = ds.history().iloc[-1]
    added, updated = (
        (0, 0) if ds.version == version else (history.records_added, history.records_updated)
    )
    say(
        f"merged {len(labelled)} traces: {added} added, {updated} updated; "
        f"version {version} -> {ds.version}, {count} -> {ds.num_records} records"
    )
    say(f"digest {'unchanged' if ds.digest == digest else 'now'} {ds.digest}")
    sample = ds.to_df().iloc[0]
    say(f"  e.g. inputs {short(sample.inputs, 70)}")
    say(
        f"       expectations {sample.expectations}, source {sample.source_type} {sample.source_id}"
    )

    heading("5. quality analysis: token usage vs quality_score")
    frame = client.search_traces(experiment_ids=[experiment_id], extract_fields=[TOKENS, QUALITY])
    tokens = pd.to_numeric(frame[TOKENS], errors="coerce")
    quality = pd.to_numeric(frame[QUALITY], errors="coerce")
    say(f"{len(frame)} traces; mean tokens {tokens.mean():.0f}, mean quality {quality.mean():.2f}")
    say(f"correlation(total_tokens, quality_score) = {tokens.corr(quality):+.3f}")
    say()
    say(f"trace demo done: dataset {ds.name} version {ds.version}, {ds.num_records} records")


def _experiment_of(found: Any) -> str:
    """The experiment of the first trace found (Default when none was found)."""
    if not len(found):
        return "0"
    return Trace.from_json(found.iloc[0]["trace"]).info.experiment_id
