"""A whole dispute in Chromium in each language (English, Russian, Chinese): the buyer opens
it with a photo, the seller counter-offers, the negotiation time runs out and a mediator
takes over, the mediator decides for the buyer, the buyer accepts, and the buyer wins. Each
person's browser asks for its language (Accept-Language) and its zone; one uses the switcher.
Every page is scanned for English UI strings on the Russian and Chinese walks, the deadline
wording is checked against what the engine does next, and a desktop and a phone screenshot
of every step goes to docs/screenshots/<language>/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from browser.conftest import DESKTOP, PHONE, Site, _order, check_accessible
from browser.test_dispute_flow import photo
from browser.test_i18n_http import untranslated
from fairdeal import i18n
from fairdeal.demo import DEMO_PASSWORD, DEMO_PEOPLE
from fairdeal.services import deadlines, disputes

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
BROWSER = {
    "en": ("en-GB", "Europe/London"),
    "ru": ("ru-RU", "Europe/Moscow"),
    "zh_Hans": ("zh-CN", "Asia/Shanghai"),
}
TITLE = {"en": "Headphones", "ru": "Наушники", "zh_Hans": "耳机"}


class Reader:
    def __init__(self, browser: Any, site: Site, handle: str, language: str) -> None:
        locale, zone = BROWSER[language]
        self.language = language
        self.context = browser.new_context(
            viewport=DESKTOP, base_url=site.url, locale=locale, timezone_id=zone
        )
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.page.goto("/login")
        self.page.fill("input[name=email]", f"{handle}@demo.test")
        self.page.fill("input[name=password]", DEMO_PASSWORD)
        self.page.locator("form[action='/login'] button.primary").click()
        self.page.wait_for_url(lambda url: "/login" not in url)

    def t(self, msgid: str) -> str:
        return i18n.translations(self.language).gettext(msgid)

    def check(self, typed: set[str]) -> None:
        """The page is in the reader's language: no English UI string left on it."""
        html = self.page.content()
        lang = i18n.HTML_LANG[self.language]
        assert f'<html lang="{lang}"' in html
        if self.language != "en":
            assert untranslated(html, typed) == [], self.page.url

    def shoot(self, step: str) -> None:
        check_accessible(self.page)
        folder = SHOTS / self.language
        folder.mkdir(parents=True, exist_ok=True)
        for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
            self.page.set_viewport_size(size)
            self.page.screenshot(
                path=str(folder / f"{step}-{name}.jpg"), full_page=True, type="jpeg", quality=70
            )
        self.page.set_viewport_size(DESKTOP)


