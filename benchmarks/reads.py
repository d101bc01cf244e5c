"""Benchmark 2: reads over HTTP -- GET a dispute, GET the list of one's disputes -- at 16
concurrent clients, against a constant route of the same processes (``/healthz``: same
server, same middleware, no database) measured in the same run. Also checks the uvicorn
``--workers N`` delay (Kludex/uvicorn#3149) that the single-worker processes avoid."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks import seed
from benchmarks.common import (
    CpuSampler,
    MemorySampler,
    Proc,
    app_env,
    backend_name,
    drop_database,
    free_port,
    percentile,
    ratio,
    recreate_database,
    running,
    say,
    spawn,
    start_api,
    table,
    wait_ready,
    write_result,
)
from benchmarks.transitions import API_PROCESSES, run_loadgen

CLIENTS = 16
ACTIVE = 1000  # disputes (and their buyers) the clients pick from: spread over the whole range
KINDS = ("constant", "dispute", "list")


def read_requests(shape: seed.Shape, kinds: Sequence[str]) -> list[list[str]]:
    requests = []
    stride = max(1, shape.disputes // ACTIVE)
    for k in range(1, shape.disputes + 1, stride):
        i = k * shape.step
        token = seed.token_of(seed.buyer_id(seed.buyer_of(i, shape)))
        for kind in kinds:
            path = {
                "constant": "/healthz",
                "dispute": f"/api/v1/disputes/{seed.dispute_id(k)}",
                "list": "/api/v1/disputes",
            }[kind]
            requests.append([kind, path, token])
    return requests


def measure(
    shape: seed.Shape,
    apis: Sequence[Proc],
    *,
    seconds: int,
    clients: int = CLIENTS,
    url: str | None = None,
    kinds: Sequence[str] = KINDS,
) -> dict[str, Any]:
    """Each kind of read on its own, at ``clients`` concurrent clients. Given the database's
    ``url``, also the CPU each kind cost per request (API processes and their PostgreSQL
    backends, from /proc as in ``transitions``): the constant route's is the HTTP path's own."""
    out: dict[str, Any] = {}
    warm = run_loadgen(  # warm-up: pools, caches, the token cache
        {
            "mode": "requests",
            "clients": clients,
            "ports": [a.port for a in apis],
            "warmup": 0,
            "duration": 2,
            "requests": read_requests(shape, ["dispute", "list"]),
        }
    )
    for kind in kinds:
        spec = {
            "mode": "requests",
            "clients": clients,
            "ports": [a.port for a in apis],
            "warmup": 1,
            "duration": seconds,
            "requests": read_requests(shape, [kind]),
        }
        cpu = None
        if url is None:
            result = run_loadgen(spec)
        else:
            with CpuSampler(url, {"api": apis}) as cpu:
                result = run_loadgen(spec)
        values = result["latencies_ms"].get(kind, [])
        out[kind] = {
            "requests_per_s": round(len(values) / result["seconds"], 1),
            "p50_ms": round(percentile(values, 50), 2),
            "p99_ms": round(percentile(values, 99), 2),
            "errors": result["errors"],
            "answered": result["answered_in_all"],
        }
        if cpu is not None:
            # Over every request answered while sampled (warm-up and tail included).
            used, answered = cpu.result["api"], max(1, result["answered_in_all"])
            out[kind]["cpu_ms_per_request"] = {
                "api": round(1000 * used["api"] / answered, 3),
                "postgres": round(1000 * used["postgres"] / answered, 3),
            }
        say(f"  {kind}: {out[kind]}")
    out["warmup_answered"] = warm["answered_in_all"]
    return out


def uvicorn_workers_check(seconds: int = 3, clients: int = CLIENTS) -> dict[str, Any]:
    """The constant app under ``uvicorn --workers 2`` and under one single-worker process."""
    out = {}
    uvicorn = [sys.executable, "-m", "uvicorn", "benchmarks.constant_app:app"]
    quiet = ["--log-level", "warning", "--no-access-log", "--host", "127.0.0.1"]
    # uvloop (in this environment) sets TCP_NODELAY by the socket's family, so the bug shows
    # with the asyncio loop: both loops are measured.
    variants: tuple[tuple[str, list[str]], ...] = (
        ("uvicorn --workers 2 (uvloop)", ["--workers", "2"]),
        ("uvicorn --workers 2 --loop asyncio", ["--workers", "2", "--loop", "asyncio"]),
        ("uvicorn, 1 process (uvloop)", []),
        ("uvicorn, 1 process --loop asyncio", ["--loop", "asyncio"]),
    )
    for name, extra in variants:
        port = free_port()
        proc = spawn(
            "constant", [*uvicorn, *quiet, "--port", str(port), *extra], dict(os.environ), port
        )

        with running([proc]):
            wait_ready([proc])
            result = run_loadgen(
                {
                    "mode": "requests",
                    "clients": clients,
                    "ports": [port],
                    "warmup": 1,
                    "duration": seconds,
                    "requests": [["constant", "/healthz", "x"]],
                }
            )
        values = result["latencies_ms"].get("constant", [])
        out[name] = {
            "requests_per_s": round(len(values) / result["seconds"], 1),
            "p50_ms": round(percentile(values, 50), 2),
            "p99_ms": round(percentile(values, 99), 2),
        }
        say(f"  {name}: {out[name]}")
    return out


def start_granian(url: str, port: int, name: str) -> Proc:
    """The same application as ``start_api``'s, served by granian (one worker, one process
    per port like ``fairdeal serve``) instead of uvicorn."""
    granian = str(Path(sys.executable).with_name("granian"))
    cmd = [
        granian,
        "--interface",
        "asgi",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--loop",
        "uvloop",
        "--no-ws",
        "--log-level",
        "warning",
        "benchmarks.asgi_app:app",
    ]
    return spawn(name, cmd, app_env(url, PGAPPNAME=backend_name(name)), port)


def server_ab(url: str, shape: seed.Shape, *, seconds: int) -> dict[str, Any]:
    """GET dispute and the list under uvicorn (``fairdeal serve``) and under granian, on the
    same database a moment apart, with the CPU per request of the API processes and their
    PostgreSQL backends: whether ``serve`` should switch servers (issue 16)."""
    out: dict[str, Any] = {}
    servers: dict[str, Callable[[int], Proc]] = {
        "uvicorn": lambda i: start_api(url, free_port(), name=f"uvicorn{i}"),
        "granian": lambda i: start_granian(url, free_port(), f"granian{i}"),
    }
    for server, start in servers.items():
        apis = [start(i) for i in range(API_PROCESSES)]
        with running(apis):
            wait_ready(apis)
            with CpuSampler(url, {server: apis}) as cpu:
                measured = measure(shape, apis, seconds=seconds)
        # Over everything the processes answered while measured: the warm-up and each kind.
        answered = measured["warmup_answered"] + sum(measured[k]["answered"] for k in KINDS)
        used = cpu.result[server]
        measured["cpu_ms_per_request"] = {
            "api": round(1000 * used["api"] / answered, 3),
            "postgres": round(1000 * used["postgres"] / answered, 3),
        }
        out[server] = measured
        say(f"  {server}: CPU per request {measured['cpu_ms_per_request']}")
    return out


def _cpu_cell(measured: dict[str, Any]) -> str:
    cpu = measured.get("cpu_ms_per_request")
    return "" if cpu is None else f"{cpu['api']}, {cpu['postgres']}"


def report(label: str, measured: dict[str, Any]) -> list[list[Any]]:
    base = measured["constant"]
    rows = []
    for kind in KINDS:
        m = measured[kind]
        rows.append(
            [
                label,
                kind,
                m["requests_per_s"],
                m["p50_ms"],
                m["p99_ms"],
                f"{ratio(m['requests_per_s'], base['requests_per_s']):.0%}",
                _cpu_cell(m),
            ]
        )
    return rows


def measure_both(
    url: str, shape: seed.Shape, apis: Sequence[Proc], checkout: Path, *, seconds: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same reads served by another checkout's API processes (``--baseline-checkout``)
    and by this checkout's, on the same database, taking turns kind by kind: before, after,
    before, after (the first round of each warms its caches and PostgreSQL's; the second is
    kept), so that a change of the machine's load falls on both sides alike. The two share the
    database, so the checkout must be at this one's migration head (an older one refuses a
    database migrated past its own; ``transitions`` gives its baseline a database of its own)."""
    base = [
        start_api(url, free_port(), name=f"base{i}", checkout=checkout)
        for i in range(API_PROCESSES)
    ]
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    with running(base):
        wait_ready(base)
        for kind in KINDS:
            for _round in range(2):
                before.update(measure(shape, base, seconds=seconds, url=url, kinds=[kind]))
                after.update(measure(shape, apis, seconds=seconds, url=url, kinds=[kind]))
    return before, after


