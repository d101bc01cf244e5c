"""Helpers of the end-to-end tests: callers that speak HTTP with a token, and a world of users,
orders and disputes made only through the API, the way a marketplace and its users make them.

Every response is checked on the way: a dispute answer must carry ``ETag: "<version>"`` and
an error answer must be RFC 9457 problem+json with the stable ``code`` of API.md."""

from __future__ import annotations

import io
import itertools
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from httpx import Response
from PIL import Image

from fairdeal.bootstrap import App, bootstrap
from fairdeal.config import Settings
from fairdeal.entrypoints.api.app import create_app
from fairdeal.services.users import ensure_platform_user

with warnings.catch_warnings():
    # Starlette 1.x would rather drive its test client with httpx2; httpx (a dependency of
    # ours) still works, and the deprecation is not ours to fix in a test run that errors on
    # warnings.
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

API = "/api/v1"
PLATFORM_TOKEN = "fd_e2e_platform_token_0123456789abcdef"
OUTSIDE_API = ("/api/", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs")
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}

_names = itertools.count(1)


def png_bytes(color: tuple[int, int, int] = (200, 40, 40), size: int = 4) -> bytes:
    """A real, tiny PNG made with Pillow."""
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buffer, format="PNG")
    return buffer.getvalue()


def check_response(response: Response) -> None:
    """What every answer of the API must look like, whatever the test is about."""
    content_type = response.headers.get("content-type", "")
    if response.status_code >= 400:
        assert content_type.startswith("application/problem+json"), (
            f"{response.request.method} {response.request.url.path} -> {response.status_code} "
            f"answered {content_type!r}: {response.text[:300]}"
        )
        body = response.json()
        assert body.keys() >= PROBLEM_KEYS, body
        assert body["status"] == response.status_code, body
        return
    if content_type.startswith("application/json") and response.content:
        body = response.json()
        if isinstance(body, dict) and "allowed_actions" in body and "version" in body:
            assert response.headers.get("etag") == f'"{body["version"]}"', (
                f"dispute answer without the right ETag: {response.headers.get('etag')!r} "
                f"for version {body['version']}"
            )


def assert_problem(response: Response, status: int, code: str) -> dict[str, Any]:
    """The answer is this error, as problem+json. Returns the problem body."""
    assert response.status_code == status, (
        f"expected {status} {code}, got {response.status_code}: {response.text[:500]}"
    )
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body.keys() >= PROBLEM_KEYS, body
    assert body["status"] == status
    assert body["code"] == code, body
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def ok(response: Response, status: int = 200) -> Any:
    """The answer is this success; returns its JSON body."""
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url.path}: expected {status}, got "
        f"{response.status_code}: {response.text[:800]}"
    )
    return response.json()


@dataclass
class Caller:
    """One API client: the shared test client plus a bearer token (None: anonymous)."""

    http: TestClient
    token: str | None
    user_id: str | None = None
    role: str | None = None

    def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Response:
        """``path`` is under /api/v1 unless it starts with /api/ or is an ops path."""
        # "/metrics" is the Prometheus page; "/metrics/sellers/..." is the API's.
        outside = path.startswith(OUTSIDE_API) and not path.startswith("/metrics/")
        url = path if outside else API + path
        sent = dict(headers or {})
        if self.token is not None:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        response = self.http.request(method, url, headers=sent, **kwargs)
        check_response(response)
        return response

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Response:
        if json is not None:
            kwargs["json"] = json
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> Response:
        if json is not None:
            kwargs["json"] = json
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Response:
        return self.request("DELETE", path, **kwargs)

    def post_raw(
        self, path: str, content: bytes, content_type: str = "application/json"
    ) -> Response:
        return self.request("POST", path, content=content, headers={"Content-Type": content_type})


