"""The dispute: its lifecycle as an explicit transition table, the guards that refuse what the
rules refuse, the one next deadline, and the outcome with the rule that produced it.

Every public method is one action of ``TRANSITIONS``. It first runs ``_precheck`` (role,
status, and the state guards of that action) -- the same check ``allowed_actions`` runs -- so
the actions offered to a caller are exactly the ones the engine will accept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from fairdeal.domain import audit, scams
from fairdeal.domain.clock import add_business_days
from fairdeal.domain.errors import (
    AmountOutOfRange,
    EvidenceRequired,
    Forbidden,
    InvalidTransition,
    NotEligible,
    NotFound,
    ValidationError,
)
from fairdeal.domain.events import DomainEvent
from fairdeal.domain.money import Money, minimum_claim
from fairdeal.domain.order import ItemDisputeState, Order
from fairdeal.domain.policy import Policy

MAX_TEXT = 5000
MAX_COMMENT = 2000


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


class Role(StrEnum):
    BUYER = "buyer"
    SELLER = "seller"
    MEDIATOR = "mediator"
    ADMIN = "admin"
    PLATFORM = "platform"
    SYSTEM = "system"  # the clock


PARTIES = frozenset({Role.BUYER, Role.SELLER})
STAFF = frozenset({Role.MEDIATOR, Role.ADMIN})


class SolutionKind(StrEnum):
    REFUND_ONLY = "refund_only"
    RETURN_AND_REFUND = "return_and_refund"


class SolutionStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    WITHDRAWN = "withdrawn"


class Result(StrEnum):
    BUYER_FAVOUR = "buyer_favour"
    SELLER_FAVOUR = "seller_favour"
    SETTLED = "settled"
    CANCELLED = "cancelled"


class DecidedBy(StrEnum):
    AGREEMENT = "agreement"
    SELLER_TIMEOUT = "seller_timeout"
    BUYER_TIMEOUT = "buyer_timeout"
    MEDIATOR = "mediator"
    RETURN_TIMEOUT = "return_timeout"
    BUYER = "buyer"


class ReturnCondition(StrEnum):
    AS_EXPECTED = "as_expected"
    EMPTY = "empty"
    DIFFERENT_ITEM = "different_item"
    DAMAGED = "damaged"


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


def _t(roles: set[Role], sources: set[Status], targets: set[Status] | None = None) -> Transition:
    return Transition(frozenset(roles), frozenset(sources), frozenset(targets or sources))


B, S, M, A = Role.BUYER, Role.SELLER, Role.MEDIATOR, Role.ADMIN
ASR, NEG, REV = Status.AWAITING_SELLER_RESPONSE, Status.NEGOTIATING, Status.UNDER_REVIEW
AWR, RIT = Status.AWAITING_RETURN, Status.RETURN_IN_TRANSIT
CLO, CAN = Status.CLOSED, Status.CANCELLED

# The lifecycle, state x action -> state. Guards that depend on more than the status (the
# policy's switches, who wrote a solution, a pending decision) live in ``_precheck``.
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


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: str
    role: Role


SYSTEM = Actor("system", Role.SYSTEM)


@dataclass(slots=True)
class Solution:
    id: str
    proposed_by: Role
    author_id: str
    kind: SolutionKind
    amount: Money
    comment: str
    status: SolutionStatus
    created_at: datetime
    updated_at: datetime
    primary: bool = False


@dataclass(slots=True)
class Evidence:
    id: str
    file_id: str
    added_by: Role
    author_id: str
    content_type: str
    description: str
    added_at: datetime


@dataclass(slots=True)
class Message:
    id: str
    author_id: str
    author_role: Role
    body: str
    created_at: datetime
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Note:
    id: str
    author_id: str
    body: str
    created_at: datetime


@dataclass(slots=True)
class EvidenceRequest:
    id: str
    party: Role
    request: str
    created_at: datetime
    due_at: datetime
    status: str = "open"  # open | fulfilled | expired
    resolved_at: datetime | None = None


@dataclass(slots=True)
class ProposedSolution:
    kind: SolutionKind
    amount: Money
    comment: str = ""


@dataclass(slots=True)
class PartyResponse:
    response: str  # accepted | rejected | challenged
    solution_index: int | None
    comment: str
    at: datetime
    evidence_file_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Decision:
    id: str
    solutions: list[ProposedSolution]
    rationale: str
    # proposed -> (challenged) -> final | replaced
    status: str
    created_at: datetime
    respond_by: datetime
    responses: dict[str, PartyResponse] = field(default_factory=dict)
    final_index: int | None = None


@dataclass(slots=True)
class Mediation:
    escalated_at: datetime
    review_due_at: datetime
    trigger: str
    mediator_id: str | None = None
    review_overdue: bool = False
    evidence_requests: list[EvidenceRequest] = field(default_factory=list)
    decision: Decision | None = None
    past_decisions: list[Decision] = field(default_factory=list)

    def open_requests(self) -> list[EvidenceRequest]:
        return [r for r in self.evidence_requests if r.status == "open"]


@dataclass(slots=True)
class Outcome:
    result: Result
    refund: Money
    return_required: bool
    decided_by: DecidedBy
    rule: str
    explanation: str
    solution_kind: SolutionKind | None = None


@dataclass(slots=True)
class ReturnShipment:
    due_by: datetime
    carrier: str | None = None
    tracking_number: str | None = None
    shipped_at: datetime | None = None
    confirm_by: datetime | None = None
    received_at: datetime | None = None
    condition: ReturnCondition | None = None
    note: str | None = None


@dataclass(slots=True)
class Refund:
    status: str  # scheduled | processing | completed
    amount: Money
    initiated_at: datetime
    expected_by: datetime
    completed_at: datetime | None = None


@dataclass(slots=True)
class TimelineEntry:
    at: datetime
    type: str
    actor_role: Role
    summary: str
    actor_id: str | None = None
    # This entry's link in the dispute's hash chain (domain/audit.py): covers the previous
    # entry's hash and this entry's content as stored.
    hash: str = ""

    def stored_content(self) -> dict[str, object]:
        """The entry's fields as the document stores them, without its hash: what the chain
        hashes (and what the verifier reads back from the database)."""
        return {
            "at": self.at.isoformat(),
            "type": self.type,
            "actor_role": self.actor_role.value,
            "summary": self.summary,
            "actor_id": self.actor_id,
        }


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


@dataclass(frozen=True, slots=True)
class Settlement:
    """Money a dispute's end moves: taken once by the service and applied to the order."""

    refund: Money
    amount_paid: Money


