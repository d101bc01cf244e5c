"""Benchmark 3: deadline firing on PostgreSQL with 2 worker processes, against PgQueuer and
procrastinate running no-op jobs with 2 worker processes each, in the same run on the same
database.

The backlog: N disputes whose seller's 7 days to answer ran out (seeded as the application
would store them, see seed.py). Each firing is the full transition -- the dispute closes on
the buyer's solution, a timeline entry, the refund booked in the order's ledger, the events
(the outbox the notification relay reads) -- in the workers' batch transactions.

When each firing happened: the bench database's ``events`` table gets a column
``bench_at DEFAULT clock_timestamp()`` (not in the application's schema: it is added here and
only here), so every event row carries the moment its insert ran, a moment before its commit.
Fire lag is measured on a second, live phase: after the backlog is gone, ``LIVE`` more
deadlines fall due over a few seconds while the workers run, and lag is the time from each
one's due moment to its event row."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Engine, text

from benchmarks import queues, seed
from benchmarks.common import (
    CpuMeter,
    MemorySampler,
    backend_pids,
    drop_database,
    percentile,
    ratio,
    recreate_database,
    running,
    say,
    start_worker,
    table,
    write_result,
)

WORKERS = 2
POLL_SECONDS = "0.25"  # the workers' idle poll (FAIRDEAL_WORKER_POLL_SECONDS): bounds the lag
LIVE = 2000  # deadlines falling due during the live phase
LIVE_SPREAD_SECONDS = 4.0


def instrument(engine: Engine) -> None:
    """The firing timestamps: a column the application does not know about, with a default."""
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE events ADD COLUMN IF NOT EXISTS bench_at timestamptz"))
        conn.execute(text("ALTER TABLE events ALTER COLUMN bench_at SET DEFAULT clock_timestamp()"))
        conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS bench_live (id text PRIMARY KEY,"
                " due_at timestamptz NOT NULL)"
            )
        )


def hold_back(engine: Engine, count: int) -> list[str]:
    """Take the last ``count`` due disputes out of the backlog (their stored due time moves a
    day ahead) for the live phase."""
    with engine.begin() as conn:
        ids = list(
            conn.execute(
                text(
                    "UPDATE disputes SET fire_at = now() + interval '1 day' WHERE id IN"
                    " (SELECT id FROM disputes WHERE fire_at <= now() ORDER BY id DESC"
                    " LIMIT :n) RETURNING id"
                ),
                {"n": count},
            ).scalars()
        )
    return ids


def due_now(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(text("SELECT count(*) FROM disputes WHERE fire_at <= now()")).scalar_one()
        )


def firing_times(engine: Engine, since: float) -> dict[str, Any]:
    """Firings since ``since`` (epoch seconds): how many, first and last (epoch seconds).
    A firing is a dispute with an event since then: the workers' payment processing writes
    events of the money movements too, which are not firings (counted as such before, the
    more movements a worker processed per loop, the more "firings" it seemed to make)."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT count(DISTINCT e.aggregate_id) FILTER (WHERE d.id IS NOT NULL),"
                " extract(epoch FROM min(e.bench_at) FILTER (WHERE d.id IS NOT NULL)),"
                " extract(epoch FROM max(e.bench_at) FILTER (WHERE d.id IS NOT NULL)),"
                " count(*) FROM events e LEFT JOIN disputes d ON d.id = e.aggregate_id"
                " WHERE e.bench_at >= to_timestamp(:since)"
            ),
            {"since": since},
        ).one()
    return {
        "fired": int(row[0]),
        "first": float(row[1] or 0),
        "last": float(row[2] or 0),
        "events": int(row[3]),
    }


