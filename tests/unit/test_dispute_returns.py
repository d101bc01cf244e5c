"""Returns: an agreed return-and-refund waits for the buyer to ship and the seller to confirm;
as expected pays the refund, anything else goes to a mediator; silence on either side decides."""

from __future__ import annotations

from datetime import timedelta

import pytest

from builders import (
    BUYER,
    CLASSIC,
    MEDIATOR,
    SELLER,
    STANDARD,
    STRANGER,
    at,
    awaiting_return,
    decide,
    money,
    no_holiday,
    open_dispute,
    refuses,
    seller_offer,
)
from fairdeal.domain.dispute import Action, DecidedBy, Dispute, Result, SolutionStatus, Status
from fairdeal.domain.errors import Forbidden, InvalidTransition, NotFound, ValidationError
from fairdeal.domain.ledger import Movement
from fairdeal.domain.order import ItemDisputeState, Order
from fairdeal.domain.policy import Policy
from fairdeal.services.context import sync_order

POLICIES = pytest.mark.parametrize("policy", [STANDARD, CLASSIC], ids=["standard", "classic"])


def shipped_back(policy: Policy, *, amount: str = "40.00") -> tuple[Dispute, Order]:
    dispute, order = awaiting_return(policy, amount=amount)
    dispute.ship_return(BUYER, carrier="PostNL", tracking_number="RET123", now=at(3))
    return dispute, order


@POLICIES
def test_an_agreed_return_waits_for_the_buyer_to_ship(policy: Policy) -> None:
    dispute, order = awaiting_return(policy)
    assert dispute.status is Status.AWAITING_RETURN
    assert dispute.return_ is not None and dispute.return_.due_by == at(11)
    outcome = dispute.outcome
    assert outcome is not None
    assert (outcome.result, outcome.refund, outcome.return_required) == (
        Result.SETTLED,
        money("40.00"),
        True,
    )
    assert dispute.timeline[-1].type == "return.required"
    assert dispute.take_settlement() is None  # nothing moves until the return arrives
    sync_order(dispute, order, at(1))
    assert order.item_disputes[order.items[0].id].state is ItemDisputeState.LIVE
    assert not order.fire_due(now=at(1000))  # the payout waits for the return too


@POLICIES
def test_the_buyer_ships_the_return_with_a_tracking_number(policy: Policy) -> None:
    dispute, _ = shipped_back(policy)
    assert dispute.status is Status.RETURN_IN_TRANSIT
    ret = dispute.return_
    assert ret is not None
    assert (ret.carrier, ret.tracking_number, ret.shipped_at) == ("PostNL", "RET123", at(3))
    assert ret.confirm_by == at(18)
    assert dispute.pending_events[-1].type == "return.shipped"


@POLICIES
@pytest.mark.parametrize(("carrier", "tracking"), [("", "T1"), ("DHL", "   "), ("DHL", "x" * 101)])
def test_a_return_needs_a_carrier_and_tracking_number(
    policy: Policy, carrier: str, tracking: str
) -> None:
    dispute, _ = awaiting_return(policy)
    refuses(
        ValidationError,
        lambda: dispute.ship_return(BUYER, carrier=carrier, tracking_number=tracking, now=at(2)),
        dispute,
    )


@POLICIES
def test_only_the_buyer_ships_the_return_and_only_when_one_is_due(policy: Policy) -> None:
    dispute, _ = awaiting_return(policy)
    refuses(
        Forbidden,
        lambda: dispute.ship_return(SELLER, carrier="DHL", tracking_number="T", now=at(2)),
        dispute,
    )
    refuses(
        NotFound,
        lambda: dispute.ship_return(STRANGER, carrier="DHL", tracking_number="T", now=at(2)),
        dispute,
    )
    negotiating, _ = open_dispute(policy=policy, outcome="return_and_refund")
    refuses(
        InvalidTransition,
        lambda: negotiating.ship_return(BUYER, carrier="DHL", tracking_number="T", now=at(2)),
        negotiating,
    )
    dispute.ship_return(BUYER, carrier="DHL", tracking_number="T", now=at(2))
    refuses(
        InvalidTransition,
        lambda: dispute.ship_return(BUYER, carrier="DHL", tracking_number="T2", now=at(3)),
        dispute,
    )


@POLICIES
def test_the_seller_confirms_the_return_as_expected_and_the_refund_executes(
    policy: Policy,
) -> None:
    dispute, order = shipped_back(policy, amount="35.00")
    dispute.confirm_return(
        SELLER, condition="as_expected", note="All fine.", now=at(5), is_holiday=no_holiday
    )
    assert dispute.status is Status.CLOSED
    ret = dispute.return_
    assert ret is not None
    assert (ret.received_at, ret.condition, ret.note) == (at(5), "as_expected", "All fine.")
    outcome = dispute.outcome
    assert outcome is not None
    assert (outcome.result, outcome.refund, outcome.decided_by) == (
        Result.SETTLED,
        money("35.00"),
        DecidedBy.AGREEMENT,
    )
    assert dispute.refund is not None and dispute.refund.status == "scheduled"
    sync_order(dispute, order, at(5))
    refund, release = order.pending_ledger[-2:]
    assert (refund.movement, refund.amount) == (Movement.REFUND, money("35.00"))
    assert (release.movement, release.amount) == (Movement.RELEASE, money("5.00"))


