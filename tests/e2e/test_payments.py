"""Money movements over HTTP (docs/payments.md), on SQLite and PostgreSQL: the sandbox
provider's whole refund life, the marketplace's callbacks, their refusals, retry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.support import Caller, World, assert_problem, ok, running_world
from fairdeal.services import payments, users


def admin(world: World) -> Caller:
    made = users.create_user(
        world.app.ctx,
        role="admin",
        name="Admin",
        email="admin@e2e.test",
        allowed_roles={"admin"},
    )
    return Caller(world.http, made.api_token, made.user.id, "admin")


def money(value: str) -> dict[str, str]:
    return {"currency": "EUR", "value": value}


def movements(world: World, order_id: str, as_: Caller | None = None) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = ok((as_ or world.platform).get(f"/orders/{order_id}/payments"))[
        "data"
    ]
    return data


def settled_by_the_seller(world: World, order: dict[str, Any] | None = None) -> dict[str, Any]:
    """The seller accepts the buyer's full refund of the first item (40.00 of 55.00)."""
    opened = world.open_dispute(order)
    return world.act(world.seller, opened, f"solutions/{opened['solutions'][0]['id']}/accept")


def refund_reference(world: World, payment_id: str) -> str:
    """The order's payment reference, as registered (read from the order itself)."""
    with world.app.ctx.uow(write=False) as uow:
        movement = uow.payments.get(payment_id)
        assert movement is not None
        order = uow.orders.get(movement.order_id)
        assert order is not None
        return order.payment.reference


@pytest.fixture
def marketplace(db_url: str, tmp_path: Path) -> Iterator[World]:
    """The API in marketplace mode: the marketplace moves the money and reports back."""
    with running_world(db_url, tmp_path / "files", payments="marketplace") as created:
        yield created


def test_the_sandbox_carries_a_refund_through_its_whole_life(world: World) -> None:
    order = world.shipped_order()
    opened = world.open_dispute(order)
    world.advance(days=7)  # the seller's silence: closed for the buyer, refund decided
    closed = world.dispute(opened["id"], as_=world.buyer)
    assert closed["refund"]["status"] == "processing"

    (refund,) = movements(world, order["id"], as_=world.buyer)
    assert refund["kind"] == "refund" and refund["dispute_id"] == opened["id"]
    assert refund["amount"] == money("40.00")
    assert (refund["status"], refund["provider"], refund["attempts"]) == ("submitted", "sandbox", 1)
    assert refund["simulated"] is True  # the sandbox moves no real money, and says so
    assert refund["provider_reference"].startswith("sbx_")
    assert refund["completed_at"] is None
    assert movements(world, order["id"], as_=world.seller) == [refund]

    world.advance(days=20)  # past expected_by: the sandbox provider confirms
    (done,) = movements(world, order["id"])
    assert done["status"] == "succeeded" and done["completed_at"] is not None
    after = world.dispute(opened["id"], as_=world.buyer)["refund"]
    assert after["status"] == "completed"
    assert after["completed_at"] == done["completed_at"]
    escrow = world.get_order(order["id"])["escrow"]
    assert (escrow["refunded"], escrow["pending_refund"]) == (money("40.00"), money("0.00"))
    types = [e["type"] for e in world.events() if e["data"].get("payment_id") == done["id"]]
    assert types == ["payment.requested", "payment.succeeded"]
    feed = [e["type"] for e in world.events() if e["data"].get("dispute_id") == opened["id"]]
    assert feed.count("refund.completed") == 1


def test_strangers_do_not_see_an_orders_payments(world: World) -> None:
    order = world.shipped_order()
    settled_by_the_seller(world, order)
    for stranger in (world.other_buyer, world.other_seller, world.mediator):
        assert_problem(stranger.get(f"/orders/{order['id']}/payments"), 404, "not_found")
    assert_problem(world.platform.get("/orders/ord_unknown/payments"), 404, "not_found")
    assert_problem(world.buyer.get("/payments"), 403, "forbidden")
    assert_problem(world.anonymous.get("/payments"), 401, "unauthenticated")


def test_a_declined_sandbox_refund_fails_with_the_providers_words(world: World) -> None:
    body = world.order_body()
    body["payment"]["reference"] = "pay_decline_card_closed"
    order = ok(world.platform.post("/orders", body), 201)
    world.ship(order)
    closed = settled_by_the_seller(world, order)
    payments.run_until_idle(world.app.ctx)
    (refund,) = movements(world, order["id"])  # the whole item refunded: no payout
    assert refund["status"] == "failed"
    assert refund["last_error"] == "the card issuer declined the transfer (sandbox)"
    after = world.dispute(closed["id"], as_=world.buyer)
    assert after["refund"]["status"] == "failed"
    types = {e["type"] for e in world.events()}
    assert {"refund.failed", "payment.failed"} <= types
    # The admin's list: failed movements, with a retry.
    failed = ok(world.platform.get("/payments", params={"status": "failed"}))["data"]
    assert [m["id"] for m in failed] == [refund["id"]]
    retried = ok(admin(world).post(f"/payments/{refund['id']}/retry"))
    assert retried["status"] == "pending"
    assert world.dispute(closed["id"])["refund"]["status"] == "scheduled"


