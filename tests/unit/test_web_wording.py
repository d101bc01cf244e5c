"""The dispute page's words for each reader (entrypoints/web/views.py), checked against what
the engine then does: the sentence a reader gets for a deadline must say what that deadline's
expiry does to *them*, and "nothing to do now" when it is the other side's move. Also the
buttons a page offers (only the sensible ones), the outcome and timeline said from codes, and
the three languages. Pure: no I/O, no server."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from babel.dates import format_datetime
from babel.numbers import format_currency

from builders import (
    BUYER,
    MEDIATOR,
    SELLER,
    STANDARD,
    at,
    awaiting_return,
    decide,
    no_holiday,
    open_dispute,
    seller_offer,
    under_review,
)
from fairdeal import i18n
from fairdeal.domain.dispute import Action, Dispute, Result, Role, Status
from fairdeal.domain.money import Money
from fairdeal.entrypoints.refusals import sentence
from fairdeal.entrypoints.web import views
from fairdeal.entrypoints.web.views import deadline_words


def words(dispute: Dispute, role: Role, allowed: set[Action] | None = None) -> views.DeadlineWords:
    deadline = dispute.deadline
    assert deadline is not None
    with i18n.use("en"):
        return deadline_words(deadline, dispute, role, allowed or set())


def expire(dispute: Dispute) -> None:
    deadline = dispute.deadline
    assert deadline is not None
    dispute.expire(now=deadline.due_at, is_holiday=no_holiday)


def test_seller_silence_is_the_sellers_move_and_closes_for_the_buyer() -> None:
    dispute, _ = open_dispute()
    buyer, seller = words(dispute, Role.BUYER), words(dispute, Role.SELLER)
    assert not buyer.mine and buyer.move.startswith("Nothing to do now")
    assert "closes in your favour on your solution" in buyer.silence
    assert seller.mine and seller.move.startswith("It is your move")
    assert "closes in the buyer's favour" in seller.silence
    assert "Silence counts as consent" not in buyer.silence + seller.silence
    expire(dispute)
    assert dispute.outcome is not None and dispute.outcome.result is Result.BUYER_FAVOUR


def test_negotiation_silence_escalates_and_says_nothing_is_lost() -> None:
    dispute, _ = open_dispute()
    seller_offer(dispute)
    allowed = {Action.ACCEPT_SOLUTION}
    buyer = words(dispute, Role.BUYER, allowed)
    # The seller may still accept the buyer's solution, but the ball is with the buyer.
    seller = words(dispute, Role.SELLER, {Action.ACCEPT_SOLUTION, Action.PROPOSE_SOLUTION})
    assert dispute.deadline is not None and dispute.deadline.on_expiry == "escalate"
    for said in (buyer, seller):
        assert "Nothing is lost" in said.silence and "a mediator takes over on" in said.silence
        assert "favour" not in said.silence
    # The seller offered: the buyer has a move to make, the seller has nothing to do.
    assert buyer.mine and "accept the seller's offer" in buyer.move
    assert not seller.mine and seller.move == "Nothing to do now: the buyer has your offer."
    expire(dispute)
    assert dispute.status is Status.UNDER_REVIEW and dispute.outcome is None


def test_an_accepted_decision_is_not_your_move_and_names_the_challenge_window() -> None:
    dispute, _, _ = under_review()
    decision = decide(dispute, "25.00")
    dispute.accept_decision(
        BUYER, decision.id, solution_index=None, now=at(9), is_holiday=no_holiday
    )
    buyer = words(dispute, Role.BUYER)
    seller = words(dispute, Role.SELLER)
    assert not buyer.mine and buyer.move == "You accepted the decision. Nothing to do now."
    assert "The seller may still challenge it" in buyer.silence
    assert "closes then on the accepted terms" in buyer.silence
    assert seller.mine and "challenge it with new evidence" in seller.move
    with i18n.use("en"):
        assert views.status_text(dispute, Role.BUYER).startswith("Decision accepted")
        assert views.status_text(dispute, Role.SELLER) == "With a mediator"
    expire(dispute)
    assert dispute.status is Status.CLOSED and dispute.outcome is not None
    assert dispute.outcome.refund.format() == "25.00"


def test_after_accepting_the_decision_only_sensible_buttons_remain() -> None:
    dispute, _, _ = under_review()
    decide(dispute, "25.00")
    engine_allows = set(dispute.allowed_actions(BUYER, window_open=True))
    assert Action.ACCEPT_SOLUTION in engine_allows  # standard does not freeze solutions
    shown = views.sensible_actions(dispute, Role.BUYER, engine_allows)
    # The decision is what the buyer answers now: no Accept on the seller's old offer.
    assert Action.ACCEPT_SOLUTION not in shown and Action.ACCEPT_DECISION in shown
    assert dispute.mediation is not None and dispute.mediation.decision is not None
    dispute.accept_decision(
        BUYER,
        dispute.mediation.decision.id,
        solution_index=None,
        now=at(9),
        is_holiday=no_holiday,
    )
    after = views.sensible_actions(
        dispute, Role.BUYER, set(dispute.allowed_actions(BUYER, window_open=True))
    )
    for gone in (Action.EDIT_SOLUTION, Action.PROPOSE_SOLUTION, Action.CANCEL, Action.EDIT_DISPUTE):
        assert gone not in after


def test_an_evidence_request_is_the_asked_partys_move_and_closes_for_the_other() -> None:
    dispute, _, _ = under_review()
    dispute.request_evidence(
        MEDIATOR, party="seller", request="The packing photo.", days=3, now=at(9)
    )
    seller, buyer = words(dispute, Role.SELLER), words(dispute, Role.BUYER)
    assert seller.mine and "send the evidence" in seller.move
    assert "closes in the buyer's favour" in seller.silence
    assert not buyer.mine and "asked the seller for evidence" in buyer.move
    assert "closes in your favour" in buyer.silence
    expire(dispute)
    assert dispute.outcome is not None and dispute.outcome.result is Result.BUYER_FAVOUR


def test_the_return_is_the_buyers_move_and_closes_for_the_seller() -> None:
    dispute, _ = awaiting_return()
    buyer, seller = words(dispute, Role.BUYER), words(dispute, Role.SELLER)
    assert buyer.mine and "seller's favour with no refund" in buyer.silence
    assert not seller.mine and "in your favour with no refund" in seller.silence
    expire(dispute)
    assert dispute.outcome is not None and dispute.outcome.result is Result.SELLER_FAVOUR
    assert dispute.outcome.refund.minor == 0


@pytest.mark.parametrize("language", ["ru", "zh_Hans"])
def test_the_words_are_translated_with_the_time_in_the_readers_zone(language: str) -> None:
    dispute, _ = open_dispute()
    deadline = dispute.deadline
    assert deadline is not None
    with i18n.use(language, "Asia/Shanghai"):
        said = deadline_words(deadline, dispute, Role.BUYER, set())
        expected = i18n.translations(language).gettext(
            "Nothing to do now: the seller has to answer."
        )
        assert said.move == expected != "Nothing to do now: the seller has to answer."
        local = (deadline.due_at + timedelta(hours=8)).strftime("%H:%M")
        assert local in said.silence
        assert i18n.zone_label() in said.silence


def test_outcome_and_timeline_are_said_from_codes_not_the_english_text() -> None:
    dispute, _ = open_dispute()
    expire(dispute)
    with i18n.use("ru"):
        text = views.outcome_text(dispute)
        assert "Продавец не ответил вовремя" in text
        assert all(views.timeline_text(t, dispute) != t.summary for t in dispute.timeline)
    with i18n.use("en"):
        assert views.timeline_text(dispute.timeline[0]) == dispute.timeline[0].summary


_AMOUNT = re.compile(r"(\d+\.\d{2}) ([A-Z]{3})")


@pytest.mark.parametrize("language", ["ru", "zh_Hans"])
def test_a_translated_timeline_says_as_much_as_the_english_one(language: str) -> None:
    """Amounts, who, which solution, the reason and the return's terms: every detail of the
    English summary is in the translated entry, in the reader's words and formats."""
    dispute, _order = open_dispute(outcome="return_and_refund")
    offer = seller_offer(dispute)
    dispute.reject_solution(BUYER, offer.id, now=at(1, 2))
    expire(dispute)  # no agreement: the negotiation clock hands it to a mediator
    dispute.assign(MEDIATOR, mediator_id=MEDIATOR.user_id, now=dispute.updated_at)
    decision = decide(dispute, "25.00", "40.00", kind="return_and_refund")
    answered = dispute.updated_at + timedelta(hours=1)
    dispute.accept_decision(
        BUYER, decision.id, solution_index=1, now=answered, is_holiday=no_holiday
    )
    dispute.accept_decision(
        SELLER, decision.id, solution_index=None, now=answered, is_holiday=no_holiday
    )
    expire(dispute)  # the challenge window ends: the decision is final, the return is due
    types = {t.type for t in dispute.timeline}
    assert {"solution.proposed", "solution.rejected", "decision.proposed", "decision.final",
            "return.required", "dispute.escalated"} <= types  # fmt: skip
    with i18n.use(language):
        for entry in dispute.timeline:
            said = views.timeline_text(entry, dispute)
            for value, currency in _AMOUNT.findall(entry.summary):
                assert views.money(Money.of(value, currency)) in said, (entry.summary, said)
            assert not said.isascii(), (entry.summary, said)
            if "refund only" in entry.summary or "return and refund" in entry.summary:
                kinds = [views.kind_label(k).lower() for k in ("refund_only", "return_and_refund")]
                assert any(k in said for k in kinds), (entry.summary, said)
            if entry.type == "return.required":
                assert str(STANDARD.deadlines.return_ship_days) in said
        opened = views.timeline_text(dispute.timeline[0], dispute)
        assert views.reason_title(dispute) in opened
        offered = next(t for t in dispute.timeline if t.type == "solution.proposed")
        assert views.role_label("seller") in views.timeline_text(offered, dispute)


