"""Worker processes killed with SIGKILL: between sending an email and marking it sent (it is
sent again after the lease, with the same Message-ID, and nothing else is), and at random
points while relaying webhooks (a bounded, seeded number of kills; no event is lost).

The workers are forked from the test process (everything is imported already, so a worker
starts in milliseconds instead of seconds) and each builds its own engine, as a
``fairdeal worker`` process does; a killed one runs no clean-up at all."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
import time
import warnings
from collections import Counter
from typing import Any

import pytest

from fairdeal.adapters.clock import SandboxClock
from fairdeal.adapters.db import tables
from fairdeal.adapters.notifications.mailbox import MailCatcher
from fairdeal.bootstrap import bootstrap
from fairdeal.config import Settings
from fairdeal.domain.commands import PostMessage, ProposeSolution
from fairdeal.domain.money import Amount
from fairdeal.services.handlers import handle
from fairdeal.services.notifications import create_endpoint
from notifications.support import (
    SENDER,
    WebhookReceiver,
    World,
    allow_local_webhooks,
    deliveries,
    verify_standard_webhook,
)

pytestmark = pytest.mark.slow

# Kills per database in the webhook test (SQLite and PostgreSQL: twice this in a full run).
KILLS = int(os.environ.get("FAIRDEAL_KILL_TRIALS", "15"))
SEED = int(os.environ.get("FAIRDEAL_KILL_SEED", "20261126"))
LEASE_SECONDS = 0.5


def _worker(settings: dict[str, Any], kill_after_sends: int | None, once: bool) -> None:
    """A worker process: the worker loop (deadlines and the relay) on its own engine."""
    from fairdeal.entrypoints.worker import run

    app = bootstrap(Settings(**settings))
    if kill_after_sends is not None:
        sends = {"n": 0}

        def die_before_marking(_: object) -> None:
            sends["n"] += 1
            if sends["n"] == kill_after_sends:
                os.kill(os.getpid(), signal.SIGKILL)

        assert app.notifier is not None
        app.notifier.after_send.append(die_before_marking)
    run(app, once=once, stop=threading.Event())
    os._exit(0)  # no clean-up of what the fork inherited from the test process


def start_worker(
    settings: dict[str, Any], *, kill_after_sends: int | None = None, once: bool = False
) -> multiprocessing.process.BaseProcess:
    context = multiprocessing.get_context("fork")
    process = context.Process(target=_worker, args=(settings, kill_after_sends, once))
    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a process that has threads (the test servers'):
        # the child only runs the worker, which takes none of their locks.
        warnings.simplefilter("ignore", DeprecationWarning)
        process.start()
    return process


def worker_settings(world: World, catcher: MailCatcher | None, **extra: Any) -> dict[str, Any]:
    """A worker on the test's database, in sandbox mode with the sandbox clock set to the
    test's time (so that it fires no deadline the test did not mean to)."""
    SandboxClock(world.app.engine).advance_to(world.clock.now())
    smtp = {"smtp_host": catcher.host, "smtp_port": catcher.port} if catcher else {}
    return {
        "database_url": str(world.app.engine.url.render_as_string(hide_password=False)),
        "sandbox": True,
        **smtp,
        "smtp_from": SENDER,
        "webhook_allow_private": True,
        "delivery_lease_seconds": LEASE_SECONDS,
        "worker_poll_seconds": 0.02,
        **extra,
    }


