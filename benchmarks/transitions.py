"""Benchmark 1: dispute transitions over HTTP on PostgreSQL against pgbench's ceiling.

N closed-loop clients (1, 8, 32) each drive disputes through open -> the seller's solution ->
the buyer accepts it (the dispute closes and the refund is booked in the ledger), against two
``fairdeal serve`` processes. The baseline, in the same database a moment earlier: pgbench
running a refund-shaped transaction at the same client counts."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks import pgbench, seed
from benchmarks.common import (
    BENCH_DB,
    CpuSampler,
    MemorySampler,
    Proc,
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
    """Run the load generator in a process of its own; its result gains ``loadgen_cpu_s``, the
    CPU seconds the load generator itself used (on the same cores as the server)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(spec, handle)
        spec_path = handle.name
    out_path = spec_path.replace(".json", ".out.json")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "benchmarks.loadgen", spec_path, out_path], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out_path) as handle:
        result: dict[str, Any] = json.load(handle)
    result["loadgen_cpu_s"] = round(
        (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), 3
    )
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


# The sides of a run: this checkout ("after") and, with a baseline checkout, that one
# ("before"), measured against the same database, one after the other at each client count.
AFTER, BEFORE = "after", "before"
ROUNDS = 3


def lifecycle_spec(
    shape: seed.Shape, apis: Sequence[Proc], first: int, count: int, clients: int, **timing: float
) -> dict[str, Any]:
    return {
        "mode": "lifecycle",
        "clients": clients,
        "ports": [a.port for a in apis],
        "warmup": timing.get("warmup", 0),
        "duration": timing.get("duration", 2),
        "jobs": jobs_for(shape, first, count),
    }


def merged(earlier: dict[str, Any] | None, later: dict[str, Any]) -> dict[str, Any]:
    """Two rounds of the same side at the same client count, as one run."""
    if earlier is None:
        return later
    out = dict(later)
    for key in ("seconds", "lifecycles", "answered_in_all", "loadgen_cpu_s"):
        out[key] = earlier[key] + later[key]
    out["latencies_ms"] = {
        kind: earlier["latencies_ms"].get(kind, []) + later["latencies_ms"].get(kind, [])
        for kind in {*earlier["latencies_ms"], *later["latencies_ms"]}
    }
    out["errors"] = {
        kind: earlier["errors"].get(kind, 0) + later["errors"].get(kind, 0)
        for kind in {*earlier["errors"], *later["errors"]}
    }
    out["error_samples"] = earlier["error_samples"] + later["error_samples"]
    out["ran_out_of_jobs"] = earlier["ran_out_of_jobs"] or later["ran_out_of_jobs"]
    out["cpu_seconds"] = {
        key: earlier["cpu_seconds"][key] + later["cpu_seconds"][key] for key in later["cpu_seconds"]
    }
    return out


def cpu_per_lifecycle(result: dict[str, Any], cpu: dict[str, float]) -> dict[str, float]:
    """Milliseconds of CPU per lifecycle (three transitions): the API processes' and their
    PostgreSQL backends', over every request the run answered (warm-up and tail included, as
    the CPU was measured over the whole run)."""
    lifecycles = result["answered_in_all"] / 3
    if not lifecycles:
        nan = float("nan")
        return {"api_ms": nan, "postgres_ms": nan, "total_ms": nan, "loadgen_ms": nan}
    api, postgres = 1000 * cpu["api"] / lifecycles, 1000 * cpu["postgres"] / lifecycles
    return {
        "api_ms": round(api, 2),
        "postgres_ms": round(postgres, 2),
        "total_ms": round(api + postgres, 2),
        # Not in the total (not Fairdeal's cost), but on the same two cores: what bounds the
        # rate this machine can reach is all three together.
        "loadgen_ms": round(1000 * result["loadgen_cpu_s"] / lifecycles, 2),
    }


