"""Money movements: the payment provider port, and the use cases that carry a decided refund or
payout out through a provider exactly once (docs/payments.md).

Exactly once, under crashes: a worker records the attempt (a lease) in one transaction BEFORE
it asks the provider, and the provider's answer in another. A worker killed in between leaves
the movement ``submitted`` with an expired lease; the next worker takes it over and, because
the provider may already hold it, asks ``gateway.find`` (by the movement's id) before it
submits again. Nothing leans on the provider's idempotency keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from fairdeal.domain.errors import NotFound, VersionConflict
from fairdeal.domain.money import Money
from fairdeal.domain.payments import MoneyMovement, MovementKind, MovementStatus
from fairdeal.domain.roles import Actor, Role
from fairdeal.services.context import Context, load_order, retrying
from fairdeal.services.ports import UnitOfWork
from fairdeal.services.users import require_role

# --- the port -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """What a provider is asked to do for one movement."""

    movement_id: str
    kind: str  # "refund" | "payout"
    amount: Money
    order_id: str
    dispute_id: str | None
    payment_reference: str
    payment_method: str
    payment_country: str


@dataclass(frozen=True, slots=True)
class ProviderRecord:
    """What the provider holds for one movement."""

    reference: str
    movement_id: str | None
    amount: Money
    status: str  # "pending" | "succeeded" | "failed"
    failure: str | None = None


class PaymentProviderError(Exception):
    """The provider did not do it. The message is the provider's words; ``transient`` says
    whether asking again later may succeed (a timeout, a 5xx) or not (card closed)."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient


class PaymentGateway(Protocol):
    name: str  # "sandbox" | "marketplace" | "stripe"

    def find(self, request: PaymentRequest) -> ProviderRecord | None:
        """Look the movement up by its id: asked BEFORE any resubmission."""
        ...

    def submit(self, request: PaymentRequest) -> ProviderRecord:
        """Ask the provider to move the money; raises PaymentProviderError."""
        ...

    def records(self, payment_reference: str) -> list[ProviderRecord]:
        """Everything the provider holds for one payment (for reconcile)."""
        ...


@dataclass
class Payments:
    """The gateways chosen by FAIRDEAL_PAYMENTS, and the worker's settings."""

    refunds: PaymentGateway
    payouts: PaymentGateway
    lease: timedelta = timedelta(seconds=30)
    poll: timedelta = timedelta(seconds=60)

    def gateway_for(self, kind: MovementKind | str) -> PaymentGateway:
        return self.refunds if MovementKind(kind) is MovementKind.REFUND else self.payouts


def request_of(movement: MoneyMovement) -> PaymentRequest:
    return PaymentRequest(
        movement_id=movement.id,
        kind=movement.kind.value,
        amount=movement.amount,
        order_id=movement.order_id,
        dispute_id=movement.dispute_id,
        payment_reference=movement.payment_reference,
        payment_method=movement.payment_method,
        payment_country=movement.payment_country,
    )


# --- the worker ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Claim:
    movement: MoneyMovement
    submission: bool
    lease_until: datetime


@dataclass(frozen=True, slots=True)
class Outcome:
    movement_id: str
    status: str  # the movement's status after the attempt (or "taken_over")


def process_due(ctx: Context, *, now: datetime | None = None, limit: int = 20) -> list[Outcome]:
    """Claim due movements (one transaction, the attempt recorded), ask their provider
    (outside any transaction), record the answers (one transaction for all of them)."""
    payments = ctx.payments
    if payments is None:
        return []
    moment = now or ctx.clock.now()
    claims = _claim(ctx, moment, limit, payments.lease)
    answers = [_ask(payments, claim) for claim in claims]
    return _record_answers(ctx, payments, answers, moment)


def _claim(ctx: Context, now: datetime, limit: int, lease: timedelta) -> list[_Claim]:
    # Leases in real time (MoneyMovement.claimed_until): ``now`` may be a sandbox clock's
    # moment 30 days ahead, passed by a clock advance while a worker holds a lease.
    real_now = ctx.clock.real_now()
    with ctx.uow() as uow:
        movements = uow.payments.claim_due(now, limit, real_now=real_now)
        claims = []
        for movement in movements:
            # Only the movement is written here: its dispute follows with the answer (a claim
            # that held movement rows while it waited for dispute rows could deadlock with a
            # callback that takes them the other way round).
            submission = movement.begin_attempt(now, lease, real_now=real_now)
            assert movement.claimed_until is not None
            claims.append(_Claim(movement, submission, movement.claimed_until))
        uow.commit()
    ctx.committed(uow)
    return claims


