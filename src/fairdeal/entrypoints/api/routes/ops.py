"""Health, readiness, metrics, and the sandbox clock."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from fairdeal.domain.roles import Role
from fairdeal.entrypoints.api import serializers
from fairdeal.entrypoints.api.deps import Api, ApiState, CurrentActor
from fairdeal.entrypoints.api.errors import ApiError
from fairdeal.entrypoints.api.routes.common import errors
from fairdeal.entrypoints.api.schemas import AdvanceIn
from fairdeal.services.deadlines import Fired, advance_clock, run_until_idle
from fairdeal.services.ports import SettableClock

router = APIRouter()


# The answer is always the same bytes: built once. The route is ``async`` and returns a
# Response, so a probe costs no thread-pool hand-off and no serialization of a dict (the
# response model stays declared for the OpenAPI document). It is the constant route the reads
# benchmark compares the reads with (performance.md).
_HEALTHY = b'{"status":"ok"}'


@router.get("/healthz", tags=["ops"], response_model=dict[str, str])
async def healthz() -> Response:
    """The process is up."""
    return Response(_HEALTHY, media_type="application/json")


@router.get("/readyz", tags=["ops"])
def readyz(api: Api) -> JSONResponse:
    """The database answers and its schema is current."""
    problem = api.app.ready()
    if problem is not None:
        return JSONResponse({"status": "unavailable", "database": problem}, 503)
    return JSONResponse({"status": "ready"})


@router.get("/metrics", tags=["ops"])
def metrics(api: Api) -> Response:
    """Prometheus text format."""
    return api.metrics.render(api.app)


def _sandbox(api: ApiState) -> SettableClock:
    clock = api.app.sandbox_clock
    if clock is None:
        raise ApiError("not_found", "the sandbox is off on this server")
    return clock


@router.get("/api/v1/sandbox/clock", tags=["sandbox"], responses=errors(404))
def sandbox_clock(api: Api) -> dict[str, object]:
    """The sandbox's current time (only in sandbox mode)."""
    return {"now": serializers.ts(_sandbox(api).now())}


@router.post(
    "/api/v1/sandbox/clock/advance", tags=["sandbox"], responses=errors(401, 403, 404, 422)
)
def advance(body: AdvanceIn, actor: CurrentActor, api: Api) -> dict[str, object]:
    """Move the sandbox clock forward; every deadline that falls due fires, in due order,
    before this answers."""
    clock = _sandbox(api)
    if actor.role not in (Role.PLATFORM, Role.ADMIN):
        raise ApiError("forbidden", "only the platform or an admin moves the sandbox clock")
    delta = timedelta(days=body.days, hours=body.hours, minutes=body.minutes)
    # Nothing to move (all fields are optional): fire what is due now. A target of "now" would
    # already be in the past when advance_clock reads the running clock again.
    ctx = api.ctx
    fired = advance_clock(ctx, to=clock.now() + delta) if delta else run_until_idle(ctx)
    api.metrics.deadlines_fired(len(fired))
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
