"""The one way a test gets an empty, migrated database: a fresh SQLite file in its folder, or
this test process's PostgreSQL schema truncated (``pg_base_url`` in conftest.py). Fixtures of
any scope call it with their own ``request``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text

from fairdeal.adapters.db import tables
from fairdeal.adapters.db.engine import make_engine
from fairdeal.adapters.db.migrate import alembic_config, upgrade

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextmanager
def pg_schema(prefix: str) -> Iterator[str]:
    """The URL of a new, empty schema of its own in the test PostgreSQL database (its
    connections' ``search_path``), dropped at the end. Skips when PostgreSQL is off."""
    base = os.environ.get("FAIRDEAL_TEST_PG_URL")
    if not base:
        pytest.skip("FAIRDEAL_TEST_PG_URL is not set")
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        try:
            yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
        finally:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    finally:
        admin.dispose()


def empty_database(request: pytest.FixtureRequest, folder: Path) -> str:
    """The URL of an empty database of the backend ``request.param`` names."""
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'fairdeal.db'}"
        engine = make_engine(url)
        upgrade(engine)
    else:
        url = request.getfixturevalue("pg_base_url")
        engine = make_engine(url)
        with engine.begin() as conn:
            names = ", ".join(t.name for t in tables.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
    engine.dispose()
    return url


def upgrade_to(engine: Engine, revision: str = "head") -> None:
    """Run Alembic's migrations on ``engine`` up to ``revision``, in one transaction."""
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


@contextmanager
def engine_at_revision(backend: str, folder: Path, revision: str) -> Iterator[Engine]:
    """An engine on a fresh database migrated only up to ``revision``, as a deployment made
    before the next migrations existed (for tests of those migrations' backfills); PostgreSQL
    in a schema of its own, dropped afterwards."""
    with ExitStack() as stack:
        if backend == "sqlite":
            engine = make_engine(f"sqlite:///{folder / 'legacy.db'}")
        else:
            engine = make_engine(stack.enter_context(pg_schema("fd_legacy")))
        upgrade_to(engine, revision)
        try:
            yield engine
        finally:
            engine.dispose()
