"""A worker's lease on a money movement is measured in real time, not on the sandbox clock
(docs/payments.md, "Leases run in real time"). A sandbox clock advance of 30 days, made while
a worker holds a movement and is about to submit it, used to judge that lease on the advanced
clock: the advance took the movement over, found nothing at the provider yet, and submitted it
too -- two provider records for one refund (seen by the chaos test as a 409 on the advance,
when the worker's record came first). Here the worker is held just before it asks the
provider, the clock advances, and then the worker goes on: one record, one refund."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from builders import T0
from databases import BACKENDS, engine_at_revision, upgrade_to
from fairdeal.adapters.clock import SandboxClock
from fairdeal.adapters.db import tables
from fairdeal.adapters.payments.sandbox import SandboxGateway
from fairdeal.domain.money import Money
from fairdeal.domain.payments import MovementStatus
from fairdeal.services import deadlines, payments
from fairdeal.services.payments import PaymentRequest, ProviderRecord
from integration.support import World

PATIENCE = 60  # seconds; the steps take milliseconds


class HeldBeforeSubmitting:
    """The sandbox provider, with the first submission held at the door until ``go``: the
    moment a worker has recorded its attempt and not yet reached the provider."""

    name = "sandbox"

    def __init__(self, inner: SandboxGateway) -> None:
        self.inner = inner
        self.arrived, self.go = threading.Event(), threading.Event()
        self.held_once = False

    def find(self, request: PaymentRequest) -> ProviderRecord | None:
        return self.inner.find(request)

    def submit(self, request: PaymentRequest) -> ProviderRecord:
        if not self.held_once:
            self.held_once = True
            self.arrived.set()
            assert self.go.wait(PATIENCE)
        return self.inner.submit(request)

    def records(self, payment_reference: str) -> list[ProviderRecord]:
        return self.inner.records(payment_reference)


def refund_due_now(world: World) -> str:
    """One order settled by a dispute with a refund whose promise has passed: due at once."""
    created = world.order(prices=("30.00",))
    with world.ctx.uow() as uow:
        order = uow.orders.get(created.id)
        assert order is not None
        order.settle_dispute(
            dispute_id="dsp_lease_0001",
            amount_paid=order.total,
            refund=Money(1500, order.currency),
            now=T0,
            refund_expected_by=T0,
        )
        (refund,) = [m for m in order.pending_movements if m.kind.value == "refund"]
        uow.commit()
    return refund.id


def provider_records(world: World) -> Counter[str]:
    t = tables.sandbox_payments
    with world.app.engine.connect() as conn:
        return Counter(m for (m,) in conn.execute(select(t.c.movement_id)))


def test_a_clock_advance_leaves_a_live_workers_lease_alone(world: World) -> None:
    movement_id = refund_due_now(world)
    clock = SandboxClock(world.app.engine)
    assert world.ctx.payments is not None
    held = HeldBeforeSubmitting(SandboxGateway(world.app.engine, clock))
    gateways: Any = held
    sandbox = replace(world.ctx, clock=clock)
    sandbox.payments = payments.Payments(refunds=gateways, payouts=gateways)

    worker_outcome: list[Any] = []
    worker = threading.Thread(target=lambda: worker_outcome.append(payments.process_due(sandbox)))
    worker.start()
    try:
        assert held.arrived.wait(PATIENCE), "the worker never reached the provider"
        # The worker holds the refund (its 30 s lease) and is about to submit it: the sandbox
        # clock jumps 30 days, and the advance confirms what its provider holds.
        deadlines.advance_clock(sandbox, to=clock.now() + timedelta(days=30))
        assert provider_records(world)[movement_id] == 0  # the advance submitted nothing
    finally:
        held.go.set()
        worker.join(PATIENCE)
    assert not worker.is_alive()
    # The worker's claim (the refund, and the seller's payout of the rest) went through: the
    # sandbox confirms on its clock, now 30 days on.
    outcomes = {o.movement_id: o.status for o in worker_outcome[0]}
    assert outcomes[movement_id] == MovementStatus.SUCCEEDED.value
    payments.run_until_idle(sandbox)
    assert set(provider_records(world).values()) == {1}  # one record per movement
    assert provider_records(world)[movement_id] == 1
    with world.ctx.uow(write=False) as uow:
        movement = uow.payments.get(movement_id)
        assert movement is not None
        assert (movement.status, movement.attempts) == (MovementStatus.SUCCEEDED, 1)


@pytest.fixture(params=BACKENDS)
def engine_at_0012(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with engine_at_revision(request.param, tmp_path, "0012") as engine:
        yield engine


def test_migration_0013_ends_the_leases_taken_on_the_old_terms(engine_at_0012: Engine) -> None:
    """A lease taken before the upgrade was on the sandbox clock (here 30 days ahead of real
    time) by a worker the upgrade stopped: it ends at the upgrade instead of 30 days on."""
    engine = engine_at_0012
    old_lease = datetime.now(UTC) + timedelta(days=30, seconds=30)
    rows = {
        "pay_claimed": {"status": "submitted", "claimed_until": old_lease.isoformat()},
        "pay_waiting": {"status": "pending", "claimed_until": None},
    }
    doc_sql = "CAST(:doc AS jsonb)" if engine.dialect.name == "postgresql" else ":doc"
    with engine.begin() as conn:
        for movement_id, doc in rows.items():
            conn.execute(
                text(
                    "INSERT INTO money_movements (id, order_id, kind, status, provider, due_at,"
                    f" version, doc, created_at, updated_at) VALUES (:id, 'ord_a', 'refund',"
                    f" :status, 'sandbox', :due_at, 2, {doc_sql}, :at, :at)"
                ),
                {
                    "id": movement_id,
                    "status": doc["status"],
                    "due_at": old_lease if doc["claimed_until"] else T0,
                    "doc": json.dumps({"id": movement_id, **doc}),
                    "at": T0,
                },
            )
    before = datetime.now(UTC)
    upgrade_to(engine)
    m = tables.money_movements
    with engine.connect() as conn:
        found = {
            r.id: r for r in conn.execute(select(m.c.id, m.c.due_at, m.c.claimed_until, m.c.doc))
        }
    claimed, waiting = found["pay_claimed"], found["pay_waiting"]
    assert claimed.claimed_until is not None and before <= claimed.claimed_until <= datetime.now(
        UTC
    )
    assert claimed.due_at == claimed.claimed_until
    assert datetime.fromisoformat(claimed.doc["claimed_until"]) == claimed.claimed_until
    assert (waiting.claimed_until, waiting.due_at, waiting.doc) == (
        None,
        T0,
        {"id": "pay_waiting", **rows["pay_waiting"]},
    )
