"""The one way a command runs against a dispute: load it (scoped to the caller: 404 for
strangers) with its order, run the command's line of ``STEPS``, carry the change over to the
order, commit; retried on a stale write. A new action is a command in ``domain/commands.py``,
its method on ``Dispute`` and one line here."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, TypeVar, get_args

from fairdeal.domain.commands import (
    AcceptDecision,
    AcceptSolution,
    AddEvidence,
    AddNote,
    AssignMediator,
    Cancel,
    ConfirmReturn,
    DisputeCommand,
    EditDispute,
    EditSolution,
    Escalate,
    FinalizeDecision,
    OpenDispute,
    PostMessage,
    ProposeDecision,
    ProposeSolution,
    RejectDecision,
    RejectSolution,
    RemoveEvidence,
    Reopen,
    RequestEvidence,
    ShipReturn,
)
from fairdeal.domain.dispute import (
    Actor,
    Decision,
    Dispute,
    Evidence,
    ProposedSolution,
    Role,
)
from fairdeal.domain.dispute.checks import parse_solution_kind
from fairdeal.domain.errors import (
    DisputeExists,
    DomainError,
    NotFound,
    ValidationError,
    VersionConflict,
)
from fairdeal.domain.money import Amount, Money
from fairdeal.domain.order import Order
from fairdeal.services import recording
from fairdeal.services.context import Context, load_dispute, load_order, retrying, sync_order
from fairdeal.services.disputes import DisputeView, view_of
from fairdeal.services.ports import UnitOfWork
from fairdeal.services.users import require_role

C = TypeVar("C", bound=DisputeCommand)


@dataclass(frozen=True, slots=True)
class Step:
    """What a command's line may use: the loaded dispute and order, the moment, the unit of
    work (for the caller's files and the users), and the holidays of the payment's country."""

    actor: Actor
    dispute: Dispute
    order: Order
    now: datetime
    uow: UnitOfWork
    is_holiday: Callable[[date], bool]

    def money(self, amount: Amount) -> Money:
        return amount.in_currency(self.order.currency)


@dataclass(frozen=True, slots=True)
class _Line:
    run: Callable[[Step, Any], object]
    # Checked before the dispute is loaded, so that e.g. a platform adding evidence is refused
    # as such (403), not for the file it names (404).
    roles_first: tuple[Role, ...]


def _line(
    command: type[C], run: Callable[[Step, C], object], *, roles_first: tuple[Role, ...] = ()
) -> tuple[type, _Line]:
    """A table row. ``run`` is checked against its own command class here; the table forgets
    that type, and ``handle`` only ever looks a command up by its own class."""
    return command, _Line(run, roles_first)


def _add_evidence(s: Step, c: AddEvidence) -> Evidence:
    [(file, content_type)] = _own_files(s.uow, s.actor, [c.file_id], field="file_id")
    return s.dispute.add_evidence(
        s.actor, file_id=file, content_type=content_type, description=c.description, now=s.now
    )


def _reopen(s: Step, c: Reopen) -> None:
    d, o = s.dispute, s.order
    d.reopen(s.actor, now=s.now, window_open=o.window_open(s.now))
    # Another dispute may have taken these items while this one was cancelled.
    for item_id in d.item_ids or [item.id for item in o.items]:
        other = o.item_disputes.get(item_id)
        if other is not None and other.dispute_id != d.id and other.state.value != "cancelled":
            raise DisputeExists(f"item {item_id} is under dispute {other.dispute_id}")


def _assign_mediator(s: Step, c: AssignMediator) -> None:
    target = c.mediator_id or s.actor.user_id
    user = s.uow.users.get(target)
    if user is None or user.role not in ("mediator", "admin"):
        raise ValidationError("mediator_id must name a mediator", field="mediator_id")
    s.dispute.assign(s.actor, mediator_id=target, now=s.now)


def _propose_decision(s: Step, c: ProposeDecision) -> Decision:
    proposed = [
        ProposedSolution(
            kind=parse_solution_kind(option.kind, f"solutions.{i}.kind"),
            # Named by its place in the decision, whatever the edge called it.
            amount=s.money(replace(option.amount, field=f"solutions.{i}.amount")),
            comment=option.comment,
        )
        for i, option in enumerate(c.solutions)
    ]
    return s.dispute.propose_decision(s.actor, solutions=proposed, rationale=c.rationale, now=s.now)


def _reject_decision(s: Step, c: RejectDecision) -> None:
    files = _own_files(s.uow, s.actor, c.evidence_file_ids)
    s.dispute.reject_decision(s.actor, c.decision_id, comment=c.comment, evidence=files, now=s.now)


_PARTIES = (Role.BUYER, Role.SELLER)

# One line per command: what it asks of the dispute. What a line returns (a solution, a
# message...) comes back as ``DisputeView.created``.
STEPS: dict[type, _Line] = dict(
    [
        _line(
            EditDispute,
            lambda s, c: s.dispute.edit(
                s.actor, now=s.now, reason=c.reason, description=c.description
            ),
        ),
        _line(
            ProposeSolution,
            lambda s, c: s.dispute.propose_solution(
                s.actor, kind=c.kind, amount=s.money(c.amount), comment=c.comment, now=s.now
            ),
        ),
        _line(
            EditSolution,
            lambda s, c: s.dispute.edit_solution(
                s.actor,
                c.solution_id,
                now=s.now,
                kind=c.kind,
                amount=None if c.amount is None else s.money(c.amount),
                comment=c.comment,
            ),
        ),
        _line(
            AcceptSolution,
            lambda s, c: s.dispute.accept_solution(
                s.actor, c.solution_id, now=s.now, is_holiday=s.is_holiday
            ),
        ),
        _line(
            RejectSolution,
            lambda s, c: s.dispute.reject_solution(s.actor, c.solution_id, now=s.now),
        ),
        _line(AddEvidence, _add_evidence, roles_first=_PARTIES),
        _line(
            RemoveEvidence,
            lambda s, c: s.dispute.remove_evidence(s.actor, c.evidence_id, now=s.now),
        ),
        _line(PostMessage, lambda s, c: s.dispute.post_message(s.actor, body=c.body, now=s.now)),
        _line(Escalate, lambda s, c: s.dispute.escalate(s.actor, now=s.now)),
        _line(
            Cancel,
            lambda s, c: s.dispute.cancel(
                s.actor, now=s.now, window_open=s.order.window_open(s.now)
            ),
        ),
        _line(Reopen, _reopen),
        _line(
            ShipReturn,
            lambda s, c: s.dispute.ship_return(
                s.actor, carrier=c.carrier, tracking_number=c.tracking_number, now=s.now
            ),
        ),
        _line(
            ConfirmReturn,
            lambda s, c: s.dispute.confirm_return(
                s.actor, condition=c.condition, note=c.note, now=s.now, is_holiday=s.is_holiday
            ),
        ),
        _line(AssignMediator, _assign_mediator),
        _line(
            RequestEvidence,
            lambda s, c: s.dispute.request_evidence(
                s.actor, party=c.party, request=c.request, days=c.days, now=s.now
            ),
        ),
        _line(ProposeDecision, _propose_decision),
        _line(
            AcceptDecision,
            lambda s, c: s.dispute.accept_decision(
                s.actor,
                c.decision_id,
                solution_index=c.solution_index,
                now=s.now,
                is_holiday=s.is_holiday,
            ),
        ),
        _line(RejectDecision, _reject_decision, roles_first=_PARTIES),
        _line(
            FinalizeDecision,
            lambda s, c: s.dispute.finalize_decision(
                s.actor,
                c.decision_id,
                solution_index=c.solution_index,
                now=s.now,
                is_holiday=s.is_holiday,
            ),
        ),
        _line(AddNote, lambda s, c: s.dispute.add_note(s.actor, body=c.body, now=s.now)),
    ]
)
assert set(STEPS) == set(get_args(DisputeCommand)), "every command has exactly one line"


def handle(
    ctx: Context,
    actor: Actor,
    dispute_id: str,
    command: DisputeCommand,
    *,
    expected_version: int | None = None,
) -> DisputeView:
    """Load, act, carry over to the order, commit; retried on a stale write. Returns the
    caller's view of the dispute, with what the command created. ``expected_version`` (an
    HTTP If-Match) refuses the command when the dispute changed since the caller read it."""
    line = STEPS[type(command)]
    if line.roles_first:
        require_role(actor, *line.roles_first)

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
            step = Step(
                actor, dispute, order, now, uow, ctx.is_holiday_for(dispute.payment_country)
            )
            try:
                created = line.run(step, command)
                recording.record(dispute, actor, command, now=now, order=order, uow=uow)
                sync_order(
                    dispute, order, now, ctx.provider_for("refund"), ctx.provider_for("payout")
                )
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


def open_dispute(ctx: Context, actor: Actor, command: OpenDispute) -> Dispute:
    """The buyer opens a dispute on an order (whole, or some of its items)."""
    return _open(ctx, actor, command)[0]


def open_dispute_view(ctx: Context, actor: Actor, command: OpenDispute) -> DisputeView:
    """``open_dispute``, answering the buyer's view of the new dispute from the unit of work
    that opened it, as ``handle`` does for a command: no second unit of work to read back
    what was just written (performance.md)."""
    dispute, order = _open(ctx, actor, command)
    return view_of(ctx, actor, dispute, order)


def _open(ctx: Context, actor: Actor, command: OpenDispute) -> tuple[Dispute, Order]:
    require_role(actor, Role.BUYER)

    def attempt() -> tuple[Dispute, Order]:
        with ctx.uow() as uow:
            order = load_order(uow, actor, command.order_id)
            now = ctx.clock.now()
            dispute = Dispute.open(
                dispute_id=ctx.ids.new("dsp"),
                order=order,
                buyer=actor,
                item_ids=None if command.item_ids is None else list(command.item_ids),
                reason=command.reason,
                desired_outcome=command.desired_outcome,
                amount=command.amount.in_currency(order.currency),
                description=command.description,
                evidence=_own_files(uow, actor, command.evidence_file_ids),
                policy=ctx.policy,
                now=now,
            )
            recording.record(dispute, actor, command, now=now, order=order, uow=uow)
            uow.disputes.add(dispute)
            uow.commit()
        ctx.committed(uow)
        return dispute, order

    return retrying(attempt)


def _own_files(
    uow: UnitOfWork, actor: Actor, file_ids: Iterable[str], *, field: str = "evidence_file_ids"
) -> list[tuple[str, str]]:
    """(file_id, content_type) of files the actor uploaded; others' files are not found."""
    found = []
    for file_id in file_ids:
        record = uow.files.get(file_id)
        if record is None or record.owner_id != actor.user_id:
            raise NotFound(f"file {file_id} not found", field=field)
        found.append((record.id, record.content_type))
    return found
