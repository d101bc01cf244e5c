"""Read-only views the web pages need beyond the use cases: which orders a buyer can still
dispute (and why not), inboxes with the order beside each dispute, the mediator queue in
review order, and the admin dashboard's numbers. Nothing here writes."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from fairdeal.domain.dispute import Dispute, Status
from fairdeal.domain.dispute.parts import Result
from fairdeal.domain.errors import DomainError
from fairdeal.domain.money import Money
from fairdeal.domain.order import ItemDisputeState, Order
from fairdeal.domain.policy import Policy, Reason
from fairdeal.domain.roles import Actor, Role
from fairdeal.services.context import Context, load_order
from fairdeal.services.ports import DisputeFilter, OrderFilter, UnitOfWork
from fairdeal.services.users import require_role

PAGE = 500


@dataclass(frozen=True, slots=True)
class ReasonChoice:
    """One reason of the catalogue for this order, and why it cannot be chosen now if not."""

    reason: Reason
    refused: str | None


@dataclass(frozen=True, slots=True)
class OrderRow:
    order: Order
    counterpart: str
    # The dispute on the order that is still live, if any.
    live_dispute_id: str | None
    can_dispute: bool
    why_not: str | None


@dataclass(frozen=True, slots=True)
class DeadlineSummary:
    """The dispute's next deadline (``Dispute.deadline``) as a list row shows it."""

    due_at: datetime
    party: str
    fires: bool


@dataclass(frozen=True, slots=True)
class MediationSummary:
    """The mediation of a dispute as the queue shows it."""

    mediator_id: str | None
    review_due_at: datetime
    review_overdue: bool
    decision_status: str | None
    waiting_for_evidence: bool


@dataclass(frozen=True, slots=True)
class DisputeSummary:
    """What the inbox and the queue show of a dispute, kept beside its document on every save
    (``summary_of``; the database stores it projected) so that a list reads it without
    decoding whole documents into aggregates (docs/performance.md, "Web pages")."""

    id: str
    order_id: str
    buyer_id: str
    seller_id: str
    status: Status
    policy: str
    category: str | None
    reason: str
    amount_paid: Money
    # The outcome, once the dispute ended (closed or cancelled).
    result: Result | None
    refund: Money | None
    deadline: DeadlineSummary | None
    mediation: MediationSummary | None
    scam_warnings: int


def summary_of(dispute: Dispute) -> DisputeSummary:
    """A dispute as its list rows show it."""
    deadline, mediation, outcome = dispute.deadline, dispute.mediation, dispute.outcome
    ended = outcome is not None and not dispute.is_open
    return DisputeSummary(
        id=dispute.id,
        order_id=dispute.order_id,
        buyer_id=dispute.buyer_id,
        seller_id=dispute.seller_id,
        status=dispute.status,
        policy=dispute.policy.name,
        category=dispute.category,
        reason=dispute.reason,
        amount_paid=dispute.amount_paid,
        result=outcome.result if ended and outcome else None,
        refund=outcome.refund if ended and outcome else None,
        deadline=(
            DeadlineSummary(deadline.due_at, deadline.party, deadline.fires) if deadline else None
        ),
        mediation=(
            MediationSummary(
                mediation.mediator_id,
                mediation.review_due_at,
                mediation.review_overdue,
                mediation.decision.status if mediation.decision else None,
                bool(mediation.open_requests()),
            )
            if mediation
            else None
        ),
        scam_warnings=sum(len(m.warnings) for m in dispute.messages),
    )


@dataclass(frozen=True, slots=True)
class DisputeRow:
    dispute: DisputeSummary
    # The titles of the order's items (empty when the order is not found).
    titles: list[str]
    buyer: str
    seller: str
    # The policy the dispute names (its reasons' titles).
    policy: Policy


@dataclass(frozen=True, slots=True)
class SellerRate:
    seller_id: str
    name: str
    orders: int
    disputes: int

    @property
    def rate(self) -> float:
        return self.disputes / self.orders if self.orders else 0.0


@dataclass(frozen=True, slots=True)
class Dashboard:
    now: datetime
    total: int
    by_status: dict[str, int]
    days: list[date]
    opened_per_day: list[int]
    closed_per_day: list[int]
    outcomes: dict[str, int]
    median_resolution: timedelta | None
    top_sellers: list[SellerRate] = field(default_factory=list)


# --- eligibility --------------------------------------------------------------------------


