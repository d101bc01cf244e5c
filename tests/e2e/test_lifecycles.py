"""The seed's cases end to end, over HTTP only, with the sandbox clock moving time: what the
buyer, the seller, the mediator and the marketplace see at every step, and where the money
goes. Runs on SQLite and on PostgreSQL (the ``db_url`` fixture)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from e2e.support import World, assert_problem, ok


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def money(value: str, currency: str = "EUR") -> dict[str, str]:
    return {"currency": currency, "value": value}


def fired_for(answer: dict[str, Any], dispute_id: str) -> list[str]:
    return [f["kind"] for f in answer["fired"] if f["dispute_id"] == dispute_id]


def timeline_types(dispute: dict[str, Any]) -> list[str]:
    return [entry["type"] for entry in dispute["timeline"]]


# --- the seller stays silent ------------------------------------------------------------


def test_seller_silence_closes_for_the_buyer_and_schedules_the_refund(world: World) -> None:
    order = world.shipped_order()
    opened = world.open_dispute(order)
    assert opened["deadline"]["kind"] == "seller_response"
    assert opened["deadline"]["party"] == "seller"
    assert at(opened["deadline"]["due_at"]) == at(opened["created_at"]) + timedelta(days=7)
    assert opened["amount_paid"] == money("40.00")
    assert world.get_order(order["id"])["dispute_ids"] == [opened["id"]]

    six_days = world.advance(days=6)
    assert fired_for(six_days, opened["id"]) == []
    assert world.dispute(opened["id"])["status"] == "awaiting_seller_response"

    answer = world.advance(days=1)
    assert fired_for(answer, opened["id"]) == ["seller_response"]

    closed = world.dispute(opened["id"], as_=world.buyer)
    assert closed["status"] == "closed"
    assert closed["deadline"] is None
    assert closed["closed_at"] is not None
    outcome = closed["outcome"]
    assert outcome["decided_by"] == "seller_timeout"
    assert outcome["result"] == "buyer_favour"
    assert outcome["refund"] == money("40.00")
    assert outcome["rule"] and outcome["explanation"]
    # Submitted to the (sandbox) payment provider, not yet confirmed (docs/payments.md).
    assert closed["refund"]["status"] == "processing"
    assert closed["refund"]["completed_at"] is None
    assert closed["refund"]["amount"] == money("40.00")
    assert at(closed["refund"]["expected_by"]) > at(closed["closed_at"])
    assert {"dispute.closed", "refund.scheduled"} <= set(timeline_types(closed))

    escrow = world.get_order(order["id"], as_=world.seller)["escrow"]
    assert escrow == {
        "held": money("55.00"),
        # Decided, not yet confirmed: refunded counts confirmed money only.
        "refunded": money("0.00"),
        "pending_refund": money("40.00"),
        # The other item and the shipping stay in escrow until the order's payout.
        "released": money("0.00"),
        "pending_release": money("0.00"),
    }

    # The sandbox provider confirms at the promised moment: only then is it completed.
    world.advance(days=20)
    refund = world.dispute(opened["id"])["refund"]
    assert refund["status"] == "completed"
    assert refund["completed_at"] is not None
    assert world.get_order(order["id"])["escrow"]["refunded"] == money("40.00")


# --- negotiation, escalation, a mediator's decision --------------------------------------


@pytest.mark.parametrize("ending", ["both_parties_accept", "nobody_answers", "mediator_finalizes"])
def test_negotiation_escalates_and_ends_in_a_mediator_decision(world: World, ending: str) -> None:
    order = world.shipped_order()
    opened = world.open_dispute(order)

    offered = world.act(
        world.seller,
        opened,
        "solutions",
        {"kind": "refund_only", "amount": "10.00", "comment": "Only a scratch."},
        201,
    )
    assert offered["status"] == "negotiating"
    offer = offered["solutions"][-1]
    assert (offer["proposed_by"], offer["status"], offer["amount"]) == (
        "seller",
        "pending",
        money("10.00"),
    )
    assert offered["deadline"]["kind"] == "negotiation"
    rejected = world.act(world.buyer, opened, f"solutions/{offer['id']}/reject")
    assert rejected["solutions"][-1]["status"] == "rejected"
    assert rejected["status"] == "negotiating"

    answer = world.advance(days=7)
    assert fired_for(answer, opened["id"]) == ["negotiation"]
    escalated = world.dispute(opened["id"], as_=world.mediator)
    assert escalated["status"] == "under_review"
    assert escalated["mediation"]["escalated_at"] is not None
    assert escalated["mediation"]["mediator_id"] is None

    queue = ok(world.mediator.get("/mediation/queue"))
    assert [row["id"] for row in queue["data"]] == [opened["id"]]

    assigned = world.act(world.mediator, opened, "assign")
    assert assigned["mediation"]["mediator_id"] == world.mediator.user_id

    decided = world.act(
        world.mediator,
        opened,
        "decisions",
        {
            "solutions": [
                {"kind": "refund_only", "amount": "30.00", "comment": "Most of the price."},
                {"kind": "return_and_refund", "amount": "40.00"},
            ],
            "rationale": "The photo shows a cracked housing; the item still works.",
        },
        201,
    )
    decision = decided["mediation"]["decision"]
    assert decision["status"] == "proposed"
    assert [s["amount"] for s in decision["solutions"]] == [money("30.00"), money("40.00")]
    assert at(decision["respond_by"]) == at(decided["updated_at"]) + timedelta(days=3)
    assert decided["deadline"]["kind"] == "decision_response"
    assert "accept_decision" in world.dispute(opened["id"], as_=world.buyer)["allowed_actions"]

    if ending == "both_parties_accept":
        after_buyer = world.act(
            world.buyer, opened, f"decisions/{decision['id']}/accept", {"solution_index": 0}
        )
        assert after_buyer["status"] == "under_review"
        final = world.act(world.seller, opened, f"decisions/{decision['id']}/accept")
    elif ending == "nobody_answers":
        answer = world.advance(days=3)
        assert fired_for(answer, opened["id"]) == ["decision_response"]
        final = world.dispute(opened["id"], as_=world.seller)
    else:
        final = world.act(
            world.mediator, opened, f"decisions/{decision['id']}/finalize", {"solution_index": 0}
        )

    assert final["status"] == "closed"
    assert final["outcome"]["decided_by"] == "mediator"
    assert final["outcome"]["result"] == "buyer_favour"
    assert final["outcome"]["refund"] == money("30.00")
    assert final["mediation"]["decision"]["status"] == "final"
    # Closed by the clock, the sandbox clock's advance also submitted the refund.
    submitted = ending == "nobody_answers"
    assert final["refund"]["status"] == ("processing" if submitted else "scheduled")
    escrow = world.get_order(order["id"])["escrow"]
    # Decided, not yet confirmed by the payment provider (docs/payments.md): the refund waits
    # for its expected_by. The rest of the disputed item's price goes to the seller; the
    # sandbox provider confirms a payout at once, so where the clock's advance closed the
    # dispute (and then ran the payments) it is already released.
    assert escrow["pending_refund"] == money("30.00")
    released, pending = (money("10.00"), money("0.00"))
    if not submitted:
        released, pending = pending, released
    assert (escrow["released"], escrow["pending_release"]) == (released, pending)

    # Final: it cannot be appealed or cancelled.
    assert_problem(world.buyer.post(f"/disputes/{opened['id']}/cancel"), 409, "invalid_transition")


# --- returns ------------------------------------------------------------------------------


def agreed_return(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    """A return-and-refund the seller accepted: the dispute waits for the buyer's parcel."""
    order = world.shipped_order()
    opened = world.open_dispute(order, desired_outcome="return_and_refund")
    primary = opened["solutions"][0]
    assert primary["kind"] == "return_and_refund"
    accepted = world.act(world.seller, opened, f"solutions/{primary['id']}/accept")
    assert accepted["status"] == "awaiting_return"
    assert accepted["outcome"]["return_required"] is True
    assert accepted["outcome"]["decided_by"] == "agreement"
    assert accepted["deadline"]["kind"] == "return_shipment"
    assert at(accepted["return"]["due_by"]) == at(accepted["updated_at"]) + timedelta(days=10)
    assert accepted["refund"] is None
    return order, accepted


