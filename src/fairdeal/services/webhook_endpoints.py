"""Managing the platform's webhook endpoints (API.md, "Events and webhooks"): change an
endpoint's URL, event types or whether it is enabled, delete it, rotate its secret, and send a
delivery again by hand. Registering and listing live in ``services.notifications``.

Rotation follows Standard Webhooks: the new secret signs every delivery at once, and the old
one keeps signing too -- a second ``v1,`` signature in ``webhook-signature`` -- for
``ROTATION_GRACE``, so a receiver can switch its secret at any moment of that day without
refusing a delivery."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta

from fairdeal.domain.errors import InvalidTransition, NotFound
from fairdeal.domain.roles import Actor
from fairdeal.services.notifications import (
    Delivery,
    Endpoint,
    Notifier,
    get_endpoint,
    new_secret,
    subscribed_events,
)

ROTATION_GRACE = timedelta(hours=24)


def update_endpoint(
    n: Notifier,
    actor: Actor,
    endpoint_id: str,
    *,
    url: str | None = None,
    events: Sequence[str] | None = None,
    enabled: bool | None = None,
) -> Endpoint:
    """Change what is given. Enabling a disabled endpoint clears its failure record: its
    next failure starts a new three days."""
    endpoint = get_endpoint(n, actor, endpoint_id)
    changes: dict[str, object] = {}
    if url is not None:
        url = url.strip()
        n.webhooks.check_url(url)
        changes["url"] = url
    if events is not None:
        changes["events"] = subscribed_events(events)
    if enabled is not None and enabled != (endpoint.status == "active"):
        changes["status"] = "active" if enabled else "disabled"
        changes["failing_since"] = None
        changes["disabled_at"] = None if enabled else n.clock.now()
    if not changes:
        return endpoint
    changed = dataclasses.replace(endpoint, **changes)  # type: ignore[arg-type]
    with n.uow() as uow:
        uow.outbox.save_endpoint(changed)
        uow.commit()
    return changed


def delete_endpoint(n: Notifier, actor: Actor, endpoint_id: str) -> None:
    """Delete it: nothing more is sent to it (its waiting deliveries fail)."""
    endpoint = get_endpoint(n, actor, endpoint_id)
    with n.uow() as uow:
        uow.outbox.delete_endpoint(endpoint.id)
        uow.commit()


def rotate_secret(n: Notifier, actor: Actor, endpoint_id: str) -> Endpoint:
    """A new secret; the current one keeps signing for ``ROTATION_GRACE`` (real time: the
    receivers' clocks are real, even in sandbox mode)."""
    endpoint = get_endpoint(n, actor, endpoint_id)
    rotated = dataclasses.replace(
        endpoint,
        secret=new_secret(),
        previous_secret=endpoint.secret,
        previous_secret_until=n.wall_clock() + ROTATION_GRACE,
    )
    with n.uow() as uow:
        uow.outbox.save_endpoint(rotated)
        uow.commit()
    return rotated


def retry_delivery(n: Notifier, actor: Actor, endpoint_id: str, delivery_id: str) -> Delivery:
    """Send a failed (or already sent) delivery again now, as a new series of attempts."""
    endpoint = get_endpoint(n, actor, endpoint_id)
    digits = delivery_id.removeprefix("dlv_")
    seq = int(digits) if digits.isdigit() and len(digits) <= 18 else None
    with n.uow() as uow:
        delivery = uow.outbox.delivery(endpoint.id, seq) if seq is not None else None
        if delivery is None:
            raise NotFound(f"delivery {delivery_id} not found")
        if delivery.status == "pending":
            raise InvalidTransition("the delivery is already waiting to be sent")
        if endpoint.status != "active":
            raise InvalidTransition("the endpoint is disabled; enable it first")
        uow.outbox.requeue_delivery(delivery.seq, n.wall_clock())
        again = uow.outbox.delivery(endpoint.id, delivery.seq)
        uow.commit()
    assert again is not None
    return again
