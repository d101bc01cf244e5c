"""Signed webhooks to a real local HTTP receiver: Standard Webhooks signatures checked by an
independent implementation, every event of a lifecycle delivered, retries with growing delays
after 500s (on an injected clock: nobody sleeps), giving up and disabling an endpoint after
three days, and the target URL checks."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from fairdeal.adapters.db import tables
from fairdeal.adapters.notifications.webhooks import HttpWebhookSender, check_url, sign
from fairdeal.domain.commands import AcceptSolution, ConfirmReturn, ProposeSolution, ShipReturn
from fairdeal.domain.errors import ValidationError
from fairdeal.domain.money import Amount
from fairdeal.domain.roles import Actor, Role
from fairdeal.entrypoints.api import serializers
from fairdeal.services import payments
from fairdeal.services.handlers import handle
from fairdeal.services.notifications import (
    DISABLE_AFTER,
    GIVE_UP_AFTER,
    RETRY_DELAYS,
    create_endpoint,
    send_due,
)
from fairdeal.services.ports import StoredEvent
from notifications.support import (
    SteppedWallClock,
    WebhookReceiver,
    World,
    allow_local_webhooks,
    deliveries,
    rows,
    verify_standard_webhook,
)


def feed(world: World) -> list[StoredEvent]:
    with world.app.ctx.uow() as uow:
        found = uow.events.after(0, 1000)
        uow.commit()
    return found


def run_a_lifecycle(world: World) -> None:
    ctx = world.app.ctx
    dispute = world.open(outcome="return_and_refund")
    offer = handle(
        ctx,
        world.seller,
        dispute.id,
        ProposeSolution(kind="return_and_refund", amount=Amount.of("40.00")),
    ).dispute.solutions[-1]
    world.relay()
    handle(ctx, world.buyer, dispute.id, AcceptSolution(offer.id))
    handle(ctx, world.buyer, dispute.id, ShipReturn(carrier="DHL", tracking_number="RET1"))
    world.relay()
    handle(ctx, world.seller, dispute.id, ConfirmReturn(condition="as_expected"))
    world.advance(days=20)
    # The marketplace moves the refund and reports back (docs/payments.md).
    payments.run_until_idle(ctx)
    with ctx.uow(write=False) as uow:
        (refund,) = [m for m in uow.payments.of_order(dispute.order_id) if m.kind == "refund"]
    payments.succeeded(ctx, Actor("usr_platform", Role.PLATFORM), refund.id, "re_1")
    world.relay()


def test_every_event_of_a_lifecycle_arrives_signed_and_as_the_feed_shows_it(
    world: World,
) -> None:
    allow_local_webhooks(world.app)
    with WebhookReceiver() as receiver:
        endpoint = create_endpoint(world.notifier, world.platform, url=receiver.url, events=["*"])
        assert endpoint.secret.startswith("whsec_")
        run_a_lifecycle(world)
    events = feed(world)
    types = [e.type for e in events]
    assert {"dispute.opened", "return.shipped", "return.received", "refund.completed"} <= set(types)
    got = {r.headers["webhook-id"]: r for r in receiver.received}
    assert set(got) == {e.id for e in events}  # every event, at least once...
    assert len(receiver.received) == len(events)  # ...and here exactly once
    for event in events:
        request = got[event.id]
        assert verify_standard_webhook(endpoint.secret, request.headers, request.body)
        assert request.event == serializers.event(event)  # the body is the feed's event
        # Real wall-clock seconds, not the test's (fixed, 2026) clock.
        assert abs(int(request.headers["webhook-timestamp"]) - request.at) < 5
    assert [r.event["id"] for r in receiver.received] == [e.id for e in events]  # feed order


def test_a_bad_signature_fails_the_independent_check(world: World) -> None:
    body = b'{"id":"evt_1"}'
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    stamp = int(datetime.now(UTC).timestamp())
    headers = {
        "webhook-id": "evt_1",
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(secret, "evt_1", stamp, body),
    }
    assert verify_standard_webhook(secret, headers, body)
    assert not verify_standard_webhook(secret, headers, body + b" ")
    assert not verify_standard_webhook(secret, {**headers, "webhook-id": "evt_2"}, body)
    old = {**headers, "webhook-timestamp": str(stamp - 3600)}
    old["webhook-signature"] = sign(secret, "evt_1", stamp - 3600, body)
    assert not verify_standard_webhook(secret, old, body)
    # The spec's own example (standard-webhooks/spec, "Signature scheme").
    spec_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    spec_body = b'{"test": 2432232314}'
    assert (
        sign(spec_secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, spec_body)
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_failed_deliveries_are_retried_with_growing_delays(world: World) -> None:
    allow_local_webhooks(world.app)
    wall = SteppedWallClock(datetime.now(UTC))
    world.notifier.wall_clock = wall
    world.notifier.jitter = lambda: 0.5  # no spread: the exact schedule
    with WebhookReceiver(lambda number, _: 500 if number < 5 else 204) as receiver:
        create_endpoint(world.notifier, world.platform, url=receiver.url, events=["dispute.opened"])
        world.open()
        world.relay()
        delays = []
        for _ in range(5):
            (pending,) = deliveries(world.app.engine, tables.deliveries.c.status == "pending")
            delays.append(pending["next_attempt_at"] - wall.now)
            assert send_due(world.notifier) == 0  # not due yet
            wall.now = pending["next_attempt_at"]
            assert send_due(world.notifier) == 1
        (done,) = deliveries(world.app.engine, tables.deliveries.c.channel == "webhook")
    assert delays == list(RETRY_DELAYS[:5])
    assert delays == sorted(delays)
    assert done["status"] == "sent" and done["attempts"] == 6 and done["last_status_code"] == 204
    assert len(receiver.received) == 6
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1  # the same id
    assert all(r.body == receiver.received[0].body for r in receiver.received)


def test_jitter_spreads_retries_by_a_tenth(world: World) -> None:
    from fairdeal.services.notifications import retry_delay

    assert retry_delay(1, 0.0) == timedelta(seconds=4.5)
    assert retry_delay(1, 0.999) < timedelta(seconds=5.5)
    assert retry_delay(9, 0.5) == timedelta(hours=10)


def test_a_delivery_failing_for_three_days_fails_and_disables_the_endpoint(world: World) -> None:
    allow_local_webhooks(world.app)
    wall = SteppedWallClock(datetime.now(UTC))
    world.notifier.wall_clock = wall
    with WebhookReceiver(lambda number, _: 500) as receiver:
        failing = create_endpoint(
            world.notifier, world.platform, url=receiver.url, events=["dispute.opened"]
        )
        with WebhookReceiver() as healthy:
            watcher = create_endpoint(
                world.notifier,
                world.platform,
                url=healthy.url,
                events=["webhook_endpoint.disabled"],
            )
            world.open()
            world.relay()
            started = wall.now
            for _ in range(40):
                pending = deliveries(world.app.engine, tables.deliveries.c.status == "pending")
                if not pending:
                    break
                wall.now = min(p["next_attempt_at"] for p in pending)
                send_due(world.notifier)
                world.relay()
            (dead,) = deliveries(world.app.engine, tables.deliveries.c.target == failing.id)
    assert dead["status"] == "failed"
    assert wall.now - started >= GIVE_UP_AFTER
    assert 10 <= dead["attempts"] <= 16
    (row,) = rows(
        world.app.engine, tables.webhook_endpoints, tables.webhook_endpoints.c.id == failing.id
    )
    assert row["status"] == "disabled"
    assert row["disabled_at"] - row["failing_since"] >= DISABLE_AFTER
    # The platform is told: an event in the feed, delivered to its other endpoint.
    told = [e for e in feed(world) if e.type == "webhook_endpoint.disabled"]
    assert len(told) == 1 and told[0].data["endpoint_id"] == failing.id
    assert [r.event["type"] for r in healthy.received] == ["webhook_endpoint.disabled"]
    assert watcher.status == "active"
    # Nothing more goes to the disabled endpoint.
    attempts = len(receiver.received)
    world.open()
    world.relay()
    assert len(receiver.received) == attempts


def test_redirects_are_not_followed(world: World) -> None:
    allow_local_webhooks(world.app)
    with (
        WebhookReceiver(lambda number, _: 200) as target,
        WebhookReceiver(lambda number, _: 307) as redirecting,
    ):
        create_endpoint(world.notifier, world.platform, url=redirecting.url, events=["*"])
        world.open()
        world.relay()
    (delivery,) = deliveries(
        world.app.engine,
        tables.deliveries.c.channel == "webhook",
        tables.deliveries.c.event_type == "dispute.opened",
    )
    assert delivery["status"] == "pending" and delivery["last_status_code"] == 307
    assert target.received == []


PRIVATE = [
    "http://127.0.0.1/hook",
    "http://localhost:8080/hook",
    "http://10.1.2.3/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]/hook",
    "http://[fe80::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://0.0.0.0/hook",
    "http://100.64.0.1/hook",
    "http://internal.example/hook",  # resolves to a private address (below)
]


def fake_resolver(host: str, port: int) -> list[str]:
    table = {"internal.example": ["10.0.0.7"], "hooks.example.com": ["93.184.216.34"]}
    if host == "localhost":
        return ["127.0.0.1", "::1"]
    if host not in table:
        raise OSError("no such host")
    return table[host]


@pytest.mark.parametrize("url", PRIVATE)
def test_private_loopback_and_link_local_targets_are_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="private, loopback or link-local"):
        check_url(url, allow_private=False, resolver=fake_resolver)
    check_url(url, allow_private=True, resolver=fake_resolver)  # the sandbox allows them


@pytest.mark.parametrize(
    "url",
    ["ftp://hooks.example.com/x", "file:///etc/passwd", "hooks.example.com/x", "http://", "x"],
)
def test_only_http_and_https_urls_with_a_host(url: str) -> None:
    with pytest.raises(ValidationError, match="http or https"):
        check_url(url, allow_private=True, resolver=fake_resolver)


def test_public_targets_are_accepted_and_unknown_hosts_refused() -> None:
    check_url("https://hooks.example.com/fairdeal", allow_private=False, resolver=fake_resolver)
    check_url("https://93.184.216.34/fairdeal", allow_private=False, resolver=fake_resolver)
    with pytest.raises(ValidationError, match="does not resolve"):
        check_url("https://nowhere.example/x", allow_private=False, resolver=fake_resolver)
    with pytest.raises(ValidationError, match="credentials"):
        check_url("https://u:p@hooks.example.com/", allow_private=False, resolver=fake_resolver)


def test_the_check_is_made_again_at_send_time(world: World) -> None:
    """A host that resolved to a public address at registration and to a private one later
    (DNS rebinding) gets nothing."""
    answers = {"now": ["93.184.216.34"]}
    world.notifier.webhooks = HttpWebhookSender(
        allow_private=False, resolver=lambda host, port: answers["now"]
    )
    endpoint = create_endpoint(
        world.notifier, world.platform, url="http://rebind.example/hook", events=["*"]
    )
    answers["now"] = ["127.0.0.1"]
    world.open()
    world.relay()
    (delivery,) = deliveries(
        world.app.engine,
        tables.deliveries.c.target == endpoint.id,
        tables.deliveries.c.event_type == "dispute.opened",
    )
    assert delivery["status"] == "pending" and "private" in delivery["last_error"]


def test_subscriptions_filter_events_and_unknown_types_are_refused(world: World) -> None:
    allow_local_webhooks(world.app)
    with pytest.raises(ValidationError, match="unknown event type"):
        create_endpoint(world.notifier, world.platform, url="http://127.0.0.1/", events=["x.y"])
    with WebhookReceiver() as receiver:
        create_endpoint(
            world.notifier, world.platform, url=receiver.url, events=["dispute.solution_proposed"]
        )
        dispute = world.open()
        handle(
            world.app.ctx,
            world.seller,
            dispute.id,
            ProposeSolution(kind="refund_only", amount=Amount.of("3.00")),
        )
        world.relay()
    assert Counter(r.event["type"] for r in receiver.received) == {"dispute.solution_proposed": 1}
    assert json.loads(receiver.received[0].body)["data"]["dispute_id"] == dispute.id
