"""``allowed_actions`` tells the truth: in many reachable states and for every kind of caller,
each action it lists succeeds when attempted with valid arguments, and each action it leaves
out is refused."""

from __future__ import annotations

from collections.abc import Callable
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
    awaiting_return,
    copy_of,
    decide,
    money,
    no_holiday,
    open_dispute,
    seller_offer,
    under_review,
)
from fairdeal.domain.dispute import (
    TRANSITIONS,
    Action,
    Actor,
    Dispute,
    ProposedSolution,
    Role,
    SolutionKind,
    SolutionStatus,
    Status,
)
from fairdeal.domain.errors import (
    DomainError,
    Forbidden,
    InvalidTransition,
    NotEligible,
    NotFound,
)
from fairdeal.domain.money import minimum_claim
from fairdeal.domain.policy import Policy

STRANGER_SELLER = Actor("usr_seller2", Role.SELLER)
ACTORS = {
    "buyer": BUYER,
    "seller": SELLER,
    "mediator": MEDIATOR,
    "other-mediator": OTHER_MEDIATOR,
    "admin": ADMIN,
    "stranger-buyer": STRANGER,
    "stranger-seller": STRANGER_SELLER,
}
REFUSALS = (Forbidden, InvalidTransition, NotFound, NotEligible)
LIVE = (SolutionStatus.PENDING, SolutionStatus.REJECTED)


# --- reachable states -----------------------------------------------------------------------


def fresh(policy: Policy) -> Dispute:
    return open_dispute(policy=policy)[0]


def with_alternative(policy: Policy) -> Dispute:
    dispute = fresh(policy)
    dispute.propose_solution(
        BUYER, kind="return_and_refund", amount=money("40.00"), now=dispute.updated_at
    )
    return dispute


def offered(policy: Policy) -> Dispute:
    dispute = fresh(policy)
    seller_offer(dispute)
    return dispute


def offer_rejected(policy: Policy) -> Dispute:
    dispute = offered(policy)
    dispute.reject_solution(BUYER, dispute.solutions[-1].id, now=dispute.updated_at)
    return dispute


def seller_rejected(policy: Policy) -> Dispute:
    dispute = fresh(policy)
    dispute.reject_solution(SELLER, dispute.primary_solution.id, now=dispute.updated_at)
    dispute.add_evidence(
        SELLER, file_id="file_seller", content_type="image/png", now=dispute.updated_at
    )
    return dispute


def review_unassigned(policy: Policy) -> Dispute:
    return under_review(policy, assign=False)[0]


def review_assigned(policy: Policy) -> Dispute:
    return under_review(policy)[0]


def review_requested(policy: Policy) -> Dispute:
    dispute = review_assigned(policy)
    dispute.request_evidence(
        MEDIATOR, party="seller", request="Photos", days=None, now=dispute.updated_at
    )
    return dispute


def review_decided(policy: Policy) -> Dispute:
    dispute = review_assigned(policy)
    decide(dispute, "10.00", "20.00")
    return dispute


def review_seller_accepted(policy: Policy) -> Dispute:
    dispute = review_decided(policy)
    assert dispute.mediation is not None and dispute.mediation.decision is not None
    dispute.accept_decision(
        SELLER,
        dispute.mediation.decision.id,
        solution_index=1,
        now=dispute.updated_at,
        is_holiday=no_holiday,
    )
    return dispute


def review_buyer_rejected(policy: Policy) -> Dispute:
    dispute = review_decided(policy)
    assert dispute.mediation is not None and dispute.mediation.decision is not None
    dispute.reject_decision(
        BUYER, dispute.mediation.decision.id, comment="No.", evidence=[], now=dispute.updated_at
    )
    return dispute


def review_challenged(policy: Policy) -> Dispute:
    dispute = review_decided(policy)
    assert dispute.mediation is not None and dispute.mediation.decision is not None
    dispute.reject_decision(
        SELLER,
        dispute.mediation.decision.id,
        comment="See this.",
        evidence=[("file_new", "image/png")],
        now=dispute.updated_at,
    )
    return dispute