def test_the_marketplace_is_asked_to_move_the_money_and_reports_back(marketplace: World) -> None:
    world = marketplace
    order = world.shipped_order()
    closed = settled_by_the_seller(world, order)
    (refund,) = movements(world, order["id"])
    assert refund["status"] == "pending"
    assert refund["provider"] == "marketplace" and refund["simulated"] is False

    payments.run_until_idle(world.app.ctx)  # the worker's turn
    refund = movements(world, order["id"])[0]
    assert refund["status"] == "submitted"
    assert world.dispute(closed["id"])["refund"]["status"] == "processing"
    requested = [e for e in world.events() if e["type"] == "payment.requested"]
    mine = next(e for e in requested if e["data"]["payment_id"] == refund["id"])
    assert mine["data"]["movement"]["amount"] == money("40.00")
    assert mine["data"]["payment"] == {
        "method": "card",
        "reference": refund_reference(world, refund["id"]),
        "country": "DE",
    }
    payments.run_until_idle(world.app.ctx)  # nothing is requested twice
    again = [e for e in world.events() if e["type"] == "payment.requested"]
    assert len(again) == len(requested) == 1

    # Only the platform reports the provider's answer.
    assert_problem(
        world.buyer.post(f"/payments/{refund['id']}/succeeded", {"provider_reference": "re_1"}),
        403,
        "forbidden",
    )
    assert_problem(
        world.platform.post("/payments/pay_unknown/succeeded", {"provider_reference": "re_1"}),
        404,
        "not_found",
    )
    assert_problem(
        world.platform.post(f"/payments/{refund['id']}/succeeded", {}), 422, "validation_error"
    )

    done = ok(
        world.platform.post(f"/payments/{refund['id']}/succeeded", {"provider_reference": "re_1"})
    )
    assert (done["status"], done["provider_reference"]) == ("succeeded", "re_1")
    assert world.dispute(closed["id"])["refund"]["status"] == "completed"
    assert world.get_order(order["id"])["escrow"]["refunded"] == money("40.00")

    # The same report again: 200, nothing changes (no second confirmation, no second ledger
    # entry); another reference: 409.
    repeat = ok(
        world.platform.post(f"/payments/{refund['id']}/succeeded", {"provider_reference": "re_1"})
    )
    assert repeat == done
    assert world.get_order(order["id"])["escrow"]["refunded"] == money("40.00")
    assert_problem(
        world.platform.post(f"/payments/{refund['id']}/succeeded", {"provider_reference": "re_2"}),
        409,
        "invalid_transition",
    )
    assert_problem(
        world.platform.post(f"/payments/{refund['id']}/failed", {"reason": "late"}),
        409,
        "invalid_transition",
    )
    assert_problem(
        world.platform.post(f"/payments/{refund['id']}/retry"), 409, "invalid_transition"
    )
    completed = [e for e in world.events() if e["type"] == "refund.completed"]
    assert len(completed) == 1


def test_a_refund_the_marketplace_reports_failed_can_be_retried(marketplace: World) -> None:
    world = marketplace
    order = world.shipped_order()
    closed = settled_by_the_seller(world, order)
    payments.run_until_idle(world.app.ctx)
    refund = movements(world, order["id"])[0]

    failed = ok(world.platform.post(f"/payments/{refund['id']}/failed", {"reason": "card closed"}))
    assert (failed["status"], failed["last_error"]) == ("failed", "card closed")
    assert world.dispute(closed["id"], as_=world.buyer)["refund"]["status"] == "failed"
    assert world.get_order(order["id"])["escrow"]["pending_refund"] == money("40.00")
    assert_problem(
        world.platform.post(f"/payments/{refund['id']}/succeeded", {"provider_reference": "re_1"}),
        409,
        "invalid_transition",
    )
    listed = ok(world.platform.get("/payments", params={"status": "failed"}))["data"]
    assert [m["id"] for m in listed] == [refund["id"]]

    assert_problem(world.seller.post(f"/payments/{refund['id']}/retry"), 403, "forbidden")
    retried = ok(admin(world).post(f"/payments/{refund['id']}/retry"))
    assert retried["status"] == "pending"
    payments.run_until_idle(world.app.ctx)
    requested = [
        e
        for e in world.events()
        if e["type"] == "payment.requested" and e["data"]["payment_id"] == refund["id"]
    ]
    assert len(requested) == 2  # requested again after the retry
    ok(world.platform.post(f"/payments/{refund['id']}/succeeded", {"provider_reference": "re_9"}))
    assert world.dispute(closed["id"])["refund"]["status"] == "completed"