def main(
    *,
    seconds: int = 10,
    warmup: float = 2.0,
    clients: tuple[int, ...] = CLIENTS,
    keep: bool = False,
    baseline_checkout: Path | None = None,
) -> dict[str, Any]:
    """``baseline_checkout``: another checkout of Fairdeal with its own ``.venv`` (e.g. a
    worktree of ``main``), whose API processes run the same load in the same run, so that the
    CPU per lifecycle before and after a change is measured side by side."""
    sides: dict[str, Path | None] = {AFTER: None}
    if baseline_checkout is not None:
        sides = {BEFORE: baseline_checkout, AFTER: None}
    say("transitions: loading the database")
    url = recreate_database()
    engine = seed.prepare(url)
    per_run = 6000
    warm_jobs = 600
    needed = len(sides) * (per_run * len(clients) + warm_jobs)
    shape = seed.Shape(orders=needed + per_run, disputes=0)
    load_times = seed.load(engine, shape, files=True)
    template = seed.build_templates()
    dispute_doc = json.dumps(template.dispute["doc"])
    engine.dispose()
    urls: dict[str, str] = {AFTER: url}
    if baseline_checkout is not None:
        urls[BEFORE] = baseline_database(baseline_checkout, shape)

    say("transitions: pgbench baseline (refund-shaped transaction)")
    pgbench.setup_refund_tables(url, disputes=100_000, accounts=200_000, doc=dispute_doc)
    script = pgbench.REFUND_SCRIPT.format(disputes=100_000, accounts=200_000)
    baseline = {}
    for n in clients:
        baseline[n] = pgbench.run(url, script, clients=n, seconds=seconds)
        say(f"  pgbench {n} clients: {baseline[n]['tps']} tps")
    pgbench.drop_refund_tables(url)

    apis = {
        side: [
            start_api(urls[side], free_port(), name=f"{side}{i}", checkout=checkout)
            for i in range(API_PROCESSES)
        ]
        for side, checkout in sides.items()
    }
    every = [proc for procs in apis.values() for proc in procs]
    say(f"transitions: {API_PROCESSES} API processes per side ({', '.join(sides)})")
    measured: dict[str, dict[int, dict[str, Any]]] = {side: {} for side in sides}
    with running(every), MemorySampler(every) as memory:
        wait_ready(every)
        next_order = 1
        for side in sides:
            # A short warm-up run, not recorded: imports, pools, caches.
            run_loadgen(lifecycle_spec(shape, apis[side], next_order, warm_jobs, 4))
            next_order += warm_jobs
        for n in clients:
            # With a baseline, the sides take turns in short rounds, so that the other
            # sessions' load on a shared machine falls on both alike.
            rounds = ROUNDS if len(sides) > 1 else 1
            for _ in range(rounds):
                for side in sides:
                    spec = lifecycle_spec(
                        shape,
                        apis[side],
                        next_order,
                        per_run // rounds,
                        n,
                        warmup=warmup,
                        duration=seconds / rounds,
                    )
                    with CpuSampler(urls[side], {side: apis[side]}) as cpu:
                        result = run_loadgen(spec)
                    next_order += per_run // rounds
                    result["cpu_seconds"] = cpu.result[side]
                    measured[side][n] = merged(measured[side].get(n), result)
                    if result["errors"]:
                        say(f"  errors: {result['errors']} {result['error_samples'][:2]}")
            for side in sides:
                result = measured[side][n]
                result["cpu_per_lifecycle"] = cpu_per_lifecycle(result, result["cpu_seconds"])
                done = sum(len(v) for v in result["latencies_ms"].values())
                say(
                    f"  {side}, {n} clients: {done / result['seconds']:.0f} transitions/s,"
                    f" CPU per lifecycle {result['cpu_per_lifecycle']}"
                )
        floor = http_floor(apis[AFTER], clients=8, seconds=seconds)
        say(f"  the HTTP floor, /healthz at 8 clients: {floor['requests_per_s']} req/s")
    runs = {side: [summarize(measured[side][n], baseline[n]) for n in clients] for side in sides}
    floor["ratio_to_pgbench"] = (
        ratio(floor["requests_per_s"], baseline[8]["tps"]) if 8 in baseline else None
    )
    rows = [
        [
            r["clients"],
            r["transitions_per_s"],
            r["p50_ms"],
            r["p99_ms"],
            r["pgbench"]["tps"],
            r["pgbench"]["p50_ms"],
            r["pgbench"]["p99_ms"],
            f"{r['ratio_to_pgbench']:.0%}",
            r["cpu_per_lifecycle"]["total_ms"],
            r["cpu_per_lifecycle"]["loadgen_ms"],
        ]
        for r in runs[AFTER]
    ]
    rendered = table(
        "Transitions over HTTP (open / solution / accept+refund) vs pgbench refund-shaped",
        [
            "clients",
            "trans/s",
            "p50 ms",
            "p99 ms",
            "pgbench tps",
            "pgb p50",
            "pgb p99",
            "ratio",
            "CPU ms/lifecycle",
            "loadgen CPU ms",
        ],
        rows,
    )
    if floor["ratio_to_pgbench"] is not None:
        rendered += (
            f"\n\nThe HTTP floor: /healthz of the same API processes at 8 clients, "
            f"{floor['requests_per_s']} req/s (p99 {floor['p99_ms']} ms) = "
            f"{floor['ratio_to_pgbench']:.0%} of pgbench's {baseline[8]['tps']} tps"
        )
    cpu_ratio = None
    if BEFORE in runs:
        before_after = cpu_table(runs)
        rendered += "\n\n" + before_after["table"]
        cpu_ratio = before_after["ratio_at_8"]
    at8 = next((r for r in runs[AFTER] if r["clients"] == 8), None)
    data = {
        "load_seconds": load_times,
        "api_processes": API_PROCESSES,
        "load_generator": "async aiohttp, one process, one keep-alive connection per client",
        "seconds_per_run": seconds,
        "baseline_checkout": str(baseline_checkout) if baseline_checkout else None,
        "runs": runs[AFTER],
        "baseline_runs": runs.get(BEFORE),
        "http_floor_at_8": floor,
        "cpu_after_over_before_at_8": cpu_ratio,
        "memory": memory.summary(),
        "table": rendered,
        "targets": {
            "ratio_at_8_clients>=0.40": at8 is not None and at8["ratio_to_pgbench"] >= 0.40,
            "p99_at_8_clients<=50ms": at8 is not None and at8["p99_ms"] <= 50,
            "cpu_per_lifecycle_at_8<=half_of_baseline": cpu_ratio is not None and cpu_ratio <= 0.5,
        },
    }
    write_result("transitions", data)
    if not keep:
        drop_database()
    if BEFORE in urls:
        drop_database(BASELINE_DB)
    return data


