"""The whole topology of docs/deployment.md, for real: two ``fairdeal serve`` processes and
two ``fairdeal worker`` processes on a PostgreSQL primary with a streaming replica for reads
(tests/replication.py), evidence in S3 (a moto server the test starts), rate limits and
read-your-writes stickiness in Redis, one worker's Prometheus metrics scraped. One dispute
goes through its whole life, requests alternating between the API processes, deadlines fired
by the workers; the replica is killed half-way and the lifecycle goes on."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from fairdeal.adapters.clock import SandboxClock
from fairdeal.adapters.db.migrate import upgrade
from fairdeal.bootstrap import bootstrap
from fairdeal.config import Settings
from fairdeal.services.users import ensure_platform_user
from objectstore import Bucket
from ops.support import (
    Api,
    clean_env,
    free_port,
    open_dispute,
    people,
    processes,
    shipped_order,
    upload,
)
from ops.support import wait_for as _wait_for
from replication import ReplicatedPair, prepared_pair

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PLATFORM = "fd_topology_platform_token_0123456789abcdef"
REDIS_URL = os.environ.get("FAIRDEAL_TEST_REDIS_URL")
# Four processes, two PostgreSQL servers, moto and the test on a loaded 2-core machine (a
# parallel test run beside it): a worker's turn may take a while.
PATIENCE = 120.0


def wait_for(what: str, probe: Any) -> Any:
    return _wait_for(what, probe, patience=PATIENCE)


@pytest.fixture
def pair() -> Iterator[ReplicatedPair]:
    if not REDIS_URL:
        pytest.skip("FAIRDEAL_TEST_REDIS_URL is not set")

    def release(url: str) -> None:
        # The release step: migrate, create the platform user, before the processes start.
        app = bootstrap(Settings(database_url=url, sandbox=True))
        upgrade(app.engine)
        ensure_platform_user(app.ctx, PLATFORM)
        app.dispose()

    with prepared_pair(release) as made:
        yield made


def _replica_reads(pair: ReplicatedPair) -> int:
    engine = create_engine(pair.replica.url("postgres"))
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT tup_returned FROM pg_stat_database WHERE datname = 'fairdeal'")
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_two_apis_two_workers_a_replica_and_object_storage_run_a_lifecycle(
    pair: ReplicatedPair, s3_bucket: Bucket, tmp_path: Path
) -> None:
    metrics_port = free_port()
    env = clean_env(
        FAIRDEAL_DATABASE_URL=pair.primary.url(),
        FAIRDEAL_DATABASE_REPLICA_URL=pair.replica.url(),
        FAIRDEAL_REDIS_URL=str(REDIS_URL),
        FAIRDEAL_REDIS_PREFIX=f"fdtest-{uuid.uuid4().hex[:8]}",
        FAIRDEAL_SANDBOX="true",
        FAIRDEAL_PLATFORM_TOKEN=PLATFORM,
        FAIRDEAL_SECRET_KEY="topology-test-secret-key-0123456789abcdef0123",
        FAIRDEAL_STORAGE_DIR=str(tmp_path / "scratch"),
        FAIRDEAL_WORKER_POLL_SECONDS="0.1",
        FAIRDEAL_METRICS_REFRESH_SECONDS="0.5",
        **s3_bucket.env(),
    )
    with processes(tmp_path) as group:
        bases = [group.serve(f"api{i}", env) for i in range(2)]
        group.spawn(
            "worker0", ["worker"], {**env, "FAIRDEAL_WORKER_METRICS_PORT": str(metrics_port)}
        )
        group.spawn("worker1", ["worker"], env)
        api = Api(bases)
        engine = create_engine(pair.primary.url())  # the sandbox clock's, moved by the test
        try:
            reads_before = _replica_reads(pair)
            users = people(api, PLATFORM, "topology")
            buyer, seller, mediator = (
                users[r]["api_token"] for r in ("buyer", "seller", "mediator")
            )
            order = shipped_order(api, PLATFORM, users)
            photo = upload(api, buyer)
            (key,) = s3_bucket.keys()  # in the bucket, not on a disk one process sees
            dispute = open_dispute(api, users, order, [photo["id"]])["id"]
            # The file, through each API process in turn (both read the bucket).
            for _ in range(2):
                got = api("GET", f"/files/{photo['id']}", seller)
                assert hashlib.sha256(got.content).hexdigest() == photo["sha256"]

            offered = api(
                "POST",
                f"/disputes/{dispute}/solutions",
                seller,
                201,
                json={"kind": "refund_only", "amount": "10.00", "comment": "Only a scratch."},
            ).json()
            offer = offered["solutions"][-1]["id"]
            api("POST", f"/disputes/{dispute}/solutions/{offer}/reject", buyer)

            # The clock moves; a worker (not a request) escalates the dispute.
            clock = SandboxClock(engine)
            clock.advance_to(clock.now() + timedelta(days=7, minutes=1))
            wait_for(
                "a worker to escalate the dispute",
                lambda: (
                    api("GET", f"/disputes/{dispute}", mediator).json()["status"] == "under_review"
                ),
            )
            assert _replica_reads(pair) > reads_before  # list and read endpoints used it

            # Half-way, the replica dies: reads go to the primary, nothing fails.
            pair.replica.kill()
            api("POST", f"/disputes/{dispute}/assign", mediator)
            decided = api(
                "POST",
                f"/disputes/{dispute}/decisions",
                mediator,
                201,
                json={
                    "solutions": [
                        {"kind": "refund_only", "amount": "30.00", "comment": "Most of it."}
                    ],
                    "rationale": "The photo shows a cracked housing; the lamp still works.",
                },
            ).json()
            decision = decided["mediation"]["decision"]["id"]
            api(
                "POST",
                f"/disputes/{dispute}/decisions/{decision}/accept",
                buyer,
                json={"solution_index": 0},
            )
            final = api("POST", f"/disputes/{dispute}/decisions/{decision}/accept", seller).json()
            assert final["status"] == "closed" and final["refund"]["status"] == "scheduled"
            clock.advance_to(clock.now() + timedelta(days=20))
            wait_for(
                "a worker to complete the refund",
                lambda: (
                    api("GET", f"/disputes/{dispute}", buyer).json()["refund"]["status"]
                    == "completed"
                ),
            )
            events = api("GET", "/events", PLATFORM, params={"after": "0", "limit": 100}).json()
            mine = [e["type"] for e in events["data"] if dispute in str(e)]
            assert mine.count("dispute.escalated") == 1 and mine.count("refund.completed") == 1
            scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
            assert "fairdeal_worker_deadlines_fired_total" in scraped
            assert "process_cpu_seconds_total" in scraped
            group.check_alive()
            assert key.startswith("evidence/")
        except AssertionError as failed:
            logs = "\n".join(f"--- {p.name}\n{p.output()[-3000:]}" for p in group.procs)
            raise AssertionError(f"{failed}\n{logs}") from None
        finally:
            api.close()
            engine.dispose()  # also when failing: a leaked connection warns in a later test
