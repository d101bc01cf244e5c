"""Builders for domain objects, so that a test says only what matters to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fairdeal.domain.dispute import Actor, Dispute, Role
from fairdeal.domain.money import Money
from fairdeal.domain.order import LineItem, Order, Payment
from fairdeal.domain.policy import Policy
from fairdeal.policies import load_preset

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # a Monday
BUYER = Actor("usr_buyer", Role.BUYER)
SELLER = Actor("usr_seller", Role.SELLER)
MEDIATOR = Actor("usr_mediator", Role.MEDIATOR)
OTHER_MEDIATOR = Actor("usr_mediator2", Role.MEDIATOR)
STRANGER = Actor("usr_stranger", Role.BUYER)
PHOTO = [("file_photo", "image/jpeg")]

STANDARD = load_preset("standard")
CLASSIC = load_preset("classic")


def no_holiday(_: object) -> bool:
    return False


def make_order(
    *,
    policy: Policy = STANDARD,
    currency: str = "USD",
    prices: tuple[str, ...] = ("40.00", "10.00"),
    shipping: str = "5.00",
    now: datetime = T0,
    order_id: str = "ord_1",
    category: str | None = None,
) -> Order:
    items = [
        LineItem(
            f"{order_id}_item_{i + 1}",
            f"SKU{i + 1}",
            f"Item {i + 1}",
            category,
            1,
            Money.parse(price, currency),
        )
        for i, price in enumerate(prices)
    ]
    return Order.register_paid(
        order_id=order_id,
        buyer_id=BUYER.user_id,
        seller_id=SELLER.user_id,
        currency=currency,
        items=items,
        shipping_cost=Money.parse(shipping, currency),
        payment=Payment("card", "pay_123", "DE"),
        policy=policy,
        now=now,
    )


def shipped_order(*, days_ago: int = 12, protection_days: int = 60, **kwargs: object) -> Order:
    order = make_order(now=T0 - timedelta(days=days_ago + 1), **kwargs)  # type: ignore[arg-type]
    order.ship(
        carrier="DHL",
        tracking_number="TRK1",
        protection_days=protection_days,
        now=T0 - timedelta(days=days_ago),
    )
    return order


def open_dispute(
    order: Order | None = None,
    *,
    policy: Policy = STANDARD,
    reason: str = "damaged",
    outcome: str = "refund_only",
    amount: str = "40.00",
    item_ids: list[str] | None = None,
    now: datetime = T0,
    evidence: list[tuple[str, str]] | None = None,
    dispute_id: str = "dsp_1",
) -> tuple[Dispute, Order]:
    order = order or shipped_order(policy=policy)
    dispute = Dispute.open(
        dispute_id=dispute_id,
        order=order,
        buyer=BUYER,
        item_ids=item_ids if item_ids is not None else [order.items[0].id],
        reason=reason,
        desired_outcome=outcome,
        amount=Money.parse(amount, order.currency),
        description="It arrived broken.",
        evidence=PHOTO if evidence is None else evidence,
        policy=policy,
        now=now,
    )
    return dispute, order
