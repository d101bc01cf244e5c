"""``fairdeal payments reconcile`` against localstripe: real refunds in a real Stripe-API
server, compared with Fairdeal's movements.

The movements come from the payments core's ``money_movements`` table, which this branch
does not have yet: here ``load_movements`` is replaced by the test's movements (the rest --
the command, its settings, the gateway, localstripe's records, the exit codes -- is real).
Reading the table is tested once the core is merged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from typer.testing import CliRunner

from fairdeal.adapters.payments.stripe import METADATA_KEY, StripeGateway
from fairdeal.cli import app as cli
from fairdeal.domain.money import Money
from fairdeal.entrypoints import payments_cli

from .conftest import LocalStripe, free_port
from .test_stripe_gateway import movement

runner = CliRunner()


@dataclass(frozen=True)
class Movement:
    id: str
    status: str
    amount: Money
    payment_reference: str
    provider_reference: str | None = None
    kind: str = "refund"


def made(gateway: StripeGateway, reference: str, minor: int) -> Movement:
    """A movement refunded through the gateway and recorded as confirmed."""
    request = movement(reference, minor)
    record = gateway.submit(request)
    return Movement(request.movement_id, "succeeded", request.amount, reference, record.reference)


def run(
    monkeypatch: pytest.MonkeyPatch,
    db_url: str,
    movements: list[Movement],
    *,
    api_base: str,
    api_key: str = "sk_test_fairdeal_localstripe",
) -> tuple[int, str]:
    asked: list[str] = []

    def load(application: Any, provider: str) -> list[Movement]:
        asked.append(provider)
        return movements

    monkeypatch.setattr(payments_cli, "load_movements", load)
    result = runner.invoke(
        cli,
        ["payments", "reconcile"],
        env={
            "FAIRDEAL_DATABASE_URL": db_url,
            "FAIRDEAL_STRIPE_API_KEY": api_key,
            "FAIRDEAL_STRIPE_API_BASE": api_base,
        },
    )
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert asked == ["stripe"]
    return result.exit_code, result.output


def test_everything_matching_exits_0(
    localstripe: LocalStripe, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = StripeGateway(localstripe.api_key, localstripe.api_base)
    intent, other = localstripe.paid_intent(5000), localstripe.paid_intent(2000)
    movements = [
        made(gateway, intent.id, 1000),
        made(gateway, intent.id, 1500),
        made(gateway, localstripe.charge_of(other), 2000),
    ]

    code, output = run(monkeypatch, db_url, movements, api_base=localstripe.api_base)

    assert code == 0, output
    assert "checked 3 movement(s) on 2 payment(s) against 3 record(s) at stripe" in output
    assert "everything matches" in output
    assert "MISMATCH" not in output


def test_every_mismatch_is_listed_and_exits_1(
    localstripe: LocalStripe, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = StripeGateway(localstripe.api_key, localstripe.api_base)
    client = localstripe.client()
    intent = localstripe.paid_intent(10000)
    fine = made(gateway, intent.id, 1000)
    doubled = made(gateway, intent.id, 700)
    # A second refund for the same movement, made behind the gateway's back: what a retry
    # that trusted Idempotency-Key would leave in localstripe (it ignores the key).
    second = client.v1.refunds.create(
        params={
            "payment_intent": intent.id,
            "amount": 700,
            "metadata": {METADATA_KEY: doubled.id},
        },
        options={"idempotency_key": f"fairdeal-movement-{doubled.id}"},
    )
    never_made = Movement("mov_never_made", "succeeded", Money(300, "USD"), intent.id)
    outside = client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 250})
    amount = made(gateway, intent.id, 400)
    wrong_amount = Movement(
        amount.id, "succeeded", Money(450, "USD"), intent.id, amount.provider_reference
    )

    code, output = run(
        monkeypatch,
        db_url,
        [fine, doubled, never_made, wrong_amount],
        api_base=localstripe.api_base,
    )

    assert code == 1, output
    lines = [line for line in output.splitlines() if line.startswith("MISMATCH")]
    assert len(lines) == 4, output
    assert any(
        "duplicate_at_provider" in line and doubled.id in line and second.id in line
        for line in lines
    )
    assert any("missing_at_provider" in line and "mov_never_made" in line for line in lines)
    assert any(
        "wrong_amount" in line and "400 USD at the provider, 450 USD at Fairdeal" in line
        for line in lines
    )
    assert any("unknown_at_fairdeal" in line and outside.id in line for line in lines)
    assert not any(fine.id in line for line in lines)
    assert "4 mismatch(es)" in output


def test_a_provider_that_does_not_answer_exits_2(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    movements = [Movement("mov_a", "succeeded", Money(100, "USD"), "pi_a")]

    code, output = run(monkeypatch, db_url, movements, api_base=down)

    assert code == 2
    assert "error: the provider did not answer: stripe:" in output


def test_a_key_stripe_refuses_exits_2(
    localstripe: LocalStripe, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    movements = [Movement("mov_a", "succeeded", Money(100, "USD"), "pi_a")]

    code, output = run(monkeypatch, db_url, movements, api_base=localstripe.api_base, api_key="bad")

    assert code == 2
    assert "Unauthorized" in output


def test_without_a_stripe_key_exits_2(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(payments_cli, "load_movements", lambda application, provider: [])
    result = runner.invoke(
        cli,
        ["payments", "reconcile"],
        env={"FAIRDEAL_DATABASE_URL": db_url, "FAIRDEAL_STRIPE_API_KEY": None},
    )

    assert result.exit_code == 2
    assert "FAIRDEAL_STRIPE_API_KEY is not set" in result.output
