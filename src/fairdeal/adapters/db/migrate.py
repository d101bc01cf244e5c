"""Schema migrations (Alembic), driven from code: ``fairdeal db upgrade`` and ``db check``."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from fairdeal.adapters.db.engine import begin
from fairdeal.adapters.db.tables import metadata

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported where a migration runs or the schema is compared, not here: a start-up
# on a database already at the head needs only the version table and the scripts' names
# (docs/performance.md, "Start-up").
MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

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
    from alembic import command

    config = alembic_config(engine)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(726201)"))
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


_REVISION = re.compile(r'^revision = "(\w+)"$', re.MULTILINE)
_DOWN_REVISION = re.compile(r'^down_revision = "(\w+)"$', re.MULTILINE)


@functools.cache
def head_revision() -> str | None:
    """The code's head revision, read once per process (the scripts do not change while it
    runs, and /readyz asks on every probe): the one revision no script names as its
    ``down_revision``. The chain has one head (a test holds this to Alembic's answer)."""
    revisions, parents = set(), set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        source = script.read_text()
        revisions.update(_REVISION.findall(source))
        parents.update(_DOWN_REVISION.findall(source))
    heads = revisions - parents
    if len(heads) > 1:
        raise RuntimeError(f"the migrations have more than one head: {sorted(heads)}")
    return heads.pop() if heads else None


def current_revision(engine: Engine) -> str | None:
    """The database's revision (None: never migrated)."""
    with begin(engine, write=False) as conn:
        found = None
        if inspect(conn).has_table("alembic_version"):
            found = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        conn.rollback()
    return None if found is None else str(found)


def pending(engine: Engine) -> tuple[str | None, str | None]:
    """(current revision, head revision) of the database."""
    return current_revision(engine), head_revision()


def is_current(engine: Engine) -> bool:
    current, head = pending(engine)
    return current == head


def drift(engine: Engine) -> list[object]:
    """Differences between the models and the migrated database (empty when in step)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
        conn.rollback()
    return list(diffs)
