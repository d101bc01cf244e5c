"""Dispute use cases. Each loads the dispute (scoped to the caller: 404 for strangers) and
its order, runs one domain action, carries the change over to the order, and commits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from fairdeal.domain.dispute import (
    Action,
    Actor,
    Decision,
    Dispute,
    Evidence,
    ProposedSolution,
    Role,
    SolutionKind,
)
from fairdeal.domain.errors import (
    DisputeExists,
    DomainError,
    NotFound,
    ValidationError,
    VersionConflict,
)
from fairdeal.domain.money import Money
from fairdeal.domain.order import Order
from fairdeal.services.context import Context, load_dispute, load_order, retrying, sync_order
from fairdeal.services.ports import DisputeFilter, UnitOfWork
from fairdeal.services.users import require_role

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DisputeView:
    """A dispute as its caller sees it: the aggregate, the actions open to the caller, the
    order facts the page needs, and what the command just created (a solution, a message...)."""

    dispute: Dispute
    allowed_actions: list[Action]
    window_ends_at: datetime | None
    now: datetime
    created: object = None


def open_dispute(
    ctx: Context,
    actor: Actor,
    *,
    order_id: str,
    item_ids: list[str] | None,
    reason: str,
    desired_outcome: str,
    amount: object,
    description: str,
    evidence_file_ids: list[str],
) -> Dispute:
    require_role(actor, Role.BUYER)

    def attempt() -> Dispute:
        with ctx.uow() as uow:
            order = load_order(uow, actor, order_id)
            now = ctx.clock.now()
            dispute = Dispute.open(
                dispute_id=ctx.ids.new("dsp"),
                order=order,
                buyer=actor,
                item_ids=item_ids,
                reason=reason,
                desired_outcome=desired_outcome,
                amount=_money(amount, order.currency),
                description=description,
                evidence=_own_files(uow, actor, evidence_file_ids),
                policy=ctx.policy,
                now=now,
            )
            uow.disputes.add(dispute)
            uow.commit()
        ctx.committed(uow)
        return dispute

    return retrying(attempt)


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


def edit_dispute(
    ctx: Context,
    actor: Actor,
    dispute_id: str,
    *,
    reason: str | None,
    description: str | None,
    expected_version: int | None = None,
) -> DisputeView:
    return _change(
        ctx,
        actor,
        dispute_id,
        lambda d, o, now: d.edit(actor, now=now, reason=reason, description=description),
        expected_version=expected_version,
    )


def propose_solution(
    ctx: Context,
    actor: Actor,
    dispute_id: str,
    *,
    kind: str,
    amount: object,
    comment: str = "",
    expected_version: int | None = None,
) -> DisputeView:
    return _change(
        ctx,
        actor,
        dispute_id,
        lambda d, o, now: d.propose_solution(
            actor, kind=kind, amount=_money(amount, o.currency), comment=comment, now=now
        ),
        expected_version=expected_version,
    )


def edit_solution(
    ctx: Context,
    actor: Actor,
    dispute_id: str,
    solution_id: str,
    *,
    kind: str | None,
    amount: object | None,
    comment: str | None,
    expected_version: int | None = None,
) -> DisputeView:
    return _change(
        ctx,
        actor,
        dispute_id,
        lambda d, o, now: d.edit_solution(
            actor,
            solution_id,
            now=now,
            kind=kind,
            amount=None if amount is None else _money(amount, o.currency),
            comment=comment,
        ),
        expected_version=expected_version,
    )


def accept_solution(
    ctx: Context,
    actor: Actor,
    dispute_id: str,
    solution_id: str,
    *,
    expected_version: int | None = None,
) -> DisputeView:
    return _change(
        ctx,
        actor,
        dispute_id,
        lambda d, o, now: d.accept_solution(
            actor, solution_id, now=now, is_holiday=ctx.is_holiday_for(d.payment_country)
        ),
        expected_version=expected_version,
    )


def reject_solution(
    ctx: Context,
    actor: Actor,
    dispute_id: str,
    solution_id: str,
    *,
    expected_version: int | None = None,
) -> DisputeView:
    return _change(
        ctx,
        actor,
        dispute_id,
        lambda d, o, now: d.reject_solution(actor, solution_id, now=now),
        expected_version=expected_version,
    )


def add_evidence(
    ctx: Context,
    actor: Actor,
    dispute_id: str,
    *,
    file_id: str,
    description: str = "",
    expected_version: int | None = None,
) -> DisputeView:
    # The role first: a platform or mediator is refused as such (403), not for the file (404).
    require_role(actor, Role.BUYER, Role.SELLER)

    def act(d: Dispute, o: Order, now: datetime, uow: UnitOfWork) -> Evidence:
        [(file, content_type)] = _own_files(uow, actor, [file_id], field="file_id")
        return d.add_evidence(
            actor, file_id=file, content_type=content_type, description=description, now=now
        )

    return _change(ctx, actor, dispute_id, act, needs_uow=True, expected_version=expected_version)


def remove_evidence(
    ctx: Context,
    actor: Actor,
    dispute_id: str,
    evidence_id: str,
    *,
    expected_version: int | None = None,
) -> DisputeView:
    return _change(
        ctx,
        actor,
        dispute_id,
        lambda d, o, now: d.remove_evidence(actor, evidence_id, now=now),
        expected_version=expected_version,
    )


def post_message(
    ctx: Context, actor: Actor, dispute_id: str, *, body: str, expected_version: int | None = None
) -> DisputeView:
    return _change(
        ctx,
        actor,
        dispute_id,
        lambda d, o, now: d.post_message(actor, body=body, now=now),
        expected_version=expected_version,
    )


def escalate(
    ctx: Context, actor: Actor, dispute_id: str, *, expected_version: int | None = None
) -> DisputeView:
    return _change(
        ctx,
        actor,
        dispute_id,
        lambda d, o, now: d.escalate(actor, now=now),
        expected_version=expected_version,
    )


def cancel(
    ctx: Context, actor: Actor, dispute_id: str, *, expected_version: int | None = None
) -> DisputeView:
    return _change(
        ctx,
        actor,
        dispute_id,
        lambda d, o, now: d.cancel(actor, now=now, window_open=o.window_open(now)),
        expected_version=expected_version,
    )


def reopen(
    ctx: Context, actor: Actor, dispute_id: str, *, expected_version: int | None = None
) -> DisputeView:
    def act(d: Dispute, o: Order, now: datetime) -> None:
        d.reopen(actor, now=now, window_open=o.window_open(now))
        # Another dispute may have taken these items while this one was cancelled.
        for item_id in d.item_ids or [item.id for item in o.items]:
            other = o.item_disputes.get(item_id)
            if other is not None and other.dispute_id != d.id and other.state.value != "cancelled":
                raise DisputeExists(f"item {item_id} is under dispute {other.dispute_id}")

    return _change(ctx, actor, dispute_id, act, expected_version=expected_version)


def ship_return(
    ctx: Context,
    actor: Actor,
    dispute_id: str,
    *,
    carrier: str,
    tracking_number: str,
    expected_version: int | None = None,
) -> DisputeView:
    return _change(
        ctx,
        actor,
        dispute_id,
        lambda d, o, now: d.ship_return(
            actor, carrier=carrier, tracking_number=tracking_number, now=now
        ),
        expected_version=expected_version,
    )


def confirm_return(
    ctx: Context,
    actor: Actor,
    dispute_id: str,
    *,
    condition: str,
    note: str = "",
    expected_version: int | None = None,
) -> DisputeView:
    return _change(
        ctx,
        actor,
        dispute_id,
        lambda d, o, now: d.confirm_return(
            actor,
            condition=condition,
            note=note,
            now=now,
            is_holiday=ctx.is_holiday_for(d.payment_country),
        ),
        expected_version=expected_version,
    )


def assign(
    ctx: Context,
    actor: Actor,
    dispute_id: str,
    *,
    mediator_id: str | None,
    expected_version: int | None = None,
) -> DisputeView:
    def act(d: Dispute, o: Order, now: datetime, uow: UnitOfWork) -> None:
        target = mediator_id or actor.user_id
        user = uow.users.get(target)
        if user is None or user.role not in ("mediator", "admin"):
            raise ValidationError("mediator_id must name a mediator", field="mediator_id")
        d.assign(actor, mediator_id=target, now=now)

    return _change(ctx, actor, dispute_id, act, needs_uow=True, expected_version=expected_version)


def request_evidence(
    ctx: Context,
    actor: Actor,
    dispute_id: str,
    *,
    party: str,
    request: str,
    days: int | None,
    expected_version: int | None = None,
) -> DisputeView:
    return _change(
        ctx,
        actor,
        dispute_id,
        lambda d, o, now: d.request_evidence(
            actor, party=party, request=request, days=days, now=now
        ),
        expected_version=expected_version,
    )


@dataclass(frozen=True, slots=True)
class DecisionInput:
    kind: str
    amount: object
    comment: str = ""


def propose_decision(
    ctx: Context,
    actor: Actor,
    dispute_id: str,
    *,
    solutions: list[DecisionInput],
    rationale: str,
    expected_version: int | None = None,
) -> DisputeView:
    def act(d: Dispute, o: Order, now: datetime) -> Decision:
        proposed = [
            ProposedSolution(
                kind=_kind(s.kind, f"solutions.{i}.kind"),
                amount=_money(s.amount, o.currency, field=f"solutions.{i}.amount"),
                comment=s.comment,
            )
            for i, s in enumerate(solutions)
        ]
        return d.propose_decision(actor, solutions=proposed, rationale=rationale, now=now)

    return _change(ctx, actor, dispute_id, act, expected_version=expected_version)


def accept_decision(
    ctx: Context,
    actor: Actor,
    dispute_id: str,
    decision_id: str,
    *,
    solution_index: int | None,
    expected_version: int | None = None,
) -> DisputeView:
    return _change(
        ctx,
        actor,
        dispute_id,
        lambda d, o, now: d.accept_decision(
            actor,
            decision_id,
            solution_index=solution_index,
            now=now,
            is_holiday=ctx.is_holiday_for(d.payment_country),
        ),
        expected_version=expected_version,
    )


def reject_decision(
    ctx: Context,
    actor: Actor,
    dispute_id: str,
    decision_id: str,
    *,
    comment: str,
    evidence_file_ids: list[str],
    expected_version: int | None = None,
) -> DisputeView:
    require_role(actor, Role.BUYER, Role.SELLER)  # before the files, as in add_evidence

    def act(d: Dispute, o: Order, now: datetime, uow: UnitOfWork) -> None:
        files = _own_files(uow, actor, evidence_file_ids)
        d.reject_decision(actor, decision_id, comment=comment, evidence=files, now=now)

    return _change(ctx, actor, dispute_id, act, needs_uow=True, expected_version=expected_version)


def finalize_decision(
    ctx: Context,
    actor: Actor,
    dispute_id: str,
    decision_id: str,
    *,
    solution_index: int | None,
    expected_version: int | None = None,
) -> DisputeView:
    return _change(
        ctx,
        actor,
        dispute_id,
        lambda d, o, now: d.finalize_decision(
            actor,
            decision_id,
            solution_index=solution_index,
            now=now,
            is_holiday=ctx.is_holiday_for(d.payment_country),
        ),
        expected_version=expected_version,
    )


def add_note(
    ctx: Context, actor: Actor, dispute_id: str, *, body: str, expected_version: int | None = None
) -> DisputeView:
    return _change(
        ctx,
        actor,
        dispute_id,
        lambda d, o, now: d.add_note(actor, body=body, now=now),
        expected_version=expected_version,
    )


# --- the one way a command runs -------------------------------------------------------------


def _change(
    ctx: Context,
    actor: Actor,
    dispute_id: str,
    act: Callable[..., object],
    *,
    expected_version: int | None = None,
    needs_uow: bool = False,
) -> DisputeView:
    """Load, act, carry over to the order, commit; retried on a stale write. Returns the
    caller's view of the dispute, with what the action created. ``expected_version`` (an
    HTTP If-Match) refuses the command when the dispute changed since the caller read it."""

    def attempt() -> DisputeView:
        with ctx.uow() as uow:
            dispute = load_dispute(uow, actor, dispute_id)
            if expected_version is not None and dispute.version != expected_version:
                raise VersionConflict(
                    f"dispute {dispute_id} is at version {dispute.version}, not "
                    f"{expected_version}; reload it and try again"
                )
            order = uow.orders.get(dispute.order_id)
            assert order is not None, "a dispute's order always exists"
            now = ctx.clock.now()
            try:
                created = act(dispute, order, now, uow) if needs_uow else act(dispute, order, now)
                sync_order(dispute, order, now)
            except DomainError as refusal:
                # A refusal made on a dispute that another writer has changed since we read
                # it is a stale read, not the caller's mistake: e.g. a stale dispute beside
                # an order the racer already refunded, whose escrow then refuses the refund.
                # The SQL repository now reads a dispute and its order in one statement (one
                # snapshot), which makes this rare there, but the service does not rely on
                # how a repository reads: retry, and the fresh dispute answers (e.g.
                # "closed"), as the version check would have.
                if not isinstance(refusal, VersionConflict) and (
                    uow.disputes.stored_version(dispute.id) != dispute.version
                ):
                    raise VersionConflict(
                        f"dispute {dispute_id} changed while the command ran; try again"
                    ) from refusal
                raise
            uow.commit()
        ctx.committed(uow)
        return view_of(ctx, actor, dispute, order, created)

    if expected_version is not None:
        return attempt()  # the caller asked for this exact version: no silent retry
    return retrying(attempt)


def _money(value: object, currency: str, *, field: str = "amount") -> Money:
    """An amount from a request: a money mapping or a bare decimal string in the order's
    currency."""
    if isinstance(value, Money):
        if value.currency != currency:
            raise ValidationError(f"{field} must be in {currency}", field=field)
        return value
    if isinstance(value, dict):
        if value.get("currency") != currency:
            raise ValidationError(f"{field} must be in {currency}", field=f"{field}.currency")
        return Money.parse(value.get("value"), currency, field=f"{field}.value")
    return Money.parse(value, currency, field=field)


def _kind(value: str, field: str) -> SolutionKind:
    try:
        return SolutionKind(value)
    except ValueError:
        raise ValidationError(
            f"{field} must be refund_only or return_and_refund", field=field
        ) from None


def _own_files(
    uow: UnitOfWork, actor: Actor, file_ids: list[str], *, field: str = "evidence_file_ids"
) -> list[tuple[str, str]]:
    """(file_id, content_type) of files the actor uploaded; others' files are not found."""
    found = []
    for file_id in file_ids:
        record = uow.files.get(file_id)
        if record is None or record.owner_id != actor.user_id:
            raise NotFound(f"file {file_id} not found", field=field)
        found.append((record.id, record.content_type))
    return found
