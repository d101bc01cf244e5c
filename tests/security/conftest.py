"""Fixtures of the hostile-input tests: the e2e world (the API served in-process over the
``db_url`` database, so every test runs on SQLite and PostgreSQL) and a demo-seeded site for
the web pages, one per database for a whole module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from e2e.conftest import worker_id, world  # noqa: F401  (fixtures, re-exported)
from fairdeal.adapters.db import tables
from fairdeal.adapters.db.engine import make_engine
from fairdeal.adapters.db.migrate import upgrade
from fairdeal.bootstrap import bootstrap
from fairdeal.config import Settings
from fairdeal.demo import seed_sandbox
from security.support import Site


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """The demo's world (alice and bob buy, sam and sue sell, maya mediates, ada administers)
    on a database of its own for the module, in sandbox mode, every rate limit off unless a
    test asks for one (``Site.client(**settings)``)."""
    folder = tmp_path_factory.mktemp("site")
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
    app = bootstrap(
        Settings(
            database_url=url,
            sandbox=True,
            storage_dir=str(Path(folder) / "files"),
            rate_limit_writes_per_minute=0,
        )
    )
    try:
        yield Site(app, seed_sandbox(app))
    finally:
        app.engine.dispose()
