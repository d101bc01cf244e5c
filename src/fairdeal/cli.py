"""The one command: ``fairdeal db upgrade|check``, ``users create``, ``worker``, ``demo``."""

from __future__ import annotations

import logging
import sys

import typer

from fairdeal.bootstrap import App, bootstrap
from fairdeal.config import Settings
from fairdeal.domain.errors import DomainError, PolicyError

app = typer.Typer(help="Fairdeal: buyer protection and dispute resolution.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Users and API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")


def _app(settings: Settings | None = None) -> App:
    try:
        return bootstrap(settings)
    except PolicyError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None


def _require_current_schema(application: App) -> None:
    from fairdeal.adapters.db.migrate import pending

    current, head = pending(application.engine)
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
    from fairdeal.adapters.db.migrate import pending, upgrade

    application = _app()
    upgrade(application.engine)
    typer.echo(f"database at revision {pending(application.engine)[0]}")


@db_app.command("check")
def db_check() -> None:
    """Fail when the database is behind the migrations or the models drifted from them."""
    from fairdeal.adapters.db.migrate import drift

    application = _app()
    _require_current_schema(application)
    diffs = drift(application.engine)
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

    application = _app()
    _require_current_schema(application)
    try:
        created = create_user(application.ctx, role=role, name=name, email=email, country=country)
    except DomainError as error:
        typer.echo(f"error: {error.detail}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"id:    {created.user.id}\nrole:  {created.user.role}\ntoken: {created.api_token}")


@app.command()
def worker(once: bool = typer.Option(False, help="fire what is due now, then exit")) -> None:
    """Fire due deadlines (and, later, relay notifications) until stopped."""
    from fairdeal.entrypoints.worker import run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    application = _app()
    _require_current_schema(application)
    fired = run(application, once=once)
    typer.echo(f"fired {fired} deadline(s)")


@app.command()
def demo() -> None:
    """Run the engine's demo scenario on a fresh SQLite database and print what happened."""
    from fairdeal.demo import run_scenario

    run_scenario(sys.stdout)


if __name__ == "__main__":  # pragma: no cover
    app()
