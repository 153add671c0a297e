"""The web UI (API.md §11): server-rendered pages at `/`, small scripts of our own for
selection and dialogs, every write a POST form with a CSRF token."""

from evalledger.server.ui.render import STATIC_URL, static_files
from evalledger.server.ui.routes import router

__all__ = ["STATIC_URL", "router", "static_files"]