def test_a_return_never_shipped_closes_for_the_seller_without_refund(world: World) -> None:
    order, dispute = agreed_return(world)

    answer = world.advance(days=10)
    assert fired_for(answer, dispute["id"]) == ["return_shipment"]

    closed = world.dispute(dispute["id"], as_=world.buyer)
    assert closed["status"] == "closed"
    assert closed["outcome"]["decided_by"] == "return_timeout"
    assert closed["outcome"]["result"] == "seller_favour"
    assert closed["outcome"]["refund"] == money("0.00")
    assert closed["refund"] is None
    escrow = world.get_order(order["id"])["escrow"]
    assert escrow["refunded"] == money("0.00")
    assert escrow["released"] == money("40.00")


def test_a_return_that_arrives_as_expected_pays_the_refund(world: World) -> None:
    order, dispute = agreed_return(world)

    shipped = world.act(
        world.buyer, dispute, "return-shipment", {"carrier": "DHL", "tracking_number": "RT1"}
    )
    assert shipped["status"] == "return_in_transit"
    assert shipped["return"]["tracking_number"] == "RT1"
    assert shipped["return"]["shipped_at"] is not None
    assert shipped["deadline"]["kind"] == "return_confirmation"
    assert shipped["deadline"]["party"] == "seller"

    received = world.act(
        world.seller, dispute, "return-receipt", {"condition": "as_expected", "note": "Fine."}
    )
    assert received["status"] == "closed"
    assert received["return"]["condition"] == "as_expected"
    assert received["return"]["received_at"] is not None
    assert received["outcome"]["refund"] == money("40.00")
    assert received["refund"]["status"] == "scheduled"
    assert world.get_order(order["id"])["escrow"]["pending_refund"] == money("40.00")


