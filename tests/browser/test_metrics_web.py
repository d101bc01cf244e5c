"""The metrics pages on the demo world (no browser needed): the admin's charts, table and CSV,
the seller's own numbers, the flags' place on the mediator's pages, and who is refused."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from fairdeal.bootstrap import App
from fairdeal.demo import DemoAccounts
from fairdeal.services import metrics
from webpages import log_in

if TYPE_CHECKING:
    from starlette.testclient import TestClient


def test_the_admin_sees_every_seller_with_charts_and_a_csv(
    client: TestClient,
    world: tuple[App, DemoAccounts],
) -> None:
    app, accounts = world
    log_in(client, "ada")
    page = client.get("/admin/metrics")
    assert page.status_code == 200
    assert "Dispute rate by seller" in page.text and "<svg" in page.text
    assert "Sam&#39;s Gadgets" in page.text or "Sam's Gadgets" in page.text
    sam = accounts.actors["sam"].user_id
    expected = metrics.user_metrics(app.ctx, accounts.actors["ada"], "seller", sam).as_json()
    assert f'id="seller-{sam}"' in page.text
    # The policy what-if: the demo's disputes replayed under the other preset, with a chart.
    assert "Policy what-if" in page.text and 'id="m-whatif-title"' in page.text
    other = client.get("/admin/metrics?policy=standard")
    assert other.status_code == 200 and "the last 90 days under standard" in other.text
    response = client.get("/admin/metrics/sellers.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = {r["user_id"]: r for r in csv.DictReader(io.StringIO(response.text))}
    assert rows[sam]["disputes"] == str(expected["disputes"]) and expected["disputes"] > 0
    assert rows[sam]["dispute_rate"] == expected["dispute_rate"]


def test_a_seller_sees_their_own_numbers_and_a_buyer_is_refused(
    client: TestClient,
    world: tuple[App, DemoAccounts],
) -> None:
    app, accounts = world
    log_in(client, "sam")
    sam = accounts.actors["sam"]
    own = metrics.user_metrics(app.ctx, sam, "seller", sam.user_id).as_json()
    page = client.get("/my/metrics")
    assert page.status_code == 200
    assert 'href="/my/metrics"' in page.text
    assert (
        f'<span class="big">{own["disputes"]}</span> disputes ({own["dispute_rate"]})' in page.text
    )
    assert client.get("/admin/metrics").status_code == 403
    client.post("/logout", data={"csrf_token": ""})
    client.cookies.clear()
    log_in(client, "alice")
    assert client.get("/my/metrics").status_code == 403


def test_the_mediator_pages_render_with_the_flags_computed(
    client: TestClient,
    world: tuple[App, DemoAccounts],
) -> None:
    _, accounts = world
    log_in(client, "maya")
    assert client.get("/mediator").status_code == 200
    dispute_id = next(iter(accounts.dispute_ids.values()))
    assert client.get(f"/disputes/{dispute_id}").status_code == 200
