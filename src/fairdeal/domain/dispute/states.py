"""The dispute's lifecycle: its statuses, its actions, and the transition table that says who
may take each action from which statuses and where it can lead -- with the guards that refuse
what the rules refuse beyond the status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from fairdeal.domain.dispute.parts import DecidedBy, SolutionStatus
from fairdeal.domain.errors import Forbidden, InvalidTransition
from fairdeal.domain.roles import Actor, Role

if TYPE_CHECKING:
    from fairdeal.domain.dispute.base import DisputeBase


class Status(StrEnum):
    AWAITING_SELLER_RESPONSE = "awaiting_seller_response"
    NEGOTIATING = "negotiating"
    UNDER_REVIEW = "under_review"
    AWAITING_RETURN = "awaiting_return"
    RETURN_IN_TRANSIT = "return_in_transit"
    CLOSED = "closed"
    CANCELLED = "cancelled"


OPEN_STATUSES = frozenset(
    {
        Status.AWAITING_SELLER_RESPONSE,
        Status.NEGOTIATING,
        Status.UNDER_REVIEW,
        Status.AWAITING_RETURN,
        Status.RETURN_IN_TRANSIT,
    }
)
NEGOTIATION = frozenset({Status.AWAITING_SELLER_RESPONSE, Status.NEGOTIATING})


class Action(StrEnum):
    EDIT_DISPUTE = "edit_dispute"
    PROPOSE_SOLUTION = "propose_solution"
    EDIT_SOLUTION = "edit_solution"
    ACCEPT_SOLUTION = "accept_solution"
    REJECT_SOLUTION = "reject_solution"
    ADD_EVIDENCE = "add_evidence"
    REMOVE_EVIDENCE = "remove_evidence"
    POST_MESSAGE = "post_message"
    ESCALATE = "escalate"
    CANCEL = "cancel"
    REOPEN = "reopen"
    SHIP_RETURN = "ship_return"
    CONFIRM_RETURN = "confirm_return"
    ASSIGN = "assign"
    REQUEST_EVIDENCE = "request_evidence"
    PROPOSE_DECISION = "propose_decision"
    ACCEPT_DECISION = "accept_decision"
    REJECT_DECISION = "reject_decision"
    FINALIZE_DECISION = "finalize_decision"
    ADD_NOTE = "add_note"
    EXPIRE = "expire"


@dataclass(frozen=True, slots=True)
class Transition:
    """Who may take an action, from which statuses, and where it can lead."""

    roles: frozenset[Role]
    sources: frozenset[Status]
    targets: frozenset[Status]

    def reaches(self, status: Status) -> bool:
        """Whether the action may leave the dispute in ``status``: one of its targets, or one
        of its sources as a step on the way (a seller accepting from awaiting-response has
        answered first: negotiating, then closed or awaiting the return)."""
        return status in self.targets or status in self.sources


def _t(roles: set[Role], sources: set[Status], targets: set[Status] | None = None) -> Transition:
    return Transition(frozenset(roles), frozenset(sources), frozenset(targets or sources))


B, S, M, A = Role.BUYER, Role.SELLER, Role.MEDIATOR, Role.ADMIN
ASR, NEG, REV = Status.AWAITING_SELLER_RESPONSE, Status.NEGOTIATING, Status.UNDER_REVIEW
AWR, RIT = Status.AWAITING_RETURN, Status.RETURN_IN_TRANSIT
CLO, CAN = Status.CLOSED, Status.CANCELLED

# The lifecycle, state x action -> state. Guards that depend on more than the status (the
# policy's switches, who wrote a solution, a pending decision) are the ``GUARDS`` below; ``DisputeBase._precheck`` runs both.
TRANSITIONS: dict[Action, Transition] = {
    Action.EDIT_DISPUTE: _t({B}, {ASR, NEG}),
    Action.PROPOSE_SOLUTION: _t({B, S}, {ASR, NEG, REV}),
    Action.EDIT_SOLUTION: _t({B, S}, {ASR, NEG, REV}),  # a seller's offer moves ASR -> NEG
    Action.ACCEPT_SOLUTION: _t({B, S}, {ASR, NEG, REV}, {CLO, AWR}),
    Action.REJECT_SOLUTION: _t({B, S}, {ASR, NEG, REV}, {NEG, REV}),
    Action.ADD_EVIDENCE: _t({B, S}, set(OPEN_STATUSES)),
    Action.REMOVE_EVIDENCE: _t({B, S}, set(OPEN_STATUSES)),
    Action.POST_MESSAGE: _t({B, S, M, A}, set(OPEN_STATUSES)),
    Action.ESCALATE: _t({B, S}, {NEG}, {REV}),
    Action.CANCEL: _t({B}, {ASR, NEG, REV, AWR}, {CAN}),
    Action.REOPEN: _t({B}, {CAN}, {ASR}),
    Action.SHIP_RETURN: _t({B}, {AWR}, {RIT}),
    Action.CONFIRM_RETURN: _t({S}, {RIT}, {CLO, REV}),
    Action.ASSIGN: _t({M, A}, {REV}),
    Action.REQUEST_EVIDENCE: _t({M, A}, {REV}),
    Action.PROPOSE_DECISION: _t({M, A}, {REV}),
    Action.ACCEPT_DECISION: _t({B, S}, {REV}, {REV, CLO, AWR}),
    Action.REJECT_DECISION: _t({B, S}, {REV}),
    Action.FINALIZE_DECISION: _t({M, A}, {REV}, {CLO, AWR}),
    Action.ADD_NOTE: _t({M, A}, set(Status)),
    Action.EXPIRE: _t({Role.SYSTEM}, set(OPEN_STATUSES) | {CLO}, set(Status) - {CAN}),
}


def _party_solutions(dispute: DisputeBase, actor: Actor) -> None:
    if dispute.status is REV and dispute.policy.mediation.freeze_solutions:
        raise InvalidTransition(
            "under this policy the parties' solutions are frozen once a mediator is involved"
        )


def _propose(dispute: DisputeBase, actor: Actor) -> None:
    _party_solutions(dispute, actor)
    # One alternative beside the buyer's own solution. Counted as alternatives, not as live
    # solutions: after an agreed return goes wrong the primary is no longer live, and a
    # count of live ones would let the buyer add alternatives one after another.
    if actor.role is Role.BUYER and any(not s.primary for s in dispute._live_solutions(Role.BUYER)):
        raise InvalidTransition(
            "you already have a solution and an alternative; edit one of them instead"
        )


def _accept(dispute: DisputeBase, actor: Actor) -> None:
    _party_solutions(dispute, actor)
    if not dispute._answerable_solutions(actor):
        raise InvalidTransition("there is no solution from the other party to accept")


def _reject(dispute: DisputeBase, actor: Actor) -> None:
    _party_solutions(dispute, actor)
    if not any(s.status is SolutionStatus.PENDING for s in dispute._answerable_solutions(actor)):
        raise InvalidTransition("there is no pending solution from the other party")


def _edit_solution(dispute: DisputeBase, actor: Actor) -> None:
    _party_solutions(dispute, actor)
    if not any(s.author_id == actor.user_id for s in dispute._live_solutions(actor.role)):
        raise InvalidTransition("you have no open solution to edit")


def _remove_evidence(dispute: DisputeBase, actor: Actor) -> None:
    if not any(e.author_id == actor.user_id for e in dispute.evidence):
        raise InvalidTransition("you have no evidence to remove")


def _escalate(dispute: DisputeBase, actor: Actor) -> None:
    if not dispute.policy.mediation.manual_escalation:
        raise InvalidTransition(
            f"under the {dispute.policy.name} policy disputes escalate automatically after "
            f"{dispute.policy.deadlines.negotiation_days} days; there is no escalate button"
        )
    if dispute.seller_answered_at is None:
        raise InvalidTransition("the dispute can be escalated once the seller has answered")


def _cancel(dispute: DisputeBase, actor: Actor) -> None:
    if (
        dispute.status is AWR
        and dispute.outcome is not None
        and dispute.outcome.decided_by is (DecidedBy.MEDIATOR)
    ):
        raise InvalidTransition("a mediator's final decision cannot be cancelled")


def _mediator(dispute: DisputeBase, actor: Actor) -> None:
    if dispute.mediation is None:
        raise InvalidTransition("the dispute is not in mediation")
    assigned = dispute.mediation.mediator_id
    if actor.role is Role.MEDIATOR and assigned not in (None, actor.user_id):
        raise Forbidden("this dispute is assigned to another mediator")


def _decision_open(dispute: DisputeBase, actor: Actor) -> None:
    _mediator(dispute, actor)
    assert dispute.mediation is not None
    decision = dispute.mediation.decision
    if decision is None or decision.status not in ("proposed", "challenged"):
        raise InvalidTransition("there is no open decision")


def _decision_response(dispute: DisputeBase, actor: Actor) -> None:
    if (
        dispute.mediation is None
        or dispute.mediation.decision is None
        or (dispute.mediation.decision.status != "proposed")
    ):
        raise InvalidTransition("there is no decision waiting for your answer")
    if actor.role.value in dispute.mediation.decision.responses:
        raise InvalidTransition("you have already answered this decision")


GUARDS: dict[Action, Callable[[DisputeBase, Actor], None]] = {
    Action.PROPOSE_SOLUTION: _propose,
    Action.EDIT_SOLUTION: _edit_solution,
    Action.ACCEPT_SOLUTION: _accept,
    Action.REJECT_SOLUTION: _reject,
    Action.REMOVE_EVIDENCE: _remove_evidence,
    Action.ESCALATE: _escalate,
    Action.CANCEL: _cancel,
    Action.ASSIGN: _mediator,
    Action.REQUEST_EVIDENCE: _mediator,
    Action.PROPOSE_DECISION: _mediator,
    Action.FINALIZE_DECISION: _decision_open,
    Action.ACCEPT_DECISION: _decision_response,
    Action.REJECT_DECISION: _decision_response,
}
