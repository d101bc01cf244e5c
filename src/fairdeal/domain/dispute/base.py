"""The dispute's fields and the bookkeeping every action shares: the precheck against the
transition table, look-ups, the one status move, the timeline and the events, and the common
ends (escalation into mediation, the outcome decided on a solution, the close).

The phase mixins (``negotiation``, ``returns``, ``mediation``) build on this class, and
``Dispute`` (``aggregate``) joins them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from fairdeal.domain import audit
from fairdeal.domain.clock import add_business_days
from fairdeal.domain.dispute.inputs import RecordedInput
from fairdeal.domain.dispute.parts import (
    DecidedBy,
    Evidence,
    Mediation,
    Message,
    Note,
    Outcome,
    Refund,
    Result,
    ReturnShipment,
    Solution,
    SolutionKind,
    SolutionStatus,
    TimelineEntry,
)
from fairdeal.domain.dispute.states import GUARDS, TRANSITIONS, Action, Status
from fairdeal.domain.errors import Forbidden, InvalidTransition, NotFound
from fairdeal.domain.events import (
    DisputeClosed,
    DisputeEscalated,
    DisputeEvent,
    DomainEvent,
    RefundScheduled,
    ReturnRequired,
)
from fairdeal.domain.money import Money
from fairdeal.domain.policy import Policy
from fairdeal.domain.roles import SYSTEM, Actor, Role


@dataclass
class DisputeBase:
    id: str
    order_id: str
    item_ids: list[str] | None
    buyer_id: str
    seller_id: str
    policy: Policy
    status: Status
    reason: str
    category: str | None
    description: str
    desired_outcome: SolutionKind
    amount_paid: Money
    opened_at: datetime
    created_at: datetime
    updated_at: datetime
    payment_country: str
    solutions: list[Solution] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    seller_answered_at: datetime | None = None
    buyer_answer_due: datetime | None = None
    mediation: Mediation | None = None
    outcome: Outcome | None = None
    return_: ReturnShipment | None = None
    refund: Refund | None = None
    settlement_due: bool = False
    closed_at: datetime | None = None
    next_local_id: int = 1
    # The commands that changed it, for the policy what-if (domain/dispute/inputs.py).
    inputs: list[RecordedInput] = field(default_factory=list)
    version: int = 0
    pending_events: list[DomainEvent] = field(default_factory=list, compare=False, repr=False)

    def solution(self, solution_id: str) -> Solution:
        for solution in self.solutions:
            if solution.id == solution_id:
                return solution
        raise NotFound(f"solution {solution_id} not found")

    @property
    def primary_solution(self) -> Solution:
        return next(s for s in self.solutions if s.primary)

    def _precheck(
        self, action: Action, actor: Actor, *, owner: Callable[[], object] | None = None
    ) -> None:
        """Role, then (for an action on one item) whose item it is, then status, then the
        action's state guards. Raises; returns nothing. Ownership comes before state so that
        touching the other party's solution or evidence is 403, whatever else is true."""
        rule = TRANSITIONS[action]
        if actor.role not in rule.roles:
            raise Forbidden(f"a {actor.role.value} cannot {action.value.replace('_', ' ')}")
        self._check_party(actor)
        if owner is not None:
            owner()
        if self.status not in rule.sources:
            raise InvalidTransition(
                f"cannot {action.value.replace('_', ' ')} while the dispute is "
                f"{self.status.value.replace('_', ' ')}"
            )
        guard = GUARDS.get(action)
        if guard is not None:
            guard(self, actor)

    def _check_party(self, actor: Actor) -> None:
        if actor.role is Role.BUYER and actor.user_id != self.buyer_id:
            raise NotFound(f"dispute {self.id} not found")
        if actor.role is Role.SELLER and actor.user_id != self.seller_id:
            raise NotFound(f"dispute {self.id} not found")

    def _live_solutions(self, role: Role) -> list[Solution]:
        return [
            s
            for s in self.solutions
            if s.proposed_by is role
            and s.status in (SolutionStatus.PENDING, SolutionStatus.REJECTED)
        ]

    def _answerable_solutions(self, actor: Actor) -> list[Solution]:
        other = Role.SELLER if actor.role is Role.BUYER else Role.BUYER
        return self._live_solutions(other)

    def _authored_solution(self, actor: Actor, solution_id: str) -> Solution:
        solution = self.solution(solution_id)
        if solution.author_id != actor.user_id or solution.proposed_by is not actor.role:
            raise Forbidden("only the solution's author can edit it")
        return solution

    def _others_solution(self, actor: Actor, solution_id: str) -> Solution:
        solution = self.solution(solution_id)
        if solution.proposed_by is actor.role or solution.proposed_by is Role.MEDIATOR:
            raise Forbidden("a party answers the other party's solutions, not its own")
        return solution

    def _own_evidence(self, actor: Actor, evidence_id: str) -> Evidence:
        for evidence in self.evidence:
            if evidence.id == evidence_id:
                if evidence.author_id != actor.user_id:
                    raise Forbidden("only the party who added evidence can remove it")
                return evidence
        raise NotFound(f"evidence {evidence_id} not found")

    def _answerable(self, actor: Actor, solution_id: str) -> Solution:
        solution = self._others_solution(actor, solution_id)
        if solution not in self._answerable_solutions(actor):
            raise InvalidTransition(f"the solution is {solution.status.value}")
        return solution

    def _latest_seller_solution(self) -> Solution | None:
        offers = self._live_solutions(Role.SELLER)
        return offers[-1] if offers else None

    def _seller_answered(self, now: datetime, *, by: Action) -> None:
        if self.seller_answered_at is None:
            self.seller_answered_at = now
        if self.status is Status.AWAITING_SELLER_RESPONSE:
            self._move_to(Status.NEGOTIATING, by)

    def _attach_evidence(
        self, actor: Actor, file_id: str, content_type: str, description: str, now: datetime
    ) -> Evidence:
        evidence = Evidence(
            self._local_id("ev"), file_id, actor.role, actor.user_id, content_type, description, now
        )
        self.evidence.append(evidence)
        return evidence

    def _local_id(self, prefix: str) -> str:
        number = self.next_local_id
        self.next_local_id += 1
        return f"{prefix}_{self.id}_{number}"

    def _log(self, now: datetime, kind: str, actor: Actor, summary: str) -> None:
        entry = TimelineEntry(now, kind, actor.role, summary, actor.user_id or None)
        previous = self.timeline[-1].hash if self.timeline else audit.timeline_genesis(self.id)
        entry.hash = audit.entry_hash(previous, entry.stored_content())
        self.timeline.append(entry)
        self.updated_at = max(self.updated_at, now)

    def _emit(self, event: DisputeEvent) -> None:
        """Record an event, stamped with where the dispute stands as it happens."""
        stamped = replace(
            event, dispute_id=self.id, order_id=self.order_id, status=self.status.value
        )
        self.pending_events.append(stamped)

    def _move_to(self, status: Status, by: Action) -> None:
        """The one place a dispute changes status: only where the transition table lets the
        action lead."""
        if not TRANSITIONS[by].reaches(status):
            raise InvalidTransition(
                f"{by.value.replace('_', ' ')} cannot leave the dispute "
                f"{status.value.replace('_', ' ')}"
            )
        self.status = status

    def _fulfil_requests(self, actor: Actor, now: datetime) -> None:
        """New evidence from a party answers the mediator's open requests to that party."""
        if self.mediation is None:
            return
        for request in self.mediation.open_requests():
            if request.party is actor.role:
                request.status, request.resolved_at = "fulfilled", now
                self._log(
                    now,
                    "evidence_request.fulfilled",
                    actor,
                    "The requested evidence was provided.",
                )

    def _escalate(self, now: datetime, actor: Actor, trigger: str, *, by: Action) -> None:
        days = self.policy.deadlines.mediator_review_days
        previous = self.mediation
        self.mediation = Mediation(
            escalated_at=now,
            review_due_at=now + timedelta(days=days),
            trigger=trigger,
            mediator_id=previous.mediator_id if previous else None,
        )
        if previous is not None:
            self.mediation.past_decisions = [*previous.past_decisions]
            if previous.decision is not None:
                self.mediation.past_decisions.append(previous.decision)
        self._move_to(Status.UNDER_REVIEW, by)
        self.buyer_answer_due = None
        reasons = {
            "manual": f"The {actor.role.value} escalated the dispute to a mediator.",
            "negotiation_timeout": "Buyer and seller did not agree in time; a mediator takes over.",
        }
        summary = reasons.get(
            trigger,
            "The seller reported a problem with the returned parcel; a mediator takes over.",
        )
        self._log(now, "dispute.escalated", actor, summary)
        self._emit(DisputeEscalated(now, actor.role, trigger))

    def _decide_on_solution(
        self,
        solution: Solution,
        now: datetime,
        decided_by: DecidedBy,
        *,
        rule: str,
        explanation: str,
        is_holiday: Callable[[date], bool],
        settled: bool = False,
        by: Action,
    ) -> None:
        """The dispute is decided on these terms: close now, or wait for the return first."""
        if settled:
            result = Result.SETTLED
        else:
            result = Result.BUYER_FAVOUR if solution.amount.minor > 0 else Result.SELLER_FAVOUR
        needs_return = solution.kind is SolutionKind.RETURN_AND_REFUND and not (
            self.return_ is not None and self.return_.received_at is not None
        )
        self.outcome = Outcome(
            result, solution.amount, needs_return, decided_by, rule, explanation, solution.kind
        )
        self.buyer_answer_due = None
        if needs_return:
            self._move_to(Status.AWAITING_RETURN, by)
            self.return_ = ReturnShipment(
                due_by=now + timedelta(days=self.policy.deadlines.return_ship_days)
            )
            self._log(
                now,
                "return.required",
                SYSTEM,
                "The buyer ships the item back within "
                f"{self.policy.deadlines.return_ship_days} days with a tracking number; "
                "the refund follows the seller's confirmation.",
            )
            self._emit(ReturnRequired(now, self.return_.due_by))
        else:
            self._close(now, is_holiday, by=by)

    def _close_without_refund(
        self,
        now: datetime,
        decided_by: DecidedBy,
        *,
        rule: str,
        explanation: str,
        by: Action,
    ) -> None:
        self.outcome = Outcome(
            Result.SELLER_FAVOUR,
            Money.zero(self.amount_paid.currency),
            False,
            decided_by,
            rule,
            explanation,
        )
        self._close(now, lambda _: False, by=by)

    def _close(self, now: datetime, is_holiday: Callable[[date], bool], *, by: Action) -> None:
        assert self.outcome is not None
        if self.outcome.rule != "agreement" and not self.outcome.rule.startswith(self.policy.name):
            self.outcome.rule = f"{self.policy.name}: {self.outcome.rule}"
        self._move_to(Status.CLOSED, by)
        self.closed_at = now
        self.buyer_answer_due = None
        self.settlement_due = True
        if (
            self.mediation is not None
            and self.mediation.decision is not None
            and (self.mediation.decision.status in ("proposed", "challenged"))
        ):
            self.mediation.decision.status = "replaced"
        if self.mediation is not None:
            for request in self.mediation.open_requests():
                request.status, request.resolved_at = "expired", now
        refund = self.outcome.refund
        self._log(now, "dispute.closed", SYSTEM, self.outcome.explanation)
        self._emit(
            DisputeClosed(now, self.outcome.result.value, refund, self.outcome.decided_by.value)
        )
        if refund.minor > 0:
            self.refund = Refund(
                status="scheduled",
                amount=refund,
                initiated_at=now,
                expected_by=add_business_days(
                    now, self.policy.deadlines.refund_business_days, is_holiday
                ),
            )
            self._log(
                now,
                "refund.scheduled",
                SYSTEM,
                f"Refund of {refund} to the original payment method scheduled.",
            )
            self._emit(RefundScheduled(now, refund, self.refund.expected_by))
