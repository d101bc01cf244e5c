"""Every email in English, Russian and Chinese from one template per event and audience: the
templates' strings are in the pages' catalogues, and a Russian or Chinese email says nothing in
English but what people typed, with money, moments and the zone in the reader's own forms."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from builders import CLASSIC, SELLER, decide, no_holiday, open_dispute, seller_offer, under_review
from fairdeal.adapters.notifications.render import TEMPLATES, JinjaEmailRenderer
from fairdeal.domain.dispute import Dispute
from fairdeal.domain.money import Money
from fairdeal.domain.order import Order
from fairdeal.services.email_context import email_context
from fairdeal.services.ports import StoredEvent, User

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "src/fairdeal/locale"
EMAILS = sorted(p.name[: -len(".j2")] for p in (TEMPLATES / "email").glob("*.j2"))
EMAILS = [name for name in EMAILS if not name.startswith("_")]
ZONE = "Asia/Shanghai"
# What people typed, and names and ids: English in these tests, and theirs to keep.
TYPED = (
    "It arrived broken.",
    "Half, no more.",
    "The lamp was fine when it left.",
    "The packing photos",
    "The photos show transit damage.",
    "Shared damage.",
    "DHL",
    "Alice",
    "Fairdeal",
    "http://127.0.0.1:8000",
)


def test_there_is_one_template_per_event_and_audience_and_no_language_copies() -> None:
    assert "dispute.solution_proposed.buyer" in EMAILS and len(EMAILS) >= 30
    assert not [p for p in (TEMPLATES / "email").iterdir() if p.is_dir()]


def test_every_string_of_the_email_templates_is_in_both_catalogues() -> None:
    wanted: set[str] = set()
    options = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
    for path in (TEMPLATES / "email").glob("*.j2"):
        with path.open("rb") as fh:
            for _line, _function, message, _comments in babel_extract(
                fh, ("_", "gettext", "ngettext"), [], options
            ):
                wanted.add(message if isinstance(message, str) else message[0])
    assert len(wanted) > 80  # the templates' sentences were found
    for language in ("ru", "zh_Hans"):
        with (LOCALES / language / "LC_MESSAGES/messages.po").open("rb") as fh:
            translated = {m.id for m in read_po(fh) if m.id and m.string}
        assert wanted - translated == set(), language


def _cases() -> dict[str, tuple[Dispute, Order]]:
    """An open dispute with the buyer's answer due (classic), and one a mediator decided."""
    waiting, waiting_order = open_dispute(policy=CLASSIC)
    seller_offer(waiting)
    decided, decided_order, _at = under_review()
    decision = decide(decided, "25.00")
    decided.accept_decision(
        SELLER, decision.id, solution_index=None, now=decision.created_at, is_holiday=no_holiday
    )
    return {"waiting": (waiting, waiting_order), "decided": (decided, decided_order)}


CASES = _cases()


def context_for(case: str, template: str, language: str) -> tuple[dict[str, Any], User]:
    dispute, order = CASES[case]
    role = template.rsplit(".", 1)[1]
    user = User("usr_1", role, "Alice", "alice@example.test", dispute.opened_at, language=language)
    data: dict[str, object] = {}
    if template.startswith("deadline.reminder") and dispute.deadline is not None:
        due = dispute.deadline
        data = {"kind": due.kind, "due_at": due.due_at.isoformat(), "party": due.party}
        data |= {"on_expiry": due.on_expiry, "explanation": due.explanation}
    event = StoredEvent(1, "evt_1", template.rsplit(".", 1)[0], dispute.updated_at, data)
    context = email_context("http://127.0.0.1:8000", event, dispute, order, user, role)
    eur = dispute.amount_paid.currency
    # What the other events carry, so that every template has everything it may say.
    context["solution"] = {
        "by": "seller",
        "kind": "refund_only",
        "amount": Money.of("10.00", eur),
        "comment": "Half, no more.",
        "status": "pending",
    }
    context["message"] = {"by": "seller", "body": "The lamp was fine when it left."}
    context["request"] = {"text": "The packing photos", "due_at": dispute.updated_at}
    context["decision"] = {
        "solutions": [
            {"kind": "refund_only", "amount": Money.of("25.00", eur), "comment": "Shared damage."},
            {"kind": "return_and_refund", "amount": Money.of("40.00", eur), "comment": ""},
        ],
        "rationale": "The photos show transit damage.",
        "respond_by": dispute.updated_at,
        "status": "proposed",
    }
    context["escalation"] = {"trigger": "negotiation_timeout", "review_due_at": None}
    context["outcome"] = {
        "refund": Money.of("25.00", eur),
        "refund_is_zero": False,
        "return_required": False,
    }
    context["return"] = {
        "due_by": dispute.updated_at,
        "carrier": "DHL",
        "tracking_number": "JD0123",
        "confirm_by": dispute.updated_at,
        "condition": "damaged",
    }
    context["refund"] = {
        "amount": Money.of("25.00", eur),
        "expected_by": dispute.updated_at,
        "completed_at": None,
    }
    if context["deadline"] is None and template.startswith("deadline.reminder"):
        pytest.skip("a reminder names a deadline")
    return context, user


