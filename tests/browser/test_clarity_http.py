"""Issue 13's clarity fixes as the pages serve them (fastapi TestClient, the demo world):
cancelling says until when it can be undone and warns against cancelling at the seller's
request; a cancelled dispute says "Cancelled" with no rule code; final actions sit behind a
confirmation that names what becomes final; the open-dispute form has no reason chosen,
disables impossible reasons and reports every empty field at once; the mediator queue shows
reason titles; the admin sees which deadlines fired; the orders page shows a dispute's state."""

from __future__ import annotations

import re

from fairdeal.bootstrap import App
from fairdeal.demo import DemoAccounts
from fairdeal.services import disputes
from webpages import TestClient, csrf_token, log_in


def test_cancel_is_behind_a_confirmation_with_the_reopen_date_and_the_scam_warning(
    world: tuple[App, DemoAccounts],
    client: TestClient,
) -> None:
    _app, accounts = world
    log_in(client, "alice")
    page = client.get(f"/disputes/{accounts.dispute_ids['awaiting_seller_response']}").text
    box = re.search(r'<details class="confirm" id="cancel">(.*?)</details>', page, re.S)
    assert box, "cancelling needs a second step"
    assert "You can reopen it until" in box.group(1)
    assert "Never cancel because the seller asks you to" in box.group(1)
    assert re.search(r'<form method="post" action="/disputes/[^"]+/cancel"', box.group(1))


def test_a_cancelled_dispute_says_cancelled_without_a_rule_code(
    world: tuple[App, DemoAccounts],
    client: TestClient,
) -> None:
    _app, accounts = world
    log_in(client, "alice")
    page = client.get(f"/disputes/{accounts.dispute_ids['cancelled']}").text
    assert "Cancelled by the buyer" in page and "The buyer cancelled the dispute." in page
    assert "buyer_cancelled" not in page and "Rule applied" not in page
    assert "you can reopen this dispute until" in page
    assert '<span class="badge status-cancelled">Cancelled</span>' in page


def test_mediators_still_see_the_rule_reference(
    world: tuple[App, DemoAccounts],
    client: TestClient,
) -> None:
    _app, accounts = world
    log_in(client, "ada")
    page = client.get(f"/disputes/{accounts.dispute_ids['closed']}").text
    assert "Rule applied:" in page


def test_accepting_an_offer_is_confirmed_and_says_what_becomes_final(
    world: tuple[App, DemoAccounts],
    client: TestClient,
) -> None:
    _app, accounts = world
    log_in(client, "alice")
    dispute_id = accounts.dispute_ids["negotiating"]
    page = client.get(f"/disputes/{dispute_id}").text
    box = re.search(r'<details class="confirm" id="accept-[^"]+">(.*?)</details>', page, re.S)
    assert (
        box
        and "Accepting is final: the dispute closes now with refund only, 20.00 EUR" in box.group(1)
    )
    assert "Yes, accept and close the dispute" in box.group(1)
    # The seller's counter-offer is "Make a counter-offer" to the seller, not "Add solution".
    client.post("/logout", data={"csrf_token": csrf_token(page)})
    log_in(client, "sam")
    seller_page = client.get(f"/disputes/{dispute_id}").text
    assert "Add solution" not in seller_page and "Make a counter-offer" in seller_page


def test_the_dispute_form_chooses_no_reason_and_reports_every_empty_field_at_once(
    world: tuple[App, DemoAccounts],
    client: TestClient,
) -> None:
    _app, _accounts = world
    log_in(client, "alice")
    orders_page = client.get("/orders").text
    form_url = re.findall(r'href="(/orders/[^"/]+/dispute)"', orders_page)[0]
    form = client.get(form_url).text
    assert '<option value="" selected disabled>Choose a reason</option>' in form
    assert not re.search(r'<option value="[a-z_]+" selected', form)
    assert re.search(r'<option value="no_tracking_info" disabled>', form)
    answer = client.post(
        form_url, data={"csrf_token": csrf_token(form), "desired_outcome": "refund_only"}
    )
    assert answer.status_code == 422
    errors = re.findall(r'<p class="field-error" id="open-(\w+)-error">', answer.text)
    assert {"reason", "amount", "description"} <= set(errors)


def test_the_mediator_queue_shows_the_reason_title_not_its_code(
    world: tuple[App, DemoAccounts],
    client: TestClient,
) -> None:
    log_in(client, "maya")
    page = client.get("/mediator").text
    assert "Item damaged in transit" in page and "· damaged" not in page


def test_the_orders_page_shows_what_happened_to_the_dispute(
    world: tuple[App, DemoAccounts],
    client: TestClient,
) -> None:
    app, accounts = world
    log_in(client, "bob")
    page = client.get("/orders").text
    row = re.search(r"<li class=\"card row\">(?:(?!</li>).)*Sandals.*?</li>", page, re.S)
    assert row is not None
    closed = disputes.get_dispute(app.ctx, accounts.actors["bob"], accounts.dispute_ids["closed"])
    assert closed.dispute.outcome is not None
    state = re.search(r'<p class="meta dispute-state">(.*?)</p>', row.group(0), re.S)
    assert state is not None
    assert "Closed" in state.group(1) and "Settled by agreement" in state.group(1)
    assert "refund 30.00 EUR" in state.group(1)
    assert "Protection ends" not in row.group(0)
