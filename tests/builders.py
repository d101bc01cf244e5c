"""Builders for domain objects, so that a test says only what matters to it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fairdeal.domain.dispute import (
    Actor,
    Decision,
    Dispute,
    ProposedSolution,
    Role,
    Solution,
    SolutionKind,
)
from fairdeal.domain.errors import DomainError
from fairdeal.domain.money import Money
from fairdeal.domain.order import LineItem, Order, Payment
from fairdeal.domain.policy import Policy
from fairdeal.policies import load_preset
from fairdeal.services.ports import UnitOfWorkFactory

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # a Monday
BUYER = Actor("usr_buyer", Role.BUYER)
SELLER = Actor("usr_seller", Role.SELLER)
MEDIATOR = Actor("usr_mediator", Role.MEDIATOR)
OTHER_MEDIATOR = Actor("usr_mediator2", Role.MEDIATOR)
STRANGER = Actor("usr_stranger", Role.BUYER)
PHOTO = [("file_photo", "image/jpeg")]

STANDARD = load_preset("standard")
CLASSIC = load_preset("classic")


def no_holiday(_: object) -> bool:
    return False


def make_order(
    *,
    policy: Policy = STANDARD,
    currency: str = "USD",
    prices: tuple[str, ...] = ("40.00", "10.00"),
    shipping: str = "5.00",
    now: datetime = T0,
    order_id: str = "ord_1",
    category: str | None = None,
) -> Order:
    items = [
        LineItem(
            f"{order_id}_item_{i + 1}",
            f"SKU{i + 1}",
            f"Item {i + 1}",
            category,
            1,
            Money.parse(price, currency),
        )
        for i, price in enumerate(prices)
    ]
    return Order.register_paid(
        order_id=order_id,
        buyer_id=BUYER.user_id,
        seller_id=SELLER.user_id,
        currency=currency,
        items=items,
        shipping_cost=Money.parse(shipping, currency),
        payment=Payment("card", "pay_123", "DE"),
        policy=policy,
        now=now,
    )


def shipped_order(*, days_ago: int = 12, protection_days: int = 60, **kwargs: object) -> Order:
    order = make_order(now=T0 - timedelta(days=days_ago + 1), **kwargs)  # type: ignore[arg-type]
    order.ship(
        carrier="DHL",
        tracking_number="TRK1",
        protection_days=protection_days,
        now=T0 - timedelta(days=days_ago),
    )
    return order


def open_dispute(
    order: Order | None = None,
    *,
    policy: Policy = STANDARD,
    reason: str = "damaged",
    outcome: str = "refund_only",
    amount: str = "40.00",
    item_ids: list[str] | None = None,
    now: datetime = T0,
    evidence: list[tuple[str, str]] | None = None,
    dispute_id: str = "dsp_1",
) -> tuple[Dispute, Order]:
    order = order or shipped_order(policy=policy)
    dispute = Dispute.open(
        dispute_id=dispute_id,
        order=order,
        buyer=BUYER,
        item_ids=item_ids if item_ids is not None else [order.items[0].id],
        reason=reason,
        desired_outcome=outcome,
        amount=Money.parse(amount, order.currency),
        description="It arrived broken.",
        evidence=PHOTO if evidence is None else evidence,
        policy=policy,
        now=now,
    )
    return dispute, order


# --- helpers added for the domain unit tests -------------------------------------------------

ADMIN = Actor("usr_admin", Role.ADMIN)
VIDEO = [("file_video", "video/mp4")]


def at(days: float = 0, hours: float = 0) -> datetime:
    """A fixed moment relative to T0."""
    return T0 + timedelta(days=days, hours=hours)


def money(value: str, currency: str = "USD") -> Money:
    return Money.parse(value, currency)


def store(uow: UnitOfWorkFactory, *aggregates: Order | Dispute) -> None:
    """Add the aggregates in one unit of work (``app.ctx.uow``, a bare factory) and commit."""
    with uow() as work:
        for aggregate in aggregates:
            if isinstance(aggregate, Order):
                work.orders.add(aggregate)
            else:
                work.disputes.add(aggregate)
        work.commit()


def snapshot(*aggregates: object) -> list[object]:
    """Codec-free copies to compare with after a refused action (dataclass equality ignores the
    collected events and ledger, which are checked by length instead)."""
    return [copy_of(aggregate) for aggregate in aggregates]


def copy_of(aggregate: Any) -> Any:
    """A deep copy for comparing with later. It shares the (frozen) policy and leaves out the
    collected events and ledger, which equality ignores and ``refuses`` counts instead."""
    memo: dict[int, Any] = {}
    policy = getattr(aggregate, "policy", None)
    if policy is not None:
        memo[id(policy)] = policy
    for collected in ("pending_events", "pending_ledger"):
        if hasattr(aggregate, collected):
            memo[id(getattr(aggregate, collected))] = []
    return copy.deepcopy(aggregate, memo)


def refuses(
    error: type[DomainError], action: Callable[[], object], *aggregates: object
) -> DomainError:
    """Run an action that a rule must refuse: it raises exactly ``error`` and leaves every
    aggregate as it was (fields, timeline, collected events and ledger)."""
    before = snapshot(*aggregates)
    counts = [_collected(aggregate) for aggregate in aggregates]
    with pytest.raises(DomainError) as caught:
        action()
    assert type(caught.value) is error, f"expected {error.__name__}, got {caught.value!r}"
    for aggregate, copied, count in zip(aggregates, before, counts, strict=True):
        assert aggregate == copied, f"a refused action changed {type(aggregate).__name__}"
        assert _collected(aggregate) == count
    return caught.value


def _collected(aggregate: object) -> tuple[int, int]:
    events = getattr(aggregate, "pending_events", [])
    ledger = getattr(aggregate, "pending_ledger", [])
    return len(events), len(ledger)


def seller_offer(
    dispute: Dispute,
    *,
    kind: str = "refund_only",
    amount: str = "10.00",
    now: datetime | None = None,
) -> Solution:
    return dispute.propose_solution(
        SELLER,
        kind=kind,
        amount=Money.parse(amount, dispute.amount_paid.currency),
        now=now or at(1),
    )


def escalate(dispute: Dispute, *, now: datetime | None = None) -> datetime:
    """Bring a negotiating dispute to mediation the way its policy does it: the classic
    "Escalate" button, or the standard negotiation clock running out. Returns when."""
    if dispute.policy.mediation.manual_escalation:
        moment = now or at(2)
        dispute.escalate(BUYER, now=moment)
        return moment
    deadline = dispute.deadline
    assert deadline is not None and deadline.kind == "negotiation"
    assert dispute.expire(now=deadline.due_at, is_holiday=no_holiday) == "negotiation"
    return deadline.due_at


def under_review(
    policy: Policy = STANDARD, *, assign: bool = True, **kwargs: Any
) -> tuple[Dispute, Order, datetime]:
    """A dispute in mediation (the seller answered with an offer first), assigned to MEDIATOR
    unless told otherwise. Returns the dispute, its order and when it escalated."""
    dispute, order = open_dispute(policy=policy, **kwargs)
    seller_offer(dispute)
    escalated_at = escalate(dispute)
    if assign:
        dispute.assign(MEDIATOR, mediator_id=MEDIATOR.user_id, now=escalated_at)
    return dispute, order, escalated_at


def awaiting_return(
    policy: Policy = STANDARD, *, amount: str = "40.00", now: datetime | None = None
) -> tuple[Dispute, Order]:
    """The seller accepted the buyer's return-and-refund: the buyer now ships the item back."""
    dispute, order = open_dispute(policy=policy, outcome="return_and_refund", amount=amount)
    dispute.accept_solution(
        SELLER, dispute.primary_solution.id, now=now or at(1), is_holiday=no_holiday
    )
    return dispute, order


def decide(
    dispute: Dispute, *amounts: str, kind: str = "refund_only", now: datetime | None = None
) -> Decision:
    """The assigned mediator proposes an interim decision of one or two solutions."""
    currency = dispute.amount_paid.currency
    return dispute.propose_decision(
        MEDIATOR,
        solutions=[ProposedSolution(SolutionKind(kind), Money.parse(a, currency)) for a in amounts],
        rationale="The photos show transit damage.",
        now=now or dispute.updated_at,
    )
