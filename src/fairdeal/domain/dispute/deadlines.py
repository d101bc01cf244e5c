"""The dispute's clocks: which deadline runs in each status (one small function per status),
and what each expiry does -- an explicit table from a deadline's kind to its handler, so that
a reader (and a tool) finds every caller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from fairdeal.domain.dispute.parts import DecidedBy
from fairdeal.domain.dispute.states import Action, Status
from fairdeal.domain.events import ReviewOverdue
from fairdeal.domain.roles import SYSTEM, Role

if TYPE_CHECKING:
    from fairdeal.domain.dispute.aggregate import Dispute

IsHoliday = Callable[[date], bool]


@dataclass(frozen=True, slots=True)
class Deadline:
    """The one thing the clock will do next to an open dispute, and to whom."""

    kind: str
    due_at: datetime
    party: str  # buyer | seller | both | mediator
    on_expiry: str
    explanation: str
    # A review target only flags the dispute overdue once; after that it is shown, not fired.
    fires: bool = True


# --- which clocks run -------------------------------------------------------------------------


def _awaiting_seller(dispute: Dispute) -> list[Deadline]:
    days = dispute.policy.deadlines.seller_response_days
    return [
        Deadline(
            "seller_response",
            dispute.opened_at + timedelta(days=days),
            "seller",
            "close_for_buyer",
            "If the seller does not answer by then, the dispute closes in the buyer's"
            " favour on the buyer's solution.",
        )
    ]


def _negotiating(dispute: Dispute) -> list[Deadline]:
    found = [
        Deadline(
            "negotiation",
            dispute.opened_at + timedelta(days=dispute.policy.deadlines.negotiation_days),
            "both",
            "escalate",
            "If buyer and seller have not agreed by then, a mediator takes over.",
        )
    ]
    if dispute.buyer_answer_due is not None:
        found.append(
            Deadline(
                "buyer_answer",
                dispute.buyer_answer_due,
                "buyer",
                "close_on_seller_solution",
                "If the buyer does not accept or reject the seller's offer by then, the"
                " dispute closes on the seller's offer.",
            )
        )
    return found


def _under_review(dispute: Dispute) -> list[Deadline]:
    med = dispute.mediation
    if med is None:
        return []
    found: list[Deadline] = []
    for request in med.open_requests():
        other = "seller" if request.party is Role.BUYER else "buyer"
        found.append(
            Deadline(
                "evidence_request",
                request.due_at,
                request.party.value,
                f"close_for_{other}",
                f"If the {request.party.value} does not provide the evidence the mediator"
                f" asked for by then, the dispute closes in the {other}'s favour.",
            )
        )
    if med.decision is not None and med.decision.status == "proposed":
        found.append(
            Deadline(
                "decision_response",
                med.decision.respond_by,
                "both",
                "decision_final",
                "If neither party challenges the mediator's decision with new evidence"
                " by then, it becomes final.",
            )
        )
    found.append(
        Deadline(
            "mediator_review",
            med.review_due_at,
            "mediator",
            "flag_overdue",
            "The mediator aims to decide by then; past it the case is flagged overdue.",
            fires=not med.review_overdue,
        )
    )
    return found


def _awaiting_return(dispute: Dispute) -> list[Deadline]:
    if dispute.return_ is None:
        return []
    return [
        Deadline(
            "return_shipment",
            dispute.return_.due_by,
            "buyer",
            "close_for_seller",
            "If the buyer has not shipped the return with a tracking number by then, the"
            " dispute closes in the seller's favour with no refund.",
        )
    ]


def _return_in_transit(dispute: Dispute) -> list[Deadline]:
    if dispute.return_ is None or not dispute.return_.confirm_by:
        return []
    return [
        Deadline(
            "return_confirmation",
            dispute.return_.confirm_by,
            "seller",
            "execute_refund",
            "If the seller does not confirm the returned parcel by then, the refund is"
            " paid to the buyer.",
        )
    ]


# The clocks each status runs; a status not listed (closed, cancelled) runs none.
CLOCKS: dict[Status, Callable[[Dispute], list[Deadline]]] = {
    Status.AWAITING_SELLER_RESPONSE: _awaiting_seller,
    Status.NEGOTIATING: _negotiating,
    Status.UNDER_REVIEW: _under_review,
    Status.AWAITING_RETURN: _awaiting_return,
    Status.RETURN_IN_TRANSIT: _return_in_transit,
}


def pending_deadlines(dispute: Dispute) -> list[Deadline]:
    """Every clock running on this dispute."""
    clocks = CLOCKS.get(dispute.status)
    return clocks(dispute) if clocks is not None else []


# --- what each expiry does --------------------------------------------------------------------


def _rule(dispute: Dispute, deadline_field: str) -> str:
    value = getattr(dispute.policy.deadlines, deadline_field)
    return f"{dispute.policy.name}: deadlines.{deadline_field} = {value}"


def expire_seller_response(dispute: Dispute, at: datetime, is_holiday: IsHoliday) -> None:
    dispute._log(at, "deadline.expired", SYSTEM, "The seller did not answer in time.")
    dispute._decide_on_solution(
        dispute.primary_solution,
        at,
        DecidedBy.SELLER_TIMEOUT,
        rule=_rule(dispute, "seller_response_days"),
        explanation="The seller did not answer within "
        f"{dispute.policy.deadlines.seller_response_days} days, so the dispute closed on the "
        "buyer's solution.",
        is_holiday=is_holiday,
        by=Action.EXPIRE,
    )


def expire_buyer_answer(dispute: Dispute, at: datetime, is_holiday: IsHoliday) -> None:
    offer = dispute._latest_seller_solution()
    assert offer is not None
    dispute._log(at, "deadline.expired", SYSTEM, "The buyer did not answer the seller's offer.")
    dispute._decide_on_solution(
        offer,
        at,
        DecidedBy.BUYER_TIMEOUT,
        rule=_rule(dispute, "buyer_answer_days"),
        explanation="The buyer did not accept or reject the seller's offer within "
        f"{dispute.policy.deadlines.buyer_answer_days} days, so it took effect.",
        is_holiday=is_holiday,
        by=Action.EXPIRE,
    )


def expire_negotiation(dispute: Dispute, at: datetime, is_holiday: IsHoliday) -> None:
    dispute._escalate(at, SYSTEM, "negotiation_timeout", by=Action.EXPIRE)


def expire_evidence_request(dispute: Dispute, at: datetime, is_holiday: IsHoliday) -> None:
    assert dispute.mediation is not None
    request = min(dispute.mediation.open_requests(), key=lambda r: r.due_at)
    request.status, request.resolved_at = "expired", at
    dispute._log(
        at,
        "deadline.expired",
        SYSTEM,
        f"The {request.party.value} did not provide the requested evidence.",
    )
    rule = _rule(dispute, "evidence_request_days")
    if request.party is Role.SELLER:
        dispute._decide_on_solution(
            dispute.primary_solution,
            at,
            DecidedBy.MEDIATOR,
            rule=rule,
            explanation="The seller did not provide the evidence the mediator asked for, so "
            "the dispute closed in the buyer's favour on the buyer's solution.",
            is_holiday=is_holiday,
            by=Action.EXPIRE,
        )
    else:
        dispute._close_without_refund(
            at,
            DecidedBy.MEDIATOR,
            rule=rule,
            explanation="The buyer did not provide the evidence the mediator asked for, so "
            "the dispute closed in the seller's favour with no refund.",
            by=Action.EXPIRE,
        )


def expire_decision_response(dispute: Dispute, at: datetime, is_holiday: IsHoliday) -> None:
    assert dispute.mediation is not None and dispute.mediation.decision is not None
    decision = dispute.mediation.decision
    dispute._log(at, "deadline.expired", SYSTEM, "No one challenged the mediator's decision.")
    dispute._finalize(
        decision,
        dispute._default_index(decision),
        at,
        is_holiday,
        rule=_rule(dispute, "decision_response_days"),
        unchallenged=True,
        by=Action.EXPIRE,
    )


def expire_mediator_review(dispute: Dispute, at: datetime, is_holiday: IsHoliday) -> None:
    assert dispute.mediation is not None
    dispute.mediation.review_overdue = True
    dispute._log(at, "mediation.overdue", SYSTEM, "The mediator's review target has passed.")
    dispute._emit(ReviewOverdue(at))


def expire_return_shipment(dispute: Dispute, at: datetime, is_holiday: IsHoliday) -> None:
    dispute._log(at, "deadline.expired", SYSTEM, "The buyer did not ship the return in time.")
    dispute._close_without_refund(
        at,
        DecidedBy.RETURN_TIMEOUT,
        rule=_rule(dispute, "return_ship_days"),
        explanation="The buyer did not ship the return with a tracking number within "
        f"{dispute.policy.deadlines.return_ship_days} days, so no refund is due.",
        by=Action.EXPIRE,
    )


def expire_return_confirmation(dispute: Dispute, at: datetime, is_holiday: IsHoliday) -> None:
    assert dispute.outcome is not None
    dispute._log(at, "deadline.expired", SYSTEM, "The seller did not confirm the return in time.")
    dispute.outcome.rule = _rule(dispute, "return_confirm_days")
    dispute.outcome.explanation = (
        "The buyer shipped the return and the seller did not confirm it within "
        f"{dispute.policy.deadlines.return_confirm_days} days, so the refund was paid."
    )
    dispute._close(at, is_holiday, by=Action.EXPIRE)


# What the clock does when a deadline of each kind falls due.
ON_EXPIRY: dict[str, Callable[[Dispute, datetime, IsHoliday], None]] = {
    "seller_response": expire_seller_response,
    "buyer_answer": expire_buyer_answer,
    "negotiation": expire_negotiation,
    "evidence_request": expire_evidence_request,
    "decision_response": expire_decision_response,
    "mediator_review": expire_mediator_review,
    "return_shipment": expire_return_shipment,
    "return_confirmation": expire_return_confirmation,
}