def test_an_empty_returned_parcel_goes_to_a_mediator(world: World) -> None:
    order, dispute = agreed_return(world)
    world.act(world.buyer, dispute, "return-shipment", {"carrier": "DHL", "tracking_number": "RT2"})

    reported = world.act(
        world.seller, dispute, "return-receipt", {"condition": "empty", "note": "Nothing inside."}
    )
    assert reported["status"] == "under_review"
    assert reported["return"]["condition"] == "empty"
    assert reported["mediation"]["escalated_at"] is not None
    assert reported["outcome"] is None
    assert reported["refund"] is None
    assert world.get_order(order["id"])["escrow"]["refunded"] == money("0.00")
    queue = ok(world.mediator.get("/mediation/queue"))
    assert dispute["id"] in [row["id"] for row in queue["data"]]


# --- cancel and reopen --------------------------------------------------------------------


def test_the_buyer_cancels_and_reopens(world: World) -> None:
    order = world.shipped_order()
    opened = world.open_dispute(order)

    cancelled = world.act(world.buyer, opened, "cancel")
    assert cancelled["status"] == "cancelled"
    assert cancelled["outcome"]["result"] == "cancelled"
    assert cancelled["outcome"]["decided_by"] == "buyer"
    assert cancelled["deadline"] is None
    assert "reopen" in cancelled["allowed_actions"]
    assert world.get_order(order["id"])["escrow"]["refunded"] == money("0.00")

    # Time passes: nothing fires for a cancelled dispute.
    assert fired_for(world.advance(days=8), opened["id"]) == []

    reopened = world.act(world.buyer, opened, "reopen")
    assert reopened["status"] == "awaiting_seller_response"
    assert reopened["outcome"] is None
    assert reopened["closed_at"] is None
    assert reopened["deadline"]["kind"] == "seller_response"
    assert at(reopened["deadline"]["due_at"]) >= at(cancelled["updated_at"]) + timedelta(days=8)
    assert reopened["solutions"][0]["status"] == "pending"
    types = timeline_types(reopened)
    assert types.index("dispute.cancelled") < types.index("dispute.reopened")

    # The seller answers the reopened dispute like a new one.
    primary = reopened["solutions"][0]
    settled = world.act(world.seller, opened, f"solutions/{primary['id']}/accept")
    assert settled["status"] == "closed"
    assert settled["outcome"]["result"] == "settled"
    assert settled["outcome"]["decided_by"] == "agreement"


