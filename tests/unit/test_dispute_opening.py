"""Opening a dispute: who, when, for what, with which reason, amount and evidence."""

from __future__ import annotations

from datetime import timedelta

import pytest

from builders import (
    BUYER,
    CLASSIC,
    PHOTO,
    SELLER,
    STANDARD,
    STRANGER,
    T0,
    VIDEO,
    at,
    make_order,
    money,
    no_holiday,
    open_dispute,
    refuses,
    shipped_order,
)
from fairdeal.domain.dispute import Actor, Dispute, Role, SolutionKind, SolutionStatus, Status
from fairdeal.domain.errors import (
    AmountOutOfRange,
    DisputeExists,
    DomainError,
    EvidenceRequired,
    Forbidden,
    NotEligible,
    NotFound,
    ReasonNotAllowed,
    ValidationError,
)
from fairdeal.domain.money import Money
from fairdeal.domain.order import ItemDisputeState, Order, TrackingEvent, TrackingStatus
from fairdeal.domain.policy import Policy
from fairdeal.services.context import sync_order

POLICIES = pytest.mark.parametrize("policy", [STANDARD, CLASSIC], ids=["standard", "classic"])
NOT_RECEIVED = ["not_received", "protection_expiring_in_transit", "wrong_address"]
RECEIVED = [
    "damaged",
    "not_as_described",
    "poor_quality",
    "counterfeit",
    "not_working",
    "wrong_item",
    "missing_parts",
    "quantity_short",
    "customs_problem",
    "not_needed",
]


def opening(
    order: Order,
    policy: Policy,
    *,
    buyer: Actor = BUYER,
    item_ids: list[str] | str | None = "first",
    reason: str = "damaged",
    outcome: str = "refund_only",
    amount: Money | str = "40.00",
    description: str = "It arrived broken.",
    evidence: list[tuple[str, str]] = PHOTO,
    now: object = T0,
    dispute_id: str = "dsp_1",
):  # type: ignore[no-untyped-def]
    """A call that opens a dispute with these arguments (to run, or to see refused)."""
    items = [order.items[0].id] if item_ids == "first" else item_ids
    claim = amount if isinstance(amount, Money) else Money.parse(amount, order.currency)
    return lambda: Dispute.open(
        dispute_id=dispute_id,
        order=order,
        buyer=buyer,
        item_ids=items,  # type: ignore[arg-type]
        reason=reason,
        desired_outcome=outcome,
        amount=claim,
        description=description,
        evidence=evidence,
        policy=policy,
        now=now,  # type: ignore[arg-type]
    )


def refused_opening(error: type[DomainError], order: Order, policy: Policy, **kwargs) -> str:  # type: ignore[no-untyped-def]
    return refuses(error, opening(order, policy, **kwargs), order).detail


def moving(order: Order) -> Order:
    order.record_tracking(TrackingEvent(TrackingStatus.IN_TRANSIT, at(-3), "Warsaw"))
    return order


# --- what an opened dispute looks like ------------------------------------------------------


@POLICIES
def test_the_buyer_opens_a_dispute_on_one_item(policy: Policy) -> None:
    order = shipped_order(policy=policy)
    dispute = opening(order, policy, outcome="return_and_refund", amount="35.00")()
    assert dispute.status is Status.AWAITING_SELLER_RESPONSE
    assert dispute.is_open
    assert dispute.item_ids == [order.items[0].id]
    assert (dispute.buyer_id, dispute.seller_id) == (BUYER.user_id, SELLER.user_id)
    assert dispute.amount_paid == money("40.00")
    assert dispute.desired_outcome is SolutionKind.RETURN_AND_REFUND
    [primary] = dispute.solutions
    assert primary.primary
    assert primary.proposed_by is Role.BUYER
    assert primary.status is SolutionStatus.PENDING
    assert (primary.kind, primary.amount) == (SolutionKind.RETURN_AND_REFUND, money("35.00"))
    assert [e.file_id for e in dispute.evidence] == ["file_photo"]
    assert dispute.timeline[0].type == "dispute.opened"
    assert dispute.pending_events[-1].type == "dispute.opened"
    assert dispute.outcome is None
    assert dispute.payment_country == "DE"
    live = order.item_disputes[order.items[0].id]
    assert (live.dispute_id, live.state) == ("dsp_1", ItemDisputeState.LIVE)
    assert order.items[1].id not in order.item_disputes
    assert order.dispute_ids == ["dsp_1"]


