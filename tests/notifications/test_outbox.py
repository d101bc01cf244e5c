"""The outbox: a delivery exists if and only if the change that caused it committed, and the
relay fans every event out exactly once, in feed order."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from fairdeal.adapters.db import tables
from fairdeal.adapters.db.repository import SqlUnitOfWork
from fairdeal.adapters.notifications.mailbox import MailCatcher
from fairdeal.domain.commands import ProposeSolution
from fairdeal.domain.money import Amount
from fairdeal.services.handlers import handle
from fairdeal.services.notifications import fan_out
from notifications.support import World, deliveries, rows


class CrashAtCommit(RuntimeError):
    pass


def crash_at_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The next unit of work writes everything, then the database fails at COMMIT."""
    original = SqlUnitOfWork.commit

    def commit(self: SqlUnitOfWork) -> None:
        def fail() -> None:
            raise CrashAtCommit("the connection dropped at commit")

        self.conn.commit = fail  # type: ignore[method-assign]
        original(self)

    monkeypatch.setattr(SqlUnitOfWork, "commit", commit)


def test_a_delivery_exists_if_and_only_if_the_change_committed(
    world: World, catcher: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    dispute = world.open()
    world.relay()
    before = deliveries(world.app.engine)
    events_before = rows(world.app.engine, tables.events)
    assert len(before) == 2  # buyer and seller, told of the opening

    with monkeypatch.context() as patch:
        crash_at_commit(patch)
        with pytest.raises(CrashAtCommit):
            handle(
                world.app.ctx,
                world.seller,
                dispute.id,
                ProposeSolution(kind="refund_only", amount=Amount.of("5.00")),
            )
    world.relay()
    assert rows(world.app.engine, tables.events) == events_before  # the event rolled back...
    assert deliveries(world.app.engine) == before  # ...and so no delivery exists for it
    assert len(catcher.mailbox.messages()) == 2

    handle(
        world.app.ctx,
        world.seller,
        dispute.id,
        ProposeSolution(kind="refund_only", amount=Amount.of("5.00")),
    )
    world.relay()
    after = deliveries(world.app.engine)
    assert [d["event_type"] for d in after[2:]] == ["dispute.solution_proposed"]
    assert [m.header("X-Fairdeal-Event") for m in catcher.mailbox.messages()][-1] == (
        "dispute.solution_proposed"
    )


def test_a_fan_out_that_fails_midway_leaves_nothing_and_the_next_one_does_it_all(
    world: World, catcher: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        world.open()
    renderer = world.notifier.renderer
    calls = {"n": 0}

    class Flaky:
        def render(
            self, template: str, language: str | None, context: Any, *, time_zone: str | None
        ) -> Any:
            calls["n"] += 1
            if calls["n"] == 4:
                raise RuntimeError("the template server hiccuped")
            return renderer.render(template, language, context, time_zone=time_zone)

    world.notifier.renderer = Flaky()
    with pytest.raises(RuntimeError):
        fan_out(world.notifier)
    assert deliveries(world.app.engine) == []
    assert rows(world.app.engine, tables.notifications) == []
    world.notifier.renderer = renderer
    world.relay()
    sent = deliveries(world.app.engine)
    assert len(sent) == 6 and {d["status"] for d in sent} == {"sent"}
    keys = [(d["event_id"], d["target"]) for d in sent]
    assert len(set(keys)) == len(keys)
    assert len(catcher.mailbox.messages()) == 6


def test_the_relay_follows_the_feed_order_and_its_cursor(world: World) -> None:
    world.open()
    world.open()
    world.relay()
    with world.app.engine.connect() as conn:
        found = conn.execute(select(tables.events.c.id, tables.events.c.position)).all()
        positions = {event_id: position for event_id, position in found}
        cursor = conn.execute(select(tables.relay_cursors.c.position)).scalar_one()
    assert cursor == max(positions.values())
    emailed = [d["event_id"] for d in deliveries(world.app.engine)]
    assert [positions[e] for e in emailed] == sorted(positions[e] for e in emailed)
