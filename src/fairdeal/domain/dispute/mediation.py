"""The mediator's phase: escalation into mediation, assignment, evidence requests, decisions
proposed, answered and made final, and the mediator's private notes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from fairdeal.domain.dispute.base import DisputeBase
from fairdeal.domain.dispute.checks import (
    MAX_COMMENT,
    MAX_TEXT,
    check_offer,
    decision_index,
    describe,
    text_field,
)
from fairdeal.domain.dispute.parts import (
    DecidedBy,
    Decision,
    EvidenceRequest,
    Note,
    PartyResponse,
    ProposedSolution,
    Solution,
    SolutionStatus,
)
from fairdeal.domain.dispute.states import Action
from fairdeal.domain.errors import (
    Forbidden,
    NotFound,
    ValidationError,
)
from fairdeal.domain.events import (
    DecisionAnswered,
    DecisionProposed,
    EvidenceRequested,
    MediatorAssigned,
)
from fairdeal.domain.roles import PARTIES, SYSTEM, Actor, Role


class MediationActions(DisputeBase):
    """Mediation; mixed into ``Dispute``."""

    # --- mediation --------------------------------------------------------------------------

    def assign(self, actor: Actor, *, mediator_id: str, now: datetime) -> None:
        self._precheck(Action.ASSIGN, actor)
        assert self.mediation is not None
        if (
            actor.role is Role.MEDIATOR
            and mediator_id != actor.user_id
            and (self.mediation.mediator_id not in (None, actor.user_id))
        ):
            raise Forbidden("this dispute is assigned to another mediator")
        self.mediation.mediator_id = mediator_id
        self._log(now, "mediation.assigned", actor, "A mediator took the case.")
        self._emit(MediatorAssigned(now, actor.role, mediator_id))

    def request_evidence(
        self, actor: Actor, *, party: str, request: str, days: int | None, now: datetime
    ) -> EvidenceRequest:
        self._precheck(Action.REQUEST_EVIDENCE, actor)
        assert self.mediation is not None
        try:
            who = Role(party)
        except ValueError:
            who = Role.SYSTEM
        if who not in PARTIES:
            raise ValidationError("party must be buyer or seller", field="party")
        text = text_field(request, "request", MAX_COMMENT, required=True)
        length = days if days is not None else self.policy.deadlines.evidence_request_days
        if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= 30:
            raise ValidationError("days must be from 1 to 30", field="days")
        self._claim_case(actor)
        item = EvidenceRequest(self._local_id("req"), who, text, now, now + timedelta(days=length))
        self.mediation.evidence_requests.append(item)
        self._log(
            now, "evidence.requested", actor, f"Mediator asked the {who.value} for evidence: {text}"
        )
        self._emit(EvidenceRequested(now, actor.role, who.value, item.id, item.due_at))
        return item

    def propose_decision(
        self,
        actor: Actor,
        *,
        solutions: list[ProposedSolution],
        rationale: str,
        now: datetime,
    ) -> Decision:
        self._precheck(Action.PROPOSE_DECISION, actor)
        assert self.mediation is not None
        if not 1 <= len(solutions) <= 2:
            raise ValidationError("a decision has one or two solutions", field="solutions")
        for index, proposed in enumerate(solutions):
            check_offer(proposed.amount, self.amount_paid, field=f"solutions.{index}.amount")
            proposed.comment = text_field(
                proposed.comment, f"solutions.{index}.comment", MAX_COMMENT
            )
        rationale = text_field(rationale, "rationale", MAX_TEXT, required=True)
        self._claim_case(actor)
        previous = self.mediation.decision
        if previous is not None:
            previous.status = "replaced"
            self.mediation.past_decisions.append(previous)
        decision = Decision(
            id=self._local_id("dec"),
            solutions=list(solutions),
            rationale=rationale,
            status="proposed",
            created_at=now,
            respond_by=now + timedelta(days=self.policy.deadlines.decision_response_days),
        )
        self.mediation.decision = decision
        verb = "replaced the decision" if previous else "proposed a decision"
        self._log(
            now,
            "decision.proposed",
            actor,
            f"Mediator {verb}: " + " or ".join(describe(s) for s in solutions) + ".",
        )
        self._emit(DecisionProposed(now, actor.role, decision.id))
        return decision

    def accept_decision(
        self,
        actor: Actor,
        decision_id: str,
        *,
        solution_index: int | None,
        now: datetime,
        is_holiday: Callable[[date], bool],
    ) -> None:
        self._precheck(Action.ACCEPT_DECISION, actor)
        decision = self._current_decision(decision_id)
        index = decision_index(decision, solution_index)
        decision.responses[actor.role.value] = PartyResponse("accepted", index, "", now)
        self._log(
            now,
            "decision.accepted",
            actor,
            f"The {actor.role.value} accepted the mediator's decision.",
        )
        self._emit(DecisionAnswered(now, actor.role, decision.id, "accepted"))
        if {"buyer", "seller"} <= {
            party for party, r in decision.responses.items() if r.response == "accepted"
        }:
            self._finalize(
                decision,
                self._default_index(decision),
                now,
                is_holiday,
                rule="mediator_decision_accepted",
                unchallenged=True,
                by=Action.ACCEPT_DECISION,
            )

    def reject_decision(
        self,
        actor: Actor,
        decision_id: str,
        *,
        comment: str,
        evidence: list[tuple[str, str]],
        now: datetime,
    ) -> None:
        """A rejection that brings new evidence is a challenge: back to the mediator. Without
        new evidence it is recorded and the decision stands."""
        self._precheck(Action.REJECT_DECISION, actor)
        decision = self._current_decision(decision_id)
        comment = text_field(comment, "comment", MAX_COMMENT, required=True)
        known = {e.file_id for e in self.evidence}
        new_files = [f for f, _ in evidence if f not in known]
        for file_id, content_type in evidence:
            if file_id in new_files:
                self._attach_evidence(actor, file_id, content_type, comment, now)
        challenged = bool(new_files)
        if challenged:
            # Evidence brought with a challenge is evidence: the party did not ignore a request.
            self._fulfil_requests(actor, now)
        decision.responses[actor.role.value] = PartyResponse(
            "challenged" if challenged else "rejected", None, comment, now, new_files
        )
        if challenged:
            decision.status = "challenged"
            self._log(
                now,
                "decision.challenged",
                actor,
                f"The {actor.role.value} challenged "
                "the decision with new evidence; it goes back to the mediator.",
            )
        else:
            self._log(
                now,
                "decision.rejected",
                actor,
                f"The {actor.role.value} rejected the "
                "decision without new evidence; the decision stands.",
            )
        response = "challenged" if challenged else "rejected"
        self._emit(DecisionAnswered(now, actor.role, decision.id, response))

    def finalize_decision(
        self,
        actor: Actor,
        decision_id: str,
        *,
        solution_index: int | None,
        now: datetime,
        is_holiday: Callable[[date], bool],
    ) -> None:
        self._precheck(Action.FINALIZE_DECISION, actor)
        decision = self._current_decision(decision_id)
        index = (
            decision_index(decision, solution_index)
            if solution_index is not None
            else self._default_index(decision)
        )
        # Claimed only once the request is valid: a refused finalize leaves the case unassigned.
        self._claim_case(actor)
        self._finalize(
            decision,
            index,
            now,
            is_holiday,
            rule="mediator_final_decision",
            unchallenged=False,
            by=Action.FINALIZE_DECISION,
        )

    def add_note(self, actor: Actor, *, body: str, now: datetime) -> Note:
        self._precheck(Action.ADD_NOTE, actor)
        # The text first: a refused note must not use up an id.
        text = text_field(body, "body", MAX_TEXT, required=True)
        note = Note(self._local_id("note"), actor.user_id, text, now)
        self.notes.append(note)
        return note

    def _claim_case(self, actor: Actor) -> None:
        assert self.mediation is not None
        if self.mediation.mediator_id is None and actor.role is Role.MEDIATOR:
            self.mediation.mediator_id = actor.user_id

    def _current_decision(self, decision_id: str) -> Decision:
        assert self.mediation is not None and self.mediation.decision is not None
        if self.mediation.decision.id != decision_id:
            raise NotFound(f"decision {decision_id} is not the current decision")
        return self.mediation.decision

    def _default_index(self, decision: Decision) -> int:
        """With two solutions: the one the buyer accepted, else the first."""
        buyer = decision.responses.get("buyer")
        if buyer is not None and buyer.response == "accepted" and buyer.solution_index is not None:
            return buyer.solution_index
        return 0

    def _finalize(
        self,
        decision: Decision,
        index: int,
        now: datetime,
        is_holiday: Callable[[date], bool],
        *,
        rule: str,
        unchallenged: bool,
        by: Action,
    ) -> None:
        decision.status = "final"
        decision.final_index = index
        chosen = decision.solutions[index]
        how = "became final unchallenged" if unchallenged else "was made final by the mediator"
        solution = Solution(
            id=self._local_id("sol"),
            proposed_by=Role.MEDIATOR,
            author_id=(self.mediation.mediator_id if self.mediation else None) or "mediator",
            kind=chosen.kind,
            amount=chosen.amount,
            comment=chosen.comment,
            status=SolutionStatus.ACCEPTED,
            created_at=now,
            updated_at=now,
        )
        self.solutions.append(solution)
        for other in self.solutions:
            if other.status in (SolutionStatus.PENDING, SolutionStatus.REJECTED):
                other.status, other.updated_at = SolutionStatus.WITHDRAWN, now
        self._log(
            now,
            "decision.final",
            SYSTEM if unchallenged else Actor("", Role.MEDIATOR),
            f"The mediator's decision {how}: {describe(solution)}.",
        )
        self._decide_on_solution(
            solution,
            now,
            DecidedBy.MEDIATOR,
            rule=rule if rule.startswith(self.policy.name) else f"{self.policy.name}: {rule}",
            explanation=f"The mediator's decision {how}: {describe(solution)}. "
            f"Rationale: {decision.rationale}",
            is_holiday=is_holiday,
            by=by,
        )
