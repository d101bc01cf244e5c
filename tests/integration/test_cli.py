"""The ``fairdeal`` command against real databases: schema upgrade and check, creating a user
whose token then authenticates, the worker's single pass, and the demo scenario."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import alembic.command
import pytest
from typer.testing import CliRunner

from builders import T0
from databases import pg_schema
from fairdeal.adapters.clock import SandboxClock
from fairdeal.adapters.db import migrate
from fairdeal.adapters.db.engine import make_engine
from fairdeal.bootstrap import App
from fairdeal.cli import app as cli
from fairdeal.domain.dispute import Role
from fairdeal.services.users import authenticate
from integration.support import assert_each_fired_once, seed_due_disputes

runner = CliRunner()


def fairdeal(db_url: str, *args: str) -> tuple[int, str]:
    """Run the command in-process; returns (exit code, stdout and stderr together)."""
    result = runner.invoke(cli, list(args), env={"FAIRDEAL_DATABASE_URL": db_url})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database nobody has migrated: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with pg_schema("fd_cli") as url:
        yield url


def test_db_check_fails_on_an_unmigrated_database_and_passes_after_upgrade(
    empty_db_url: str,
) -> None:
    code, output = fairdeal(empty_db_url, "db", "check")
    assert code == 2
    assert "run `fairdeal db upgrade` first" in output
    assert "at nothing" in output

    code, output = fairdeal(empty_db_url, "db", "upgrade")
    assert code == 0, output
    assert re.search(r"database at revision \w+", output)

    code, output = fairdeal(empty_db_url, "db", "check")
    assert code == 0, output
    assert "schema is current and matches the models" in output
    # Upgrading a current database is a no-op.
    assert fairdeal(empty_db_url, "db", "upgrade")[0] == 0


def test_upgrading_a_database_at_the_head_does_not_start_alembic(
    empty_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every `fairdeal serve` upgrades first: at the head that is one look at the version
    table, not Alembic's environment and every migration script (issue 16, start-up)."""
    engine = make_engine(empty_db_url)
    try:
        migrate.upgrade(engine)
        assert migrate.is_current(engine)

        def refuse(*args: object, **kwargs: object) -> None:
            raise AssertionError("alembic ran on a database already at the head")

        monkeypatch.setattr(alembic.command, "upgrade", refuse)
        migrate.upgrade(engine)
        assert migrate.pending(engine) == (migrate.head_revision(),) * 2
    finally:
        engine.dispose()


def test_the_head_revision_is_alembics() -> None:
    """``migrate.head_revision`` reads the scripts' revision lines without Alembic (start-up
    speed): it must name the head Alembic itself finds."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    assert migrate.head_revision() == ScriptDirectory.from_config(config).get_current_head()


def test_users_create_prints_a_token_that_authenticates(app: App, db_url: str) -> None:
    code, output = fairdeal(
        db_url, "users", "create", "--role", "buyer", "--name", "Ann", "--email", "Ann@x.test"
    )
    assert code == 0, output
    fields = dict(re.findall(r"^(\w+):\s+(\S+)$", output, re.MULTILINE))
    actor = authenticate(app.ctx, fields["token"])
    assert actor is not None
    assert (actor.user_id, actor.role) == (fields["id"], Role.BUYER)
    assert authenticate(app.ctx, fields["token"] + "x") is None


def test_users_create_refuses_an_unknown_role(db_url: str) -> None:
    code, output = fairdeal(
        db_url, "users", "create", "--role", "wizard", "--name", "M", "--email", "m@x.test"
    )
    assert code == 2 and "role must be one of" in output


def test_users_create_refuses_an_unmigrated_database(empty_db_url: str) -> None:
    code, output = fairdeal(
        empty_db_url, "users", "create", "--role", "buyer", "--name", "M", "--email", "m@x.test"
    )
    assert code == 2 and "fairdeal db upgrade" in output


def test_worker_once_fires_what_is_due_and_exits(app: App, db_url: str) -> None:
    dispute_ids = seed_due_disputes(app, 5)
    SandboxClock(app.engine).advance_to(T0 + timedelta(days=8))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRDEAL_")}
    env.update(FAIRDEAL_DATABASE_URL=db_url, FAIRDEAL_SANDBOX="true")
    command = [sys.executable, "-m", "fairdeal.cli", "worker", "--once"]

    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert first.returncode == 0, first.stderr
    assert "fired 5 deadline(s)" in first.stdout
    assert "fired 5 deadline(s), 5 in all" in first.stderr  # the log's line per batch
    assert_each_fired_once(app, dispute_ids)


def test_demo_scenario_runs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRDEAL_")}
    demo = subprocess.run(
        [sys.executable, "-m", "fairdeal.cli", "demo", "--print"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert demo.returncode == 0, demo.stderr
    assert "awaiting_seller_response" in demo.stdout
    assert "the clock fired" in demo.stdout
