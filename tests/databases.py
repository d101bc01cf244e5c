"""The one way a test gets an empty, migrated database: a fresh SQLite file in its folder, or
this test process's PostgreSQL schema truncated (``pg_base_url`` in conftest.py). Fixtures of
any scope call it with their own ``request``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from fairdeal.adapters.db import tables
from fairdeal.adapters.db.engine import make_engine
from fairdeal.adapters.db.migrate import upgrade

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


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
