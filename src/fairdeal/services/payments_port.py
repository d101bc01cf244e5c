"""The payment provider port, as agreed with the payments core (issue 12).

This file carries the exact definitions the core's ``services/payments.py`` (or wherever the
lead folds them) exposes; the Stripe adapter, its webhooks and ``fairdeal payments reconcile``
are written against them. At merge the lead keeps ONE copy and points the imports at it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from fairdeal.domain.money import Money


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """One money movement to carry out: ``kind`` is "refund" or "payout"."""

    movement_id: str
    kind: str
    amount: Money
    order_id: str
    dispute_id: str | None
    payment_reference: str
    payment_method: str
    payment_country: str


@dataclass(frozen=True, slots=True)
class ProviderRecord:
    """What the provider holds for one movement (or for a payment made outside Fairdeal,
    ``movement_id`` None). ``status``: "pending" | "succeeded" | "failed"."""

    reference: str
    movement_id: str | None
    amount: Money
    status: str
    failure: str | None = None


class PaymentProviderError(Exception):
    """The provider refused or could not be reached. The message is the provider's words;
    ``transient`` says whether trying again later may succeed (timeouts, 5xx, rate limits)
    or not (a refusal: charge already refunded, amount too large, card closed)."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient


class PaymentGateway(Protocol):
    name: str

    def find(self, request: PaymentRequest) -> ProviderRecord | None: ...

    def submit(self, request: PaymentRequest) -> ProviderRecord: ...

    def records(self, payment_reference: str) -> list[ProviderRecord]: ...
