"""The scale-out topology of docs/deployment.md, for real: two ``fairdeal serve`` processes and
two ``fairdeal worker`` processes, all subprocesses, against one PostgreSQL schema. One
dispute goes through its whole life with each request sent to the other API process than the
last: opened, negotiated, escalated by the clock (the sandbox clock, stored in the database,
is moved; a worker fires the deadline -- no API request does), decided by a mediator, made
final by both parties, and its refund completed by the clock again. Bounded: each wait gives
up after PATIENCE seconds, and the whole test takes well under a minute."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from databases import pg_schema
from e2e.support import png_bytes
from fairdeal.adapters.clock import SandboxClock
from fairdeal.adapters.db.engine import make_engine
from fairdeal.adapters.db.migrate import upgrade
from fairdeal.bootstrap import bootstrap
from fairdeal.config import Settings
from fairdeal.services.users import ensure_platform_user
from ops.support import Api, clean_env, free_port, processes, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PLATFORM_TOKEN = "fd_scale_out_platform_token_0123456789abcdef"
LIFECYCLE_LIMIT = 60.0  # the whole lifecycle, once the processes answer


@pytest.fixture
def schema_url() -> Iterator[str]:
    """A schema of its own, migrated, with the platform user: what `fairdeal db upgrade` and
    the first start-up do once, before the processes of a deployment start together."""
    with pg_schema("fd_scale") as url:
        app = bootstrap(Settings(database_url=url, sandbox=True))
        upgrade(app.engine)
        ensure_platform_user(app.ctx, PLATFORM_TOKEN)
        app.dispose()
        yield url


@pytest.fixture
def deployment(schema_url: str, tmp_path: Path) -> Iterator[list[str]]:
    """2 API processes and 2 workers, started together; yields the APIs' base URLs."""
    env = clean_env(
        FAIRDEAL_DATABASE_URL=schema_url,
        FAIRDEAL_SANDBOX="true",
        FAIRDEAL_PLATFORM_TOKEN=PLATFORM_TOKEN,
        FAIRDEAL_SECRET_KEY="scale-out-test-secret-key-0123456789abcdef0123456789",
        # Uploaded evidence: every API process must see the same files (a shared volume or
        # object storage in production, docs/deployment.md).
        FAIRDEAL_STORAGE_DIR=str(tmp_path / "files"),
        FAIRDEAL_WORKER_POLL_SECONDS="0.1",
    )
    ports = [free_port(), free_port()]
    with processes(tmp_path) as group:
        for i, port in enumerate(ports):
            group.spawn(f"api{i}", ["serve", "--host", "127.0.0.1", "--port", str(port)], env)
        for i in range(2):
            group.spawn(f"worker{i}", ["worker"], env)
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base in bases:
            group.wait_healthy(base)
        yield bases
        for proc in group.procs:
            assert proc.popen.poll() is None, f"{proc.name} died:\n{proc.output()[-3000:]}"


