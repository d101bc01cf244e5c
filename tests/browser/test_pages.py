"""Every page, as each kind of user sees it, at desktop and phone width: it renders, it has
its heading, and a screenshot of it lands in tests/browser/screenshots/ to look at."""

from __future__ import annotations

from typing import Any

from browser.conftest import Site


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

    anonymous = person.__self__ if hasattr(person, "__self__") else None
    assert anonymous is None
