"""Schema migrations (Alembic), driven from code: ``fairdeal db upgrade`` and ``db check``."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from fairdeal.adapters.db.engine import begin
from fairdeal.adapters.db.tables import metadata

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic's config is a ConfigParser, which reads "%" as interpolation: a URL with
    # percent-encoding (a password, or ``options=-csearch_path%3D...``) must be escaped.
    url = engine.url.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine) -> None:
    """Apply pending migrations. On PostgreSQL an advisory lock makes concurrent start-ups of
    several processes take turns instead of racing to create the same tables. A database
    already at the head is only looked at: every ``fairdeal serve`` starts here, and loading
    Alembic's environment to find nothing to do was a good part of its start-up."""
    if is_current(engine):
        return
    config = alembic_config(engine)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(726201)"))
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


@functools.cache
def head_revision() -> str | None:
    """The code's head revision, read from the migration scripts once per process: they do
    not change while it runs, and /readyz asks on every probe."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def pending(engine: Engine) -> tuple[str | None, str | None]:
    """(current revision, head revision) of the database."""
    head = head_revision()
    with begin(engine, write=False) as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current, head


def is_current(engine: Engine) -> bool:
    current, head = pending(engine)
    return current == head


def drift(engine: Engine) -> list[object]:
    """Differences between the models and the migrated database (empty when in step)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
        conn.rollback()
    return list(diffs)
