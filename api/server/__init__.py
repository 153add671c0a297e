"""`evalledger server`: MLflow's REST API for the unchanged MLflow client, evalledger's own
JSON API under /api/evalledger/v1/, and authentication (API.md §10)."""

from evalledger.server.app import create_app
from evalledger.server.config import ServerConfig

__all__ = ["ServerConfig", "create_app"]
