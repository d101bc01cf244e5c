"""A worker's submitting loop, as a process the crash test SIGKILLs at random moments.

``python tests/payments/submitter.py API_BASE API_KEY MOVEMENTS.json``: prints ``ready`` once
imported, then submits every movement in order through the Stripe gateway and prints
``done <movement id> <refund id>`` after each answer. Every run starts from the first
movement again, as a restarted worker would find them all still ``submitted``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from fairdeal.adapters.payments.stripe import StripeGateway
from fairdeal.domain.money import Money
from fairdeal.services.payments import PaymentRequest


def main() -> None:
    api_base, api_key, path = sys.argv[1:4]
    gateway = StripeGateway(api_key, api_base)
    requests = [
        PaymentRequest(
            movement_id=item["id"],
            kind="refund",
            amount=Money(item["minor"], "USD"),
            order_id=item["order_id"],
            dispute_id=None,
            payment_reference=item["reference"],
            payment_method="card",
            payment_country="US",
        )
        for item in json.loads(Path(path).read_text())
    ]
    print("ready", flush=True)
    for request in requests:
        record = gateway.submit(request)
        print(f"done {request.movement_id} {record.reference}", flush=True)


if __name__ == "__main__":
    main()
