"""The sandbox payment provider: moves no real money, and says so (every movement it carries
is ``simulated``). It keeps its records in its own table, written in its own transactions as a
real provider's would be, and confirms on the sandbox clock: a refund at its ``expected_by``
(the promise the buyer was given), a payout at once.

A payment reference containing ``decline`` is refused (permanently), so the demo and tests
can show a failed refund. ``latency`` holds the answer back after the record is written: the
window in which a killed worker has been accepted by the provider but recorded nothing."""

from __future__ import annotations

import time
import uuid
from datetime import datetime

from sqlalchemy import Engine, insert, select

from fairdeal.adapters.db import tables
from fairdeal.adapters.db.engine import begin
from fairdeal.domain.money import Money
from fairdeal.services.payments import (
    PaymentProviderError,
    PaymentRequest,
    ProviderRecord,
)
from fairdeal.services.ports import Clock


class SandboxGateway:
    name = "sandbox"

    def __init__(self, engine: Engine, clock: Clock, *, latency: float = 0.0) -> None:
        self.engine, self.clock, self.latency = engine, clock, latency

    def find(self, request: PaymentRequest) -> ProviderRecord | None:
        t = tables.sandbox_payments
        found = self._records(t.c.movement_id == request.movement_id)
        return found[0] if found else None

    def submit(self, request: PaymentRequest) -> ProviderRecord:
        if "decline" in request.payment_reference.lower():
            raise PaymentProviderError(
                "the card issuer declined the transfer (sandbox)", transient=False
            )
        now = self.clock.now()
        confirm_at = now
        m = tables.money_movements
        conn = begin(self.engine, write=True)
        try:
            if request.kind == "refund":
                promised = conn.execute(
                    select(m.c.expected_by).where(m.c.id == request.movement_id)
                ).scalar()
                if promised is not None:
                    confirm_at = max(now, promised)
            reference = "sbx_" + uuid.uuid4().hex[:24]
            conn.execute(
                insert(tables.sandbox_payments).values(
                    reference=reference,
                    movement_id=request.movement_id,
                    kind=request.kind,
                    payment_reference=request.payment_reference,
                    currency=request.amount.currency,
                    amount_minor=request.amount.minor,
                    status="pending",
                    created_at=now,
                    confirm_at=confirm_at,
                )
            )
            conn.commit()
        finally:
            conn.close()
        if self.latency > 0:
            time.sleep(self.latency)
        return self._record(reference, request.movement_id, request.amount, confirm_at)

    def records(self, payment_reference: str) -> list[ProviderRecord]:
        return self._records(tables.sandbox_payments.c.payment_reference == payment_reference)

    def _records(self, condition: object) -> list[ProviderRecord]:
        t = tables.sandbox_payments
        conn = begin(self.engine, write=False)
        try:
            rows = conn.execute(
                select(
                    t.c.reference, t.c.movement_id, t.c.currency, t.c.amount_minor, t.c.confirm_at
                )
                .where(condition)  # type: ignore[arg-type]
                .order_by(t.c.created_at, t.c.reference)
            ).all()
        finally:
            conn.close()
        return [
            self._record(reference, movement_id, Money(minor, currency), confirm_at)
            for reference, movement_id, currency, minor, confirm_at in rows
        ]

    def _record(
        self, reference: str, movement_id: str, amount: Money, confirm_at: datetime
    ) -> ProviderRecord:
        done = confirm_at <= self.clock.now()
        return ProviderRecord(
            reference=reference,
            movement_id=movement_id,
            amount=amount,
            status="succeeded" if done else "pending",
        )
