"""Delivery figures of the notification relay: one worker, real local receivers.

    .venv/bin/python -m benchmarks notifications [--disputes 400] [--kills 30] [--pg URL]

Measures, on SQLite (and PostgreSQL with --pg):
- fan-out: events turned into deliveries, in-app notifications and reminders, per second;
- email: messages sent over SMTP to a local aiosmtpd server and marked sent, per second;
- webhooks: signed POSTs to a local HTTP server (http.server, threaded) and marked, per second;
- kills: a worker process SIGKILLed at random points (seeded) while relaying webhooks, then a
  last worker finishing: events lost (must be 0) and duplicates (at most one per kill).

Not a test: numbers depend on the machine. Results go to benchmarks/results/notifications.json.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import text, update

from benchmarks.common import results_dir
from fairdeal.adapters.clock import SandboxClock
from fairdeal.adapters.db import tables
from fairdeal.adapters.db.engine import make_engine
from fairdeal.adapters.db.migrate import upgrade
from fairdeal.adapters.notifications.mailbox import MailCatcher
from fairdeal.adapters.notifications.smtp import SmtpMailer
from fairdeal.adapters.notifications.webhooks import HttpWebhookSender
from fairdeal.bootstrap import App, bootstrap
from fairdeal.config import Settings
from fairdeal.domain.dispute import Dispute
from fairdeal.domain.money import Money
from fairdeal.domain.order import LineItem, Order, Payment
from fairdeal.domain.roles import Actor, Role
from fairdeal.services import users
from fairdeal.services.notifications import create_endpoint, fan_out, send_due

RESULTS = results_dir() / "notifications.json"


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a killed worker resets its connection: expected here


class Receiver:
    def __init__(self, kill: dict[str, int] | None = None) -> None:
        self.ids: list[str] = []
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                del body
                with lock:
                    outer.ids.append(self.headers["webhook-id"])
                    if kill is not None:
                        kill["countdown"] -= 1
                        if kill["countdown"] == 0 and kill["pid"]:
                            os.kill(kill["pid"], signal.SIGKILL)
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def seed(app: App, count: int) -> tuple[Actor, list[str]]:
    """Users, and ``count`` opened disputes stored in one transaction (each on its own
    shipped order): ``count`` dispute.opened and order.shipped events, 2 emails each."""
    platform = users.create_user(app.ctx, role="platform", name="Shop", email="shop@bench.test")
    buyer = users.create_user(app.ctx, role="buyer", name="Bea", email="bea@bench.test")
    seller = users.create_user(app.ctx, role="seller", name="Sid", email="sid@bench.test")
    now = app.clock.now()
    policy = app.ctx.policy
    made: list[tuple[Order, Dispute]] = []
    for i in range(count):
        order = Order.register_paid(
            order_id=f"ord_b{i:06d}",
            buyer_id=buyer.user.id,
            seller_id=seller.user.id,
            currency="EUR",
            items=[LineItem(f"it_b{i}", "LAMP", "Desk lamp", None, 1, Money.parse("40.00", "EUR"))],
            shipping_cost=Money.parse("5.00", "EUR"),
            payment=Payment("card", f"pay_{i}", "DE"),
            policy=policy,
            now=now - timedelta(days=13),
        )
        order.ship(
            carrier="DHL", tracking_number=f"T{i}", protection_days=60, now=now - timedelta(days=12)
        )
        dispute = Dispute.open(
            dispute_id=f"dsp_b{i:06d}",
            order=order,
            buyer=Actor(buyer.user.id, Role.BUYER),
            item_ids=None,
            reason="damaged",
            desired_outcome="refund_only",
            amount=Money.parse("40.00", "EUR"),
            description="Broken.",
            evidence=[(f"file_b{i}", "image/jpeg")],
            policy=policy,
            now=now,
        )
        made.append((order, dispute))
    with app.ctx.uow() as uow:
        for order, dispute in made:
            uow.orders.add(order)
            uow.disputes.add(dispute)
        uow.commit()
    return Actor(platform.user.id, Role.PLATFORM), [d.id for _, d in made]


def fresh_database(pg: str | None, folder: Path, name: str) -> str:
    if pg is None:
        url = f"sqlite:///{folder / (name + '.db')}"
    else:
        schema = f"bench_{name}_{os.getpid()}"
        admin = make_engine(pg)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
        url = f"{pg}{'&' if '?' in pg else '?'}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds else 0.0


def measure_throughput(url: str, disputes: int) -> dict[str, Any]:
    app = bootstrap(Settings(database_url=url, sandbox=True))
    assert app.notifier is not None
    n = app.notifier
    out: dict[str, Any] = {"disputes": disputes}
    receiver = Receiver()
    try:
        with MailCatcher() as catcher:
            n.mailer = SmtpMailer(
                host=catcher.host, port=catcher.port, sender="b@bench.test", timeout=10
            )
            n.webhooks = HttpWebhookSender(allow_private=True)
            platform, _ = seed(app, disputes)
            create_endpoint(n, platform, url=receiver.url, events=["*"])
            n.batch_size = 200
            started = time.perf_counter()
            events = 0
            while done := fan_out(n, limit=500):
                events += done
            out["fan_out_events"] = events
            out["fan_out_events_per_s"] = rate(events, time.perf_counter() - started)

            # Emails alone: webhooks held back.
            d = tables.deliveries
            with app.engine.begin() as conn:
                conn.execute(update(d).where(d.c.channel == "webhook").values(status="held"))
            started = time.perf_counter()
            while send_due(n):
                pass
            seconds = time.perf_counter() - started
            emails = len(catcher.mailbox.messages())
            out["emails"] = emails
            out["emails_per_s"] = rate(emails, seconds)

            with app.engine.begin() as conn:
                conn.execute(update(d).where(d.c.status == "held").values(status="pending"))
            started = time.perf_counter()
            while send_due(n):
                pass
            seconds = time.perf_counter() - started
            out["webhooks"] = len(receiver.ids)
            out["webhooks_per_s"] = rate(len(receiver.ids), seconds)
    finally:
        receiver.close()
        app.engine.dispose()
    return out


def _worker(url: str, once: bool) -> None:
    from fairdeal.entrypoints.worker import run

    app = bootstrap(
        Settings(
            database_url=url,
            sandbox=True,
            webhook_allow_private=True,
            delivery_lease_seconds=0.5,
            worker_poll_seconds=0.02,
        )
    )
    run(app, once=once, stop=threading.Event())
    os._exit(0)


def _start(url: str, once: bool = False) -> Any:
    process = multiprocessing.get_context("fork").Process(target=_worker, args=(url, once))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        process.start()
    return process


def measure_kills(url: str, disputes: int, kills: int, seed_value: int) -> dict[str, Any]:
    app = bootstrap(Settings(database_url=url, sandbox=True))
    assert app.notifier is not None
    app.notifier.webhooks = HttpWebhookSender(allow_private=True)
    control = {"pid": 0, "countdown": -1}
    receiver = Receiver(control)
    rng = random.Random(seed_value)
    at_request = at_moment = 0
    try:
        platform, _ = seed(app, disputes)
        SandboxClock(app.engine).advance_to(app.clock.now())
        create_endpoint(app.notifier, platform, url=receiver.url, events=["*"])
        for _ in range(kills):
            process = _start(url)
            control["pid"], control["countdown"] = process.pid, rng.randint(1, 8)
            process.join(rng.uniform(0.05, 0.8))
            control["pid"] = 0
            if process.exitcode is None:
                os.kill(process.pid, signal.SIGKILL)
                at_moment += 1
            else:
                at_request += 1
            process.join(10)
            assert process.exitcode == -signal.SIGKILL
            time.sleep(0.5 * rng.random())
        time.sleep(0.7)
        finisher = _start(url, once=True)
        finisher.join(120)
        with app.ctx.uow() as uow:
            expected = {e.id for e in uow.events.after(0, 1_000_000)}
            uow.commit()
        got = Counter(receiver.ids)
    finally:
        receiver.close()
        app.engine.dispose()
    return {
        "kills": kills,
        "kills_mid_request": at_request,
        "kills_at_random_moments": at_moment,
        "seed": seed_value,
        "events": len(expected),
        "lost": len(expected - set(got)),
        "duplicates": sum(c - 1 for c in got.values()),
    }


def main(
    *,
    disputes: int = 400,
    kills: int = 30,
    kill_disputes: int = 40,
    kill_seed: int = 20261126,
    pg: str | None = None,
) -> None:
    results: dict[str, Any] = {"python": sys.version.split()[0], "cpus": os.cpu_count()}
    backends = [("sqlite", None)] + ([("postgresql", pg)] if pg else [])
    with tempfile.TemporaryDirectory() as folder:
        for name, server in backends:
            url = fresh_database(server, Path(folder), "throughput")
            results[name] = measure_throughput(url, disputes)
            url = fresh_database(server, Path(folder), "kills")
            results[name]["kill_test"] = measure_kills(url, kill_disputes, kills, kill_seed)
            print(name, json.dumps(results[name], indent=2), flush=True)
        if pg:
            admin = make_engine(pg)
            with admin.begin() as conn:
                for schema in ("throughput", "kills"):
                    conn.execute(
                        text(f"DROP SCHEMA IF EXISTS bench_{schema}_{os.getpid()} CASCADE")
                    )
            admin.dispose()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {RESULTS}")
