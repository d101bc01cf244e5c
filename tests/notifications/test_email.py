"""Email through a real SMTP server (aiosmtpd on loopback): the right people get the right
emails for a whole dispute, in order, each once, with plain-text and HTML bodies that say what
happened, what the recipient can do and the deadline with what happens when it passes."""

from __future__ import annotations

import logging
from collections import Counter

import pytest

from fairdeal.adapters.clock import FixedClock
from fairdeal.adapters.notifications.mailbox import MailCatcher
from fairdeal.adapters.notifications.smtp import LoggingMailer
from fairdeal.bootstrap import App
from fairdeal.domain.commands import (
    AcceptDecision,
    AddEvidence,
    AssignMediator,
    Cancel,
    DecisionOption,
    PostMessage,
    ProposeDecision,
    ProposeSolution,
    RejectSolution,
    Reopen,
    RequestEvidence,
)
from fairdeal.domain.money import Amount
from fairdeal.domain.roles import Actor, Role
from fairdeal.services import payments
from fairdeal.services.handlers import handle
from notifications.support import World, deliveries, make_world, use_smtp


def sent(catcher: MailCatcher, world: World) -> list[tuple[str, str]]:
    """(recipient's name, event type) of every email caught, in arrival order."""
    names = {address: name for name, address in _addresses(world).items()}
    return [
        (names[m.rcpt_tos[0]], m.header("X-Fairdeal-Event")) for m in catcher.mailbox.messages()
    ]


def _addresses(world: World) -> dict[str, str]:
    return {
        "buyer": world.emails[world.buyer.user_id],
        "seller": world.emails[world.seller.user_id],
        "mediator": world.emails[world.mediator.user_id],
    }


def test_a_whole_lifecycle_mails_the_right_people_in_order_each_once(
    world: World, catcher: MailCatcher
) -> None:
    ctx = world.app.ctx
    dispute = world.open()
    world.relay()
    world.clock.advance(hours=2)
    offer = handle(
        ctx,
        world.seller,
        dispute.id,
        ProposeSolution(kind="refund_only", amount=Amount.of("10.00"), comment="Half, no more."),
    ).dispute.solutions[-1]
    world.relay()
    handle(ctx, world.buyer, dispute.id, RejectSolution(offer.id))
    world.relay()
    handle(ctx, world.seller, dispute.id, PostMessage(body="The lamp was fine when it left."))
    world.relay()
    world.advance(days=7)  # no agreement: the negotiation deadline escalates it
    world.relay()
    handle(ctx, world.mediator, dispute.id, AssignMediator(mediator_id=None))
    handle(
        ctx,
        world.mediator,
        dispute.id,
        RequestEvidence(party="seller", request="The packing photos", days=3),
    )
    world.relay()
    handle(ctx, world.seller, dispute.id, AddEvidence(file_id=world.photo(world.seller)))
    world.relay()
    decision = handle(
        ctx,
        world.mediator,
        dispute.id,
        ProposeDecision(
            solutions=(DecisionOption("refund_only", Amount.of("25.00")),),
            rationale="Damage in transit, shared.",
        ),
    ).dispute.mediation
    assert decision is not None and decision.decision is not None
    decision_id = decision.decision.id
    world.relay()
    handle(ctx, world.buyer, dispute.id, AcceptDecision(decision_id, solution_index=None))
    handle(ctx, world.seller, dispute.id, AcceptDecision(decision_id, solution_index=None))
    world.relay()
    world.advance(days=20)
    # The refund completes when the provider confirms it: here the marketplace reports back.
    payments.run_until_idle(ctx)
    with ctx.uow(write=False) as uow:
        (refund,) = [m for m in uow.payments.of_order(dispute.order_id) if m.kind == "refund"]
    payments.succeeded(ctx, Actor("usr_platform", Role.PLATFORM), refund.id, "re_1")
    world.relay()

    assert sent(catcher, world) == [
        ("buyer", "dispute.opened"),
        ("seller", "dispute.opened"),
        ("buyer", "dispute.solution_proposed"),
        ("seller", "dispute.solution_rejected"),
        ("buyer", "dispute.message_posted"),
        ("buyer", "dispute.escalated"),
        ("seller", "dispute.escalated"),
        ("seller", "dispute.evidence_requested"),
        ("buyer", "dispute.decision_proposed"),
        ("seller", "dispute.decision_proposed"),
        ("buyer", "dispute.closed"),
        ("mediator", "dispute.closed"),
        ("seller", "dispute.closed"),
        ("buyer", "refund.scheduled"),
        ("buyer", "refund.completed"),
    ]
    ids = Counter(m.message_id for m in catcher.mailbox.messages())
    assert all(count == 1 for count in ids.values()), ids
    assert all(d["status"] == "sent" for d in deliveries(world.app.engine))
    # Nothing more to send: relaying again sends nothing.
    world.relay()
    assert len(catcher.mailbox.messages()) == 15


