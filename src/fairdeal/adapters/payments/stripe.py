"""Refunds through Stripe (``FAIRDEAL_PAYMENTS=stripe``), with the official ``stripe`` SDK.

A refund is made on the order's payment (``payment.reference``: a PaymentIntent ``pi_…`` or a
Charge ``ch_…``) and carries the movement's id in its metadata (``fairdeal_movement_id``).
Exactly once does NOT lean on Stripe's ``Idempotency-Key`` (it is sent, but it expires after
24 hours on Stripe and localstripe ignores it altogether): ``submit`` first looks the movement
up among the payment's refunds (``find``) and only creates a refund when none carries its id.
The SDK's own network retries are off for the same reason: a retry is the core's decision,
made after a ``find``.

Payouts are not Stripe's in this mode (Stripe Connect transfers are later work): they go
through the marketplace callback, and a payout sent here is refused.

Every instance has its own ``StripeClient`` (key, base address, HTTP client): nothing is set on
the ``stripe`` module, so two gateways (two accounts, or a test server) never mix."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import stripe

from fairdeal.domain.money import Money
from fairdeal.services.payments import (
    PaymentProviderError,
    PaymentRequest,
    ProviderRecord,
)

log = logging.getLogger("fairdeal.payments.stripe")

METADATA_KEY = "fairdeal_movement_id"

# Stripe's refund statuses, as the port's three.
_STATUS = {
    "pending": "pending",
    "requires_action": "pending",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "failed",
}


def refund_status(stripe_status: str | None) -> str:
    """The port's status of a Stripe refund status; an unknown one is still pending (Stripe
    has not said it is final)."""
    return _STATUS.get(stripe_status or "", "pending")


def classify(error: stripe.StripeError) -> PaymentProviderError:
    """A Stripe error as the port's error, with Stripe's own words. Transient: the network
    (timeouts, refused connections), rate limits, Stripe's 5xx and a concurrent request on
    the same idempotency key (409). Everything else is a refusal that trying again will not
    change: a card or request error (charge already refunded, amount too large, no such
    payment), and an API key Stripe does not accept (an admin must fix the setting)."""
    message = error.user_message or str(error) or type(error).__name__
    status = error.http_status
    transient = isinstance(error, stripe.APIConnectionError | stripe.RateLimitError) or (
        status is not None and (status >= 500 or status in (409, 429))
    )
    if isinstance(error, stripe.APIError) and status is None:
        transient = True  # an answer Stripe could not even shape as an error: try again
    return PaymentProviderError(f"stripe: {message}", transient=transient)


class StripeGateway:
    """The payment gateway port over Stripe's API (or localstripe's, ``api_base``)."""

    name = "stripe"

    def __init__(
        self, api_key: str, api_base: str | None = None, *, timeout_seconds: float = 20.0
    ) -> None:
        if not api_key:
            raise ValueError("a Stripe API key is required (FAIRDEAL_STRIPE_API_KEY)")
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base.rstrip("/")} if api_base else None,
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=timeout_seconds),
        )

    # -- the port ------------------------------------------------------------------------

    def find(self, request: PaymentRequest) -> ProviderRecord | None:
        """The refund Stripe holds for this movement (by the metadata), or None. When a
        crash doubled it (it must not, but a provider may), the oldest is the movement's and
        the others are left for ``fairdeal payments reconcile`` to report."""
        _require_refund(request)
        matching = [
            refund
            for refund in self._refunds(request.payment_reference)
            if _movement_id(refund) == request.movement_id
        ]
        if not matching:
            return None
        if len(matching) > 1:
            log.error(
                "movement %s has %d refunds at Stripe: %s",
                request.movement_id,
                len(matching),
                ", ".join(str(refund.id) for refund in matching),
            )
        oldest = min(matching, key=lambda refund: (int(refund.created or 0), str(refund.id)))
        return _record(oldest)

    def submit(self, request: PaymentRequest) -> ProviderRecord:
        """Refund the movement's amount on the order's payment, once: a refund already made
        for the movement (a crash between Stripe's answer and Fairdeal's record) is returned
        as it is, never made again."""
        _require_refund(request)
        existing = self.find(request)
        if existing is not None:
            return existing
        self._check_refundable(request)
        params: dict[str, Any] = {
            "amount": request.amount.minor,
            "metadata": _metadata(request),
            _payment_field(request.payment_reference): request.payment_reference,
        }
        try:
            refund = self._client.v1.refunds.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": f"fairdeal-movement-{request.movement_id}"},
            )
        except stripe.StripeError as error:
            raise classify(error) from error
        return _record(refund)

    def records(self, payment_reference: str) -> list[ProviderRecord]:
        """Every refund Stripe holds on the payment, Fairdeal's or not, oldest first."""
        refunds = sorted(
            self._refunds(payment_reference),
            key=lambda refund: (int(refund.created or 0), str(refund.id)),
        )
        return [_record(refund) for refund in refunds]

    # -- Stripe ----------------------------------------------------------------------------

    def _refunds(self, payment_reference: str) -> Iterator[stripe.Refund]:
        params: dict[str, Any] = {
            _payment_field(payment_reference): payment_reference,
            "limit": 100,
        }
        try:
            page = self._client.v1.refunds.list(params=params)  # type: ignore[arg-type]
            # Materialized here so that a network error while paging is classified too.
            return iter(list(page.auto_paging_iter()))
        except stripe.StripeError as error:
            raise classify(error) from error

    def _check_refundable(self, request: PaymentRequest) -> None:
        """Refuse, before asking for a refund, one that Stripe must refuse: another currency
        than the payment's, or more than is left unrefunded on it. Stripe refuses these
        itself ("Refund amount ... is greater than unrefunded amount on charge ..."), but
        not every server that speaks its API does (localstripe over-refunds), and the
        ledger's invariant must not depend on the provider's."""
        try:
            charge = self._charge(request.payment_reference)
        except stripe.StripeError as error:
            raise classify(error) from error
        currency = str(charge.currency).upper()
        if currency != request.amount.currency:
            raise PaymentProviderError(
                f"stripe: charge {charge.id} is in {currency}, the refund in"
                f" {request.amount.currency}",
                transient=False,
            )
        left = int(charge.amount) - int(charge.amount_refunded or 0)
        if request.amount.minor > left:
            raise PaymentProviderError(
                f"stripe: refund amount ({request.amount.minor} {currency} minor units) is"
                f" greater than the unrefunded amount on charge {charge.id} ({left})",
                transient=False,
            )

    def _charge(self, payment_reference: str) -> stripe.Charge:
        if payment_reference.startswith("ch_"):
            return self._client.v1.charges.retrieve(payment_reference)
        intent = self._client.v1.payment_intents.retrieve(payment_reference)
        latest = intent.latest_charge
        if latest is None:
            raise PaymentProviderError(
                f"stripe: payment intent {payment_reference} has no charge to refund",
                transient=False,
            )
        if isinstance(latest, str):
            return self._client.v1.charges.retrieve(latest)
        return latest  # expanded (localstripe always expands it)


