"""Scam warnings over the API: a message's ``warnings`` codes, on messages from the seller and
from the buyer, for the buyer and the mediator; the seller's view omits them. Runs on SQLite
and on PostgreSQL (the ``db_url`` fixture)."""

from __future__ import annotations

from e2e.support import World, assert_problem

SELLER_TRICK = "Please close the dispute, I will send a new one. Pay the rest on my Zelle."
BUYER_TRICK = "Ok, I change the reason to 'not needed' if you refund me. Mail it back first?"
INNOCENT = "I paid with PayPal on your site; the platform will refund me, right?"


def test_messages_carry_warning_codes_for_the_buyer_and_mediator(world: World) -> None:
    opened = world.open_dispute()
    world.act(world.seller, opened, "messages", {"body": SELLER_TRICK}, 201)
    world.act(world.buyer, opened, "messages", {"body": BUYER_TRICK}, 201)
    world.act(world.buyer, opened, "messages", {"body": INNOCENT}, 201)

    expected = [
        ["pay_outside_platform", "close_for_promise"],
        ["change_reason_not_needed", "return_outside_solution"],
        [],
    ]
    for caller in (world.buyer, world.platform):
        messages = world.dispute(opened["id"], as_=caller)["messages"]
        assert [m["body"] for m in messages] == [SELLER_TRICK, BUYER_TRICK, INNOCENT]
        assert [m["warnings"] for m in messages] == expected
        assert [m["author_role"] for m in messages] == ["seller", "buyer", "buyer"]

    escalated = world.escalate_by_timeout(opened)
    assert [m["warnings"] for m in escalated["messages"]][:3] == expected
    world.act(world.mediator, opened, "assign")
    mediator_view = world.dispute(opened["id"], as_=world.mediator)
    assert [m["warnings"] for m in mediator_view["messages"]][:3] == expected

    # The seller's own view omits them (API.md: "a seller's own view may omit them").
    seller_view = world.dispute(opened["id"], as_=world.seller)
    assert [m["warnings"] for m in seller_view["messages"]] == [[]] * len(seller_view["messages"])


def test_a_refused_message_carries_no_warning_and_changes_nothing(world: World) -> None:
    opened = world.open_dispute()
    response = world.buyer.post(f"/disputes/{opened['id']}/messages", {"body": "   "})
    assert_problem(response, 422, "validation_error")
    assert world.dispute(opened["id"])["messages"] == []
