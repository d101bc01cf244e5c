"""Money movements: refunds and payouts as the payment provider carries them out
(docs/payments.md). The marketplace reports its provider's answers here in marketplace mode."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from fairdeal.domain.roles import Actor, Role
from fairdeal.entrypoints.api import serializers
from fairdeal.entrypoints.api.deps import Ctx, CurrentActor, Limit, require
from fairdeal.entrypoints.api.routes.common import errors, page
from fairdeal.entrypoints.api.schemas import (
    Page,
    PaymentFailedIn,
    PaymentOut,
    PaymentSucceededIn,
)
from fairdeal.services import payments

router = APIRouter(prefix="/api/v1", tags=["payments"])
Platform = Annotated[Actor, Depends(require(Role.PLATFORM))]
Staff = Annotated[Actor, Depends(require(Role.PLATFORM, Role.ADMIN))]
CHANGE = errors(401, 403, 404, 409, 422)


@router.get("/orders/{order_id}/payments", response_model=Page, responses=errors(401, 404))
def order_payments(order_id: str, actor: CurrentActor, ctx: Ctx) -> dict[str, object]:
    """The order's refunds and payouts, oldest first (platform, admin, its buyer and seller)."""
    rows = payments.of_order(ctx, actor, order_id)
    return {"data": [serializers.payment(m) for m in rows], "next_cursor": None}


@router.get("/payments", response_model=Page, responses=errors(401, 403, 422))
def list_payments(
    actor: Staff,
    ctx: Ctx,
    limit: Limit,
    status: Annotated[
        Literal["pending", "submitted", "succeeded", "failed"] | None, Query()
    ] = None,
) -> dict[str, object]:
    """Money movements, newest first, optionally of one status."""
    rows = payments.listing(ctx, actor, status, limit)
    return page([serializers.payment(m) for m in rows], limit, lambda r: None)


@router.post("/payments/{payment_id}/succeeded", response_model=PaymentOut, responses=CHANGE)
def payment_succeeded(
    payment_id: str, body: PaymentSucceededIn, actor: Platform, ctx: Ctx
) -> dict[str, object]:
    """The provider confirmed. The same reference again answers 200 and changes nothing."""
    return serializers.payment(payments.succeeded(ctx, actor, payment_id, body.provider_reference))


@router.post("/payments/{payment_id}/failed", response_model=PaymentOut, responses=CHANGE)
def payment_failed(
    payment_id: str, body: PaymentFailedIn, actor: Platform, ctx: Ctx
) -> dict[str, object]:
    return serializers.payment(payments.failed(ctx, actor, payment_id, body.reason))


@router.post("/payments/{payment_id}/retry", response_model=PaymentOut, responses=CHANGE)
def payment_retry(payment_id: str, actor: Staff, ctx: Ctx) -> dict[str, object]:
    """A failed movement goes back to pending and is requested again."""
    return serializers.payment(payments.retry(ctx, actor, payment_id))