def review_overdue(policy: Policy) -> Dispute:
    dispute = review_assigned(policy)
    assert dispute.mediation is not None
    dispute.expire(now=dispute.mediation.review_due_at, is_holiday=no_holiday)
    return dispute


def returning(policy: Policy) -> Dispute:
    return awaiting_return(policy)[0]


def returning_by_decision(policy: Policy) -> Dispute:
    dispute = review_assigned(policy)
    decision = decide(dispute, "40.00", kind="return_and_refund")
    dispute.finalize_decision(
        MEDIATOR, decision.id, solution_index=None, now=dispute.updated_at, is_holiday=no_holiday
    )
    return dispute


def in_transit(policy: Policy) -> Dispute:
    dispute = returning(policy)
    dispute.ship_return(BUYER, carrier="DHL", tracking_number="R1", now=dispute.updated_at)
    return dispute


def return_disputed(policy: Policy) -> Dispute:
    dispute = in_transit(policy)
    dispute.confirm_return(
        SELLER, condition="damaged", now=dispute.updated_at, is_holiday=no_holiday
    )
    return dispute


def return_disputed_with_alternative(policy: Policy) -> Dispute:
    dispute = return_disputed(policy)
    if not policy.mediation.freeze_solutions:
        dispute.propose_solution(
            BUYER, kind="refund_only", amount=money("20.00"), now=dispute.updated_at
        )
    return dispute


def closed(policy: Policy) -> Dispute:
    dispute = fresh(policy)
    dispute.accept_solution(
        SELLER, dispute.primary_solution.id, now=dispute.updated_at, is_holiday=no_holiday
    )
    return dispute


def refunded(policy: Policy) -> Dispute:
    dispute = closed(policy)
    assert dispute.refund is not None
    dispute.expire(now=dispute.refund.expected_by, is_holiday=no_holiday)
    return dispute


def cancelled(policy: Policy) -> Dispute:
    dispute = offered(policy)
    dispute.cancel(BUYER, now=dispute.updated_at, window_open=True)
    return dispute


def reopened(policy: Policy) -> Dispute:
    dispute = cancelled(policy)
    dispute.reopen(BUYER, now=dispute.updated_at + timedelta(hours=1), window_open=True)
    return dispute


STATES: dict[str, Callable[[Policy], Dispute]] = {
    f.__name__: f
    for f in (
        fresh,
        with_alternative,
        offered,
        offer_rejected,
        seller_rejected,
        review_unassigned,
        review_assigned,
        review_requested,
        review_decided,
        review_seller_accepted,
        review_buyer_rejected,
        review_challenged,
        review_overdue,
        returning,
        returning_by_decision,
        in_transit,
        return_disputed,
        return_disputed_with_alternative,
        closed,
        refunded,
        cancelled,
        reopened,
    )
}


# --- attempting an action with valid arguments ------------------------------------------------


def _own_live(dispute: Dispute, actor: Actor) -> str:
    for s in dispute.solutions:
        if s.author_id == actor.user_id and s.proposed_by is actor.role and s.status in LIVE:
            return s.id
    return dispute.solutions[0].id


def _answerable(dispute: Dispute, actor: Actor, statuses: tuple[SolutionStatus, ...]) -> str:
    other = Role.SELLER if actor.role is Role.BUYER else Role.BUYER
    for s in dispute.solutions:
        if s.proposed_by is other and s.status in statuses:
            return s.id
    return dispute.solutions[0].id


def _decision_id(dispute: Dispute) -> str:
    if dispute.mediation is not None and dispute.mediation.decision is not None:
        return dispute.mediation.decision.id
    return "dec_none"


