"""Stripe events as Stripe sends them: the envelope around a real object (taken from
localstripe or written as Stripe documents it), signed with the SDK's own helper
``stripe.WebhookSignature.generate_signature_header`` -- the one Stripe's docs give for
signing payloads in tests."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import stripe

SECRET = "whsec_fairdeal_test_" + "k" * 24


def event(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": kind,
    }


def signed(
    body: dict[str, Any], *, secret: str = SECRET, at: int | None = None
) -> tuple[bytes, str]:
    """The payload bytes and their Stripe-Signature header."""
    payload = json.dumps(body, indent=2)
    header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=at)
    return payload.encode(), header


def refund(
    refund_id: str,
    movement_id: str | None,
    *,
    amount: int = 1000,
    status: str = "succeeded",
    failure_reason: str | None = None,
) -> dict[str, Any]:
    """A refund object with the fields Stripe's API reference lists."""
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "charge": "ch_test",
        "created": int(time.time()),
        "currency": "usd",
        "failure_reason": failure_reason,
        "metadata": {"fairdeal_movement_id": movement_id} if movement_id else {},
        "payment_intent": "pi_test",
        "status": status,
    }
