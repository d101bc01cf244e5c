"""The marketplace's webhook endpoints: register one (its signing secret is shown here, once),
list, change, disable, delete them, rotate a secret, read an endpoint's deliveries and send a
failed one again (services/notifications.py, services/webhook_endpoints.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from fairdeal.entrypoints.api import serializers
from fairdeal.entrypoints.api.deps import Limit, Notifications, PlatformActor
from fairdeal.entrypoints.api.errors import ApiError
from fairdeal.entrypoints.api.routes.common import errors
from fairdeal.services import notifications, webhook_endpoints
from fairdeal.services.notifications import Delivery, Endpoint

router = APIRouter(prefix="/api/v1", tags=["webhooks"])


class WebhookEndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: StrictStr = Field(max_length=2048, description="http(s) URL; public addresses only")
    events: list[StrictStr] = Field(
        min_length=1, max_length=50, description="event types to receive, or ['*'] for all"
    )


class WebhookEndpointEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: StrictStr | None = Field(default=None, max_length=2048)
    events: list[StrictStr] | None = Field(default=None, min_length=1, max_length=50)
    enabled: StrictBool | None = None


class WebhookEndpointOut(BaseModel):
    id: str
    url: str
    events: list[str]
    secret: str | None = Field(
        description="whsec_<base64 key>: signs every delivery (Standard Webhooks); shown only "
        "when created and when rotated"
    )
    status: str = Field(description="active | disabled")
    enabled: bool
    created_at: datetime


class WebhookEndpointPage(BaseModel):
    data: list[WebhookEndpointOut]
    next_cursor: str | None


class SecretOut(WebhookEndpointOut):
    secret_rotated_until: datetime | None = Field(
        description="until when the previous secret also signs (a second v1 signature)"
    )


class DeliveryOut(BaseModel):
    id: str
    event_id: str
    event_type: str
    status: str = Field(description="pending | sent | failed")
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    last_status_code: int | None
    created_at: datetime
    first_attempt_at: datetime | None
    sent_at: datetime | None


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
        "enabled": endpoint.status == "active",
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


PATH = "/webhook-endpoints/{endpoint_id}"


@router.get("/webhook-endpoints", response_model=WebhookEndpointPage, responses=errors(401, 403))
def list_endpoints(actor: PlatformActor, notifier: Notifications) -> dict[str, Any]:
    """The platform's webhook endpoints (their secrets are not shown again)."""
    rows = notifications.list_endpoints(notifier, actor)
    return {"data": [endpoint_json(e, with_secret=False) for e in rows], "next_cursor": None}


@router.get(PATH, response_model=WebhookEndpointOut, responses=errors(401, 403, 404))
def get_endpoint(endpoint_id: str, actor: PlatformActor, notifier: Notifications) -> dict[str, Any]:
    """One webhook endpoint."""
    endpoint = notifications.get_endpoint(notifier, actor, endpoint_id)
    return endpoint_json(endpoint, with_secret=False)


@router.patch(PATH, response_model=WebhookEndpointOut, responses=errors(401, 403, 404, 422, 429))
def update_endpoint(
    endpoint_id: str, body: WebhookEndpointEdit, actor: PlatformActor, notifier: Notifications
) -> dict[str, Any]:
    """Change its ``url``, its ``events``, or disable / enable it (``enabled``). Enabling an
    endpoint that was disabled after failing clears its failure record."""
    endpoint = webhook_endpoints.update_endpoint(
        notifier, actor, endpoint_id, url=body.url, events=body.events, enabled=body.enabled
    )
    return endpoint_json(endpoint, with_secret=False)


@router.delete(PATH, status_code=204, responses=errors(401, 403, 404, 429))
def delete_endpoint(endpoint_id: str, actor: PlatformActor, notifier: Notifications) -> Response:
    """Delete it; deliveries still waiting for it fail."""
    webhook_endpoints.delete_endpoint(notifier, actor, endpoint_id)
    return Response(status_code=204)


@router.post(
    PATH + "/rotate-secret", response_model=SecretOut, responses=errors(401, 403, 404, 409, 429)
)
def rotate_secret(
    endpoint_id: str, actor: PlatformActor, notifier: Notifications
) -> dict[str, Any]:
    """A new signing secret, shown here once. The old secret keeps signing every delivery too,
    as a second ``v1,`` signature, for 24 hours (Standard Webhooks), so the receiver can
    switch at any time of that day."""
    endpoint = webhook_endpoints.rotate_secret(notifier, actor, endpoint_id)
    answer = endpoint_json(endpoint, with_secret=True)
    answer["secret_rotated_until"] = serializers.ts(endpoint.previous_secret_until)
    return answer


@router.post(
    PATH + "/deliveries/{delivery_id}/retry",
    response_model=DeliveryOut,
    responses=errors(401, 403, 404, 409, 429),
)
def retry_delivery(
    endpoint_id: str, delivery_id: str, actor: PlatformActor, notifier: Notifications
) -> dict[str, Any]:
    """Send a failed (or sent) delivery again now: a new series of attempts, with the same
    ``webhook-id``. A delivery still waiting, or an endpoint that is disabled, answers 409."""
    delivery = webhook_endpoints.retry_delivery(notifier, actor, endpoint_id, delivery_id)
    return delivery_json(delivery)