def attempt(dispute: Dispute, actor: Actor, action: Action, *, window_open: bool = True) -> None:
    """Take ``action`` as ``actor`` with arguments that are valid for the dispute's state."""
    now = dispute.updated_at + timedelta(minutes=5)
    currency = dispute.amount_paid.currency
    if action is Action.EDIT_DISPUTE:
        dispute.edit(actor, now=now, description="Updated description.")
    elif action is Action.PROPOSE_SOLUTION:
        if actor.role is Role.BUYER:
            taken = dispute.primary_solution.kind
            kind = next(k for k in SolutionKind if k is not taken)
            dispute.propose_solution(actor, kind=kind, amount=minimum_claim(currency), now=now)
        else:
            dispute.propose_solution(actor, kind="refund_only", amount=money("0.00"), now=now)
    elif action is Action.EDIT_SOLUTION:
        dispute.edit_solution(actor, _own_live(dispute, actor), now=now, comment="edited")
    elif action is Action.ACCEPT_SOLUTION:
        dispute.accept_solution(
            actor, _answerable(dispute, actor, LIVE), now=now, is_holiday=no_holiday
        )
    elif action is Action.REJECT_SOLUTION:
        dispute.reject_solution(
            actor, _answerable(dispute, actor, (SolutionStatus.PENDING,)), now=now
        )
    elif action is Action.ADD_EVIDENCE:
        dispute.add_evidence(actor, file_id="file_attempt", content_type="image/png", now=now)
    elif action is Action.REMOVE_EVIDENCE:
        own = [e.id for e in dispute.evidence if e.author_id == actor.user_id]
        dispute.remove_evidence(actor, (own or ["ev_none"])[0], now=now)
    elif action is Action.POST_MESSAGE:
        dispute.post_message(actor, body="Hello.", now=now)
    elif action is Action.ESCALATE:
        dispute.escalate(actor, now=now)
    elif action is Action.CANCEL:
        dispute.cancel(actor, now=now, window_open=window_open)
    elif action is Action.REOPEN:
        dispute.reopen(actor, now=now, window_open=window_open)
    elif action is Action.SHIP_RETURN:
        dispute.ship_return(actor, carrier="DHL", tracking_number="R9", now=now)
    elif action is Action.CONFIRM_RETURN:
        dispute.confirm_return(actor, condition="as_expected", now=now, is_holiday=no_holiday)
    elif action is Action.ASSIGN:
        dispute.assign(actor, mediator_id=actor.user_id, now=now)
    elif action is Action.REQUEST_EVIDENCE:
        dispute.request_evidence(actor, party="buyer", request="More photos", days=None, now=now)
    elif action is Action.PROPOSE_DECISION:
        dispute.propose_decision(
            actor,
            solutions=[ProposedSolution(SolutionKind.REFUND_ONLY, money("5.00"))],
            rationale="Split the difference.",
            now=now,
        )
    elif action is Action.ACCEPT_DECISION:
        dispute.accept_decision(
            actor, _decision_id(dispute), solution_index=None, now=now, is_holiday=no_holiday
        )
    elif action is Action.REJECT_DECISION:
        dispute.reject_decision(actor, _decision_id(dispute), comment="No.", evidence=[], now=now)
    elif action is Action.FINALIZE_DECISION:
        dispute.finalize_decision(
            actor, _decision_id(dispute), solution_index=None, now=now, is_holiday=no_holiday
        )
    elif action is Action.ADD_NOTE:
        dispute.add_note(actor, body="Note to self.", now=now)
    else:  # pragma: no cover - EXPIRE is the clock's, not a caller's
        raise AssertionError(action)


ACTIONS = [a for a in Action if a is not Action.EXPIRE]


def check_state(dispute: Dispute, actor: Actor, *, window_open: bool) -> list[Action]:
    listed = dispute.allowed_actions(actor, window_open=window_open)
    assert Action.EXPIRE not in listed
    for action in ACTIONS:
        copied = copy_of(dispute)
        if action in listed:
            try:
                attempt(copied, actor, action, window_open=window_open)
            except DomainError as error:  # pragma: no cover - the failure message
                pytest.fail(f"{action} is listed for {actor} in {dispute.status} but: {error!r}")
            assert copied.status in TRANSITIONS[action].targets
        else:
            with pytest.raises(REFUSALS):
                attempt(copied, actor, action, window_open=window_open)
            assert copied == dispute, f"refused {action} changed the dispute"
    return listed


