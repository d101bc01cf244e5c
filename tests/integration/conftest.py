"""Fixtures of the database tests; the helpers live in ``support``."""

from __future__ import annotations

import pytest

from fairdeal.adapters.clock import FixedClock
from fairdeal.bootstrap import App
from integration.support import World, make_world


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    """The xdist worker's name ("gw0"...), or "master" -- also when xdist is not loaded at all
    (``-p no:xdist``), where the plugin's own fixture of this name does not exist and the
    PostgreSQL schema fixture in tests/conftest.py would otherwise fail to set up."""
    workerinput = getattr(request.config, "workerinput", None)
    return workerinput["workerid"] if workerinput else "master"


@pytest.fixture
def world(app: App, clock: FixedClock) -> World:
    """Users of every role, made through the services, on the test database."""
    return make_world(app, clock)
