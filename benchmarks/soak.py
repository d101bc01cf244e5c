"""The memory soak (``python -m benchmarks soak``, not part of ``bench all``): for ``minutes``,
``clients`` HTTP clients drive dispute lifecycles against 2 API processes while 2
``fairdeal worker`` processes (with the notification relay) fire deadlines that keep falling
due (a held-back batch of due disputes is released every few seconds). The RSS of every
process is sampled every 5 s; the result is peak RSS per process and its growth between
the end of the first minute and the end of the run. Targets: API <= 200 MB, worker <= 150
MB, flat (no growth)."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import text

from benchmarks import seed
from benchmarks.common import (
    MemorySampler,
    drop_database,
    free_port,
    recreate_database,
    running,
    say,
    start_api,
    start_worker,
    table,
    wait_ready,
    write_result,
)
from benchmarks.transitions import API_PROCESSES, jobs_for, run_loadgen

RELEASE_EVERY = 5.0
RELEASE_BATCH = 500  # 100 deadlines a second fall due


def main(*, minutes: float = 10.0, clients: int = 8) -> dict[str, Any]:
    seconds = minutes * 60
    lifecycles = int(seconds * 120)  # more than 8 clients get through
    held = int(seconds / RELEASE_EVERY * RELEASE_BATCH) + RELEASE_BATCH
    shape = seed.Shape(orders=lifecycles + held, disputes=held)
    url = recreate_database()
    engine = seed.prepare(url)
    say(f"soak: loading {shape.orders} orders, {shape.disputes} due disputes")
    seed.load(engine, shape, files=True)
    with engine.begin() as conn:
        conn.execute(text("UPDATE disputes SET fire_at = fire_at + interval '30 days'"))
    apis = [start_api(url, free_port(), name=f"api{i}") for i in range(API_PROCESSES)]
    workers = [start_worker(url, f"worker{i}") for i in range(2)]
    stop = threading.Event()
    released = [0]

    def release() -> None:
        while not stop.wait(RELEASE_EVERY):
            with engine.begin() as conn:
                n = conn.execute(
                    text(
                        "UPDATE disputes SET fire_at = now() WHERE id IN (SELECT id FROM"
                        " disputes WHERE fire_at > now() + interval '20 days' ORDER BY id"
                        " LIMIT :n)"
                    ),
                    {"n": RELEASE_BATCH},
                ).rowcount
            released[0] += n

    # Jobs: only undisputed orders (every step-th order has the held dispute).
    jobs = [j for j in jobs_for(shape, 1, shape.orders) if int(j["order_id"][4:], 16) % shape.step]
    procs = [*apis, *workers]
    with running(procs), MemorySampler(procs, every=5.0) as memory:
        wait_ready(apis)
        releaser = threading.Thread(target=release, daemon=True)
        releaser.start()
        result = run_loadgen(
            {
                "mode": "lifecycle",
                "clients": clients,
                "ports": [a.port for a in apis],
                "warmup": 5,
                "duration": seconds,
                "jobs": jobs,
            }
        )
        stop.set()
        releaser.join()
    with engine.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM disputes WHERE fire_at <= now()")).scalar()
    engine.dispose()
    rows = []
    growth: dict[str, float] = {}
    for name, series in memory.samples.items():
        after_warmup = [v for t, v in series if t >= 60] or [v for _, v in series]
        growth[name] = round(after_warmup[-1] - after_warmup[0], 1)
        rows.append(
            [
                name,
                series[0][1],
                after_warmup[0],
                series[-1][1],
                round(memory.peaks.get(name, 0.0), 1),
                growth[name],
            ]
        )
    done = sum(len(v) for v in result["latencies_ms"].values())
    rendered = table(
        f"Soak: {minutes:g} min, {clients} clients, {done / result['seconds']:.0f} transitions/s,"
        f" {released[0]} deadlines released",
        ["process", "start MB", "at 1 min MB", "end MB", "peak MB", "growth after 1 min"],
        rows,
    )
    data = {
        "minutes": minutes,
        "clients": clients,
        "transitions_per_s": round(done / result["seconds"], 1),
        "errors": result["errors"],
        "deadlines_released": released[0],
        "due_left_at_end": left,
        "memory": memory.summary(),
        "samples": memory.samples,
        "growth_mb_after_first_minute": growth,
        "table": rendered,
        "targets": {
            "api_peak<=200MB": all(memory.peaks.get(a.name, 0) <= 200 for a in apis),
            "worker_peak<=150MB": all(memory.peaks.get(w.name, 0) <= 150 for w in workers),
        },
    }
    write_result("soak", data)
    drop_database()
    return data