@pytest.mark.parametrize("policy", [STANDARD, CLASSIC], ids=["standard", "classic"])
@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize("who", list(ACTORS))
def test_listed_actions_succeed_and_the_rest_are_refused(
    policy: Policy, state: str, who: str
) -> None:
    dispute = STATES[state](policy)
    actor = ACTORS[who]
    listed = check_state(dispute, actor, window_open=True)
    if who.startswith("stranger"):
        assert listed == []
    # Without buyer protection, cancel and reopen are neither offered nor accepted.
    without = check_state(dispute, actor, window_open=False)
    assert set(without) == set(listed) - {Action.CANCEL, Action.REOPEN}


# --- a few lists spelled out ----------------------------------------------------------------


def test_a_fresh_dispute_offers_each_party_its_moves() -> None:
    dispute = fresh(STANDARD)
    assert set(dispute.allowed_actions(BUYER, window_open=True)) == {
        Action.EDIT_DISPUTE,
        Action.PROPOSE_SOLUTION,
        Action.EDIT_SOLUTION,
        Action.ADD_EVIDENCE,
        Action.REMOVE_EVIDENCE,
        Action.POST_MESSAGE,
        Action.CANCEL,
    }
    assert set(dispute.allowed_actions(SELLER, window_open=True)) == {
        Action.PROPOSE_SOLUTION,
        Action.ACCEPT_SOLUTION,
        Action.REJECT_SOLUTION,
        Action.ADD_EVIDENCE,
        Action.POST_MESSAGE,
    }
    assert set(dispute.allowed_actions(MEDIATOR, window_open=True)) == {
        Action.POST_MESSAGE,
        Action.ADD_NOTE,
    }


def test_unknown_window_offers_no_cancel() -> None:
    dispute = fresh(STANDARD)
    assert Action.CANCEL not in dispute.allowed_actions(BUYER)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [(STANDARD, True), (CLASSIC, False)],
    ids=["standard", "classic"],
)
def test_solutions_under_review_are_offered_only_where_not_frozen(
    policy: Policy, expected: bool
) -> None:
    dispute = review_assigned(policy)
    buyer = set(dispute.allowed_actions(BUYER, window_open=True))
    seller = set(dispute.allowed_actions(SELLER, window_open=True))
    assert (Action.ACCEPT_SOLUTION in buyer) is expected
    assert (Action.PROPOSE_SOLUTION in seller) is expected
    assert Action.ADD_EVIDENCE in buyer and Action.ADD_EVIDENCE in seller


def test_escalate_is_offered_only_by_classic_after_the_sellers_answer() -> None:
    assert Action.ESCALATE not in fresh(CLASSIC).allowed_actions(BUYER, window_open=True)
    assert Action.ESCALATE in offered(CLASSIC).allowed_actions(BUYER, window_open=True)
    assert Action.ESCALATE in offered(CLASSIC).allowed_actions(SELLER, window_open=True)
    assert Action.ESCALATE not in offered(STANDARD).allowed_actions(BUYER, window_open=True)


def test_the_assigned_mediator_decides_and_another_only_talks() -> None:
    dispute = review_decided(STANDARD)
    assert set(dispute.allowed_actions(MEDIATOR, window_open=True)) == {
        Action.POST_MESSAGE,
        Action.ASSIGN,
        Action.REQUEST_EVIDENCE,
        Action.PROPOSE_DECISION,
        Action.FINALIZE_DECISION,
        Action.ADD_NOTE,
    }
    assert set(dispute.allowed_actions(OTHER_MEDIATOR, window_open=True)) == {
        Action.POST_MESSAGE,
        Action.ADD_NOTE,
    }


def test_a_closed_dispute_offers_the_parties_nothing() -> None:
    dispute = closed(STANDARD)
    assert dispute.status is Status.CLOSED
    assert dispute.allowed_actions(BUYER, window_open=True) == []
    assert dispute.allowed_actions(SELLER, window_open=True) == []
    assert dispute.allowed_actions(MEDIATOR, window_open=True) == [Action.ADD_NOTE]
