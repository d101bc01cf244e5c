"""Benchmark 1: dispute transitions over HTTP on PostgreSQL against pgbench's ceiling.

N closed-loop clients (1, 8, 32) each drive disputes through open -> the seller's solution ->
the buyer accepts it (the dispute closes and the refund is booked in the ledger), against two
``fairdeal serve`` processes. The baseline, in the same database a moment earlier: pgbench
running a refund-shaped transaction at the same client counts."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from typing import Any

from benchmarks import pgbench, seed
from benchmarks.common import (
    MemorySampler,
    drop_database,
    free_port,
    percentile,
    ratio,
    recreate_database,
    running,
    say,
    start_api,
    table,
    wait_ready,
    write_result,
)

CLIENTS = (1, 8, 32)
API_PROCESSES = 2


def run_loadgen(spec: dict[str, Any]) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(spec, handle)
        spec_path = handle.name
    out_path = spec_path.replace(".json", ".out.json")
    subprocess.run([sys.executable, "-m", "benchmarks.loadgen", spec_path, out_path], check=True)
    with open(out_path) as handle:
        result: dict[str, Any] = json.load(handle)
    return result


def jobs_for(shape: seed.Shape, first: int, count: int) -> list[dict[str, str]]:
    jobs = []
    for i in range(first, first + count):
        order = seed.order_id(i)
        jobs.append(
            {
                "order_id": order,
                "item_id": f"{order}_item_1",
                "file_id": seed.file_of(i),
                "buyer_token": seed.token_of(seed.buyer_id(seed.buyer_of(i, shape))),
                "seller_token": seed.token_of(seed.seller_id(seed.seller_of(i, shape))),
            }
        )
    return jobs


def main(
    *,
    seconds: int = 10,
    warmup: float = 2.0,
    clients: tuple[int, ...] = CLIENTS,
    keep: bool = False,
) -> dict[str, Any]:
    say("transitions: loading the database")
    url = recreate_database()
    engine = seed.prepare(url)
    per_run = 6000
    shape = seed.Shape(orders=per_run * (len(clients) + 1), disputes=0)
    load_times = seed.load(engine, shape, files=True)
    template = seed.build_templates()
    dispute_doc = json.dumps(template.dispute["doc"])
    engine.dispose()

    say("transitions: pgbench baseline (refund-shaped transaction)")
    pgbench.setup_refund_tables(url, disputes=100_000, accounts=200_000, doc=dispute_doc)
    script = pgbench.REFUND_SCRIPT.format(disputes=100_000, accounts=200_000)
    baseline = {}
    for n in clients:
        baseline[n] = pgbench.run(url, script, clients=n, seconds=seconds)
        say(f"  pgbench {n} clients: {baseline[n]['tps']} tps")
    pgbench.drop_refund_tables(url)

    say(f"transitions: {API_PROCESSES} API processes")
    apis = [start_api(url, free_port(), name=f"api{i}") for i in range(API_PROCESSES)]
    measured: dict[int, dict[str, Any]] = {}
    with running(apis), MemorySampler(apis) as memory:
        wait_ready(apis)
        next_order = 1
        # A short warm-up run, not recorded: imports, pools, caches.
        run_loadgen(
            {
                "mode": "lifecycle",
                "clients": 4,
                "ports": [a.port for a in apis],
                "warmup": 0,
                "duration": 2,
                "jobs": jobs_for(shape, next_order, 600),
            }
        )
        next_order += 600
        for n in clients:
            result = run_loadgen(
                {
                    "mode": "lifecycle",
                    "clients": n,
                    "ports": [a.port for a in apis],
                    "warmup": warmup,
                    "duration": seconds,
                    "jobs": jobs_for(shape, next_order, per_run),
                }
            )
            next_order += per_run
            measured[n] = result
            done = sum(len(v) for v in result["latencies_ms"].values())
            say(f"  {n} clients: {done / result['seconds']:.0f} transitions/s")
            if result["errors"]:
                say(f"  errors: {result['errors']} {result['error_samples'][:2]}")
    rows = []
    runs = []
    for n in clients:
        result = measured[n]
        every = [v for values in result["latencies_ms"].values() for v in values]
        per_second = len(every) / result["seconds"]
        base = baseline[n]
        entry = {
            "clients": n,
            "transitions_per_s": round(per_second, 1),
            "lifecycles_per_s": round(result["lifecycles"] / result["seconds"], 1),
            "p50_ms": round(percentile(every, 50), 2),
            "p99_ms": round(percentile(every, 99), 2),
            "by_step": {
                kind: {
                    "count": len(values),
                    "p50_ms": round(percentile(values, 50), 2),
                    "p99_ms": round(percentile(values, 99), 2),
                }
                for kind, values in result["latencies_ms"].items()
            },
            "errors": result["errors"],
            "ran_out_of_jobs": result["ran_out_of_jobs"],
            "pgbench": base,
            "ratio_to_pgbench": ratio(per_second, base["tps"]),
        }
        runs.append(entry)
        rows.append(
            [
                n,
                entry["transitions_per_s"],
                entry["p50_ms"],
                entry["p99_ms"],
                base["tps"],
                base["p50_ms"],
                base["p99_ms"],
                f"{entry['ratio_to_pgbench']:.0%}",
            ]
        )
    rendered = table(
        "Transitions over HTTP (open / solution / accept+refund) vs pgbench refund-shaped",
        ["clients", "trans/s", "p50 ms", "p99 ms", "pgbench tps", "pgb p50", "pgb p99", "ratio"],
        rows,
    )
    at8 = next((r for r in runs if r["clients"] == 8), None)
    data = {
        "load_seconds": load_times,
        "api_processes": API_PROCESSES,
        "load_generator": "async httpx, one process, one keep-alive connection per client",
        "seconds_per_run": seconds,
        "runs": runs,
        "memory": memory.summary(),
        "table": rendered,
        "targets": {
            "ratio_at_8_clients>=0.40": at8 is not None and at8["ratio_to_pgbench"] >= 0.40,
            "p99_at_8_clients<=50ms": at8 is not None and at8["p99_ms"] <= 50,
        },
    }
    write_result("transitions", data)
    if not keep:
        drop_database()
    return data


if __name__ == "__main__":
    main(seconds=int(sys.argv[1]) if len(sys.argv) > 1 else 10)
