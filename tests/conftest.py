"""Shared fixtures. Database tests run on SQLite and on PostgreSQL (the ``db_url`` fixture is
parametrized); PostgreSQL comes from FAIRDEAL_TEST_PG_URL, which ``make test`` sets. When it is
set but the server does not answer, the PostgreSQL tests fail rather than skip: a green run
must mean both databases were tested."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from builders import T0
from databases import BACKENDS, empty_database, pg_schema
from fairdeal.adapters.clock import FixedClock
from fairdeal.adapters.db.engine import make_engine
from fairdeal.adapters.db.migrate import upgrade
from fairdeal.bootstrap import App, bootstrap
from fairdeal.config import Settings
from leaks import name_the_opener_of_leaked_connections

name_the_opener_of_leaked_connections()


@pytest.fixture(scope="session")
def pg_base_url(worker_id: str) -> Iterator[str]:
    """A schema of our own in the test database, migrated once per test process."""
    with pg_schema(f"fd_test_{worker_id}") as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


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
    application.dispose()
