"""Random lives of one order with one to three disputes: parties and mediators act (within and
outside what they are offered), the clock moves and fires deadlines, and after every step the
money, the deadlines and the history still obey the rules. Money moves through
``sync_order`` after each change, as the service layer does."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from builders import (
    ADMIN,
    BUYER,
    CLASSIC,
    MEDIATOR,
    OTHER_MEDIATOR,
    PHOTO,
    SELLER,
    STANDARD,
    STRANGER,
    T0,
    copy_of,
    no_holiday,
    shipped_order,
)
from fairdeal.domain.dispute import (
    TRANSITIONS,
    Action,
    Actor,
    Dispute,
    Outcome,
    ProposedSolution,
    SolutionKind,
    Status,
)
from fairdeal.domain.errors import DisputeExists, DomainError
from fairdeal.domain.ledger import Movement
from fairdeal.domain.money import Money
from fairdeal.domain.order import ItemDisputeState, Order, TrackingEvent, TrackingStatus
from fairdeal.domain.policy import Policy
from fairdeal.services.context import sync_order

ACTORS = [BUYER, SELLER, MEDIATOR, OTHER_MEDIATOR, ADMIN]
ANYONE = [*ACTORS, STRANGER, Actor("usr_seller2", SELLER.role)]
ACTIONS = [a for a in Action if a is not Action.EXPIRE]
STEPS = [
    timedelta(hours=1),
    timedelta(hours=12),
    timedelta(days=1),
    timedelta(days=2),
    timedelta(days=4),
    timedelta(days=8),
    timedelta(days=16),
]
MEDIATION = {
    Action.ASSIGN,
    Action.REQUEST_EVIDENCE,
    Action.PROPOSE_DECISION,
    Action.ACCEPT_DECISION,
    Action.REJECT_DECISION,
    Action.FINALIZE_DECISION,
    Action.ADD_EVIDENCE,
}
CHATTER = {Action.POST_MESSAGE, Action.ADD_NOTE, Action.ADD_EVIDENCE, Action.REMOVE_EVIDENCE}
MESSAGES = ["Hello.", "Please close the dispute and I will send you a new one.", "  "]
REASONS = ["damaged", "not_as_described", "not_needed", "not_received", "no_tracking_info"]
SETTINGS = settings(
    max_examples=100,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


class OrderLife(RuleBasedStateMachine):
    """One order (two items and shipping) and the disputes opened on it."""

    policy: Policy = STANDARD

    def __init__(self) -> None:
        super().__init__()
        self.now: datetime = T0
        self.order: Order
        self.disputes: list[Dispute] = []
        self.files = 0
        self.timelines: dict[str, list[tuple[object, ...]]] = {}
        self.closed: dict[str, tuple[Status, Outcome | None]] = {}

    # --- set-up ---------------------------------------------------------------------------

    @initialize(
        layout=st.sampled_from(["first", "both", "whole"]),
        outcome=st.sampled_from(["refund_only", "return_and_refund"]),
        moving=st.booleans(),
        start=st.sampled_from(["fresh", "negotiating", "review", "agreed"]),
    )
    def open_first(self, layout: str, outcome: str, moving: bool, start: str) -> None:
        self.order = shipped_order(policy=self.policy, days_ago=12, protection_days=40)
        if moving:
            self.order.record_tracking(TrackingEvent(TrackingStatus.IN_TRANSIT, T0))
        first, second = (item.id for item in self.order.items)
        if layout == "whole":
            self._open([None], outcome, "55.00")
        else:
            self._open([[first]], outcome, "40.00")
            if layout == "both":
                self._open([[second]], "refund_only", "10.00")
        # Start the first dispute further along its life, so that every example goes deep.
        dispute = self.disputes[0]
        if start == "agreed":
            dispute.accept_solution(
                SELLER, dispute.primary_solution.id, now=self.now, is_holiday=no_holiday
            )
        elif start in ("negotiating", "review"):
            dispute.propose_solution(
                SELLER, kind="refund_only", amount=Money.parse("5.00", "USD"), now=self.now
            )
            if start == "review" and self.policy.mediation.manual_escalation:
                dispute.escalate(SELLER, now=self.now)
        sync_order(dispute, self.order, self.now)
        if start == "review" and not self.policy.mediation.manual_escalation:
            self.clock_moves(timedelta(days=self.policy.deadlines.negotiation_days))
            assert dispute.status is Status.UNDER_REVIEW

    def _open(self, items: list[list[str] | None], outcome: str, amount: str) -> None:
        dispute = Dispute.open(
            dispute_id=f"dsp_{len(self.disputes) + 1}",
            order=self.order,
            buyer=BUYER,
            item_ids=items[0],
            reason="damaged",
            desired_outcome=outcome,
            amount=Money.parse(amount, "USD"),
            description="Broken on arrival.",
            evidence=PHOTO,
            policy=self.policy,
            now=self.now,
        )
        self.disputes.append(dispute)

    # --- helpers ----------------------------------------------------------------------------

    def _file(self) -> str:
        self.files += 1
        return f"file_{self.files}"

    def _amount(self, data: st.DataObject, dispute: Dispute) -> Money:
        paid = dispute.amount_paid.minor
        minor = data.draw(st.one_of(st.integers(0, paid), st.sampled_from([paid, paid + 1])))
        return Money(minor, dispute.amount_paid.currency)

    def _perform(self, data: st.DataObject, dispute: Dispute, actor: Actor, action: Action) -> None:
        now = self.now
        draw = data.draw
        solution_ids = [s.id for s in dispute.solutions] or ["sol_none"]
        decision = dispute.mediation.decision if dispute.mediation else None
        decision_id = decision.id if decision is not None else "dec_none"
        if action is Action.EDIT_DISPUTE:
            dispute.edit(
                actor,
                now=now,
                reason=draw(st.sampled_from([None, *REASONS])),
                description=draw(st.sampled_from([None, "New words.", " "])),
            )
        elif action is Action.PROPOSE_SOLUTION:
            dispute.propose_solution(
                actor,
                kind=draw(st.sampled_from(list(SolutionKind))),
                amount=self._amount(data, dispute),
                now=now,
            )
        elif action is Action.EDIT_SOLUTION:
            dispute.edit_solution(
                actor,
                draw(st.sampled_from(solution_ids)),
                now=now,
                kind=draw(st.sampled_from([None, *SolutionKind])),
                amount=draw(st.sampled_from([None, self._amount(data, dispute)])),
            )
        elif action is Action.ACCEPT_SOLUTION:
            dispute.accept_solution(
                actor, draw(st.sampled_from(solution_ids)), now=now, is_holiday=no_holiday
            )
        elif action is Action.REJECT_SOLUTION:
            dispute.reject_solution(actor, draw(st.sampled_from(solution_ids)), now=now)
        elif action is Action.ADD_EVIDENCE:
            dispute.add_evidence(
                actor,
                file_id=draw(st.sampled_from([self._file(), "file_photo"])),
                content_type="image/jpeg",
                now=now,
            )
        elif action is Action.REMOVE_EVIDENCE:
            ids = [e.id for e in dispute.evidence] or ["ev_none"]
            dispute.remove_evidence(actor, draw(st.sampled_from(ids)), now=now)
        elif action is Action.POST_MESSAGE:
            dispute.post_message(actor, body=draw(st.sampled_from(MESSAGES)), now=now)
        elif action is Action.ESCALATE:
            dispute.escalate(actor, now=now)
        elif action is Action.CANCEL:
            dispute.cancel(actor, now=now, window_open=self.order.window_open(now))
        elif action is Action.REOPEN:
            # The service's check: another dispute may have taken the items meanwhile.
            for item_id in dispute.item_ids or [i.id for i in self.order.items]:
                other = self.order.item_disputes.get(item_id)
                if (
                    other is not None
                    and other.dispute_id != dispute.id
                    and other.state is not ItemDisputeState.CANCELLED
                ):
                    raise DisputeExists(f"item {item_id} is under dispute {other.dispute_id}")
            dispute.reopen(actor, now=now, window_open=self.order.window_open(now))
        elif action is Action.SHIP_RETURN:
            dispute.ship_return(
                actor, carrier="DHL", tracking_number=draw(st.sampled_from(["R1", ""])), now=now
            )
        elif action is Action.CONFIRM_RETURN:
            dispute.confirm_return(
                actor,
                condition=draw(st.sampled_from(["as_expected", "empty", "damaged", "lost"])),
                now=now,
                is_holiday=no_holiday,
            )
        elif action is Action.ASSIGN:
            mediator = draw(st.sampled_from([MEDIATOR.user_id, OTHER_MEDIATOR.user_id]))
            dispute.assign(actor, mediator_id=mediator, now=now)
        elif action is Action.REQUEST_EVIDENCE:
            dispute.request_evidence(
                actor,
                party=draw(st.sampled_from(["buyer", "seller"])),
                request="Photos, please.",
                days=draw(st.sampled_from([None, 1, 2])),
                now=now,
            )
        elif action is Action.PROPOSE_DECISION:
            count = draw(st.integers(1, 2))
            dispute.propose_decision(
                actor,
                solutions=[
                    ProposedSolution(
                        draw(st.sampled_from(list(SolutionKind))), self._amount(data, dispute)
                    )
                    for _ in range(count)
                ],
                rationale="On the evidence.",
                now=now,
            )
        elif action is Action.ACCEPT_DECISION:
            dispute.accept_decision(
                actor,
                decision_id,
                solution_index=draw(st.sampled_from([None, 0, 1])),
                now=now,
                is_holiday=no_holiday,
            )
        elif action is Action.REJECT_DECISION:
            evidence = draw(st.sampled_from([[], [(self._file(), "image/png")]]))
            dispute.reject_decision(actor, decision_id, comment="No.", evidence=evidence, now=now)
        elif action is Action.FINALIZE_DECISION:
            dispute.finalize_decision(
                actor,
                decision_id,
                solution_index=draw(st.sampled_from([None, 0, 1])),
                now=now,
                is_holiday=no_holiday,
            )
        elif action is Action.ADD_NOTE:
            dispute.add_note(actor, body="Looked at it.", now=now)

    def _try(self, data: st.DataObject, dispute: Dispute, actor: Actor, action: Action) -> bool:
        """Attempt an action; a refusal must change nothing. Returns whether it went through."""
        dispute_before, order_before = copy_of(dispute), copy_of(self.order)
        events, ledger = len(dispute.pending_events), len(self.order.pending_ledger)
        try:
            self._perform(data, dispute, actor, action)
        except DomainError:
            # A refusal changes nothing.
            assert dispute == dispute_before
            assert self.order == order_before
            assert (len(dispute.pending_events), len(self.order.pending_ledger)) == (events, ledger)
            return False
        assert dispute.status in TRANSITIONS[action].targets, (action, dispute.status)
        sync_order(dispute, self.order, self.now)
        return True

    # --- rules ------------------------------------------------------------------------------

    @rule(data=st.data())
    def act_as_offered(self, data: st.DataObject) -> None:
        """Someone takes one of the actions the dispute offers them; talk and notes only when
        nothing else is on offer, so that the lives go somewhere."""
        dispute = data.draw(st.sampled_from(self.disputes))
        window = self.order.window_open(self.now)
        offered = {actor: dispute.allowed_actions(actor, window_open=window) for actor in ACTORS}
        moves = {
            actor: [a for a in actions if a not in CHATTER] for actor, actions in offered.items()
        }
        moves = {actor: actions for actor, actions in moves.items() if actions} or {
            actor: actions for actor, actions in offered.items() if actions
        }
        if not moves:
            return
        actor = data.draw(st.sampled_from(list(moves)))
        self._try(data, dispute, actor, data.draw(st.sampled_from(moves[actor])))

    @precondition(lambda self: any(d.status is Status.UNDER_REVIEW for d in self.disputes))
    @rule(data=st.data())
    def mediate(self, data: st.DataObject) -> None:
        """Under review, the mediator's and the parties' decision moves get their turn."""
        reviewed = [d for d in self.disputes if d.status is Status.UNDER_REVIEW]
        dispute = data.draw(st.sampled_from(reviewed))
        window = self.order.window_open(self.now)
        moves = [
            (actor, action)
            for actor in ACTORS
            for action in dispute.allowed_actions(actor, window_open=window)
            if action in MEDIATION
        ]
        if moves:
            actor, action = data.draw(st.sampled_from(moves))
            self._try(data, dispute, actor, action)

    @rule(data=st.data())
    def act_at_random(self, data: st.DataObject) -> None:
        """Anyone tries anything; what is not offered must be refused."""
        dispute = data.draw(st.sampled_from(self.disputes))
        actor = data.draw(st.sampled_from(ANYONE))
        action = data.draw(st.sampled_from(ACTIONS))
        offered = dispute.allowed_actions(actor, window_open=self.order.window_open(self.now))
        done = self._try(data, dispute, actor, action)
        assert action in offered or not done, (
            f"{action} was not offered to {actor} but went through"
        )

    @rule(step=st.sampled_from(STEPS))
    def clock_moves(self, step: timedelta) -> None:
        """Time passes: every deadline that falls due fires, in due order, at its own time."""
        target = self.now + step
        while True:
            due = [(d.fire_at, 0, i) for i, d in enumerate(self.disputes) if d.fire_at]
            if self.order.fire_at is not None:
                due.append((self.order.fire_at, 1, -1))
            due = [entry for entry in due if entry[0] <= target]
            if not due:
                break
            moment, kind, index = min(due)
            self.now = max(self.now, moment)
            if kind == 1:
                assert self.order.fire_due(now=moment)
                assert not self.order.fire_due(now=moment)
                continue
            dispute = self.disputes[index]
            fired = dispute.expire(now=moment, is_holiday=no_holiday)
            assert fired is not None
            assert dispute.status in TRANSITIONS[Action.EXPIRE].targets
            sync_order(dispute, self.order, moment)
            if dispute.fire_at is None or dispute.fire_at > moment:
                assert dispute.expire(now=moment, is_holiday=no_holiday) is None
        self.now = target

    @precondition(lambda self: len(self.disputes) < 3)
    @rule(
        items=st.sampled_from(["first", "second", "whole"]),
        reason=st.sampled_from(["damaged", "not_received", "protection_expiring_in_transit",
                                "no_tracking_info"]),
        evidence=st.booleans(),
        amount=st.sampled_from(["0.00", "1.00", "10.00", "40.00"]),
    )  # fmt: skip
    def open_another(self, items: str, reason: str, evidence: bool, amount: str) -> None:
        """The buyer tries to open another dispute on the order."""
        chosen = {
            "first": [self.order.items[0].id],
            "second": [self.order.items[1].id],
            "whole": None,
        }[items]
        before = copy_of(self.order)
        try:
            dispute = Dispute.open(
                dispute_id=f"dsp_{len(self.disputes) + 1}",
                order=self.order,
                buyer=BUYER,
                item_ids=chosen,
                reason=reason,
                desired_outcome="refund_only",
                amount=Money.parse(amount, "USD"),
                description="Another problem.",
                evidence=PHOTO if evidence else [],
                policy=self.policy,
                now=self.now,
            )
        except DomainError:
            assert self.order == before
            return
        for item_id in chosen or [i.id for i in self.order.items]:
            earlier = before.item_disputes.get(item_id)
            assert earlier is None or earlier.state is ItemDisputeState.CANCELLED
        self.disputes.append(dispute)

    @rule(data=st.data())
    def order_moves(self, data: st.DataObject) -> None:
        """The buyer confirms receipt, the seller extends protection, tracking updates."""
        move = data.draw(st.sampled_from(["receipt", "extend", "transit", "delivered"]))
        before = copy_of(self.order)
        try:
            if move == "receipt":
                self.order.confirm_receipt(now=self.now)
            elif move == "extend":
                self.order.extend_protection(days=data.draw(st.integers(1, 10)), now=self.now)
            else:
                status = TrackingStatus(move.replace("transit", "in_transit"))
                self.order.record_tracking(TrackingEvent(status, self.now))
        except DomainError:
            assert self.order == before

    # --- invariants -------------------------------------------------------------------------

    @invariant()
    def escrow_balances(self) -> None:
        escrow = self.order.escrow
        assert escrow.held == (
            escrow.refunded
            + escrow.released
            + escrow.pending_refund
            + escrow.pending_release
            + escrow.available
        )
        assert escrow.available.minor >= 0
        totals = {m: 0 for m in Movement}
        for tx in self.order.pending_ledger:
            assert (tx.postings[0].amount + tx.postings[1].amount).is_zero
            assert tx.amount.minor >= 0
            totals[tx.movement] += tx.amount.minor
        assert totals[Movement.HOLD] == escrow.held.minor == self.order.total.minor
        # Nothing confirms here (no payment provider): decided money is all pending.
        assert totals[Movement.REFUND] == escrow.pending_refund.minor
        assert totals[Movement.RELEASE] == escrow.pending_release.minor
        assert escrow.refunded.is_zero and escrow.released.is_zero

    @invariant()
    def refunds_stay_within_what_was_paid(self) -> None:
        for dispute in self.disputes:
            refunded = sum(
                tx.amount.minor
                for tx in self.order.pending_ledger
                if tx.movement is Movement.REFUND and tx.dispute_id == dispute.id
            )
            assert refunded <= dispute.amount_paid.minor
            if dispute.refund is not None:
                assert dispute.refund.amount <= dispute.amount_paid

    @invariant()
    def one_deadline_per_open_dispute(self) -> None:
        for dispute in self.disputes:
            if dispute.is_open:
                assert dispute.deadline is not None, dispute.status
            else:
                assert dispute.deadline is None

    @invariant()
    def nothing_is_paid_out_while_a_dispute_is_live(self) -> None:
        if any(d.is_open for d in self.disputes):
            assert self.order.has_live_dispute
            assert self.order.fire_at is None

    @invariant()
    def closed_is_final(self) -> None:
        for dispute in self.disputes:
            seen = self.closed.get(dispute.id)
            if seen is not None:
                assert (dispute.status, dispute.outcome) == seen
            elif dispute.status is Status.CLOSED:
                self.closed[dispute.id] = (dispute.status, copy_of(dispute.outcome))

    @invariant()
    def the_timeline_only_grows(self) -> None:
        for dispute in self.disputes:
            earlier = self.timelines.get(dispute.id, [])
            now = [(e.at, e.type, e.actor_role, e.summary, e.actor_id) for e in dispute.timeline]
            assert now[: len(earlier)] == earlier
            self.timelines[dispute.id] = now


class StandardLife(OrderLife):
    policy = STANDARD


class ClassicLife(OrderLife):
    policy = CLASSIC


StandardLife.TestCase.settings = SETTINGS
ClassicLife.TestCase.settings = SETTINGS
TestStandardLife = StandardLife.TestCase
TestClassicLife = ClassicLife.TestCase
