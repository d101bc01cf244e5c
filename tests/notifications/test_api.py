"""The HTTP side: webhook endpoints and their deliveries (platform only), the caller's in-app
notifications, and the sandbox mailbox page."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from fairdeal.adapters.clock import FixedClock
from fairdeal.adapters.notifications.mailbox import MailCatcher
from fairdeal.bootstrap import App, bootstrap
from fairdeal.config import Settings
from fairdeal.domain.commands import PostMessage
from fairdeal.domain.dispute import Actor, Role
from fairdeal.entrypoints.api.app import create_app
from fairdeal.services import users
from fairdeal.services.handlers import handle
from notifications.support import WebhookReceiver, World, allow_local_webhooks, make_world

with warnings.catch_warnings():
    # Starlette would rather drive its test client with httpx2; httpx still works.
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient


@pytest.fixture
def client(app: App, tmp_path: Path) -> Iterator[TestClient]:
    app.settings.storage_dir = str(tmp_path / "files")
    app.settings.secret_key = "notifications-test-secret-key-0123456789"
    with TestClient(create_app(app)) as test_client:
        yield test_client


def token_for(world: World, actor: Actor) -> dict[str, str]:
    """A fresh API token for one of the world's users."""
    from fairdeal.services.security import hash_token, new_api_token

    token = new_api_token()
    from sqlalchemy import update

    from fairdeal.adapters.db import tables

    with world.app.engine.begin() as conn:
        conn.execute(
            update(tables.users)
            .where(tables.users.c.id == actor.user_id)
            .values(token_hash=hash_token(token))
        )
    return {"Authorization": f"Bearer {token}"}


def test_webhook_endpoints_refuse_private_targets_outside_the_sandbox(
    world: World, client: TestClient
) -> None:
    platform = token_for(world, world.platform)
    answer = client.post(
        "/api/v1/webhook-endpoints",
        json={"url": "http://127.0.0.1:9/hook", "events": ["*"]},
        headers=platform,
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "validation_error"
    assert answer.json()["field"] == "url"
    assert answer.headers["content-type"].startswith("application/problem+json")
    for url in ("ftp://example.com/x", "http://10.0.0.1/x", "http://[::1]/"):
        refused = client.post(
            "/api/v1/webhook-endpoints", json={"url": url, "events": ["*"]}, headers=platform
        )
        assert refused.status_code == 422, url


def test_register_an_endpoint_and_read_its_deliveries(world: World, client: TestClient) -> None:
    allow_local_webhooks(world.app)
    platform = token_for(world, world.platform)
    buyer = token_for(world, world.buyer)
    body = {"url": "http://127.0.0.1:1/hook", "events": ["dispute.opened"]}
    assert client.post("/api/v1/webhook-endpoints", json=body, headers=buyer).status_code == 403
    with WebhookReceiver() as receiver:
        body["url"] = receiver.url
        created = client.post("/api/v1/webhook-endpoints", json=body, headers=platform)
        assert created.status_code == 201
        endpoint = created.json()
        assert endpoint["secret"].startswith("whsec_") and endpoint["status"] == "active"
        assert endpoint["url"] == receiver.url and endpoint["events"] == ["dispute.opened"]
        world.open()
        world.open()
        world.relay()
    listed = client.get(
        f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries?limit=1", headers=platform
    )
    assert listed.status_code == 200
    page = listed.json()
    assert len(page["data"]) == 1 and page["next_cursor"]
    first = page["data"][0]
    assert first["status"] == "sent" and first["attempts"] == 1
    assert first["event_type"] == "dispute.opened" and first["sent_at"]
    rest = client.get(
        f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries",
        params={"cursor": page["next_cursor"]},
        headers=platform,
    ).json()
    assert len(rest["data"]) == 1 and rest["next_cursor"] is None
    assert rest["data"][0]["id"] != first["id"]
    assert {d["event_id"] for d in [first, *rest["data"]]} == {
        r.headers["webhook-id"] for r in receiver.received
    }
    # Another platform's endpoint is not found, and nor is a made-up one.
    other = users.create_user(
        world.app.ctx, role="platform", name="Other shop", email="other@example.test"
    )
    other_headers = {"Authorization": f"Bearer {other.api_token}"}
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries"
    assert client.get(path, headers=other_headers).status_code == 404
    assert (
        client.get("/api/v1/webhook-endpoints/whe_nope/deliveries", headers=platform).status_code
        == 404
    )


def test_in_app_notifications_list_unread_events_and_mark_them_read(
    world: World, client: TestClient
) -> None:
    seller = token_for(world, world.seller)
    buyer = token_for(world, world.buyer)
    dispute = world.open()
    handle(world.app.ctx, world.buyer, dispute.id, PostMessage(body="Please answer"))
    world.relay()
    listed = client.get("/api/v1/notifications?unread=true", headers=seller).json()
    assert [n["type"] for n in listed["data"]] == ["dispute.message_posted", "dispute.opened"]
    assert all(n["dispute_id"] == dispute.id and not n["read"] for n in listed["data"])
    assert listed["data"][1]["title"].startswith("New dispute on order")
    # The buyer is not told of their own actions.
    assert client.get("/api/v1/notifications", headers=buyer).json()["data"] == []

    first = listed["data"][0]["id"]
    marked = client.post("/api/v1/notifications/read", json={"ids": [first]}, headers=seller)
    assert marked.status_code == 200 and marked.json() == {"marked": 1}
    unread = client.get("/api/v1/notifications?unread=true", headers=seller).json()["data"]
    assert [n["type"] for n in unread] == ["dispute.opened"]
    assert client.post("/api/v1/notifications/read", headers=seller).json() == {"marked": 1}
    everything = client.get("/api/v1/notifications", headers=seller).json()["data"]
    assert len(everything) == 2 and all(n["read"] and n["read_at"] for n in everything)
    assert client.get("/api/v1/notifications").status_code == 401


def test_the_mailbox_page_is_sandbox_only(world: World, client: TestClient) -> None:
    assert client.get("/dev/mailbox").status_code == 404


def test_the_sandbox_mailbox_shows_caught_mail(
    db_url: str, tmp_path: Path, catcher: MailCatcher
) -> None:
    settings = Settings(
        database_url=db_url,
        sandbox=True,
        smtp_host=catcher.host,
        smtp_port=catcher.port,
        storage_dir=str(tmp_path / "files"),
    )
    app = bootstrap(settings)
    try:
        app.mailbox = catcher
        world = make_world(app, FixedClock(app.clock.now()))
        world.open()
        world.relay()
        with TestClient(create_app(app)) as client:
            page = client.get("/dev/mailbox")
        assert page.status_code == 200
        assert page.text.count("<details") >= 2
        assert "New dispute on order" in page.text and "sam@example.test" in page.text
        assert "Your dispute on order" in page.text
    finally:
        app.engine.dispose()


def test_role_checks(world: World) -> None:
    from fairdeal.domain.errors import Forbidden
    from fairdeal.services.notifications import create_endpoint

    with pytest.raises(Forbidden):
        create_endpoint(
            world.notifier, Actor("usr_x", Role.SELLER), url="https://x.test/", events=["*"]
        )
