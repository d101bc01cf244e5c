"""Exactly once under crashes (docs/payments.md): real worker processes carrying refunds and
payouts through the sandbox payment provider -- whose records live in the database, written
in its own transactions, and may hold duplicates (no unique key) -- are killed with SIGKILL
at random points of submitting, many times over, and restarted. In the end every movement
has exactly one provider record, of its own amount, and succeeded once; the ledger moved each
amount once. The kills that landed after the provider recorded a movement and before
Fairdeal did are counted: those are the ones a look-up before resubmission must catch."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from builders import T0
from fairdeal.adapters.db import tables
from fairdeal.bootstrap import App
from fairdeal.domain.money import Money
from fairdeal.domain.payments import MovementStatus
from integration.support import World, event_rows
from integration.test_worker import PATIENCE, worker_env

pytestmark = pytest.mark.slow

ORDERS = 20  # two movements each: a refund and a payout
KILLS = 12
LEASE_SECONDS = 1.0


def seed_movements(world: World) -> dict[str, int]:
    """ORDERS orders each settled by a dispute: a refund and a payout of varying amounts."""
    amounts: dict[str, int] = {}
    orders = [world.order(prices=(f"{30 + i}.00", "10.00")) for i in range(ORDERS)]
    with world.ctx.uow() as uow:
        for i, created in enumerate(orders):
            order = uow.orders.get(created.id)
            assert order is not None
            order.settle_dispute(
                dispute_id=f"dsp_kill_{i:04d}",
                amount_paid=order.total,
                refund=Money(100 * (i + 1) + i, order.currency),
                now=T0,
                refund_expected_by=T0,  # the sandbox confirms at once
            )
            for movement in order.pending_movements:
                amounts[movement.id] = movement.amount.minor
        uow.commit()
    assert len(amounts) == 2 * ORDERS
    return amounts


def provider_records(app: App) -> list[tuple[str, int]]:
    t = tables.sandbox_payments
    with app.engine.connect() as conn:
        return [(m, a) for m, a in conn.execute(select(t.c.movement_id, t.c.amount_minor))]


def statuses(app: App) -> dict[str, tuple[str, bool]]:
    """Each movement's status, and whether the provider's answer was recorded."""
    t = tables.money_movements
    with app.engine.connect() as conn:
        rows = conn.execute(select(t.c.id, t.c.status, t.c.doc)).all()
    return {i: (s, doc.get("requested_at") is not None) for i, s, doc in rows}


def in_the_window(app: App) -> int:
    """Movements the provider holds that Fairdeal has not recorded as accepted: a kill now
    leaves exactly the state a blind resubmission would double."""
    held = {m for m, _ in provider_records(app)}
    return sum(
        1
        for movement_id, (status, recorded) in statuses(app).items()
        if movement_id in held and status == MovementStatus.SUBMITTED.value and not recorded
    )


def test_workers_killed_mid_submission_never_pay_twice(world: World, db_url: str) -> None:
    app = world.app
    amounts = seed_movements(world)
    env = worker_env(
        db_url,
        FAIRDEAL_PAYMENT_LEASE_SECONDS=str(LEASE_SECONDS),
        # The provider answers a little after it recorded: the window a kill aims at.
        FAIRDEAL_SANDBOX_PAYMENT_LATENCY_SECONDS="0.2",
    )
    rng = random.Random(20261203)
    kills = window_kills = 0
    deadline = time.monotonic() + PATIENCE * 3
    while kills < KILLS:
        seen = (len(provider_records(app)), statuses(app))
        if all(s == "succeeded" for s, _ in seen[1].values()):
            break
        worker = subprocess.Popen(
            [sys.executable, "-m", "fairdeal.cli", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            # Wait until this worker has got the provider to record something, then kill it
            # at a random point shortly after: during the provider's answer, while Fairdeal
            # records it, or in the next submission.
            while (len(provider_records(app)), statuses(app)) == seen:
                assert time.monotonic() < deadline, "the workers submitted nothing"
                if worker.poll() is not None:
                    assert worker.stderr is not None
                    raise AssertionError(f"the worker exited: {worker.stderr.read()[-3000:]}")
                time.sleep(0.002)
            time.sleep(rng.uniform(0.0, 0.3))
        finally:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
            assert worker.stderr is not None
            worker.stderr.close()
        assert worker.returncode == -signal.SIGKILL
        kills += 1
        window_kills += in_the_window(app) > 0
        time.sleep(rng.uniform(0.0, LEASE_SECONDS))  # sometimes the lease has run out

    # A live worker finishes the rest: a dead worker's movements are taken over when their
    # lease runs out.
    for _ in range(20):
        time.sleep(LEASE_SECONDS + 0.1)
        finished = subprocess.run(
            [sys.executable, "-m", "fairdeal.cli", "worker", "--once"],
            env=env,
            capture_output=True,
            text=True,
            timeout=PATIENCE,
        )
        assert finished.returncode == 0, finished.stderr[-3000:]
        if all(s == "succeeded" for s, _ in statuses(app).values()):
            break

    records = provider_records(app)
    per_movement = Counter(m for m, _ in records)
    duplicates = sum(n - 1 for n in per_movement.values() if n > 1)
    print(
        f"\npayments kill test: kills={kills} in_window={window_kills} "
        f"movements={len(amounts)} provider_records={len(records)} duplicates={duplicates}"
    )
    assert kills >= KILLS, "the workers finished before they could be killed often enough"
    assert window_kills >= 1, "no kill landed between the provider's record and Fairdeal's"
    assert duplicates == 0, per_movement.most_common(5)
    assert set(per_movement) == set(amounts)
    for movement_id, minor in records:
        assert amounts[movement_id] == minor, movement_id
    assert {s for s, _ in statuses(app).values()} == {"succeeded"}
    # Each confirmed once: one payment.succeeded each, and the ledger moved each amount once.
    succeeded = Counter(
        str(e["aggregate_id"]) for e in event_rows(app.engine, type="payment.succeeded")
    )
    assert succeeded == Counter(dict.fromkeys(amounts, 1))
    t = tables.ledger_entries
    with app.engine.connect() as conn:
        confirmed = conn.execute(
            select(func.sum(t.c.amount_minor)).where(
                t.c.movement.in_(["refunded", "paid_out"]), t.c.amount_minor > 0
            )
        ).scalar()
    assert confirmed == sum(amounts.values())