@dataclass
class Dispute:
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
    version: int = 0
    pending_events: list[DomainEvent] = field(default_factory=list, compare=False, repr=False)

    # --- opening ----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        *,
        dispute_id: str,
        order: Order,
        buyer: Actor,
        item_ids: list[str] | None,
        reason: str,
        desired_outcome: str,
        amount: Money,
        description: str,
        evidence: list[tuple[str, str]],
        policy: Policy,
        now: datetime,
    ) -> Dispute:
        """The buyer opens a dispute. ``evidence`` is (file_id, content_type) pairs."""
        if buyer.role is not Role.BUYER:
            raise Forbidden("only the buyer can open a dispute")
        if buyer.user_id != order.buyer_id:
            raise NotFound(f"order {order.id} not found")
        item_ids = _unique_items(item_ids)
        category = None
        if item_ids is not None:
            categories = {order.item(i).category for i in item_ids}
            category = categories.pop() if len(categories) == 1 else None
        elif len(order.items) == 1:
            category = order.items[0].category
        chosen = policy.reason(reason, category)
        order.check_can_dispute(item_ids=item_ids, reason=chosen, now=now, policy=policy)
        kind = _solution_kind(desired_outcome, "desired_outcome")
        amount_paid = order.amount_paid_for(item_ids)
        _check_claim(amount, amount_paid)
        description = _text(description, "description", MAX_TEXT, required=True)
        visual = [f for f, content_type in evidence if _is_photo_or_video(content_type)]
        if chosen.evidence_required and not visual:
            raise EvidenceRequired(
                f"'{chosen.title}' needs at least one photo or video: {chosen.evidence_hint}".strip(
                    ": "
                ),
                field="evidence_file_ids",
            )
        dispute = cls(
            id=dispute_id,
            order_id=order.id,
            item_ids=item_ids,
            buyer_id=order.buyer_id,
            seller_id=order.seller_id,
            policy=policy,
            status=Status.AWAITING_SELLER_RESPONSE,
            reason=chosen.code,
            category=category,
            description=description,
            desired_outcome=kind,
            amount_paid=amount_paid,
            opened_at=now,
            created_at=now,
            updated_at=now,
            payment_country=order.payment.country,
        )
        dispute.solutions.append(
            Solution(
                id=dispute._local_id("sol"),
                proposed_by=Role.BUYER,
                author_id=buyer.user_id,
                kind=kind,
                amount=amount,
                comment="",
                status=SolutionStatus.PENDING,
                created_at=now,
                updated_at=now,
                primary=True,
            )
        )
        for file_id, content_type in evidence:
            dispute._attach_evidence(buyer, file_id, content_type, "", now)
        dispute._log(now, "dispute.opened", buyer, f"Buyer opened a dispute: {chosen.title}.")
        if chosen.warning:
            dispute._log(now, "policy.warning", SYSTEM, chosen.warning)
        dispute._emit("dispute.opened", now)
        order.track_dispute(dispute.id, item_ids, ItemDisputeState.LIVE)
        return dispute

    # --- reading ----------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def item_state(self) -> ItemDisputeState:
        if self.status is Status.CANCELLED:
            return ItemDisputeState.CANCELLED
        return ItemDisputeState.CLOSED if self.status is Status.CLOSED else ItemDisputeState.LIVE

    def solution(self, solution_id: str) -> Solution:
        for solution in self.solutions:
            if solution.id == solution_id:
                return solution
        raise NotFound(f"solution {solution_id} not found")

    @property
    def primary_solution(self) -> Solution:
        return next(s for s in self.solutions if s.primary)

    def allowed_actions(self, actor: Actor, *, window_open: bool | None = None) -> list[Action]:
        """The actions this actor may take now. ``window_open`` tells whether buyer protection
        still runs (cancel and reopen need it); unknown means not offered."""
        allowed: list[Action] = []
        for action in TRANSITIONS:
            if action is Action.EXPIRE:
                continue
            try:
                self._precheck(action, actor)
            except (Forbidden, InvalidTransition, NotFound, NotEligible):
                continue
            if action in (Action.CANCEL, Action.REOPEN) and not window_open:
                continue
            allowed.append(action)
        return allowed

    # --- the deadline -----------------------------------------------------------------------

    def pending_deadlines(self) -> list[Deadline]:
        """Every clock running on this dispute; ``deadline`` is the nearest."""
        d = self.policy.deadlines
        found: list[Deadline] = []
        buyer_solution = "the buyer's solution"
        if self.status is ASR:
            found.append(
                Deadline(
                    "seller_response",
                    self.opened_at + timedelta(days=d.seller_response_days),
                    "seller",
                    "close_for_buyer",
                    "If the seller does not answer by then, the dispute closes in the buyer's"
                    f" favour on {buyer_solution}.",
                )
            )
        elif self.status is NEG:
            found.append(
                Deadline(
                    "negotiation",
                    self.opened_at + timedelta(days=d.negotiation_days),
                    "both",
                    "escalate",
                    "If buyer and seller have not agreed by then, a mediator takes over.",
                )
            )
            if self.buyer_answer_due is not None:
                found.append(
                    Deadline(
                        "buyer_answer",
                        self.buyer_answer_due,
                        "buyer",
                        "close_on_seller_solution",
                        "If the buyer does not accept or reject the seller's offer by then, the"
                        " dispute closes on the seller's offer.",
                    )
                )
        elif self.status is REV and self.mediation is not None:
            med = self.mediation
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
        elif self.status is AWR and self.return_ is not None:
            found.append(
                Deadline(
                    "return_shipment",
                    self.return_.due_by,
                    "buyer",
                    "close_for_seller",
                    "If the buyer has not shipped the return with a tracking number by then, the"
                    " dispute closes in the seller's favour with no refund.",
                )
            )
        elif self.status is RIT and self.return_ is not None and self.return_.confirm_by:
            found.append(
                Deadline(
                    "return_confirmation",
                    self.return_.confirm_by,
                    "seller",
                    "execute_refund",
                    "If the seller does not confirm the returned parcel by then, the refund is"
                    " paid to the buyer.",
                )
            )
        return found

    @property
    def deadline(self) -> Deadline | None:
        """The one next deadline of an open dispute: the nearest that will still fire, else
        the nearest shown (an overdue review target)."""
        if not self.is_open:
            return None
        pending = self.pending_deadlines()
        firing = [dl for dl in pending if dl.fires]
        candidates = firing or pending
        return min(candidates, key=lambda dl: dl.due_at) if candidates else None

    @property
    def fire_at(self) -> datetime | None:
        """When the clock next has something to do here (a deadline, or a refund step)."""
        deadline = self.deadline
        if deadline is not None and deadline.fires:
            return deadline.due_at
        if self.refund is not None and self.refund.status != "completed":
            return self.refund.expected_by
        return None

    def expire(self, *, now: datetime, is_holiday: Callable[[date], bool]) -> str | None:
        """The clock's turn: apply whatever fell due at or before ``now``. Returns the kind
        that fired, or None when nothing was due (the deadline was made moot)."""
        due = self.fire_at
        if due is None or due > now:
            return None
        deadline = self.deadline
        if deadline is None or not deadline.fires or deadline.due_at != due:
            assert self.refund is not None
            self.refund.status = "completed"
            self.refund.completed_at = due
            self._log(due, "refund.completed", SYSTEM, f"Refund of {self.refund.amount} completed.")
            self._emit("refund.completed", due, amount=self.refund.amount.as_json())
            return "refund_completion"
        at = deadline.due_at
        handler = getattr(self, f"_expire_{deadline.kind}")
        handler(at, is_holiday)
        return deadline.kind

    def _expire_seller_response(self, at: datetime, is_holiday: Callable[[date], bool]) -> None:
        self._log(at, "deadline.expired", SYSTEM, "The seller did not answer in time.")
        self._decide_on_solution(
            self.primary_solution,
            at,
            DecidedBy.SELLER_TIMEOUT,
            rule=self._rule("seller_response_days"),
            explanation="The seller did not answer within "
            f"{self.policy.deadlines.seller_response_days} days, so the dispute closed on the "
            "buyer's solution.",
            is_holiday=is_holiday,
        )

    def _expire_buyer_answer(self, at: datetime, is_holiday: Callable[[date], bool]) -> None:
        offer = self._latest_seller_solution()
        assert offer is not None
        self._log(at, "deadline.expired", SYSTEM, "The buyer did not answer the seller's offer.")
        self._decide_on_solution(
            offer,
            at,
            DecidedBy.BUYER_TIMEOUT,
            rule=self._rule("buyer_answer_days"),
            explanation="The buyer did not accept or reject the seller's offer within "
            f"{self.policy.deadlines.buyer_answer_days} days, so it took effect.",
            is_holiday=is_holiday,
        )

    def _expire_negotiation(self, at: datetime, is_holiday: Callable[[date], bool]) -> None:
        self._escalate(at, SYSTEM, "negotiation_timeout")

    def _expire_evidence_request(self, at: datetime, is_holiday: Callable[[date], bool]) -> None:
        assert self.mediation is not None
        request = min(self.mediation.open_requests(), key=lambda r: r.due_at)
        request.status, request.resolved_at = "expired", at
        self._log(
            at,
            "deadline.expired",
            SYSTEM,
            f"The {request.party.value} did not provide the requested evidence.",
        )
        rule = self._rule("evidence_request_days")
        if request.party is Role.SELLER:
            self._decide_on_solution(
                self.primary_solution,
                at,
                DecidedBy.MEDIATOR,
                rule=rule,
                explanation="The seller did not provide the evidence the mediator asked for, so "
                "the dispute closed in the buyer's favour on the buyer's solution.",
                is_holiday=is_holiday,
            )
        else:
            self._close_without_refund(
                at,
                DecidedBy.MEDIATOR,
                rule=rule,
                explanation="The buyer did not provide the evidence the mediator asked for, so "
                "the dispute closed in the seller's favour with no refund.",
            )

    def _expire_decision_response(self, at: datetime, is_holiday: Callable[[date], bool]) -> None:
        assert self.mediation is not None and self.mediation.decision is not None
        decision = self.mediation.decision
        self._log(at, "deadline.expired", SYSTEM, "No one challenged the mediator's decision.")
        self._finalize(
            decision,
            self._default_index(decision),
            at,
            is_holiday,
            rule=self._rule("decision_response_days"),
            unchallenged=True,
        )

    def _expire_mediator_review(self, at: datetime, is_holiday: Callable[[date], bool]) -> None:
        assert self.mediation is not None
        self.mediation.review_overdue = True
        self._log(at, "mediation.overdue", SYSTEM, "The mediator's review target has passed.")
        self._emit("dispute.updated", at, review_overdue=True)

    def _expire_return_shipment(self, at: datetime, is_holiday: Callable[[date], bool]) -> None:
        self._log(at, "deadline.expired", SYSTEM, "The buyer did not ship the return in time.")
        self._close_without_refund(
            at,
            DecidedBy.RETURN_TIMEOUT,
            rule=self._rule("return_ship_days"),
            explanation="The buyer did not ship the return with a tracking number within "
            f"{self.policy.deadlines.return_ship_days} days, so no refund is due.",
        )

    def _expire_return_confirmation(self, at: datetime, is_holiday: Callable[[date], bool]) -> None:
        assert self.outcome is not None
        self._log(at, "deadline.expired", SYSTEM, "The seller did not confirm the return in time.")
        self.outcome.rule = self._rule("return_confirm_days")
        self.outcome.explanation = (
            "The buyer shipped the return and the seller did not confirm it within "
            f"{self.policy.deadlines.return_confirm_days} days, so the refund was paid."
        )
        self._close(at, is_holiday)

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
            else _text(description, "description", MAX_TEXT, required=True)
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
        self._emit("dispute.updated", now)

    def propose_solution(
        self, actor: Actor, *, kind: str, amount: Money, comment: str = "", now: datetime
    ) -> Solution:
        """The buyer's one alternative, or a seller's own offer (which supersedes their last)."""
        self._precheck(Action.PROPOSE_SOLUTION, actor)
        solution_kind = _solution_kind(kind, "kind")
        comment = _text(comment, "comment", MAX_COMMENT)
        if actor.role is Role.BUYER:
            if solution_kind is self.primary_solution.kind:
                raise ValidationError(
                    "the alternative solution must be of the other kind than your own",
                    field="kind",
                )
            _check_claim(amount, self.amount_paid)
        else:
            _check_offer(amount, self.amount_paid)
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
            kind=solution_kind,
            amount=amount,
            comment=comment,
            status=SolutionStatus.PENDING,
            created_at=now,
            updated_at=now,
        )
        self.solutions.append(solution)
        who = "Seller" if actor.role is Role.SELLER else "Buyer"
        self._log(
            now, "solution.proposed", actor, f"{who} offered a new solution: {_describe(solution)}."
        )
        if actor.role is Role.SELLER:
            self._seller_answered(now)
            answer_days = self.policy.deadlines.buyer_answer_days
            if answer_days is not None and self.status is NEG:
                self.buyer_answer_due = now + timedelta(days=answer_days)
        self._emit("dispute.solution_proposed", now, solution_id=solution.id)
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
        new_kind = _solution_kind(kind, "kind") if kind is not None else solution.kind
        if actor.role is Role.BUYER:
            others = [s for s in self._live_solutions(Role.BUYER) if s.id != solution.id]
            if any(s.kind is new_kind for s in others):
                raise ValidationError("your two solutions must be of different kinds", field="kind")
        new_amount = amount if amount is not None else solution.amount
        if amount is not None:
            if actor.role is Role.BUYER:
                _check_claim(amount, self.amount_paid)
            else:
                _check_offer(amount, self.amount_paid)
        # Every check before any change: a refused edit leaves the solution as it was.
        new_comment = (
            solution.comment if comment is None else _text(comment, "comment", MAX_COMMENT)
        )
        solution.kind, solution.amount, solution.comment = new_kind, new_amount, new_comment
        # An edited offer is a new offer: the other party answers it afresh.
        solution.status = SolutionStatus.PENDING
        solution.updated_at = now
        if solution.primary:
            self.desired_outcome = new_kind
        self._log(now, "solution.edited", actor, f"Solution changed: {_describe(solution)}.")
        if actor.role is Role.SELLER:
            answer_days = self.policy.deadlines.buyer_answer_days
            if answer_days is not None and self.status is NEG:
                self.buyer_answer_due = now + timedelta(days=answer_days)
        self._emit("dispute.solution_proposed", now, solution_id=solution.id)
        return solution

    def accept_solution(
        self, actor: Actor, solution_id: str, *, now: datetime, is_holiday: Callable[[date], bool]
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
            self._seller_answered(now)
        who = "Seller" if actor.role is Role.SELLER else "Buyer"
        self._log(now, "solution.accepted", actor, f"{who} accepted: {_describe(solution)}.")
        self._emit("dispute.solution_accepted", now, solution_id=solution.id)
        self._decide_on_solution(
            solution,
            now,
            DecidedBy.AGREEMENT,
            rule="agreement",
            explanation=f"The {actor.role.value} accepted the "
            f"{solution.proposed_by.value}'s solution: {_describe(solution)}.",
            is_holiday=is_holiday,
            settled=True,
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
            self._seller_answered(now)
        else:
            self.buyer_answer_due = None
        who = "Seller" if actor.role is Role.SELLER else "Buyer"
        self._log(now, "solution.rejected", actor, f"{who} rejected: {_describe(solution)}.")
        self._emit("dispute.solution_rejected", now, solution_id=solution.id)

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
        description = _text(description, "description", MAX_COMMENT)
        if any(e.file_id == file_id for e in self.evidence):
            raise ValidationError("this file is already attached", field="file_id")
        evidence = self._attach_evidence(actor, file_id, content_type, description, now)
        self._log(now, "evidence.added", actor, f"The {actor.role.value} added evidence.")
        self._fulfil_requests(actor, now)
        self._emit("dispute.evidence_added", now, evidence_id=evidence.id)
        return evidence

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
                self._emit("dispute.updated", now, evidence_removed=evidence_id)
                return
        raise NotFound(f"evidence {evidence_id} not found")

    def post_message(self, actor: Actor, *, body: str, now: datetime) -> Message:
        self._precheck(Action.POST_MESSAGE, actor)
        text = _text(body, "body", MAX_TEXT, required=True)
        # Only what a seller writes can pressure the buyer; the warnings are shown to the buyer.
        warnings = scams.scan_message(text) if actor.role is Role.SELLER else []
        message = Message(self._local_id("msg"), actor.user_id, actor.role, text, now, warnings)
        self.messages.append(message)
        self._log(now, "message.posted", actor, f"The {actor.role.value} sent a message.")
        self._emit("dispute.message_posted", now, message_id=message.id, warnings=warnings)
        return message

    # --- escalation, cancel, reopen ---------------------------------------------------------

    def escalate(self, actor: Actor, *, now: datetime) -> None:
        self._precheck(Action.ESCALATE, actor)
        self._escalate(now, actor, "manual")

    def cancel(self, actor: Actor, *, now: datetime, window_open: bool) -> None:
        self._precheck(Action.CANCEL, actor)
        if not window_open:
            raise InvalidTransition(
                "buyer protection has ended; the dispute can no longer be cancelled"
            )
        self.status = Status.CANCELLED
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
        self._emit("dispute.cancelled", now)

    def reopen(self, actor: Actor, *, now: datetime, window_open: bool) -> None:
        self._precheck(Action.REOPEN, actor)
        if not window_open:
            raise NotEligible("buyer protection has ended; the dispute cannot be reopened")
        self.status = Status.AWAITING_SELLER_RESPONSE
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
        self._emit("dispute.reopened", now)

    # --- returns ----------------------------------------------------------------------------

    def ship_return(
        self, actor: Actor, *, carrier: str, tracking_number: str, now: datetime
    ) -> None:
        self._precheck(Action.SHIP_RETURN, actor)
        assert self.return_ is not None
        carrier = _text(carrier, "carrier", 100, required=True)
        tracking_number = _text(tracking_number, "tracking_number", 100, required=True)
        self.return_.carrier, self.return_.tracking_number = carrier, tracking_number
        self.return_.shipped_at = now
        self.return_.confirm_by = now + timedelta(days=self.policy.deadlines.return_confirm_days)
        self.status = Status.RETURN_IN_TRANSIT
        self._log(
            now, "return.shipped", actor, f"Buyer shipped the return ({carrier} {tracking_number})."
        )
        self._emit("return.shipped", now, carrier=carrier, tracking_number=tracking_number)

    def confirm_return(
        self,
        actor: Actor,
        *,
        condition: str,
        note: str = "",
        now: datetime,
        is_holiday: Callable[[date], bool],
    ) -> None:
        """The seller reports the returned parcel: as expected pays the refund; anything else
        goes to a mediator."""
        self._precheck(Action.CONFIRM_RETURN, actor)
        assert self.return_ is not None and self.outcome is not None
        try:
            state = ReturnCondition(condition)
        except ValueError:
            raise ValidationError(
                f"condition must be one of {', '.join(c.value for c in ReturnCondition)}",
                field="condition",
            ) from None
        # The note is checked before anything changes: a refused report leaves it unconfirmed.
        text = _text(note, "note", MAX_COMMENT) or None
        self.return_.received_at = now
        self.return_.condition = state
        self.return_.note = text
        self._log(
            now,
            "return.received",
            actor,
            f"Seller received the return: {state.value.replace('_', ' ')}.",
        )
        self._emit("return.received", now, condition=state.value)
        if state is ReturnCondition.AS_EXPECTED:
            self._close(now, is_holiday)
        else:
            self.outcome = None
            self._escalate(now, actor, f"return_{state.value}")

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
        self._emit("dispute.updated", now, mediator_id=mediator_id)

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
        text = _text(request, "request", MAX_COMMENT, required=True)
        length = days if days is not None else self.policy.deadlines.evidence_request_days
        if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= 30:
            raise ValidationError("days must be from 1 to 30", field="days")
        self._claim_case(actor)
        item = EvidenceRequest(self._local_id("req"), who, text, now, now + timedelta(days=length))
        self.mediation.evidence_requests.append(item)
        self._log(
            now, "evidence.requested", actor, f"Mediator asked the {who.value} for evidence: {text}"
        )
        self._emit(
            "dispute.evidence_requested",
            now,
            party=who.value,
            request_id=item.id,
            due_at=item.due_at.isoformat(),
        )
        return item

    def propose_decision(
        self, actor: Actor, *, solutions: list[ProposedSolution], rationale: str, now: datetime
    ) -> Decision:
        self._precheck(Action.PROPOSE_DECISION, actor)
        assert self.mediation is not None
        if not 1 <= len(solutions) <= 2:
            raise ValidationError("a decision has one or two solutions", field="solutions")
        for index, proposed in enumerate(solutions):
            _check_offer(proposed.amount, self.amount_paid, field=f"solutions.{index}.amount")
            proposed.comment = _text(proposed.comment, f"solutions.{index}.comment", MAX_COMMENT)
        rationale = _text(rationale, "rationale", MAX_TEXT, required=True)
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
            f"Mediator {verb}: " + " or ".join(_describe(s) for s in solutions) + ".",
        )
        self._emit("dispute.decision_proposed", now, decision_id=decision.id)
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
        index = _decision_index(decision, solution_index)
        decision.responses[actor.role.value] = PartyResponse("accepted", index, "", now)
        self._log(
            now,
            "decision.accepted",
            actor,
            f"The {actor.role.value} accepted the mediator's decision.",
        )
        self._emit("dispute.updated", now, decision_id=decision.id, response="accepted")
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
        comment = _text(comment, "comment", MAX_COMMENT, required=True)
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
        self._emit(
            "dispute.updated",
            now,
            decision_id=decision.id,
            response="challenged" if challenged else "rejected",
        )

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
            _decision_index(decision, solution_index)
            if solution_index is not None
            else self._default_index(decision)
        )
        # Claimed only once the request is valid: a refused finalize leaves the case unassigned.
        self._claim_case(actor)
        self._finalize(
            decision, index, now, is_holiday, rule="mediator_final_decision", unchallenged=False
        )

    def add_note(self, actor: Actor, *, body: str, now: datetime) -> Note:
        self._precheck(Action.ADD_NOTE, actor)
        # The text first: a refused note must not use up an id.
        text = _text(body, "body", MAX_TEXT, required=True)
        note = Note(self._local_id("note"), actor.user_id, text, now)
        self.notes.append(note)
        return note

    # --- money ------------------------------------------------------------------------------

    def take_settlement(self) -> Settlement | None:
        """The money this dispute's end moves, once: the service applies it to the order in
        the same transaction."""
        if not self.settlement_due:
            return None
        assert self.outcome is not None
        self.settlement_due = False
        return Settlement(self.outcome.refund, self.amount_paid)

    # --- guards -----------------------------------------------------------------------------

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
        guard = _GUARDS.get(action)
        if guard is not None:
            guard(self, actor)

    def _check_party(self, actor: Actor) -> None:
        if actor.role is Role.BUYER and actor.user_id != self.buyer_id:
            raise NotFound(f"dispute {self.id} not found")
        if actor.role is Role.SELLER and actor.user_id != self.seller_id:
            raise NotFound(f"dispute {self.id} not found")

    def _guard_party_solutions(self, actor: Actor) -> None:
        if self.status is REV and self.policy.mediation.freeze_solutions:
            raise InvalidTransition(
                "under this policy the parties' solutions are frozen once a mediator is involved"
            )

    def _guard_propose(self, actor: Actor) -> None:
        self._guard_party_solutions(actor)
        # One alternative beside the buyer's own solution. Counted as alternatives, not as live
        # solutions: after an agreed return goes wrong the primary is no longer live, and a
        # count of live ones would let the buyer add alternatives one after another.
        if actor.role is Role.BUYER and any(
            not s.primary for s in self._live_solutions(Role.BUYER)
        ):
            raise InvalidTransition(
                "you already have a solution and an alternative; edit one of them instead"
            )

    def _guard_accept(self, actor: Actor) -> None:
        self._guard_party_solutions(actor)
        if not self._answerable_solutions(actor):
            raise InvalidTransition("there is no solution from the other party to accept")

    def _guard_reject(self, actor: Actor) -> None:
        self._guard_party_solutions(actor)
        if not any(s.status is SolutionStatus.PENDING for s in self._answerable_solutions(actor)):
            raise InvalidTransition("there is no pending solution from the other party")

    def _guard_edit_solution(self, actor: Actor) -> None:
        self._guard_party_solutions(actor)
        if not any(s.author_id == actor.user_id for s in self._live_solutions(actor.role)):
            raise InvalidTransition("you have no open solution to edit")

    def _guard_remove_evidence(self, actor: Actor) -> None:
        if not any(e.author_id == actor.user_id for e in self.evidence):
            raise InvalidTransition("you have no evidence to remove")

    def _guard_escalate(self, actor: Actor) -> None:
        if not self.policy.mediation.manual_escalation:
            raise InvalidTransition(
                f"under the {self.policy.name} policy disputes escalate automatically after "
                f"{self.policy.deadlines.negotiation_days} days; there is no escalate button"
            )
        if self.seller_answered_at is None:
            raise InvalidTransition("the dispute can be escalated once the seller has answered")

    def _guard_cancel(self, actor: Actor) -> None:
        if (
            self.status is AWR
            and self.outcome is not None
            and self.outcome.decided_by is (DecidedBy.MEDIATOR)
        ):
            raise InvalidTransition("a mediator's final decision cannot be cancelled")

    def _guard_mediator(self, actor: Actor) -> None:
        if self.mediation is None:
            raise InvalidTransition("the dispute is not in mediation")
        assigned = self.mediation.mediator_id
        if actor.role is Role.MEDIATOR and assigned not in (None, actor.user_id):
            raise Forbidden("this dispute is assigned to another mediator")

    def _guard_decision_open(self, actor: Actor) -> None:
        self._guard_mediator(actor)
        assert self.mediation is not None
        decision = self.mediation.decision
        if decision is None or decision.status not in ("proposed", "challenged"):
            raise InvalidTransition("there is no open decision")

    def _guard_decision_response(self, actor: Actor) -> None:
        if (
            self.mediation is None
            or self.mediation.decision is None
            or (self.mediation.decision.status != "proposed")
        ):
            raise InvalidTransition("there is no decision waiting for your answer")
        if actor.role.value in self.mediation.decision.responses:
            raise InvalidTransition("you have already answered this decision")

    # --- helpers ----------------------------------------------------------------------------

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

    def _seller_answered(self, now: datetime) -> None:
        if self.seller_answered_at is None:
            self.seller_answered_at = now
        if self.status is ASR:
            self.status = Status.NEGOTIATING

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

    def _escalate(self, now: datetime, actor: Actor, trigger: str) -> None:
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
        self.status = Status.UNDER_REVIEW
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
        self._emit("dispute.escalated", now, trigger=trigger)

    def _finalize(
        self,
        decision: Decision,
        index: int,
        now: datetime,
        is_holiday: Callable[[date], bool],
        *,
        rule: str,
        unchallenged: bool,
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
            f"The mediator's decision {how}: {_describe(solution)}.",
        )
        self._decide_on_solution(
            solution,
            now,
            DecidedBy.MEDIATOR,
            rule=rule if rule.startswith(self.policy.name) else f"{self.policy.name}: {rule}",
            explanation=f"The mediator's decision {how}: {_describe(solution)}. "
            f"Rationale: {decision.rationale}",
            is_holiday=is_holiday,
        )

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
            self.status = Status.AWAITING_RETURN
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
            self._emit("dispute.updated", now, return_due_by=self.return_.due_by.isoformat())
        else:
            self._close(now, is_holiday)

    def _close_without_refund(
        self, now: datetime, decided_by: DecidedBy, *, rule: str, explanation: str
    ) -> None:
        self.outcome = Outcome(
            Result.SELLER_FAVOUR,
            Money.zero(self.amount_paid.currency),
            False,
            decided_by,
            rule,
            explanation,
        )
        self._close(now, lambda _: False)

    def _close(self, now: datetime, is_holiday: Callable[[date], bool]) -> None:
        assert self.outcome is not None
        if self.outcome.rule != "agreement" and not self.outcome.rule.startswith(self.policy.name):
            self.outcome.rule = f"{self.policy.name}: {self.outcome.rule}"
        self.status = Status.CLOSED
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
            "dispute.closed",
            now,
            result=self.outcome.result.value,
            refund=refund.as_json(),
            decided_by=self.outcome.decided_by.value,
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
            self._emit(
                "refund.scheduled",
                now,
                amount=refund.as_json(),
                expected_by=self.refund.expected_by.isoformat(),
            )

    def _rule(self, deadline_field: str) -> str:
        value = getattr(self.policy.deadlines, deadline_field)
        return f"{self.policy.name}: deadlines.{deadline_field} = {value}"

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

    def _emit(self, kind: str, now: datetime, **data: Any) -> None:
        payload = {
            "dispute_id": self.id,
            "order_id": self.order_id,
            "status": self.status.value,
            **data,
        }
        self.pending_events.append(DomainEvent(kind, self.id, now, payload))


