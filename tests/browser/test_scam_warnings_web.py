"""Scam warnings on the web pages (fastapi TestClient, no browser): the buyer sees each
warning beside the message with what to do instead, the seller who wrote it does not, and
mediators get a marker on the dispute page and in their queue."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator

import pytest

from fairdeal.adapters.db.migrate import upgrade
from fairdeal.bootstrap import App, bootstrap
from fairdeal.config import Settings
from fairdeal.demo import DEMO_PASSWORD, DemoAccounts, seed_sandbox
from fairdeal.domain import commands as cmd
from fairdeal.domain.scams import PAY_OUTSIDE_PLATFORM, WARNING_TEXT
from fairdeal.entrypoints.api.app import create_app
from fairdeal.entrypoints.web.views import WARNING_ADVICE
from fairdeal.services import handlers

with warnings.catch_warnings():
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

TRICK = "I refund you by PayPal today, what is your PayPal email?"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, DemoAccounts, str]]:
    folder = tmp_path_factory.mktemp("web-scams")
    app = bootstrap(
        Settings(
            database_url=f"sqlite:///{folder / 'fairdeal.db'}",
            sandbox=True,
            storage_dir=str(folder / "files"),
            rate_limit_writes_per_minute=0,
        )
    )
    upgrade(app.engine)
    accounts = seed_sandbox(app)
    dispute_id = accounts.dispute_ids["under_review"]
    handlers.handle(app.ctx, accounts.actors["sam"], dispute_id, cmd.PostMessage(TRICK))
    yield app, accounts, dispute_id
    app.engine.dispose()


@pytest.fixture
def client(world: tuple[App, DemoAccounts, str]) -> Iterator[TestClient]:
    with TestClient(create_app(world[0])) as http:
        yield http


def log_in(http: TestClient, handle: str) -> None:
    page = http.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found
    http.post(
        "/login",
        data={"email": f"{handle}@demo.test", "password": DEMO_PASSWORD, "csrf_token": found[1]},
        follow_redirects=False,
    )


def test_the_buyer_sees_the_warning_and_what_to_do_instead(
    world: tuple[App, DemoAccounts, str], client: TestClient
) -> None:
    log_in(client, "bob")
    page = client.get(f"/disputes/{world[2]}")
    assert page.status_code == 200
    assert f'data-warning="{PAY_OUTSIDE_PLATFORM}"' in page.text
    assert WARNING_TEXT[PAY_OUTSIDE_PLATFORM] in page.text
    assert WARNING_ADVICE[PAY_OUTSIDE_PLATFORM] in page.text
    assert "scam-count" not in page.text  # the mediators' marker is theirs


def test_the_seller_who_wrote_it_is_not_shown_the_warning(
    world: tuple[App, DemoAccounts, str], client: TestClient
) -> None:
    log_in(client, "sam")
    page = client.get(f"/disputes/{world[2]}")
    assert page.status_code == 200
    assert "PayPal email" in page.text
    assert "data-warning=" not in page.text


def test_mediators_get_a_marker_on_the_page_and_in_the_queue(
    world: tuple[App, DemoAccounts, str], client: TestClient
) -> None:
    log_in(client, "maya")
    page = client.get(f"/disputes/{world[2]}")
    assert f'data-warning="{PAY_OUTSIDE_PLATFORM}"' in page.text
    assert 'class="flag scam-count"' in page.text
    queue = client.get("/mediator")
    assert queue.status_code == 200
    assert "scam warnings: 1" in queue.text


def test_every_warning_code_has_advice() -> None:
    assert set(WARNING_ADVICE) == set(WARNING_TEXT)
    for advice in WARNING_ADVICE.values():
        assert advice.endswith(".") and len(advice) < 200