def _require_refund(request: PaymentRequest) -> None:
    if request.kind != "refund":
        raise PaymentProviderError(
            f"the stripe gateway makes refunds only; a {request.kind} ({request.movement_id})"
            " goes through the marketplace callback (Stripe Connect transfers are not supported)",
            transient=False,
        )


def _payment_field(payment_reference: str) -> str:
    if payment_reference.startswith("pi_"):
        return "payment_intent"
    if payment_reference.startswith("ch_"):
        return "charge"
    raise PaymentProviderError(
        f"stripe: payment reference {payment_reference!r} is neither a PaymentIntent (pi_…)"
        " nor a Charge (ch_…)",
        transient=False,
    )


def _metadata(request: PaymentRequest) -> dict[str, str]:
    metadata = {METADATA_KEY: request.movement_id, "fairdeal_order_id": request.order_id}
    if request.dispute_id is not None:
        metadata["fairdeal_dispute_id"] = request.dispute_id
    return metadata


def _movement_id(refund: stripe.Refund) -> str | None:
    metadata = refund.to_dict().get("metadata") or {}
    value = metadata.get(METADATA_KEY)
    return str(value) if value else None


def _record(refund: stripe.Refund) -> ProviderRecord:
    fields = refund.to_dict()
    status = refund_status(fields.get("status"))
    failure = None
    if status == "failed":
        failure = str(fields.get("failure_reason") or fields.get("status") or "failed")
    return ProviderRecord(
        reference=str(fields["id"]),
        movement_id=_movement_id(refund),
        amount=Money(int(fields["amount"]), str(fields["currency"]).upper()),
        status=status,
        failure=failure,
    )