@dataclass(frozen=True, slots=True)
class _Answer:
    """What the provider said to one claimed movement: its record, or the error asking got."""

    claim: _Claim
    record: ProviderRecord | None
    error: PaymentProviderError | None


def _ask(payments: Payments, claim: _Claim) -> _Answer:
    movement = claim.movement
    gateway = payments.gateway_for(movement.kind)
    request = request_of(movement)
    record: ProviderRecord | None = None
    try:
        if not claim.submission or movement.attempts > 1:
            # The provider may hold it already: a dead worker's submission, or an earlier
            # attempt whose answer never reached us. Never submit what it holds.
            record = gateway.find(request)
            if record is not None and record.status == "failed" and claim.submission:
                record = None  # a refused earlier try: this is a new one
        if record is None:
            record = gateway.submit(request)
    except PaymentProviderError as exc:
        return _Answer(claim, None, exc)
    except Exception as exc:  # a bug or an unexpected library error: retried, not lost
        error = PaymentProviderError(f"{type(exc).__name__}: {exc}", transient=True)
        return _Answer(claim, None, error)
    return _Answer(claim, record, None)


def _record_answers(
    ctx: Context, payments: Payments, answers: list[_Answer], now: datetime
) -> list[Outcome]:
    """The answers of one claim, recorded in one transaction: a movement, its order and its
    dispute each (a worker's claim is 20 movements; a transaction each cost 20 BEGIN/COMMIT
    and the statements of 20 units of work, performance.md "3. Deadline firing"). When one
    of them was changed by someone else in between (a marketplace callback, a party's
    action on the dispute), the whole transaction is stale: then each answer is recorded
    on its own, retried, so that one contended movement does not hold back the rest."""
    if not answers:
        return []
    try:
        return _record_together(ctx, payments, answers, now)
    except VersionConflict:
        pass

    def alone(answer: _Answer) -> Outcome:
        return retrying(lambda: _record_together(ctx, payments, [answer], now))[0]

    return [alone(answer) for answer in answers]


def _record_together(
    ctx: Context, payments: Payments, answers: list[_Answer], now: datetime
) -> list[Outcome]:
    with ctx.uow() as uow:
        outcomes = [_record_answer(uow, payments, answer, now) for answer in answers]
        uow.commit()
    ctx.committed(uow)
    return outcomes


def _record_answer(uow: UnitOfWork, payments: Payments, answer: _Answer, now: datetime) -> Outcome:
    claim, error = answer.claim, answer.error
    fresh = uow.payments.get(claim.movement.id)
    if fresh is None or fresh.claimed_until != claim.lease_until:
        # Our lease ran out and another worker took the movement over: its answer (after its
        # own look-up) is the one that counts.
        return Outcome(claim.movement.id, "taken_over")
    if error is not None:
        if error.transient:
            fresh.transient_error(error.message, now)
        else:
            fresh.fail(error.message, now)
    else:
        assert answer.record is not None
        gateway = payments.gateway_for(fresh.kind)
        _record(uow, fresh, answer.record, now, payments, gateway)
    _follow(uow, fresh, now)
    return Outcome(fresh.id, fresh.status.value)


def _record(
    uow: UnitOfWork,
    movement: MoneyMovement,
    record: ProviderRecord,
    now: datetime,
    payments: Payments,
    gateway: PaymentGateway,
) -> None:
    movement.provider = gateway.name
    if record.status == "succeeded":
        if movement.requested_at is None:
            movement.accepted(record.reference, now, None)
            movement.requested(now, _payment_of(uow, movement))
        movement.succeed(record.reference, now)
    elif record.status == "failed":
        movement.fail(record.failure or "the payment provider refused the payment", now)
    else:
        poll_at: datetime | None = now + payments.poll
        if gateway.name == "marketplace":
            poll_at = None  # the marketplace reports back (POST /payments/{id}/succeeded)
        elif gateway.name == "sandbox" and movement.expected_by is not None:
            poll_at = max(movement.expected_by, now)  # the sandbox confirms on its clock
        if movement.accepted(record.reference, now, poll_at):
            movement.requested(now, _payment_of(uow, movement))


def _payment_of(uow: UnitOfWork, movement: MoneyMovement) -> dict[str, Any]:
    order = uow.orders.get(movement.order_id)
    if order is None:
        return {
            "method": movement.payment_method,
            "reference": movement.payment_reference,
            "country": movement.payment_country,
        }
    return {
        "method": order.payment.method,
        "reference": order.payment.reference,
        "country": order.payment.country,
    }