_GUARDS: dict[Action, Callable[[Dispute, Actor], None]] = {
    Action.PROPOSE_SOLUTION: Dispute._guard_propose,
    Action.EDIT_SOLUTION: Dispute._guard_edit_solution,
    Action.ACCEPT_SOLUTION: Dispute._guard_accept,
    Action.REJECT_SOLUTION: Dispute._guard_reject,
    Action.REMOVE_EVIDENCE: Dispute._guard_remove_evidence,
    Action.ESCALATE: Dispute._guard_escalate,
    Action.CANCEL: Dispute._guard_cancel,
    Action.ASSIGN: Dispute._guard_mediator,
    Action.REQUEST_EVIDENCE: Dispute._guard_mediator,
    Action.PROPOSE_DECISION: Dispute._guard_mediator,
    Action.FINALIZE_DECISION: Dispute._guard_decision_open,
    Action.ACCEPT_DECISION: Dispute._guard_decision_response,
    Action.REJECT_DECISION: Dispute._guard_decision_response,
}


def _solution_kind(value: str, field_name: str) -> SolutionKind:
    try:
        return SolutionKind(value)
    except ValueError:
        raise ValidationError(
            f"{field_name} must be refund_only or return_and_refund", field=field_name
        ) from None


def _check_claim(amount: Money, amount_paid: Money, field: str = "amount") -> None:
    """A buyer's claim: from the currency's minimum up to what was paid."""
    if amount.currency != amount_paid.currency:
        raise ValidationError(f"amount must be in {amount_paid.currency}", field=field)
    low = minimum_claim(amount_paid.currency)
    if amount < low or amount > amount_paid:
        raise AmountOutOfRange(f"{field} must be from {low} to {amount_paid}", field=field)


