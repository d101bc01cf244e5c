"""Benchmark 4: the read and firing benchmarks at 10k orders / 2k disputes and at 1M orders /
200k disputes, in the same run. Target: p99 at 1M within 1.5x of p99 at 10k -- which holds
only if every hot query is bound by an index, not by the table's size. So this also runs
``EXPLAIN (ANALYZE, BUFFERS)`` of every statement the hot paths send at 1M (captured from
the application's own code as it runs: the token lookup, GET dispute, GET disputes for a
buyer and a seller, the mediator queue, a worker's batch) and writes them to
benchmarks/results/scale-explain.txt (docs/performance.md quotes them)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from benchmarks import firing, reads, seed
from benchmarks.common import (
    PLATFORM_TOKEN,
    MemorySampler,
    database_size,
    drop_database,
    free_port,
    ratio,
    recreate_database,
    results_dir,
    running,
    say,
    start_api,
    table,
    wait_ready,
    write_result,
)
from benchmarks.transitions import API_PROCESSES
from fairdeal.bootstrap import bootstrap
from fairdeal.config import Settings
from fairdeal.domain.roles import Actor, Role
from fairdeal.services import disputes, users
from fairdeal.services.deadlines import fire_due

FIRE = 20_000  # firings measured at each size (at most the backlog)
LIVE = 1000
SMALL = seed.Shape(orders=10_000, disputes=2_000)
# 200k open disputes, of which FIRE + LIVE are due now (the rest later: see seed.Shape.due).
LARGE = seed.Shape(orders=1_000_000, disputes=200_000, due=FIRE + LIVE)


def explain_hot_queries(url: str, shape: seed.Shape) -> str:
    """Capture the SQL of each hot path as the application sends it, then EXPLAIN ANALYZE
    every distinct statement (in a transaction rolled back; INSERTs are planned only)."""
    app = bootstrap(Settings(database_url=url, platform_token=PLATFORM_TOKEN))
    captured: list[tuple[str, str, Any]] = []
    label = ["?"]

    @event.listens_for(app.engine, "before_cursor_execute")
    def capture(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool):  # type: ignore[no-untyped-def]
        captured.append((label[0], statement, params[0] if many and params else params))

    ctx = app.ctx
    k = shape.disputes // 2
    i = k * shape.step
    buyer = Actor(seed.buyer_id(seed.buyer_of(i, shape)), Role.BUYER)
    seller = Actor(seed.seller_id(seed.seller_of(i, shape)), Role.SELLER)
    mediator = Actor("usr_platform", Role.MEDIATOR)
    steps: list[tuple[str, Callable[[], object]]] = [
        ("token lookup", lambda: users.authenticate(ctx, seed.token_of(buyer.user_id))),
        ("GET dispute", lambda: disputes.get_dispute(ctx, buyer, seed.dispute_id(k))),
        (
            "GET disputes (buyer)",
            lambda: disputes.list_disputes(ctx, buyer, status=None, after=None, limit=50),
        ),
        (
            "GET disputes (seller)",
            lambda: disputes.list_disputes(ctx, seller, status=None, after=None, limit=50),
        ),
        ("mediator queue", lambda: disputes.mediation_queue(ctx, mediator, after=None, limit=50)),
        ("worker batch (200)", lambda: fire_due(ctx, limit=200)),
    ]
    for name, step in steps:
        label[0] = name
        step()
    event.remove(app.engine, "before_cursor_execute", capture)
    seen: set[str] = set()
    out: list[str] = [
        f"EXPLAIN (ANALYZE, BUFFERS) at {shape.orders} orders / {shape.disputes} disputes\n"
    ]
    with app.engine.connect() as conn:
        for name, statement, params in captured:
            head = statement.lstrip().split(None, 1)[0].upper()
            if statement in seen or head in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT"):
                continue
            seen.add(statement)
            analyze = "ANALYZE, BUFFERS, " if head in ("SELECT", "UPDATE", "WITH") else ""
            trans = conn.begin()
            try:
                plan = conn.exec_driver_sql(
                    f"EXPLAIN ({analyze}COSTS OFF) {statement}", params or {}
                ).scalars()
                lines = list(plan)
            except Exception as error:  # a statement that cannot be explained as is
                lines = [f"(not explained: {type(error).__name__}: {error})"]
            finally:
                trans.rollback()
            out.append(f"-- {name}\n{' '.join(statement.split())}\n" + "\n".join(lines) + "\n")
    app.engine.dispose()
    rendered = "\n".join(out)
    path = results_dir() / "scale-explain.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rendered)
    say(f"scale: wrote {path}")
    return rendered


def one_size(shape: seed.Shape, *, seconds: int, explain: bool) -> dict[str, Any]:
    label = f"{shape.orders:,} orders / {shape.disputes:,} disputes"
    say(f"scale: loading {label}")
    url = recreate_database()
    engine = seed.prepare(url)
    started = time.perf_counter()
    load_times = seed.load(engine, shape)
    load_seconds = round(time.perf_counter() - started, 1)
    size = database_size(url)
    say(f"scale: loaded in {load_seconds} s; database {size / 2**20:.0f} MB")
    apis = [start_api(url, free_port(), name=f"api{i}") for i in range(API_PROCESSES)]
    with running(apis), MemorySampler(apis) as memory:
        wait_ready(apis)
        measured = reads.measure(shape, apis, seconds=seconds)
    plans = explain_hot_queries(url, shape) if explain else None
    fired = firing.measure(url, engine, live=LIVE)
    engine.dispose()
    return {
        "shape": shape.__dict__,
        "label": label,
        "load_seconds": load_seconds,
        "load_steps": load_times,
        "database_bytes": size,
        "reads": measured,
        "api_memory": memory.summary(),
        "firing": fired,
        "explain": plans,
    }


def main(*, seconds: int = 8, large: seed.Shape = LARGE, keep: bool = False) -> dict[str, Any]:
    small = one_size(SMALL, seconds=seconds, explain=False)
    big = one_size(large, seconds=seconds, explain=True)
    rows = []
    for kind in ("dispute", "list", "constant"):
        a, b = small["reads"][kind], big["reads"][kind]
        rows.append(
            [
                f"GET {kind}",
                a["requests_per_s"],
                a["p99_ms"],
                b["requests_per_s"],
                b["p99_ms"],
                f"{ratio(b['p99_ms'], a['p99_ms']):.2f}",
            ]
        )
    fa, fb = small["firing"], big["firing"]
    rows.append(
        [
            "firing (per s; lag p99)",
            fa["firings_per_s"],
            fa.get("live", {}).get("lag_p99_ms", float("nan")),
            fb["firings_per_s"],
            fb.get("live", {}).get("lag_p99_ms", float("nan")),
            f"{ratio(fb.get('live', {}).get('lag_p99_ms', 0), fa.get('live', {}).get('lag_p99_ms', 0)):.2f}",
        ]
    )
    rendered = table(
        f"Scale: {small['label']} vs {big['label']} ({reads.CLIENTS} clients, {API_PROCESSES} API processes)",
        ["benchmark", "small /s", "small p99 ms", "large /s", "large p99 ms", "p99 large/small"],
        rows,
    )
    say(f"scale: database at {big['label']}: {big['database_bytes'] / 2**20:,.0f} MB")
    p99_ratios = {
        kind: ratio(big["reads"][kind]["p99_ms"], small["reads"][kind]["p99_ms"])
        for kind in ("dispute", "list")
    }
    data = {
        "small": small,
        "large": big,
        "p99_ratio_large_to_small": p99_ratios,
        "table": rendered,
        "targets": {f"p99 {k} at 1M <= 1.5x at 10k": v <= 1.5 for k, v in p99_ratios.items()},
    }
    write_result("scale", data)
    if not keep:
        drop_database()
    return data


if __name__ == "__main__":
    main()