def category_of(order: Order, item_ids: list[str] | None) -> str | None:
    """The category whose reason catalogue applies, as ``Dispute.open`` picks it."""
    if item_ids is not None:
        categories = {order.item(i).category for i in item_ids}
        return categories.pop() if len(categories) == 1 else None
    return order.items[0].category if len(order.items) == 1 else None


def reason_choices(
    policy: Policy, order: Order, item_ids: list[str] | None, now: datetime
) -> list[ReasonChoice]:
    """Every reason of the order's catalogue, each with the refusal that ``Dispute.open``
    would give for it now (None when it can be chosen)."""
    choices = []
    for reason in policy.catalogue(category_of(order, item_ids)).values():
        refused = reason.refused
        if refused is None:
            try:
                order.check_can_dispute(item_ids=item_ids, reason=reason, now=now, policy=policy)
            except DomainError as error:
                refused = error.detail
        choices.append(ReasonChoice(reason, refused))
    return choices


def eligibility(policy: Policy, order: Order, now: datetime) -> tuple[bool, str | None]:
    """Whether the buyer can open a dispute on the whole order now with at least one reason;
    if not, the refusal of the first reason that is not refused by the catalogue itself."""
    choices = reason_choices(policy, order, None, now)
    if any(c.refused is None for c in choices):
        return True, None
    # The refusal that holds for every reason says the most: prefer a reason that has no
    # waiting time of its own (not received) and is not refused by the catalogue itself.
    for choice in sorted(
        choices, key=lambda c: (c.reason.refused is not None, c.reason.not_received)
    ):
        if choice.refused:
            return False, choice.refused
    return False, None


def order_for_dispute(ctx: Context, actor: Actor, order_id: str) -> Order:
    """The buyer's own order, for the open-dispute form."""
    require_role(actor, Role.BUYER)
    with ctx.uow(write=False) as uow:
        return load_order(uow, actor, order_id)


# --- lists ------------------------------------------------------------------------------


def order_rows(ctx: Context, actor: Actor, *, limit: int = 100) -> list[OrderRow]:
    """The caller's orders, newest first, each with whether (and why not) it can be disputed."""
    require_role(actor, Role.BUYER, Role.SELLER)
    now = ctx.clock.now()
    if actor.role is Role.BUYER:
        query = OrderFilter(buyer_id=actor.user_id, limit=limit)
    else:
        query = OrderFilter(seller_id=actor.user_id, limit=limit)
    with ctx.uow(write=False) as uow:
        orders = uow.orders.list(query)
        people = _names(uow, {o.seller_id for o in orders} | {o.buyer_id for o in orders})
    rows = []
    for order in orders:
        live = next(
            (
                d.dispute_id
                for d in order.item_disputes.values()
                if d.state is ItemDisputeState.LIVE
            ),
            None,
        )
        can, why = (
            eligibility(ctx.policy, order, now) if actor.role is Role.BUYER else (False, None)
        )
        other = order.seller_id if actor.role is Role.BUYER else order.buyer_id
        rows.append(OrderRow(order, people.get(other, other), live, can, why))
    return rows


def dispute_rows(ctx: Context, actor: Actor, *, limit: int = 200) -> list[DisputeRow]:
    """The caller's disputes with their orders. Sellers get their inbox: open disputes by
    nearest deadline first, then the rest newest first; others newest first."""
    if actor.role is Role.BUYER:
        query = DisputeFilter(buyer_id=actor.user_id, limit=limit)
    elif actor.role is Role.SELLER:
        query = DisputeFilter(seller_id=actor.user_id, limit=limit)
    else:
        require_role(actor, Role.MEDIATOR, Role.ADMIN)
        query = DisputeFilter(limit=limit)
    with ctx.uow(write=False) as uow:
        rows = _rows(ctx, uow, uow.disputes.summaries(query))
    if actor.role is Role.SELLER:
        # The repository answers newest first; open disputes move ahead by nearest deadline.
        due = {r.dispute.id: r.dispute.deadline for r in rows}
        waiting = [r for r in rows if due[r.dispute.id] is not None]
        waiting.sort(key=lambda r: _due_at(due[r.dispute.id]))
        rows = waiting + [r for r in rows if due[r.dispute.id] is None]
    return rows


