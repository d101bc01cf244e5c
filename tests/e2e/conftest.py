"""Fixtures of the end-to-end tests: the API served in-process (sandbox mode) over the
``db_url`` database of tests/conftest.py -- so every test runs on SQLite and on PostgreSQL --
and a world of users made over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.support import World, running_world


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    """The xdist worker's name, or "master" also when xdist is not loaded (``-p no:xdist``),
    where the PostgreSQL schema fixture of tests/conftest.py would otherwise not set up."""
    workerinput = getattr(request.config, "workerinput", None)
    return workerinput["workerid"] if workerinput else "master"


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    """The API on a fresh database, with a buyer, a seller, another of each and a mediator."""
    with running_world(db_url, tmp_path / "files") as created:
        yield created
