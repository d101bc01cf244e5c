"""The marketplace's side: users, orders and tracking, the event feed, the active policy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from fairdeal.domain.order import Payment
from fairdeal.domain.roles import Role
from fairdeal.entrypoints.api import serializers
from fairdeal.entrypoints.api.deps import Api, Ctx, CurrentActor, Limit, PlatformActor
from fairdeal.entrypoints.api.errors import ApiError
from fairdeal.entrypoints.api.routes.common import errors, page
from fairdeal.entrypoints.api.schemas import (
    EventPage,
    ExtendIn,
    OrderCreate,
    OrderOut,
    OrderPage,
    ShipIn,
    TrackingIn,
    UserCreate,
    UserOut,
)
from fairdeal.services import access, orders, users
from fairdeal.services.ports import StoredEvent
from fairdeal.services.security import hash_password

router = APIRouter(prefix="/api/v1")


@router.post(
    "/users",
    status_code=201,
    response_model=UserOut,
    tags=["users"],
    responses=errors(401, 403, 422),
)
def create_user(body: UserCreate, actor: PlatformActor, ctx: Ctx) -> dict[str, object]:
    """Register a buyer, seller or mediator. The API token is shown once, here."""
    created = users.create_user(
        ctx,
        role=body.role,
        name=body.name,
        email=body.email,
        external_id=body.external_id,
        country=body.country.upper() if body.country else None,
        language=body.language,
        password_hash=hash_password(body.password) if body.password else None,
        allowed_roles={"buyer", "seller", "mediator"},
    )
    return serializers.user(created.user, created.api_token)


@router.post(
    "/users/{user_id}/disable",
    status_code=204,
    tags=["users"],
    responses=errors(401, 403, 404, 422),
)
def disable_user(user_id: str, actor: PlatformActor, api: Api) -> Response:
    """Disable an account: its API token and its web sessions stop working at once (in other
    API processes within 30 s, the time a token lookup is cached)."""
    access.disable_user(api.ctx, actor, user_id)
    api.token_cache.entries.clear()
    return Response(status_code=204)


@router.post(
    "/orders",
    status_code=201,
    response_model=OrderOut,
    tags=["orders"],
    responses=errors(401, 403, 422),
)
def create_order(body: OrderCreate, actor: PlatformActor, ctx: Ctx) -> dict[str, object]:
    """Register a paid order: its total is held in escrow."""
    order = orders.register_order(
        ctx,
        actor,
        buyer_id=body.buyer_id,
        seller_id=body.seller_id,
        currency=body.currency.upper(),
        items=[
            orders.NewItem(
                sku=i.sku,
                title=i.title,
                quantity=i.quantity,
                unit_price=i.unit_price,
                category=i.category,
            )
            for i in body.items
        ],
        shipping_cost=body.shipping_cost,
        payment=Payment(body.payment.method, body.payment.reference, body.payment.country.upper()),
    )
    return serializers.order(order)


@router.post(
    "/orders/{order_id}/ship",
    response_model=OrderOut,
    tags=["orders"],
    responses=errors(401, 403, 404, 409, 422),
)
def ship(order_id: str, body: ShipIn, actor: CurrentActor, ctx: Ctx) -> dict[str, object]:
    """The seller (or the platform) ships: buyer protection starts."""
    if actor.role not in (Role.SELLER, Role.PLATFORM, Role.ADMIN):
        raise ApiError("forbidden", "only the seller or the platform can ship an order")
    order = orders.ship_order(
        ctx,
        actor,
        order_id,
        carrier=body.carrier,
        tracking_number=body.tracking_number,
        protection_days=body.protection_days,
    )
    return serializers.order(order)


@router.post(
    "/orders/{order_id}/tracking-events",
    response_model=OrderOut,
    tags=["orders"],
    responses=errors(401, 403, 404, 409, 422),
)
def tracking_event(
    order_id: str, body: TrackingIn, actor: PlatformActor, ctx: Ctx
) -> dict[str, object]:
    if body.at.tzinfo is None:
        raise ApiError("validation_error", "at must carry a time zone (RFC 3339)", field="at")
    order = orders.record_tracking(
        ctx,
        actor,
        order_id,
        status=body.status,
        at=body.at,
        location=body.location,
        description=body.description,
    )
    return serializers.order(order)


@router.post(
    "/orders/{order_id}/confirm-receipt",
    response_model=OrderOut,
    tags=["orders"],
    responses=errors(401, 403, 404, 409),
)
def confirm_receipt(order_id: str, actor: CurrentActor, ctx: Ctx) -> dict[str, object]:
    """The buyer has the goods: payout follows after the post-receipt grace period."""
    return serializers.order(orders.confirm_receipt(ctx, actor, order_id))


@router.post(
    "/orders/{order_id}/extend-protection",
    response_model=OrderOut,
    tags=["orders"],
    responses=errors(401, 403, 404, 409, 422),
)
def extend_protection(
    order_id: str, body: ExtendIn, actor: CurrentActor, ctx: Ctx
) -> dict[str, object]:
    return serializers.order(orders.extend_protection(ctx, actor, order_id, days=body.days))


@router.get(
    "/orders/{order_id}", response_model=OrderOut, tags=["orders"], responses=errors(401, 404)
)
def get_order(order_id: str, actor: CurrentActor, ctx: Ctx) -> dict[str, object]:
    return serializers.order(orders.get_order(ctx, actor, order_id))


@router.get("/orders", response_model=OrderPage, tags=["orders"], responses=errors(401, 422))
def list_orders(
    actor: CurrentActor,
    ctx: Ctx,
    limit: Limit,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, object]:
    rows = orders.list_orders(ctx, actor, after=cursor, limit=limit)
    return page([serializers.order(o) for o in rows], limit, lambda r: r["id"])


@router.get("/events", response_model=EventPage, tags=["events"], responses=errors(401, 403, 422))
def events(
    actor: PlatformActor,
    ctx: Ctx,
    limit: Limit,
    after: Annotated[str | None, Query(max_length=32)] = None,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, object]:
    """Every event in commit order. ``next_cursor`` is never null: it is where to poll next
    (pass it as ``after``; it never skips and never repeats). ``has_more`` says whether more
    events are already waiting there: page until it is false."""
    start = after or cursor or "0"
    if not start.isdigit():
        raise ApiError(
            "validation_error", "after must be a cursor from a previous page", field="after"
        )
    with ctx.uow() as uow:
        rows: list[StoredEvent] = uow.events.after(int(start), limit + 1)
        uow.commit()
    has_more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1].seq if rows else int(start)
    return {
        "data": [serializers.event(e) for e in rows],
        "next_cursor": str(last),
        "has_more": has_more,
    }


@router.get("/policy", tags=["policy"], responses=errors(401))
def get_policy(actor: CurrentActor, ctx: Ctx) -> JSONResponse:
    """The active policy: deadlines and the reason catalogue with evidence rules, guidance and
    warnings."""
    return JSONResponse(serializers.policy(ctx.policy))
