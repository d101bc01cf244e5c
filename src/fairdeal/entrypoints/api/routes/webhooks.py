"""The marketplace's webhook endpoints: register one (its signing secret is shown here, once)
and read its deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from fairdeal.entrypoints.api import serializers
from fairdeal.entrypoints.api.deps import Limit, Notifications, PlatformActor
from fairdeal.entrypoints.api.errors import ApiError
from fairdeal.entrypoints.api.routes.common import errors
from fairdeal.services import notifications
from fairdeal.services.notifications import Delivery, Endpoint

router = APIRouter(prefix="/api/v1", tags=["webhooks"])


class WebhookEndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: StrictStr = Field(max_length=2048, description="http(s) URL; public addresses only")
    events: list[StrictStr] = Field(
        min_length=1, max_length=50, description="event types to receive, or ['*'] for all"
    )


class WebhookEndpointOut(BaseModel):
    id: str
    url: str
    events: list[str]
    secret: str | None = Field(
        description="whsec_<base64 key>: signs every delivery (Standard Webhooks)"
    )
    status: str
    created_at: str


class DeliveryOut(BaseModel):
    id: str
    event_id: str
    event_type: str
    status: str = Field(description="pending | sent | failed")
    attempts: int
    next_attempt_at: str | None
    last_error: str | None
    last_status_code: int | None
    created_at: str
    first_attempt_at: str | None
    sent_at: str | None


class DeliveryPage(BaseModel):
    data: list[DeliveryOut]
    next_cursor: str | None


def endpoint_json(endpoint: Endpoint, *, with_secret: bool) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": endpoint.events,
        "secret": endpoint.secret if with_secret else None,
        "status": endpoint.status,
        "created_at": serializers.ts(endpoint.created_at),
    }


def delivery_json(d: Delivery) -> dict[str, Any]:
    return {
        "id": f"dlv_{d.seq}",
        "event_id": d.event_id,
        "event_type": d.event_type,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": serializers.ts(d.next_attempt_at) if d.status == "pending" else None,
        "last_error": d.last_error,
        "last_status_code": d.last_status_code,
        "created_at": serializers.ts(d.created_at),
        "first_attempt_at": serializers.ts(d.first_attempt_at),
        "sent_at": serializers.ts(d.sent_at),
    }


def _ts(moment: datetime | None) -> str | None:
    return serializers.ts(moment)


@router.post(
    "/webhook-endpoints",
    status_code=201,
    response_model=WebhookEndpointOut,
    responses=errors(401, 403, 422),
)
def create_endpoint(
    body: WebhookEndpointIn, actor: PlatformActor, notifier: Notifications
) -> dict[str, Any]:
    """Register a webhook endpoint. Deliveries are signed per Standard Webhooks with the
    secret returned here (shown once): headers ``webhook-id`` (the event id),
    ``webhook-timestamp`` and ``webhook-signature``; the body is the event as ``/events``
    shows it. Failed deliveries are retried for at least 3 days."""
    endpoint = notifications.create_endpoint(notifier, actor, url=body.url, events=body.events)
    return endpoint_json(endpoint, with_secret=True)


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    response_model=DeliveryPage,
    responses=errors(401, 403, 404, 422),
)
def endpoint_deliveries(
    endpoint_id: str,
    actor: PlatformActor,
    notifier: Notifications,
    limit: Limit,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """This endpoint's deliveries, newest first: status, attempts, the next attempt and the
    last error."""
    after = None
    if cursor is not None:
        digits = cursor.removeprefix("dlv_")
        if not digits.isdigit() or len(digits) > 18:
            raise ApiError(
                "validation_error", "cursor must come from a previous page", field="cursor"
            )
        after = int(digits)
    rows = notifications.endpoint_deliveries(notifier, actor, endpoint_id, after=after, limit=limit)
    data = [delivery_json(d) for d in rows]
    return {"data": data, "next_cursor": data[-1]["id"] if len(data) == limit else None}
