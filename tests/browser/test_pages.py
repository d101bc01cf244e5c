"""Every page, as each kind of user sees it, at desktop and phone width: it renders, it has
its heading, and a screenshot of it lands in tests/browser/screenshots/ to look at."""

from __future__ import annotations

from typing import Any

from browser.conftest import Site
from fairdeal.demo import DEMO_PASSWORD


def test_every_page_renders_for_its_users(person: Any, site: Site) -> None:
    ids = site.accounts.dispute_ids
    alice = person("alice")
    page = alice.page
    page.goto("/orders")
    page.get_by_role("heading", name="My orders").wait_for()
    alice.shoot("buyer-orders")
    page.goto("/disputes")
    alice.shoot("buyer-disputes")
    page.goto(f"/disputes/{ids['negotiating']}")
    page.get_by_role("heading", name="Solutions").wait_for()
    alice.shoot("buyer-dispute-negotiating")
    page.goto(f"/disputes/{ids['awaiting_return']}")
    alice.shoot("buyer-dispute-return")
    page.goto(f"/orders/{site.orders['lamp']}/dispute")
    alice.shoot("buyer-open-dispute")

    sam = person("sam")
    sam.page.goto("/disputes")
    sam.page.get_by_role("heading", name="Disputes inbox").wait_for()
    sam.shoot("seller-inbox")
    sam.page.goto("/orders")
    sam.shoot("seller-orders")
    sam.page.goto(f"/disputes/{ids['awaiting_seller_response']}")
    sam.shoot("seller-dispute")

    maya = person("maya")
    maya.page.goto("/mediator")
    maya.page.get_by_role("heading", name="Mediation queue").wait_for()
    maya.shoot("mediator-queue")
    maya.page.goto(f"/disputes/{ids['under_review']}")
    maya.page.get_by_role("heading", name="Mediator's workbench").wait_for()
    maya.shoot("mediator-workbench")

    ada = person("ada")
    ada.page.goto("/admin")
    ada.page.get_by_role("heading", name="Dashboard").wait_for()
    ada.shoot("admin-dashboard")


def test_login_page_lists_the_demo_accounts_in_sandbox_mode(browser: Any, site: Site) -> None:
    from browser.conftest import DESKTOP, PHONE, SCREENSHOTS

    context = browser.new_context(viewport=DESKTOP, base_url=site.url)
    page = context.new_page()
    page.goto("/login")
    page.get_by_role("heading", name="Demo accounts").wait_for()
    assert page.get_by_role("button", name="Log in as Alice Buyer").is_visible()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "login-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(SCREENSHOTS / "login-phone.png"), full_page=True)
    # By keyboard alone: type, Tab to the next field, Enter submits.
    page.set_viewport_size(DESKTOP)
    page.get_by_label("Email").focus()
    page.keyboard.type("alice@demo.test")
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="My orders").wait_for()
    page.get_by_role("button", name="Log out").press("Enter")
    page.get_by_role("heading", name="Log in to the resolution centre").wait_for()
    # One click logs in as a demo account.
    page.get_by_role("button", name="Log in as Sam's Gadgets").click()
    page.get_by_role("heading", name="Disputes inbox").wait_for()
    context.close()