# --- an evidence request nobody answers -------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "result", "refund"),
    [("seller", "buyer_favour", "40.00"), ("buyer", "seller_favour", "0.00")],
)
def test_an_ignored_evidence_request_closes_for_the_other_party(
    world: World, asked: str, result: str, refund: str
) -> None:
    order = world.shipped_order()
    opened = world.open_dispute(order)
    world.escalate_by_timeout(opened)

    requested = world.act(
        world.mediator,
        opened,
        "evidence-requests",
        {"party": asked, "request": "A photo of the serial number, please.", "days": 3},
        201,
    )
    request = requested["mediation"]["evidence_requests"][-1]
    assert (request["party"], request["status"]) == (asked, "open")
    assert requested["deadline"]["kind"] == "evidence_request"
    assert requested["deadline"]["party"] == asked
    assert requested["mediation"]["mediator_id"] == world.mediator.user_id

    answer = world.advance(days=3)
    assert fired_for(answer, opened["id"]) == ["evidence_request"]
    closed = world.dispute(opened["id"])
    assert closed["status"] == "closed"
    assert closed["outcome"]["result"] == result
    assert closed["outcome"]["refund"] == money(refund)
    assert closed["outcome"]["decided_by"] == "mediator"
    assert closed["mediation"]["evidence_requests"][-1]["status"] == "expired"
    assert world.get_order(order["id"])["escrow"]["pending_refund"] == money(refund)


def test_an_answered_evidence_request_does_not_decide(world: World) -> None:
    opened = world.open_dispute()
    world.escalate_by_timeout(opened)
    world.act(
        world.mediator,
        opened,
        "evidence-requests",
        {"party": "seller", "request": "The packing photo.", "days": 3},
        201,
    )
    photo = world.upload(world.seller)
    answered = world.act(
        world.seller, opened, "evidence", {"file_id": photo["id"], "description": "Packed"}, 201
    )
    assert answered["mediation"]["evidence_requests"][-1]["status"] == "fulfilled"
    assert answered["evidence"][-1]["added_by"] == "seller"
    assert answered["deadline"]["kind"] != "evidence_request"

    assert fired_for(world.advance(days=3), opened["id"]) == []
    assert world.dispute(opened["id"])["status"] == "under_review"
    # The buyer, a party to the dispute, may download the seller's evidence.
    download = world.buyer.get(f"/files/{photo['id']}")
    assert download.status_code == 200
    assert download.headers["content-type"] == "image/png"


# --- ETag and If-Match ----------------------------------------------------------------


def test_every_dispute_answer_carries_its_version_as_etag(world: World) -> None:
    opened_response = world.buyer.post("/disputes", world.dispute_body(world.shipped_order()))
    opened = ok(opened_response, 201)
    assert opened_response.headers["etag"] == f'"{opened["version"]}"'

    for caller in (world.buyer, world.seller, world.mediator, world.platform):
        read = caller.get(f"/disputes/{opened['id']}")
        assert read.headers["etag"] == f'"{opened["version"]}"'

    written = world.seller.post(
        f"/disputes/{opened['id']}/messages",
        {"body": "Sorry to hear that."},
        headers={"If-Match": f'"{opened["version"]}"'},
    )
    message = ok(written, 201)
    assert message["version"] > opened["version"]
    assert written.headers["etag"] == f'"{message["version"]}"'
    # A weak validator names the same version.
    patched = world.buyer.patch(
        f"/disputes/{opened['id']}",
        {"description": "It arrived broken; the box was crushed."},
        headers={"If-Match": f'W/"{message["version"]}"'},
    )
    assert ok(patched)["description"].endswith("crushed.")
    assert patched.headers["etag"] == f'"{patched.json()["version"]}"'


def test_a_write_with_a_stale_if_match_is_refused_and_changes_nothing(world: World) -> None:
    opened = world.open_dispute()
    stale = f'"{opened["version"]}"'
    current = world.act(world.seller, opened, "messages", {"body": "Let me check."}, 201)
    assert current["version"] != opened["version"]

    for response in (
        world.buyer.post(
            f"/disputes/{opened['id']}/messages",
            {"body": "Please hurry."},
            headers={"If-Match": stale},
        ),
        world.buyer.patch(
            f"/disputes/{opened['id']}", {"description": "Changed."}, headers={"If-Match": stale}
        ),
        world.buyer.post(f"/disputes/{opened['id']}/cancel", headers={"If-Match": stale}),
    ):
        assert_problem(response, 412, "version_conflict")

    after = world.dispute(opened["id"])
    assert after["version"] == current["version"]
    assert after["status"] == "awaiting_seller_response"
    assert after["description"] == opened["description"]
    assert [m["body"] for m in after["messages"]] == ["Let me check."]

    fresh = world.buyer.post(
        f"/disputes/{opened['id']}/messages",
        {"body": "Thanks."},
        headers={"If-Match": f'"{current["version"]}"'},
    )
    assert ok(fresh, 201)["messages"][-1]["body"] == "Thanks."


