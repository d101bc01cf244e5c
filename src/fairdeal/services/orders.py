"""Order use cases: register paid, ship, track, extend protection, confirm receipt, read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from fairdeal.domain.errors import Forbidden, NotFound, ValidationError
from fairdeal.domain.money import Money, check_currency
from fairdeal.domain.order import LineItem, Order, Payment, TrackingEvent, TrackingStatus
from fairdeal.domain.roles import Actor, Role
from fairdeal.services.context import Context, load_order, retrying
from fairdeal.services.ports import OrderFilter
from fairdeal.services.users import require_role

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class NewItem:
    sku: str
    title: str
    quantity: int
    unit_price: object  # a decimal string, or a money mapping already checked by the caller
    category: str | None = None


def register_order(
    ctx: Context,
    actor: Actor,
    *,
    buyer_id: str,
    seller_id: str,
    currency: str,
    items: list[NewItem],
    shipping_cost: object = "0",
    payment: Payment,
) -> Order:
    """The platform registers a paid order; its total is held in escrow."""
    require_role(actor, Role.PLATFORM, Role.ADMIN)
    check_currency(currency)
    with ctx.uow() as uow:
        for field_name, user_id, role in (
            ("buyer_id", buyer_id, "buyer"),
            ("seller_id", seller_id, "seller"),
        ):
            user = uow.users.get(user_id)
            if user is None or user.role != role:
                raise ValidationError(
                    f"{field_name} must name an existing {role}", field=field_name
                )
        order_id = ctx.ids.new("ord")
        line_items = [
            LineItem(
                id=f"{order_id}_item_{index + 1}",
                sku=_required(item.sku, f"items.{index}.sku"),
                title=_required(item.title, f"items.{index}.title"),
                category=item.category,
                quantity=item.quantity,
                unit_price=Money.parse(
                    item.unit_price, currency, field=f"items.{index}.unit_price"
                ),
            )
            for index, item in enumerate(items)
        ]
        order = Order.register_paid(
            order_id=order_id,
            buyer_id=buyer_id,
            seller_id=seller_id,
            currency=currency,
            items=line_items,
            shipping_cost=Money.parse(shipping_cost, currency, field="shipping_cost"),
            payment=payment,
            policy=ctx.policy,
            now=ctx.clock.now(),
        )
        uow.orders.add(order)
        uow.commit()
    ctx.committed(uow)
    return order


def ship_order(
    ctx: Context,
    actor: Actor,
    order_id: str,
    *,
    carrier: str,
    tracking_number: str,
    protection_days: int,
) -> Order:
    def act(order: Order, now: datetime) -> None:
        if actor.role is Role.SELLER or actor.role in (Role.PLATFORM, Role.ADMIN):
            order.ship(
                carrier=carrier,
                tracking_number=tracking_number,
                protection_days=protection_days,
                now=now,
            )
        else:
            raise Forbidden("only the seller or the platform can ship an order")

    return _change_order(ctx, actor, order_id, act)


def record_tracking(
    ctx: Context,
    actor: Actor,
    order_id: str,
    *,
    status: str,
    at: datetime,
    location: str | None = None,
    description: str | None = None,
) -> Order:
    require_role(actor, Role.PLATFORM, Role.ADMIN)
    try:
        tracking_status = TrackingStatus(status)
    except ValueError:
        raise ValidationError(
            "status must be in_transit, delivered or exception", field="status"
        ) from None

    def act(order: Order, now: datetime) -> None:
        order.record_tracking(TrackingEvent(tracking_status, at, location, description))

    return _change_order(ctx, actor, order_id, act)


def extend_protection(ctx: Context, actor: Actor, order_id: str, *, days: int) -> Order:
    require_role(actor, Role.SELLER)
    return _change_order(
        ctx, actor, order_id, lambda o, now: o.extend_protection(days=days, now=now)
    )


def confirm_receipt(ctx: Context, actor: Actor, order_id: str) -> Order:
    require_role(actor, Role.BUYER)
    return _change_order(ctx, actor, order_id, lambda o, now: o.confirm_receipt(now=now))


def get_order(ctx: Context, actor: Actor, order_id: str) -> Order:
    with ctx.uow(write=False) as uow:
        return load_order(uow, actor, order_id)


def list_orders(ctx: Context, actor: Actor, *, after: str | None, limit: int) -> list[Order]:
    query = OrderFilter(after=after, limit=limit)
    if actor.role is Role.BUYER:
        query = OrderFilter(buyer_id=actor.user_id, after=after, limit=limit)
    elif actor.role is Role.SELLER:
        query = OrderFilter(seller_id=actor.user_id, after=after, limit=limit)
    with ctx.uow(write=False) as uow:
        return uow.orders.list(query)


def _change_order(
    ctx: Context, actor: Actor, order_id: str, act: Callable[[Order, datetime], None]
) -> Order:
    def attempt() -> Order:
        with ctx.uow() as uow:
            order = load_order(uow, actor, order_id)
            act(order, ctx.clock.now())
            uow.commit()
        ctx.committed(uow)
        return order

    return retrying(attempt)


def _required(value: str, field_name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field_name} is required", field=field_name)
    if len(value) > 500:
        raise ValidationError(f"{field_name} is longer than 500 characters", field=field_name)
    return value.strip()


__all__ = [
    "NewItem",
    "NotFound",
    "Payment",
    "confirm_receipt",
    "extend_protection",
    "get_order",
    "list_orders",
    "record_tracking",
    "register_order",
    "ship_order",
]
