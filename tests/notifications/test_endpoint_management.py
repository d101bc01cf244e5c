"""Managing webhook endpoints over HTTP (API.md): list, read, change (url, events, enabled),
delete, rotate the secret -- the old one keeps signing as a second `v1,` signature for 24
hours, checked by the independent Standard Webhooks verifier against a real receiver -- and
send a failed delivery again by hand. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from notifications.support import (
    SteppedWallClock,
    WebhookReceiver,
    World,
    allow_local_webhooks,
    verify_standard_webhook,
)
from notifications.test_api import (  # noqa: F401  (the client fixture)
    TestClient,
    client,
    token_for,
)

API = "/api/v1/webhook-endpoints"


def test_list_read_change_disable_and_delete_an_endpoint(world: World, client: TestClient) -> None:  # noqa: F811
    allow_local_webhooks(world.app)
    platform = token_for(world, world.platform)
    with WebhookReceiver() as receiver:
        created = client.post(
            API, json={"url": receiver.url, "events": ["dispute.opened"]}, headers=platform
        ).json()
        path = f"{API}/{created['id']}"
        listed = client.get(API, headers=platform).json()
        assert [e["id"] for e in listed["data"]] == [created["id"]]
        assert listed["data"][0]["secret"] is None and listed["next_cursor"] is None
        shown = client.get(path, headers=platform).json()
        assert shown["enabled"] is True and shown["secret"] is None
        # Another platform sees none of it.
        other = world.app.ctx
        from fairdeal.services import users

        stranger = users.create_user(other, role="platform", name="Other", email="o@shop.test")
        foreign = {"Authorization": f"Bearer {stranger.api_token}"}
        assert client.get(path, headers=foreign).json()["code"] == "not_found"
        assert client.patch(path, json={"enabled": False}, headers=foreign).status_code == 404
        assert client.get(API, headers=foreign).json()["data"] == []
        # A buyer is forbidden.
        buyer = token_for(world, world.buyer)
        assert client.get(API, headers=buyer).json()["code"] == "forbidden"

        # Events: refused when unknown, changed when known.
        bad = client.patch(path, json={"events": ["dispute.nope"]}, headers=platform)
        assert (bad.status_code, bad.json()["code"]) == (422, "validation_error")
        changed = client.patch(path, json={"events": ["dispute.message_posted"]}, headers=platform)
        assert changed.json()["events"] == ["dispute.message_posted"]
        world.open()
        world.relay()
        assert receiver.received == []  # not subscribed to dispute.opened any more

        # Disabled: nothing is sent; enabled again: sent.
        off = client.patch(
            path, json={"enabled": False, "events": ["dispute.opened"]}, headers=platform
        )
        assert off.json()["enabled"] is False and off.json()["status"] == "disabled"
        world.open()
        world.relay()
        assert receiver.received == []
        on = client.patch(path, json={"enabled": True}, headers=platform).json()
        assert on["enabled"] is True
        world.open()
        world.relay()
        assert len(receiver.received) == 1

        # A private URL stays refused outside the allowance; a URL change is checked.
        moved = client.patch(path, json={"url": receiver.url + "/v2"}, headers=platform)
        assert moved.json()["url"].endswith("/hooks/v2")
        refused = client.patch(path, json={"url": "ftp://example.com/x"}, headers=platform)
        assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")
        unknown = client.patch(path, json={"colour": "red"}, headers=platform)
        assert unknown.json()["code"] == "validation_error"

        deleted = client.delete(path, headers=platform)
        assert deleted.status_code == 204
        assert client.get(path, headers=platform).status_code == 404
        assert client.delete(path, headers=platform).json()["code"] == "not_found"
        world.open()
        world.relay()
        assert len(receiver.received) == 1


def test_a_rotated_secret_signs_beside_the_old_one_for_a_day(
    world: World,
    client: TestClient,  # noqa: F811
) -> None:
    allow_local_webhooks(world.app)
    wall = SteppedWallClock(datetime.now(UTC))
    world.notifier.wall_clock = wall
    platform = token_for(world, world.platform)
    with WebhookReceiver() as receiver:
        created = client.post(
            API, json={"url": receiver.url, "events": ["dispute.opened"]}, headers=platform
        ).json()
        old = created["secret"]
        rotated = client.post(f"{API}/{created['id']}/rotate-secret", headers=platform)
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["secret"]
        assert new.startswith("whsec_") and new != old
        assert rotated.json()["secret_rotated_until"]
        world.open()
        world.relay()
        first = receiver.received[-1]
        signatures = first.headers["webhook-signature"].split(" ")
        assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
        # Both a receiver still on the old secret and one already on the new accept it.
        assert verify_standard_webhook(old, first.headers, first.body)
        assert verify_standard_webhook(new, first.headers, first.body)
        # A day later only the new secret signs.
        wall.advance(timedelta(hours=24, minutes=1))
        world.open()
        world.relay()
        later = receiver.received[-1]
        assert len(later.headers["webhook-signature"].split(" ")) == 1
        assert verify_standard_webhook(new, later.headers, later.body)
        assert not verify_standard_webhook(old, later.headers, later.body)
    missing = client.post(f"{API}/whe_nope/rotate-secret", headers=platform)
    assert missing.json()["code"] == "not_found"


def test_a_failed_delivery_is_sent_again_by_hand(world: World, client: TestClient) -> None:  # noqa: F811
    allow_local_webhooks(world.app)
    platform = token_for(world, world.platform)
    answers = iter([500, 200, 200])
    with WebhookReceiver(respond=lambda number, got: next(answers)) as receiver:
        created = client.post(
            API, json={"url": receiver.url, "events": ["dispute.opened"]}, headers=platform
        ).json()
        deliveries = f"{API}/{created['id']}/deliveries"
        world.open()
        world.relay()
        (pending,) = client.get(deliveries, headers=platform).json()["data"]
        assert pending["status"] == "pending" and pending["attempts"] == 1
        # Still waiting for its automatic retry: not retried by hand.
        waiting = client.post(f"{deliveries}/{pending['id']}/retry", headers=platform)
        assert (waiting.status_code, waiting.json()["code"]) == (409, "invalid_transition")
        # Given up (as after three days): the platform sends it again.
        from sqlalchemy import update

        from fairdeal.adapters.db import tables

        with world.app.engine.begin() as conn:
            conn.execute(update(tables.deliveries).values(status="failed"))
        again = client.post(f"{deliveries}/{pending['id']}/retry", headers=platform)
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "pending"
        world.relay()
        (sent,) = client.get(deliveries, headers=platform).json()["data"]
        assert sent["status"] == "sent" and sent["attempts"] == 2
        assert len(receiver.received) == 2
        assert (
            receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]
        )
        # A sent delivery may be sent again too (the receiver lost it).
        resent = client.post(f"{deliveries}/{sent['id']}/retry", headers=platform)
        assert resent.status_code == 200
        world.relay()
        assert len(receiver.received) == 3
    for made_up in ("dlv_999999", "nope"):
        missing = client.post(f"{deliveries}/{made_up}/retry", headers=platform)
        assert missing.json()["code"] == "not_found", made_up
