"""The marketplace moves the money: Fairdeal's ``payment.requested`` event (and the signed
webhook the notifications relay sends for it) is the instruction, and the marketplace reports
the provider's answer back with ``POST /payments/{id}/succeeded|failed``. Works with any
provider the marketplace already uses.

Submitting here does nothing outside Fairdeal: the request IS the event, written in the
same transaction that records the movement as submitted, so it is sent exactly once."""

from __future__ import annotations

from fairdeal.services.payments import PaymentRequest, ProviderRecord


class MarketplaceGateway:
    name = "marketplace"

    def find(self, request: PaymentRequest) -> ProviderRecord | None:
        # Nothing leaves Fairdeal before the event is committed: there is nothing to find.
        return None

    def submit(self, request: PaymentRequest) -> ProviderRecord:
        return ProviderRecord(
            reference="", movement_id=request.movement_id, amount=request.amount, status="pending"
        )

    def records(self, payment_reference: str) -> list[ProviderRecord]:
        return []  # the marketplace's provider holds them; Fairdeal cannot read them
