"""Reminders: a day before a deadline that would decide against a party, once per deadline,
and not at all when the party acted in time."""

from __future__ import annotations

from fairdeal.adapters.db import tables
from fairdeal.adapters.notifications.mailbox import MailCatcher
from fairdeal.domain.commands import (
    AcceptDecision,
    DecisionOption,
    ProposeDecision,
    ProposeSolution,
)
from fairdeal.domain.money import Amount
from fairdeal.services.handlers import handle
from notifications.support import World, rows


def reminders_sent(catcher: MailCatcher) -> list[tuple[str, str]]:
    return [
        (m.rcpt_tos[0], m.subject)
        for m in catcher.mailbox.messages()
        if m.header("X-Fairdeal-Event") == "deadline.reminder"
    ]


def reminder_events(world: World) -> list[dict[str, object]]:
    return [
        e["data"]
        for e in rows(world.app.engine, tables.events, tables.events.c.type == "deadline.reminder")
    ]


def test_the_seller_is_reminded_once_a_day_before_their_answer_is_due(
    world: World, catcher: MailCatcher
) -> None:
    dispute = world.open()
    world.relay()
    world.advance(days=5, hours=23)  # 25 hours before the seller's deadline: not yet
    world.relay()
    assert reminders_sent(catcher) == []
    world.advance(hours=2)  # 23 hours before
    world.relay()
    world.advance(hours=1)
    world.relay()
    world.relay()
    sent = reminders_sent(catcher)
    assert len(sent) == 1
    assert sent[0][0] == world.emails[world.seller.user_id]
    assert sent[0][1].startswith("Reminder: act by")
    text = catcher.mailbox.messages()[-1].body("plain")
    assert "would decide against you" in text
    assert "the dispute closes in the buyer's favour" in text
    (event,) = reminder_events(world)
    assert event["kind"] == "seller_response" and event["parties"] == ["seller"]
    assert event["dispute_id"] == dispute.id
    # The in-app list shows it too.
    seller_notes = rows(
        world.app.engine,
        tables.notifications,
        tables.notifications.c.user_id == world.seller.user_id,
    )
    assert [n["event_type"] for n in seller_notes].count("deadline.reminder") == 1


def test_no_reminder_when_the_party_acted_in_time(world: World, catcher: MailCatcher) -> None:
    dispute = world.open()
    world.relay()
    world.advance(days=2)
    handle(
        world.app.ctx,
        world.seller,
        dispute.id,
        ProposeSolution(kind="refund_only", amount=Amount.of("20.00")),
    )
    world.relay()
    world.advance(days=4, hours=12)  # past the time the seller would have been reminded
    world.relay()
    assert reminders_sent(catcher) == []
    assert reminder_events(world) == []
    (row,) = rows(world.app.engine, tables.reminders)
    assert row["kind"] == "seller_response" and row["status"] == "cancelled"


def test_a_decision_reminds_only_the_party_that_has_not_answered(
    world: World, catcher: MailCatcher
) -> None:
    ctx = world.app.ctx
    dispute = world.open()
    handle(
        ctx, world.seller, dispute.id, ProposeSolution(kind="refund_only", amount=Amount.of("1.00"))
    )
    world.advance(days=7, hours=1)  # escalated
    view = handle(
        ctx,
        world.mediator,
        dispute.id,
        ProposeDecision(
            solutions=(DecisionOption("refund_only", Amount.of("20.00")),),
            rationale="Shared fault.",
        ),
    )
    assert view.dispute.mediation is not None and view.dispute.mediation.decision is not None
    decision_id = view.dispute.mediation.decision.id
    world.relay()
    world.clock.advance(hours=1)
    handle(ctx, world.seller, dispute.id, AcceptDecision(decision_id, solution_index=None))
    world.relay()
    world.advance(days=2, hours=1)  # a day before the decision becomes final
    world.relay()
    sent = reminders_sent(catcher)
    assert [to for to, _ in sent] == [world.emails[world.buyer.user_id]]
    (event,) = reminder_events(world)
    assert event["kind"] == "decision_response" and event["parties"] == ["buyer"]