def test_two_apis_and_two_workers_share_one_database_through_a_whole_lifecycle(
    deployment: list[str], schema_url: str
) -> None:
    started = time.monotonic()
    api = Api(deployment)

    def call(method: str, path: str, token: str, status: int = 200, **kwargs: Any) -> Any:
        return api(method, path, token, status, **kwargs).json()

    p = PLATFORM_TOKEN
    try:
        users = {
            role: call(
                "POST",
                "/users",
                p,
                201,
                json={"role": role, "name": role.title(), "email": f"{role}@scale.test"},
            )
            for role in ("buyer", "seller", "mediator")
        }
        buyer, seller, mediator = (users[r]["api_token"] for r in ("buyer", "seller", "mediator"))
        order = call(
            "POST",
            "/orders",
            p,
            201,
            json={
                "buyer_id": users["buyer"]["id"],
                "seller_id": users["seller"]["id"],
                "currency": "EUR",
                "items": [
                    {"sku": "LAMP", "title": "Desk lamp", "quantity": 1, "unit_price": "40.00"},
                    {"sku": "BULB", "title": "Bulb", "quantity": 1, "unit_price": "10.00"},
                ],
                "shipping_cost": "5.00",
                "payment": {"method": "card", "reference": "pay_scale_1", "country": "DE"},
            },
        )
        call(
            "POST",
            f"/orders/{order['id']}/ship",
            seller,
            json={"carrier": "DHL", "tracking_number": "JD0001", "protection_days": 60},
        )
        photo = call(
            "POST", "/files", buyer, 201, files={"file": ("photo.png", png_bytes(), "image/png")}
        )
        opened = call(
            "POST",
            "/disputes",
            buyer,
            201,
            json={
                "order_id": order["id"],
                "item_ids": [order["items"][0]["id"]],
                "reason": "damaged",
                "desired_outcome": "refund_only",
                "amount": "40.00",
                "description": "It arrived broken.",
                "evidence_file_ids": [photo["id"]],
            },
        )
        dispute = opened["id"]
        assert opened["status"] == "awaiting_seller_response"

        # Negotiation: the seller offers less, the buyer refuses.
        offered = call(
            "POST",
            f"/disputes/{dispute}/solutions",
            seller,
            201,
            json={"kind": "refund_only", "amount": "10.00", "comment": "Only a scratch."},
        )
        assert offered["status"] == "negotiating"
        offer = offered["solutions"][-1]["id"]
        call("POST", f"/disputes/{dispute}/solutions/{offer}/reject", buyer)

        # Escalation by the clock: the negotiation window runs out; a worker fires it.
        engine = make_engine(schema_url)
        clock = SandboxClock(engine)
        clock.advance_to(clock.now() + timedelta(days=7, minutes=1))
        escalated = wait_for(
            "a worker to escalate the dispute",
            lambda: (
                (d := call("GET", f"/disputes/{dispute}", mediator))["status"] == "under_review"
                and d
            ),
        )
        assert escalated["mediation"]["escalated_at"] is not None

        # The mediator takes it and decides; both parties accept: the decision is final.
        call("POST", f"/disputes/{dispute}/assign", mediator)
        decided = call(
            "POST",
            f"/disputes/{dispute}/decisions",
            mediator,
            201,
            json={
                "solutions": [{"kind": "refund_only", "amount": "30.00", "comment": "Most of it."}],
                "rationale": "The photo shows a cracked housing; the lamp still works.",
            },
        )
        decision = decided["mediation"]["decision"]["id"]
        call(
            "POST",
            f"/disputes/{dispute}/decisions/{decision}/accept",
            buyer,
            json={"solution_index": 0},
        )
        final = call("POST", f"/disputes/{dispute}/decisions/{decision}/accept", seller)
        assert final["status"] == "closed"
        assert final["mediation"]["decision"]["status"] == "final"
        assert final["outcome"]["refund"]["value"] == "30.00"
        assert final["refund"]["status"] == "scheduled"

        # The refund completes on its schedule: the clock again, a worker again.
        clock.advance_to(clock.now() + timedelta(days=20))
        done = wait_for(
            "a worker to complete the refund",
            lambda: (
                (d := call("GET", f"/disputes/{dispute}", buyer))["refund"]["status"] == "completed"
                and d
            ),
        )
        assert done["status"] == "closed"
        escrow = call("GET", f"/orders/{order['id']}", p)["escrow"]
        # Confirmed by the (sandbox) provider: refunded, no longer pending (docs/payments.md).
        assert escrow["refunded"]["value"] == "30.00"
        assert escrow["pending_refund"]["value"] == "0.00"
        engine.dispose()

        # Each deadline fired exactly once, whichever worker took it.
        events = call("GET", "/events", p, params={"after": "0", "limit": 100})["data"]
        mine = [e["type"] for e in events if dispute in str(e)]
        assert mine.count("dispute.escalated") == 1, mine
        assert mine.count("refund.completed") == 1, mine
        assert all(n > 3 for n in api.served), api.served
    finally:
        api.close()
    assert time.monotonic() - started < LIFECYCLE_LIMIT