@POLICIES
@pytest.mark.parametrize("condition", ["empty", "different_item", "damaged"])
def test_a_parcel_that_is_not_as_expected_goes_to_a_mediator(
    policy: Policy, condition: str
) -> None:
    dispute, order = shipped_back(policy)
    dispute.confirm_return(SELLER, condition=condition, now=at(5), is_holiday=no_holiday)
    assert dispute.status is Status.UNDER_REVIEW
    assert dispute.outcome is None
    assert dispute.mediation is not None
    assert dispute.mediation.trigger == f"return_{condition}"
    assert dispute.mediation.review_due_at == at(12)
    assert dispute.return_ is not None and dispute.return_.condition == condition
    assert "returned parcel" in dispute.timeline[-1].summary
    assert dispute.take_settlement() is None
    # The mediator decides; the goods are back with the seller, so no second return.
    dispute.assign(MEDIATOR, mediator_id=MEDIATOR.user_id, now=at(5))
    decision = decide(dispute, "40.00", kind="return_and_refund", now=at(6))
    dispute.finalize_decision(
        MEDIATOR, decision.id, solution_index=None, now=at(6), is_holiday=no_holiday
    )
    assert dispute.status is Status.CLOSED
    assert dispute.outcome is not None and not dispute.outcome.return_required
    sync_order(dispute, order, at(6))
    assert order.escrow.pending_refund == money("40.00")


@POLICIES
def test_return_receipt_refusals(policy: Policy) -> None:
    dispute, _ = shipped_back(policy)
    refuses(
        ValidationError,
        lambda: dispute.confirm_return(SELLER, condition="lost", now=at(5), is_holiday=no_holiday),
        dispute,
    )
    # Not half a confirmation: a refused note leaves the return unconfirmed.
    refuses(
        ValidationError,
        lambda: dispute.confirm_return(
            SELLER, condition="empty", note="x" * 2001, now=at(5), is_holiday=no_holiday
        ),
        dispute,
    )
    refuses(
        Forbidden,
        lambda: dispute.confirm_return(
            BUYER, condition="as_expected", now=at(5), is_holiday=no_holiday
        ),
        dispute,
    )
    waiting, _ = awaiting_return(policy)
    refuses(
        InvalidTransition,
        lambda: waiting.confirm_return(
            SELLER, condition="as_expected", now=at(5), is_holiday=no_holiday
        ),
        waiting,
    )


@POLICIES
def test_a_return_not_shipped_in_time_is_the_sellers_win(policy: Policy) -> None:
    dispute, order = awaiting_return(policy)
    assert dispute.expire(now=at(11), is_holiday=no_holiday) == "return_shipment"
    outcome = dispute.outcome
    assert outcome is not None
    assert dispute.status is Status.CLOSED
    assert (outcome.result, outcome.refund, outcome.decided_by, outcome.return_required) == (
        Result.SELLER_FAVOUR,
        money("0.00"),
        DecidedBy.RETURN_TIMEOUT,
        False,
    )
    sync_order(dispute, order, at(11))
    assert order.escrow.pending_refund.is_zero
    assert order.escrow.pending_release == money("40.00")
    assert dispute.expire(now=at(11), is_holiday=no_holiday) is None


@POLICIES
def test_a_return_the_seller_never_confirms_is_refunded(policy: Policy) -> None:
    dispute, order = shipped_back(policy)
    assert dispute.expire(now=at(18) - timedelta(seconds=1), is_holiday=no_holiday) is None
    assert dispute.expire(now=at(18), is_holiday=no_holiday) == "return_confirmation"
    assert dispute.status is Status.CLOSED
    assert dispute.outcome is not None and dispute.outcome.refund == money("40.00")
    sync_order(dispute, order, at(18))
    assert order.escrow.pending_refund == money("40.00")
    assert dispute.expire(now=at(18), is_holiday=no_holiday) is None


@POLICIES
def test_no_cancelling_once_the_return_is_on_its_way(policy: Policy) -> None:
    dispute, _ = shipped_back(policy)
    refuses(InvalidTransition, lambda: dispute.cancel(BUYER, now=at(4), window_open=True), dispute)


@POLICIES
def test_the_buyer_may_cancel_an_agreed_return_before_shipping(policy: Policy) -> None:
    dispute, order = awaiting_return(policy)
    dispute.cancel(BUYER, now=at(2), window_open=True)
    assert dispute.status is Status.CANCELLED
    assert dispute.return_ is not None  # the history stays; nothing is due any more
    assert dispute.deadline is None
    sync_order(dispute, order, at(2))
    assert not order.has_live_dispute


@POLICIES
def test_a_seller_return_offer_accepted_by_the_buyer_also_needs_the_return(
    policy: Policy,
) -> None:
    dispute, _ = open_dispute(policy=policy)
    offer = seller_offer(dispute, kind="return_and_refund", amount="40.00")
    dispute.accept_solution(BUYER, offer.id, now=at(2), is_holiday=no_holiday)
    assert dispute.status is Status.AWAITING_RETURN
    assert dispute.return_ is not None and dispute.return_.due_by == at(12)


def test_after_a_disputed_return_the_buyer_still_has_only_one_alternative() -> None:
    """Standard keeps solutions open in mediation. The buyer's own solutions were settled by
    the agreement, so one new alternative is allowed -- and only one."""
    dispute, _ = shipped_back(STANDARD)
    dispute.confirm_return(SELLER, condition="damaged", now=at(5), is_holiday=no_holiday)
    assert dispute.primary_solution.status is SolutionStatus.ACCEPTED
    dispute.propose_solution(BUYER, kind="refund_only", amount=money("20.00"), now=at(6))
    refuses(
        InvalidTransition,
        lambda: dispute.propose_solution(
            BUYER, kind="refund_only", amount=money("25.00"), now=at(6)
        ),
        dispute,
    )
    assert Action.PROPOSE_SOLUTION not in dispute.allowed_actions(BUYER, window_open=True)
