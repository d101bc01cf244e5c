"""The Stripe gateway against localstripe, a real Stripe-API server the tests start
(conftest.py). Payments are made in it through the SDK, as a marketplace's checkout would."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import pytest
import stripe

from fairdeal.adapters.payments.stripe import METADATA_KEY, StripeGateway, classify
from fairdeal.domain.money import Money
from fairdeal.services.payments import PaymentProviderError, PaymentRequest

from .conftest import API_KEY, LocalStripe, free_port


def movement(
    reference: str, minor: int, *, currency: str = "USD", kind: str = "refund"
) -> PaymentRequest:
    return PaymentRequest(
        movement_id=f"mov_{uuid.uuid4().hex[:12]}",
        kind=kind,
        amount=Money(minor, currency),
        order_id="ord_1",
        dispute_id="dsp_1",
        payment_reference=reference,
        payment_method="card",
        payment_country="US",
    )


@pytest.fixture
def gateway(localstripe: LocalStripe) -> StripeGateway:
    return StripeGateway(localstripe.api_key, localstripe.api_base)


def test_a_refund_is_made_on_the_payment_intent_with_the_movement_in_its_metadata(
    localstripe: LocalStripe, gateway: StripeGateway
) -> None:
    intent = localstripe.paid_intent(5000)
    request = movement(intent.id, 1250)

    record = gateway.submit(request)

    assert record.reference.startswith("re_")
    assert record.movement_id == request.movement_id
    assert record.amount == Money(1250, "USD")
    assert record.status == "succeeded"
    refund = localstripe.client().v1.refunds.retrieve(record.reference)
    assert refund.amount == 1250
    assert refund.metadata[METADATA_KEY] == request.movement_id
    charge = localstripe.client().v1.charges.retrieve(localstripe.charge_of(intent))
    assert charge.amount_refunded == 1250


def test_a_refund_on_a_charge_reference(localstripe: LocalStripe, gateway: StripeGateway) -> None:
    charge_id = localstripe.charge_of(localstripe.paid_intent(3000, "eur"))
    request = movement(charge_id, 3000, currency="EUR")

    record = gateway.submit(request)

    assert record.amount == Money(3000, "EUR")
    assert [r.reference for r in gateway.records(charge_id)] == [record.reference]


def test_find_is_none_before_the_refund(localstripe: LocalStripe, gateway: StripeGateway) -> None:
    request = movement(localstripe.paid_intent(2000).id, 500)

    assert gateway.find(request) is None
    assert gateway.records(request.payment_reference) == []


def test_a_refund_whose_answer_was_lost_is_found_and_never_made_again(
    localstripe: LocalStripe, gateway: StripeGateway
) -> None:
    """The crash: Stripe made the refund, the worker died before recording it. A fresh
    gateway (the restarted worker) finds it by the movement id, and a second submit returns
    it instead of refunding again -- localstripe ignores Idempotency-Key, so only the
    metadata look-up stands between a retry and a second refund."""
    intent = localstripe.paid_intent(4000)
    request = movement(intent.id, 1500)
    gateway.submit(request)  # the answer is lost with the crashed worker

    restarted = StripeGateway(localstripe.api_key, localstripe.api_base)
    found = restarted.find(request)
    again = restarted.submit(request)

    assert found is not None
    assert found.movement_id == request.movement_id
    assert found.amount == Money(1500, "USD")
    assert again == found
    assert len(restarted.records(request.payment_reference)) == 1
    charge = localstripe.client().v1.charges.retrieve(localstripe.charge_of(intent))
    assert charge.amount_refunded == 1500


def test_two_movements_on_one_payment_are_two_refunds(
    localstripe: LocalStripe, gateway: StripeGateway
) -> None:
    intent = localstripe.paid_intent(5000)
    first, second = movement(intent.id, 1000), movement(intent.id, 2500)

    one, two = gateway.submit(first), gateway.submit(second)

    assert one.reference != two.reference
    assert gateway.find(first) == one
    assert gateway.find(second) == two
    records = gateway.records(intent.id)
    assert {(r.movement_id, r.amount.minor) for r in records} == {
        (first.movement_id, 1000),
        (second.movement_id, 2500),
    }


def test_records_include_refunds_made_outside_fairdeal(
    localstripe: LocalStripe, gateway: StripeGateway
) -> None:
    intent = localstripe.paid_intent(5000)
    outside = localstripe.client().v1.refunds.create(
        params={"payment_intent": intent.id, "amount": 700}
    )
    ours = gateway.submit(movement(intent.id, 300))

    records = gateway.records(intent.id)

    assert {(r.reference, r.movement_id, r.amount.minor, r.status) for r in records} == {
        (outside.id, None, 700, "succeeded"),
        (ours.reference, ours.movement_id, 300, "succeeded"),
    }


def test_a_refund_beyond_what_is_left_is_refused_permanently_and_not_made(
    localstripe: LocalStripe, gateway: StripeGateway
) -> None:
    intent = localstripe.paid_intent(3000)
    gateway.submit(movement(intent.id, 2000))

    with pytest.raises(PaymentProviderError) as refused:
        gateway.submit(movement(intent.id, 1500))

    assert refused.value.transient is False
    assert "greater than the unrefunded amount" in str(refused.value)
    assert "(1000)" in str(refused.value)
    assert len(gateway.records(intent.id)) == 1


def test_a_refund_in_another_currency_is_refused(
    localstripe: LocalStripe, gateway: StripeGateway
) -> None:
    intent = localstripe.paid_intent(3000, "usd")

    with pytest.raises(PaymentProviderError) as refused:
        gateway.submit(movement(intent.id, 100, currency="EUR"))

    assert refused.value.transient is False
    assert "is in USD, the refund in EUR" in str(refused.value)
    assert gateway.records(intent.id) == []


def test_stripe_refusing_a_refund_is_permanent_with_stripes_words(
    localstripe: LocalStripe, gateway: StripeGateway
) -> None:
    """A payment whose charge was declined cannot be refunded: the server's own refusal."""
    client = localstripe.client()
    intent = client.v1.payment_intents.create(
        params={"amount": 3000, "currency": "usd", "payment_method": "pm_card_chargeCustomerFail"}
    )
    with pytest.raises(stripe.CardError):
        client.v1.payment_intents.confirm(intent.id)
    declined = client.v1.payment_intents.retrieve(intent.id)
    assert declined.status == "requires_payment_method"

    with pytest.raises(PaymentProviderError) as refused:
        gateway.submit(movement(declined.id, 1000))

    assert refused.value.transient is False
    assert str(refused.value) == "stripe: Cannot refund a failed payment."