def mediation_queue(ctx: Context, actor: Actor, *, limit: int = 200) -> list[DisputeRow]:
    """Disputes under review, nearest review target first (overdue ones lead)."""
    require_role(actor, Role.MEDIATOR, Role.ADMIN)
    with ctx.uow(write=False) as uow:
        listed = uow.disputes.summaries(
            DisputeFilter(status=Status.UNDER_REVIEW.value, mediator_queue=True, limit=limit)
        )
        rows = _rows(ctx, uow, listed)
    rows.sort(key=lambda r: r.dispute.mediation.review_due_at if r.dispute.mediation else _FAR)
    return rows


def names(ctx: Context, user_ids: set[str]) -> dict[str, str]:
    """Display names by user id (the id itself when the user is unknown)."""
    with ctx.uow(write=False) as uow:
        return _names(uow, user_ids)


# --- the dashboard ----------------------------------------------------------------------


def dashboard(ctx: Context, actor: Actor, *, days: int = 14, top: int = 5) -> Dashboard:
    """Counts by status, opened and closed per day over the last ``days`` days, outcome
    shares, the median time from opening to closing, and the sellers with the highest
    dispute rate (disputes per order)."""
    require_role(actor, Role.ADMIN)
    now = ctx.clock.now()
    with ctx.uow(write=False) as uow:
        disputes = list(_all_disputes(uow))
        orders_per_seller: Counter[str] = Counter(o.seller_id for o in _all_orders(uow))
        sellers = _names(uow, set(orders_per_seller))
    today = now.date()
    window = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    opened = Counter(d.created_at.date() for d in disputes)
    closed = Counter(d.closed_at.date() for d in disputes if d.closed_at is not None)
    outcomes: Counter[str] = Counter(
        d.outcome.result.value for d in disputes if d.outcome is not None and not d.is_open
    )
    durations = [
        (d.closed_at - d.created_at).total_seconds()
        for d in disputes
        if d.closed_at is not None and d.status is Status.CLOSED
    ]
    disputes_per_seller: Counter[str] = Counter(d.seller_id for d in disputes)
    rates = [
        SellerRate(seller, sellers.get(seller, seller), count, disputes_per_seller[seller])
        for seller, count in orders_per_seller.items()
    ]
    rates.sort(key=lambda r: (-r.rate, -r.disputes, r.name))
    return Dashboard(
        now=now,
        total=len(disputes),
        by_status={s.value: sum(1 for d in disputes if d.status is s) for s in Status},
        days=window,
        opened_per_day=[opened.get(day, 0) for day in window],
        closed_per_day=[closed.get(day, 0) for day in window],
        outcomes=dict(outcomes),
        median_resolution=(timedelta(seconds=statistics.median(durations)) if durations else None),
        top_sellers=[r for r in rates if r.disputes][:top],
    )


# --- helpers ----------------------------------------------------------------------------

_FAR = datetime.max.replace(tzinfo=UTC)


def _due_at(deadline: DeadlineSummary | None) -> datetime:
    return deadline.due_at if deadline is not None else _FAR


def _rows(
    ctx: Context, uow: UnitOfWork, listed: list[tuple[DisputeSummary, list[str]]]
) -> list[DisputeRow]:
    people = _names(uow, {d.buyer_id for d, _ in listed} | {d.seller_id for d, _ in listed})
    return [
        DisputeRow(
            d,
            titles,
            people.get(d.buyer_id, ""),
            people.get(d.seller_id, ""),
            ctx.policies.get(d.policy, ctx.policy),
        )
        for d, titles in listed
    ]


def _names(uow: UnitOfWork, user_ids: set[str]) -> dict[str, str]:
    """In one statement: an inbox or the queue names every buyer and seller on it, and one
    look-up per person was most of their statements (docs/performance.md, "Web pages")."""
    found = {user.id: user.name for user in uow.users.get_many(user_ids)}
    return {user_id: found.get(user_id, user_id) for user_id in user_ids}


def _all_disputes(uow: UnitOfWork) -> Iterator[Dispute]:
    return _every_page(lambda after: uow.disputes.list(DisputeFilter(after=after, limit=PAGE)))


def _all_orders(uow: UnitOfWork) -> Iterator[Order]:
    return _every_page(lambda after: uow.orders.list(OrderFilter(after=after, limit=PAGE)))


Listed = TypeVar("Listed", Dispute, Order)


def _every_page(page_after: Callable[[str | None], list[Listed]]) -> Iterator[Listed]:
    """Every row of a listing read PAGE rows at a time, each page after the last row's id."""
    after: str | None = None
    while True:
        page = page_after(after)
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1].id