def measure(
    url: str,
    engine: Engine,
    *,
    stop_after: int | None = None,
    timeout: float = 900.0,
    live: int | None = None,
) -> dict[str, Any]:
    """Run ``WORKERS`` worker processes over the backlog until it is gone (or until
    ``stop_after`` firings), then (``live``) let deadlines fall due under them for the lag."""
    live = LIVE if live is None else live
    instrument(engine)
    held = hold_back(engine, live) if live else []
    backlog = due_now(engine)
    target = min(backlog, stop_after) if stop_after else backlog
    say(f"firing: {backlog} due, firing {target} with {WORKERS} workers")
    extra = {"FAIRDEAL_WORKER_POLL_SECONDS": POLL_SECONDS}
    workers = [start_worker(url, f"worker{i}", relay=False, **extra) for i in range(WORKERS)]
    started = time.time()
    out: dict[str, Any] = {"backlog": backlog, "target": target, "workers": WORKERS}
    progress: list[tuple[float, int]] = []
    meter: CpuMeter | None = None
    metered_from = 0
    with running(workers), MemorySampler(workers) as memory:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(1.0)
            for w in workers:
                if w.popen.poll() is not None:
                    raise RuntimeError(f"{w.name} exited")
            done = backlog - due_now(engine)  # an index-only count; events have no index here
            progress.append((round(time.time() - started, 1), done))
            if meter is None and done:
                # Where the CPU goes, from the first batch on: the workers, their backends.
                meter = CpuMeter(
                    {"workers": [w.pid for w in workers], "postgres": backend_pids(url)}
                )
                metered_from = done
            if done >= target:
                break
        backlog_result = firing_times(engine, started)
        if meter is not None:
            cpu = meter.stop()
            metered = max(1, backlog_result["fired"] - metered_from)
            out["cpu_seconds"] = cpu
            out["cpu_ms_per_firing"] = {k: round(1000 * v / metered, 3) for k, v in cpu.items()}
        if live and held:
            out["live"] = live_phase(engine, held, timeout=60.0)
    elapsed = backlog_result["last"] - backlog_result["first"]
    out.update(
        {
            "fired": backlog_result["fired"],
            "events_written": backlog_result["events"],
            "firings_per_s": round(backlog_result["fired"] / elapsed, 1) if elapsed > 0 else 0.0,
            "seconds_first_to_last": round(elapsed, 2),
            "seconds_including_start": round(backlog_result["last"] - started, 2),
            "progress": progress,
            "memory": memory.summary(),
        }
    )
    say(
        f"firing: {out['fired']} fired at {out['firings_per_s']}/s"
        f" ({out['seconds_first_to_last']} s first to last); CPU ms per firing:"
        f" {out.get('cpu_ms_per_firing')}"
    )
    return out


def live_phase(engine: Engine, held: list[str], *, timeout: float) -> dict[str, Any]:
    """The held-back disputes fall due one after another over ``LIVE_SPREAD_SECONDS`` while
    the workers idle-poll; lag = each one's event row minus its due moment."""
    n = len(held)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE bench_live"))
        conn.execute(
            text(
                "WITH due AS (SELECT id, clock_timestamp() + interval '1 second'"
                " + (row_number() OVER (ORDER BY id)) * make_interval(secs => :spread / :n)"
                " AS due_at FROM disputes WHERE id = ANY(:ids))"
                " , moved AS (UPDATE disputes d SET fire_at = due.due_at FROM due"
                " WHERE d.id = due.id RETURNING d.id, due.due_at)"
                " INSERT INTO bench_live SELECT id, due_at FROM moved"
            ),
            {"ids": held, "spread": LIVE_SPREAD_SECONDS, "n": n},
        )
    deadline = time.monotonic() + timeout
    lags: list[float] = []
    while time.monotonic() < deadline:
        time.sleep(1.0)
        with engine.connect() as conn:
            lags = [
                float(v) * 1000
                for v in conn.execute(
                    text(
                        "SELECT extract(epoch FROM min(e.bench_at) - l.due_at) FROM bench_live l"
                        " JOIN events e ON e.aggregate_id = l.id AND e.bench_at > l.due_at"
                        " - interval '1 second' GROUP BY l.id, l.due_at"
                    )
                ).scalars()
            ]
        if len(lags) >= n:
            break
    result = {
        "deadlines": n,
        "fired": len(lags),
        "arrival_per_s": round(n / LIVE_SPREAD_SECONDS, 1),
        "poll_seconds": float(POLL_SECONDS),
        "lag_p50_ms": round(percentile(lags, 50), 1),
        "lag_p99_ms": round(percentile(lags, 99), 1),
        "lag_max_ms": round(max(lags), 1) if lags else float("nan"),
    }
    say(f"firing: live phase {result}")
    return result


