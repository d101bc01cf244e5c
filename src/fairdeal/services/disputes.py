"""Reading disputes: one, a list, the mediators' queue, and the caller's view of one (the
actions open to them). Commands run through ``services.handlers.handle``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fairdeal.domain.dispute import Action, Dispute
from fairdeal.domain.order import Order
from fairdeal.domain.roles import Actor, Role
from fairdeal.services.context import Context, load_dispute
from fairdeal.services.ports import DisputeFilter
from fairdeal.services.users import require_role


@dataclass(frozen=True, slots=True)
class DisputeView:
    """A dispute as its caller sees it: the aggregate, the actions open to the caller, the
    order facts the page needs, and what the command just created (a solution, a message...)."""

    dispute: Dispute
    allowed_actions: list[Action]
    window_ends_at: datetime | None
    now: datetime
    # The dispute's order, read with it: the dispute page shows its items without a second
    # look-up.
    order: Order
    created: object = None


def get_dispute(ctx: Context, actor: Actor, dispute_id: str) -> DisputeView:
    with ctx.uow(write=False) as uow:
        dispute = load_dispute(uow, actor, dispute_id)
        order = uow.orders.get(dispute.order_id)
    assert order is not None
    return view_of(ctx, actor, dispute, order)


def view_of(
    ctx: Context, actor: Actor, dispute: Dispute, order: Order, created: object = None
) -> DisputeView:
    now = ctx.clock.now()
    return DisputeView(
        dispute,
        dispute.allowed_actions(actor, window_open=order.window_open(now)),
        order.dispute_window_ends_at,
        now,
        order,
        created,
    )


def list_disputes(
    ctx: Context,
    actor: Actor,
    *,
    status: str | None,
    after: str | None,
    limit: int,
    mediator_queue: bool = False,
) -> list[Dispute]:
    query = DisputeFilter(status=status, after=after, limit=limit, mediator_queue=mediator_queue)
    if actor.role is Role.BUYER:
        query = DisputeFilter(buyer_id=actor.user_id, status=status, after=after, limit=limit)
    elif actor.role is Role.SELLER:
        query = DisputeFilter(seller_id=actor.user_id, status=status, after=after, limit=limit)
    with ctx.uow(write=False) as uow:
        return uow.disputes.list(query)


def mediation_queue(ctx: Context, actor: Actor, *, after: str | None, limit: int) -> list[Dispute]:
    require_role(actor, Role.MEDIATOR, Role.ADMIN)
    return list_disputes(
        ctx, actor, status="under_review", after=after, limit=limit, mediator_queue=True
    )
