"""A refusal on a page is said in the reader's language by its code (the API's ``detail`` stays
the engine's English): the engine's fixed sentences translated word for word, an amount's
allowed range with the amounts in the reader's format, anything else by the code's sentence."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import fairdeal.domain
from builders import BUYER, CLASSIC, STANDARD, open_dispute, refuses
from fairdeal import i18n
from fairdeal.domain.errors import AmountOutOfRange, InvalidTransition
from fairdeal.entrypoints.refusals import ENGINE_SENTENCES, STATUS, _code_words, said_to_people

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