BASELINE_DB = f"{BENCH_DB}_before"


def baseline_database(checkout: Path, shape: seed.Shape) -> str:
    """A database of the baseline side's own, migrated and loaded by the baseline checkout's
    code: an older checkout refuses to serve a database migrated past its own head (this
    one's migrations), so the two sides cannot share one. The same shape gives the same
    orders, users and tokens, so the same jobs drive both."""
    url = recreate_database(BASELINE_DB)
    say(f"transitions: loading the baseline's database with {checkout}'s code")
    load = (
        "import sys; from benchmarks import seed; "
        "e = seed.prepare(sys.argv[1]); "
        "seed.load(e, seed.Shape(orders=int(sys.argv[2]), disputes=0), files=True); e.dispose()"
    )
    python = checkout / ".venv" / "bin" / "python"
    subprocess.run([str(python), "-c", load, url, str(shape.orders)], cwd=checkout, check=True)
    return url


def http_floor(apis: Sequence[Proc], *, clients: int, seconds: int) -> dict[str, Any]:
    """The same API processes answering ``/healthz`` (no database, no auth, nothing but the HTTP
    path, the middlewares and the load generator) at ``clients`` clients: no transition, which
    is one such request plus its work, can be answered faster than this on this machine, so
    this says how much of pgbench's rate any transition could reach here."""
    result = run_loadgen(
        {
            "mode": "requests",
            "clients": clients,
            "ports": [a.port for a in apis],
            "warmup": 1,
            "duration": seconds,
            "requests": [["constant", "/healthz", "x"]],
        }
    )
    values = result["latencies_ms"].get("constant", [])
    answered = result["answered_in_all"]
    return {
        "clients": clients,
        "loadgen_cpu_ms_per_request": round(1000 * result["loadgen_cpu_s"] / answered, 3)
        if answered
        else None,
        "requests_per_s": round(len(values) / result["seconds"], 1),
        "p50_ms": round(percentile(values, 50), 2),
        "p99_ms": round(percentile(values, 99), 2),
    }


def summarize(result: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """One run's figures: rates, latencies by step, CPU per lifecycle, the pgbench ratio."""
    every = [v for values in result["latencies_ms"].values() for v in values]
    per_second = len(every) / result["seconds"]
    return {
        "clients": result["clients"],
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
        "cpu_seconds": result["cpu_seconds"],
        "cpu_per_lifecycle": result["cpu_per_lifecycle"],
        "errors": result["errors"],
        "ran_out_of_jobs": result["ran_out_of_jobs"],
        "pgbench": base,
        "ratio_to_pgbench": ratio(per_second, base["tps"]),
    }


def cpu_table(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """CPU per lifecycle before (the baseline checkout) and after, and their ratio."""
    rows = []
    at8 = None
    for before, after in zip(runs[BEFORE], runs[AFTER], strict=True):
        b, a = before["cpu_per_lifecycle"], after["cpu_per_lifecycle"]
        share = ratio(a["total_ms"], b["total_ms"])
        if after["clients"] == 8:
            at8 = share
        rows.append(
            [
                after["clients"],
                b["api_ms"],
                b["postgres_ms"],
                b["total_ms"],
                a["api_ms"],
                a["postgres_ms"],
                a["total_ms"],
                f"{share:.0%}",
                before["transitions_per_s"],
                after["transitions_per_s"],
            ]
        )
    rendered = table(
        "CPU per lifecycle (ms): API processes + their PostgreSQL backends, before and after",
        [
            "clients",
            "before API",
            "before PG",
            "before",
            "after API",
            "after PG",
            "after",
            "after/before",
            "before trans/s",
            "after trans/s",
        ],
        rows,
    )
    return {"table": rendered, "ratio_at_8": at8}


if __name__ == "__main__":
    main(seconds=int(sys.argv[1]) if len(sys.argv) > 1 else 10)
