"""Form posts on a trace: logging an expectation (through `log_expectation`, as the acting
user, a HUMAN source)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from evalledger.ledger import InvalidParameter
from evalledger.server.context import Ctx
from evalledger.server.ui.csrf import CsrfChecked
from evalledger.server.ui.display import path_part
from evalledger.server.ui.html_errors import HtmlRoute
from evalledger.server.ui.pages_traces import readable_trace, trace_page

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)


def parse_value(text: str, value_type: str) -> Any:
    """The expectation's value: the text as JSON, or as it is."""
    if value_type == "text":
        return text
    if value_type != "json":
        raise InvalidParameter("value_type must be json or text", field="value_type")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(
            f"the value is not valid JSON ({exc}); write it as JSON (a string in double "
            "quotes) or choose Text",
            field="value",
        ) from None


@router.post("/traces/{trace_id:path}/expectations")
def log_expectation(
    trace_id: str,
    request: Request,
    ctx: Ctx,
    _: CsrfChecked,
    name: Annotated[str, Form()] = "",
    value: Annotated[str, Form()] = "",
    value_type: Annotated[str, Form()] = "json",
) -> Response:
    """Log an expectation; back to the trace's assessments, or the form with the error."""
    trace = readable_trace(ctx, trace_id)
    ctx.require_experiment("edit", trace.info.experiment_id)
    try:
        if not name.strip():
            raise InvalidParameter("give the expectation a name", field="name")
        ctx.client().log_expectation(trace_id, name.strip(), parse_value(value, value_type))
    except InvalidParameter as exc:
        form = {"name": name, "value": value, "value_type": value_type}
        return trace_page(request, ctx, trace_id, status=400, form=form, form_error=exc.message)
    return RedirectResponse(f"/traces/{path_part(trace_id)}#assessments", status_code=303)
