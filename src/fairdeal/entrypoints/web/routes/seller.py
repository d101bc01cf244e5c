"""The seller's one form of their own: extending the buyer's protection on an order, from the
orders list or from the dispute page."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from fairdeal.domain.errors import DomainError, NotFound
from fairdeal.domain.roles import Role
from fairdeal.entrypoints.refusals import said_to_people
from fairdeal.entrypoints.web.routes.common import (
    FormError,
    Viewer,
    ctx_of,
    done,
    form_of,
    need,
    render,
    safe_next,
    text,
    values,
)
from fairdeal.entrypoints.web.routes.disputes import dispute_page
from fairdeal.entrypoints.web.routes.pipeline import web_router
from fairdeal.i18n import _
from fairdeal.services import orders, reports

router = web_router()


@router.post("/orders/{order_id}/extend")
def extend(request: Request, order_id: str) -> Response:
    viewer = need(request, Role.SELLER)
    form = form_of(request)
    back = safe_next(text(form, "back")) or "/orders"
    try:
        days = int(text(form, "days") or "0")
        orders.extend_protection(ctx_of(request), viewer.actor, order_id, days=days)
    except ValueError:
        return _extend_refused(
            request, viewer, order_id, back, _("Enter a whole number of days."), form
        )
    except DomainError as error:
        if isinstance(error, NotFound):
            raise
        detail = said_to_people(error.code, error.detail)
        return _extend_refused(request, viewer, order_id, back, detail, form)
    return done(back, "extended")


def _extend_refused(
    request: Request, viewer: Viewer, order_id: str, back: str, detail: str, form: FormData
) -> Response:
    """The page the form came from again, with the refusal next to the days."""
    error = FormError(f"extend-{order_id}", "days", detail, values(form))
    if back.startswith("/disputes/"):
        return dispute_page(request, back.split("/")[2].split("?")[0], error=error, status=422)
    rows = reports.order_rows(ctx_of(request), viewer.actor)
    return render(request, "orders.html", 422, rows=rows, error=error)
