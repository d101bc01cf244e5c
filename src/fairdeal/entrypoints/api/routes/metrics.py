"""Seller and buyer metrics (API.md "Metrics", docs/metrics.md). Not the Prometheus
``/metrics`` of the process: these are under ``/api/v1/metrics/``."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel

from fairdeal.entrypoints.api.deps import Ctx, CurrentActor
from fairdeal.entrypoints.api.routes.common import errors
from fairdeal.services import metrics

router = APIRouter(prefix="/api/v1", tags=["metrics"])


class ReasonMetricsOut(BaseModel):
    disputes: int
    ruled_against: int


class UserMetricsOut(BaseModel):
    user_id: str
    orders: int
    disputes: int
    dispute_rate: str
    escalated: int
    escalation_rate: str
    ruled_against: int
    refund_share: str
    median_resolution_hours: float | None
    warnings_received: int
    by_reason: dict[str, ReasonMetricsOut]
    flagged: bool


class SellersOut(BaseModel):
    data: list[UserMetricsOut]
    next_cursor: str | None


@router.get("/metrics/sellers/{user_id}", response_model=UserMetricsOut, responses=errors(401, 404))
def seller_metrics(user_id: str, actor: CurrentActor, ctx: Ctx) -> dict[str, object]:
    """One seller's numbers: to the platform, admins, mediators and the seller."""
    return metrics.user_metrics(ctx, actor, "seller", user_id).as_json()


@router.get("/metrics/buyers/{user_id}", response_model=UserMetricsOut, responses=errors(401, 404))
def buyer_metrics(user_id: str, actor: CurrentActor, ctx: Ctx) -> dict[str, object]:
    """One buyer's numbers: to the platform, admins, mediators and the buyer."""
    return metrics.user_metrics(ctx, actor, "buyer", user_id).as_json()


@router.get(
    "/metrics/sellers",
    response_model=SellersOut,
    responses={
        200: {"content": {"text/csv": {}}, "description": "With ?format=csv: one row a seller."},
        **errors(401, 403, 422),
    },
)
def sellers(
    actor: CurrentActor,
    ctx: Ctx,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Response:
    """Every seller's numbers (platform, admins); ``?format=csv`` for a spreadsheet, with
    ``by_reason`` as JSON in its cell."""
    found = metrics.all_sellers(ctx, actor)
    if format == "json":
        body = json.dumps({"data": [m.as_json() for m in found], "next_cursor": None})
        return Response(body, media_type="application/json")
    return Response(
        metrics.to_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="sellers.csv"'},
    )
