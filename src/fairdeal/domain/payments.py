"""Money movements: one per refund to the buyer and one per payout to the seller, created in
the same transaction as the ledger entry that decides it, and finished only when the payment
provider confirms it (docs/payments.md).

Lifecycle: ``pending -> submitted -> succeeded | failed``. A worker claims a due movement and
records the attempt (``begin_attempt``: a lease) BEFORE it asks the provider; the provider's
answer is recorded afterwards (``accepted``, ``succeed``, ``fail``, ``transient_error``). A
transient error is retried with backoff, up to ``MAX_FAILURES`` in a row, then the movement is
``failed`` until someone retries it. Every refusal is ``InvalidTransition`` with its reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from fairdeal.domain.errors import InvalidTransition, ValidationError
from fairdeal.domain.events import (
    DomainEvent,
    PaymentFailed,
    PaymentRequested,
    PaymentSucceeded,
    PayoutFailed,
)
from fairdeal.domain.money import Money


class MovementKind(StrEnum):
    REFUND = "refund"
    PAYOUT = "payout"


class MovementStatus(StrEnum):
    PENDING = "pending"
    SUBMITTED = "submitted"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


# Transient provider errors in a row before a movement is left failed for a person.
MAX_FAILURES = 5
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)


def backoff(failures: int) -> timedelta:
    """The wait after the n-th transient failure in a row: 30 s, 1 min, 2 min, ... (1 h cap)."""
    return min(BACKOFF_BASE * (1 << min(max(failures - 1, 0), 16)), BACKOFF_CAP)


@dataclass
class MoneyMovement:
    id: str
    order_id: str
    dispute_id: str | None
    kind: MovementKind
    amount: Money
    status: MovementStatus
    provider: str  # sandbox | marketplace | stripe
    # The order's payment, as the provider needs it (copied when the movement is decided).
    payment_reference: str
    payment_method: str
    payment_country: str
    created_at: datetime
    updated_at: datetime
    provider_reference: str | None = None
    attempts: int = 0  # submissions recorded (a poll of an accepted one is not one)
    failures: int = 0  # transient failures in a row, for the backoff
    last_error: str | None = None
    completed_at: datetime | None = None
    # A refund's promise to the buyer (the dispute's refund.expected_by); None for payouts.
    expected_by: datetime | None = None
    # When Fairdeal recorded that the provider holds the movement (payment.requested sent).
    requested_at: datetime | None = None
    # When the worker next has something to do: submit (pending) or poll (submitted).
    next_attempt_at: datetime | None = None
    # A worker's lease: while it runs the movement is someone's; past it, a dead worker's.
    # Measured in real time, not on the sandbox clock (``Clock.real_now``): a lease is a
    # promise between processes, and a clock advance of 30 days must not end one that a
    # live worker still holds while it asks the provider (two submissions, two refunds).
    claimed_until: datetime | None = None
    version: int = 0
    pending_events: list[DomainEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def decide(
        cls,
        *,
        movement_id: str,
        order_id: str,
        dispute_id: str | None,
        kind: MovementKind,
        amount: Money,
        provider: str,
        payment_reference: str,
        payment_method: str,
        payment_country: str,
        now: datetime,
        expected_by: datetime | None = None,
    ) -> MoneyMovement:
        if amount.minor <= 0:
            raise ValidationError("a money movement must move more than zero")
        return cls(
            id=movement_id,
            order_id=order_id,
            dispute_id=dispute_id,
            kind=kind,
            amount=amount,
            status=MovementStatus.PENDING,
            provider=provider,
            payment_reference=payment_reference,
            payment_method=payment_method,
            payment_country=payment_country,
            created_at=now,
            updated_at=now,
            expected_by=expected_by,
            next_attempt_at=now,
        )

    # --- facts ------------------------------------------------------------------------------

    @property
    def simulated(self) -> bool:
        """The sandbox provider moves no real money."""
        return self.provider == "sandbox"

    @property
    def finished(self) -> bool:
        return self.status in (MovementStatus.SUCCEEDED, MovementStatus.FAILED)

    @property
    def due_at(self) -> datetime | None:
        """When a worker should next take this movement (indexed as a column): its lease's
        end in real time while claimed, else its next attempt on the clock."""
        if self.finished:
            return None
        if self.claimed_until is not None:
            return self.claimed_until
        return self.next_attempt_at

    def is_due(self, now: datetime, real_now: datetime) -> bool:
        """Due at ``now`` on the clock, with a lease judged at ``real_now``."""
        if self.finished:
            return False
        if self.claimed_until is not None:
            return self.claimed_until <= real_now
        return self.next_attempt_at is not None and self.next_attempt_at <= now

    def overdue(self, now: datetime) -> bool:
        """A refund not confirmed by the moment promised to the buyer."""
        return (
            self.kind is MovementKind.REFUND
            and self.status is not MovementStatus.SUCCEEDED
            and self.expected_by is not None
            and now > self.expected_by
        )

    @property
    def in_flight(self) -> bool:
        """Submitted without the provider's answer recorded: the provider may or may not hold
        it, so the next attempt must look it up before submitting again."""
        return self.status is MovementStatus.SUBMITTED and self.requested_at is None

    # --- the worker's steps -----------------------------------------------------------------

    def begin_attempt(
        self, now: datetime, lease: timedelta, *, real_now: datetime | None = None
    ) -> bool:
        """Record that a worker takes this movement now, for ``lease`` of real time (from
        ``real_now``, which is ``now`` but on the sandbox clock): BEFORE the provider is
        asked. Answers whether this is a submission (True) or a poll of an accepted one."""
        real_now = now if real_now is None else real_now
        if not self.is_due(now, real_now):
            raise InvalidTransition(f"payment {self.id} is not due ({self.status.value})")
        self.claimed_until = real_now + lease
        self.updated_at = now
        if self.status is MovementStatus.SUBMITTED and self.requested_at is not None:
            return False
        self.status = MovementStatus.SUBMITTED
        self.attempts += 1
        self.next_attempt_at = None
        return True

    def accepted(self, reference: str, now: datetime, poll_at: datetime | None) -> bool:
        """The provider holds the movement, not yet done (``reference`` empty when it gives
        none yet, as the marketplace). Answers whether this is news: the first time."""
        if reference:
            self._check_reference(reference)
        if self.status is not MovementStatus.SUBMITTED:
            raise InvalidTransition(
                f"payment {self.id} is {self.status.value}; only a submitted one is accepted"
            )
        news = self.requested_at is None
        self.requested_at = self.requested_at or now
        self.provider_reference = reference or self.provider_reference
        self.claimed_until = None
        self.next_attempt_at = poll_at
        self.failures = 0
        self.updated_at = now
        return news

    def requested(self, now: datetime, payment: dict[str, Any]) -> None:
        """Tell the world (and, in marketplace mode, the marketplace) to move the money."""
        self._emit(PaymentRequested(now, self.as_data(), payment))

    def succeed(self, reference: str, now: datetime) -> bool:
        """The provider confirmed. Answers False when it was already confirmed with this same
        reference (nothing changes); another reference, or a failed movement, is refused."""
        if self.status is MovementStatus.SUCCEEDED:
            if reference == self.provider_reference:
                return False
            raise InvalidTransition(
                f"payment {self.id} was confirmed with reference {self.provider_reference!r}"
            )
        if self.status is MovementStatus.FAILED:
            raise InvalidTransition(f"payment {self.id} failed; retry it before confirming it")
        self._check_reference(reference)
        if not reference.strip():
            raise ValidationError("provider_reference is required", field="provider_reference")
        self.status = MovementStatus.SUCCEEDED
        self.provider_reference = reference
        self.completed_at = now
        self.updated_at = now
        self.claimed_until = self.next_attempt_at = None
        self.last_error = None
        self._emit(PaymentSucceeded(now, self.as_data()))
        return True

    def fail(self, reason: str, now: datetime) -> bool:
        """The provider refused for good (or the marketplace says so). Answers False when the
        movement had failed already (nothing changes); a succeeded one is refused."""
        if self.status is MovementStatus.SUCCEEDED:
            raise InvalidTransition(f"payment {self.id} succeeded; it cannot fail now")
        if self.status is MovementStatus.FAILED:
            return False
        reason = reason.strip()[:1000] or "the payment provider refused the payment"
        self.status = MovementStatus.FAILED
        self.last_error = reason
        self.updated_at = now
        self.claimed_until = self.next_attempt_at = None
        self._emit(PaymentFailed(now, self.as_data(), reason))
        if self.kind is MovementKind.PAYOUT:
            self._emit(PayoutFailed(now, self.amount, reason))
        return True

    def transient_error(self, message: str, now: datetime) -> None:
        """The provider could not answer (timeout, 5xx): try again later, or give up after
        ``MAX_FAILURES`` in a row."""
        if self.status is not MovementStatus.SUBMITTED:
            raise InvalidTransition(f"payment {self.id} is {self.status.value}")
        self.failures += 1
        if self.failures >= MAX_FAILURES:
            self.fail(message, now)
            return
        self.last_error = message[:1000]
        self.claimed_until = None
        self.updated_at = now
        if self.requested_at is None:
            self.status = MovementStatus.PENDING
        self.next_attempt_at = now + backoff(self.failures)

    def retry(self, now: datetime) -> None:
        """A person sends a failed movement again."""
        if self.status is not MovementStatus.FAILED:
            raise InvalidTransition(
                f"payment {self.id} is {self.status.value}; only a failed payment is retried"
            )
        self.status = MovementStatus.PENDING
        self.failures = 0
        self.provider_reference = None
        self.requested_at = None
        self.next_attempt_at = now
        self.claimed_until = None
        self.updated_at = now

    # --- internals --------------------------------------------------------------------------

    def _check_reference(self, reference: str) -> None:
        if self.provider_reference is not None and reference != self.provider_reference:
            raise InvalidTransition(
                f"payment {self.id} is held by the provider as {self.provider_reference!r},"
                f" not {reference!r}"
            )

    def _emit(self, event: Any) -> None:
        from dataclasses import replace

        self.pending_events.append(
            replace(event, payment_id=self.id, order_id=self.order_id, dispute_id=self.dispute_id)
        )

    def as_data(self) -> dict[str, Any]:
        """The movement as the API and events show it."""

        def ts(moment: datetime | None) -> str | None:
            return None if moment is None else moment.isoformat()

        return {
            "id": self.id,
            "order_id": self.order_id,
            "dispute_id": self.dispute_id,
            "kind": self.kind.value,
            "amount": self.amount.as_json(),
            "status": self.status.value,
            "provider": self.provider,
            "provider_reference": self.provider_reference,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "created_at": ts(self.created_at),
            "updated_at": ts(self.updated_at),
            "completed_at": ts(self.completed_at),
            "expected_by": ts(self.expected_by),
            "simulated": self.simulated,
        }
