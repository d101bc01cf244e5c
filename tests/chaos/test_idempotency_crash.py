"""An API process that dies after a request's handler ran and before its answer was recorded
(here: the moment the handler hands its answer back) must leave nothing that
a retry with the same Idempotency-Key would apply a second time.

Before the fix the request's effect committed in its own transaction and the answer was
stored in a later one: the retry (once the claim went stale) ran the request again -- a second
order, or 409 "already closed" instead of the acceptance. Now the effect and the answer
commit together, so the retry either finds the answer or runs a request that never happened.

Real processes: ``fairdeal serve`` on the test's database, one of them patched to die."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from chaos.harness import PLATFORM_TOKEN, free_port, multipart, tiny_png
from fairdeal.adapters.db import tables
from fairdeal.adapters.db.engine import make_engine

pytestmark = pytest.mark.slow

PATIENCE = 120
# ``fairdeal serve``, but the process exits (as if SIGKILLed: no clean-up) at the moment a
# request with an Idempotency-Key has its answer: the handler has run, its service has
# committed (as far as it is concerned), and the client has heard nothing yet.
DYING_SERVER = """
import os, sys
from fairdeal.entrypoints.api import idempotency

class DieAtTheAnswer:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        keyed = any(k == b"idempotency-key" for k, _ in scope.get("headers", []))

        async def dying_send(message):
            if keyed and message["type"] == "http.response.start":
                os._exit(9)
            await send(message)

        await self.app(scope, receive, dying_send if keyed else send)

real_init = idempotency.IdempotencyMiddleware.__init__

def init(self, app, *args, **kwargs):
    real_init(self, DieAtTheAnswer(app), *args, **kwargs)

idempotency.IdempotencyMiddleware.__init__ = init
from fairdeal.cli import app
app(["serve", "--port", sys.argv[1]])
"""


def _env(db_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRDEAL_")}
    env.update(
        FAIRDEAL_DATABASE_URL=db_url,
        FAIRDEAL_SANDBOX="true",
        FAIRDEAL_PLATFORM_TOKEN=PLATFORM_TOKEN,
        FAIRDEAL_RATE_LIMIT_WRITES_PER_MINUTE="0",
        FAIRDEAL_STORAGE_DIR=str(tmp_path / "files"),
        FAIRDEAL_IDEMPOTENCY_STALE_SECONDS="1",
    )
    return env


@contextmanager
def server(db_url: str, tmp_path: Path, *, dying: bool) -> Iterator[tuple[str, Any]]:
    port = free_port()
    argv = (
        [sys.executable, "-c", DYING_SERVER, str(port)]
        if dying
        else [sys.executable, "-m", "fairdeal.cli", "serve", "--port", str(port)]
    )
    process = subprocess.Popen(
        argv, env=_env(db_url, tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + PATIENCE
    try:
        while True:
            assert process.poll() is None, process.stderr.read().decode()[-3000:]  # type: ignore[union-attr]
            try:
                if httpx.get(base + "/healthz", timeout=2).is_success:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the API did not start"
            time.sleep(0.1)
        yield base + "/api/v1", process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(30)
        assert process.stderr is not None
        process.stderr.close()


def _post(base: str, path: str, token: str, body: Any = None, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
    return httpx.post(base + path, json=body, headers=headers, timeout=30, **kw)


def _retry(base: str, path: str, token: str, body: Any, key: str) -> httpx.Response:
    """What a client does after losing the answer: the same request with the same key until
    it gets one that is not "still being processed"."""
    deadline = time.monotonic() + 60
    while True:
        response = _post(base, path, token, body, headers={"Idempotency-Key": key})
        in_use = response.status_code == 409 and response.json()["code"] == "idempotency_key_in_use"
        if not in_use:
            return response
        assert time.monotonic() < deadline, "the key stayed in use: the retry can never act"
        time.sleep(0.3)


def test_a_process_dying_before_the_answer_is_recorded_applies_nothing_twice(
    db_url: str, tmp_path: Path
) -> None:
    with server(db_url, tmp_path, dying=True) as (base, process):
        # The set-up, without keys (the middleware only records answers of keyed requests).
        def user(role: str) -> dict[str, Any]:
            made = _post(
                base,
                "/users",
                PLATFORM_TOKEN,
                {"role": role, "name": role, "email": f"{role}@crash.test"},
            )
            assert made.status_code == 201, made.text
            return dict(made.json())

        buyer, seller = user("buyer"), user("seller")
        order_body = {
            "buyer_id": buyer["id"],
            "seller_id": seller["id"],
            "currency": "EUR",
            "items": [{"sku": "A", "title": "Lamp", "quantity": 1, "unit_price": "40.00"}],
            "payment": {"method": "card", "reference": "pay-1", "country": "DE"},
        }
        order = _post(base, "/orders", PLATFORM_TOKEN, order_body).json()
        ship = {"carrier": "DHL", "tracking_number": "JD1", "protection_days": 30}
        assert _post(base, f"/orders/{order['id']}/ship", seller["api_token"], ship).is_success
        content, content_type = multipart("p.png", tiny_png(1), "image/png")
        photo = httpx.post(
            base + "/files",
            content=content,
            headers={"Authorization": f"Bearer {buyer['api_token']}", "Content-Type": content_type},
            timeout=30,
        ).json()
        opened = _post(
            base,
            "/disputes",
            buyer["api_token"],
            {
                "order_id": order["id"],
                "reason": "damaged",
                "desired_outcome": "refund_only",
                "amount": "40.00",
                "description": "Broken.",
                "evidence_file_ids": [photo["id"]],
            },
        ).json()
        accept = f"/disputes/{opened['id']}/solutions/{opened['solutions'][0]['id']}/accept"

        # The seller accepts, with a key; the process dies before the answer is recorded.
        with pytest.raises(httpx.HTTPError):
            _post(base, accept, seller["api_token"], headers={"Idempotency-Key": "accept-1"})
        process.wait(30)

    with server(db_url, tmp_path, dying=False) as (base, _):
        again = _retry(base, accept, seller["api_token"], None, "accept-1")
        # The acceptance, as the first attempt would have answered -- not "already closed".
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "closed"

    with server(db_url, tmp_path, dying=True) as (base, process):
        with pytest.raises(httpx.HTTPError):
            _post(base, "/orders", PLATFORM_TOKEN, order_body, headers={"Idempotency-Key": "o-2"})
        process.wait(30)

    with server(db_url, tmp_path, dying=False) as (base, _):
        created = _retry(base, "/orders", PLATFORM_TOKEN, order_body, "o-2")
        assert created.status_code == 201, created.text
        replayed = _retry(base, "/orders", PLATFORM_TOKEN, order_body, "o-2")
        assert replayed.json()["id"] == created.json()["id"]

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            orders = conn.execute(
                select(func.count())
                .select_from(tables.orders)
                .where(tables.orders.c.buyer_id == buyer["id"])
            ).scalar()
            refunds = conn.execute(
                select(func.count())
                .select_from(tables.ledger_entries)
                .where(
                    tables.ledger_entries.c.order_id == order["id"],
                    tables.ledger_entries.c.movement == "refund",
                )
            ).scalar()
            closed = conn.execute(
                select(func.count())
                .select_from(tables.events)
                .where(
                    tables.events.c.aggregate_id == opened["id"],
                    tables.events.c.type == "dispute.closed",
                )
            ).scalar()
    finally:
        engine.dispose()
    assert orders == 2  # the one of the set-up and the one of key o-2: not a third
    assert refunds == 2  # one refund transaction, two postings
    assert closed == 1
