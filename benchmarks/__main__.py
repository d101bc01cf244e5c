"""``python -m benchmarks ...``: the benchmarks (docs/performance.md). Each prints a table, writes
JSON to benchmarks/results/ and measures its baseline in the same run. They need the
PostgreSQL server at FAIRDEAL_BENCH_PG_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/
postgres), where they create and drop a database of their own (FAIRDEAL_BENCH_DB,
default fairdeal_bench). Imports are inside the commands: the CLI starts fast without them."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

bench_app = typer.Typer(
    help="Benchmarks against PostgreSQL's own ceiling (docs/performance.md); never tests.",
    no_args_is_help=True,
)

SECONDS = typer.Option(10, help="measured seconds per run")


BASELINE_CHECKOUT = typer.Option(
    None,
    help="another checkout with its own .venv (e.g. a worktree of main, `uv sync` there) "
    "whose API processes run the same load in the same run: CPU per lifecycle before/after",
)


@bench_app.command("transitions")
def transitions(seconds: int = SECONDS, baseline_checkout: Path | None = BASELINE_CHECKOUT) -> None:
    """Dispute transitions over HTTP at 1, 8, 32 clients vs pgbench (refund-shaped), with the
    CPU per lifecycle (API processes and their PostgreSQL backends)."""
    from benchmarks import transitions as bench

    bench.main(seconds=seconds, baseline_checkout=baseline_checkout)


@bench_app.command("reads")
def reads(
    seconds: int = typer.Option(8, help="measured seconds per kind of read"),
    granian: bool = typer.Option(False, help="also the same reads under granian (A/B)"),
    baseline_checkout: Path | None = BASELINE_CHECKOUT,
) -> None:
    """GET dispute and GET disputes at 16 clients vs a constant route."""
    from benchmarks import reads as bench

    bench.main(seconds=seconds, granian=granian, baseline_checkout=baseline_checkout)


@bench_app.command("firing")
def firing(
    count: int = typer.Option(40_000, help="due deadlines (the issue's figure: 200000)"),
    baseline_jobs: int = typer.Option(0, help="PgQueuer no-op jobs (0: min(count, 50000))"),
) -> None:
    """Deadline firing with 2 workers vs PgQueuer and procrastinate no-op jobs."""
    from benchmarks import firing as bench

    bench.main(count=count, baseline_jobs=baseline_jobs or None)


@bench_app.command("scale")
def scale(seconds: int = typer.Option(8, help="measured seconds per kind of read")) -> None:
    """Reads and firing at 10k and at 1M orders / 200k disputes; EXPLAIN of the hot queries."""
    from benchmarks import scale as bench

    bench.main(seconds=seconds)


@bench_app.command("embedded")
def embedded(seconds: float = typer.Option(8.0, help="measured seconds per system")) -> None:
    """The lifecycle in one process on SQLite vs Tryton sale_complaint (proteus)."""
    from benchmarks import embedded as bench

    bench.main(seconds=seconds)


@bench_app.command("soak")
def soak(
    minutes: float = typer.Option(10.0, help="how long"),
    clients: int = typer.Option(8, help="concurrent HTTP clients"),
) -> None:
    """Memory over a long run: transitions over HTTP with 2 workers firing, RSS sampled."""
    from benchmarks import soak as bench

    bench.main(minutes=minutes, clients=clients)


@bench_app.command("audit")
def audit(
    entries: int = typer.Option(200_000, help="timeline entries, and as many ledger entries"),
    runs: int = typer.Option(3, help="runs per measurement (the best is reported)"),
    postgres: bool = typer.Option(True, help="also on PostgreSQL (else SQLite only)"),
) -> None:
    """audit verify's entries/s on SQLite and PostgreSQL vs a plain SELECT of the same rows
    (docs/audit.md)."""
    from benchmarks import audit as bench

    bench.main(entries=entries, runs=runs, postgres=postgres)


@bench_app.command("notifications")
def notifications(
    disputes: int = typer.Option(400, help="disputes whose events are fanned out and sent"),
    kills: int = typer.Option(30, help="workers SIGKILLed while relaying webhooks"),
    kill_disputes: int = typer.Option(40, help="disputes in the kill test"),
    seed: int = typer.Option(20261126, help="seed of the kill points"),
    pg: str | None = typer.Option(
        None, envvar="FAIRDEAL_TEST_PG_URL", help="also on this PostgreSQL (else SQLite only)"
    ),
) -> None:
    """The notification relay's delivery rates and its kill test (docs/notifications.md)."""
    from benchmarks import notifications as bench

    bench.main(disputes=disputes, kills=kills, kill_disputes=kill_disputes, kill_seed=seed, pg=pg)


@bench_app.command("startup")
def startup(runs: int = typer.Option(5, help="starts of each command")) -> None:
    """fairdeal demo and fairdeal serve until their first page answers, vs the bare imports."""
    from benchmarks import startup as bench

    bench.main(runs=runs)


@bench_app.command("login")
def login(
    seconds: int = typer.Option(8, help="measured seconds of sign-ins"),
    runs: int = typer.Option(40, help="password checks timed in this process"),
) -> None:
    """One password check's cost, and GET/POST /login at 4 clients."""
    from benchmarks import login as bench

    bench.main(seconds=seconds, runs=runs)


@bench_app.command("pages")
def pages(seconds: int = typer.Option(8, help="measured seconds per page")) -> None:
    """Dispute page, seller inbox, mediator queue at 8 signed-in users vs the JSON read."""
    from benchmarks import pages as bench

    bench.main(seconds=seconds)


@bench_app.command("all")
def run_all(
    firing_count: int = typer.Option(40_000, help="due deadlines for the firing benchmark"),
    baseline_checkout: Path | None = BASELINE_CHECKOUT,
) -> None:
    """All of them but the soak, the audit and the notifications, one after another (about
    14 minutes on 2 cores; the issue's 200,000 deadlines are `python -m benchmarks firing
    --count 200000`, about 4 minutes more)."""
    from benchmarks import embedded as embedded_bench
    from benchmarks import firing as firing_bench
    from benchmarks import login as login_bench
    from benchmarks import pages as pages_bench
    from benchmarks import reads as reads_bench
    from benchmarks import scale as scale_bench
    from benchmarks import startup as startup_bench
    from benchmarks import transitions as transitions_bench
    from benchmarks.common import say

    started = time.monotonic()
    steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        (
            "transitions",
            lambda: transitions_bench.main(seconds=8, baseline_checkout=baseline_checkout),
        ),
        ("reads", lambda: reads_bench.main(seconds=6)),
        ("firing", lambda: firing_bench.main(count=firing_count)),
        ("scale", lambda: scale_bench.main(seconds=6)),
        ("embedded", lambda: embedded_bench.main(seconds=6)),
        ("pages", lambda: pages_bench.main(seconds=6)),
        ("login", lambda: login_bench.main(seconds=6)),
        ("startup", lambda: startup_bench.main(runs=5)),
    ]
    summary = []
    for name, step in steps:
        t0 = time.monotonic()
        data = step()
        summary.append((name, round(time.monotonic() - t0), data.get("targets", {})))
    for name, took, targets in summary:
        say(
            f"{name} ({took} s): "
            + ", ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in targets.items())
        )
    say(f"bench all: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    bench_app(prog_name="python -m benchmarks")