# --- the event feed -----------------------------------------------------------------------


def test_the_event_feed_lists_every_event_in_order_and_pages_without_repeats(
    world: World,
) -> None:
    opened = world.open_dispute()
    world.act(world.seller, opened, "messages", {"body": "Checking."}, 201)
    world.advance(days=7)

    everything = ok(world.platform.get("/events", params={"limit": 100}))["data"]
    ids = [e["id"] for e in everything]
    assert len(ids) == len(set(ids))
    for event in everything:
        assert {"id", "type", "created_at", "data"} <= event.keys()
    mine = [e["type"] for e in everything if e["data"].get("dispute_id") == opened["id"]]
    assert mine == [
        "dispute.opened",
        "dispute.message_posted",
        "dispute.closed",
        "refund.scheduled",
        "payment.requested",  # the refund submitted to the (sandbox) payment provider
    ]
    assert "order.shipped" in [e["type"] for e in everything]
    assert [e["type"] for e in everything].index("order.shipped") < [
        e["type"] for e in everything
    ].index("dispute.opened")

    # Small pages, each continuing from the cursor of the last: the same events, once each.
    paged, cursor, cursors = [], None, []
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor is not None:
            params["after"] = cursor
        page = ok(world.platform.get("/events", params=params))
        assert len(page["data"]) <= 2
        paged.extend(page["data"])
        if not page["data"]:
            assert page["next_cursor"] == cursor  # the end: poll again from the same place
            break
        cursor = page["next_cursor"]
        cursors.append(cursor)
    assert [e["id"] for e in paged] == ids

    # Replayable from any cursor.
    replay = ok(world.platform.get("/events", params={"after": cursors[0], "limit": 100}))
    assert [e["id"] for e in replay["data"]] == ids[2:]

    # New events continue the feed after the last cursor, without repeating the old ones.
    world.act(world.buyer, world.open_dispute(), "messages", {"body": "Hello?"}, 201)
    later = ok(world.platform.get("/events", params={"after": cursor}))["data"]
    assert [e["type"] for e in later] == [
        "order.shipped",
        "dispute.opened",
        "dispute.message_posted",
    ]
    assert not {e["id"] for e in later} & set(ids)


# --- the sandbox clock --------------------------------------------------------------------


def test_sandbox_advance_answers_now_and_what_fired_in_due_order(world: World) -> None:
    before = at(ok(world.anonymous.get("/sandbox/clock"))["now"])
    nothing = world.advance(hours=1)
    assert set(nothing) == {"now", "fired"}
    assert nothing["fired"] == []
    assert at(nothing["now"]) >= before + timedelta(hours=1)

    # All fields are optional: an empty advance moves nothing and fires what is due.
    empty = world.advance()
    assert empty["fired"] == []
    assert at(empty["now"]) >= at(nothing["now"])

    first = world.open_dispute()
    world.advance(hours=2)
    second = world.open_dispute()

    answer = world.advance(days=7)
    assert set(answer) == {"now", "fired"}
    clock_now = at(ok(world.platform.get("/sandbox/clock"))["now"])
    assert at(answer["now"]) <= clock_now
    fired = [f for f in answer["fired"] if f["kind"] == "seller_response"]
    assert [f["dispute_id"] for f in fired] == [first["id"], second["id"]]
    for entry in answer["fired"]:
        assert {"dispute_id", "kind", "due_at"} <= entry.keys()
        assert at(entry["due_at"]) <= at(answer["now"])
    due = [at(f["due_at"]) for f in answer["fired"]]
    assert due == sorted(due)
    assert at(fired[0]["due_at"]) == at(first["deadline"]["due_at"])


def test_an_order_payout_fires_when_protection_ends_without_a_dispute(world: World) -> None:
    order = world.shipped_order(protection_days=1)
    answer = world.advance(days=2)
    payouts = [f for f in answer["fired"] if f["kind"] == "payout"]
    assert len(payouts) == 1
    assert payouts[0]["dispute_id"] is None
    assert payouts[0]["order_id"] == order["id"]
    completed = world.get_order(order["id"])
    assert completed["status"] == "completed"
    assert completed["escrow"]["released"] == money("55.00")
