"""Exactly once under SIGKILL: a submitting process killed at random moments, restarted each
time on the movements it had not confirmed, never leaves more than one refund per movement at the (local) Stripe, each of the
right amount -- although localstripe ignores Idempotency-Key. The figures are printed
(``pytest -s``) for docs/payments-stripe.md."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from fairdeal.adapters.payments.stripe import StripeGateway

from .conftest import LocalStripe

SUBMITTER = Path(__file__).with_name("submitter.py")
KILLS = 15
MOVEMENTS_PER_PAYMENT = 20
PAYMENTS = 4


def start(
    localstripe: LocalStripe, plan: Path, movements: list[dict[str, object]]
) -> subprocess.Popen[str]:
    """A submitter for the movements not confirmed yet (a restarted worker retakes every
    movement still ``submitted``, including those whose refund a killed one made)."""
    plan.write_text(json.dumps(movements))
    process = subprocess.Popen(
        [sys.executable, str(SUBMITTER), localstripe.api_base, localstripe.api_key, str(plan)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


@pytest.mark.slow
def test_killed_submitters_never_refund_twice(localstripe: LocalStripe, tmp_path: Path) -> None:
    chance = random.Random(os.environ.get("FAIRDEAL_CRASH_SEED", "12"))
    intents = [localstripe.paid_intent(20_000).id for _ in range(PAYMENTS)]
    movements = [
        {
            "id": f"mov_crash_{p}_{m}_{chance.randrange(10**8)}",
            "order_id": f"ord_{p}",
            "reference": intent,
            "minor": chance.randint(100, 900),
        }
        for p, intent in enumerate(intents)
        for m in range(MOVEMENTS_PER_PAYMENT)
    ]
    plan = tmp_path / "movements.json"
    gateway = StripeGateway(localstripe.api_key, localstripe.api_base)

    answered: set[str] = set()  # movements whose answer a submitter printed
    lost: set[str] = set()  # refunds made whose answer died with a killed process
    kills = 0
    while kills < KILLS and len(answered) < len(movements):
        process = start(localstripe, plan, [m for m in movements if m["id"] not in answered])
        try:
            process.wait(timeout=chance.uniform(0.0, 0.3))
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
        assert process.stdout is not None
        with process.stdout:
            output = process.stdout.read()
        printed = {line.split()[1] for line in output.splitlines() if line.startswith("done")}
        held = {r.movement_id for i in intents for r in gateway.records(i)}
        # Made at Stripe, answer lost with the process: the next run must find, not redo.
        lost |= {m for m in held if m is not None} - answered - printed
        answered |= printed
    final = start(localstripe, plan, [m for m in movements if m["id"] not in answered])
    assert final.wait(timeout=120) == 0
    assert final.stdout is not None
    final.stdout.close()

    records = [record for intent in intents for record in gateway.records(intent)]
    per_movement = Counter(record.movement_id for record in records)
    duplicates = sum(count - 1 for count in per_movement.values())
    print(
        f"\nstripe crash test: {kills} kills, {len(movements)} movements,"
        f" {len(records)} refunds at localstripe, {len(lost)} refunds made whose answer died with a killed submitter"
        f", duplicates: {duplicates}"
    )
    assert duplicates == 0
    assert set(per_movement) == {m["id"] for m in movements}
    expected = {m["id"]: m["minor"] for m in movements}
    assert all(record.amount.minor == expected[record.movement_id or ""] for record in records)