def english_left(text: str, dispute: Dispute, order: Order) -> list[str]:
    """Runs of three or more Latin words, once what people typed and the ids are taken out."""
    for typed in (*TYPED, *(i.title for i in order.items), dispute.id, order.id):
        text = text.replace(typed, " ")
    text = re.sub(r"\S+@\S+|\bhttps?://\S+", " ", text)
    return re.findall(r"[A-Za-z][A-Za-z']*(?:[\s,.:;]+[A-Za-z][A-Za-z']*){2,}", text)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("template", EMAILS)
def test_every_email_renders_in_three_languages_and_ru_zh_have_no_english(
    template: str, case: str
) -> None:
    renderer = JinjaEmailRenderer()
    dispute, order = CASES[case]
    rendered = {}
    for language in ("en", "ru", "zh_Hans"):
        context, user = context_for(case, template, language)
        email = renderer.render(template, user.language, context, time_zone=ZONE)
        assert email is not None
        rendered[language] = email
    assert rendered["en"].language == "en" and rendered["ru"].language == "ru"
    assert rendered["zh_Hans"].language == "zh_Hans"
    assert 'lang="zh-Hans"' in rendered["zh_Hans"].html
    assert "Dear Alice," in rendered["en"].text
    assert "Здравствуйте, Alice!" in rendered["ru"].text
    for language in ("ru", "zh_Hans"):
        email = rendered[language]
        assert email.subject != rendered["en"].subject
        for part in (email.subject, email.text, re.sub(r"<[^>]+>", " ", email.html)):
            assert english_left(part, dispute, order) == [], (language, part)
    zh = rendered["zh_Hans"]
    for part in (zh.subject, zh.text, re.sub(r"<[^>]+>", " ", zh.html)):
        # Chinese words take full-width punctuation (the pages' walk checks the same).
        ascii_after = re.findall(r".{0,12}[\u4e00-\u9fff][:,](?=\s|$).{0,12}", part)
        assert ascii_after == [], ascii_after


def test_money_moments_and_the_zone_are_the_readers() -> None:
    renderer = JinjaEmailRenderer()
    dispute, _order = CASES["waiting"]
    deadline = dispute.deadline
    assert deadline is not None and deadline.kind == "buyer_answer"
    local = deadline.due_at.astimezone(ZoneInfo(ZONE)).strftime("%H:%M")
    said = {}
    for language in ("en", "ru", "zh_Hans"):
        context, user = context_for("waiting", "dispute.solution_proposed.buyer", language)
        email = renderer.render(
            "dispute.solution_proposed.buyer", user.language, context, time_zone=ZONE
        )
        assert email is not None
        said[language] = email.text
        assert local in email.text  # the deadline in Shanghai's time, not UTC's
    assert "refund only, 10.00 USD" in said["en"]
    assert "10,00 $" in said["ru"] and "USD" not in said["ru"] and "Шанхай" in said["ru"]
    assert "US$10.00" in said["zh_Hans"] and "上海" in said["zh_Hans"]
    # The deadline is said to the buyer as the dispute page says it: their move, and what
    # silence does to them.
    assert "It is your move: accept or reject the seller's offer." in said["en"]
    assert "the dispute closes on the seller's offer" in said["en"]


def test_an_unknown_language_or_zone_reads_english_in_utc() -> None:
    context, _user = context_for("waiting", "dispute.opened.seller", "en")
    email = JinjaEmailRenderer().render(
        "dispute.opened.seller", "tlh", context, time_zone="Mars/Olympus"
    )
    assert email is not None and email.language == "en"
    assert email.subject.startswith("New dispute on order")
    assert "(UTC)" in email.text


def test_a_template_that_does_not_exist_sends_nothing() -> None:
    context, _user = context_for("waiting", "dispute.opened.seller", "ru")
    assert JinjaEmailRenderer().render("dispute.edited.seller", "ru", context) is None


@pytest.mark.parametrize("language", ["en", "ru", "zh_Hans"])
def test_paragraphs_and_lists_keep_their_shape_in_every_language(language: str) -> None:
    """A translated sentence ends its line as the English one does: the greeting, each
    paragraph and each thing the reader can do stand apart in the plain text and the HTML."""
    context, _user = context_for("decided", "dispute.decision_proposed.buyer", language)
    email = JinjaEmailRenderer().render("dispute.decision_proposed.buyer", language, context)
    assert email is not None
    paragraphs = email.text.split("\n\n")
    assert "\n" not in paragraphs[0] and "Alice" in paragraphs[0]  # the greeting stands alone
    options = [line for line in email.text.splitlines() if line.startswith("  * ")]
    assert len(options) == 2 + 3  # the decision's two solutions, the reader's three choices
    assert email.html.count("<li") == 5 and email.html.count("<ul") == 2
    # greeting, what happened, the options, the reasons, what to do, deadline, link, footer
    assert len(paragraphs) == 8, paragraphs
