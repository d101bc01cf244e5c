"""The parties' actions while they talk it out: editing the dispute, solutions offered,
accepted and rejected, evidence and messages, escalation, cancel and reopen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from fairdeal.domain import scams
from fairdeal.domain.dispute.base import DisputeBase
from fairdeal.domain.dispute.checks import (
    MAX_COMMENT,
    MAX_TEXT,
    check_claim,
    check_offer,
    describe,
    parse_solution_kind,
    text_field,
)
from fairdeal.domain.dispute.parts import (
    DecidedBy,
    Evidence,
    Message,
    Outcome,
    Result,
    Solution,
    SolutionStatus,
)
from fairdeal.domain.dispute.states import Action, Status
from fairdeal.domain.errors import (
    Forbidden,
    InvalidTransition,
    NotEligible,
    NotFound,
    ValidationError,
)
from fairdeal.domain.events import (
    DisputeCancelled,
    DisputeEdited,
    DisputeReopened,
    EvidenceAdded,
    EvidenceRemoved,
    MessagePosted,
    SolutionAccepted,
    SolutionProposed,
    SolutionRejected,
)
from fairdeal.domain.money import Money
from fairdeal.domain.roles import SYSTEM, Actor, Role


class NegotiationActions(DisputeBase):
    """Negotiation and the parties' everyday actions; mixed into ``Dispute``."""

    # --- negotiation ------------------------------------------------------------------------

    def edit(
        self,
        actor: Actor,
        *,
        now: datetime,
        reason: str | None = None,
        description: str | None = None,
    ) -> None:
        self._precheck(Action.EDIT_DISPUTE, actor)
        # Read the description first: a refused edit must not leave the reason half-changed.
        text = (
            None
            if description is None
            else text_field(description, "description", MAX_TEXT, required=True)
        )
        changes = []
        if reason is not None and reason != self.reason:
            chosen = self.policy.reason(reason, self.category)
            if chosen.not_received != self.policy.reason(self.reason, self.category).not_received:
                raise ValidationError(
                    "a received item's dispute cannot become 'not received' or the other way"
                    " round; cancel and open a new dispute instead",
                    field="reason",
                )
            changes.append(f"reason {self.reason} -> {chosen.code}")
            self.reason = chosen.code
            if chosen.warning:
                self._log(now, "policy.warning", SYSTEM, chosen.warning)
        if text is not None and text != self.description:
            self.description = text
            changes.append("description")
        if not changes:
            return
        self._log(now, "dispute.edited", actor, "Buyer changed " + ", ".join(changes) + ".")
        self._emit(DisputeEdited(now, actor.role))

    def propose_solution(
        self, actor: Actor, *, kind: str, amount: Money, comment: str = "", now: datetime
    ) -> Solution:
        """The buyer's one alternative, or a seller's own offer (which supersedes their last)."""
        self._precheck(Action.PROPOSE_SOLUTION, actor)
        chosen_kind = parse_solution_kind(kind, "kind")
        comment = text_field(comment, "comment", MAX_COMMENT)
        if actor.role is Role.BUYER:
            if chosen_kind is self.primary_solution.kind:
                raise ValidationError(
                    "the alternative solution must be of the other kind than your own",
                    field="kind",
                )
            check_claim(amount, self.amount_paid)
        else:
            check_offer(amount, self.amount_paid)
            for earlier in self.solutions:
                if earlier.proposed_by is Role.SELLER and earlier.status in (
                    SolutionStatus.PENDING,
                    SolutionStatus.REJECTED,
                ):
                    earlier.status = SolutionStatus.SUPERSEDED
                    earlier.updated_at = now
        solution = Solution(
            id=self._local_id("sol"),
            proposed_by=actor.role,
            author_id=actor.user_id,
            kind=chosen_kind,
            amount=amount,
            comment=comment,
            status=SolutionStatus.PENDING,
            created_at=now,
            updated_at=now,
        )
        self.solutions.append(solution)
        who = "Seller" if actor.role is Role.SELLER else "Buyer"
        self._log(
            now, "solution.proposed", actor, f"{who} offered a new solution: {describe(solution)}."
        )
        if actor.role is Role.SELLER:
            self._seller_answered(now, by=Action.PROPOSE_SOLUTION)
            self._start_buyer_answer_clock(now)
        self._emit(SolutionProposed(now, actor.role, solution.id))
        return solution

    def edit_solution(
        self,
        actor: Actor,
        solution_id: str,
        *,
        now: datetime,
        kind: str | None = None,
        amount: Money | None = None,
        comment: str | None = None,
    ) -> Solution:
        self._precheck(
            Action.EDIT_SOLUTION, actor, owner=lambda: self._authored_solution(actor, solution_id)
        )
        solution = self._authored_solution(actor, solution_id)
        if solution.status not in (SolutionStatus.PENDING, SolutionStatus.REJECTED):
            raise InvalidTransition(f"the solution is {solution.status.value}")
        new_kind = parse_solution_kind(kind, "kind") if kind is not None else solution.kind
        if actor.role is Role.BUYER:
            others = [s for s in self._live_solutions(Role.BUYER) if s.id != solution.id]
            if any(s.kind is new_kind for s in others):
                raise ValidationError("your two solutions must be of different kinds", field="kind")
        new_amount = amount if amount is not None else solution.amount
        if amount is not None:
            if actor.role is Role.BUYER:
                check_claim(amount, self.amount_paid)
            else:
                check_offer(amount, self.amount_paid)
        # Every check before any change: a refused edit leaves the solution as it was.
        new_comment = (
            solution.comment if comment is None else text_field(comment, "comment", MAX_COMMENT)
        )
        solution.kind, solution.amount, solution.comment = new_kind, new_amount, new_comment
        # An edited offer is a new offer: the other party answers it afresh.
        solution.status = SolutionStatus.PENDING
        solution.updated_at = now
        if solution.primary:
            self.desired_outcome = new_kind
        self._log(now, "solution.edited", actor, f"Solution changed: {describe(solution)}.")
        if actor.role is Role.SELLER:
            self._start_buyer_answer_clock(now)
        self._emit(SolutionProposed(now, actor.role, solution.id))
        return solution

    def _start_buyer_answer_clock(self, now: datetime) -> None:
        """A seller's new or edited offer gives the buyer the policy's days to answer it."""
        answer_days = self.policy.deadlines.buyer_answer_days
        if answer_days is not None and self.status is Status.NEGOTIATING:
            self.buyer_answer_due = now + timedelta(days=answer_days)

    def accept_solution(
        self,
        actor: Actor,
        solution_id: str,
        *,
        now: datetime,
        is_holiday: Callable[[date], bool],
    ) -> None:
        """The other party accepts: final. The dispute closes on these terms, or goes on to the
        return step for a return-and-refund."""
        self._precheck(
            Action.ACCEPT_SOLUTION, actor, owner=lambda: self._others_solution(actor, solution_id)
        )
        solution = self._answerable(actor, solution_id)
        solution.status = SolutionStatus.ACCEPTED
        solution.updated_at = now
        for other in self.solutions:
            if other is not solution and other.status in (
                SolutionStatus.PENDING,
                SolutionStatus.REJECTED,
            ):
                other.status = SolutionStatus.WITHDRAWN
                other.updated_at = now
        if actor.role is Role.SELLER:
            self._seller_answered(now, by=Action.ACCEPT_SOLUTION)
        who = "Seller" if actor.role is Role.SELLER else "Buyer"
        self._log(now, "solution.accepted", actor, f"{who} accepted: {describe(solution)}.")
        self._emit(SolutionAccepted(now, actor.role, solution.id))
        self._decide_on_solution(
            solution,
            now,
            DecidedBy.AGREEMENT,
            rule="agreement",
            explanation=f"The {actor.role.value} accepted the "
            f"{solution.proposed_by.value}'s solution: {describe(solution)}.",
            is_holiday=is_holiday,
            settled=True,
            by=Action.ACCEPT_SOLUTION,
        )

    def reject_solution(self, actor: Actor, solution_id: str, *, now: datetime) -> None:
        """Reversible: the rejected solution can still be accepted while the dispute is open."""
        self._precheck(
            Action.REJECT_SOLUTION, actor, owner=lambda: self._others_solution(actor, solution_id)
        )
        solution = self._answerable(actor, solution_id)
        if solution.status is SolutionStatus.REJECTED:
            raise InvalidTransition("you have already rejected this solution")
        solution.status = SolutionStatus.REJECTED
        solution.updated_at = now
        if actor.role is Role.SELLER:
            self._seller_answered(now, by=Action.REJECT_SOLUTION)
        else:
            self.buyer_answer_due = None
        who = "Seller" if actor.role is Role.SELLER else "Buyer"
        self._log(now, "solution.rejected", actor, f"{who} rejected: {describe(solution)}.")
        self._emit(SolutionRejected(now, actor.role, solution.id))

    # --- evidence and messages --------------------------------------------------------------

    def add_evidence(
        self,
        actor: Actor,
        *,
        file_id: str,
        content_type: str,
        description: str = "",
        now: datetime,
    ) -> Evidence:
        self._precheck(Action.ADD_EVIDENCE, actor)
        description = text_field(description, "description", MAX_COMMENT)
        if any(e.file_id == file_id for e in self.evidence):
            raise ValidationError("this file is already attached", field="file_id")
        evidence = self._attach_evidence(actor, file_id, content_type, description, now)
        self._log(now, "evidence.added", actor, f"The {actor.role.value} added evidence.")
        self._fulfil_requests(actor, now)
        self._emit(EvidenceAdded(now, actor.role, evidence.id))
        return evidence

    def remove_evidence(self, actor: Actor, evidence_id: str, *, now: datetime) -> None:
        self._precheck(
            Action.REMOVE_EVIDENCE, actor, owner=lambda: self._own_evidence(actor, evidence_id)
        )
        for index, evidence in enumerate(self.evidence):
            if evidence.id == evidence_id:
                if evidence.author_id != actor.user_id:
                    raise Forbidden("only the party who added evidence can remove it")
                del self.evidence[index]
                self._log(
                    now, "evidence.removed", actor, f"The {actor.role.value} removed evidence."
                )
                self._emit(EvidenceRemoved(now, actor.role, evidence_id))
                return
        raise NotFound(f"evidence {evidence_id} not found")

    def post_message(self, actor: Actor, *, body: str, now: datetime) -> Message:
        self._precheck(Action.POST_MESSAGE, actor)
        text = text_field(body, "body", MAX_TEXT, required=True)
        # A party's message may carry a trick: the seller proposing it, or the buyer proposing
        # or agreeing to it. Mediators' messages are not scanned.
        warnings = scams.scan_message(text) if actor.role in (Role.SELLER, Role.BUYER) else []
        message = Message(self._local_id("msg"), actor.user_id, actor.role, text, now, warnings)
        self.messages.append(message)
        self._log(now, "message.posted", actor, f"The {actor.role.value} sent a message.")
        self._emit(MessagePosted(now, actor.role, message.id, warnings))
        return message

    # --- escalation, cancel, reopen ---------------------------------------------------------

    def escalate(self, actor: Actor, *, now: datetime) -> None:
        self._precheck(Action.ESCALATE, actor)
        self._escalate(now, actor, "manual", by=Action.ESCALATE)

    def cancel(self, actor: Actor, *, now: datetime, window_open: bool) -> None:
        self._precheck(Action.CANCEL, actor)
        if not window_open:
            raise InvalidTransition(
                "buyer protection has ended; the dispute can no longer be cancelled"
            )
        self._move_to(Status.CANCELLED, Action.CANCEL)
        self.buyer_answer_due = None
        # Nothing stays on offer in a cancelled dispute: a reopened one awaits a fresh answer.
        for solution in self.solutions:
            if solution.status in (SolutionStatus.PENDING, SolutionStatus.REJECTED):
                solution.status, solution.updated_at = SolutionStatus.WITHDRAWN, now
        self.outcome = Outcome(
            Result.CANCELLED,
            Money.zero(self.amount_paid.currency),
            False,
            DecidedBy.BUYER,
            "buyer_cancelled",
            "The buyer cancelled the dispute; it can be reopened while buyer protection lasts.",
        )
        self.closed_at = now
        self._log(now, "dispute.cancelled", actor, "Buyer cancelled the dispute.")
        self._emit(DisputeCancelled(now, actor.role))

    def reopen(self, actor: Actor, *, now: datetime, window_open: bool) -> None:
        self._precheck(Action.REOPEN, actor)
        if not window_open:
            raise NotEligible("buyer protection has ended; the dispute cannot be reopened")
        self._move_to(Status.AWAITING_SELLER_RESPONSE, Action.REOPEN)
        self.opened_at = now
        self.outcome = None
        self.closed_at = None
        self.mediation = None
        self.return_ = None
        self.seller_answered_at = None
        # The buyer's solutions are on the table again -- also one the seller had accepted
        # before the buyer cancelled the agreed return -- so that the seller can answer them.
        for solution in self.solutions:
            if solution.status in (
                SolutionStatus.REJECTED,
                SolutionStatus.WITHDRAWN,
                SolutionStatus.ACCEPTED,
            ) and (solution.proposed_by is Role.BUYER):
                solution.status, solution.updated_at = SolutionStatus.PENDING, now
        self._log(now, "dispute.reopened", actor, "Buyer reopened the dispute.")
        self._emit(DisputeReopened(now, actor.role))
