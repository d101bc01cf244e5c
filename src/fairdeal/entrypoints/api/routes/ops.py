"""Health, readiness, metrics, and the sandbox clock."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from fairdeal.adapters.db.engine import begin
from fairdeal.domain.roles import Role
from fairdeal.entrypoints.api import serializers
from fairdeal.entrypoints.api.deps import Ctx, CurrentActor, get_app
from fairdeal.entrypoints.api.errors import ApiError
from fairdeal.entrypoints.api.observability import Metrics
from fairdeal.entrypoints.api.routes.common import errors
from fairdeal.entrypoints.api.schemas import AdvanceIn
from fairdeal.services.deadlines import Fired, advance_clock, run_until_idle

router = APIRouter()


@router.get("/healthz", tags=["ops"])
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", tags=["ops"])
def readyz(request: Request) -> JSONResponse:
    """The database answers and its schema is current."""
    from fairdeal.adapters.db.migrate import is_current

    app = get_app(request)
    try:
        with begin(app.engine, write=False) as conn:
            conn.execute(text("SELECT 1"))
            conn.rollback()
        current = is_current(app.engine)
    except Exception:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
    if not current:
        return JSONResponse({"status": "unavailable", "database": "migrations pending"}, 503)
    return JSONResponse({"status": "ready"})


@router.get("/metrics", tags=["ops"])
def metrics(request: Request) -> Response:
    """Prometheus text format."""
    metrics: Metrics = request.app.state.metrics
    return metrics.render(get_app(request))


def _sandbox(request: Request):  # type: ignore[no-untyped-def]
    clock = get_app(request).sandbox_clock
    if clock is None:
        raise ApiError("not_found", "the sandbox is off on this server")
    return clock


@router.get("/api/v1/sandbox/clock", tags=["sandbox"], responses=errors(404))
def sandbox_clock(request: Request) -> dict[str, object]:
    """The sandbox's current time (only in sandbox mode)."""
    return {"now": serializers.ts(_sandbox(request).now())}


@router.post(
    "/api/v1/sandbox/clock/advance", tags=["sandbox"], responses=errors(401, 403, 404, 422)
)
def advance(request: Request, body: AdvanceIn, actor: CurrentActor, ctx: Ctx) -> dict[str, object]:
    """Move the sandbox clock forward; every deadline that falls due fires, in due order,
    before this answers."""
    clock = _sandbox(request)
    if actor.role not in (Role.PLATFORM, Role.ADMIN):
        raise ApiError("forbidden", "only the platform or an admin moves the sandbox clock")
    delta = timedelta(days=body.days, hours=body.hours, minutes=body.minutes)
    # Nothing to move (all fields are optional): fire what is due now. A target of "now" would
    # already be in the past when advance_clock reads the running clock again.
    fired = advance_clock(ctx, clock, to=clock.now() + delta) if delta else run_until_idle(ctx)
    request.app.state.metrics.deadlines_fired(len(fired))
    return {"now": serializers.ts(clock.now()), "fired": [_fired(item) for item in fired]}


def _fired(item: Fired) -> dict[str, object]:
    """API.md's {"dispute_id", "kind", "due_at"}; an order's payout has no dispute, so it
    answers "dispute_id": null and names its order."""
    entry: dict[str, object] = {
        "dispute_id": item.id if item.aggregate == "dispute" else None,
        "kind": item.kind,
        "due_at": serializers.ts(item.due_at),
    }
    if item.aggregate == "order":
        entry["order_id"] = item.id
    return entry
