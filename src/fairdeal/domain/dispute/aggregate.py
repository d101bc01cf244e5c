"""The dispute aggregate: its fields, how it opens, what it lets each actor do, its one next
deadline, and the bookkeeping every action shares (the timeline, events, status moves).

Every public method is one action of ``TRANSITIONS``. It first runs ``_precheck`` (role,
status, and the state guards of that action) -- the same check ``allowed_actions`` runs -- so
the actions offered to a caller are exactly the ones the engine will accept. The actions live
in one mixin per phase: ``negotiation``, ``returns``, ``mediation``; the clocks in
``deadlines``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from fairdeal.domain.dispute.checks import (
    MAX_TEXT,
    check_claim,
    is_photo_or_video,
    parse_solution_kind,
    text_field,
    unique_items,
)
from fairdeal.domain.dispute.deadlines import ON_EXPIRY, Deadline, pending_deadlines
from fairdeal.domain.dispute.mediation import MediationActions
from fairdeal.domain.dispute.negotiation import NegotiationActions
from fairdeal.domain.dispute.parts import (
    Settlement,
    Solution,
    SolutionKind,
    SolutionStatus,
)
from fairdeal.domain.dispute.returns import ReturnActions
from fairdeal.domain.dispute.states import OPEN_STATUSES, TRANSITIONS, Action, Status
from fairdeal.domain.errors import (
    EvidenceRequired,
    Forbidden,
    InvalidTransition,
    NotEligible,
    NotFound,
)
from fairdeal.domain.events import DisputeOpened, RefundCompleted, RefundFailed
from fairdeal.domain.money import Money
from fairdeal.domain.order import ItemDisputeState, Order
from fairdeal.domain.policy import Policy, Reason
from fairdeal.domain.roles import SYSTEM, Actor, Role


@dataclass
class Dispute(NegotiationActions, ReturnActions, MediationActions):
    """A buyer's dispute over (part of) an order, from opening to its outcome. Its fields
    and shared bookkeeping are ``DisputeBase``'s; its actions are the phase mixins'."""

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
        item_ids = unique_items(item_ids)
        category = _disputed_category(order, item_ids)
        chosen = policy.reason(reason, category)
        order.check_can_dispute(item_ids=item_ids, reason=chosen, now=now, policy=policy)
        kind = parse_solution_kind(desired_outcome, "desired_outcome")
        amount_paid = order.amount_paid_for(item_ids)
        check_claim(amount, amount_paid)
        description = text_field(description, "description", MAX_TEXT, required=True)
        _check_opening_evidence(chosen, evidence)
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
        dispute.solutions.append(dispute._buyers_own_solution(buyer, kind, amount, now))
        for file_id, content_type in evidence:
            dispute._attach_evidence(buyer, file_id, content_type, "", now)
        dispute._log(now, "dispute.opened", buyer, f"Buyer opened a dispute: {chosen.title}.")
        if chosen.warning:
            dispute._log(now, "policy.warning", SYSTEM, chosen.warning)
        dispute._emit(DisputeOpened(now, buyer.role))
        order.track_dispute(dispute.id, item_ids, ItemDisputeState.LIVE)
        return dispute

    def _buyers_own_solution(
        self, buyer: Actor, kind: SolutionKind, amount: Money, now: datetime
    ) -> Solution:
        """The solution the buyer opens with: the primary one, which a timeout falls back to."""
        return Solution(
            id=self._local_id("sol"),
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

    # --- reading ----------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def item_state(self) -> ItemDisputeState:
        if self.status is Status.CANCELLED:
            return ItemDisputeState.CANCELLED
        return ItemDisputeState.CLOSED if self.status is Status.CLOSED else ItemDisputeState.LIVE

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
        return pending_deadlines(self)

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
        """When the clock next has something to do here (a deadline). A refund is never
        completed by a clock: its money movement follows the payment provider."""
        deadline = self.deadline
        if deadline is not None and deadline.fires:
            return deadline.due_at
        return None

    def expire(self, *, now: datetime, is_holiday: Callable[[date], bool]) -> str | None:
        """The clock's turn: apply whatever fell due at or before ``now``. Returns the kind
        that fired, or None when nothing was due (the deadline was made moot)."""
        due = self.fire_at
        if due is None or due > now:
            return None
        deadline = self.deadline
        if deadline is None or not deadline.fires or deadline.due_at != due:
            return None
        at = deadline.due_at
        ON_EXPIRY[deadline.kind](self, at, is_holiday)
        return deadline.kind

    # --- money ------------------------------------------------------------------------------
    # The refund's status follows its money movement: scheduled (pending), processing
    # (submitted to the provider), completed (the provider confirmed), failed.

    def refund_processing(self, now: datetime) -> None:
        if self.refund is not None and self.refund.status in ("scheduled", "failed"):
            self.refund.status = "processing"
            self.updated_at = now

    def refund_rescheduled(self, now: datetime) -> None:
        """The movement went back to pending (a retry)."""
        if self.refund is not None and self.refund.status in ("processing", "failed"):
            self.refund.status = "scheduled"
            self.updated_at = now

    def refund_completed(self, now: datetime) -> None:
        """The payment provider confirmed the refund: only now is it completed."""
        if self.refund is None or self.refund.status == "completed":
            return
        self.refund.status = "completed"
        self.refund.completed_at = now
        self.updated_at = now
        self._log(now, "refund.completed", SYSTEM, f"Refund of {self.refund.amount} completed.")
        self._emit(RefundCompleted(now, self.refund.amount))

    def refund_failed(self, now: datetime, reason: str) -> None:
        if self.refund is None or self.refund.status in ("completed", "failed"):
            return
        self.refund.status = "failed"
        self.updated_at = now
        self._log(
            now,
            "refund.failed",
            SYSTEM,
            f"The payment provider refused the refund of {self.refund.amount}: {reason}",
        )
        self._emit(RefundFailed(now, self.refund.amount, reason))

    def take_settlement(self) -> Settlement | None:
        """The money this dispute's end moves, once: the service applies it to the order in
        the same transaction."""
        if not self.settlement_due:
            return None
        assert self.outcome is not None
        self.settlement_due = False
        return Settlement(self.outcome.refund, self.amount_paid)


def _disputed_category(order: Order, item_ids: list[str] | None) -> str | None:
    """The category whose reasons apply: the disputed items' one category, if they share it."""
    if item_ids is not None:
        categories = {order.item(i).category for i in item_ids}
        return categories.pop() if len(categories) == 1 else None
    return order.items[0].category if len(order.items) == 1 else None


def _check_opening_evidence(chosen: Reason, evidence: list[tuple[str, str]]) -> None:
    visual = [f for f, content_type in evidence if is_photo_or_video(content_type)]
    if chosen.evidence_required and not visual:
        raise EvidenceRequired(
            f"'{chosen.title}' needs at least one photo or video: {chosen.evidence_hint}".strip(
                ": "
            ),
            field="evidence_file_ids",
        )
