"""Shared fixtures. Database tests run on SQLite and on PostgreSQL (the ``db_url`` fixture is
parametrized); PostgreSQL comes from FAIRDEAL_TEST_PG_URL, which ``make test`` sets. When it is
set but the server does not answer, the PostgreSQL tests fail rather than skip: a green run
must mean both databases were tested."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))

from builders import T0
from databases import BACKENDS, empty_database
from fairdeal.adapters.clock import FixedClock
from fairdeal.adapters.db.engine import make_engine
from fairdeal.adapters.db.migrate import upgrade
from fairdeal.bootstrap import App, bootstrap
from fairdeal.config import Settings

PG_URL = os.environ.get("FAIRDEAL_TEST_PG_URL")


def _pg_schema_url(base: str, schema: str) -> str:
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def pg_base_url(worker_id: str) -> Iterator[str]:
    """A schema of our own in the test database, migrated once per test process."""
    if not PG_URL:
        pytest.skip("FAIRDEAL_TEST_PG_URL is not set")
    schema = f"fd_test_{worker_id}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = _pg_schema_url(PG_URL, schema)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: a fresh SQLite file, or the PostgreSQL schema truncated."""
    return empty_database(request, tmp_path)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def app(db_url: str, clock: FixedClock) -> Iterator[App]:
    """The engine wired to a real database and a clock the test moves."""
    application = bootstrap(Settings(database_url=db_url), clock=clock)
    yield application
    application.engine.dispose()