def main(
    *, count: int = 40_000, baseline_jobs: int | None = None, keep: bool = False
) -> dict[str, Any]:
    """``count`` due deadlines (the issue's figure is 200,000: ``--count 200000``);
    ``baseline_jobs`` no-op jobs for PgQueuer (procrastinate gets an eighth: it is ~10x
    slower, and its rate is what is compared)."""
    baseline_jobs = baseline_jobs or min(count, 50_000)
    url = recreate_database()
    engine = seed.prepare(url)
    shape = seed.Shape(orders=count + LIVE, disputes=count + LIVE)
    say(f"firing: loading {shape.orders} orders with a due dispute each")
    load_times = seed.load(engine, shape)

    say("firing: baselines (no-op jobs, 2 worker processes each)")
    pgq = queues.run_pgqueuer(url, jobs=baseline_jobs, workers=WORKERS)
    proc = queues.run_procrastinate(url, jobs=max(2000, baseline_jobs // 8), workers=WORKERS)

    measured = measure(url, engine)
    size = None
    with engine.connect() as conn:
        size = int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
    engine.dispose()
    rows = [
        [
            "Fairdeal (full transition)",
            measured["fired"],
            measured["firings_per_s"],
            "1.0",
            f"{ratio(measured['firings_per_s'], pgq['jobs_per_s']):.0%}",
        ],
        ["PgQueuer 1.6 (no-op job)", pgq["done"], pgq["jobs_per_s"], "", ""],
        [
            "procrastinate 3.10 (no-op job)",
            proc["done"],
            proc["jobs_per_s"],
            f"{ratio(measured['firings_per_s'], proc['jobs_per_s']):.1f}x",
            "",
        ],
    ]
    rendered = table(
        f"Deadline firing, {WORKERS} worker processes each (Fairdeal: {measured['fired']} due)",
        ["system", "jobs", "per s", "Fairdeal / it", "Fairdeal / PgQueuer"],
        rows,
    )
    live = measured.get("live", {})
    if live:
        table(
            "Fire lag (deadlines falling due while the workers run)",
            ["deadlines", "arrival /s", "poll s", "p50 ms", "p99 ms", "max ms"],
            [
                [
                    live["deadlines"],
                    live["arrival_per_s"],
                    live["poll_seconds"],
                    live["lag_p50_ms"],
                    live["lag_p99_ms"],
                    live["lag_max_ms"],
                ]
            ],
        )
    data = {
        "count": count,
        "load_seconds": load_times,
        "fairdeal": measured,
        "pgqueuer": pgq,
        "procrastinate": proc,
        "ratio_to_pgqueuer": ratio(measured["firings_per_s"], pgq["jobs_per_s"]),
        "ratio_to_procrastinate": ratio(measured["firings_per_s"], proc["jobs_per_s"]),
        "database_bytes": size,
        "table": rendered,
        "targets": {
            "firings_per_s>=2000": measured["firings_per_s"] >= 2000,
            "faster_than_procrastinate_noop": measured["firings_per_s"] > proc["jobs_per_s"],
            "worker_peak_rss<=150MB": all(m["peak_mb"] <= 150 for m in measured["memory"].values()),
        },
    }
    # The default run is "firing"; the 200,000 (a flag) is kept beside it.
    write_result("firing" if count < 100_000 else f"firing-{count}", data)
    if not keep:
        drop_database()
    return data


if __name__ == "__main__":
    import sys

    print(json.dumps(main(count=int(sys.argv[1]) if len(sys.argv) > 1 else 40_000)["targets"]))
