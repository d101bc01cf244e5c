"""Fixtures of the notification tests (database ones run on SQLite and PostgreSQL through
the ``db_url`` fixture of tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fairdeal.adapters.clock import FixedClock
from fairdeal.adapters.notifications.mailbox import MailCatcher
from fairdeal.bootstrap import App
from notifications.support import World, make_world, use_smtp


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    """The xdist worker's name, or "master" when xdist is not loaded (``-p no:xdist``)."""
    workerinput = getattr(request.config, "workerinput", None)
    return workerinput["workerid"] if workerinput else "master"


@pytest.fixture
def catcher() -> Iterator[MailCatcher]:
    """A real SMTP server (aiosmtpd) on a free loopback port."""
    with MailCatcher() as started:
        yield started


@pytest.fixture
def world(app: App, clock: FixedClock, catcher: MailCatcher) -> World:
    use_smtp(app, catcher)
    return make_world(app, clock)
