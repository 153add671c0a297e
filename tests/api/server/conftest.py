"""Server tests: a real server on a fresh database per test, and the real MLflow client."""

from __future__ import annotations

import os
from collections.abc import Iterator

import mlflow
import pytest
from live_server import evalledger_server

# MLflow's client must not phone home, nor create files in the working directory.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


@pytest.fixture
def server_url(db_url: str) -> Iterator[str]:
    """An evalledger server (no authentication) on this test's fresh database."""
    with evalledger_server(db_url) as url:
        yield url


@pytest.fixture
def mlflow_at(server_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The MLflow client pointed at the test's server, as a user would with
    MLFLOW_TRACKING_URI; its tracing set up afresh so spans go to this server."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server_url)
    # a new process has no active experiment: do not inherit the previous test's
    monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None)
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
    mlflow.set_tracking_uri(server_url)
    mlflow.tracing.reset()
    yield server_url
    mlflow.flush_trace_async_logging()
    mlflow.tracing.reset()
    mlflow.set_tracking_uri(None)
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)  # set_experiment writes it
