"""Fixtures of the hostile-input tests: the e2e world (the API served in-process over the
``db_url`` database, so every test runs on SQLite and PostgreSQL) and a demo-seeded site for
the web pages, one per database for a whole module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from databases import BACKENDS, empty_database
from e2e.conftest import worker_id, world  # noqa: F401  (fixtures, re-exported)
from security.support import Site
from webpages import demo_world


@pytest.fixture(scope="module", params=BACKENDS)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """The demo's world (alice and bob buy, sam and sue sell, maya mediates, ada administers)
    on a database of its own for the module, in sandbox mode, every rate limit off unless a
    test asks for one (``Site.client(**settings)``)."""
    folder = Path(tmp_path_factory.mktemp("site"))
    with demo_world(folder, empty_database(request, folder)) as (app, accounts):
        yield Site(app, accounts)
