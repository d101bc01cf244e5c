"""A refusal on a page is said in the reader's language by its code (the API's ``detail`` stays
the engine's English): the engine's fixed sentences translated word for word, an amount's
allowed range with the amounts in the reader's format, anything else by the code's sentence."""

from __future__ import annotations

import ast
from datetime import datetime
from pathlib import Path

import pytest

import fairdeal.domain
from builders import BUYER, CLASSIC, STANDARD, at, open_dispute, refuses, shipped_order
from fairdeal import i18n
from fairdeal.domain.errors import AmountOutOfRange, DomainError, InvalidTransition
from fairdeal.domain.order import ItemDisputeState, Order
from fairdeal.entrypoints.refusals import ENGINE_SENTENCES, STATUS, _code_words, said_to_people
from fairdeal.entrypoints.web import views

DOMAIN = Path(fairdeal.domain.__file__).parent


def domain_strings() -> set[str]:
    """Every string literal of the domain (adjacent literals are one constant to ``ast``)."""
    found = set()
    for path in DOMAIN.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    return found


def test_each_engine_sentence_is_still_raised_word_for_word() -> None:
    assert set(ENGINE_SENTENCES) - domain_strings() == set()


def test_every_refusal_code_has_its_sentence() -> None:
    with i18n.use("ru"):
        words = _code_words()
    assert set(words) == set(STATUS)
    assert all(not text.isascii() for text in words.values())


@pytest.mark.parametrize("language", ["ru", "zh_Hans"])
def test_every_engine_sentence_is_translated(language: str) -> None:
    with i18n.use(language):
        said = [said_to_people("invalid_transition", s) for s in ENGINE_SENTENCES]
    assert all(not text.isascii() for text in said), said


def test_english_pages_keep_the_engines_own_sentence() -> None:
    with i18n.use("en"):
        assert said_to_people("not_eligible", "you confirmed receipt of this order") == (
            "you confirmed receipt of this order"
        )


def test_a_refused_amount_names_its_range_in_the_readers_money() -> None:
    dispute, _order = open_dispute()
    error = refuses(
        AmountOutOfRange,
        lambda: dispute.propose_solution(
            BUYER, kind="return_and_refund", amount=dispute.amount_paid * 2, now=dispute.updated_at
        ),
    )
    assert error.code == "amount_out_of_range"
    with i18n.use("ru"):
        said = said_to_people(error.code, error.detail)
    assert said.startswith("Сумма должна быть от ") and "$" in said, said
    with i18n.use("zh_Hans"):
        assert "金额" in said_to_people(error.code, error.detail)


def test_a_sentence_the_pages_do_not_know_is_said_by_its_code() -> None:
    dispute, _order = open_dispute(policy=STANDARD)
    error = refuses(InvalidTransition, lambda: dispute.escalate(BUYER, now=dispute.updated_at))
    assert error.code == "invalid_transition" and "escalate" in error.detail
    with i18n.use("zh_Hans"):
        said = said_to_people(error.code, error.detail)
    assert said == _code_words_in("zh_Hans")["invalid_transition"]
    assert CLASSIC.mediation.manual_escalation  # the button exists there: not this refusal


def _code_words_in(language: str) -> dict[str, str]:
    with i18n.use(language):
        return _code_words()


def _eligibility_refusal(order: Order, reason: str, now: datetime) -> str:
    chosen = STANDARD.reason(reason)
    with pytest.raises(DomainError) as caught:
        order.check_can_dispute(item_ids=None, reason=chosen, now=now, policy=STANDARD)
    return caught.value.detail


@pytest.mark.parametrize("language", ["ru", "zh_Hans"])
def test_the_eligibility_sentences_with_values_are_translated(language: str) -> None:
    """What the orders page and the dispute form say before anything is posted: an item
    disputed before (its title, not its id), or a reason that has to wait (its title and a
    local time)."""
    dispute, order = open_dispute()
    item = order.items[0]
    open_already = _eligibility_refusal(order, "damaged", at(1))
    order.track_dispute(dispute.id, None, ItemDisputeState.CLOSED)
    closed_before = _eligibility_refusal(order, "damaged", at(1))
    waiting = _eligibility_refusal(shipped_order(days_ago=1), "not_received", at(0))
    assert "already has an open dispute" in open_already
    assert "closed dispute cannot be opened again" in closed_before
    assert "can be opened from" in waiting
    with i18n.use(language, "Asia/Shanghai"):
        for english in (open_already, closed_before):
            said = str(views.refusal(english, order))
            assert item.title in said and item.id not in said and dispute.id not in said
            assert said.replace(item.title, "").replace("“", "").replace("”", "").strip(" .")
            assert not said.replace(item.title, "").isascii(), said
        said = str(views.refusal(waiting))
        title = views.reason_text("not_received", "title", STANDARD.reasons["not_received"].title)
        assert title in said and "<time" in said and "can be opened" not in said, said
        # The same sentence answering a posted form (no filter in between).
        posted = said_to_people("not_eligible", waiting)
        assert title in posted and STANDARD.reasons["not_received"].title not in posted
