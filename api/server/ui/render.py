"""Pages from Jinja2 templates (autoescaped), with the layout's values, the CSRF cookie and
the security headers every page carries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from evalledger import __version__
from evalledger.server.context import RequestContext
from evalledger.server.ui import csrf
from evalledger.server.ui.display import FILTERS, GLOBALS

HERE = Path(__file__).resolve().parent
STATIC_URL = "/static"

#: Scripts and styles come from this server only; no inline code, no frames.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(FILTERS)
_env.globals.update(GLOBALS, version=__version__, static=STATIC_URL)


def static_files() -> StaticFiles:
    """The UI's CSS and script, to mount at STATIC_URL."""
    return StaticFiles(directory=HERE / "static")


def user_of(request: Request, ctx: RequestContext | None) -> str | None:
    """The authenticated user's name (None when authentication is off)."""
    if ctx is not None:
        return ctx.user
    return request.scope.get("state", {}).get("user")


def page(
    request: Request,
    template: str,
    *,
    title: str,
    ctx: RequestContext | None = None,
    status: int = 200,
    experiment: Any = None,
    section: str = "",
    **values: Any,
) -> HTMLResponse:
    """The page `template` inside the layout: sidebar (with the experiment's own entries
    when `experiment` is set, `section` marking the current one), title and user."""
    html = _env.get_template(template).render(
        request=request,
        title=title,
        user=user_of(request, ctx),
        experiment=experiment,
        section=section,
        csrf_field=csrf.FIELD,
        csrf_token=csrf.token(request),
        server_url=str(request.base_url).rstrip("/"),
        **values,
    )
    response = HTMLResponse(html, status_code=status, headers=HEADERS)
    csrf.remember(request, response)
    return response