def test_reason_texts_are_translated_by_code() -> None:
    reason = STANDARD.reasons["damaged"]
    with i18n.use("zh_Hans"):
        assert views.reason_text("damaged", "title", reason.title) == "运输途中损坏"
    with i18n.use("en"):
        assert views.reason_text("damaged", "title", reason.title) == reason.title


def test_the_language_comes_from_the_setting_then_the_cookie_then_the_browser() -> None:
    assert i18n.choose("ru", "zh_Hans", "en") == "ru"
    assert i18n.choose(None, "zh_Hans", "ru") == "zh_Hans"
    assert i18n.choose(None, None, "de-DE,ru;q=0.8,en;q=0.5") == "ru"
    assert i18n.choose(None, None, "zh-TW,zh;q=0.9") == "zh_Hans"
    assert i18n.choose(None, "xx", "fr") == "en"
    assert i18n.from_accept_language("en;q=0.2, ru;q=0.9") == "ru"


def test_the_zone_is_named_in_the_readers_words_and_punctuation() -> None:
    # Offsets without daylight saving, so that the answer does not depend on the date.
    with i18n.use("en", "Asia/Kolkata"):
        assert i18n.zone_label() == "Kolkata, UTC+5:30"
    with i18n.use("ru", "Europe/Moscow"):
        assert i18n.zone_label() == "Москва, UTC+3"
    with i18n.use("zh_Hans", "Asia/Shanghai"):
        assert i18n.zone_label() == "上海，UTC+8"  # a full-width comma between Chinese words
    with i18n.use("zh_Hans", "UTC"):
        assert i18n.zone_label() == "UTC"