def main(
    *,
    seconds: int = 8,
    keep: bool = False,
    granian: bool = False,
    baseline_checkout: Path | None = None,
) -> dict[str, Any]:
    shape = seed.Shape(orders=10_000, disputes=2_000)
    say(f"reads: loading {shape.orders} orders, {shape.disputes} disputes")
    url = recreate_database()
    engine = seed.prepare(url)
    load_times = seed.load(engine, shape)
    engine.dispose()
    say("reads: the uvicorn --workers check")
    workers_check = uvicorn_workers_check()
    apis = [start_api(url, free_port(), name=f"api{i}") for i in range(API_PROCESSES)]
    baseline = None
    with running(apis), MemorySampler(apis) as memory:
        wait_ready(apis)
        if baseline_checkout is None:
            measured = measure(shape, apis, seconds=seconds, url=url)
        else:
            say(f"reads: taking turns with the same reads served from {baseline_checkout}")
            baseline, measured = measure_both(url, shape, apis, baseline_checkout, seconds=seconds)
    rendered = table(
        f"Reads at {CLIENTS} clients ({API_PROCESSES} API processes)",
        ["data", "request", "req/s", "p50 ms", "p99 ms", "vs constant", "CPU ms API, PG"],
        report(f"{shape.orders // 1000}k orders", measured),
    )
    if baseline is not None:
        rendered += "\n\n" + table(
            f"Before ({baseline_checkout}) and after (this checkout), the same run",
            ["side", "request", "req/s", "p50 ms", "p99 ms", "vs constant", "CPU ms API, PG"],
            report("before", baseline) + report("after", measured),
        )
    servers = None
    if granian:
        say("reads: uvicorn against granian, the same application")
        servers = server_ab(url, shape, seconds=seconds)
        rendered += "\n\n" + table(
            f"Servers at {CLIENTS} clients: the same application under uvicorn and granian",
            ["server", "request", "req/s", "p50 ms", "p99 ms", "vs constant", ""],
            [row for name, m in servers.items() for row in report(name, m)],
        )
        rendered += "\n" + "; ".join(
            f"{name}: CPU per request API {m['cpu_ms_per_request']['api']} ms,"
            f" PostgreSQL {m['cpu_ms_per_request']['postgres']} ms"
            for name, m in servers.items()
        )
    data = {
        "shape": shape.__dict__,
        "load_seconds": load_times,
        "clients": CLIENTS,
        "api_processes": API_PROCESSES,
        "reads": measured,
        "uvicorn_workers_check": workers_check,
        "servers": servers,
        "baseline_reads": baseline,
        "memory": memory.summary(),
        "table": rendered,
        "targets": {
            "p99_get_dispute<=25ms": measured["dispute"]["p99_ms"] <= 25,
            "p99_list_disputes<=25ms": measured["list"]["p99_ms"] <= 25,
            # Issue 16: a read costs at most twice the constant route of the same processes.
            "p99_get_dispute<=2x_constant": measured["dispute"]["p99_ms"]
            <= 2 * measured["constant"]["p99_ms"],
            "p99_list_disputes<=2x_constant": measured["list"]["p99_ms"]
            <= 2 * measured["constant"]["p99_ms"],
        },
    }
    write_result("reads", data)
    if not keep:
        drop_database()
    return data


if __name__ == "__main__":
    main()
