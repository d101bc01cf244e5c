"""The order: registered paid (money held), shipped (protection starts), tracked, received,
completed (money released) -- and nothing released while a dispute is live."""

from __future__ import annotations

from datetime import timedelta

import pytest

from builders import (
    BUYER,
    CLASSIC,
    SELLER,
    STANDARD,
    T0,
    at,
    make_order,
    money,
    no_holiday,
    open_dispute,
    refuses,
    shipped_order,
)
from fairdeal.domain.errors import InvalidTransition, ValidationError
from fairdeal.domain.ledger import Movement
from fairdeal.domain.money import Money
from fairdeal.domain.order import (
    ItemDisputeState,
    LineItem,
    Order,
    OrderStatus,
    Payment,
    TrackingEvent,
    TrackingStatus,
)
from fairdeal.domain.policy import Policy
from fairdeal.services.context import sync_order

POLICIES = pytest.mark.parametrize("policy", [STANDARD, CLASSIC], ids=["standard", "classic"])


def item(price: str = "10.00", quantity: int = 1, currency: str = "USD") -> LineItem:
    return LineItem("itm_1", "SKU", "Thing", None, quantity, Money.parse(price, currency))


def register(**overrides: object) -> Order:
    args: dict[str, object] = {
        "order_id": "ord_x",
        "buyer_id": BUYER.user_id,
        "seller_id": SELLER.user_id,
        "currency": "USD",
        "items": [item()],
        "shipping_cost": money("0.00"),
        "payment": Payment("card", "pay_1", "DE"),
        "policy": STANDARD,
        "now": T0,
    }
    args.update(overrides)
    return Order.register_paid(**args)  # type: ignore[arg-type]


def payout(order: Order) -> list[Money]:
    return [tx.amount for tx in order.pending_ledger if tx.movement is Movement.RELEASE]


# --- registration -------------------------------------------------------------------------


def test_a_paid_order_holds_its_whole_total() -> None:
    order = register(items=[item("12.50", quantity=3)], shipping_cost=money("2.00"))
    assert order.status is OrderStatus.AWAITING_SHIPMENT
    assert order.total == money("39.50")
    assert order.escrow.held == money("39.50")
    assert order.escrow.available == money("39.50")
    assert order.dispute_window_ends_at is None
    assert order.fire_at is None