def test_a_worker_killed_between_sending_and_marking_resends_only_that_email(
    world: World, catcher: MailCatcher
) -> None:
    for _ in range(6):
        world.open()  # 12 emails: buyer and seller of each
    settings = worker_settings(world, catcher)
    killed = start_worker(settings, kill_after_sends=5)
    killed.join(60)
    assert killed.exitcode == -signal.SIGKILL
    caught = catcher.mailbox.messages()
    assert len(caught) == 5
    marked = [d for d in deliveries(world.app.engine) if d["status"] == "sent"]
    assert len(marked) == 4  # the fifth was sent, and the worker died before marking it

    time.sleep(LEASE_SECONDS + 0.2)  # the dead worker's lease runs out
    finisher = start_worker(settings, once=True)
    finisher.join(60)
    assert finisher.exitcode == 0

    ids = Counter(m.message_id for m in catcher.mailbox.messages())
    assert len(ids) == 12
    assert [mid for mid, count in ids.items() if count > 1] == [caught[4].message_id]
    assert ids[caught[4].message_id] == 2  # resent once, with the same Message-ID
    assert {d["status"] for d in deliveries(world.app.engine)} == {"sent"}


def make_traffic(world: World, count: int) -> None:
    for i in range(count):
        dispute = world.open()
        handle(
            world.app.ctx,
            world.seller,
            dispute.id,
            ProposeSolution(kind="refund_only", amount=Amount.of(f"{i + 1}.00")),
        )
        handle(world.app.ctx, world.buyer, dispute.id, PostMessage(body=f"Message {i}"))


def test_webhook_relay_killed_at_random_points_loses_no_event(
    world: World, record_property: Any
) -> None:
    allow_local_webhooks(world.app)
    rng = random.Random(SEED)
    current: dict[str, int] = {"pid": 0, "kill_at": -1}
    lock = threading.Lock()

    def kill_mid_request(received: object) -> None:
        # Runs in the receiver before it answers: the worker dies between its send and the
        # mark, as it would if it crashed right after the POST went out.
        with lock:
            current["kill_at"] -= 1
            if current["kill_at"] == 0 and current["pid"]:
                os.kill(current["pid"], signal.SIGKILL)

    with WebhookReceiver() as receiver:
        receiver.on_request.append(kill_mid_request)
        endpoint = create_endpoint(world.notifier, world.platform, url=receiver.url, events=["*"])
        make_traffic(world, 20)
        settings = worker_settings(world, None)
        at_request = at_moment = 0
        for trial in range(KILLS):
            process = start_worker(settings)
            assert process.pid is not None
            # Whichever comes first: the n-th webhook request (the worker dies between its
            # send and its mark), or a random moment (start-up, fan-out, a claim, a send, a
            # mark, idle).
            with lock:
                current["pid"], current["kill_at"] = process.pid, rng.randint(1, 6)
            process.join(rng.uniform(0.05, 0.6))
            with lock:
                current["pid"] = 0
            if process.exitcode is None:
                os.kill(process.pid, signal.SIGKILL)
                at_moment += 1
            else:
                at_request += 1
            process.join(10)
            assert process.exitcode == -signal.SIGKILL, trial
            time.sleep(LEASE_SECONDS * rng.random())
        kills = at_request + at_moment
        time.sleep(LEASE_SECONDS + 0.2)
        finisher = start_worker(settings, once=True)
        finisher.join(60)
        assert finisher.exitcode == 0

    with world.app.ctx.uow() as uow:
        events = uow.events.after(0, 10_000)
        uow.commit()
    expected = {e.id for e in events}
    got = Counter(r.headers["webhook-id"] for r in receiver.received)
    lost = expected - set(got)
    duplicates = sum(count - 1 for count in got.values())
    record_property("kills", kills)
    record_property("kills_at_a_request", at_request)
    record_property("events", len(expected))
    record_property("duplicates", duplicates)
    print(
        f"\n{kills} kills ({at_request} mid-request, {at_moment} at a random moment),"
        f" {len(expected)} events, {len(lost)} lost, {duplicates} duplicates"
    )
    assert lost == set()
    assert duplicates <= kills  # at most the message in flight, per kill
    assert all(
        verify_standard_webhook(endpoint.secret, r.headers, r.body) for r in receiver.received
    )
    webhook_rows = deliveries(world.app.engine, tables.deliveries.c.channel == "webhook")
    assert {d["status"] for d in webhook_rows} == {"sent"}
    assert len(webhook_rows) == len(expected)
