"""Negotiation: the buyer's solution and one alternative, the seller's answer, accept (final)
and reject (reversible), edits kept in the timeline, messages, evidence, cancel and reopen."""

from __future__ import annotations

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
    money,
    no_holiday,
    open_dispute,
    refuses,
    seller_offer,
)
from fairdeal.domain.dispute import (
    DecidedBy,
    Dispute,
    Result,
    Role,
    SolutionKind,
    SolutionStatus,
    Status,
)
from fairdeal.domain.errors import (
    AmountOutOfRange,
    Forbidden,
    InvalidTransition,
    NotEligible,
    NotFound,
    ReasonNotAllowed,
    ValidationError,
)
from fairdeal.domain.money import Money
from fairdeal.domain.order import ItemDisputeState
from fairdeal.domain.policy import Policy
from fairdeal.domain.scams import CLOSE_FOR_PROMISE, PAY_OUTSIDE_PLATFORM
from fairdeal.services.context import sync_order

POLICIES = pytest.mark.parametrize("policy", [STANDARD, CLASSIC], ids=["standard", "classic"])


def types(dispute: Dispute) -> list[str]:
    return [entry.type for entry in dispute.timeline]


# --- the buyer's solutions --------------------------------------------------------------------


@POLICIES
def test_the_buyer_adds_one_alternative_of_the_other_kind(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    alternative = dispute.propose_solution(
        BUYER,
        kind="return_and_refund",
        amount=money("40.00"),
        comment="or I send it back",
        now=at(1),
    )
    assert alternative.proposed_by is Role.BUYER
    assert not alternative.primary
    assert alternative.comment == "or I send it back"
    assert dispute.status is Status.AWAITING_SELLER_RESPONSE  # the buyer is not the answer
    assert types(dispute)[-1] == "solution.proposed"
    assert dispute.pending_events[-1].type == "dispute.solution_proposed"


@POLICIES
def test_the_alternative_must_be_of_the_other_kind(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    refuses(
        ValidationError,
        lambda: dispute.propose_solution(
            BUYER, kind="refund_only", amount=money("20.00"), now=at(1)
        ),
        dispute,
    )


@POLICIES
def test_only_one_alternative(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    dispute.propose_solution(BUYER, kind="return_and_refund", amount=money("40.00"), now=at(1))
    refuses(
        InvalidTransition,
        lambda: dispute.propose_solution(
            BUYER, kind="return_and_refund", amount=money("30.00"), now=at(2)
        ),
        dispute,
    )


@POLICIES
@pytest.mark.parametrize("amount", ["0.00", "40.01"])
def test_the_alternative_is_a_claim_in_range(policy: Policy, amount: str) -> None:
    dispute, _ = open_dispute(policy=policy)
    refuses(
        AmountOutOfRange,
        lambda: dispute.propose_solution(
            BUYER, kind="return_and_refund", amount=money(amount), now=at(1)
        ),
        dispute,
    )


@POLICIES
def test_the_buyer_edits_kind_amount_and_comment_and_the_timeline_keeps_it(
    policy: Policy,
) -> None:
    dispute, _ = open_dispute(policy=policy)
    primary = dispute.primary_solution
    dispute.edit_solution(
        BUYER,
        primary.id,
        now=at(1),
        kind="return_and_refund",
        amount=money("30.00"),
        comment="happy to return it",
    )
    assert (primary.kind, primary.amount, primary.comment) == (
        SolutionKind.RETURN_AND_REFUND,
        money("30.00"),
        "happy to return it",
    )
    assert primary.updated_at == at(1)
    assert dispute.desired_outcome is SolutionKind.RETURN_AND_REFUND
    assert types(dispute)[-1] == "solution.edited"
    assert "30.00" in dispute.timeline[-1].summary


@POLICIES
def test_the_buyers_two_solutions_stay_of_different_kinds(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    alternative = dispute.propose_solution(
        BUYER, kind="return_and_refund", amount=money("40.00"), now=at(1)
    )
    refuses(
        ValidationError,
        lambda: dispute.edit_solution(BUYER, alternative.id, now=at(2), kind="refund_only"),
        dispute,
    )


@POLICIES
def test_a_refused_edit_changes_nothing(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    sid = dispute.primary_solution.id
    refuses(
        AmountOutOfRange,
        lambda: dispute.edit_solution(BUYER, sid, now=at(1), amount=money("0.00")),
        dispute,
    )
    refuses(
        ValidationError,
        lambda: dispute.edit_solution(BUYER, sid, now=at(1), kind="exchange"),
        dispute,
    )
    refuses(
        ValidationError,
        lambda: dispute.edit_solution(
            BUYER, sid, now=at(1), amount=money("20.00"), comment="x" * 2001
        ),
        dispute,
    )


@POLICIES
def test_only_a_solutions_author_edits_it(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    offer = seller_offer(dispute)
    primary = dispute.primary_solution.id
    refuses(
        Forbidden, lambda: dispute.edit_solution(SELLER, primary, now=at(2), comment="x"), dispute
    )
    refuses(
        Forbidden, lambda: dispute.edit_solution(BUYER, offer.id, now=at(2), comment="x"), dispute
    )
    refuses(NotFound, lambda: dispute.edit_solution(BUYER, "sol_x", now=at(2)), dispute)
    refuses(NotFound, lambda: dispute.edit_solution(STRANGER, primary, now=at(2)), dispute)


# --- the seller's answer --------------------------------------------------------------------


@POLICIES
@pytest.mark.parametrize("kind", ["refund_only", "return_and_refund"])
def test_the_seller_may_offer_a_zero_refund(policy: Policy, kind: str) -> None:
    dispute, _ = open_dispute(policy=policy)
    offer = seller_offer(dispute, kind=kind, amount="0.00", now=at(1))
    assert offer.amount.is_zero
    assert offer.proposed_by is Role.SELLER
    assert dispute.status is Status.NEGOTIATING
    assert dispute.seller_answered_at == at(1)
    assert "Seller offered a new solution" in dispute.timeline[-1].summary


@POLICIES
@pytest.mark.parametrize("amount", ["40.01", "-0.01"])
def test_a_seller_offer_stays_within_what_was_paid(policy: Policy, amount: str) -> None:
    dispute, _ = open_dispute(policy=policy)
    refuses(AmountOutOfRange, lambda: seller_offer(dispute, amount=amount), dispute)


@POLICIES
def test_a_new_seller_offer_supersedes_the_last(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    first = seller_offer(dispute, amount="5.00", now=at(1))
    dispute.reject_solution(BUYER, first.id, now=at(2))
    second = seller_offer(dispute, amount="15.00", now=at(3))
    assert first.status is SolutionStatus.SUPERSEDED
    assert second.status is SolutionStatus.PENDING
    refuses(
        InvalidTransition,
        lambda: dispute.accept_solution(BUYER, first.id, now=at(4), is_holiday=no_holiday),
        dispute,
    )


@POLICIES
def test_the_seller_accepts_the_buyers_solution_and_it_closes_on_the_buyers_terms(
    policy: Policy,
) -> None:
    dispute, order = open_dispute(policy=policy, amount="25.00")
    dispute.accept_solution(SELLER, dispute.primary_solution.id, now=at(1), is_holiday=no_holiday)
    assert dispute.status is Status.CLOSED
    assert dispute.closed_at == at(1)
    assert dispute.deadline is None
    outcome = dispute.outcome
    assert outcome is not None
    assert (outcome.result, outcome.refund, outcome.decided_by, outcome.rule) == (
        Result.SETTLED,
        money("25.00"),
        DecidedBy.AGREEMENT,
        "agreement",
    )
    assert not outcome.return_required
    assert "seller accepted the buyer's solution" in outcome.explanation
    assert dispute.primary_solution.status is SolutionStatus.ACCEPTED
    assert dispute.seller_answered_at == at(1)
    sync_order(dispute, order, at(1))
    assert order.escrow.pending_refund == money("25.00")
    assert order.escrow.pending_release == money("15.00")
    assert order.item_disputes[order.items[0].id].state is ItemDisputeState.CLOSED


@POLICIES
def test_the_seller_accepts_the_alternative_and_the_primary_is_withdrawn(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy, amount="40.00")
    alternative = dispute.propose_solution(
        BUYER, kind="return_and_refund", amount=money("38.00"), now=at(1)
    )
    dispute.accept_solution(SELLER, alternative.id, now=at(2), is_holiday=no_holiday)
    assert dispute.status is Status.AWAITING_RETURN  # an agreed return goes to the return step
    assert dispute.primary_solution.status is SolutionStatus.WITHDRAWN
    assert dispute.outcome is not None and dispute.outcome.refund == money("38.00")
    assert dispute.outcome.return_required


@POLICIES
def test_the_buyer_accepts_a_seller_solution_final(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    offer = seller_offer(dispute, amount="12.00")
    dispute.accept_solution(BUYER, offer.id, now=at(2), is_holiday=no_holiday)
    assert dispute.status is Status.CLOSED
    assert offer.status is SolutionStatus.ACCEPTED
    assert dispute.primary_solution.status is SolutionStatus.WITHDRAWN
    assert dispute.outcome is not None
    assert dispute.outcome.result is Result.SETTLED
    assert dispute.outcome.refund == money("12.00")
    # Final: nothing more to accept or reject.
    refuses(
        InvalidTransition,
        lambda: dispute.reject_solution(BUYER, offer.id, now=at(3)),
        dispute,
    )


@POLICIES
def test_accepting_a_zero_refund_is_still_a_settlement(policy: Policy) -> None:
    dispute, order = open_dispute(policy=policy)
    offer = seller_offer(dispute, amount="0.00")
    dispute.accept_solution(BUYER, offer.id, now=at(2), is_holiday=no_holiday)
    assert dispute.outcome is not None
    assert dispute.outcome.result is Result.SETTLED
    assert dispute.refund is None
    sync_order(dispute, order, at(2))
    assert order.escrow.pending_refund.is_zero
    assert order.escrow.pending_release == money("40.00")


@POLICIES
def test_a_party_answers_the_other_partys_solutions_not_its_own(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    offer = seller_offer(dispute)
    primary = dispute.primary_solution.id
    refuses(
        Forbidden,
        lambda: dispute.accept_solution(BUYER, primary, now=at(2), is_holiday=no_holiday),
        dispute,
    )
    refuses(
        Forbidden,
        lambda: dispute.accept_solution(SELLER, offer.id, now=at(2), is_holiday=no_holiday),
        dispute,
    )
    refuses(Forbidden, lambda: dispute.reject_solution(SELLER, offer.id, now=at(2)), dispute)
    refuses(
        NotFound,
        lambda: dispute.accept_solution(BUYER, "sol_none", now=at(2), is_holiday=no_holiday),
        dispute,
    )


@POLICIES
def test_the_buyer_cannot_accept_their_own_solution(policy: Policy) -> None:
    # Whose solution it is is checked first: accepting your own is 403, not "nothing to accept".
    dispute, _ = open_dispute(policy=policy)
    assert "accept_solution" not in dispute.allowed_actions(BUYER, window_open=True)
    refuses(
        Forbidden,
        lambda: dispute.accept_solution(
            BUYER, dispute.primary_solution.id, now=at(1), is_holiday=no_holiday
        ),
        dispute,
    )


@POLICIES
def test_a_rejection_is_reversible(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    offer = seller_offer(dispute, amount="15.00")
    dispute.reject_solution(BUYER, offer.id, now=at(2))
    assert offer.status is SolutionStatus.REJECTED
    assert dispute.is_open
    assert types(dispute)[-1] == "solution.rejected"
    refuses(InvalidTransition, lambda: dispute.reject_solution(BUYER, offer.id, now=at(3)), dispute)
    dispute.accept_solution(BUYER, offer.id, now=at(3), is_holiday=no_holiday)
    assert dispute.status is Status.CLOSED
    assert dispute.outcome is not None and dispute.outcome.refund == money("15.00")


@POLICIES
def test_the_seller_rejecting_the_buyers_solution_is_an_answer(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    dispute.reject_solution(SELLER, dispute.primary_solution.id, now=at(1))
    assert dispute.status is Status.NEGOTIATING
    assert dispute.seller_answered_at == at(1)
    assert dispute.primary_solution.status is SolutionStatus.REJECTED
    # The buyer edits the rejected solution: it is a new offer for the seller to answer.
    dispute.edit_solution(BUYER, dispute.primary_solution.id, now=at(2), amount=money("30.00"))
    assert dispute.primary_solution.status is SolutionStatus.PENDING


@POLICIES
def test_an_edited_seller_offer_is_answered_afresh(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    offer = seller_offer(dispute, amount="5.00")
    dispute.reject_solution(BUYER, offer.id, now=at(2))
    dispute.edit_solution(SELLER, offer.id, now=at(3), amount=money("20.00"))
    assert offer.status is SolutionStatus.PENDING
    assert offer.amount == money("20.00")
    refuses(
        AmountOutOfRange,
        lambda: dispute.edit_solution(SELLER, offer.id, now=at(4), amount=money("40.01")),
        dispute,
    )


# --- reason and description -----------------------------------------------------------------


@POLICIES
def test_reason_and_description_change_during_negotiation_with_a_timeline_entry(
    policy: Policy,
) -> None:
    dispute, _ = open_dispute(policy=policy)
    dispute.edit(BUYER, now=at(1), reason="not_as_described", description="Wrong colour.")
    assert (dispute.reason, dispute.description) == ("not_as_described", "Wrong colour.")
    assert types(dispute)[-1] == "dispute.edited"
    assert "damaged -> not_as_described" in dispute.timeline[-1].summary
    seller_offer(dispute, now=at(2))
    dispute.edit(BUYER, now=at(3), description="Wrong colour and size.")
    assert dispute.status is Status.NEGOTIATING
    assert types(dispute)[-1] == "dispute.edited"


@POLICIES
def test_a_reason_with_a_warning_logs_it(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    dispute.edit(BUYER, now=at(1), reason="not_needed")
    assert types(dispute)[-2:] == ["policy.warning", "dispute.edited"]


@POLICIES
def test_an_edit_that_changes_nothing_logs_nothing(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    before = len(dispute.timeline)
    dispute.edit(BUYER, now=at(1), reason="damaged", description="It arrived broken.")
    assert len(dispute.timeline) == before


@POLICIES
def test_refused_edits_change_nothing(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    refuses(
        ReasonNotAllowed, lambda: dispute.edit(BUYER, now=at(1), reason="no_tracking_info"), dispute
    )
    refuses(ValidationError, lambda: dispute.edit(BUYER, now=at(1), reason="whatever"), dispute)
    # A received item's dispute cannot turn into "not received".
    refuses(ValidationError, lambda: dispute.edit(BUYER, now=at(1), reason="not_received"), dispute)
    # Not half an edit: the reason stays when the description is refused.
    refuses(
        ValidationError,
        lambda: dispute.edit(BUYER, now=at(1), reason="not_needed", description="  "),
        dispute,
    )
    refuses(Forbidden, lambda: dispute.edit(SELLER, now=at(1), description="mine"), dispute)
    refuses(NotFound, lambda: dispute.edit(STRANGER, now=at(1), description="mine"), dispute)


# --- messages -------------------------------------------------------------------------------


@POLICIES
def test_seller_messages_that_pressure_the_buyer_carry_warnings(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    text = "Please close the dispute and I will send you a new one. I refund via PayPal."
    message = dispute.post_message(SELLER, body=text, now=at(1))
    assert set(message.warnings) == {CLOSE_FOR_PROMISE, PAY_OUTSIDE_PLATFORM}
    assert dispute.pending_events[-1].data["warnings"] == message.warnings
    assert dispute.post_message(SELLER, body="Shipped yesterday.", now=at(1)).warnings == []


@POLICIES
def test_buyer_messages_that_propose_or_accept_a_trick_carry_warnings(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    text = "OK, I will close the dispute if you send me a new one. Refund me on PayPal."
    message = dispute.post_message(BUYER, body=text, now=at(1))
    assert message.warnings == [PAY_OUTSIDE_PLATFORM, CLOSE_FOR_PROMISE]
    assert dispute.pending_events[-1].data["warnings"] == message.warnings
    innocent = "I paid with PayPal on your site; I will not close the dispute for a promise."
    assert dispute.post_message(BUYER, body=innocent, now=at(1)).warnings == []


@POLICIES
def test_agreements_in_messages_have_no_force(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    dispute.post_message(SELLER, body="I agree to refund 40 USD.", now=at(1))
    dispute.post_message(BUYER, body="OK, I accept.", now=at(1))
    assert dispute.status is Status.AWAITING_SELLER_RESPONSE
    assert dispute.outcome is None
    assert [m.author_role for m in dispute.messages] == [Role.SELLER, Role.BUYER]
    assert types(dispute)[-1] == "message.posted"


@POLICIES
def test_message_refusals(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    refuses(ValidationError, lambda: dispute.post_message(BUYER, body="  ", now=at(1)), dispute)
    refuses(
        ValidationError, lambda: dispute.post_message(BUYER, body="x" * 5001, now=at(1)), dispute
    )
    refuses(NotFound, lambda: dispute.post_message(STRANGER, body="hi", now=at(1)), dispute)
    dispute.cancel(BUYER, now=at(1), window_open=True)
    refuses(InvalidTransition, lambda: dispute.post_message(BUYER, body="hi", now=at(2)), dispute)


@POLICIES
def test_a_mediator_may_message_the_parties(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    message = dispute.post_message(MEDIATOR, body="Please keep it civil.", now=at(1))
    assert message.author_role is Role.MEDIATOR
    assert message.warnings == []


# --- evidence -------------------------------------------------------------------------------


@POLICIES
def test_either_party_adds_and_removes_its_own_evidence_any_number_of_times(
    policy: Policy,
) -> None:
    dispute, _ = open_dispute(policy=policy)
    seller_ev = dispute.add_evidence(
        SELLER, file_id="file_s", content_type="image/png", description="packing", now=at(1)
    )
    assert (seller_ev.added_by, seller_ev.author_id) == (Role.SELLER, SELLER.user_id)
    buyer_ev = dispute.add_evidence(BUYER, file_id="file_b", content_type="video/mp4", now=at(1))
    dispute.remove_evidence(BUYER, buyer_ev.id, now=at(2))
    dispute.remove_evidence(SELLER, seller_ev.id, now=at(2))
    again = dispute.add_evidence(BUYER, file_id="file_b", content_type="video/mp4", now=at(3))
    assert [e.id for e in dispute.evidence] == [dispute.evidence[0].id, again.id]
    assert types(dispute).count("evidence.added") == 3
    assert types(dispute).count("evidence.removed") == 2


@POLICIES
def test_evidence_is_removed_by_its_author_only(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    buyer_ev = dispute.evidence[0].id
    # Whose evidence it is comes first: 403 even while the seller has none of its own.
    assert "remove_evidence" not in dispute.allowed_actions(SELLER, window_open=True)
    refuses(Forbidden, lambda: dispute.remove_evidence(SELLER, buyer_ev, now=at(1)), dispute)
    dispute.add_evidence(SELLER, file_id="file_s", content_type="image/png", now=at(1))
    refuses(Forbidden, lambda: dispute.remove_evidence(SELLER, buyer_ev, now=at(1)), dispute)
    refuses(NotFound, lambda: dispute.remove_evidence(BUYER, "ev_missing", now=at(1)), dispute)
    refuses(NotFound, lambda: dispute.remove_evidence(STRANGER, buyer_ev, now=at(1)), dispute)
    refuses(Forbidden, lambda: dispute.remove_evidence(MEDIATOR, buyer_ev, now=at(1)), dispute)


@POLICIES
def test_evidence_refusals(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    refuses(
        ValidationError,
        lambda: dispute.add_evidence(
            BUYER, file_id="file_photo", content_type="image/jpeg", now=at(1)
        ),
        dispute,
    )
    refuses(
        Forbidden,
        lambda: dispute.add_evidence(MEDIATOR, file_id="f", content_type="image/jpeg", now=at(1)),
        dispute,
    )
    refuses(
        ValidationError,
        lambda: dispute.add_evidence(
            BUYER, file_id="f2", content_type="image/jpeg", description="x" * 2001, now=at(1)
        ),
        dispute,
    )


@POLICIES
def test_evidence_stays_open_until_the_dispute_closes(policy: Policy) -> None:
    dispute, _ = awaiting_return(policy)
    dispute.add_evidence(BUYER, file_id="file_r", content_type="image/jpeg", now=at(2))
    dispute.ship_return(BUYER, carrier="DHL", tracking_number="R1", now=at(3))
    dispute.add_evidence(SELLER, file_id="file_s", content_type="image/jpeg", now=at(4))
    dispute.confirm_return(SELLER, condition="as_expected", now=at(5), is_holiday=no_holiday)
    refuses(
        InvalidTransition,
        lambda: dispute.add_evidence(BUYER, file_id="f3", content_type="image/jpeg", now=at(6)),
        dispute,
    )
    own = dispute.evidence[0].id
    refuses(InvalidTransition, lambda: dispute.remove_evidence(BUYER, own, now=at(6)), dispute)


# --- cancel and reopen ----------------------------------------------------------------------


@POLICIES
def test_the_buyer_cancels_while_protection_is_active(policy: Policy) -> None:
    dispute, order = open_dispute(policy=policy)
    dispute.cancel(BUYER, now=at(1), window_open=True)
    assert dispute.status is Status.CANCELLED
    assert not dispute.is_open
    assert dispute.deadline is None
    outcome = dispute.outcome
    assert outcome is not None
    assert (outcome.result, outcome.decided_by, outcome.refund) == (
        Result.CANCELLED,
        DecidedBy.BUYER,
        money("0.00"),
    )
    assert dispute.take_settlement() is None  # nothing moves: the money stays in escrow
    sync_order(dispute, order, at(1))
    assert order.item_disputes[order.items[0].id].state is ItemDisputeState.CANCELLED
    assert order.escrow.available == money("55.00")


@POLICIES
def test_the_seller_cannot_cancel(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    refuses(Forbidden, lambda: dispute.cancel(SELLER, now=at(1), window_open=True), dispute)
    refuses(Forbidden, lambda: dispute.cancel(MEDIATOR, now=at(1), window_open=True), dispute)


@POLICIES
def test_no_cancelling_once_protection_has_ended(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    refuses(InvalidTransition, lambda: dispute.cancel(BUYER, now=at(1), window_open=False), dispute)


@POLICIES
def test_a_closed_dispute_cannot_be_cancelled_or_reopened(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    dispute.accept_solution(SELLER, dispute.primary_solution.id, now=at(1), is_holiday=no_holiday)
    refuses(InvalidTransition, lambda: dispute.cancel(BUYER, now=at(2), window_open=True), dispute)
    refuses(InvalidTransition, lambda: dispute.reopen(BUYER, now=at(2), window_open=True), dispute)


@POLICIES
def test_a_cancelled_dispute_reopens_while_protection_lasts(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    dispute.reject_solution(SELLER, dispute.primary_solution.id, now=at(1))
    dispute.cancel(BUYER, now=at(2), window_open=True)
    dispute.reopen(BUYER, now=at(3), window_open=True)
    assert dispute.status is Status.AWAITING_SELLER_RESPONSE
    assert dispute.outcome is None and dispute.closed_at is None
    assert dispute.seller_answered_at is None
    assert dispute.primary_solution.status is SolutionStatus.PENDING
    # The seller's clock starts again from the reopening.
    assert dispute.deadline is not None
    assert dispute.deadline.due_at == at(3 + policy.deadlines.seller_response_days)
    assert types(dispute)[-1] == "dispute.reopened"


@POLICIES
def test_reopen_refusals(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    refuses(InvalidTransition, lambda: dispute.reopen(BUYER, now=at(1), window_open=True), dispute)
    dispute.cancel(BUYER, now=at(1), window_open=True)
    refuses(NotEligible, lambda: dispute.reopen(BUYER, now=at(2), window_open=False), dispute)
    refuses(Forbidden, lambda: dispute.reopen(SELLER, now=at(2), window_open=True), dispute)
    refuses(NotFound, lambda: dispute.reopen(STRANGER, now=at(2), window_open=True), dispute)


@POLICIES
def test_cancelling_withdraws_the_sellers_offer_and_reopening_waits_for_a_new_answer(
    policy: Policy,
) -> None:
    dispute, _ = open_dispute(policy=policy)
    offer = seller_offer(dispute, amount="5.00", now=at(1))
    dispute.cancel(BUYER, now=at(2), window_open=True)
    assert offer.status is SolutionStatus.WITHDRAWN
    dispute.reopen(BUYER, now=at(3), window_open=True)
    # Awaiting the seller's response means exactly that: nothing of the seller's is pending.
    assert offer.status is SolutionStatus.WITHDRAWN
    refuses(
        InvalidTransition,
        lambda: dispute.accept_solution(BUYER, offer.id, now=at(4), is_holiday=no_holiday),
        dispute,
    )


@POLICIES
def test_reopening_after_an_agreed_return_was_cancelled_restores_the_buyers_solution(
    policy: Policy,
) -> None:
    dispute, _ = awaiting_return(policy)
    dispute.cancel(BUYER, now=at(2), window_open=True)
    assert dispute.outcome is not None and dispute.outcome.result is Result.CANCELLED
    dispute.reopen(BUYER, now=at(3), window_open=True)
    assert dispute.return_ is None
    assert dispute.primary_solution.status is SolutionStatus.PENDING
    # The seller can answer the reopened dispute by accepting the buyer's terms again.
    dispute.accept_solution(SELLER, dispute.primary_solution.id, now=at(4), is_holiday=no_holiday)
    assert dispute.status is Status.AWAITING_RETURN


def test_the_amount_of_a_solution_is_exact_money() -> None:
    dispute, _ = open_dispute(amount="33.33")
    assert dispute.primary_solution.amount == Money(3333, "USD")