def test_money_follows_the_locale() -> None:
    with i18n.use("en"):
        assert views.money(Money(123456, "EUR")) == "1234.56 EUR"
    with i18n.use("ru"):
        assert views.money(Money(123456, "EUR")) == "1 234,56 €"
    with i18n.use("zh_Hans"):
        assert views.money(Money(123456, "EUR")) == "€1,234.56"


def test_a_refusal_sentence_gets_one_full_stop_in_any_script() -> None:
    assert sentence("a closed dispute cannot be opened again") == (
        "A closed dispute cannot be opened again."
    )
    assert sentence("已关闭的纠纷不能再次发起。") == "已关闭的纠纷不能再次发起。"
    assert sentence("Спор закрыт.") == "Спор закрыт."


def test_the_time_zone_options_are_every_zone_with_the_readers_selected() -> None:
    """The foot of every page: what the template's loop over the zones wrote, built once."""
    options = views.zone_options("Europe/Berlin")
    zones = re.findall(r"<option( selected)?>([^<]*)</option>", options)
    assert [zone for _, zone in zones] == i18n.zone_names()
    assert [zone for chosen, zone in zones if chosen] == ["Europe/Berlin"]
    assert views.zone_options("Europe/Berlin") is options
    assert "<option selected>UTC</option>" in views.zone_options("UTC")


