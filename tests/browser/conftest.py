"""The browser tests' world: the whole product (API and web pages) served by uvicorn in a
thread on a free port, in sandbox mode over a SQLite file, seeded with the demo data and two
more orders for these tests; and Debian's headless Chromium driven by Playwright. For the
tests of the pages without a browser (fastapi's TestClient): ``world``, the demo world of one
test module, and ``client``, a fresh process of the app over it (tests/webpages.py).

The browser tests are skipped, with the reason, only when /usr/bin/chromium is missing on a
developer's machine. In CI (``CI`` set) a missing Chromium fails them instead: .ci/run
installs it."""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from PIL import Image

from fairdeal.adapters.db.migrate import upgrade
from fairdeal.bootstrap import App, bootstrap
from fairdeal.config import Settings
from fairdeal.demo import DEMO_PASSWORD, DemoAccounts, seed_sandbox
from fairdeal.domain.commands import OpenDispute
from fairdeal.domain.money import Amount
from fairdeal.domain.order import Payment
from fairdeal.entrypoints.api.app import create_app
from fairdeal.services import files, handlers, orders
from webpages import TestClient, demo_world

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists() or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(
        reason=f"{CHROMIUM} is missing: `apt-get install -y chromium` to run the browser tests"
    )
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


@dataclass
class Site:
    url: str
    app: App
    accounts: DemoAccounts
    orders: dict[str, str]

    def email(self, handle: str) -> str:
        return f"{handle}@demo.test"

    def dispute(
        self, buyer: str, seller: str, title: str, price: str, *, outcome: str = "refund_only"
    ) -> str:
        """A fresh order and a "damaged" dispute on it with a real photo, made through the
        services: tests that need a dispute in a given state make their own, since the
        scenario test moves the shared sandbox clock on."""
        actor = self.accounts.actors[buyer]
        order_id = _order(self.app, self.accounts, buyer, seller, title, price)
        image = io.BytesIO()
        Image.new("RGB", (320, 240), (200, 120, 90)).save(image, "JPEG")
        record = files.upload(
            self.app.ctx,
            actor,
            filename="damage.jpg",
            chunks=[image.getvalue()],
        )
        opened = handlers.open_dispute(
            self.app.ctx,
            actor,
            OpenDispute(
                order_id=order_id,
                reason="damaged",
                desired_outcome=outcome,
                amount=Amount.of(price),
                description=f"The {title} arrived broken.",
                evidence_file_ids=(record.id,),
            ),
        )
        return opened.id


def _order(
    app: App, accounts: DemoAccounts, buyer: str, seller: str, title: str, price: str
) -> str:
    ctx, actors = app.ctx, accounts.actors
    order = orders.register_order(
        ctx,
        actors["platform"],
        buyer_id=actors[buyer].user_id,
        seller_id=actors[seller].user_id,
        currency="EUR",
        items=[
            orders.NewItem(
                sku=title[:6].upper(),
                title=title,
                quantity=1,
                unit_price=price,
                category="electronics",
            )
        ],
        shipping_cost="5.00",
        payment=Payment("card", f"pay_{title}", "DE"),
    )
    orders.ship_order(
        ctx,
        actors[seller],
        order.id,
        carrier="DHL",
        tracking_number=f"JD{title}",
        protection_days=60,
    )
    return order.id


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("site")
    settings = Settings(
        database_url=f"sqlite:///{folder / 'fairdeal.db'}",
        sandbox=True,
        storage_dir=str(folder / "files"),
        rate_limit_writes_per_minute=0,
    )
    app = bootstrap(settings)
    upgrade(app.engine)
    accounts = seed_sandbox(app)
    extra = {
        "camera": _order(app, accounts, "alice", "sam", "Camera", "120.00"),
        "lamp": _order(app, accounts, "alice", "sam", "Desk lamp", "35.00"),
        "kettle": _order(app, accounts, "bob", "sam", "Kettle", "40.00"),
    }
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(app),
        log_level="warning",
        access_log=False,
        lifespan="off",
        ws="none",
        http="h11",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    try:
        yield Site(f"http://127.0.0.1:{port}", app, accounts, extra)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        app.engine.dispose()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, DemoAccounts]]:
    """The demo world, one per test module: a module may move its sandbox clock or change its
    disputes without touching another module's."""
    with demo_world(tmp_path_factory.mktemp("web")) as made:
        yield made


@pytest.fixture
def client(world: tuple[App, DemoAccounts]) -> Iterator[TestClient]:
    """A browser of its own (no cookies yet) on a fresh process of the app over ``world``."""
    with TestClient(create_app(world[0])) as http:
        yield http


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; CI installs it with `apt-get install -y chromium`")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()


# Every visible input has a label, every button a visible name, the page one <h1>, and
# nothing is wider than a phone screen.
ACCESSIBILITY = """() => {
  const problems = [];
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    if (!el.labels.length && !el.getAttribute("aria-label")) problems.push("no label: " + el.outerHTML);
  }
  for (const el of document.querySelectorAll("button, a.button")) {
    if (!el.textContent.trim()) problems.push("no name: " + el.outerHTML);
  }
  if (document.querySelectorAll("h1").length !== 1) problems.push("not one h1");
  if (document.documentElement.scrollWidth > window.innerWidth + 1) problems.push("wider than the window");
  return problems;
}"""


def check_accessible(page: Any) -> None:
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        problems = page.evaluate(ACCESSIBILITY)
        assert problems == [], f"{page.url} at {viewport['width']} px: {problems}"
    page.set_viewport_size(DESKTOP)


class Person:
    """One logged-in browser context: a buyer, a seller, a mediator or an admin."""

    def __init__(self, browser: Any, site: Site, handle: str) -> None:
        self.site = site
        self.context = browser.new_context(
            viewport=DESKTOP, base_url=site.url, locale="en-GB", timezone_id="Europe/Berlin"
        )
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.page.goto("/login")
        self.page.get_by_label("Email").fill(site.email(handle))
        self.page.get_by_label("Password").fill(DEMO_PASSWORD)
        self.page.get_by_role("button", name="Log in", exact=True).click()
        self.page.wait_for_url(lambda url: "/login" not in url)

    def shoot(self, name: str) -> None:
        """The current page at desktop and at phone width, into tests/browser/screenshots;
        and, on the way, the page's basic accessibility checked."""
        check_accessible(self.page)
        SCREENSHOTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}-desktop.png"), full_page=True)
        self.page.set_viewport_size(PHONE)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}-phone.png"), full_page=True)
        self.page.set_viewport_size(DESKTOP)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def person(browser: Any, site: Site) -> Iterator[Any]:
    """person("alice") logs alice in, in a browser context of her own."""
    opened: list[Person] = []

    def login(handle: str) -> Person:
        opened.append(Person(browser, site, handle))
        return opened[-1]

    yield login
    for p in opened:
        p.close()
