"""Helpers of the notification tests: a small world made through the services, the relay
pointed at real local receivers (an aiosmtpd SMTP server, an HTTP server), and an
independent Standard Webhooks verifier."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import Engine, select

from fairdeal.adapters.clock import FixedClock
from fairdeal.adapters.db import tables
from fairdeal.adapters.notifications.mailbox import MailCatcher
from fairdeal.adapters.notifications.smtp import SmtpMailer
from fairdeal.adapters.notifications.webhooks import HttpWebhookSender
from fairdeal.bootstrap import App
from fairdeal.domain.commands import OpenDispute
from fairdeal.domain.dispute import Actor, Dispute, Role
from fairdeal.domain.money import Amount
from fairdeal.domain.order import Order, Payment
from fairdeal.services import deadlines, disputes, handlers, orders, users
from fairdeal.services.notifications import Notifier, relay_until_idle
from fairdeal.services.ports import FileRecord

_files = itertools.count(1)
SENDER = "Fairdeal <disputes@fairdeal.test>"


@dataclass
class World:
    app: App
    clock: FixedClock
    platform: Actor
    buyer: Actor
    seller: Actor
    mediator: Actor
    emails: dict[str, str] = field(default_factory=dict)  # user id -> address

    @property
    def notifier(self) -> Notifier:
        assert self.app.notifier is not None
        return self.app.notifier

    def order(self) -> Order:
        order = orders.register_order(
            self.app.ctx,
            self.platform,
            buyer_id=self.buyer.user_id,
            seller_id=self.seller.user_id,
            currency="EUR",
            items=[
                orders.NewItem(sku="LAMP", title="Desk lamp", quantity=1, unit_price="40.00"),
                orders.NewItem(sku="BULB", title="Bulb", quantity=1, unit_price="10.00"),
            ],
            shipping_cost="5.00",
            payment=Payment("card", "pay_test", "DE"),
        )
        return orders.ship_order(
            self.app.ctx,
            self.seller,
            order.id,
            carrier="DHL",
            tracking_number="JD0001",
            protection_days=60,
        )

    def photo(self, owner: Actor) -> str:
        file_id = f"file_n{next(_files)}"
        with self.app.ctx.uow() as uow:
            uow.files.add(
                FileRecord(
                    file_id,
                    owner.user_id,
                    "photo.jpg",
                    "image/jpeg",
                    100,
                    "0" * 64,
                    f"test/{file_id}",
                    self.clock.now(),
                )
            )
            uow.commit()
        return file_id

    def open(self, order: Order | None = None, *, outcome: str = "refund_only") -> Dispute:
        order = order or self.order()
        return handlers.open_dispute(
            self.app.ctx,
            self.buyer,
            OpenDispute(
                order_id=order.id,
                item_ids=(order.items[0].id,),
                reason="damaged",
                desired_outcome=outcome,
                amount=Amount.of("40.00"),
                description="It arrived broken.",
                evidence_file_ids=(self.photo(self.buyer),),
            ),
        )

    def dispute(self, dispute_id: str) -> Dispute:
        return disputes.get_dispute(self.app.ctx, self.platform, dispute_id).dispute

    def advance(self, **delta: float) -> None:
        """Move the clock and fire every deadline that fell due, as the worker would."""
        self.clock.advance(**delta)
        deadlines.run_until_idle(self.app.ctx)

    def relay(self) -> int:
        return relay_until_idle(self.notifier)


def make_world(app: App, clock: FixedClock, *, buyer_language: str | None = None) -> World:
    emails: dict[str, str] = {}

    def make(role: str, name: str, language: str | None = None) -> Actor:
        created = users.create_user(
            app.ctx,
            role=role,
            name=name,
            email=f"{name.lower()}@example.test",
            country="DE",
            language=language,
        )
        emails[created.user.id] = created.user.email
        return Actor(created.user.id, Role(role))

    return World(
        app=app,
        clock=clock,
        platform=make("platform", "Shop"),
        buyer=make("buyer", "Alice", buyer_language),
        seller=make("seller", "Sam"),
        mediator=make("mediator", "Maya"),
        emails=emails,
    )


def use_smtp(app: App, catcher: MailCatcher) -> None:
    """Send the relay's email over real SMTP to the local catcher."""
    assert app.notifier is not None
    app.notifier.mailer = SmtpMailer(host=catcher.host, port=catcher.port, sender=SENDER, timeout=5)
    app.notifier.mail_domain = "fairdeal.test"


def allow_local_webhooks(app: App, **options: Any) -> None:
    assert app.notifier is not None
    app.notifier.webhooks = HttpWebhookSender(allow_private=True, timeout=5, **options)


def rows(engine: Engine, table: Any, *where: Any) -> list[dict[str, Any]]:
    stmt = select(table).where(*where) if where else select(table)
    with engine.connect() as conn:
        found = [dict(row) for row in conn.execute(stmt).mappings()]
        conn.rollback()
    return found


def deliveries(engine: Engine, *where: Any) -> list[dict[str, Any]]:
    return sorted(rows(engine, tables.deliveries, *where), key=lambda r: r["seq"])


# --- a webhook receiver, and the Standard Webhooks check written from the spec ---------------


def verify_standard_webhook(
    secret: str, headers: dict[str, str], body: bytes, *, tolerance: int = 300
) -> bool:
    """The receiver's check, written from the Standard Webhooks spec (not the signer's code):
    the key is the base64 after ``whsec_``; the signed content is ``{id}.{timestamp}.{body}``;
    the header holds space-separated ``v1,<base64 HMAC-SHA256>`` signatures, any of which may
    match; the timestamp must be within ``tolerance`` seconds of now."""
    msg_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (msg_id and stamp and signatures):
        return False
    try:
        sent_at = int(stamp)
    except ValueError:
        return False
    if abs(time.time() - sent_at) > tolerance:
        return False
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret[len("whsec_") :])
    content = msg_id.encode() + b"." + stamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest())
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return True
    return False


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a killed worker resets its connection: expected here


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 in a thread. ``respond(request_number, received)`` picks
    each answer's status (200 by default); ``on_request`` hooks run before it answers."""

    def __init__(self, respond: Callable[[int, Received], int] | None = None) -> None:
        self.respond = respond or (lambda number, received: 200)
        self.received: list[Received] = []
        self.on_request: list[Callable[[Received], None]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                got = Received(
                    time.time(),
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    0,
                )
                with receiver.lock:
                    number = len(receiver.received)
                    got.status = receiver.respond(number, got)
                    receiver.received.append(got)
                for hook in receiver.on_request:
                    hook(got)
                self.send_response(got.status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hooks"

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class SteppedWallClock:
    """The sender's wall clock, moved by the test (retries are scheduled on it)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def with_notifier(app: App, **changes: Any) -> None:
    assert app.notifier is not None
    app.notifier = replace(app.notifier, **changes)