def test_an_unknown_payment_is_refused_permanently(gateway: StripeGateway) -> None:
    with pytest.raises(PaymentProviderError) as refused:
        gateway.submit(movement("pi_doesnotexist", 1000))

    assert refused.value.transient is False
    assert "Not Found" in str(refused.value)  # localstripe's words (Stripe: "No such ...")


def test_a_payout_is_not_stripes_in_this_mode(
    localstripe: LocalStripe, gateway: StripeGateway
) -> None:
    intent = localstripe.paid_intent(3000)

    for call in (gateway.submit, gateway.find):
        with pytest.raises(PaymentProviderError) as refused:
            call(movement(intent.id, 1000, kind="payout"))
        assert refused.value.transient is False
        assert "marketplace callback" in str(refused.value)
    assert gateway.records(intent.id) == []


def test_a_reference_that_is_not_stripes_is_refused(gateway: StripeGateway) -> None:
    with pytest.raises(PaymentProviderError) as refused:
        gateway.submit(movement("txn_elsewhere_1", 1000))

    assert refused.value.transient is False
    assert "neither a PaymentIntent" in str(refused.value)


def test_a_server_that_is_down_is_a_transient_error() -> None:
    down = StripeGateway(API_KEY, f"http://127.0.0.1:{free_port()}")
    request = movement("pi_whatever", 1000)

    for call in (down.submit, down.find):
        with pytest.raises(PaymentProviderError) as failed:
            call(request)
        assert failed.value.transient is True
    with pytest.raises(PaymentProviderError) as failed:
        down.records("pi_whatever")
    assert failed.value.transient is True


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers: Stripe timing out."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_a_timeout_is_a_transient_error(silent_server: str) -> None:
    slow = StripeGateway(API_KEY, silent_server, timeout_seconds=0.3)

    with pytest.raises(PaymentProviderError) as failed:
        slow.find(movement("pi_whatever", 1000))

    assert failed.value.transient is True


def test_a_wrong_api_key_is_permanent(localstripe: LocalStripe) -> None:
    wrong = StripeGateway("not_a_key", localstripe.api_base)

    with pytest.raises(PaymentProviderError) as refused:
        wrong.records("pi_whatever")

    assert refused.value.transient is False
    assert "Unauthorized" in str(refused.value)


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (stripe.APIError("Stripe is down", http_status=500), True),
        (stripe.APIError("Bad gateway", http_status=502), True),
        (stripe.RateLimitError("Too many requests", http_status=429), True),
        (stripe.APIConnectionError("Connection reset"), True),
        (stripe.IdempotencyError("A request with this key is in flight", http_status=409), True),
        (stripe.IdempotencyError("Keys for idempotent requests ...", http_status=400), False),
        (
            stripe.InvalidRequestError(
                "Charge ch_1 has already been refunded.", None, http_status=400
            ),
            False,
        ),
        (
            stripe.CardError("Your card was declined.", None, "card_declined", http_status=402),
            False,
        ),
        (stripe.AuthenticationError("Invalid API Key provided", http_status=401), False),
    ],
)
def test_stripe_errors_as_the_ports_errors(error: stripe.StripeError, transient: bool) -> None:
    """The SDK's own exceptions (the ones its requestor raises for each status): Stripe's 5xx
    and 429 cannot be provoked in localstripe, so the mapping is checked on them directly."""
    mapped = classify(error)

    assert mapped.transient is transient
    assert str(mapped) == f"stripe: {error.user_message}"