@pytest.mark.parametrize(
    "overrides",
    [
        {"items": []},
        {"seller_id": BUYER.user_id},
        {"items": [item(quantity=0)]},
        {"items": [item(price="10.00", currency="EUR")]},
        {"items": [item(price="-1.00")]},
        {"shipping_cost": money("-0.01")},
        {"items": [item(price="0.00")]},
    ],
    ids=["no-items", "self-dealing", "zero-quantity", "other-currency", "negative-price",
         "negative-shipping", "zero-total"],
)  # fmt: skip
def test_registration_refuses_malformed_orders(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as caught:
        register(**overrides)
    assert type(caught.value) is ValidationError


def test_amount_paid_is_per_item_or_the_whole_order_with_shipping() -> None:
    order = make_order()
    first, second = order.items
    assert order.amount_paid_for([first.id]) == money("40.00")
    assert order.amount_paid_for([first.id, second.id]) == money("50.00")
    assert order.amount_paid_for(None) == money("55.00")
    with pytest.raises(ValidationError):
        order.amount_paid_for(["itm_unknown"])


# --- shipping and tracking ------------------------------------------------------------------


@POLICIES
def test_shipping_starts_buyer_protection(policy: Policy) -> None:
    order = make_order(policy=policy)
    order.ship(carrier=" DHL ", tracking_number="TRK1", protection_days=60, now=at(1))
    assert order.status is OrderStatus.AWAITING_RECEIPT
    assert order.shipped_at == at(1)
    assert order.protection_ends_at == at(61)
    assert order.dispute_window_ends_at == at(61)
    assert order.carrier == "DHL"
    assert order.pending_events[-1].type == "order.shipped"


def test_an_order_ships_once() -> None:
    order = shipped_order()
    refuses(
        InvalidTransition,
        lambda: order.ship(carrier="UPS", tracking_number="T2", protection_days=30, now=T0),
        order,
    )


@pytest.mark.parametrize(
    ("carrier", "tracking", "days"),
    [("", "T1", 30), ("DHL", "  ", 30), ("DHL", "T1", 0), ("DHL", "T1", 366), ("DHL", "T1", True)],
)
def test_shipping_needs_a_carrier_tracking_and_sane_protection(
    carrier: str, tracking: str, days: int
) -> None:
    order = make_order()
    refuses(
        ValidationError,
        lambda: order.ship(carrier=carrier, tracking_number=tracking, protection_days=days, now=T0),
        order,
    )


def test_tracking_is_recorded_only_after_shipping_and_kept_in_time_order() -> None:
    order = make_order()
    refuses(
        InvalidTransition,
        lambda: order.record_tracking(TrackingEvent(TrackingStatus.IN_TRANSIT, T0)),
        order,
    )
    order = shipped_order()
    order.record_tracking(TrackingEvent(TrackingStatus.DELIVERED, at(-1), "Berlin"))
    order.record_tracking(TrackingEvent(TrackingStatus.IN_TRANSIT, at(-5), "Leipzig"))
    assert [e.status for e in order.tracking] == [
        TrackingStatus.IN_TRANSIT,
        TrackingStatus.DELIVERED,
    ]
    assert not order.parcel_moving
    order.record_tracking(TrackingEvent(TrackingStatus.IN_TRANSIT, at(0), "Berlin"))
    assert order.parcel_moving


# --- extending protection -------------------------------------------------------------------


def test_the_seller_extends_protection_before_it_ends() -> None:
    order = shipped_order(days_ago=12, protection_days=60)  # ends at T0 + 48 days
    order.extend_protection(days=10, now=at(47))
    assert order.protection_ends_at == at(58)
    assert order.dispute_window_ends_at == at(58)


def test_protection_cannot_be_extended_once_it_ended() -> None:
    order = shipped_order(days_ago=12, protection_days=60)
    refuses(InvalidTransition, lambda: order.extend_protection(days=5, now=at(48)), order)
    refuses(InvalidTransition, lambda: order.extend_protection(days=5, now=at(90)), order)


def test_protection_cannot_be_extended_before_shipping_or_after_completion() -> None:
    order = make_order()
    refuses(InvalidTransition, lambda: order.extend_protection(days=5, now=T0), order)
    order = shipped_order(days_ago=12, protection_days=60)
    order.confirm_receipt(now=T0)
    assert order.fire_due(now=at(15))
    refuses(InvalidTransition, lambda: order.extend_protection(days=5, now=at(16)), order)


@pytest.mark.parametrize("days", [0, -3, 366, 1.5, True])
def test_extension_is_a_whole_number_of_days(days: int) -> None:
    order = shipped_order()
    refuses(ValidationError, lambda: order.extend_protection(days=days, now=T0), order)


# --- receipt and completion -----------------------------------------------------------------


def test_confirming_receipt_opens_the_grace_period() -> None:
    order = shipped_order(days_ago=12, protection_days=60)
    order.confirm_receipt(now=T0)
    assert order.status is OrderStatus.RECEIVED
    assert order.received_at == T0
    assert order.dispute_window_ends_at == at(15)
    refuses(InvalidTransition, lambda: order.confirm_receipt(now=at(1)), order)


def test_receipt_cannot_be_confirmed_before_shipping() -> None:
    order = make_order()
    refuses(InvalidTransition, lambda: order.confirm_receipt(now=T0), order)


@POLICIES
def test_after_receipt_payout_waits_for_the_15_day_grace_period(policy: Policy) -> None:
    assert policy.deadlines.post_receipt_grace_days == 15
    order = shipped_order(policy=policy)
    order.confirm_receipt(now=T0)
    assert order.fire_at == at(15)
    assert not order.fire_due(now=at(15) - timedelta(seconds=1))
    assert order.status is OrderStatus.RECEIVED
    assert payout(order) == []
    assert order.fire_due(now=at(15))
    assert order.status is OrderStatus.COMPLETED
    assert order.completed_at == at(15)
    assert payout(order) == [money("55.00")]
    assert order.escrow.available.is_zero
    assert order.pending_events[-1].type == "order.completed"


def test_without_receipt_the_order_completes_when_protection_ends() -> None:
    order = shipped_order(days_ago=12, protection_days=60)
    assert order.fire_at == at(48)
    assert not order.fire_due(now=at(47))
    assert order.fire_due(now=at(48))
    assert payout(order) == [money("55.00")]


def test_an_unshipped_order_never_pays_out() -> None:
    order = make_order()
    assert order.fire_at is None
    assert not order.fire_due(now=at(1000))
    assert order.escrow.available == money("55.00")


def test_completion_happens_once() -> None:
    order = shipped_order(days_ago=12, protection_days=60)
    assert order.fire_due(now=at(48))
    assert order.fire_at is None
    assert not order.fire_due(now=at(100))
    assert len(payout(order)) == 1


def test_nothing_is_released_while_a_dispute_is_live() -> None:
    _, order = open_dispute()
    assert order.has_live_dispute
    assert order.fire_at is None
    assert not order.fire_due(now=at(1000))
    assert payout(order) == []
    assert order.escrow.available == money("55.00")


def test_once_the_dispute_closes_the_rest_is_released_when_the_window_ends() -> None:
    dispute, order = open_dispute(amount="30.00")
    dispute.accept_solution(SELLER, dispute.primary_solution.id, now=at(1), is_holiday=no_holiday)
    sync_order(dispute, order, at(1))
    assert order.escrow.pending_refund == money("30.00")
    assert payout(order) == [money("10.00")]  # the rest of what was paid for the item
    assert order.fire_at == order.protection_ends_at
    assert order.fire_due(now=order.protection_ends_at)
    assert payout(order) == [money("10.00"), money("15.00")]  # the other item and shipping
    assert order.escrow.held == order.escrow.pending_refund + order.escrow.pending_release


def test_a_cancelled_dispute_does_not_hold_the_payout() -> None:
    dispute, order = open_dispute()
    dispute.cancel(BUYER, now=at(1), window_open=True)
    sync_order(dispute, order, at(1))
    assert not order.has_live_dispute
    assert order.fire_due(now=order.protection_ends_at)
    assert payout(order) == [money("55.00")]


def test_a_finished_dispute_does_not_untrack_another_dispute_on_the_same_item() -> None:
    """A cancelled dispute whose item was taken by a new dispute must not mark the item free
    again when it is touched later (a mediator's note), or the payout would escape."""
    first, order = open_dispute()
    first.cancel(BUYER, now=at(1), window_open=True)
    sync_order(first, order, at(1))
    second, _ = open_dispute(order, dispute_id="dsp_2", now=at(2))
    assert second.is_open
    assert order.item_disputes[order.items[0].id].dispute_id == "dsp_2"
    order.track_dispute(first.id, first.item_ids, first.item_state)  # e.g. after a note
    assert order.item_disputes[order.items[0].id].dispute_id == "dsp_2"
    assert order.item_disputes[order.items[0].id].state is ItemDisputeState.LIVE
    assert order.has_live_dispute
    assert not order.fire_due(now=at(1000))
    assert order.dispute_ids == ["dsp_1", "dsp_2"]


def test_the_window_after_completion_is_closed() -> None:
    order = shipped_order(days_ago=12, protection_days=60)
    assert order.window_open(T0)
    order.fire_due(now=at(48))
    assert not order.window_open(at(48))
