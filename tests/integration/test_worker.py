"""Worker processes against a real database: two of them share 1,000 due deadlines and each
fires exactly once; a worker killed with SIGKILL in the middle of its work loses nothing and
fires nothing twice. The workers run on the sandbox clock, stored in the database, which the
test moves past the deadlines before they start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from builders import T0
from fairdeal.adapters.clock import FixedClock, SandboxClock
from fairdeal.adapters.db import tables
from fairdeal.bootstrap import App
from integration.support import assert_each_fired_once, count_rows, event_rows, seed_due_disputes

pytestmark = pytest.mark.slow

COUNT = 1000
# The seller-response deadlines fall due at T0 + 7 days; the refunds they schedule are due ten
# business days later. A day after the first, only the first is due: each dispute fires once.
SANDBOX_NOW = T0 + timedelta(days=8)
# How long a step may take before the test gives up: far more than it needs (seconds) so that
# a CI machine busy with other test processes does not fail it.
PATIENCE = 180

# A worker that has imported and connected everything and then waits for "go" on stdin, so
# that the two processes start firing at the same moment rather than a start-up apart.
READY_WORKER = """
import sys
from fairdeal.bootstrap import bootstrap
from fairdeal.entrypoints.worker import run

app = bootstrap()
app.clock.now()
print("ready", flush=True)
sys.stdin.readline()
print(f"fired {run(app, once=True)}", flush=True)
app.engine.dispose()
"""


def worker_env(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRDEAL_")}
    env.update(
        FAIRDEAL_DATABASE_URL=db_url,
        FAIRDEAL_SANDBOX="true",
        FAIRDEAL_WORKER_POLL_SECONDS="0.05",
        PYTHONWARNINGS="error::ResourceWarning",
        **extra,
    )
    return env


def due_now(app: App) -> None:
    SandboxClock(app.engine).advance_to(SANDBOX_NOW)


def test_two_worker_processes_fire_each_deadline_exactly_once(app: App, db_url: str) -> None:
    dispute_ids = seed_due_disputes(app, COUNT)
    due_now(app)
    env = worker_env(db_url, FAIRDEAL_WORKER_BATCH_SIZE="50")
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", READY_WORKER],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready"
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        outputs = [worker.communicate(timeout=PATIENCE) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err[-3000:]
    fired = [int(out.split()[-1]) for out, _ in outputs]
    assert sum(fired) == COUNT, fired
    assert_each_fired_once(app, dispute_ids)


def test_a_worker_killed_mid_batch_loses_nothing(app: App, db_url: str) -> None:
    # Two hundred batches: the kill lands between the first and the last even when this
    # process is descheduled for a while on a loaded machine (SQLite batches take a few ms).
    count, batch = 2000, 10
    dispute_ids = seed_due_disputes(app, count)
    due_now(app)
    # A name of its own, so that we can see when PostgreSQL has noticed the kill.
    name = f"fd_killed_{uuid.uuid4().hex[:8]}"
    killed_url = db_url
    if db_url.startswith("postgresql"):
        killed_url += ("&" if "?" in db_url else "?") + f"application_name={name}"
    worker = subprocess.Popen(
        [sys.executable, "-m", "fairdeal.cli", "worker"],
        env=worker_env(killed_url, FAIRDEAL_WORKER_BATCH_SIZE=str(batch)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seeded = count_rows(app.engine, tables.events)
    try:
        deadline = time.monotonic() + PATIENCE
        while count_rows(app.engine, tables.events) == seeded:  # nothing has fired yet
            assert worker.poll() is None, "the worker exited on its own"
            assert time.monotonic() < deadline, "the worker fired nothing"
            time.sleep(0.005)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    assert worker.returncode == -signal.SIGKILL

    closed = len(event_rows(app.engine, type="dispute.closed"))
    assert 0 < closed < count, "the worker was not killed in the middle of its work"
    # Batches commit whole or not at all: the one in flight left no trace.
    assert closed % batch == 0, closed
    if db_url.startswith("postgresql"):
        _wait_until_backend_gone(app, name)

    restarted = subprocess.run(
        [sys.executable, "-m", "fairdeal.cli", "worker", "--once"],
        env=worker_env(db_url, FAIRDEAL_WORKER_BATCH_SIZE="200"),
        capture_output=True,
        text=True,
        timeout=PATIENCE,
    )
    assert restarted.returncode == 0, restarted.stderr[-3000:]
    assert f"fired {count - closed} deadline(s)" in restarted.stdout
    assert_each_fired_once(app, dispute_ids)


def _wait_until_backend_gone(app: App, application_name: str) -> None:
    """The killed worker's server process rolls back and releases its row locks as soon as it
    sees the socket close; until then a ``--once`` worker would skip the locked rows."""
    deadline = time.monotonic() + PATIENCE
    with app.engine.connect() as conn:
        while conn.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
            {"name": application_name},
        ).scalar():
            assert time.monotonic() < deadline, "PostgreSQL kept the killed worker's session"
            conn.rollback()
            time.sleep(0.05)


def test_the_worker_loop_survives_a_failed_batch(
    app: App,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A batch that fails (here: the database goes away mid-batch) rolled back; a running
    worker logs it and carries on, where ``--once`` reports it."""
    from sqlalchemy.exc import OperationalError

    from fairdeal.entrypoints import worker
    from fairdeal.services.deadlines import fire_due

    dispute_ids = seed_due_disputes(app, 3)
    clock.advance_to(SANDBOX_NOW)
    app.settings.worker_poll_seconds = 0.01
    stop = threading.Event()
    calls = []

    def flaky(ctx: object, *, limit: int) -> list[object]:
        calls.append(limit)
        if len(calls) == 1:
            raise OperationalError("UPDATE ...", {}, Exception("server closed the connection"))
        fired = fire_due(app.ctx, limit=limit)
        if not fired:
            stop.set()
        return list(fired)

    monkeypatch.setattr(worker, "fire_due", flaky)
    assert worker.run(app, stop=stop) == 3
    assert "firing a batch failed (1 in a row)" in caplog.text
    assert_each_fired_once(app, dispute_ids)

    calls.clear()
    with pytest.raises(OperationalError):
        worker.run(app, once=True)