@pytest.mark.parametrize("language", ["en", "ru", "zh_Hans"])
def test_a_dispute_walked_and_won_in_each_language(
    browser: Any, site: Site, language: str, tmp_path: Path
) -> None:
    title = TITLE[language]
    order_id = _order(site.app, site.accounts, "alice", "sam", title, "90.00")
    typed = {title, "Sam's Gadgets", "Alice Buyer", "Maya Mediator", "Ada Admin"}
    typed |= {name for _h, _r, name, _e in DEMO_PEOPLE}
    description = {
        "en": "The headphones arrived with a cracked band.",
        "ru": "Наушники пришли с треснувшим ободком.",
        "zh_Hans": "耳机到货时头梁开裂。",
    }[language]
    typed.add(description)
    readers: list[Reader] = []
    try:
        alice = Reader(browser, site, "alice", "en")
        readers.append(alice)
        if language != "en":
            # The buyer's browser says English; she picks her language with the switcher.
            alice.page.goto("/orders")
            # The switcher submits its form; wait for that answer, not for the URL (which is
            # /orders before the submit already), or the next goto aborts the POST.
            with alice.page.expect_navigation():
                alice.page.select_option("#lang-switch", language)
            alice.language = language
        page = alice.page
        page.goto(f"/orders/{order_id}/dispute")
        alice.check(typed)
        page.select_option("select[name=reason]", "damaged")
        expect(page.locator("#reason-guidance")).to_contain_text(
            i18n.translations(language).pgettext(
                "reason:damaged:title", site.app.ctx.policy.reasons["damaged"].title
            )
        )
        page.check("input[name=desired_outcome][value=refund_only]")
        page.fill("input[name=amount]", "90.00")
        page.fill("textarea[name=description]", description)
        page.set_input_files("input[name=evidence]", str(photo(tmp_path / "band.jpg")))
        alice.shoot("01-buyer-opens")
        page.locator("form[action$='/dispute'] button[type=submit]").click()
        page.wait_for_url("**/disputes/*")
        url = page.url.split("?")[0]
        dispute_id = url.rsplit("/", 1)[1]
        deadline = page.locator(".deadline")
        expect(deadline).to_contain_text(alice.t("Nothing to do now: the seller has to answer."))
        alice.check(typed)
        alice.shoot("02-buyer-opened")

        sam = Reader(browser, site, "sam", language)
        readers.append(sam)
        sam.page.goto(url)
        expect(sam.page.locator(".deadline")).to_contain_text(
            sam.t("It is your move: answer the buyer — accept, or make a counter-offer.")
        )
        sam.check(typed)
        sam.page.locator("details.add summary").click()
        offer = sam.page.locator("form[action$='/solutions']")
        offer.locator("select[name=kind]").select_option("refund_only")
        offer.locator("input[name=amount]").fill("20.00")
        sam.shoot("03-seller-counter-offer")
        offer.locator("button[type=submit]").click()
        expect(sam.page.locator(".notice")).to_contain_text(sam.t("Your solution was sent."))
        expect(sam.page.locator(".deadline")).to_contain_text(
            sam.t("Nothing to do now: the buyer has your offer.")
        )
        sam.check(typed)

        page.goto(url)
        expect(deadline).to_contain_text(
            alice.t(
                "It is your move: accept the seller's offer, make your own, or wait for the mediator."
            )
        )
        # Silence here escalates: the page says nothing is lost, and the engine agrees.
        silence = alice.t("Nothing is lost if you do not agree: a mediator takes over on %(when)s.")
        expect(deadline).to_contain_text(silence.split("%(when)s")[0].strip())
        alice.check(typed)
        alice.shoot("04-buyer-sees-offer")

        clock = site.app.sandbox_clock
        assert clock is not None
        view = disputes.get_dispute(site.app.ctx, site.accounts.actors["alice"], dispute_id)
        assert view.dispute.deadline is not None
        assert view.dispute.deadline.on_expiry == "escalate"
        deadlines.advance_clock(
            site.app.ctx, to=view.dispute.deadline.due_at + timedelta(minutes=1)
        )
        view = disputes.get_dispute(site.app.ctx, site.accounts.actors["alice"], dispute_id)
        assert view.dispute.status.value == "under_review" and view.dispute.outcome is None

        page.goto(url)
        expect(deadline).to_contain_text(
            alice.t("Nothing to do now: a mediator is reviewing the case.")
        )
        alice.check(typed)
        alice.shoot("05-buyer-with-mediator")

        maya = Reader(browser, site, "maya", language)
        readers.append(maya)
        maya.page.goto(url)
        take = maya.page.locator("form[action$='/assign'] button")
        if take.count():
            take.click()
        maya.page.locator("details", has=maya.page.locator("form[action$='/decision']")).locator(
            "summary"
        ).first.click()
        decision = maya.page.locator("form[action$='/decision']")
        decision.locator("input[name='solutions.0.amount']").fill("90.00")
        decision.locator("textarea[name=rationale]").fill(
            {
                "en": "The photo shows the crack.",
                "ru": "На фото видна трещина.",
                "zh_Hans": "照片显示了裂缝。",
            }[language]
        )
        typed.add(decision.locator("textarea[name=rationale]").input_value())
        decision.locator("button[type=submit]").click()
        expect(maya.page.locator(".notice")).to_contain_text(
            maya.t("Decision proposed to both parties.")
        )
        maya.check(typed)
        maya.shoot("06-mediator-decides")

        page.goto(url)
        alice.check(typed)
        expect(deadline).to_contain_text(
            alice.t("It is your move: accept the decision, or challenge it with new evidence.")
        )
        page.locator("#mediation details.confirm summary").first.click()
        alice.shoot("07-buyer-confirms-decision")
        page.locator("#mediation details.confirm[open] button[type=submit]").click()
        expect(page.locator(".notice")).to_contain_text(
            alice.t("You accepted the mediator's decision.")
        )
        expect(deadline).to_contain_text(alice.t("You accepted the decision. Nothing to do now."))
        expect(page.locator("details.confirm summary")).to_have_count(0)
        alice.check(typed)
        alice.shoot("08-buyer-accepted")

        view = disputes.get_dispute(site.app.ctx, site.accounts.actors["alice"], dispute_id)
        assert view.dispute.deadline is not None
        deadlines.advance_clock(
            site.app.ctx, to=view.dispute.deadline.due_at + timedelta(minutes=1)
        )
        page.goto(url)
        outcome = page.locator("#outcome")
        expect(outcome).to_contain_text(alice.t("In the buyer's favour"))
        expect(outcome).not_to_contain_text("Rule applied")
        alice.check(typed)
        alice.shoot("09-buyer-won")
        page.goto("/orders")
        row = page.locator("li.row", has_text=title)
        expect(row.locator(".dispute-state")).to_contain_text(alice.t("In the buyer's favour"))
        alice.check(typed)
        alice.shoot("10-orders-after-win")
        page.goto("/policy")
        alice.check(typed)
        alice.shoot("11-policy")
        view = disputes.get_dispute(site.app.ctx, site.accounts.actors["alice"], dispute_id)
        assert view.dispute.outcome is not None
        assert view.dispute.outcome.refund.format() == "90.00"
    finally:
        for reader in readers:
            reader.context.close()
        from fairdeal.services import users

        for handle in ("alice", "sam", "maya"):
            users.set_locale(
                site.app.ctx, site.accounts.actors[handle].user_id, language=None, time_zone=None
            )
