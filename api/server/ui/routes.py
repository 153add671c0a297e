"""Every page and form post of the web UI, as one router (HTML routes are left out of
/openapi.json: every page's data is in the JSON API)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from evalledger.server.ui import (
    forms_export,
    forms_traces,
    login,
    pages_datasets,
    pages_experiments,
    pages_history,
    pages_labels,
    pages_records,
    pages_traces,
    sessions,
)

router = APIRouter()
#: With --auth, every page but the login page needs credentials or a login session.
_SIGNED_IN = [Depends(sessions.gate)]
for part in (pages_experiments, pages_traces, pages_datasets, forms_export, forms_traces):
    router.include_router(part.router, dependencies=_SIGNED_IN)
for part in (pages_history, pages_labels, pages_records):
    router.include_router(part.router, dependencies=_SIGNED_IN)
router.include_router(login.router)
