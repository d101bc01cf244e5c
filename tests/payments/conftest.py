"""localstripe, started by the tests as a real process on a free loopback port: one server per
test process (session), waited for until it answers, killed at the end. Each test makes its
own payments in it, so tests never see each other's refunds."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import stripe

LAUNCHER = Path(__file__).with_name("localstripe_server.py")
API_KEY = "sk_test_fairdeal_localstripe"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class LocalStripe:
    api_base: str
    api_key: str
    process: subprocess.Popen[bytes]

    def client(self) -> stripe.StripeClient:
        """The SDK pointed at the server, as a marketplace (the test) would use it."""
        return stripe.StripeClient(
            self.api_key,
            base_addresses={"api": self.api_base},
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=10),
        )

    def paid_intent(self, amount: int, currency: str = "usd") -> stripe.PaymentIntent:
        """A PaymentIntent paid by card, as the marketplace's checkout leaves it."""
        return self.client().v1.payment_intents.create(
            params={
                "amount": amount,
                "currency": currency,
                "payment_method": "pm_card_visa",
                "confirm": True,
            }
        )

    def charge_of(self, intent: stripe.PaymentIntent) -> str:
        latest = intent.latest_charge
        assert latest is not None
        return latest if isinstance(latest, str) else str(latest.id)


def _wait_until_answers(api_base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"localstripe exited with {process.returncode} before answering")
        try:
            answer = httpx.get(
                f"{api_base}/v1/balance",
                headers={"Authorization": f"Bearer {API_KEY}"},
                timeout=1,
            )
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        if answer.status_code == 200:
            return
        time.sleep(0.1)
    raise RuntimeError("localstripe did not answer within 20 s")


@pytest.fixture(scope="session")
def localstripe() -> Iterator[LocalStripe]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(LAUNCHER), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    api_base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answers(api_base, process)
        yield LocalStripe(api_base=api_base, api_key=API_KEY, process=process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - it stops on SIGTERM
            process.kill()
            process.wait()