def _check_offer(amount: Money, amount_paid: Money, field: str = "amount") -> None:
    """A seller's or mediator's solution: from zero (a "zero refund") up to what was paid."""
    if amount.currency != amount_paid.currency:
        raise ValidationError(f"amount must be in {amount_paid.currency}", field=field)
    if amount.minor < 0 or amount > amount_paid:
        raise AmountOutOfRange(
            f"{field} must be from {Money.zero(amount.currency)} to {amount_paid}", field=field
        )


def _decision_index(decision: Decision, index: int | None) -> int:
    chosen = 0 if index is None else index
    if (
        isinstance(chosen, bool)
        or not isinstance(chosen, int)
        or not (0 <= chosen < len(decision.solutions))
    ):
        raise ValidationError(
            f"solution_index must be from 0 to {len(decision.solutions) - 1}",
            field="solution_index",
        )
    return chosen


def _text(value: object, field_name: str, limit: int, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{field_name} must be text", field=field_name)
    text = value.strip()
    if required and not text:
        raise ValidationError(f"{field_name} is required", field=field_name)
    if len(text) > limit:
        raise ValidationError(f"{field_name} is longer than {limit} characters", field=field_name)
    return text


def _unique_items(item_ids: list[str] | None) -> list[str] | None:
    if item_ids is None:
        return None
    if not item_ids:
        raise ValidationError(
            "item_ids must name at least one item, or be left out for the whole order",
            field="item_ids",
        )
    if len(set(item_ids)) != len(item_ids):
        raise ValidationError("item_ids lists an item twice", field="item_ids")
    return list(item_ids)


def _is_photo_or_video(content_type: str) -> bool:
    return content_type.startswith(("image/", "video/"))


def _describe(solution: Solution | ProposedSolution) -> str:
    what = "refund only" if solution.kind is SolutionKind.REFUND_ONLY else "return and refund"
    return f"{what}, {solution.amount}"
