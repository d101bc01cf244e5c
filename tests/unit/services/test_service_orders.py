"""Order use cases through ``fairdeal.services.orders``, on the fakes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from fairdeal.domain.dispute import Actor
from fairdeal.domain.errors import Forbidden, NotFound, ValidationError
from fairdeal.domain.order import OrderStatus, Payment
from fairdeal.services import orders
from fairdeal.services.context import Context
from fakes import FakeClock


@pytest.fixture
def people(make_user: Callable[[str, str], Actor]) -> dict[str, Actor]:
    return {
        role: make_user(role, role.title()) for role in ("platform", "buyer", "seller", "mediator")
    } | {"stranger": make_user("buyer", "Stranger")}


def register(ctx: Context, people: dict[str, Actor], price: str = "40.00") -> orders.Order:
    return orders.register_order(
        ctx,
        people["platform"],
        buyer_id=people["buyer"].user_id,
        seller_id=people["seller"].user_id,
        currency="EUR",
        items=[orders.NewItem(sku="A", title="Lamp", quantity=1, unit_price=price)],
        shipping_cost="5.00",
        payment=Payment("card", "pay_1", "DE"),
    )


def test_a_registered_order_holds_its_total_and_says_so(
    ctx: Context, people: dict[str, Actor]
) -> None:
    commits: list[int] = []
    ctx.on_commit.append(lambda events: commits.append(len(events)))
    order = register(ctx, people)
    assert order.version == 1
    assert order.escrow.held.minor == 4500
    assert len(commits) == 1  # the commit's listeners heard of it
    with ctx.uow(write=False) as uow:
        assert [t.movement.value for t in uow.ledger(order.id)] == ["hold"]


def test_only_existing_parties_of_the_right_role_can_be_named(
    ctx: Context, people: dict[str, Actor]
) -> None:
    with pytest.raises(ValidationError) as refused:
        orders.register_order(
            ctx,
            people["platform"],
            buyer_id=people["seller"].user_id,
            seller_id=people["seller"].user_id,
            currency="EUR",
            items=[orders.NewItem(sku="A", title="Lamp", quantity=1, unit_price="1.00")],
            payment=Payment("card", "pay_1", "DE"),
        )
    assert refused.value.field == "buyer_id"


def test_the_seller_ships_and_the_buyer_confirms(
    ctx: Context, people: dict[str, Actor], clock: FakeClock
) -> None:
    order = register(ctx, people)
    shipped = orders.ship_order(
        ctx,
        people["seller"],
        order.id,
        carrier="DHL",
        tracking_number="T1",
        protection_days=30,
    )
    assert (shipped.status, shipped.version) == (OrderStatus.AWAITING_RECEIPT, 2)
    clock.advance(days=3)
    received = orders.confirm_receipt(ctx, people["buyer"], order.id)
    assert received.received_at == clock.now()
    with pytest.raises(Forbidden):
        orders.confirm_receipt(ctx, people["seller"], order.id)


def test_strangers_cannot_tell_an_order_exists(ctx: Context, people: dict[str, Actor]) -> None:
    order = register(ctx, people)
    with pytest.raises(NotFound):
        orders.get_order(ctx, people["stranger"], order.id)
    with pytest.raises(NotFound):
        orders.get_order(ctx, people["buyer"], "ord_missing")
    assert orders.get_order(ctx, people["mediator"], order.id).id == order.id


def test_each_party_lists_its_own_orders_newest_first(
    ctx: Context, people: dict[str, Actor]
) -> None:
    first, second = register(ctx, people), register(ctx, people, "10.00")
    mine = orders.list_orders(ctx, people["buyer"], after=None, limit=10)
    assert [o.id for o in mine] == [second.id, first.id]
    assert orders.list_orders(ctx, people["stranger"], after=None, limit=10) == []
    page = orders.list_orders(ctx, people["platform"], after=second.id, limit=10)
    assert [o.id for o in page] == [first.id]


def test_protection_is_extended_by_the_seller_only(
    ctx: Context, people: dict[str, Actor], clock: FakeClock
) -> None:
    order = register(ctx, people)
    shipped = orders.ship_order(
        ctx, people["seller"], order.id, carrier="DHL", tracking_number="T1", protection_days=30
    )
    assert shipped.protection_ends_at is not None
    extended = orders.extend_protection(ctx, people["seller"], order.id, days=10)
    assert extended.protection_ends_at == shipped.protection_ends_at + timedelta(days=10)
    with pytest.raises(Forbidden):
        orders.extend_protection(ctx, people["buyer"], order.id, days=10)
