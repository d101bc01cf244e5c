"""Markdown tables of the last results in benchmarks/results/ (``python -m
benchmarks.report``), for docs/performance.md: the figures there are pasted from this,
not typed."""

from __future__ import annotations

import json
import statistics
from typing import Any

from benchmarks.common import results_dir


def _load(name: str) -> dict[str, Any] | None:
    path = results_dir() / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _head(*names: str) -> list[str]:
    return [_row(list(names)), _row(["---"] * len(names))]


def _when(data: dict[str, Any]) -> str:
    m = data["machine"]
    load = ", ".join(f"{v:.1f}" for v in m["load_average"])
    return f"_{m['when']}, load average {load} at the end_"


def _mem(memory: dict[str, Any]) -> str:
    return ", ".join(
        f"{name} {m['first_mb']:.0f}→{m['last_mb']:.0f} MB (peak {m['peak_mb']:.0f})"
        for name, m in sorted(memory.items())
    )


def transitions(d: dict[str, Any]) -> list[str]:
    out = [_when(d), ""]
    out += _head(
        "clients",
        "transitions/s",
        "p50 ms",
        "p99 ms",
        "pgbench tps",
        "pgbench p50",
        "pgbench p99",
        "ratio",
    )
    for r in d["runs"]:
        b = r["pgbench"]
        out.append(
            _row(
                [
                    r["clients"],
                    r["transitions_per_s"],
                    r["p50_ms"],
                    r["p99_ms"],
                    b["tps"],
                    b["p50_ms"],
                    b["p99_ms"],
                    f"{r['ratio_to_pgbench']:.1%}",
                ]
            )
        )
    out += ["", f"Memory (RSS): {_mem(d['memory'])}"]
    return out


def reads(d: dict[str, Any]) -> list[str]:
    out = [_when(d), ""]
    out += _head("request", "req/s", "p50 ms", "p99 ms", "vs constant route")
    base = d["reads"]["constant"]["requests_per_s"]
    for kind, m in d["reads"].items():
        share = m["requests_per_s"] / base if base else float("nan")
        out.append(_row([kind, m["requests_per_s"], m["p50_ms"], m["p99_ms"], f"{share:.0%}"]))
    out += ["", "uvicorn check (constant app, 16 clients):", ""]
    out += _head("server", "req/s", "p50 ms", "p99 ms")
    for name, m in d["uvicorn_workers_check"].items():
        out.append(_row([name, m["requests_per_s"], m["p50_ms"], m["p99_ms"]]))
    out += ["", f"Memory (RSS): {_mem(d['memory'])}"]
    return out


def firing(d: dict[str, Any]) -> list[str]:
    f, q, p = d["fairdeal"], d["pgqueuer"], d["procrastinate"]
    out = [_when(d), ""]
    out += _head("system (2 worker processes)", "jobs", "per second", "Fairdeal ÷ it")
    out.append(_row(["Fairdeal: full transition", f["fired"], f["firings_per_s"], ""]))
    out.append(
        _row(["PgQueuer: no-op job", q["done"], q["jobs_per_s"], f"{d['ratio_to_pgqueuer']:.2f}"])
    )
    out.append(
        _row(
            [
                "procrastinate: no-op job",
                p["done"],
                p["jobs_per_s"],
                f"{d['ratio_to_procrastinate']:.1f}",
            ]
        )
    )
    live = f.get("live")
    if live:
        out += [
            "",
            f"Fire lag, {live['deadlines']} deadlines falling due at {live['arrival_per_s']}/s"
            f" (poll {live['poll_seconds']} s): p50 {live['lag_p50_ms']} ms,"
            f" p99 {live['lag_p99_ms']} ms, max {live['lag_max_ms']} ms.",
        ]
    cpu = f.get("cpu_ms_per_firing")
    if cpu:
        out += [
            "",
            f"CPU per firing: workers {cpu['workers']} ms, PostgreSQL {cpu['postgres']} ms.",
        ]
    out += ["", f"Worker memory (RSS): {_mem(f['memory'])}"]
    return out


def scale(d: dict[str, Any]) -> list[str]:
    s, b = d["small"], d["large"]
    out = [_when(d), ""]
    out += _head(
        "",
        f"{s['label']}: /s",
        "p50 ms",
        "p99 ms",
        f"{b['label']}: /s",
        "p50 ms",
        "p99 ms",
        "p99 ratio",
    )
    for kind in ("dispute", "list", "constant"):
        x, y = s["reads"][kind], b["reads"][kind]
        r = y["p99_ms"] / x["p99_ms"] if x["p99_ms"] else float("nan")
        out.append(
            _row(
                [
                    f"GET {kind}",
                    x["requests_per_s"],
                    x["p50_ms"],
                    x["p99_ms"],
                    y["requests_per_s"],
                    y["p50_ms"],
                    y["p99_ms"],
                    f"{r:.2f}",
                ]
            )
        )
    fx, fy = s["firing"], b["firing"]
    lx, ly = fx.get("live", {}), fy.get("live", {})
    out.append(
        _row(
            [
                "firing (per s; lag p50, p99)",
                fx["firings_per_s"],
                lx.get("lag_p50_ms", "-"),
                lx.get("lag_p99_ms", "-"),
                fy["firings_per_s"],
                ly.get("lag_p50_ms", "-"),
                ly.get("lag_p99_ms", "-"),
                "",
            ]
        )
    )
    out += [
        "",
        f"Load: {s['label']} in {s['load_seconds']} s; {b['label']} in {b['load_seconds']} s"
        f" ({b['load_steps']}). Database size: {s['database_bytes'] / 2**20:,.0f} MB and"
        f" {b['database_bytes'] / 2**20:,.0f} MB.",
    ]
    return out


