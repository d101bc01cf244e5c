"""Deadlines: every open dispute has exactly one next deadline; each kind fires once, at its
time, with the outcome the policy names; an action that makes it moot leaves nothing to fire."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from builders import (
    BUYER,
    CLASSIC,
    MEDIATOR,
    SELLER,
    STANDARD,
    T0,
    at,
    awaiting_return,
    decide,
    money,
    no_holiday,
    open_dispute,
    refuses,
    seller_offer,
    snapshot,
    under_review,
)
from fairdeal.domain.clock import add_business_days
from fairdeal.domain.dispute import DecidedBy, Dispute, Result, SolutionStatus, Status
from fairdeal.domain.errors import InvalidTransition
from fairdeal.domain.policy import Policy
from fairdeal.services.context import sync_order

POLICIES = pytest.mark.parametrize("policy", [STANDARD, CLASSIC], ids=["standard", "classic"])


def fire(dispute: Dispute, moment: datetime, is_holiday=no_holiday) -> str | None:  # type: ignore[no-untyped-def]
    return dispute.expire(now=moment, is_holiday=is_holiday)


def fire_next(dispute: Dispute) -> str | None:
    """Fire the next deadline exactly at its time, and check it fires only once."""
    due = dispute.fire_at
    assert due is not None
    kind = fire(dispute, due)
    assert kind is not None
    before = snapshot(dispute)
    if dispute.fire_at is None or dispute.fire_at > due:
        assert fire(dispute, due) is None
        assert [dispute] == before
    return kind


# --- seller silence ---------------------------------------------------------------------------


@POLICIES
def test_seller_silence_closes_for_the_buyer_on_the_buyers_solution(policy: Policy) -> None:
    days = {"standard": 7, "classic": 5}[policy.name]
    dispute, order = open_dispute(policy=policy, amount="30.00")
    assert fire(dispute, at(days) - timedelta(seconds=1)) is None
    assert fire_next(dispute) == "seller_response"
    outcome = dispute.outcome
    assert outcome is not None
    assert dispute.status is Status.CLOSED
    assert dispute.closed_at == at(days)
    assert (outcome.result, outcome.refund, outcome.decided_by) == (
        Result.BUYER_FAVOUR,
        money("30.00"),
        DecidedBy.SELLER_TIMEOUT,
    )
    assert outcome.rule == f"{policy.name}: deadlines.seller_response_days = {days}"
    assert f"within {days} days" in outcome.explanation
    assert dispute.timeline[-2].type == "dispute.closed"
    assert dispute.timeline[-1].type == "refund.scheduled"
    sync_order(dispute, order, at(days))
    assert order.escrow.pending_refund == money("30.00")


@POLICIES
def test_seller_silence_on_a_return_and_refund_goes_to_the_return_step(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy, outcome="return_and_refund")
    assert fire_next(dispute) == "seller_response"
    assert dispute.status is Status.AWAITING_RETURN
    assert dispute.outcome is not None and dispute.outcome.return_required
    assert dispute.outcome.decided_by is DecidedBy.SELLER_TIMEOUT
    assert dispute.take_settlement() is None  # nothing moves before the return


@POLICIES
def test_a_seller_answer_makes_the_seller_deadline_moot(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    dispute.reject_solution(SELLER, dispute.primary_solution.id, now=at(1))
    deadline = dispute.deadline
    assert deadline is not None and deadline.kind == "negotiation"
    if policy is CLASSIC:
        # The classic seller deadline (5 days) is earlier than the negotiation end (15 days).
        before = snapshot(dispute)
        assert fire(dispute, at(5)) is None
        assert [dispute] == before


# --- negotiation --------------------------------------------------------------------------


@POLICIES
def test_negotiation_without_agreement_escalates_on_its_own(policy: Policy) -> None:
    days = {"standard": 7, "classic": 15}[policy.name]
    dispute, _ = open_dispute(policy=policy)
    dispute.reject_solution(SELLER, dispute.primary_solution.id, now=at(1))
    deadline = dispute.deadline
    assert deadline is not None
    assert (deadline.kind, deadline.due_at, deadline.party, deadline.on_expiry) == (
        "negotiation",
        at(days),  # counted from opening, not from the seller's answer
        "both",
        "escalate",
    )
    assert fire_next(dispute) == "negotiation"
    assert dispute.status is Status.UNDER_REVIEW
    assert dispute.outcome is None
    assert dispute.mediation is not None
    assert (dispute.mediation.trigger, dispute.mediation.escalated_at) == (
        "negotiation_timeout",
        at(days),
    )
    assert dispute.mediation.review_due_at == at(days + 7)
    assert dispute.timeline[-1].type == "dispute.escalated"


def test_standard_has_no_buyer_answer_clock() -> None:
    dispute, _ = open_dispute(policy=STANDARD)
    seller_offer(dispute, amount="5.00", now=at(1))
    assert STANDARD.deadlines.buyer_answer_days is None
    assert [d.kind for d in dispute.pending_deadlines()] == ["negotiation"]
    assert fire_next(dispute) == "negotiation"  # the buyer's silence escalates, not closes


def test_classic_buyer_silence_closes_on_the_sellers_offer() -> None:
    dispute, order = open_dispute(policy=CLASSIC)
    offer = seller_offer(dispute, amount="12.00", now=at(1))
    deadline = dispute.deadline
    assert deadline is not None
    assert (deadline.kind, deadline.due_at, deadline.party) == ("buyer_answer", at(6), "buyer")
    assert deadline.on_expiry == "close_on_seller_solution"
    assert fire_next(dispute) == "buyer_answer"
    outcome = dispute.outcome
    assert outcome is not None
    assert dispute.status is Status.CLOSED
    assert (outcome.result, outcome.refund, outcome.decided_by) == (
        Result.BUYER_FAVOUR,
        money("12.00"),
        DecidedBy.BUYER_TIMEOUT,
    )
    assert outcome.rule == "classic: deadlines.buyer_answer_days = 5"
    assert "within 5 days" in outcome.explanation
    assert offer.status is SolutionStatus.PENDING  # it took effect; nobody accepted it
    sync_order(dispute, order, at(6))
    assert order.escrow.pending_refund == money("12.00")
    assert order.escrow.pending_release == money("28.00")


def test_classic_buyer_silence_on_a_zero_refund_is_the_sellers_win() -> None:
    dispute, _ = open_dispute(policy=CLASSIC)
    seller_offer(dispute, amount="0.00", now=at(1))
    assert fire_next(dispute) == "buyer_answer"
    assert dispute.outcome is not None
    assert dispute.outcome.result is Result.SELLER_FAVOUR
    assert dispute.refund is None


def test_classic_buyer_silence_on_a_return_offer_goes_to_the_return_step() -> None:
    dispute, _ = open_dispute(policy=CLASSIC)
    seller_offer(dispute, kind="return_and_refund", amount="40.00", now=at(1))
    assert fire_next(dispute) == "buyer_answer"
    assert dispute.status is Status.AWAITING_RETURN


def test_classic_counter_offer_restarts_the_buyers_clock() -> None:
    dispute, _ = open_dispute(policy=CLASSIC)
    first = seller_offer(dispute, amount="5.00", now=at(1))
    assert dispute.buyer_answer_due == at(6)
    seller_offer(dispute, amount="8.00", now=at(4))
    assert dispute.buyer_answer_due == at(9)
    # Editing an offer is a new offer too.
    offer = dispute.solutions[-1]
    dispute.edit_solution(SELLER, offer.id, now=at(7), amount=dispute.amount_paid)
    assert dispute.buyer_answer_due == at(12)
    assert first.status is SolutionStatus.SUPERSEDED
    before = snapshot(dispute)
    assert fire(dispute, at(6)) is None  # the first clock is moot
    assert [dispute] == before


def test_classic_buyer_rejecting_stops_the_buyers_clock() -> None:
    dispute, _ = open_dispute(policy=CLASSIC)
    offer = seller_offer(dispute, amount="5.00", now=at(1))
    dispute.reject_solution(BUYER, offer.id, now=at(2))
    assert dispute.buyer_answer_due is None
    assert dispute.deadline is not None and dispute.deadline.kind == "negotiation"
    assert fire(dispute, at(6)) is None
    assert fire_next(dispute) == "negotiation"


def test_classic_negotiation_end_comes_first_when_the_buyers_clock_runs_later() -> None:
    dispute, _ = open_dispute(policy=CLASSIC)
    seller_offer(dispute, amount="5.00", now=at(12))
    assert dispute.buyer_answer_due == at(17)
    assert dispute.deadline is not None and dispute.deadline.due_at == at(15)
    assert fire_next(dispute) == "negotiation"
    assert dispute.status is Status.UNDER_REVIEW
    assert dispute.buyer_answer_due is None


@POLICIES
def test_an_agreement_makes_the_negotiation_deadline_moot(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    offer = seller_offer(dispute, amount="5.00", now=at(1))
    dispute.accept_solution(BUYER, offer.id, now=at(2), is_holiday=no_holiday)
    before = snapshot(dispute)
    assert fire(dispute, at(policy.deadlines.negotiation_days)) is None
    assert [dispute] == before


# --- mediation clocks -----------------------------------------------------------------------


@POLICIES
def test_an_ignored_evidence_request_to_the_seller_closes_for_the_buyer(policy: Policy) -> None:
    dispute, _, escalated = under_review(policy, amount="30.00")
    dispute.request_evidence(
        MEDIATOR, party="seller", request="Packing photos", days=None, now=escalated
    )
    deadline = dispute.deadline
    assert deadline is not None
    assert (deadline.kind, deadline.due_at, deadline.party, deadline.on_expiry) == (
        "evidence_request",
        escalated + timedelta(days=3),
        "seller",
        "close_for_buyer",
    )
    assert fire_next(dispute) == "evidence_request"
    outcome = dispute.outcome
    assert outcome is not None
    assert (outcome.result, outcome.refund, outcome.decided_by) == (
        Result.BUYER_FAVOUR,
        money("30.00"),  # the buyer's primary solution
        DecidedBy.MEDIATOR,
    )
    assert outcome.rule == f"{policy.name}: deadlines.evidence_request_days = 3"
    assert "seller did not provide the evidence" in outcome.explanation
    assert dispute.mediation is not None
    assert dispute.mediation.evidence_requests[0].status == "expired"


@POLICIES
def test_an_ignored_evidence_request_to_the_buyer_closes_for_the_seller(policy: Policy) -> None:
    dispute, order, escalated = under_review(policy)
    dispute.request_evidence(
        MEDIATOR, party="buyer", request="Unboxing video", days=2, now=escalated
    )
    assert dispute.deadline is not None
    assert dispute.deadline.due_at == escalated + timedelta(days=2)
    assert fire_next(dispute) == "evidence_request"
    outcome = dispute.outcome
    assert outcome is not None
    assert dispute.status is Status.CLOSED
    assert (outcome.result, outcome.refund, outcome.decided_by) == (
        Result.SELLER_FAVOUR,
        money("0.00"),
        DecidedBy.MEDIATOR,
    )
    assert outcome.rule == f"{policy.name}: deadlines.evidence_request_days = 3"
    sync_order(dispute, order, dispute.closed_at)  # type: ignore[arg-type]
    assert order.escrow.pending_refund.is_zero
    assert order.escrow.pending_release == money("40.00")


@POLICIES
def test_evidence_provided_in_time_makes_the_request_moot(policy: Policy) -> None:
    dispute, _, escalated = under_review(policy)
    request = dispute.request_evidence(
        MEDIATOR, party="buyer", request="Unboxing video", days=None, now=escalated
    )
    dispute.add_evidence(BUYER, file_id="file_unbox", content_type="video/mp4", now=escalated)
    assert request.status == "fulfilled"
    before = snapshot(dispute)
    assert fire(dispute, request.due_at) is None
    assert [dispute] == before
    assert dispute.deadline is not None and dispute.deadline.kind == "mediator_review"


@POLICIES
def test_an_unchallenged_decision_becomes_final_when_the_window_ends(policy: Policy) -> None:
    dispute, _, escalated = under_review(policy)
    decide(dispute, "25.00", now=escalated + timedelta(days=1))
    deadline = dispute.deadline
    assert deadline is not None
    assert (deadline.kind, deadline.due_at, deadline.on_expiry) == (
        "decision_response",
        escalated + timedelta(days=4),
        "decision_final",
    )
    assert fire_next(dispute) == "decision_response"
    outcome = dispute.outcome
    assert outcome is not None
    assert (outcome.result, outcome.refund, outcome.decided_by) == (
        Result.BUYER_FAVOUR,
        money("25.00"),
        DecidedBy.MEDIATOR,
    )
    assert outcome.rule == f"{policy.name}: deadlines.decision_response_days = 3"
    assert "became final unchallenged" in outcome.explanation
    assert "Rationale: The photos show transit damage." in outcome.explanation


@POLICIES
def test_the_mediator_review_target_only_flags_the_case_once(policy: Policy) -> None:
    dispute, _, escalated = under_review(policy)
    deadline = dispute.deadline
    assert deadline is not None
    assert (deadline.kind, deadline.due_at, deadline.party, deadline.on_expiry) == (
        "mediator_review",
        escalated + timedelta(days=7),
        "mediator",
        "flag_overdue",
    )
    assert fire_next(dispute) == "mediator_review"
    assert dispute.status is Status.UNDER_REVIEW
    assert dispute.mediation is not None and dispute.mediation.review_overdue
    assert dispute.outcome is None
    assert dispute.timeline[-1].type == "mediation.overdue"
    # Still shown as the one deadline, but it will not fire again.
    assert dispute.deadline is not None and not dispute.deadline.fires
    assert dispute.fire_at is None
    assert fire(dispute, escalated + timedelta(days=300)) is None


# --- returns and refunds --------------------------------------------------------------------


@POLICIES
def test_a_return_not_shipped_in_time_closes_for_the_seller_without_refund(policy: Policy) -> None:
    dispute, order = awaiting_return(policy)
    deadline = dispute.deadline
    assert deadline is not None
    assert (deadline.kind, deadline.due_at, deadline.party) == ("return_shipment", at(11), "buyer")
    assert fire_next(dispute) == "return_shipment"
    outcome = dispute.outcome
    assert outcome is not None
    assert (outcome.result, outcome.refund, outcome.decided_by) == (
        Result.SELLER_FAVOUR,
        money("0.00"),
        DecidedBy.RETURN_TIMEOUT,
    )
    assert outcome.rule == f"{policy.name}: deadlines.return_ship_days = 10"
    assert dispute.refund is None
    sync_order(dispute, order, at(11))
    assert order.escrow.pending_release == money("40.00")


@POLICIES
def test_an_unconfirmed_return_executes_the_refund(policy: Policy) -> None:
    dispute, order = awaiting_return(policy, amount="35.00")
    dispute.ship_return(BUYER, carrier="DHL", tracking_number="R1", now=at(3))
    deadline = dispute.deadline
    assert deadline is not None
    assert (deadline.kind, deadline.due_at, deadline.party, deadline.on_expiry) == (
        "return_confirmation",
        at(18),
        "seller",
        "execute_refund",
    )
    assert fire_next(dispute) == "return_confirmation"
    outcome = dispute.outcome
    assert outcome is not None
    assert dispute.status is Status.CLOSED
    assert outcome.refund == money("35.00")
    assert outcome.rule == f"{policy.name}: deadlines.return_confirm_days = 15"
    assert "did not confirm it within 15 days" in outcome.explanation
    assert dispute.refund is not None and dispute.refund.status == "scheduled"
    sync_order(dispute, order, at(18))
    assert order.escrow.pending_refund == money("35.00")


@POLICIES
def test_a_shipped_return_makes_the_shipping_deadline_moot(policy: Policy) -> None:
    dispute, _ = awaiting_return(policy)
    dispute.ship_return(BUYER, carrier="DHL", tracking_number="R1", now=at(2))
    before = snapshot(dispute)
    assert fire(dispute, at(11)) is None
    assert [dispute] == before


@POLICIES
def test_the_refund_is_promised_within_10_business_days_and_no_clock_completes_it(
    policy: Policy,
) -> None:
    dispute, _ = open_dispute(policy=policy)
    # Accepted on Monday T0: ten business days later is Monday two weeks on.
    dispute.accept_solution(SELLER, dispute.primary_solution.id, now=T0, is_holiday=no_holiday)
    refund = dispute.refund
    assert refund is not None
    assert (refund.status, refund.amount, refund.initiated_at) == ("scheduled", money("40.00"), T0)
    assert refund.expected_by == at(14)
    # Only the payment provider's confirmation completes a refund (docs/payments.md).
    assert dispute.fire_at is None
    assert fire(dispute, at(30)) is None
    assert refund.status == "scheduled"
    dispute.refund_processing(at(1))
    assert refund.status == "processing"
    dispute.refund_completed(at(15))
    assert (refund.status, refund.completed_at) == ("completed", at(15))
    assert dispute.status is Status.CLOSED
    assert dispute.timeline[-1].type == "refund.completed"
    assert [e.type for e in dispute.pending_events][-1] == "refund.completed"
    dispute.refund_completed(at(16))  # a second confirmation changes nothing
    assert refund.completed_at == at(15)


def test_refund_schedule_skips_weekends() -> None:
    friday = datetime(2026, 11, 6, 16, 0, tzinfo=UTC)
    assert add_business_days(friday, 1, no_holiday) == friday + timedelta(days=3)
    assert add_business_days(friday, 10, no_holiday) == friday + timedelta(days=14)
    saturday = friday + timedelta(days=1)
    assert add_business_days(saturday, 1, no_holiday) == friday + timedelta(days=3)


def test_refund_schedule_skips_the_payment_countrys_holidays() -> None:
    holidays = {date(2026, 11, 5), date(2026, 11, 11)}
    dispute, _ = open_dispute()
    dispute.accept_solution(
        SELLER, dispute.primary_solution.id, now=T0, is_holiday=lambda day: day in holidays
    )
    assert dispute.refund is not None
    assert dispute.refund.expected_by == at(16)  # two weekdays lost: Wednesday the 18th


def test_a_holiday_on_a_weekend_costs_nothing() -> None:
    assert add_business_days(T0, 10, lambda day: day == date(2026, 11, 7)) == at(14)


# --- one deadline at a time -----------------------------------------------------------------


def open_states(policy: Policy) -> list[Dispute]:
    fresh, _ = open_dispute(policy=policy)
    offered, _ = open_dispute(policy=policy)
    seller_offer(offered)
    reviewed, _, _ = under_review(policy)
    returning, _ = awaiting_return(policy)
    shipped, _ = awaiting_return(policy)
    shipped.ship_return(BUYER, carrier="DHL", tracking_number="R1", now=at(2))
    return [fresh, offered, reviewed, returning, shipped]


@POLICIES
def test_every_open_dispute_has_exactly_one_next_deadline(policy: Policy) -> None:
    for dispute in open_states(policy):
        assert dispute.is_open
        deadline = dispute.deadline
        assert deadline is not None, dispute.status
        assert deadline.explanation and deadline.on_expiry
        firing = [d for d in dispute.pending_deadlines() if d.fires]
        assert deadline == min(firing, key=lambda d: d.due_at)
        assert dispute.fire_at == deadline.due_at


@POLICIES
def test_closed_and_cancelled_disputes_have_no_deadline(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    dispute.cancel(BUYER, now=at(1), window_open=True)
    assert dispute.deadline is None and dispute.fire_at is None
    assert fire(dispute, at(100)) is None
    dispute, _ = open_dispute(policy=policy)
    offer = seller_offer(dispute, amount="0.00")
    dispute.accept_solution(BUYER, offer.id, now=at(2), is_holiday=no_holiday)
    assert dispute.deadline is None and dispute.fire_at is None


@POLICIES
def test_the_deadline_walks_through_a_whole_mediation(policy: Policy) -> None:
    dispute, _, escalated = under_review(policy)
    dispute.request_evidence(MEDIATOR, party="seller", request="Photos", days=5, now=escalated)
    decide(dispute, "20.00", now=escalated + timedelta(days=1))
    # Nearest first: the decision window (day 4) before the evidence request (day 5).
    assert dispute.deadline is not None and dispute.deadline.kind == "decision_response"
    kinds = sorted(d.kind for d in dispute.pending_deadlines())
    assert kinds == ["decision_response", "evidence_request", "mediator_review"]
    assert fire_next(dispute) == "decision_response"
    assert dispute.status is Status.CLOSED
    # The evidence request closed with the dispute: nothing more fires but the refund.
    assert dispute.mediation is not None
    assert dispute.mediation.evidence_requests[0].status == "expired"
    assert fire(dispute, escalated + timedelta(days=5)) is None


def test_settlement_is_taken_once() -> None:
    dispute, _ = open_dispute()
    assert dispute.take_settlement() is None
    fire_next(dispute)
    settlement = dispute.take_settlement()
    assert settlement is not None
    assert (settlement.refund, settlement.amount_paid) == (money("40.00"), money("40.00"))
    assert dispute.take_settlement() is None
    dispute.refund_completed(at(20))  # the refund completing moves no escrow money
    assert dispute.take_settlement() is None


def test_a_decided_dispute_refuses_party_actions() -> None:
    dispute, _ = open_dispute()
    fire_next(dispute)
    refuses(
        InvalidTransition,
        lambda: dispute.propose_solution(
            SELLER, kind="refund_only", amount=money("1.00"), now=at(8)
        ),
        dispute,
    )
