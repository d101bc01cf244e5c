"""Money movements in the domain: created with the ledger entry that decides them, the
lifecycle pending -> submitted -> succeeded | failed, its refusals, retry with backoff."""

from __future__ import annotations

from datetime import timedelta

import pytest

from builders import T0, at, money, refuses, shipped_order
from fairdeal.domain.errors import InvalidTransition
from fairdeal.domain.ledger import Movement
from fairdeal.domain.payments import (
    MAX_FAILURES,
    MoneyMovement,
    MovementKind,
    MovementStatus,
    backoff,
)

LEASE = timedelta(seconds=30)


def movement(kind: MovementKind = MovementKind.REFUND) -> MoneyMovement:
    return MoneyMovement.decide(
        movement_id="pay_1",
        order_id="ord_1",
        dispute_id="dsp_1",
        kind=kind,
        amount=money("20.00"),
        provider="sandbox",
        payment_reference="pi_1",
        payment_method="card",
        payment_country="DE",
        now=T0,
        expected_by=at(14),
    )


def submitted() -> MoneyMovement:
    m = movement()
    assert m.begin_attempt(T0, LEASE)
    return m


def test_settling_a_dispute_decides_one_movement_per_refund_and_payout_with_its_ledger_entry() -> (
    None
):
    order = shipped_order()
    order.pending_ledger.clear()
    order.settle_dispute(
        dispute_id="dsp_1",
        amount_paid=order.total,
        refund=money("12.00"),
        now=at(1),
        provider="stripe",
        payout_provider="marketplace",
        refund_expected_by=at(14),
    )
    assert [t.movement for t in order.pending_ledger] == [Movement.REFUND, Movement.RELEASE]
    refund, payout = order.pending_movements
    assert (refund.kind, refund.amount, refund.provider, refund.expected_by) == (
        MovementKind.REFUND,
        money("12.00"),
        "stripe",
        at(14),
    )
    assert (payout.kind, payout.amount, payout.provider, payout.expected_by) == (
        MovementKind.PAYOUT,
        order.total - money("12.00"),
        "marketplace",
        None,
    )
    assert refund.status is payout.status is MovementStatus.PENDING
    assert refund.payment_reference == order.payment.reference
    assert refund.id != payout.id and refund.id.startswith("pay_")
    assert order.escrow.pending_refund == money("12.00")
    assert order.escrow.refunded.is_zero


def test_confirming_a_movement_moves_its_money_from_pending() -> None:
    order = shipped_order()
    order.settle_dispute(dispute_id="dsp_1", amount_paid=order.total, refund=order.total, now=at(1))
    (refund,) = order.pending_movements
    order.confirm_movement(refund, at(2))
    assert order.pending_ledger[-1].movement is Movement.REFUNDED
    assert order.escrow.refunded == order.total
    assert order.escrow.pending_refund.is_zero


def test_the_attempt_is_recorded_before_the_provider_is_asked() -> None:
    m = movement()
    assert m.due_at == T0
    assert m.begin_attempt(T0, LEASE) is True
    assert (m.status, m.attempts, m.claimed_until) == (MovementStatus.SUBMITTED, 1, T0 + LEASE)
    assert m.in_flight
    # Held while the lease runs; a dead worker's is due again when it ends.
    assert m.due_at == T0 + LEASE
    refuses(InvalidTransition, lambda: m.begin_attempt(T0 + LEASE / 2, LEASE), m)
    assert m.begin_attempt(T0 + LEASE, LEASE) is True
    assert m.attempts == 2


def test_a_lease_runs_in_real_time_while_the_next_attempt_runs_on_the_clock() -> None:
    """The sandbox clock jumps (30 days ahead of real time here): a lease taken in real time
    is still held at the jumped clock's moment, and ends when real time passes it."""
    m = movement()
    jumped = T0 + timedelta(days=30)
    assert m.is_due(jumped, real_now=T0)  # the next attempt: on the clock
    assert m.begin_attempt(jumped, LEASE, real_now=T0) is True
    assert (m.claimed_until, m.updated_at) == (T0 + LEASE, jumped)
    assert not m.is_due(jumped + timedelta(days=30), real_now=T0 + LEASE / 2)
    refuses(
        InvalidTransition,
        lambda: m.begin_attempt(jumped + timedelta(days=30), LEASE, real_now=T0 + LEASE / 2),
        m,
    )
    assert m.begin_attempt(jumped, LEASE, real_now=T0 + LEASE) is True
    assert m.attempts == 2