def test_the_metric_flags_are_badges_linking_to_the_numbers() -> None:
    dispute, _order = open_dispute()
    assert views.metric_flag_badges(dispute, {}) == ""
    badges = views.metric_flag_badges(
        dispute, {dispute.id: ("serial_disputer", "seller_above_norm")}
    )
    assert badges.startswith('<p class="meta metric-flags">') and badges.endswith("</p>")
    assert re.findall(r'href="([^"]+)">([^<]+)</a>', badges) == [
        (f"/admin/metrics#buyer-{dispute.buyer_id}", "Buyer: serial disputer"),
        (f"/admin/metrics#seller-{dispute.seller_id}", "Seller: disputes far above the norm"),
    ]


@pytest.mark.parametrize("language", list(i18n.LANGUAGES))
def test_money_and_moments_read_as_babel_writes_them(language: str) -> None:
    """i18n prepares Babel's currency and date patterns once per language (not per call):
    what it writes must stay what format_currency and format_datetime write."""

    def babel_money(minor: int, currency: str, exponent: int) -> str:
        amount = Decimal(minor).scaleb(-exponent)
        if language == i18n.DEFAULT:
            pattern = "0." + "0" * exponent + "\xa0¤¤" if exponent else "0\xa0¤¤"
            text = format_currency(amount, currency, pattern, locale="en", currency_digits=False)
        else:
            text = format_currency(amount, currency, locale=i18n.current().locale)
        return text.replace("\xa0", " ").replace("\u202f", " ")

    for zone in ("UTC", "Europe/Moscow", "Asia/Kolkata", "America/New_York"):
        with i18n.use(language, zone):
            for currency, exponent in (("EUR", 2), ("USD", 2), ("JPY", 0), ("RUB", 2), ("KWD", 3)):
                for minor in (0, 5, 123456, -250, 10**9 + 7):
                    assert i18n.format_money(minor, currency, exponent) == babel_money(
                        minor, currency, exponent
                    )
            prefs = i18n.current()
            for moment in (
                datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),
                datetime(2026, 12, 3, 14, 5, 7, tzinfo=UTC),
                datetime(2026, 7, 1, 9, 0),  # naive: read as UTC
            ):
                text = format_datetime(moment, "medium", tzinfo=prefs.zone, locale=prefs.locale)
                text = re.sub(r"(\d{1,2}:\d{2}):\d{2}", r"\1", text)
                zone_name = i18n.zone_label()
                # The zone in the reader's brackets: full-width ones in Chinese.
                named = f"（{zone_name}）" if language == "zh_Hans" else f" ({zone_name})"
                assert i18n.when(moment) == text + named
