"""Rate limits shared through Redis (FAIRDEAL_REDIS_URL): two API app instances -- two
processes' worth of limiters -- together allow the limit once, not twice; without Redis each
counts its own, as before. Against the local Redis (FAIRDEAL_TEST_REDIS_URL, which `make test`
sets; .ci/run starts the server), each test on its own key prefix."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import redis

from e2e.support import PLATFORM_TOKEN, running_app
from fairdeal.adapters.ratelimit import RedisWindows
from fairdeal.entrypoints.api.ratelimit import ActionLimiter, RateLimited
from ops.support import free_port

REDIS_URL = os.environ.get("FAIRDEAL_TEST_REDIS_URL")
LIMIT = 6


@pytest.fixture
def redis_prefix() -> Iterator[tuple[str, str]]:
    """(the Redis URL, a key prefix of this test's own); its keys are deleted afterwards."""
    if not REDIS_URL:
        pytest.skip("FAIRDEAL_TEST_REDIS_URL is not set")
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()  # set but not answering: fail, do not skip
    prefix = f"fdtest-{uuid.uuid4().hex[:10]}"
    yield REDIS_URL, prefix
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def _writes(db_url: str, tmp_path: Path, count: int, **settings: object) -> list[int]:
    """``count`` writes with one token, sent in turn to two API app instances."""
    statuses = []
    with ExitStack() as stack:
        apps = [
            stack.enter_context(
                running_app(db_url, tmp_path, rate_limit_writes_per_minute=LIMIT, **settings)
            )
            for _ in range(2)
        ]
        for i in range(count):
            _, http = apps[i % 2]
            response = http.post(
                "/api/v1/users",
                json={"role": "buyer", "name": "B", "email": f"b{i}-{uuid.uuid4().hex[:6]}@x.test"},
                headers={"Authorization": f"Bearer {PLATFORM_TOKEN}"},
            )
            statuses.append(response.status_code)
            if response.status_code == 429:
                body = response.json()
                assert body["code"] == "rate_limited"
                assert 1 <= int(response.headers["retry-after"]) <= 60
    return statuses


def test_two_api_processes_share_one_limit_through_redis(
    db_url: str, tmp_path: Path, redis_prefix: tuple[str, str]
) -> None:
    url, prefix = redis_prefix
    statuses = _writes(db_url, tmp_path, LIMIT + 3, redis_url=url, redis_prefix=prefix)
    assert statuses == [201] * LIMIT + [429] * 3


def test_without_redis_each_process_counts_its_own(db_url: str, tmp_path: Path) -> None:
    statuses = _writes(db_url, tmp_path, 2 * LIMIT + 2)
    assert statuses == [201] * (2 * LIMIT) + [429] * 2


def test_action_limits_are_shared_per_user_and_per_ip(redis_prefix: tuple[str, str]) -> None:
    url, prefix = redis_prefix
    limits = {"uploads": (3, 5)}
    first = ActionLimiter(limits, RedisWindows(url, prefix).window)
    second = ActionLimiter(limits, RedisWindows(url, prefix).window)
    for limiter in (first, second, first):
        limiter.check("uploads", user="u1", ip="10.0.0.1")
    with pytest.raises(RateLimited) as refused:
        second.check("uploads", user="u1", ip="10.0.0.1")
    assert refused.value.scope == "user" and refused.value.retry_after >= 1
    # Another user at the same address has two of the address's five left.
    first.check("uploads", user="u2", ip="10.0.0.1")
    second.check("uploads", user="u3", ip="10.0.0.1")
    with pytest.raises(RateLimited) as by_ip:
        first.check("uploads", user="u4", ip="10.0.0.1")
    assert by_ip.value.scope == "ip"
    # A different prefix (another deployment, another test) is counted apart.
    ActionLimiter(limits, RedisWindows(url, prefix + "-other").window).check(
        "uploads", user="u1", ip="10.0.0.1"
    )


def test_redis_down_lets_writes_through_and_warns(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="fairdeal.ratelimit")
    nobody = f"redis://127.0.0.1:{free_port()}/0"
    statuses = _writes(db_url, tmp_path, LIMIT + 2, redis_url=nobody, redis_prefix="x")
    assert statuses == [201] * (LIMIT + 2)
    warnings = [r for r in caplog.records if r.name == "fairdeal.ratelimit"]
    # One warning per process (each of the two apps), not one per request.
    assert len(warnings) == 2 and all("not enforced" in r.getMessage() for r in warnings)