def test_an_accepted_movement_is_polled_not_resubmitted() -> None:
    m = submitted()
    assert m.accepted("re_1", at(0, 1), at(14)) is True
    assert m.accepted("re_1", at(0, 2), at(14)) is False  # already known: no second request
    assert (m.status, m.claimed_until, m.due_at) == (MovementStatus.SUBMITTED, None, at(14))
    assert m.begin_attempt(at(14), LEASE) is False  # a poll
    assert m.attempts == 1


def test_confirmation_succeeds_once_and_a_repeat_with_the_same_reference_changes_nothing() -> None:
    m = submitted()
    assert m.succeed("re_1", at(2)) is True
    assert (m.status, m.completed_at, m.due_at) == (MovementStatus.SUCCEEDED, at(2), None)
    assert [e.type for e in m.pending_events] == ["payment.succeeded"]
    assert m.succeed("re_1", at(3)) is False
    assert m.completed_at == at(2)
    assert len(m.pending_events) == 1


def test_a_second_confirmation_with_another_reference_is_refused() -> None:
    m = submitted()
    m.succeed("re_1", at(2))
    error = refuses(InvalidTransition, lambda: m.succeed("re_2", at(3)), m)
    assert error.code == "invalid_transition"


def test_a_reference_other_than_the_one_the_provider_gave_is_refused() -> None:
    m = submitted()
    m.accepted("re_1", at(1), None)
    refuses(InvalidTransition, lambda: m.succeed("re_other", at(2)), m)


def test_confirming_a_failed_movement_is_refused() -> None:
    m = submitted()
    assert m.fail("card closed", at(1)) is True
    assert m.last_error == "card closed"
    refuses(InvalidTransition, lambda: m.succeed("re_1", at(2)), m)


def test_a_succeeded_movement_cannot_fail_and_a_failed_one_fails_once() -> None:
    m = submitted()
    m.succeed("re_1", at(1))
    refuses(InvalidTransition, lambda: m.fail("late", at(2)), m)
    other = submitted()
    other.fail("closed", at(1))
    assert other.fail("again", at(2)) is False
    assert other.last_error == "closed"


def test_a_failed_payout_also_says_payout_failed() -> None:
    m = movement(MovementKind.PAYOUT)
    m.begin_attempt(T0, LEASE)
    m.fail("account closed", at(1))
    assert [e.type for e in m.pending_events] == ["payment.failed", "payout.failed"]
    assert m.pending_events[-1].data["reason"] == "account closed"


def test_transient_errors_back_off_then_leave_the_movement_failed() -> None:
    m = movement()
    now = T0
    for failure in range(1, MAX_FAILURES):
        assert m.begin_attempt(now, LEASE)
        m.transient_error("timeout", now)
        assert (m.status, m.failures, m.next_attempt_at) == (
            MovementStatus.PENDING,
            failure,
            now + backoff(failure),
        )
        now = now + backoff(failure)
    m.begin_attempt(now, LEASE)
    m.transient_error("timeout", now)
    assert (m.status, m.last_error, m.due_at) == (MovementStatus.FAILED, "timeout", None)
    assert backoff(1) < backoff(2) < backoff(3)
    assert backoff(100) == timedelta(hours=1)


def test_only_a_failed_movement_is_retried() -> None:
    m = submitted()
    refuses(InvalidTransition, lambda: m.retry(at(1)), m)
    m.fail("declined", at(1))
    m.retry(at(2))
    assert (m.status, m.failures, m.due_at, m.provider_reference) == (
        MovementStatus.PENDING,
        0,
        at(2),
        None,
    )


def test_a_refund_not_confirmed_by_its_promise_is_overdue() -> None:
    m = submitted()
    assert not m.overdue(at(14))
    assert m.overdue(at(14, 1))
    m.succeed("re_1", at(15))
    assert not m.overdue(at(16))


@pytest.mark.parametrize("provider", ["sandbox", "marketplace"])
def test_sandbox_movements_say_the_money_is_simulated(provider: str) -> None:
    m = movement()
    m.provider = provider
    assert m.as_data()["simulated"] is (provider == "sandbox")
