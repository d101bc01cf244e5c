"""Scam warnings on the web pages (fastapi TestClient, no browser): the buyer sees each
warning beside the message with what to do instead, the seller who wrote it does not, and
mediators get a marker on the dispute page and in their queue."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fairdeal.bootstrap import App
from fairdeal.demo import DemoAccounts
from fairdeal.domain import commands as cmd
from fairdeal.domain.scams import PAY_OUTSIDE_PLATFORM, WARNING_TEXT
from fairdeal.entrypoints.web.views import WARNING_ADVICE
from fairdeal.services import handlers
from webpages import TestClient, demo_world, log_in

TRICK = "I refund you by PayPal today, what is your PayPal email?"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, DemoAccounts, str]]:
    """The demo world (as tests/browser/conftest.py's, which ``client`` serves) with the
    seller's PayPal trick posted on a dispute under review, and that dispute's id."""
    with demo_world(tmp_path_factory.mktemp("web-scams")) as (app, accounts):
        dispute_id = accounts.dispute_ids["under_review"]
        handlers.handle(app.ctx, accounts.actors["sam"], dispute_id, cmd.PostMessage(TRICK))
        yield app, accounts, dispute_id


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
