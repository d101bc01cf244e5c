"""Stripe's webhooks, verified with Stripe's own check and read as refund outcomes.

``outcomes(payload, signature_header, secret)`` verifies the ``Stripe-Signature`` header with
``stripe.Webhook.construct_event`` (HMAC-SHA256 of ``timestamp.payload`` with the endpoint's
``whsec_…`` secret, and a timestamp no older than five minutes) and turns the event into the
outcomes the payments core applies, one per Fairdeal refund the event is about:
``(movement_id, outcome, provider_reference, failure)``, ``outcome`` "succeeded" or "failed".

- ``refund.created`` / ``refund.updated`` / ``refund.failed`` (and ``charge.refund.updated``,
  the older name of ``refund.updated``): the refund in ``data.object``.
- ``charge.refunded``: every refund listed in the charge's ``refunds`` (Stripe lists them
  only in API versions before 2022-11-15, or when the endpoint expands them; without the list
  the event says nothing about which movement, and the worker's polling of ``submitted``
  movements confirms them instead).

A refund without Fairdeal's metadata (made in the Dashboard, or by the marketplace itself),
one still pending, and any other event type give no outcome: Stripe gets a 2xx and stops
sending it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import stripe

from fairdeal.adapters.payments.stripe import METADATA_KEY, refund_status

REFUND_EVENTS = frozenset(
    {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}
)
CHARGE_EVENTS = frozenset({"charge.refunded"})
# Stripe's own default: a signed event older than this is refused (replays).
TOLERANCE_SECONDS = 300


class StripeWebhookError(Exception):
    """The request is not a genuine Stripe event: refused (400) and nothing changed."""


class ProviderOutcome(NamedTuple):
    movement_id: str
    outcome: str  # "succeeded" | "failed"
    provider_reference: str
    failure: str | None


def verify(
    payload: bytes, signature_header: str | None, secret: str, *, tolerance: int = TOLERANCE_SECONDS
) -> dict[str, Any]:
    """The event, if Stripe signed it with ``secret``; else ``StripeWebhookError``."""
    if not signature_header:
        raise StripeWebhookError("the Stripe-Signature header is missing")
    try:
        event = stripe.Webhook.construct_event(payload, signature_header, secret, tolerance)
    except stripe.SignatureVerificationError as error:
        raise StripeWebhookError(f"the Stripe-Signature does not verify: {error}") from None
    except ValueError as error:  # signed, yet not a JSON event (or not UTF-8)
        raise StripeWebhookError(f"the body is not a Stripe event: {error}") from None
    body: dict[str, Any] = event.to_dict()
    return body


def outcomes(
    payload: bytes, signature_header: str | None, secret: str, *, tolerance: int = TOLERANCE_SECONDS
) -> list[ProviderOutcome]:
    """Verify, then read the event's final refund outcomes (see the module's notes)."""
    return outcomes_of(verify(payload, signature_header, secret, tolerance=tolerance))


def outcomes_of(event: dict[str, Any]) -> list[ProviderOutcome]:
    """The outcomes of a verified event (a plain dict, as Stripe sent it)."""
    kind = event.get("type")
    obj = (event.get("data") or {}).get("object") or {}
    if kind in REFUND_EVENTS:
        refunds: Iterator[dict[str, Any]] = iter([obj])
    elif kind in CHARGE_EVENTS:
        refunds = iter(((obj.get("refunds") or {}).get("data")) or [])
    else:
        return []
    found = []
    for refund in refunds:
        outcome = _outcome(refund)
        if outcome is not None:
            found.append(outcome)
    return found


def _outcome(refund: dict[str, Any]) -> ProviderOutcome | None:
    if refund.get("object") != "refund" or not refund.get("id"):
        return None
    movement_id = (refund.get("metadata") or {}).get(METADATA_KEY)
    if not movement_id:
        return None  # not a Fairdeal refund
    status = refund_status(refund.get("status"))
    if status == "pending":
        return None
    failure = None
    if status == "failed":
        failure = str(refund.get("failure_reason") or refund.get("status") or "failed")
    return ProviderOutcome(str(movement_id), status, str(refund["id"]), failure)