class World:
    """Users of every role (made by the platform over HTTP, the first time a test asks for
    one) and shortcuts for the rest."""

    def __init__(self, app: App, http: TestClient, platform: Caller) -> None:
        self.app, self.http, self.platform = app, http, platform
        self.anonymous = Caller(http, None)

    @cached_property
    def buyer(self) -> Caller:
        return self.user("buyer")

    @cached_property
    def other_buyer(self) -> Caller:
        return self.user("buyer")

    @cached_property
    def seller(self) -> Caller:
        return self.user("seller")

    @cached_property
    def other_seller(self) -> Caller:
        return self.user("seller")

    @cached_property
    def mediator(self) -> Caller:
        return self.user("mediator")

    @property
    def storage_dir(self) -> Path:
        return Path(self.app.settings.storage_dir)

    def user(self, role: str) -> Caller:
        n = next(_names)
        body = ok(
            self.platform.post(
                "/users",
                {"role": role, "name": f"{role.title()} {n}", "email": f"{role}{n}@e2e.test"},
            ),
            201,
        )
        assert body["role"] == role and body["api_token"]
        return Caller(self.http, body["api_token"], body["id"], role)

    # --- orders -------------------------------------------------------------------------

    def order_body(
        self,
        *,
        buyer: Caller | None = None,
        seller: Caller | None = None,
        prices: tuple[str, ...] = ("40.00", "10.00"),
        shipping: str = "5.00",
        currency: str = "EUR",
    ) -> dict[str, Any]:
        return {
            "buyer_id": (buyer or self.buyer).user_id,
            "seller_id": (seller or self.seller).user_id,
            "currency": currency,
            "items": [
                {"sku": f"SKU{i}", "title": f"Item {i}", "quantity": 1, "unit_price": price}
                for i, price in enumerate(prices, start=1)
            ],
            "shipping_cost": shipping,
            "payment": {"method": "card", "reference": f"pay_{next(_names)}", "country": "DE"},
        }

    def order(self, **kwargs: Any) -> dict[str, Any]:
        """A paid order, not shipped: by default two items (40.00 + 10.00) and 5.00 shipping."""
        body = ok(self.platform.post("/orders", self.order_body(**kwargs)), 201)
        assert body["status"] == "awaiting_shipment"
        return body

    def ship(
        self, order: dict[str, Any], *, by: Caller | None = None, protection_days: int = 60
    ) -> dict[str, Any]:
        body = ok(
            (by or self.seller).post(
                f"/orders/{order['id']}/ship",
                {"carrier": "DHL", "tracking_number": "JD0001", "protection_days": protection_days},
            )
        )
        assert body["status"] == "awaiting_receipt" and body["protection_ends_at"]
        return body

    def shipped_order(self, *, protection_days: int = 60, **kwargs: Any) -> dict[str, Any]:
        order = self.order(**kwargs)
        return self.ship(order, by=kwargs.get("seller"), protection_days=protection_days)

    def get_order(self, order_id: str, as_: Caller | None = None) -> dict[str, Any]:
        return ok((as_ or self.platform).get(f"/orders/{order_id}"))

    # --- files and disputes -------------------------------------------------------------

    def upload(
        self, caller: Caller, content: bytes | None = None, filename: str = "photo.png"
    ) -> dict[str, Any]:
        return ok(
            caller.post("/files", files={"file": (filename, content or png_bytes(), "image/png")}),
            201,
        )

    def dispute_body(
        self, order: dict[str, Any], *, buyer: Caller | None = None, **overrides: Any
    ) -> dict[str, Any]:
        """The buyer disputes the order's first item: damaged, refund only, its full price,
        with a photo uploaded for it (unless ``evidence_file_ids`` is given)."""
        body: dict[str, Any] = {
            "order_id": order["id"],
            "item_ids": [order["items"][0]["id"]],
            "reason": "damaged",
            "desired_outcome": "refund_only",
            "amount": order["items"][0]["amount"]["value"],
            "description": "It arrived broken.",
        }
        body.update(overrides)
        if "evidence_file_ids" not in body:
            body["evidence_file_ids"] = [self.upload(buyer or self.buyer)["id"]]
        return body

    def open_dispute(
        self, order: dict[str, Any] | None = None, *, buyer: Caller | None = None, **overrides: Any
    ) -> dict[str, Any]:
        order = order or self.shipped_order()
        who = buyer or self.buyer
        body = ok(who.post("/disputes", self.dispute_body(order, buyer=who, **overrides)), 201)
        assert body["status"] == "awaiting_seller_response"
        return body

    def dispute(self, dispute_id: str, as_: Caller | None = None) -> dict[str, Any]:
        return ok((as_ or self.platform).get(f"/disputes/{dispute_id}"))

    def act(
        self,
        caller: Caller,
        dispute: dict[str, Any] | str,
        action: str,
        body: Any = None,
        status: int = 200,
    ) -> dict[str, Any]:
        """POST /disputes/{id}/{action}; the dispute as the answer gives it."""
        dispute_id = dispute if isinstance(dispute, str) else dispute["id"]
        return ok(caller.post(f"/disputes/{dispute_id}/{action}", body), status)

    def escalate_by_timeout(self, dispute: dict[str, Any]) -> dict[str, Any]:
        """The seller counter-offers, the buyer rejects, the negotiation window runs out."""
        offered = self.act(
            self.seller, dispute, "solutions", {"kind": "refund_only", "amount": "10.00"}, 201
        )
        offer = offered["solutions"][-1]
        self.act(self.buyer, dispute, f"solutions/{offer['id']}/reject")
        fired = self.advance(days=7)["fired"]
        assert {"dispute_id": dispute["id"], "kind": "negotiation"}.items() <= next(
            f for f in fired if f.get("dispute_id") == dispute["id"]
        ).items()
        escalated = self.dispute(dispute["id"])
        assert escalated["status"] == "under_review"
        return escalated

    # --- the sandbox clock and the event feed -------------------------------------------

    def advance(self, **delta: int) -> dict[str, Any]:
        return ok(self.platform.post("/sandbox/clock/advance", delta))

    def events(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """The whole event feed, page by page."""
        found: list[dict[str, Any]] = []
        cursor = "0"
        while True:
            page = ok(self.platform.get("/events", params={"after": cursor, "limit": limit}))
            found.extend(page["data"])
            if not page["data"]:
                return found
            cursor = page["next_cursor"]


@contextmanager
def running_world(db_url: str, storage_dir: Path, **settings: Any) -> Iterator[World]:
    """The API over a migrated database, in sandbox mode, with the platform user in place."""
    with running_app(db_url, storage_dir, **settings) as (app, http):
        yield World(app, http, Caller(http, PLATFORM_TOKEN, role="platform"))


@contextmanager
def running_app(
    db_url: str, storage_dir: Path, **settings: Any
) -> Iterator[tuple[App, TestClient]]:
    """One API process: its own engine, rate limiter and caches. Several may share a database,
    as several ``fairdeal serve`` processes do."""
    chosen: dict[str, Any] = {
        "database_url": db_url,
        "sandbox": True,
        "storage_dir": str(storage_dir),
        "platform_token": PLATFORM_TOKEN,
        "rate_limit_writes_per_minute": 0,
        **settings,
    }
    app = bootstrap(Settings(**chosen))
    try:
        ensure_platform_user(app.ctx, PLATFORM_TOKEN)
        with TestClient(create_app(app)) as http:
            yield app, http
    finally:
        app.dispose()