@POLICIES
def test_the_whole_order_can_be_disputed_including_shipping(policy: Policy) -> None:
    order = shipped_order(policy=policy)
    dispute = opening(order, policy, item_ids=None, amount="55.00")()
    assert dispute.item_ids is None
    assert dispute.amount_paid == money("55.00")
    assert set(order.item_disputes) == {i.id for i in order.items}


@POLICIES
def test_the_seller_has_the_policys_days_to_answer(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    deadline = dispute.deadline
    assert deadline is not None
    days = {"standard": 7, "classic": 5}[policy.name]
    assert policy.deadlines.seller_response_days == days
    assert (deadline.kind, deadline.due_at, deadline.party) == (
        "seller_response",
        at(days),
        "seller",
    )
    assert deadline.on_expiry == "close_for_buyer"
    assert "buyer's favour" in deadline.explanation


# --- who may open -----------------------------------------------------------------------------


@POLICIES
def test_only_the_buyer_opens_a_dispute(policy: Policy) -> None:
    order = shipped_order(policy=policy)
    refused_opening(Forbidden, order, policy, buyer=SELLER)
    refused_opening(Forbidden, order, policy, buyer=Actor("usr_mediator", Role.MEDIATOR))
    # Another buyer cannot tell that this order exists.
    refused_opening(NotFound, order, policy, buyer=STRANGER)


# --- when -------------------------------------------------------------------------------------


@POLICIES
def test_an_order_that_has_not_shipped_is_refused_with_a_clear_reason(policy: Policy) -> None:
    order = make_order(policy=policy)
    detail = refused_opening(NotEligible, order, policy)
    assert "not shipped" in detail
    detail = refused_opening(NotEligible, order, policy, reason="not_received", evidence=[])
    assert "not shipped" in detail


@POLICIES
def test_protection_over_is_refused(policy: Policy) -> None:
    order = shipped_order(policy=policy, days_ago=12, protection_days=60)  # ends at T0+48d
    opening(order, policy, now=at(48) - timedelta(seconds=1))()  # the last moment still works
    order = shipped_order(policy=policy, days_ago=12, protection_days=60)
    for moment in (at(48), at(60)):
        detail = refused_opening(NotEligible, order, policy, now=moment)
        assert "protection" in detail


@POLICIES
def test_after_receipt_the_grace_period_still_allows_a_dispute(policy: Policy) -> None:
    order = shipped_order(policy=policy, days_ago=12, protection_days=20)  # ends at T0+8d
    order.confirm_receipt(now=at(7))
    # Protection itself ended at T0+8d, but the grace period runs to T0+22d.
    dispute = opening(order, policy, now=at(21))()
    assert dispute.is_open


@POLICIES
def test_after_the_grace_period_a_dispute_is_refused(policy: Policy) -> None:
    order = shipped_order(policy=policy)
    order.confirm_receipt(now=T0)
    refused_opening(NotEligible, order, policy, now=at(15))


@POLICIES
def test_a_completed_order_cannot_be_disputed(policy: Policy) -> None:
    order = shipped_order(policy=policy, days_ago=12, protection_days=60)
    order.confirm_receipt(now=T0)
    order.fire_due(now=at(15))
    refused_opening(NotEligible, order, policy, now=at(15))


@POLICIES
def test_not_received_only_10_days_after_shipping(policy: Policy) -> None:
    assert policy.deadlines.not_received_wait_days == 10
    order = shipped_order(policy=policy, days_ago=9)
    detail = refused_opening(NotEligible, order, policy, reason="not_received", evidence=[])
    assert "10 days after the order shipped" in detail
    # Exactly 10 days after shipping it opens, without evidence.
    order = shipped_order(policy=policy, days_ago=10)
    dispute = opening(order, policy, reason="not_received", evidence=[])()
    assert dispute.reason == "not_received"
    assert dispute.evidence == []


@POLICIES
def test_not_received_is_refused_once_receipt_was_confirmed(policy: Policy) -> None:
    order = shipped_order(policy=policy)
    order.confirm_receipt(now=T0)
    detail = refused_opening(NotEligible, order, policy, reason="not_received", evidence=[])
    assert "receipt" in detail


@POLICIES
def test_protection_expiring_in_transit_needs_tracking_that_shows_movement(
    policy: Policy,
) -> None:
    reason = "protection_expiring_in_transit"
    order = shipped_order(policy=policy)
    refused_opening(NotEligible, order, policy, reason=reason, evidence=[])
    order.record_tracking(TrackingEvent(TrackingStatus.IN_TRANSIT, at(-8)))
    order.record_tracking(TrackingEvent(TrackingStatus.DELIVERED, at(-1)))
    refused_opening(NotEligible, order, policy, reason=reason, evidence=[])
    order.record_tracking(TrackingEvent(TrackingStatus.IN_TRANSIT, at(-0.5)))
    dispute = opening(order, policy, reason=reason, evidence=[])()
    assert dispute.reason == reason


@POLICIES
def test_wrong_address_needs_no_evidence(policy: Policy) -> None:
    dispute = opening(shipped_order(policy=policy), policy, reason="wrong_address", evidence=[])()
    assert dispute.reason == "wrong_address"


# --- which reason -----------------------------------------------------------------------------


@POLICIES
def test_no_tracking_info_is_refused_with_an_explanation(policy: Policy) -> None:
    order = moving(shipped_order(policy=policy))
    detail = refused_opening(ReasonNotAllowed, order, policy, reason="no_tracking_info")
    assert "not received" in detail.lower()


@POLICIES
@pytest.mark.parametrize("reason", ["misc", "", "NOT_RECEIVED"])
def test_unknown_reasons_are_refused(policy: Policy, reason: str) -> None:
    refused_opening(ValidationError, shipped_order(policy=policy), policy, reason=reason)


@POLICIES
def test_a_category_can_hide_a_reason(policy: Policy) -> None:
    order = shipped_order(policy=policy, category="digital")
    # Hidden for this category: a known reason, not allowed here (API.md: reason_not_allowed).
    refused_opening(ReasonNotAllowed, order, policy, reason="damaged")
    dispute = opening(order, policy, reason="not_working")()
    assert dispute.category == "digital"


@POLICIES
@pytest.mark.parametrize("reason", ["customs_problem", "not_needed"])
def test_reasons_with_a_warning_put_it_in_the_timeline(policy: Policy, reason: str) -> None:
    dispute = opening(shipped_order(policy=policy), policy, reason=reason)()
    warnings = [t for t in dispute.timeline if t.type == "policy.warning"]
    assert len(warnings) == 1
    assert warnings[0].summary == policy.reason(reason).warning


@POLICIES
@pytest.mark.parametrize("reason", RECEIVED)
def test_every_received_reason_opens_with_a_photo(policy: Policy, reason: str) -> None:
    dispute = opening(shipped_order(policy=policy), policy, reason=reason)()
    assert dispute.reason == reason


@POLICIES
@pytest.mark.parametrize("reason", RECEIVED)
def test_every_received_reason_needs_a_photo_or_video(policy: Policy, reason: str) -> None:
    order = shipped_order(policy=policy)
    refused_opening(EvidenceRequired, order, policy, reason=reason, evidence=[])
    # A PDF is evidence, but not the photo or video these reasons need.
    refused_opening(
        EvidenceRequired, order, policy, reason=reason, evidence=[("file_pdf", "application/pdf")]
    )


@POLICIES
def test_a_video_is_enough_evidence_and_the_hint_says_what_is_needed(policy: Policy) -> None:
    order = shipped_order(policy=policy)
    detail = refused_opening(EvidenceRequired, order, policy, reason="not_working", evidence=[])
    assert "video" in detail
    dispute = opening(order, policy, reason="not_working", evidence=VIDEO)()
    assert dispute.evidence[0].content_type == "video/mp4"


@POLICIES
@pytest.mark.parametrize("reason", NOT_RECEIVED)
def test_not_received_reasons_need_no_evidence(policy: Policy, reason: str) -> None:
    order = moving(shipped_order(policy=policy))
    dispute = opening(order, policy, reason=reason, evidence=[])()
    assert dispute.evidence == []


# --- one live dispute per item ----------------------------------------------------------------


@POLICIES
def test_one_live_dispute_per_item(policy: Policy) -> None:
    _, order = open_dispute(policy=policy)
    refused_opening(DisputeExists, order, policy, dispute_id="dsp_2")
    refused_opening(DisputeExists, order, policy, dispute_id="dsp_2", item_ids=None)
    # The other item is free.
    other = opening(
        order, policy, item_ids=[order.items[1].id], amount="10.00", dispute_id="dsp_2"
    )()
    assert other.amount_paid == money("10.00")


@POLICIES
def test_a_whole_order_dispute_blocks_every_item(policy: Policy) -> None:
    order = shipped_order(policy=policy)
    opening(order, policy, item_ids=None, amount="55.00")()
    refused_opening(
        DisputeExists, order, policy, item_ids=[order.items[1].id], amount="1.00", dispute_id="d2"
    )


@POLICIES
def test_a_closed_dispute_cannot_be_opened_again_for_the_same_item(policy: Policy) -> None:
    dispute, order = open_dispute(policy=policy)
    dispute.accept_solution(SELLER, dispute.primary_solution.id, now=at(1), is_holiday=no_holiday)
    sync_order(dispute, order, at(1))
    detail = refused_opening(NotEligible, order, policy, dispute_id="dsp_2", now=at(2))
    assert "closed" in detail
    refused_opening(NotEligible, order, policy, dispute_id="dsp_2", now=at(2), item_ids=None)


@POLICIES
def test_a_cancelled_dispute_leaves_the_item_free_for_a_new_one(policy: Policy) -> None:
    dispute, order = open_dispute(policy=policy)
    dispute.cancel(BUYER, now=at(1), window_open=True)
    sync_order(dispute, order, at(1))
    assert order.item_disputes[order.items[0].id].state is ItemDisputeState.CANCELLED
    again = opening(order, policy, dispute_id="dsp_2", now=at(2))()
    assert again.is_open
    assert order.item_disputes[order.items[0].id].dispute_id == "dsp_2"


# --- amounts --------------------------------------------------------------------------------


@POLICIES
@pytest.mark.parametrize("amount", ["0.01", "20.00", "40.00"])
def test_the_claim_runs_from_the_minimum_to_what_was_paid(policy: Policy, amount: str) -> None:
    dispute = opening(shipped_order(policy=policy), policy, amount=amount)()
    assert dispute.primary_solution.amount == money(amount)


@POLICIES
@pytest.mark.parametrize("amount", ["0.00", "-1.00", "40.01", "55.00"])
def test_a_claim_outside_the_range_is_refused(policy: Policy, amount: str) -> None:
    refused_opening(AmountOutOfRange, shipped_order(policy=policy), policy, amount=amount)


@POLICIES
def test_rub_claims_start_at_one_rouble(policy: Policy) -> None:
    order = shipped_order(policy=policy, currency="RUB", prices=("4000.00",), shipping="0.00")
    refused_opening(AmountOutOfRange, order, policy, amount="0.99")
    dispute = opening(order, policy, amount="1.00")()
    assert dispute.primary_solution.amount == Money(100, "RUB")


@POLICIES
def test_jpy_has_no_decimals(policy: Policy) -> None:
    order = shipped_order(policy=policy, currency="JPY", prices=("4000",), shipping="500")
    refused_opening(AmountOutOfRange, order, policy, amount="0")
    refused_opening(AmountOutOfRange, order, policy, amount="4001")
    dispute = opening(order, policy, amount="1")()
    assert dispute.primary_solution.amount == Money(1, "JPY")
    assert dispute.amount_paid.format() == "4000"


@POLICIES
def test_a_claim_in_another_currency_is_refused(policy: Policy) -> None:
    order = shipped_order(policy=policy)
    refused_opening(ValidationError, order, policy, amount=money("10.00", "EUR"))


# --- the rest of the form -------------------------------------------------------------------


@POLICIES
@pytest.mark.parametrize(
    "kwargs",
    [
        {"outcome": "replacement"},
        {"outcome": ""},
        {"description": "   "},
        {"description": "x" * 5001},
        {"item_ids": []},
        {"item_ids": ["ord_1_item_1", "ord_1_item_1"]},
        {"item_ids": ["ord_1_item_9"]},
    ],
    ids=["bad-outcome", "no-outcome", "blank-description", "long-description", "no-items",
         "item-twice", "unknown-item"],
)  # fmt: skip
def test_malformed_forms_are_refused(policy: Policy, kwargs: dict[str, object]) -> None:
    refused_opening(ValidationError, shipped_order(policy=policy), policy, **kwargs)


def test_refusals_come_in_a_fixed_order_reason_before_eligibility() -> None:
    """The form explains the reason first: a refused reason is named even before shipping."""
    order = make_order()
    refused_opening(ReasonNotAllowed, order, STANDARD, reason="no_tracking_info")
