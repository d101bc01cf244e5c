"""Stripe's webhooks: Stripe's own signature check, and events read as refund outcomes."""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

from fairdeal.adapters.payments.stripe import StripeGateway
from fairdeal.adapters.payments.stripe_webhooks import (
    ProviderOutcome,
    StripeWebhookError,
    outcomes,
    verify,
)

from .conftest import LocalStripe
from .stripe_events import SECRET, event, refund, signed
from .test_stripe_gateway import movement


def test_a_refund_made_at_localstripe_confirms_its_movement(localstripe: LocalStripe) -> None:
    """The refund object exactly as the server holds it, in a refund.updated event."""
    intent = localstripe.paid_intent(4000)
    request = movement(intent.id, 900)
    record = StripeGateway(localstripe.api_key, localstripe.api_base).submit(request)
    held = localstripe.client().v1.refunds.retrieve(record.reference).to_dict()

    payload, header = signed(event("refund.updated", held))

    assert outcomes(payload, header, SECRET) == [
        ProviderOutcome(request.movement_id, "succeeded", record.reference, None)
    ]


def test_a_failed_refund_carries_stripes_reason() -> None:
    failed = refund("re_1", "mov_1", status="failed", failure_reason="expired_or_canceled_card")

    payload, header = signed(event("refund.failed", failed))

    assert outcomes(payload, header, SECRET) == [
        ProviderOutcome("mov_1", "failed", "re_1", "expired_or_canceled_card")
    ]


def test_a_canceled_refund_is_a_failure() -> None:
    payload, header = signed(event("refund.updated", refund("re_2", "mov_2", status="canceled")))

    assert outcomes(payload, header, SECRET) == [
        ProviderOutcome("mov_2", "failed", "re_2", "canceled")
    ]


def test_charge_refunded_confirms_every_fairdeal_refund_it_lists() -> None:
    charge = {
        "id": "ch_test",
        "object": "charge",
        "amount": 5000,
        "amount_refunded": 3500,
        "refunded": False,
        "refunds": {
            "object": "list",
            "data": [
                refund("re_a", "mov_a", amount=1000),
                refund("re_b", None, amount=500),  # made in the Dashboard: not ours
                refund("re_c", "mov_c", amount=2000),
            ],
            "has_more": False,
        },
    }

    payload, header = signed(event("charge.refunded", charge))

    assert outcomes(payload, header, SECRET) == [
        ProviderOutcome("mov_a", "succeeded", "re_a", None),
        ProviderOutcome("mov_c", "succeeded", "re_c", None),
    ]


def test_charge_refunded_without_its_refunds_says_nothing() -> None:
    """API versions since 2022-11-15 leave ``refunds`` out: polling confirms instead."""
    charge = {"id": "ch_test", "object": "charge", "amount": 5000, "amount_refunded": 5000}

    payload, header = signed(event("charge.refunded", charge))

    assert outcomes(payload, header, SECRET) == []


@pytest.mark.parametrize(
    ("kind", "obj"),
    [
        ("refund.updated", refund("re_3", "mov_3", status="pending")),
        ("refund.updated", refund("re_4", None)),
        ("refund.created", refund("re_5", "mov_5", status="requires_action")),
        ("payment_intent.succeeded", {"id": "pi_1", "object": "payment_intent"}),
        ("refund.updated", {"id": "ch_1", "object": "charge"}),
    ],
)
def test_events_that_confirm_nothing(kind: str, obj: dict[str, object]) -> None:
    payload, header = signed(event(kind, obj))

    assert outcomes(payload, header, SECRET) == []


def test_a_tampered_payload_is_refused() -> None:
    payload, header = signed(event("refund.updated", refund("re_6", "mov_6", amount=100)))
    tampered = payload.replace(b'"amount": 100', b'"amount": 100000')
    assert tampered != payload

    with pytest.raises(StripeWebhookError, match="does not verify"):
        outcomes(tampered, header, SECRET)


def test_another_secret_is_refused() -> None:
    payload, header = signed(event("refund.updated", refund("re_7", "mov_7")), secret="whsec_other")

    with pytest.raises(StripeWebhookError, match="does not verify"):
        outcomes(payload, header, SECRET)


def test_a_replayed_old_event_is_refused() -> None:
    payload, header = signed(
        event("refund.updated", refund("re_8", "mov_8")), at=int(time.time()) - 3600
    )

    with pytest.raises(StripeWebhookError, match="tolerance"):
        outcomes(payload, header, SECRET)


@pytest.mark.parametrize("header", [None, "", "t=1,v1=deadbeef", "garbage"])
def test_a_missing_or_malformed_header_is_refused(header: str | None) -> None:
    payload = json.dumps(event("refund.updated", refund("re_9", "mov_9"))).encode()

    with pytest.raises(StripeWebhookError):
        outcomes(payload, header, SECRET)


def test_a_signed_body_that_is_not_json_is_refused() -> None:
    import stripe

    header = stripe.WebhookSignature.generate_signature_header("not json", SECRET)

    with pytest.raises(StripeWebhookError, match="not a Stripe event"):
        outcomes(b"not json", header, SECRET)


class _Receiver(BaseHTTPRequestHandler):
    received: queue.Queue[tuple[bytes, str | None]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.received.put((body, self.headers.get("Stripe-Signature")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_an_event_localstripe_itself_signed_and_sent_verifies(localstripe: LocalStripe) -> None:
    """Interoperability: localstripe signs its deliveries on its own (t=…,v1=HMAC), and
    Stripe's check accepts them. localstripe sends no refund events, so the event here is
    payment_intent.succeeded: verified, and no outcome."""
    received: queue.Queue[tuple[bytes, str | None]] = queue.Queue()
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hook_id = f"wh_{uuid.uuid4().hex[:10]}"
    try:
        answer = httpx.post(
            f"{localstripe.api_base}/_config/webhooks/{hook_id}",
            json={
                "url": f"http://127.0.0.1:{server.server_port}/hook",
                "secret": SECRET,
                "events": ["payment_intent.succeeded"],
            },
        )
        assert answer.status_code == 200
        intent = localstripe.paid_intent(1234)
        deadline = time.monotonic() + 15
        while True:  # other tests' intents may be delivered too: wait for this one's
            payload, header = received.get(timeout=max(0.1, deadline - time.monotonic()))
            event = verify(payload, header, SECRET)
            if event["data"]["object"]["id"] == intent.id:
                break
        assert event["type"] == "payment_intent.succeeded"
        assert outcomes(payload, header, SECRET) == []
        with pytest.raises(StripeWebhookError):
            verify(payload, header, "whsec_another")
    finally:
        # localstripe has no way to remove a webhook: point it at nothing that answers.
        httpx.post(
            f"{localstripe.api_base}/_config/webhooks/{hook_id}",
            json={"url": "http://127.0.0.1:9/", "secret": SECRET, "events": ["none"]},
        )
        server.shutdown()
        server.server_close()
