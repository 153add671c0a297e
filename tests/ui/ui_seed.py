"""What the browser tests log before they open a page: traces in an experiment, the way an
application's MLflow tracing would leave them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from evalledger import Client

MLFLOW_TRACES = Path(__file__).resolve().parents[1] / "fixtures" / "mlflow_traces.jsonl"
START_MS = 1_790_000_000_000  # 2026-09-21


@dataclass(frozen=True)
class Seed:
    """An experiment and its traces (newest last); `expected` has an expectation."""

    experiment_id: str
    name: str
    trace_ids: list[str]

    @property
    def expected(self) -> str:
        return self.trace_ids[0]


QUESTIONS = [
    ("How do I reset my password?", "Use the reset link on the sign-in page.", 420, "prod"),
    ("Can I export my data?", "Yes: Settings, Export, then choose CSV.", 1350, "prod"),
    ("What plans do you offer?", "Free, Team and Enterprise.", 95, "staging"),
]


def seed_traces(db_url: str, name: str = "support-bot", count: int = 3) -> Seed:
    """`count` traces in a new experiment (tags env and topic, latencies that differ, one
    minute apart); the first has the expectation `expected_answer`."""
    client = Client(db_url, user="tester")
    experiment_id = client.create_experiment(name, tags={"team": "support"})
    trace_ids = []
    for i in range(count):
        question, answer, latency, env = QUESTIONS[i % len(QUESTIONS)]
        trace = client.log_trace(
            {"question": question if i < len(QUESTIONS) else f"{question} ({i})"},
            {"answer": answer},
            name="answer_question",
            experiment_id=experiment_id,
            tags={"env": env, "topic": f"t{i % 2}"},
            timestamp_ms=START_MS + 60_000 * i,
            execution_time_ms=latency + i,
        )
        trace_ids.append(trace.info.trace_id)
    client.log_expectation(trace_ids[0], "expected_answer", "Use the reset link.")
    return Seed(experiment_id, name, trace_ids)


def import_mlflow_trace(db_url: str, experiment_id: str) -> str:
    """One trace that MLflow's client logged (three spans, inputs, outputs, attributes)."""
    raw = json.loads(MLFLOW_TRACES.read_text().splitlines()[0])
    return Client(db_url, user="tester").import_traces(raw, experiment_id=experiment_id)[0]
