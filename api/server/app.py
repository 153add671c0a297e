"""The FastAPI application: MLflow's routes, evalledger's own API, one error format."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from evalledger import __version__
from evalledger.ledger import load_private_key
from evalledger.server import (
    errors,
    ledger_api,
    mlflow_datasets,
    mlflow_experiments,
    mlflow_traces,
    trace_artifacts,
    ui,
    users_api,
)
from evalledger.server.checkpointing import Checkpointer
from evalledger.server.config import MLFLOW_API_VERSION, ServerConfig
from evalledger.server.edge import EdgeMiddleware
from evalledger.stores import open_store

_ROUTERS = (
    mlflow_experiments.router,
    mlflow_datasets.router,
    mlflow_traces.router,
    trace_artifacts.router,
    ledger_api.router,
    users_api.router,
    ui.router,
)


def create_app(config: ServerConfig) -> FastAPI:
    """A server for the ledger at `config.uri` (opened, and upgraded when behind, now)."""
    store = open_store(config.uri, "evalledger-server")
    if config.checkpoint_key:
        key = load_private_key(config.checkpoint_key)  # a bad key stops the start, not later
        Checkpointer(store, key, config.checkpoint_every).install()
    app = FastAPI(
        title="evalledger",
        version=__version__,
        description="MLflow's tracking REST API (experiments, evaluation datasets, traces) "
        "on an event-sourced ledger, and evalledger's own history API.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.config = config
    errors.install(app)
    for router in _ROUTERS:
        app.include_router(router)
    app.mount(ui.STATIC_URL, ui.static_files(), name="static")

    @app.get("/version", response_class=PlainTextResponse, tags=["server"])
    def version() -> str:
        """The MLflow API version served (the MLflow client sends spans by OTLP from 3.4)."""
        return MLFLOW_API_VERSION

    @app.get("/health", response_class=PlainTextResponse, tags=["server"])
    def health() -> str:
        return "OK"

    app.add_middleware(EdgeMiddleware, max_body_bytes=config.max_body_bytes)
    return app


def create_app_from_env() -> FastAPI:
    """The factory each worker process calls (`--workers N`): settings from the environment."""
    return create_app(ServerConfig.from_env())
