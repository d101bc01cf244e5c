"""The job-queue baselines of the firing benchmark: PgQueuer and procrastinate (from PyPI, the
``bench`` dependency group) running no-op jobs, with 2 worker processes each, on the
benchmark's database. Both at their default worker settings (PgQueuer: batch of 10, psycopg
driver; procrastinate: concurrency 1, async task), the queue table ANALYZEd after enqueueing
(without it the planner's idea of an empty table makes PgQueuer's rate swing 4x).

Each worker process (``python -m benchmarks.queues pgqueuer|procrastinate DSN OUT``)
drains the queue and writes how many jobs it ran and when its first and last ran; the rate is
all jobs over the first-to-last span of the two workers together."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from benchmarks.common import MemorySampler, Proc, libpq_url, say, spawn

ENQUEUE_CHUNK = 10_000


def _analyze(url: str, tables: str) -> None:
    engine = create_engine(url)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text(f"ANALYZE {tables}"))
    engine.dispose()


def _run_workers(kind: str, url: str, workers: int, timeout: float) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix=f"fairdeal-{kind}-"))
    procs: list[Proc] = []
    for i in range(workers):
        out = folder / f"w{i}.json"
        cmd = [sys.executable, "-m", "benchmarks.queues", kind, libpq_url(url), str(out)]
        procs.append(spawn(f"{kind}{i}", cmd, dict(os.environ)))
    with MemorySampler(procs) as memory:
        for proc in procs:
            try:
                proc.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait()
    stats = []
    for i in range(workers):
        path = folder / f"w{i}.json"
        if not path.exists():
            raise RuntimeError(f"{kind} worker {i} wrote nothing: see {procs[i].log}")
        stats.append(json.loads(path.read_text()))
    done = sum(s["done"] for s in stats)
    first = min(s["first"] for s in stats if s["done"])
    last = max(s["last"] for s in stats if s["done"])
    return {
        "done": done,
        "jobs_per_s": round(done / (last - first), 1) if last > first else 0.0,
        "seconds_first_to_last": round(last - first, 2),
        "per_worker": [s["done"] for s in stats],
        "memory": memory.summary(),
    }


# --- PgQueuer -------------------------------------------------------------------------------


def run_pgqueuer(url: str, *, jobs: int, workers: int = 2, timeout: float = 300) -> dict[str, Any]:
    asyncio.run(_pgqueuer_setup(libpq_url(url), jobs))
    _analyze(url, "pgqueuer")
    say(f"  PgQueuer: {jobs} jobs queued; {workers} workers")
    result = _run_workers("pgqueuer", url, workers, timeout)
    result["jobs"] = jobs
    say(f"  PgQueuer: {result['done']} jobs at {result['jobs_per_s']}/s")
    return result


async def _pgqueuer_setup(dsn: str, jobs: int) -> None:
    import psycopg
    from pgqueuer.db import PsycopgDriver
    from pgqueuer.queries import Queries

    conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    queries = Queries(PsycopgDriver(conn))
    if not await queries.schema_is_installed():
        await queries.install()
    await queries.clear_queue()
    for lo in range(0, jobs, ENQUEUE_CHUNK):
        n = min(ENQUEUE_CHUNK, jobs - lo)
        await queries.enqueue(["noop"] * n, [None] * n, [0] * n)
    await conn.close()


async def _pgqueuer_worker(dsn: str, out: str) -> None:
    import psycopg
    from pgqueuer import PgQueuer
    from pgqueuer.db import PsycopgDriver
    from pgqueuer.models import Job
    from pgqueuer.types import QueueExecutionMode

    stats: dict[str, Any] = {"done": 0, "first": 0.0, "last": 0.0}
    conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    pgq = PgQueuer(PsycopgDriver(conn))

    @pgq.entrypoint("noop")
    async def noop(job: Job) -> None:
        now = time.time()
        if not stats["done"]:
            stats["first"] = now
        stats["last"] = now
        stats["done"] += 1

    await pgq.run(mode=QueueExecutionMode.drain, dequeue_timeout=timedelta(seconds=1))
    await conn.close()
    Path(out).write_text(json.dumps(stats))


# --- procrastinate --------------------------------------------------------------------------


def _procrastinate_app(dsn: str) -> Any:
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn))
    return app


def run_procrastinate(
    url: str, *, jobs: int, workers: int = 2, timeout: float = 300
) -> dict[str, Any]:
    asyncio.run(_procrastinate_setup(libpq_url(url), jobs))
    _analyze(url, "procrastinate_jobs")
    say(f"  procrastinate: {jobs} jobs queued; {workers} workers")
    result = _run_workers("procrastinate", url, workers, timeout)
    result["jobs"] = jobs
    say(f"  procrastinate: {result['done']} jobs at {result['jobs_per_s']}/s")
    return result


async def _procrastinate_setup(dsn: str, jobs: int) -> None:
    app = _procrastinate_app(dsn)

    @app.task(name="noop")  # type: ignore[untyped-decorator]
    async def noop() -> None:
        return None

    async with app.open_async():
        try:
            await app.schema_manager.apply_schema_async()
        except Exception as error:  # already there (a second run on the same database)
            if "already exists" not in str(error):
                raise
        for lo in range(0, jobs, ENQUEUE_CHUNK):
            n = min(ENQUEUE_CHUNK, jobs - lo)
            await noop.batch_defer_async(*([{}] * n))


async def _procrastinate_worker(dsn: str, out: str) -> None:
    app = _procrastinate_app(dsn)
    stats: dict[str, Any] = {"done": 0, "first": 0.0, "last": 0.0}

    @app.task(name="noop")  # type: ignore[untyped-decorator]
    async def noop() -> None:
        now = time.time()
        if not stats["done"]:
            stats["first"] = now
        stats["last"] = now
        stats["done"] += 1

    async with app.open_async():
        await app.run_worker_async(wait=False, install_signal_handlers=False)
    Path(out).write_text(json.dumps(stats))


if __name__ == "__main__":
    kind_, dsn_, out_ = sys.argv[1:4]
    worker = _pgqueuer_worker if kind_ == "pgqueuer" else _procrastinate_worker
    asyncio.run(worker(dsn_, out_))
