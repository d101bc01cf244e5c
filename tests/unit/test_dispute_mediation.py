"""Mediation: escalation (automatic, or classic's button), the frozen or open solutions, one
mediator per case, evidence requests, interim decisions, challenges and final decisions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from builders import (
    ADMIN,
    BUYER,
    CLASSIC,
    MEDIATOR,
    OTHER_MEDIATOR,
    SELLER,
    STANDARD,
    STRANGER,
    at,
    decide,
    escalate,
    money,
    no_holiday,
    open_dispute,
    refuses,
    seller_offer,
    snapshot,
    under_review,
)
from fairdeal.domain.dispute import (
    Action,
    DecidedBy,
    Dispute,
    ProposedSolution,
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
    NotFound,
    ValidationError,
)
from fairdeal.domain.policy import Policy
from fairdeal.services.context import sync_order

POLICIES = pytest.mark.parametrize("policy", [STANDARD, CLASSIC], ids=["standard", "classic"])


def respond_by(dispute: Dispute):  # type: ignore[no-untyped-def]
    assert dispute.mediation is not None and dispute.mediation.decision is not None
    return dispute.mediation.decision.respond_by


# --- escalation -----------------------------------------------------------------------------


@pytest.mark.parametrize("party", [BUYER, SELLER], ids=["buyer", "seller"])
def test_classic_either_party_escalates_once_the_seller_has_answered(party: object) -> None:
    dispute, _ = open_dispute(policy=CLASSIC)
    refuses(InvalidTransition, lambda: dispute.escalate(party, now=at(1)), dispute)  # type: ignore[arg-type]
    seller_offer(dispute, now=at(1))
    dispute.escalate(party, now=at(2))  # type: ignore[arg-type]
    assert dispute.status is Status.UNDER_REVIEW
    assert dispute.mediation is not None
    assert (dispute.mediation.trigger, dispute.mediation.escalated_at) == ("manual", at(2))
    assert dispute.mediation.mediator_id is None
    assert dispute.buyer_answer_due is None  # the buyer's clock stops in mediation
    assert "escalated the dispute" in dispute.timeline[-1].summary
    assert dispute.pending_events[-1].type == "dispute.escalated"


def test_standard_has_no_escalate_button() -> None:
    dispute, _ = open_dispute(policy=STANDARD)
    seller_offer(dispute, now=at(1))
    detail = refuses(InvalidTransition, lambda: dispute.escalate(BUYER, now=at(2)), dispute).detail
    assert "automatically" in detail
    refuses(InvalidTransition, lambda: dispute.escalate(SELLER, now=at(2)), dispute)
    assert Action.ESCALATE not in dispute.allowed_actions(BUYER, window_open=True)


@POLICIES
def test_a_mediator_does_not_press_escalate(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    seller_offer(dispute, now=at(1))
    refuses(Forbidden, lambda: dispute.escalate(MEDIATOR, now=at(2)), dispute)


def test_classic_cannot_escalate_twice() -> None:
    dispute, _, _ = under_review(CLASSIC)
    refuses(InvalidTransition, lambda: dispute.escalate(SELLER, now=at(3)), dispute)


def test_classic_freezes_the_parties_solutions_under_review() -> None:
    dispute, _, escalated = under_review(CLASSIC)
    offer = dispute.solutions[-1]
    primary = dispute.primary_solution.id
    later = escalated + timedelta(hours=1)
    refuses(InvalidTransition, lambda: seller_offer(dispute, now=later), dispute)
    refuses(
        InvalidTransition,
        lambda: dispute.accept_solution(BUYER, offer.id, now=later, is_holiday=no_holiday),
        dispute,
    )
    refuses(InvalidTransition, lambda: dispute.reject_solution(BUYER, offer.id, now=later), dispute)
    refuses(
        InvalidTransition,
        lambda: dispute.edit_solution(BUYER, primary, now=later, amount=money("30.00")),
        dispute,
    )
    refuses(
        InvalidTransition,
        lambda: dispute.propose_solution(
            BUYER, kind="return_and_refund", amount=money("40.00"), now=later
        ),
        dispute,
    )
    # Evidence and messages stay open.
    dispute.add_evidence(BUYER, file_id="file_more", content_type="image/jpeg", now=later)
    dispute.post_message(SELLER, body="Here is my side.", now=later)


def test_standard_lets_the_seller_offer_and_the_buyer_accept_during_mediation() -> None:
    dispute, order, escalated = under_review(STANDARD)
    decide(dispute, "30.00", now=escalated)
    later = escalated + timedelta(days=1)
    offer = seller_offer(dispute, amount="22.00", now=later)
    assert dispute.status is Status.UNDER_REVIEW
    dispute.accept_solution(BUYER, offer.id, now=later, is_holiday=no_holiday)
    assert dispute.status is Status.CLOSED
    outcome = dispute.outcome
    assert outcome is not None
    assert (outcome.result, outcome.refund, outcome.decided_by) == (
        Result.SETTLED,
        money("22.00"),
        DecidedBy.AGREEMENT,
    )
    assert dispute.mediation is not None and dispute.mediation.decision is not None
    assert dispute.mediation.decision.status == "replaced"  # the agreement overtook it
    sync_order(dispute, order, later)
    assert order.escrow.pending_refund == money("22.00")


def test_standard_lets_the_buyer_edit_its_solution_during_mediation() -> None:
    dispute, _, escalated = under_review(STANDARD)
    primary = dispute.primary_solution
    dispute.edit_solution(BUYER, primary.id, now=escalated, amount=money("35.00"))
    assert primary.amount == money("35.00")


# --- assignment -----------------------------------------------------------------------------


@POLICIES
def test_a_mediator_takes_the_case_and_another_is_kept_out(policy: Policy) -> None:
    dispute, _, escalated = under_review(policy, assign=False)
    dispute.assign(MEDIATOR, mediator_id=MEDIATOR.user_id, now=escalated)
    assert dispute.mediation is not None and dispute.mediation.mediator_id == MEDIATOR.user_id
    assert dispute.timeline[-1].type == "mediation.assigned"
    for attempt in (
        lambda: dispute.assign(OTHER_MEDIATOR, mediator_id=OTHER_MEDIATOR.user_id, now=escalated),
        lambda: dispute.request_evidence(
            OTHER_MEDIATOR, party="buyer", request="x", days=None, now=escalated
        ),
        lambda: dispute.propose_decision(
            OTHER_MEDIATOR,
            solutions=[ProposedSolution(SolutionKind.REFUND_ONLY, money("1.00"))],
            rationale="x",
            now=escalated,
        ),
    ):
        refuses(Forbidden, attempt, dispute)
    decision = decide(dispute, "10.00", now=escalated)
    refuses(
        Forbidden,
        lambda: dispute.finalize_decision(
            OTHER_MEDIATOR, decision.id, solution_index=None, now=escalated, is_holiday=no_holiday
        ),
        dispute,
    )


@POLICIES
def test_an_admin_or_the_assigned_mediator_hands_the_case_over(policy: Policy) -> None:
    dispute, _, escalated = under_review(policy)
    dispute.assign(ADMIN, mediator_id=OTHER_MEDIATOR.user_id, now=escalated)
    assert dispute.mediation is not None and dispute.mediation.mediator_id == OTHER_MEDIATOR.user_id
    refuses(
        Forbidden,
        lambda: dispute.assign(MEDIATOR, mediator_id=MEDIATOR.user_id, now=escalated),
        dispute,
    )
    dispute.assign(OTHER_MEDIATOR, mediator_id=MEDIATOR.user_id, now=escalated)
    assert dispute.mediation.mediator_id == MEDIATOR.user_id


@POLICIES
def test_parties_and_strangers_do_not_mediate(policy: Policy) -> None:
    dispute, _, escalated = under_review(policy, assign=False)
    for actor in (BUYER, SELLER, STRANGER):
        refuses(
            Forbidden,
            lambda actor=actor: dispute.assign(actor, mediator_id=actor.user_id, now=escalated),
            dispute,
        )
        refuses(
            Forbidden,
            lambda actor=actor: dispute.request_evidence(
                actor, party="buyer", request="x", days=None, now=escalated
            ),
            dispute,
        )
        refuses(
            Forbidden, lambda actor=actor: dispute.add_note(actor, body="x", now=escalated), dispute
        )


@POLICIES
def test_nothing_to_mediate_before_escalation(policy: Policy) -> None:
    dispute, _ = open_dispute(policy=policy)
    refuses(
        InvalidTransition, lambda: dispute.assign(MEDIATOR, mediator_id="m", now=at(1)), dispute
    )
    refuses(
        InvalidTransition,
        lambda: dispute.request_evidence(MEDIATOR, party="buyer", request="x", days=1, now=at(1)),
        dispute,
    )


# --- notes ----------------------------------------------------------------------------------


@POLICIES
def test_mediators_keep_private_notes(policy: Policy) -> None:
    dispute, _, escalated = under_review(policy)
    before = len(dispute.timeline)
    note = dispute.add_note(MEDIATOR, body="Seller has three similar cases.", now=escalated)
    assert dispute.notes == [note]
    assert len(dispute.timeline) == before  # the parties' timeline does not show notes
    refuses(ValidationError, lambda: dispute.add_note(MEDIATOR, body=" ", now=escalated), dispute)


# --- evidence requests ----------------------------------------------------------------------


@POLICIES
def test_a_request_claims_an_unassigned_case_and_sets_a_deadline(policy: Policy) -> None:
    dispute, _, escalated = under_review(policy, assign=False)
    request = dispute.request_evidence(
        MEDIATOR, party="seller", request="Proof of dispatch", days=None, now=escalated
    )
    assert dispute.mediation is not None and dispute.mediation.mediator_id == MEDIATOR.user_id
    assert (request.party, request.status) == (Role.SELLER, "open")
    assert request.due_at == escalated + timedelta(days=policy.deadlines.evidence_request_days)
    assert dispute.pending_events[-1].type == "dispute.evidence_requested"


@POLICIES
@pytest.mark.parametrize(
    ("party", "ask", "days"),
    [("mediator", "x", 3), ("both", "x", 3), ("buyer", "  ", 3), ("buyer", "x", 0),
     ("buyer", "x", 31), ("buyer", "x", True)],
)  # fmt: skip
def test_malformed_evidence_requests_are_refused(
    policy: Policy, party: str, ask: str, days: int
) -> None:
    dispute, _, escalated = under_review(policy, assign=False)
    refuses(
        ValidationError,
        lambda: dispute.request_evidence(
            MEDIATOR, party=party, request=ask, days=days, now=escalated
        ),
        dispute,
    )


@POLICIES
def test_only_the_asked_partys_evidence_fulfils_a_request(policy: Policy) -> None:
    dispute, _, escalated = under_review(policy)
    request = dispute.request_evidence(
        MEDIATOR, party="buyer", request="Video", days=None, now=escalated
    )
    dispute.add_evidence(SELLER, file_id="file_s", content_type="image/png", now=escalated)
    assert request.status == "open"
    dispute.add_evidence(BUYER, file_id="file_b", content_type="video/mp4", now=escalated)
    assert (request.status, request.resolved_at) == ("fulfilled", escalated)
    assert dispute.timeline[-1].type == "evidence_request.fulfilled"


@POLICIES
def test_a_seller_who_ignores_a_request_loses_and_a_return_follows(policy: Policy) -> None:
    dispute, _, escalated = under_review(policy, outcome="return_and_refund", amount="40.00")
    request = dispute.request_evidence(
        MEDIATOR, party="seller", request="Photos", days=None, now=escalated
    )
    assert dispute.expire(now=request.due_at, is_holiday=no_holiday) == "evidence_request"
    assert dispute.status is Status.AWAITING_RETURN
    assert dispute.outcome is not None
    assert dispute.outcome.decided_by is DecidedBy.MEDIATOR
    assert dispute.outcome.result is Result.BUYER_FAVOUR


# --- interim decisions ----------------------------------------------------------------------


@POLICIES
def test_an_interim_decision_has_one_or_two_solutions_from_zero_to_what_was_paid(
    policy: Policy,
) -> None:
    dispute, _, escalated = under_review(policy)
    decision = decide(dispute, "0.00", "40.00", now=escalated)
    assert [s.amount for s in decision.solutions] == [money("0.00"), money("40.00")]
    assert decision.status == "proposed"
    assert decision.respond_by == escalated + timedelta(days=3)
    assert dispute.pending_events[-1].type == "dispute.decision_proposed"

    def propose(*amounts: str, rationale: str = "Because."):  # type: ignore[no-untyped-def]
        return lambda: dispute.propose_decision(
            MEDIATOR,
            solutions=[ProposedSolution(SolutionKind.REFUND_ONLY, money(a)) for a in amounts],
            rationale=rationale,
            now=escalated,
        )

    refuses(ValidationError, propose(), dispute)
    refuses(ValidationError, propose("1.00", "2.00", "3.00"), dispute)
    refuses(AmountOutOfRange, propose("40.01"), dispute)
    refuses(AmountOutOfRange, propose("-0.01"), dispute)
    refuses(ValidationError, propose("10.00", rationale="  "), dispute)
    refuses(
        ValidationError,
        lambda: dispute.propose_decision(
            MEDIATOR,
            solutions=[ProposedSolution(SolutionKind.REFUND_ONLY, money("1.00", "EUR"))],
            rationale="x",
            now=escalated,
        ),
        dispute,
    )


@POLICIES
def test_both_parties_accepting_makes_the_decision_final(policy: Policy) -> None:
    dispute, order, escalated = under_review(policy)
    decision = decide(dispute, "18.00", now=escalated)
    dispute.accept_decision(
        SELLER, decision.id, solution_index=None, now=escalated, is_holiday=no_holiday
    )
    assert dispute.status is Status.UNDER_REVIEW
    assert decision.responses["seller"].response == "accepted"
    refuses(
        InvalidTransition,
        lambda: dispute.accept_decision(
            SELLER, decision.id, solution_index=None, now=escalated, is_holiday=no_holiday
        ),
        dispute,
    )
    dispute.accept_decision(
        BUYER, decision.id, solution_index=0, now=escalated, is_holiday=no_holiday
    )
    assert dispute.status is Status.CLOSED
    assert decision.status == "final"
    outcome = dispute.outcome
    assert outcome is not None
    assert (outcome.result, outcome.refund, outcome.decided_by) == (
        Result.BUYER_FAVOUR,
        money("18.00"),
        DecidedBy.MEDIATOR,
    )
    assert outcome.rule == f"{policy.name}: mediator_decision_accepted"
    final = dispute.solutions[-1]
    assert (final.proposed_by, final.status) == (Role.MEDIATOR, SolutionStatus.ACCEPTED)
    assert all(s.status is not SolutionStatus.PENDING for s in dispute.solutions)
    sync_order(dispute, order, escalated)
    assert order.escrow.pending_refund == money("18.00")


@POLICIES
def test_a_zero_decision_is_the_sellers_win(policy: Policy) -> None:
    dispute, _, escalated = under_review(policy)
    decision = decide(dispute, "0.00", now=escalated)
    dispute.finalize_decision(
        MEDIATOR, decision.id, solution_index=None, now=escalated, is_holiday=no_holiday
    )
    assert dispute.outcome is not None
    assert dispute.outcome.result is Result.SELLER_FAVOUR
    assert dispute.outcome.refund.is_zero
    assert dispute.refund is None


@POLICIES
def test_decision_responses_are_checked(policy: Policy) -> None:
    dispute, _, escalated = under_review(policy)
    decision = decide(dispute, "10.00", "20.00", now=escalated)
    for index in (2, -1, True):
        refuses(
            ValidationError,
            lambda index=index: dispute.accept_decision(
                BUYER, decision.id, solution_index=index, now=escalated, is_holiday=no_holiday
            ),
            dispute,
        )
    refuses(
        NotFound,
        lambda: dispute.accept_decision(
            BUYER, "dec_other", solution_index=None, now=escalated, is_holiday=no_holiday
        ),
        dispute,
    )
    refuses(
        ValidationError,
        lambda: dispute.reject_decision(
            BUYER, decision.id, comment=" ", evidence=[], now=escalated
        ),
        dispute,
    )
    refuses(
        Forbidden,
        lambda: dispute.accept_decision(
            MEDIATOR, decision.id, solution_index=None, now=escalated, is_holiday=no_holiday
        ),
        dispute,
    )
    refuses(
        NotFound,
        lambda: dispute.accept_decision(
            STRANGER, decision.id, solution_index=None, now=escalated, is_holiday=no_holiday
        ),
        dispute,
    )


@POLICIES
def test_no_decision_no_answer(policy: Policy) -> None:
    dispute, _, escalated = under_review(policy)
    refuses(
        InvalidTransition,
        lambda: dispute.accept_decision(
            BUYER, "dec_x", solution_index=None, now=escalated, is_holiday=no_holiday
        ),
        dispute,
    )
    refuses(
        InvalidTransition,
        lambda: dispute.finalize_decision(
            MEDIATOR, "dec_x", solution_index=None, now=escalated, is_holiday=no_holiday
        ),
        dispute,
    )


@POLICIES
def test_a_rejection_without_new_evidence_is_recorded_and_the_decision_stands(
    policy: Policy,
) -> None:
    dispute, _, escalated = under_review(policy)
    decision = decide(dispute, "15.00", now=escalated)
    known = dispute.evidence[0]
    dispute.reject_decision(
        SELLER,
        decision.id,
        comment="Too much.",
        evidence=[(known.file_id, known.content_type)],  # already in the case: not new
        now=escalated,
    )
    assert decision.status == "proposed"
    assert decision.responses["seller"].response == "rejected"
    assert dispute.timeline[-1].type == "decision.rejected"
    refuses(
        InvalidTransition,
        lambda: dispute.accept_decision(
            SELLER, decision.id, solution_index=None, now=escalated, is_holiday=no_holiday
        ),
        dispute,
    )
    assert dispute.expire(now=decision.respond_by, is_holiday=no_holiday) == "decision_response"
    assert dispute.status is Status.CLOSED
    assert dispute.outcome is not None and dispute.outcome.refund == money("15.00")


@POLICIES
def test_a_challenge_with_new_evidence_goes_back_to_the_mediator(policy: Policy) -> None:
    dispute, _, escalated = under_review(policy)
    decision = decide(dispute, "15.00", now=escalated)
    dispute.reject_decision(
        BUYER,
        decision.id,
        comment="The box was crushed, see this.",
        evidence=[("file_box", "image/jpeg")],
        now=escalated,
    )
    assert decision.status == "challenged"
    assert decision.responses["buyer"].response == "challenged"
    assert decision.responses["buyer"].evidence_file_ids == ["file_box"]
    assert dispute.evidence[-1].file_id == "file_box"
    assert dispute.timeline[-1].type == "decision.challenged"
    # The response window no longer runs: the next deadline is the mediator's.
    assert dispute.deadline is not None and dispute.deadline.kind == "mediator_review"
    before = snapshot(dispute)
    assert dispute.expire(now=decision.respond_by, is_holiday=no_holiday) is None
    assert [dispute] == before
    # The other party cannot answer a challenged decision; the mediator replaces it.
    refuses(
        InvalidTransition,
        lambda: dispute.accept_decision(
            SELLER, decision.id, solution_index=None, now=escalated, is_holiday=no_holiday
        ),
        dispute,
    )
    replacement = decide(dispute, "40.00", now=escalated + timedelta(days=1))
    assert decision.status == "replaced"
    assert dispute.mediation is not None and dispute.mediation.past_decisions == [decision]
    assert replacement.respond_by == escalated + timedelta(days=4)
    assert "replaced the decision" in dispute.timeline[-1].summary


@POLICIES
def test_a_challenged_decision_can_be_finalized_by_the_mediator(policy: Policy) -> None:
    dispute, _, escalated = under_review(policy)
    decision = decide(dispute, "15.00", now=escalated)
    dispute.reject_decision(
        SELLER, decision.id, comment="No.", evidence=[("file_s", "image/png")], now=escalated
    )
    dispute.finalize_decision(
        MEDIATOR, decision.id, solution_index=None, now=escalated, is_holiday=no_holiday
    )
    assert dispute.status is Status.CLOSED
    assert dispute.outcome is not None
    assert dispute.outcome.rule == f"{policy.name}: mediator_final_decision"
    assert "was made final by the mediator" in dispute.outcome.explanation


@POLICIES
def test_a_challenge_answers_an_open_evidence_request(policy: Policy) -> None:
    """New evidence brought with a challenge is evidence: the party did not ignore the ask."""
    dispute, _, escalated = under_review(policy)
    request = dispute.request_evidence(
        MEDIATOR, party="buyer", request="Photo of the box", days=None, now=escalated
    )
    decision = decide(dispute, "5.00", now=escalated)
    dispute.reject_decision(
        BUYER,
        decision.id,
        comment="Box photo.",
        evidence=[("file_box", "image/jpeg")],
        now=escalated,
    )
    assert request.status == "fulfilled"
    assert dispute.expire(now=request.due_at, is_holiday=no_holiday) is None
    assert dispute.is_open


@POLICIES
def test_unchallenged_two_solutions_end_on_the_one_the_buyer_accepted(policy: Policy) -> None:
    dispute, _, escalated = under_review(policy)
    decision = decide(dispute, "10.00", "30.00", now=escalated)
    dispute.accept_decision(
        BUYER, decision.id, solution_index=1, now=escalated, is_holiday=no_holiday
    )
    dispute.expire(now=decision.respond_by, is_holiday=no_holiday)
    assert decision.final_index == 1
    assert dispute.outcome is not None and dispute.outcome.refund == money("30.00")


@POLICIES
def test_unchallenged_two_solutions_end_on_the_first_when_the_buyer_did_not_accept(
    policy: Policy,
) -> None:
    dispute, _, escalated = under_review(policy)
    decision = decide(dispute, "10.00", "30.00", now=escalated)
    dispute.accept_decision(
        SELLER, decision.id, solution_index=1, now=escalated, is_holiday=no_holiday
    )
    dispute.expire(now=decision.respond_by, is_holiday=no_holiday)
    assert decision.final_index == 0
    assert dispute.outcome is not None and dispute.outcome.refund == money("10.00")


@POLICIES
def test_the_mediator_finalizes_a_chosen_solution(policy: Policy) -> None:
    dispute, _, escalated = under_review(policy)
    decision = decide(dispute, "10.00", "30.00", now=escalated)
    refuses(
        ValidationError,
        lambda: dispute.finalize_decision(
            MEDIATOR, decision.id, solution_index=5, now=escalated, is_holiday=no_holiday
        ),
        dispute,
    )
    refuses(
        NotFound,
        lambda: dispute.finalize_decision(
            MEDIATOR, "dec_old", solution_index=None, now=escalated, is_holiday=no_holiday
        ),
        dispute,
    )
    refuses(
        Forbidden,
        lambda: dispute.finalize_decision(
            BUYER, decision.id, solution_index=1, now=escalated, is_holiday=no_holiday
        ),
        dispute,
    )
    dispute.finalize_decision(
        MEDIATOR, decision.id, solution_index=1, now=escalated, is_holiday=no_holiday
    )
    assert decision.final_index == 1
    assert dispute.outcome is not None and dispute.outcome.refund == money("30.00")


def test_a_refused_finalize_does_not_claim_an_unassigned_case() -> None:
    dispute, _, escalated = under_review(STANDARD, assign=False)
    decision = dispute.propose_decision(
        ADMIN,
        solutions=[ProposedSolution(SolutionKind.REFUND_ONLY, money("5.00"))],
        rationale="Admin's call.",
        now=escalated,
    )
    assert dispute.mediation is not None and dispute.mediation.mediator_id is None
    refuses(
        ValidationError,
        lambda: dispute.finalize_decision(
            MEDIATOR, decision.id, solution_index=3, now=escalated, is_holiday=no_holiday
        ),
        dispute,
    )


@POLICIES
def test_a_final_decision_cannot_be_appealed(policy: Policy) -> None:
    dispute, _, escalated = under_review(policy)
    decision = decide(dispute, "10.00", now=escalated)
    dispute.finalize_decision(
        MEDIATOR, decision.id, solution_index=None, now=escalated, is_holiday=no_holiday
    )
    later = escalated + timedelta(hours=1)
    refuses(
        InvalidTransition,
        lambda: dispute.reject_decision(
            BUYER, decision.id, comment="No!", evidence=[("f_new", "image/png")], now=later
        ),
        dispute,
    )
    refuses(
        InvalidTransition,
        lambda: dispute.propose_decision(
            MEDIATOR,
            solutions=[ProposedSolution(SolutionKind.REFUND_ONLY, money("40.00"))],
            rationale="Second thoughts.",
            now=later,
        ),
        dispute,
    )
    refuses(InvalidTransition, lambda: dispute.cancel(BUYER, now=later, window_open=True), dispute)


@POLICIES
def test_a_final_return_decision_goes_to_the_return_step_and_cannot_be_cancelled(
    policy: Policy,
) -> None:
    dispute, _, escalated = under_review(policy)
    decision = decide(dispute, "40.00", kind="return_and_refund", now=escalated)
    dispute.finalize_decision(
        MEDIATOR, decision.id, solution_index=None, now=escalated, is_holiday=no_holiday
    )
    assert dispute.status is Status.AWAITING_RETURN
    assert dispute.outcome is not None and dispute.outcome.decided_by is DecidedBy.MEDIATOR
    refuses(
        InvalidTransition,
        lambda: dispute.cancel(BUYER, now=escalated, window_open=True),
        dispute,
    )
    assert Action.CANCEL not in dispute.allowed_actions(BUYER, window_open=True)


@POLICIES
def test_a_second_escalation_keeps_the_mediator_and_the_history(policy: Policy) -> None:
    """A return that arrives wrong goes back to the mediator who decided it."""
    dispute, _, escalated = under_review(policy)
    decision = decide(dispute, "40.00", kind="return_and_refund", now=escalated)
    dispute.finalize_decision(
        MEDIATOR, decision.id, solution_index=None, now=escalated, is_holiday=no_holiday
    )
    later = escalated + timedelta(days=1)
    dispute.ship_return(BUYER, carrier="DHL", tracking_number="R1", now=later)
    dispute.confirm_return(SELLER, condition="empty", now=later, is_holiday=no_holiday)
    assert dispute.status is Status.UNDER_REVIEW
    assert dispute.mediation is not None
    assert dispute.mediation.mediator_id == MEDIATOR.user_id
    assert dispute.mediation.trigger == "return_empty"
    assert dispute.mediation.past_decisions == [decision]
    assert dispute.mediation.decision is None


def test_escalation_helper_reaches_review_in_both_presets() -> None:
    for policy in (STANDARD, CLASSIC):
        dispute, _ = open_dispute(policy=policy)
        seller_offer(dispute)
        escalate(dispute)
        assert dispute.status is Status.UNDER_REVIEW
