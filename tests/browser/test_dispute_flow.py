"""The resolution centre end to end in Chromium: a buyer opens a "damaged" dispute with a
photo, the seller counter-offers, the buyer rejects, the clock runs out the negotiation, a
mediator proposes a decision, the buyer accepts, and the outcome with its refund schedule
shows. Then the refusals: a bad amount, a stranger's dispute, a form without its token."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from playwright.sync_api import expect

from browser.conftest import Site
from fairdeal.domain.commands import AcceptSolution
from fairdeal.services import deadlines, disputes, orders
from fairdeal.services.handlers import handle


def photo(path: Path) -> Path:
    """A JPEG of a cracked box: real image bytes, as the upload check wants."""
    image = Image.new("RGB", (640, 480), (214, 190, 150))
    draw = ImageDraw.Draw(image)
    draw.rectangle((120, 100, 520, 380), fill=(181, 142, 96), outline=(90, 60, 30), width=6)
    draw.line((180, 120, 300, 260, 260, 360), fill=(40, 30, 20), width=8)
    image.save(path, "JPEG")
    return path


def test_a_dispute_from_a_photo_to_the_mediators_outcome(
    person: Any, site: Site, tmp_path: Path
) -> None:
    alice = person("alice")
    page = alice.page
    page.goto("/orders")
    page.locator("li.row", has_text="Camera").get_by_role("link", name="Open dispute").click()
    page.get_by_label("Reason").select_option("not_as_described")
    expect(page.locator("#reason-guidance")).to_contain_text("differs from its listing")
    page.get_by_label("Reason").select_option("damaged")
    expect(page.locator("#reason-guidance")).to_contain_text("Photos of the package")
    page.get_by_label("Refund only").check()
    expect(page.get_by_text("up to 125.00 EUR")).to_be_visible()
    page.get_by_label("Refund amount (EUR)").fill("60.00")
    page.get_by_label("Describe the problem").fill(
        "The lens arrived cracked and the box was crushed."
    )
    page.get_by_label("Photos or videos").set_input_files(str(photo(tmp_path / "box.jpg")))
    expect(page.locator("#open-previews img")).to_have_count(1)
    alice.shoot("buyer-open-dispute-filled")
    page.get_by_role("button", name="Open dispute").click()
    expect(page.get_by_role("status")).to_contain_text("Your dispute is open")
    url = page.url.split("?")[0]
    dispute_id = url.rsplit("/", 1)[1]
    # The photo is served through the web route, decoded by the browser.
    shown = page.locator("#evidence img").first
    expect(shown).to_be_visible()
    assert shown.evaluate("img => img.complete && img.naturalWidth") == 640
    expect(page.locator(".progress [aria-current=step]")).to_contain_text("Opened")
    expect(page.locator("#deadline-title")).to_have_text("Next deadline")
    expect(page.locator(".deadline")).to_contain_text("Nothing to do now: the seller has to answer")
    expect(page.locator(".deadline")).to_contain_text("closes in your favour on your solution")
    # A message goes through htmx: the messages part changes, the page stays.
    page.get_by_label("Your message").fill("Photos of the box are attached.")
    page.get_by_role("button", name="Send message").click()
    expect(page.locator("#messages .message")).to_have_count(1)
    assert page.url.split("?")[0] == url

    sam = person("sam")
    sam.page.goto("/disputes")
    sam.page.locator("li.row", has_text="Camera").get_by_role("link", name="Camera").click()
    expect(sam.page.locator(".deadline")).to_contain_text("It is your move")
    expect(sam.page.locator(".deadline")).to_contain_text("If you do not answer by")
    # Only what allowed_actions allows: the seller answers, and cannot cancel.
    expect(sam.page.get_by_role("button", name="Cancel the dispute")).to_have_count(0)
    sam.page.get_by_text("Make a counter-offer", exact=True).click()
    offer = sam.page.locator("form[action$='/solutions']")
    offer.get_by_label("Solution").select_option("refund_only")
    offer.get_by_label("Amount (EUR)").fill("25.00")
    offer.get_by_label("Comment").fill("The lens works; 25 EUR for the scratch?")
    offer.get_by_role("button", name="Send solution").click()
    expect(sam.page.get_by_role("status")).to_contain_text("Your solution was sent")
    sam.shoot("seller-counter-offer")

    page.goto(url)
    seller_offer = page.locator("article.solution.by-seller")
    expect(seller_offer).to_contain_text("25.00 EUR")
    seller_offer.get_by_role("button", name="Reject").click()
    expect(page.get_by_role("status")).to_contain_text("You rejected the solution")
    expect(page.locator("article.solution.by-seller")).to_contain_text("Rejected")
    # Rejecting is reversible: the offer can still be accepted.
    expect(
        page.locator("article.solution.by-seller").locator("summary", has_text="Accept")
    ).to_be_visible()

    ada = person("ada")
    ada.page.goto("/admin")
    ada.page.get_by_label("Days", exact=True).fill("8")
    ada.page.get_by_role("button", name="Move the clock forward").click()
    expect(ada.page.get_by_role("status").first).to_contain_text("The sandbox clock moved")
    ada.shoot("admin-after-clock")

    maya = person("maya")
    maya.page.goto("/mediator")
    maya.page.locator("li.row", has_text="Camera").get_by_role("link", name="Camera").click()
    expect(maya.page.locator(".progress [aria-current=step]")).to_contain_text("Mediation")
    maya.page.get_by_text("Propose a decision").click()
    decision = maya.page.locator("form[action$='/decision']")
    decision.get_by_label("Amount (EUR)").first.fill("45.00")
    decision.get_by_label("Rationale").fill("The photos show transit damage; the lens still works.")
    decision.get_by_role("button", name="Propose decision").click()
    expect(maya.page.get_by_role("status")).to_contain_text("Decision proposed")
    maya.shoot("mediator-decision")

    page.goto(url)
    expect(page.locator("#mediation")).to_contain_text("45.00 EUR")
    alice.shoot("buyer-decision")
    # During mediation the decision comes first, and the seller's old offer has no Accept.
    expect(page.locator("article.solution.by-seller summary", has_text="Accept")).to_have_count(0)
    page.locator("summary", has_text="Accept decision").click()
    expect(page.locator("#mediation .confirm-box")).to_contain_text("cannot be undone")
    page.get_by_role("button", name="Yes, accept the decision").click()
    expect(page.get_by_role("status")).to_contain_text("You accepted the mediator's decision")
    expect(page.locator("summary", has_text="Accept decision")).to_have_count(0)
    # Accepted: not "your move", the seller may still challenge, nothing else to press.
    expect(page.locator(".badge.status-under_review")).to_contain_text("Decision accepted")
    expect(page.locator(".deadline")).to_contain_text("You accepted the decision")
    expect(page.locator(".deadline")).to_contain_text("The seller may still challenge it")
    expect(page.locator(".deadline")).not_to_contain_text("It is your move")
    expect(page.locator("summary", has_text="Cancel the dispute")).to_have_count(0)

    # The seller lets the answer window pass: unchallenged, the decision becomes final.
    clock = site.app.sandbox_clock
    assert clock is not None
    deadlines.advance_clock(site.app.ctx, to=clock.now() + timedelta(days=3, minutes=1))
    page.goto(url)
    outcome = page.locator("#outcome")
    expect(outcome.locator("#outcome-title")).to_have_text("Outcome: In the buyer's favour")
    expect(outcome).to_contain_text("45.00 EUR")
    expect(outcome).to_contain_text("Refund schedule")
    expect(page.locator(".progress [aria-current=step]")).to_contain_text("Closed")
    expect(page.locator("summary", has_text="Accept")).to_have_count(0)
    alice.shoot("buyer-outcome")
    view = disputes.get_dispute(site.app.ctx, site.accounts.actors["alice"], dispute_id)
    assert view.dispute.outcome is not None and view.dispute.outcome.refund.format() == "45.00"


def test_a_return_is_shipped_by_the_buyer_and_confirmed_by_the_seller(
    person: Any, site: Site
) -> None:
    dispute_id = site.dispute("alice", "sue", "Boots", "80.00", outcome="return_and_refund")
    seller = site.accounts.actors["sue"]
    primary = disputes.get_dispute(site.app.ctx, seller, dispute_id).dispute.primary_solution
    handle(site.app.ctx, seller, dispute_id, AcceptSolution(primary.id))
    returning = f"/disputes/{dispute_id}"
    alice = person("alice")
    alice.page.goto(returning)
    expect(alice.page.locator("#return")).to_contain_text("Ship the item back to the seller by")
    alice.page.get_by_label("Carrier").fill("DHL")
    alice.page.get_by_label("Tracking number").fill("JD0001112223")
    alice.page.get_by_role("button", name="I have shipped the return").click()
    expect(alice.page.get_by_role("status")).to_contain_text("Return shipment recorded")

    sue = person("sue")
    sue.page.goto(returning)
    expect(sue.page.locator(".deadline")).to_contain_text("If you do not confirm by")
    sue.page.get_by_label("What arrived?").select_option("as_expected")
    sue.page.get_by_role("button", name="Confirm the returned parcel").click()
    expect(sue.page.locator("#outcome")).to_contain_text("80.00 EUR")
    sue.shoot("seller-return-confirmed")


def test_the_seller_extends_protection(person: Any, site: Site) -> None:
    sam = person("sam")
    sam.page.goto("/orders")
    row = sam.page.locator("li.row", has_text="Kettle")
    before = orders.get_order(
        site.app.ctx, site.accounts.actors["sam"], site.orders["kettle"]
    ).protection_ends_at
    row.get_by_label("Extend protection by (days)").fill("5")
    row.get_by_role("button", name="Extend protection").click()
    expect(sam.page.get_by_role("status")).to_contain_text("Buyer protection extended")
    after = orders.get_order(
        site.app.ctx, site.accounts.actors["sam"], site.orders["kettle"]
    ).protection_ends_at
    assert before is not None and after == before + timedelta(days=5)


def test_a_bad_amount_shows_its_error_and_creates_nothing(
    person: Any, site: Site, tmp_path: Path
) -> None:
    alice = person("alice")
    page = alice.page
    page.goto(f"/orders/{site.orders['lamp']}/dispute")
    page.get_by_label("Reason").select_option("not_working")
    page.get_by_label("Refund amount (EUR)").fill("500.00")
    page.get_by_label("Describe the problem").fill("The lamp does not switch on.")
    page.get_by_label("Photos or videos").set_input_files(str(photo(tmp_path / "lamp.jpg")))
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Open dispute").click()
    assert answer.value.status == 422
    amount = page.get_by_label("Refund amount (EUR)")
    expect(amount).to_have_attribute("aria-invalid", "true")
    expect(amount).to_be_focused()
    expect(page.locator("#open-amount-error")).to_contain_text(
        "Amount must be from 0.01 EUR to 40.00 EUR."
    )
    expect(amount).to_have_value("500.00")
    expect(page.get_by_label("Describe the problem")).to_have_value("The lamp does not switch on.")
    expect(page.locator("#open-previews img")).to_have_count(1)  # the photo is kept
    alice.shoot("buyer-open-dispute-error")
    order = orders.get_order(site.app.ctx, site.accounts.actors["alice"], site.orders["lamp"])
    assert order.dispute_ids == []


def test_a_buyer_cannot_open_another_buyers_dispute(person: Any, site: Site) -> None:
    alice = person("alice")
    bobs = site.accounts.dispute_ids["under_review"]
    response = alice.page.goto(f"/disputes/{bobs}")
    assert response is not None and response.status == 404
    expect(alice.page.get_by_role("heading", name="Not found")).to_be_visible()
    assert "Tablet" not in alice.page.content()


def test_a_form_posted_without_its_csrf_token_is_refused(person: Any, site: Site) -> None:
    alice = person("alice")
    page = alice.page
    dispute_id = site.dispute("alice", "sam", "Mouse", "20.00")
    page.goto(f"/disputes/{dispute_id}")
    before = len(
        disputes.get_dispute(
            site.app.ctx, site.accounts.actors["alice"], dispute_id
        ).dispute.solutions
    )
    page.get_by_text("Add an alternative solution").click()
    form = page.locator("form[action$='/solutions']")
    form.get_by_label("Amount (EUR)").fill("5.00")
    form.locator("input[name=csrf_token]").evaluate("input => input.remove()")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        form.get_by_role("button", name="Send solution").click()
    assert answer.value.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    after = disputes.get_dispute(
        site.app.ctx, site.accounts.actors["alice"], dispute_id
    ).dispute.solutions
    assert len(after) == before
