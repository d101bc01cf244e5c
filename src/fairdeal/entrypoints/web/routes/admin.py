"""The admin dashboard and, in sandbox mode, the clock that moves time forward."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from fairdeal.domain.errors import NotFound
from fairdeal.domain.roles import Role
from fairdeal.entrypoints.web.routes.common import (
    FormError,
    ctx_of,
    form_of,
    need,
    redirect,
    render,
    text,
    values,
    web_of,
)
from fairdeal.entrypoints.web.routes.pipeline import web_router
from fairdeal.i18n import _
from fairdeal.services import payments, reports
from fairdeal.services.deadlines import advance_clock, run_until_idle

router = web_router()


def admin_page(
    request: Request,
    *,
    error: FormError | None = None,
    fired: int | None = None,
    which: list[tuple[str, ...]] | None = None,
    status: int = 200,
) -> HTMLResponse:
    viewer = need(request, Role.ADMIN)
    from fairdeal.entrypoints.web import charts

    board = reports.dashboard(ctx_of(request), viewer.actor)
    attention = payments.needing_attention(ctx_of(request), viewer.actor)
    return render(
        request,
        "admin.html",
        status,
        board=board,
        charts=charts,
        error=error,
        fired=fired,
        which=which or [],
        attention=attention,
        clock=web_of(request).app.sandbox_clock is not None,
    )


@router.get("/admin")
def admin(request: Request) -> Response:
    fired = request.query_params.get("fired")
    which = [
        tuple(part.split(":", 1))
        for part in request.query_params.get("which", "").split(",")
        if ":" in part
    ]
    return admin_page(request, fired=int(fired) if fired and fired.isdigit() else None, which=which)


@router.post("/admin/clock")
def move_clock(request: Request) -> Response:
    """The sandbox clock control: move time forward; every deadline due on the way fires."""
    need(request, Role.ADMIN)
    clock = web_of(request).app.sandbox_clock
    if clock is None:
        raise NotFound(_("The sandbox is off on this server."))
    form = form_of(request)
    try:
        days, hours = int(text(form, "days") or "0"), int(text(form, "hours") or "0")
    except ValueError:
        days = hours = -1
    if not (0 <= days <= 365 and 0 <= hours <= 23):
        detail = _("Enter days from 0 to 365 and hours from 0 to 23.")
        return admin_page(
            request, error=FormError("clock", "days", detail, values(form)), status=422
        )
    delta = timedelta(days=days, hours=hours)
    ctx = ctx_of(request)
    fired = advance_clock(ctx, to=clock.now() + delta) if delta else run_until_idle(ctx)
    # Which ones, for the notice (the first 20; the count says how many in all).
    which = ",".join(f"{f.id}:{f.kind}" for f in fired[:20])
    return redirect(f"/admin?ok=clock&fired={len(fired)}&which={which}")


@router.post("/admin/payments/{movement_id}/retry")
def retry_payment(request: Request, movement_id: str) -> Response:
    """A failed money movement goes back to pending and is requested again (the API's
    ``POST /payments/{id}/retry``, for the admin on the page)."""
    viewer = need(request, Role.ADMIN)
    payments.retry(ctx_of(request), viewer.actor, movement_id)
    return redirect("/admin?ok=payment_retried")