def _follow(uow: UnitOfWork, movement: MoneyMovement, now: datetime) -> None:
    """Carry the movement's state to its order (confirmed money leaves pending) and, for a
    refund, to the dispute's ``refund.status``."""
    if movement.status is MovementStatus.SUCCEEDED and movement.completed_at == now:
        order = uow.orders.get(movement.order_id)
        if order is not None:
            order.confirm_movement(movement, now)
    if movement.kind is not MovementKind.REFUND or movement.dispute_id is None:
        return
    dispute = uow.disputes.get(movement.dispute_id)
    if dispute is None:
        return
    if movement.status is MovementStatus.SUCCEEDED:
        dispute.refund_completed(movement.completed_at or now)
    elif movement.status is MovementStatus.FAILED:
        dispute.refund_failed(now, movement.last_error or "")
    elif movement.status is MovementStatus.SUBMITTED:
        dispute.refund_processing(now)
    else:
        dispute.refund_rescheduled(now)


def run_until_idle(ctx: Context, *, now: datetime | None = None, rounds: int = 1000) -> int:
    """Process due movements until none is due (tests, ``worker --once``)."""
    done = 0
    for _ in range(rounds):
        batch = process_due(ctx, now=now)
        if not batch:
            break
        done += len(batch)
    return done


# --- people's use cases -------------------------------------------------------------------------


def of_order(ctx: Context, actor: Actor, order_id: str) -> list[MoneyMovement]:
    """The order's movements, for the platform, admins and the order's buyer and seller."""
    with ctx.uow(write=False) as uow:
        order = load_order(uow, actor, order_id)
        if actor.role is Role.MEDIATOR:
            raise NotFound(f"order {order_id} not found")
        return uow.payments.of_order(order.id)


def listing(
    ctx: Context, actor: Actor, status: str | None, limit: int = 100
) -> list[MoneyMovement]:
    require_role(actor, Role.PLATFORM, Role.ADMIN)
    with ctx.uow(write=False) as uow:
        return uow.payments.list(status, limit)


def needing_attention(ctx: Context, actor: Actor) -> list[MoneyMovement]:
    """Failed movements and refunds past their promise: the admin's list."""
    require_role(actor, Role.PLATFORM, Role.ADMIN)
    with ctx.uow(write=False) as uow:
        return uow.payments.needing_attention(ctx.clock.now())


def _change(ctx: Context, movement_id: str, change: Any) -> tuple[MoneyMovement, bool]:
    def attempt() -> tuple[MoneyMovement, bool]:
        with ctx.uow() as uow:
            movement = uow.payments.get(movement_id)
            if movement is None:
                raise NotFound(f"payment {movement_id} not found")
            now = ctx.clock.now()
            changed = bool(change(movement, now))
            if changed:
                _follow(uow, movement, now)
                uow.commit()
        if changed:
            ctx.committed(uow)
        return movement, changed

    return retrying(attempt)


def succeeded(
    ctx: Context, actor: Actor, movement_id: str, provider_reference: str
) -> MoneyMovement:
    """The marketplace reports the provider confirmed. The same reference again changes
    nothing; another reference, or a failed movement, is ``invalid_transition``."""
    require_role(actor, Role.PLATFORM)
    return _change(ctx, movement_id, lambda m, now: m.succeed(provider_reference, now))[0]


def failed(ctx: Context, actor: Actor, movement_id: str, reason: str) -> MoneyMovement:
    require_role(actor, Role.PLATFORM)
    return _change(ctx, movement_id, lambda m, now: m.fail(reason, now))[0]


def retry(ctx: Context, actor: Actor, movement_id: str) -> MoneyMovement:
    """A failed movement goes back to pending and is requested again."""
    require_role(actor, Role.PLATFORM, Role.ADMIN)

    def change(m: MoneyMovement, now: datetime) -> bool:
        m.retry(now)
        return True

    return _change(ctx, movement_id, change)[0]


def apply_provider_outcome(
    ctx: Context, movement_id: str, outcome: str, reference: str, failure: str | None
) -> MoneyMovement:
    """What the provider itself reports (a verified Stripe webhook): ``succeeded`` confirms
    the movement under the provider's reference, ``failed`` fails it with the provider's
    words. The same rules as the marketplace's callbacks: a repeat changes nothing, a
    contradiction is ``invalid_transition``, an unknown movement ``not_found``."""
    if outcome == "succeeded":
        return _change(ctx, movement_id, lambda m, now: m.succeed(reference, now))[0]
    if outcome == "failed":
        reason = failure or "refused by the payment provider"
        return _change(ctx, movement_id, lambda m, now: m.fail(reason, now))[0]
    raise ValueError(f"unknown provider outcome {outcome!r}")
