"""Issue 13's fixes that must be seen in Chromium: a final action's confirmation works with
JavaScript off (a disclosure, no script), and the dashboard's chart labels stay legible at a
phone's width."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from browser.conftest import DESKTOP, PHONE, Site
from fairdeal.demo import DEMO_PASSWORD
from fairdeal.services import disputes


def log_in(browser: Any, site: Site, handle: str, **options: Any) -> Any:
    context = browser.new_context(viewport=DESKTOP, base_url=site.url, locale="en-GB", **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=email]", f"{handle}@demo.test")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("form[action='/login'] button.primary").click()
    page.wait_for_url(lambda url: "/login" not in url)
    return context, page


def test_accepting_needs_the_confirmation_and_works_without_javascript(
    browser: Any, site: Site
) -> None:
    dispute_id = site.dispute("alice", "sam", "Speaker", "30.00")
    context, page = log_in(browser, site, "sam", java_script_enabled=False)
    try:
        page.goto(f"/disputes/{dispute_id}")
        yes = page.get_by_role("button", name="Yes, accept and close the dispute")
        expect(yes).to_be_hidden()  # one click on "Accept" alone decides nothing
        page.locator("details.confirm summary", has_text="Accept").click()
        expect(page.locator("details.confirm[open] .confirm-box")).to_contain_text(
            "Accepting is final: the dispute closes now with refund only, 30.00 EUR"
        )
        yes.click()
        expect(page.locator(".notice")).to_contain_text("You accepted the solution")
    finally:
        context.close()
    view = disputes.get_dispute(site.app.ctx, site.accounts.actors["sam"], dispute_id)
    assert view.dispute.outcome is not None and view.dispute.outcome.refund.format() == "30.00"


def test_chart_labels_stay_legible_at_phone_width(browser: Any, site: Site) -> None:
    context, page = log_in(browser, site, "ada")
    try:
        page.goto("/admin")
        label = page.locator(".svg-chart text.label").first
        expect(label).to_be_visible()
        sizes = {}
        for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(viewport)
            # The font size in the SVG's units times the SVG's scale: the pixels people see.
            sizes[name] = label.evaluate(
                """t => {
                  const svg = t.ownerSVGElement;
                  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
                  return parseFloat(getComputedStyle(t).fontSize) * scale;
                }"""
            )
        assert sizes["phone"] >= 11.5, sizes
        assert sizes["desktop"] >= 11, sizes
    finally:
        context.close()
