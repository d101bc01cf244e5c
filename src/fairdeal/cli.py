"""The one command: ``fairdeal db upgrade|check``, ``users create``, ``audit verify``,
``worker``, ``demo``."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from fairdeal import logs
from fairdeal.bootstrap import App, bootstrap
from fairdeal.config import Settings
from fairdeal.domain.errors import DomainError, PolicyError
from fairdeal.entrypoints.payments_cli import payments_app

if TYPE_CHECKING:
    from fairdeal.metrics import WorkerMetrics

app = typer.Typer(help="Fairdeal: buyer protection and dispute resolution.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Users and API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
audit_app = typer.Typer(help="The tamper-evident record.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(payments_app, name="payments")  # fairdeal payments reconcile


def _quiet_libraries() -> None:
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _app(settings: Settings | None = None) -> App:
    _quiet_libraries()
    try:
        return bootstrap(settings)
    except PolicyError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None


@contextmanager
def _opened(settings: Settings | None = None) -> Iterator[App]:
    """The application for one command, its engines disposed at the end: a pooled PostgreSQL
    connection left to the garbage collector warns (and the CLI runs in-process in tests)."""
    application = _app(settings)
    try:
        yield application
    finally:
        application.dispose()


def _require_current_schema(application: App) -> None:
    current, head = application.schema_revisions()
    if current != head:
        typer.echo(
            f"error: the database schema is at {current or 'nothing'}, the code needs {head};"
            " run `fairdeal db upgrade` first",
            err=True,
        )
        raise typer.Exit(2)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations."""
    with _opened() as application:
        application.upgrade_schema()
        typer.echo(f"database at revision {application.schema_revisions()[0]}")


@db_app.command("check")
def db_check() -> None:
    """Fail when the database is behind the migrations or the models drifted from them."""
    with _opened() as application:
        _require_current_schema(application)
        diffs = application.schema_drift()
    if diffs:
        for diff in diffs:
            typer.echo(f"drift: {diff}", err=True)
        raise typer.Exit(1)
    typer.echo("schema is current and matches the models")


@users_app.command("create")
def users_create(
    role: str = typer.Option(..., help="buyer, seller, mediator, admin or platform"),
    name: str = typer.Option(...),
    email: str = typer.Option(...),
    country: str | None = typer.Option(None),
) -> None:
    """Create a user and print its API token (shown once)."""
    from fairdeal.services.users import create_user

    with _opened() as application:
        _require_current_schema(application)
        try:
            created = create_user(
                application.ctx, role=role, name=name, email=email, country=country
            )
        except DomainError as error:
            typer.echo(f"error: {error.detail}", err=True)
            raise typer.Exit(2) from None
    typer.echo(f"id:    {created.user.id}\nrole:  {created.user.role}\ntoken: {created.api_token}")


@audit_app.command("verify")
def audit_verify(
    show: int = typer.Option(20, help="how many broken chains to list"),
) -> None:
    """Walk every timeline and ledger hash chain from its genesis; exit 1 naming the first
    broken entry of each broken chain."""
    import time

    from fairdeal.services.audit import verify

    with _opened() as application:
        _require_current_schema(application)
        started = time.perf_counter()
        report = verify(application.ctx.audit_chains)
        elapsed = time.perf_counter() - started
    rate = report.entries / elapsed if elapsed > 0 else 0.0
    summary = (
        f"checked {report.entries} entries in {report.chains} chains"
        f" in {elapsed:.2f} s ({rate:,.0f} entries/s)"
    )
    if report.ok:
        typer.echo(f"{summary}: every chain verifies")
        return
    typer.echo(f"{summary}: {len(report.breaks)} broken chain(s)", err=True)
    for broken in report.breaks[:show]:
        typer.echo(f"BROKEN {broken}", err=True)
    if len(report.breaks) > show:
        typer.echo(f"... and {len(report.breaks) - show} more", err=True)
    raise typer.Exit(1)


