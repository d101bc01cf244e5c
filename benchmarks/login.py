"""Signing in (issue 16): what one password check costs, and what the login page costs at a
few concurrent browsers, on PostgreSQL.

1. The verify: ``security.check_password`` against a hash made with the parameters in use
   (Argon2id, OWASP's 19 MiB, 2 passes, 1 lane), median and p95 over many checks in this
   process; beside it, in the same run, a hash made with argon2-cffi's default parameters
   (64 MiB, 3 passes, 4 lanes: what every password was hashed with before), and the one-off
   cost of signing in with such an old hash (verified, then hashed anew and stored).
2. The login page: ``GET /login`` and ``POST /login`` (a right password: a session is
   recorded, 303 to the home page) by 4 clients, each a fresh browser every time, against the
   API processes. Target: the verify within 150 ms; the page's p95 is reported."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher

from benchmarks import seed
from benchmarks.common import (
    SECRET_KEY,
    MemorySampler,
    drop_database,
    free_port,
    percentile,
    recreate_database,
    running,
    say,
    start_api,
    table,
    wait_ready,
    write_result,
)
from benchmarks.transitions import API_PROCESSES, run_loadgen
from fairdeal.adapters.clock import FixedClock
from fairdeal.bootstrap import bootstrap
from fairdeal.config import Settings
from fairdeal.services import users
from fairdeal.services.security import check_password, hash_password

VERIFY_TARGET_MS = 150.0
CLIENTS = 4
PASSWORD = "fdbench-login-password"


def _timed(check: Callable[[], object], runs: int) -> dict[str, float]:
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        check()
        took.append((time.perf_counter() - started) * 1000)
    return {
        "runs": runs,
        "median_ms": round(statistics.median(took), 2),
        "p95_ms": round(percentile(took, 95), 2),
    }


def verify_costs(runs: int) -> dict[str, dict[str, float]]:
    current = hash_password(PASSWORD)
    old = PasswordHasher().hash(PASSWORD)  # argon2-cffi's defaults, as before issue 16
    return {
        "verify (OWASP parameters)": _timed(lambda: check_password(current, PASSWORD), runs),
        "verify (argon2-cffi defaults, before)": _timed(
            lambda: PasswordHasher().verify(old, PASSWORD), max(5, runs // 4)
        ),
        "sign-in with an old hash (verify + rehash)": _timed(
            lambda: check_password(old, PASSWORD), max(5, runs // 4)
        ),
    }


def _people(url: str) -> list[list[str]]:
    """A buyer per client, with a web password."""
    app = bootstrap(
        Settings(database_url=url, secret_key=SECRET_KEY), clock=FixedClock(datetime.now(UTC))
    )
    try:
        password_hash = hash_password(PASSWORD)
        credentials = []
        for n in range(CLIENTS):
            email = f"signin{n}@login.bench"
            users.create_user(
                app.ctx, role="buyer", name=f"Buyer {n}", email=email, password_hash=password_hash
            )
            credentials.append([email, PASSWORD])
        return credentials
    finally:
        app.engine.dispose()


def main(*, seconds: int = 8, runs: int = 40) -> dict[str, Any]:
    say(f"login: {runs} password checks in this process")
    verify = verify_costs(runs)
    table(
        "Password checks (ms)",
        ["what", "runs", "median", "p95"],
        [[name, v["runs"], v["median_ms"], v["p95_ms"]] for name, v in verify.items()],
    )
    url = recreate_database()
    seed.prepare(url).dispose()
    credentials = _people(url)
    apis = [start_api(url, free_port(), name=f"api{i}") for i in range(API_PROCESSES)]
    with running(apis), MemorySampler(apis) as memory:
        wait_ready(apis)
        spec = {
            "mode": "sign_in",
            "clients": CLIENTS,
            "ports": [a.port for a in apis],
            "credentials": credentials,
        }
        run_loadgen({**spec, "warmup": 0, "duration": 1})
        result = run_loadgen({**spec, "warmup": 1, "duration": seconds})
    pages: dict[str, Any] = {}
    for kind in ("login page", "sign in"):
        values = result["latencies_ms"].get(kind, [])
        pages[kind] = {
            "requests_per_s": round(len(values) / result["seconds"], 1),
            "p50_ms": round(percentile(values, 50), 2),
            "p95_ms": round(percentile(values, 95), 2),
            "p99_ms": round(percentile(values, 99), 2),
        }
    rendered = table(
        f"The login page at {CLIENTS} clients ({API_PROCESSES} API processes)",
        ["request", "req/s", "p50 ms", "p95 ms", "p99 ms"],
        [[kind, *p.values()] for kind, p in pages.items()],
    )
    if result["errors"]:
        say(f"login: errors {result['errors']}: {result['error_samples']}")
    data = {
        "clients": CLIENTS,
        "api_processes": API_PROCESSES,
        "verify": verify,
        "pages": pages,
        "errors": result["errors"],
        "memory": memory.summary(),
        "table": rendered,
        "targets": {
            f"verify p95<={VERIFY_TARGET_MS:.0f}ms": verify["verify (OWASP parameters)"]["p95_ms"]
            <= VERIFY_TARGET_MS
        },
    }
    write_result("login", data)
    drop_database()
    return data
