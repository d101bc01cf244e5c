"""Reads from a PostgreSQL streaming replica (FAIRDEAL_DATABASE_REPLICA_URL), against a real
replica the tests start (tests/replication.py: a private primary, ``pg_basebackup -R``):
list and read endpoints read the replica; the caller who just wrote reads the primary
(read-your-writes, also across API processes through Redis); a lagging replica and a killed
one are not read from, and no request fails when the replica dies mid-run. PostgreSQL only:
SQLite has no replicas (without the setting, every read is on the primary, as every other
test runs)."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from e2e.support import PLATFORM_TOKEN, running_app
from fairdeal.adapters.db.migrate import upgrade
from fairdeal.adapters.db.replica import RoutingUnitOfWorkFactory
from replication import ReplicatedPair, prepared_pair

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
REDIS_URL = os.environ.get("FAIRDEAL_TEST_REDIS_URL")


@pytest.fixture(scope="module")
def pair() -> Iterator[ReplicatedPair]:
    def migrate(url: str) -> None:
        engine = create_engine(url)
        upgrade(engine)
        engine.dispose()

    with prepared_pair(migrate) as made:
        yield made


@contextmanager
def replica_app(pair: ReplicatedPair, tmp_path: Path, **settings: Any) -> Iterator[Any]:
    """``running_app`` on the private primary (which disposes the replica's engine too)."""
    with running_app(pair.primary.url(), tmp_path, **settings) as (app, http):
        yield app, http


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _setup(http: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the seller, an order of theirs), written by the platform."""
    tag = uuid.uuid4().hex[:6]
    users = {}
    for role in ("buyer", "seller"):
        answer = http.post(
            "/api/v1/users",
            json={"role": role, "name": role, "email": f"{role}-{tag}@replica.test"},
            headers=_auth(PLATFORM_TOKEN),
        )
        assert answer.status_code == 201, answer.text
        users[role] = answer.json()
    return users["seller"], _order(http, users)


def _order(http: Any, users: dict[str, Any]) -> dict[str, Any]:
    answer = http.post(
        "/api/v1/orders",
        json={
            "buyer_id": users["buyer"]["id"],
            "seller_id": users["seller"]["id"],
            "currency": "EUR",
            "items": [{"sku": "A", "title": "A", "quantity": 1, "unit_price": "10.00"}],
            "payment": {"method": "card", "reference": "p", "country": "DE"},
        },
        headers=_auth(PLATFORM_TOKEN),
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _router(app: Any) -> RoutingUnitOfWorkFactory:
    router = app.ctx.uow
    assert isinstance(router, RoutingUnitOfWorkFactory)
    return router


def test_reads_go_to_the_replica_and_the_writer_reads_its_writes(
    pair: ReplicatedPair, tmp_path: Path
) -> None:
    settings = {
        "database_replica_url": pair.replica.url(),
        "replica_stickiness_seconds": 3.0,
        "replica_max_lag_seconds": 3600.0,  # a paused replay still counts as fresh here
    }
    with replica_app(pair, tmp_path, **settings) as (app, http):
        seller, order = _setup(http)
        pair.wait_replayed()
        router = _router(app)
        # Nobody has written as the seller: its reads are the replica's.
        before = router.replica_reads
        listed = http.get("/api/v1/orders", headers=_auth(seller["api_token"]))
        assert listed.status_code == 200 and [o["id"] for o in listed.json()["data"]] == [
            order["id"]
        ]
        assert router.replica_reads > before
        pair.pause_replay()
        try:
            buyer = http.get(f"/api/v1/orders/{order['id']}", headers=_auth(PLATFORM_TOKEN)).json()
            second = _order(http, {"buyer": {"id": buyer["buyer_id"]}, "seller": seller})
            # The platform just wrote: it reads its own write (the primary) at once.
            mine = http.get(f"/api/v1/orders/{second['id']}", headers=_auth(PLATFORM_TOKEN))
            assert mine.status_code == 200
            # The seller did not write: it reads the replica, which has not replayed it yet.
            stale = http.get(f"/api/v1/orders/{second['id']}", headers=_auth(seller["api_token"]))
            assert stale.status_code == 404 and stale.json()["code"] == "not_found"
            # After the stickiness window the platform reads the replica too.
            time.sleep(3.2)
            later = http.get(f"/api/v1/orders/{second['id']}", headers=_auth(PLATFORM_TOKEN))
            assert later.status_code == 404
            # The event feed publishes positions as it is read (ADR 0002): still answered.
            feed = http.get("/api/v1/events", headers=_auth(PLATFORM_TOKEN))
            assert feed.status_code == 200, feed.text
        finally:
            pair.resume_replay()
        pair.wait_replayed()
        fresh = http.get(f"/api/v1/orders/{second['id']}", headers=_auth(seller["api_token"]))
        assert fresh.status_code == 200


def test_a_lagging_replica_is_not_read(pair: ReplicatedPair, tmp_path: Path) -> None:
    settings = {"database_replica_url": pair.replica.url(), "replica_max_lag_seconds": 0.5}
    with replica_app(pair, tmp_path, **settings) as (app, http):
        seller, _ = _setup(http)
        pair.wait_replayed()
        pair.pause_replay()
        try:
            users = {"buyer": {"id": seller["id"]}, "seller": seller}
            users["buyer"] = http.post(
                "/api/v1/users",
                json={"role": "buyer", "name": "b", "email": f"b-{uuid.uuid4().hex[:6]}@r.test"},
                headers=_auth(PLATFORM_TOKEN),
            ).json()
            order = _order(http, users)
            time.sleep(1.5)  # past the health check's recheck and the allowed lag
            answer = http.get(f"/api/v1/orders/{order['id']}", headers=_auth(seller["api_token"]))
            assert answer.status_code == 200  # the primary's answer: the replica is behind
            health = _router(app).health
            assert health.lag is not None and health.lag > 0.5 and "behind" in health.reason
        finally:
            pair.resume_replay()
        pair.wait_replayed()


@pytest.mark.skipif(not REDIS_URL, reason="FAIRDEAL_TEST_REDIS_URL is not set")
def test_read_your_writes_holds_across_api_processes_through_redis(
    pair: ReplicatedPair, tmp_path: Path
) -> None:
    settings = {
        "database_replica_url": pair.replica.url(),
        "replica_max_lag_seconds": 3600.0,
        "redis_url": REDIS_URL,
        "redis_prefix": f"fdtest-{uuid.uuid4().hex[:8]}",
    }
    with ExitStack() as stack:
        (_, one), (_, other) = (
            stack.enter_context(replica_app(pair, tmp_path, **settings)) for _ in range(2)
        )
        seller, order = _setup(one)
        pair.wait_replayed()
        pair.pause_replay()
        try:
            users = {"buyer": {"id": order["buyer_id"]}, "seller": seller}
            second = _order(one, users)  # written through one process...
            read = other.get(f"/api/v1/orders/{second['id']}", headers=_auth(PLATFORM_TOKEN))
            assert read.status_code == 200  # ...read back through the other
        finally:
            pair.resume_replay()
        pair.wait_replayed()


def test_killing_the_replica_mid_run_fails_no_request(
    pair: ReplicatedPair, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="fairdeal.replica")
    settings = {"database_replica_url": pair.replica.url(), "replica_max_lag_seconds": 3600.0}
    with replica_app(pair, tmp_path, **settings) as (app, http):
        seller, order = _setup(http)
        pair.wait_replayed()
        router = _router(app)
        statuses = []
        killed_at = None
        try:
            for i in range(40):
                if i == 15:
                    pair.replica.kill()
                    killed_at = router.primary_reads
                answer = http.get(
                    f"/api/v1/orders/{order['id']}", headers=_auth(seller["api_token"])
                )
                statuses.append(answer.status_code)
            assert statuses == [200] * 40
            assert killed_at is not None and router.primary_reads > killed_at
            assert any("replica is unreachable" in r.getMessage() for r in caplog.records)
        finally:
            pair.replica.start()  # back for any later test