def test_the_seller_offer_email_says_what_happened_what_to_do_and_the_deadline(
    world: World, catcher: MailCatcher
) -> None:
    world.app.ctx.policy = world.app.ctx.policies["classic"]  # a buyer answer clock
    dispute = world.open()
    world.clock.advance(hours=1)
    handle(
        world.app.ctx,
        world.seller,
        dispute.id,
        ProposeSolution(
            kind="refund_only",
            amount=Amount.of("10.00"),
            comment="A partial refund; keep the lamp.",
        ),
    )
    world.relay()
    offer = catcher.mailbox.messages()[-1]
    assert offer.rcpt_tos == [world.emails[world.buyer.user_id]]
    assert offer.subject.startswith("Seller offered a new solution for order")
    text, html = offer.body("plain"), offer.body("html")
    for part in (text, html):
        assert "Alice" in part
        assert "refund only, 10.00 EUR" in part
        assert "A partial refund; keep the lamp." in part
        assert "Reject it" in part and "still accept this one later" in part
        assert f"/disputes/{dispute.id}" in part
    # The deadline as the dispute page says it to the buyer: their move, and what silence
    # does to them by when (UTC: Alice set no time zone).
    current = world.dispute(dispute.id).deadline
    assert current is not None and current.kind == "buyer_answer"
    assert "It is your move: accept or reject the seller's offer." in text
    assert "If you do not answer by " in text and "the dispute closes on the seller's offer" in text
    assert current.due_at.strftime("%H:%M") + " (UTC)" in text
    assert "<html" in html and "<strong>It is your move:" in html
    assert offer.header("From") == "Fairdeal <disputes@fairdeal.test>"
    event_id = offer.header("X-Fairdeal-Event-Id")
    buyer_id = world.buyer.user_id
    assert offer.message_id == f"<{event_id}.{buyer_id}@fairdeal.test>"


def test_values_from_users_are_escaped_in_the_html(world: World, catcher: MailCatcher) -> None:
    dispute = world.open()
    handle(
        world.app.ctx,
        world.seller,
        dispute.id,
        PostMessage(body='<script>alert("x")</script> & more'),
    )
    world.relay()
    message = catcher.mailbox.messages()[-1]
    assert "<script>" not in message.body("html")
    assert "&lt;script&gt;" in message.body("html")
    assert '<script>alert("x")</script> & more' in message.body("plain")


def test_emails_go_out_in_the_recipients_language_where_a_translation_exists(
    app: App, clock: FixedClock, catcher: MailCatcher
) -> None:
    use_smtp(app, catcher)
    world = make_world(app, clock, buyer_language="ru-RU")
    world.open()
    world.relay()
    by_recipient = {m.rcpt_tos[0]: m for m in catcher.mailbox.messages()}
    to_buyer = by_recipient[world.emails[world.buyer.user_id]]
    to_seller = by_recipient[world.emails[world.seller.user_id]]
    assert to_buyer.subject.startswith("Ваш спор по заказу")
    assert "Здравствуйте, Alice!" in to_buyer.body("plain")
    # The deadline in Russian words and a Russian date: the seller's to meet, not hers.
    assert "Сейчас делать ничего не нужно" in to_buyer.body("plain")
    assert "нояб. 2026" in to_buyer.body("plain")
    assert 'lang="ru"' in to_buyer.body("html")
    assert to_seller.subject.startswith("New dispute on order")  # the seller reads English


def test_every_email_reaches_a_russian_reader_in_russian(
    app: App, clock: FixedClock, catcher: MailCatcher
) -> None:
    """There are no untranslated templates left to fall back to English (every template's
    strings are in the catalogues): the message email, English-only before, is Russian."""
    use_smtp(app, catcher)
    world = make_world(app, clock, buyer_language="ru")
    dispute = world.open()
    handle(world.app.ctx, world.buyer, dispute.id, Cancel())
    handle(world.app.ctx, world.buyer, dispute.id, Reopen())
    handle(world.app.ctx, world.seller, dispute.id, PostMessage(body="Hello"))
    world.relay()
    to_buyer = [
        m for m in catcher.mailbox.messages() if m.rcpt_tos[0] == world.emails[world.buyer.user_id]
    ]
    assert to_buyer[-1].subject.startswith("Новое сообщение от продавца")
    assert "Продавец написал в вашем споре" in to_buyer[-1].body("plain")


def test_without_an_smtp_host_emails_are_only_logged(
    app: App, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    assert app.notifier is not None
    assert isinstance(app.notifier.mailer, LoggingMailer)  # FAIRDEAL_SMTP_HOST is unset
    world = make_world(app, clock)
    with caplog.at_level(logging.INFO, logger="fairdeal.email"):
        world.open()
        world.relay()
    logged = [r.getMessage() for r in caplog.records if r.name == "fairdeal.email"]
    assert len(logged) == 2 and all("not sent" in line for line in logged)
    assert {d["status"] for d in deliveries(app.engine)} == {"sent"}