@audit_app.command("verify-case-file")
def audit_verify_case_file(
    path: str = typer.Argument(
        ..., help="a case-<dispute id>.zip from GET /disputes/{id}/case-file"
    ),
) -> None:
    """Check a case file offline: every file's SHA-256 and size against manifest.json, no file
    missing or added, and the timeline's hash chain up to the manifest's head. Exit 1 naming
    the first problem."""
    from fairdeal.services.case_file import verify_case_file

    problems = verify_case_file(path)
    if problems:
        typer.echo(f"BROKEN {path}: {problems[0]}", err=True)
        for problem in problems[1:]:
            typer.echo(f"  also: {problem}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{path}: every file matches its manifest and the timeline chain verifies")


@app.command()
def whatif(
    policy: str = typer.Option(..., help="a preset (standard, classic) or a policy file"),
    since: str = typer.Option(..., help="replay disputes opened on or after this date"),
    as_json: bool = typer.Option(False, "--json", help="the whole report as JSON"),
) -> None:
    """Replay past disputes' recorded actions under another policy, in memory, and show how
    outcomes, refunds, escalations and durations would change (docs/whatif.md)."""
    import json
    from datetime import date

    from fairdeal.policies import load_policy
    from fairdeal.services.whatif import what_if

    try:
        chosen = load_policy(policy)
        start = date.fromisoformat(since)
    except (PolicyError, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    with _opened() as application:
        _require_current_schema(application)
        report = what_if(application.ctx, chosen, since=start).as_json()
    if as_json:
        typer.echo(json.dumps(report, indent=2, sort_keys=True))
        return
    typer.echo(
        f"what if under {report['policy']!r}: {report['disputes']} disputes since"
        f" {report['since']}, {report['replayed']} replayed"
        f" ({report['unreplayable']} recorded before inputs were kept), {report['changed']}"
        " would end differently"
    )
    recorded, replayed = report["recorded"], report["what_if"]
    rows = [("", "recorded", "what if")]
    for key in sorted(set(recorded["outcomes"]) | set(replayed["outcomes"])):
        rows.append(
            (
                f"outcome {key}",
                str(recorded["outcomes"].get(key, 0)),
                str(replayed["outcomes"].get(key, 0)),
            )
        )
    for currency in sorted(set(recorded["refunds"]) | set(replayed["refunds"])):
        rows.append(
            (
                f"refunds {currency}",
                recorded["refunds"].get(currency, "0"),
                replayed["refunds"].get(currency, "0"),
            )
        )
    rows.append(("escalated", str(recorded["escalated"]), str(replayed["escalated"])))
    rows.append(("median hours", str(recorded["median_hours"]), str(replayed["median_hours"])))
    width = max(len(r[0]) for r in rows)
    for label, before, after in rows:
        typer.echo(f"{label:<{width}}  {before:>12}  {after:>12}")
    changed = [d for d in report["details"] if d["changed"]]
    for d in changed[:20]:
        was, now = d["recorded"], d["what_if"]
        typer.echo(
            f"  {d['dispute_id']}: {was['result']} {was['refund']} ({was['decided_by']})"
            f" -> {now['result']} {now['refund']} ({now['decided_by']})"
        )


@app.command()
def worker(once: bool = typer.Option(False, help="fire what is due now, then exit")) -> None:
    """Fire due deadlines and relay notifications (email, webhooks, reminders) until
    stopped."""
    from fairdeal.entrypoints.worker import run

    logs.configure()  # one JSON object a line (fairdeal.logs)
    with _opened() as application:
        _require_current_schema(application)
        fired = run(application, once=once, metrics=_worker_metrics(application))
    typer.echo(f"fired {fired} deadline(s)")


def _worker_metrics(application: App) -> WorkerMetrics | None:
    """The worker's Prometheus metrics server, when FAIRDEAL_WORKER_METRICS_PORT is set."""
    from prometheus_client import start_http_server

    from fairdeal.metrics import DatabaseGauges, WorkerMetrics

    settings = application.settings
    if settings.worker_metrics_port is None:
        return None
    gauges = DatabaseGauges(
        application.engine, application.ctx.clock.now, settings.metrics_refresh_seconds
    )
    application.on_dispose.append(gauges.wait)
    metrics = WorkerMetrics(gauges)
    server, _ = start_http_server(
        settings.worker_metrics_port, settings.worker_metrics_host, registry=metrics.registry
    )
    logging.getLogger("fairdeal.worker").info(
        "metrics at http://%s:%d/metrics", settings.worker_metrics_host, server.server_port
    )
    return metrics


def _serve(application: App, host: str, port: int, *, with_worker: bool = False) -> None:
    import threading

    import uvicorn

    from fairdeal.entrypoints.api.app import create_app
    from fairdeal.entrypoints.worker import run as run_worker

    # The holiday calendars (performance.md): loaded beside start-up, not on the first
    # refund's request. This and the demo's worker start at once, beside the imports: started
    # once the server answered, they met the first requests instead and the first page came
    # later (serve 1.78 s against 1.54 s, the demo 3.66 s against 2.82 s; interleaved runs).
    threading.Thread(target=application.warm_up, daemon=True, name="fairdeal-warm-up").start()
    if with_worker:
        threading.Thread(
            target=run_worker, args=(application,), daemon=True, name="fairdeal-worker"
        ).start()
    uvicorn.run(
        create_app(application),
        host=host,
        port=port,
        log_level="info",
        access_log=False,
        log_config=logs.uvicorn_log_config(),
    )


def _prepare(application: App) -> None:
    """Start-up: apply pending migrations, then make sure the platform user exists."""
    from fairdeal.services.users import ensure_platform_user

    application.upgrade_schema()
    if application.settings.platform_token:
        ensure_platform_user(application.ctx, application.settings.platform_token)


@app.command()
def serve(
    host: str = typer.Option(None, help="default: FAIRDEAL_HOST or 127.0.0.1"),
    port: int = typer.Option(None, help="default: FAIRDEAL_PORT or 8000"),
) -> None:
    """Serve the HTTP API (applies pending migrations first)."""
    logs.configure()  # one JSON object a line (fairdeal.logs)
    application = _app()
    _prepare(application)
    _serve(application, host or application.settings.host, port or application.settings.port)


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    database: str = typer.Option("var/demo.db", help="SQLite file, recreated on every start"),
    print_only: bool = typer.Option(False, "--print", help="run the engine scenario, print it"),
) -> None:
    """The product on SQLite with demo data and the sandbox clock: API and worker in one
    process. Prints the accounts to use."""
    from pathlib import Path

    from fairdeal.demo import print_accounts, seed_sandbox

    if print_only:
        from fairdeal.demo import run_scenario

        run_scenario(sys.stdout)
        return
    logs.configure()  # one JSON object a line (fairdeal.logs)
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    # A local SMTP server catches the demo's email; /dev/mailbox shows it.
    from fairdeal.adapters.notifications.mailbox import MailCatcher

    catcher = MailCatcher().start()
    settings = Settings(
        database_url=f"sqlite:///{path}",
        sandbox=True,
        storage_dir=str(path.parent / "demo-files"),
        rate_limit_writes_per_minute=600,
        smtp_host=catcher.host,
        smtp_port=catcher.port,
        public_url=f"http://{host}:{port}",
    )
    application = _app(settings)
    application.mailbox = catcher
    _prepare(application)
    accounts = seed_sandbox(application)
    print_accounts(accounts, f"http://{host}:{port}", sys.stdout)
    sys.stdout.write(f"Email the demo sends: http://{host}:{port}/dev/mailbox\n\n")
    _serve(application, host, port, with_worker=True)


if __name__ == "__main__":  # pragma: no cover
    app()