def embedded(d: dict[str, Any]) -> list[str]:
    out = [_when(d), ""]
    out += _head(
        "system (one process)", "lifecycles", "per second", "p50 ms", "p99 ms", "vs Tryton"
    )
    t = d["tryton"]["lifecycles_per_s"]
    for name, key in (
        ("Fairdeal, SQLite file", "fairdeal_sqlite_file"),
        ("Fairdeal, SQLite :memory:", "fairdeal_sqlite_memory"),
    ):
        m = d[key]
        out.append(
            _row(
                [
                    name,
                    m["lifecycles"],
                    m["lifecycles_per_s"],
                    m["p50_ms"],
                    m["p99_ms"],
                    f"{m['lifecycles_per_s'] / t:.0f}×",
                ]
            )
        )
    tr = d["tryton"]
    out.append(
        _row(
            [
                "Tryton sale_complaint, :memory:",
                tr["lifecycles"],
                tr["lifecycles_per_s"],
                tr["p50_ms"],
                tr["p99_ms"],
                "1×",
            ]
        )
    )
    return out


def soak(d: dict[str, Any]) -> list[str]:
    out = [_when(d), ""]
    out += _head("process", "start MB", "at 1 min MB", "end MB", "peak MB", "growth after 1 min")
    for name, series in sorted(d["samples"].items()):
        after = [v for t, v in series if t >= 60] or [v for _, v in series]
        peak = d["memory"][name]["peak_mb"]
        out.append(
            _row(
                [name, series[0][1], after[0], series[-1][1], peak, f"{after[-1] - after[0]:+.1f}"]
            )
        )
    out += [
        "",
        f"{d['minutes']} min, {d['clients']} clients, {d['transitions_per_s']} transitions/s,"
        f" {d['deadlines_released']} deadlines released, {d['due_left_at_end']} of them still"
        f" due at the end, HTTP errors {d['errors'] or 'none'}.",
    ]
    return out


def pages(d: dict[str, Any]) -> list[str]:
    out = [_when(d), ""]
    from benchmarks.pages import COLUMNS

    out += _head(*COLUMNS)
    json_p95 = next(iter(d["pages"].values()))["p95_ms"]  # the JSON read is measured first
    for kind, m in d["pages"].items():
        share = m["p95_ms"] / json_p95 if json_p95 else float("nan")
        cells = [kind, m["requests_per_s"], m["p50_ms"], m["p95_ms"], m["p99_ms"]]
        cpu = m["cpu_ms_per_request"]
        out.append(_row([*cells, f"{share:.1f}×", cpu["api"], cpu["postgres"]]))
    out += [
        "",
        f"{d['clients']} signed-in users, {d['api_processes']} API processes,"
        f" {d['under_review']} disputes in the mediator queue.",
        f"Memory (RSS): {_mem(d['memory'])}",
    ]
    return out


def login(d: dict[str, Any]) -> list[str]:
    out = [_when(d), ""]
    out += _head("password check", "runs", "median ms", "p95 ms")
    for name, v in d["verify"].items():
        out.append(_row([name, v["runs"], v["median_ms"], v["p95_ms"]]))
    out += ["", *_head("request", "req/s", "p50 ms", "p95 ms", "p99 ms")]
    for kind, m in d["pages"].items():
        out.append(_row([kind, m["requests_per_s"], m["p50_ms"], m["p95_ms"], m["p99_ms"]]))
    out += ["", f"{d['clients']} clients, {d['api_processes']} API processes."]
    return out


def startup(d: dict[str, Any]) -> list[str]:
    out = [_when(d), ""]
    out += _head("what", "min s", "median s", "max s", "CPU s (median)")
    for name, key in (
        ("fairdeal demo → first page", "demo"),
        ("fairdeal serve → first page", "serve"),
        ("baseline: python + imports", "baseline"),
    ):
        wall = d[f"{key}_s"]
        cells = (min(wall), statistics.median(wall), max(wall))
        cpu = d.get(f"{key}_cpu_s")  # results written before the CPU was recorded lack it
        out.append(
            _row(
                [
                    name,
                    *(f"{v:.2f}" for v in cells),
                    f"{statistics.median(cpu):.2f}" if cpu else "-",
                ]
            )
        )
    out += ["", f"{d['runs']} runs of each."]
    return out


def main() -> None:
    for name, render in (
        ("transitions", transitions),
        ("reads", reads),
        ("firing", firing),
        ("scale", scale),
        ("embedded", embedded),
        ("soak", soak),
        ("pages", pages),
        ("login", login),
        ("startup", startup),
    ):
        data = _load(name)
        if data is None:
            continue
        print(f"### {name}\n")
        print("\n".join(render(data)))
        targets = data.get("targets", {})
        if targets:
            print(
                "\nTargets: "
                + "; ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in targets.items())
            )
        print()


if __name__ == "__main__":
    main()
