"""`evalledger demo`: the seed flows of MLflow's evaluation-dataset docs, end to end.

Runs on a client's ledger (default: the current tracking URI, ``sqlite:///evalledger.db``
unless set) and prints each step.
Running it again works: the dataset is reused and the merges dedupe on inputs, so the record
count stays the same, and since every write of the second run would change nothing, it makes
no new version either.

``run_demo()`` is a sequence of small steps, each taking and returning a ``DemoState``;
append more (trace flows, history, ...) to ``STEPS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from evalledger import errors
from evalledger.client import Client
from evalledger.datasets.dataset import EvaluationDataset
from evalledger.demo.output import heading, say
from evalledger.demo.traces import run_trace_demo
from evalledger.text import clip_json

DATASET_NAME = "customer_support_qa"
EXPERIMENT_ID = "0"
CELL_WIDTH = 48


@dataclass
class DemoState:
    """What the steps share: the dataset being built, and anything later steps need."""

    client: Client
    dataset: EvaluationDataset | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ds(self) -> EvaluationDataset:
        assert self.dataset is not None, "a step before this one creates the dataset"
        return self.dataset


Step = Callable[[DemoState], None]


def _status(ds: EvaluationDataset) -> str:
    return f"version {ds.version}, {ds.num_records} record{'s' if ds.num_records != 1 else ''}"


def _change(before_version: int, ds: EvaluationDataset) -> str:
    """How a write went: a new version, or none because it would have changed nothing."""
    if ds.version == before_version:
        return f"nothing changed, so no new version (still {_status(ds)})"
    return _status(ds)


def _compact(value: Any, width: int = CELL_WIDTH) -> str:
    return clip_json(value, width)


# --------------------------------------------------------------------------- steps


def step_start(state: DemoState) -> None:
    say(f"tracking URI: {state.client.tracking_uri}")


def step_create(state: DemoState) -> None:
    """Manual flow: create the dataset (or reuse the one a previous run created)."""
    heading("1. create a dataset")
    tags = {"team": "support", "stage": "development"}
    try:
        ds = state.client.create_dataset(name=DATASET_NAME, experiment_id=EXPERIMENT_ID, tags=tags)
        say(f"created {DATASET_NAME!r} ({ds.dataset_id}) in experiment {EXPERIMENT_ID}")
    except errors.ResourceAlreadyExists:
        ds = state.client.get_dataset(name=DATASET_NAME)
        say(f"{DATASET_NAME!r} exists from a previous run ({ds.dataset_id}): reusing it")
    say(f"  tags {ds.tags}; {_status(ds)}")
    state.dataset = ds


def step_set_tags(state: DemoState) -> None:
    heading("2. set more tags")
    version = state.ds.version
    state.client.set_dataset_tags(state.ds.dataset_id, {"owner": "demo", "version": "1"})
    ds = state.client.get_dataset(dataset_id=state.ds.dataset_id)
    say(f"tags now {ds.tags}; {_change(version, ds)}")
    state.dataset = ds


def step_merge_manual(state: DemoState) -> None:
    """Manual flow: hand-written test cases."""
    heading("3. merge hand-written test cases")
    cases = [
        {
            "inputs": {"question": "What is MLflow?"},
            "expectations": {
                "answer": "MLflow is an open source platform for the machine learning lifecycle",
                "key_topics": ["open source", "lifecycle"],
            },
        },
        {
            "inputs": {"question": "How do I track experiments?"},
            "expectations": {
                "answer": "Use mlflow.start_run() and log parameters, metrics and artifacts",
                "key_topics": ["tracking", "runs", "metrics"],
            },
        },
    ]
    before, version = state.ds.num_records, state.ds.version
    ds = state.ds.merge_records(cases)
    say(f"merged {len(cases)} cases: {ds.num_records - before} new; {_change(version, ds)}")


def step_merge_dataframe(state: DemoState) -> None:
    """DataFrame flow: a pandas DataFrame with inputs/expectations/tags columns."""
    heading("4. merge a pandas DataFrame")
    df = pd.DataFrame(
        {
            "inputs": [
                {"question": "How do I log a model?"},
                {"question": "What is the Model Registry?"},
                {"question": "How do I compare runs?"},
            ],
            "expectations": [
                {"answer": "Call mlflow.<flavor>.log_model() inside a run"},
                {"answer": "A central store to version, alias and govern models"},
                {"answer": "Select runs in the MLflow UI and click Compare"},
            ],
            "tags": [
                {"topic": "models"},
                {"topic": "registry"},
                {"topic": "tracking"},
            ],
        }
    )
    before, version = state.ds.num_records, state.ds.version
    ds = state.ds.merge_records(df)
    say(f"merged a {len(df)}-row DataFrame: {ds.num_records - before} new; {_change(version, ds)}")


def step_update_by_name(state: DemoState) -> None:
    """Get the dataset by name and update the expectations of an existing question."""
    heading("5. update an existing record (get_dataset by name)")
    ds = state.client.get_dataset(name=DATASET_NAME)
    before, version = ds.num_records, ds.version
    ds.merge_records(
        [
            {
                "inputs": {"question": "What is MLflow?"},
                "expectations": {"answer_length": "short", "must_mention": ["open source"]},
            }
        ]
    )
    record = next(r for r in ds.records if r.inputs == {"question": "What is MLflow?"})
    say(
        f"same inputs, so no new record ({before} -> {ds.num_records}); "
        f"expectations merged key by key: {sorted(record.expectations)}"
    )
    say(f"  {_change(version, ds)}")
    state.dataset = ds


def step_preview(state: DemoState) -> None:
    heading("6. preview with to_df()")
    df = state.ds.to_df()
    rows = [
        (_compact(r.inputs), _compact(r.expectations), str(r.source_type))
        for r in df.itertuples(index=False)
    ]
    headers = ("inputs", "expectations", "source_type")
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(headers)]
    for row in [headers, tuple("-" * w for w in widths), *rows]:
        say("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def step_history(state: DemoState) -> None:
    heading("7. history: every version, what changed, a label, a snapshot")
    ds = state.ds
    for row in ds.history().itertuples(index=False):
        say(
            f"v{row.version}: {row.operation:<10} +{row.records_added} ~{row.records_updated} "
            f"-{row.records_deleted} -> {row.num_records} records by {row.user}"
        )
    first_merge = next(
        v
        for v, op in zip(ds.history()["version"], ds.history()["operation"], strict=True)
        if op == "MERGE"
    )
    change = ds.diff(first_merge)
    say(
        f"diff v{first_merge} -> v{ds.version}: {len(change.added)} added, "
        f"{len(change.removed)} removed, {len(change.changed)} changed"
    )
    for c in change.changed:
        say(f"  {c.record_id}: {', '.join(c.fields)}")
    ds.label_version("demo-latest")
    snapshot = state.client.get_dataset(name=ds.name, version="demo-latest")
    say(f"label demo-latest -> v{snapshot.version} (read-only snapshot: {snapshot.is_snapshot})")


def step_traces(state: DemoState) -> None:
    run_trace_demo(state.client)


def step_server(state: DemoState) -> None:
    heading("next: serve this ledger to the unchanged MLflow client")
    uri = state.client.tracking_uri
    say(f"  evalledger --uri {uri} server        # http://127.0.0.1:5000")
    say("  export MLFLOW_TRACKING_URI=http://127.0.0.1:5000   # then run MLflow code as it is")
    say("  open http://127.0.0.1:5000/ in a browser: the UI (experiments, traces, datasets,")
    say("  history, diff, restore); http://127.0.0.1:5000/docs lists every API route")


def step_done(state: DemoState) -> None:
    ds = state.ds
    say()
    say(
        f"demo done: dataset {ds.name} version {ds.version}, "
        f"{ds.num_records} records, digest {ds.digest}"
    )


#: The flows, in order. Add steps before ``step_done`` (it prints the final line).
STEPS: list[Step] = [
    step_start,
    step_create,
    step_set_tags,
    step_merge_manual,
    step_merge_dataframe,
    step_update_by_name,
    step_preview,
    step_history,
    step_traces,
    step_server,
    step_done,
]


def run_demo(client: Client | None = None) -> DemoState:
    """Run every step on `client` (default: a client of the current tracking URI)."""
    state = DemoState(client or Client())
    for step in STEPS:
        step(state)
    return state
