"""The clock's side of the engine: fire every deadline that fell due, exactly once.

A deadline is not a row of its own: it is derived from the aggregate (``Dispute.fire_at``,
``Order.fire_at``) and stored beside it, indexed. Firing is a domain transition saved with the
same optimistic version check as a party's action, so a deadline made moot by an action in the
meantime simply no longer applies, and a worker killed mid-batch leaves the batch unfired (its
transaction never committed) for the next run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fairdeal.domain.dispute import Dispute
from fairdeal.domain.errors import VersionConflict
from fairdeal.domain.order import Order
from fairdeal.services.context import Context, sync_order

BATCH_SIZE = 200
# Rounds of claimed-but-moot batches ``fire_due`` looks past before it gives up for now.
MAX_MOOT_ROUNDS = 10


@dataclass(frozen=True, slots=True)
class Fired:
    aggregate: str  # dispute | order
    id: str
    kind: str
    due_at: datetime


def fire_due(ctx: Context, *, now: datetime | None = None, limit: int = BATCH_SIZE) -> list[Fired]:
    """Claim and fire one batch of due deadlines in one transaction. Several workers may run
    this at once: claims skip rows another transaction holds (PostgreSQL), or take turns
    (SQLite's single writer). An empty result means nothing was due."""
    moment = now or ctx.clock.now()
    for _ in range(MAX_MOOT_ROUNDS):
        try:
            fired, claimed = _fire_batch(ctx, moment, limit)
        except VersionConflict:
            return _fire_one_by_one(ctx, moment, limit)
        if fired or not claimed:
            return fired
        # Everything claimed had nothing to fire (its stored due time was stale; the batch
        # has corrected it). Look again: returning [] would tell ``run_until_idle`` and
        # ``worker --once`` that nothing is due while rows really due wait behind these.
    return []


def _fire_one_by_one(ctx: Context, now: datetime, limit: int) -> list[Fired]:
    """A party acted on one of the claimed aggregates between our claim and our write, so
    the batch rolled back. Fire one by one, so that one contended aggregate does not hold
    back the rest."""
    fired: list[Fired] = []
    for _ in range(limit):
        try:
            batch, claimed = _fire_batch(ctx, now, 1)
        except VersionConflict:
            continue
        if not claimed:
            break
        fired.extend(batch)
    return fired


def _fire_batch(ctx: Context, now: datetime, limit: int) -> tuple[list[Fired], int]:
    """One transaction: (what fired, how many aggregates were claimed)."""
    fired: list[Fired] = []
    with ctx.uow() as uow:
        disputes = uow.disputes.claim_due(now, limit)
        orders = {o.id: o for o in uow.orders.get_many(sorted({d.order_id for d in disputes}))}
        for dispute in disputes:
            fired.extend(_fire_dispute(ctx, dispute, orders, now))
        claimed = len(disputes)
        remaining = limit - len(disputes)
        if remaining > 0:
            due_orders = uow.orders.claim_due(now, remaining)
            claimed += len(due_orders)
            for order in due_orders:
                due = order.fire_at
                if due is not None and order.fire_due(now=now, provider=ctx.provider_for("payout")):
                    fired.append(Fired("order", order.id, "payout", due))
        uow.commit()
    ctx.committed(uow)
    return fired, claimed


def _fire_dispute(
    ctx: Context, dispute: Dispute, orders: dict[str, Order], now: datetime
) -> list[Fired]:
    order = orders[dispute.order_id]
    due = dispute.fire_at
    kind = dispute.expire(now=now, is_holiday=ctx.is_holiday_for(dispute.payment_country))
    if kind is None or due is None:
        return []
    sync_order(dispute, order, due, ctx.provider_for("refund"), ctx.provider_for("payout"))
    return [Fired("dispute", dispute.id, kind, due)]


def run_until_idle(ctx: Context, *, now: datetime | None = None) -> list[Fired]:
    """Fire batches until nothing is due (what ``fairdeal worker --once`` does)."""
    fired: list[Fired] = []
    while True:
        batch = fire_due(ctx, now=now)
        if not batch:
            return fired
        fired.extend(batch)


def advance_clock(ctx: Context, *, to: datetime) -> list[Fired]:
    """The sandbox clock (``ctx.settable_clock``) moves to ``to`` and every deadline that falls
    due on the way fires in due order, each at its own due time -- so a seller's silence
    closes the dispute, and the return window that opens then can itself run out within the
    same advance.

    The deadlines fire *before* the shared clock moves: a worker (in this process or another)
    reads the stored clock, so while this runs it sees nothing of the advance fall due, and
    the answer lists every deadline that fell due in the advance. Only then does the clock
    move to ``to``, when nothing up to it is left to fire."""
    clock = ctx.settable_clock
    if to < clock.now():
        raise ValueError("the sandbox clock only moves forward")
    fired: list[Fired] = []
    while True:
        with ctx.uow(write=False) as uow:
            nxt = uow.disputes.next_due(to)
        if nxt is None:
            break
        _, _, due_at = nxt
        batch = fire_due(ctx, now=due_at, limit=1)
        if not batch:
            # Made moot between our look and our claim, or held by a worker right now (one
            # that was due before this advance began): the worker fires it; looping here
            # would spin.
            break
        fired.extend(batch)
    clock.advance_to(to)
    # The sandbox payment provider confirms on this clock too (docs/payments.md). Imported
    # here: services.payments runs the order's deadlines through this module.
    from fairdeal.services.payments import run_until_idle as pay_until_idle

    pay_until_idle(ctx, now=to)
    return fired
