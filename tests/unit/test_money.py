"""Money: exact amounts in integer minor units, parsed from decimal strings only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fairdeal.domain.errors import CurrencyMismatch, ValidationError
from fairdeal.domain.money import MINOR_UNITS, Money, check_currency, minimum_claim, minor_units


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.50", "USD", 1250),
        ("0.01", "USD", 1),
        ("5", "USD", 500),
        ("5.5", "EUR", 550),
        ("0", "USD", 0),
        ("-1.05", "USD", -105),
        ("1500", "JPY", 1500),
        ("1.234", "KWD", 1234),
        ("999999999999999.99", "USD", 99999999999999999),
    ],
)
def test_parse_reads_decimal_strings_in_major_units(text: str, currency: str, minor: int) -> None:
    amount = Money.parse(text, currency)
    assert amount == Money(minor, currency)
    assert isinstance(amount.minor, int)


def test_a_whole_number_is_read_in_major_units() -> None:
    assert Money.parse(7, "USD") == Money(700, "USD")


@pytest.mark.parametrize("value", [12.5, 0.1, float("nan"), Decimal("12.50"), True, None, b"1"])
def test_floats_and_other_types_are_refused(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Money.parse(value, "USD")
    assert type(caught.value) is ValidationError
    assert caught.value.field == "amount"


@pytest.mark.parametrize(
    "text",
    ["1e3", "1E3", "1.5e2", "NaN", "nan", "Infinity", "-inf", "sNaN", " 1.00", "1.00 ", "1,00",
     "+1.00", "1.", ".5", "", "1_000", "0x10", "１２"],
)  # fmt: skip
def test_exponents_nan_and_odd_spellings_are_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        Money.parse(text, "USD")


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("1.234", "USD"),
        ("0.001", "EUR"),
        ("1.5", "JPY"),
        ("1.2345", "KWD"),
        # API.md: "more decimals than the currency has are refused" -- as written, so a
        # trailing zero past the currency's decimals is refused too.
        ("12.500", "USD"),
        ("1.0", "JPY"),
    ],
)
def test_more_decimals_than_the_currency_has_are_refused(text: str, currency: str) -> None:
    with pytest.raises(ValidationError, match="decimals"):
        Money.parse(text, currency)


def test_the_field_name_is_carried_into_the_error() -> None:
    with pytest.raises(ValidationError) as caught:
        Money.parse("1e3", "USD", field="unit_price")
    assert caught.value.field == "unit_price"
    assert "unit_price" in caught.value.detail


@pytest.mark.parametrize("currency", ["XXX", "usd", "", "US", None, 840])
def test_unknown_currencies_are_refused_not_guessed(currency: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Money.parse("1.00", currency)  # type: ignore[arg-type]
    assert caught.value.field == "currency"
    with pytest.raises(ValidationError):
        check_currency(currency)
    with pytest.raises(ValidationError):
        Money.zero(currency)  # type: ignore[arg-type]


def test_minor_units_follow_iso_4217() -> None:
    assert minor_units("USD") == 2
    assert minor_units("JPY") == 0
    assert minor_units("KWD") == 3
    with pytest.raises(ValidationError):
        minor_units("XXX")


@pytest.mark.parametrize(
    ("currency", "minimum"),
    [("USD", "0.01"), ("EUR", "0.01"), ("RUB", "1.00"), ("JPY", "1"), ("KWD", "0.001")],
)
def test_minimum_claim_is_one_minor_unit_or_one_rouble(currency: str, minimum: str) -> None:
    assert minimum_claim(currency) == Money.parse(minimum, currency)


def test_minimum_claim_for_rub_is_one_whole_rouble() -> None:
    assert minimum_claim("RUB") == Money(100, "RUB")
    assert Money.parse("0.99", "RUB") < minimum_claim("RUB")


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Money(1250, "USD"), "12.50"),
        (Money(5, "USD"), "0.05"),
        (Money(-105, "USD"), "-1.05"),
        (Money(1500, "JPY"), "1500"),
        (Money(1234, "KWD"), "1.234"),
        (Money(0, "EUR"), "0.00"),
    ],
)
def test_format_writes_exactly_the_currencys_decimals(amount: Money, text: str) -> None:
    assert amount.format() == text
    assert amount.as_json() == {"currency": amount.currency, "value": text}
    assert str(amount) == f"{text} {amount.currency}"


def test_decimal_view_is_exact() -> None:
    assert Money.parse("0.10", "USD").decimal + Money.parse("0.20", "USD").decimal == Decimal(
        "0.30"
    )
    assert Money(1500, "JPY").decimal == Decimal(1500)


def test_arithmetic_is_exact() -> None:
    total = Money.parse("0.10", "USD") + Money.parse("0.20", "USD")
    assert total == Money.parse("0.30", "USD")
    assert Money.parse("1.00", "USD") - Money.parse("0.01", "USD") == Money(99, "USD")
    assert Money.parse("12.50", "USD") * 3 == Money.parse("37.50", "USD")
    assert Money.zero("USD").is_zero
    assert not Money(1, "USD").is_zero


@pytest.mark.parametrize("factor", [1.5, True, Decimal(2), "2"])
def test_money_is_multiplied_by_whole_quantities_only(factor: object) -> None:
    with pytest.raises(TypeError):
        Money(100, "USD") * factor  # type: ignore[operator]


@pytest.mark.parametrize(
    "combine",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
        lambda a, b: min(a, b),
    ],
)
def test_currencies_are_never_mixed(combine: object) -> None:
    usd, eur = Money(100, "USD"), Money(100, "EUR")
    with pytest.raises(CurrencyMismatch) as caught:
        combine(usd, eur)  # type: ignore[operator]
    # A currency mismatch is a validation error to the API.
    assert isinstance(caught.value, ValidationError)
    assert caught.value.code == "validation_error"


def test_equal_minor_units_of_two_currencies_are_not_equal() -> None:
    assert Money(100, "USD") != Money(100, "EUR")


def test_comparisons_within_one_currency() -> None:
    small, big = Money(1, "USD"), Money(2, "USD")
    assert small < big <= big
    assert big > small >= small
    assert min(big, small) is small


@given(
    minor=st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1),  # 15 digits at most
    currency=st.sampled_from(sorted(MINOR_UNITS)),
)
def test_format_and_parse_round_trip(minor: int, currency: str) -> None:
    amount = Money(minor, currency)
    assert Money.parse(amount.format(), currency) == amount


@given(
    a=st.integers(min_value=0, max_value=10**12),
    b=st.integers(min_value=0, max_value=10**12),
)
def test_addition_matches_decimal_arithmetic(a: int, b: int) -> None:
    left, right = Money(a, "USD"), Money(b, "USD")
    assert (left + right).decimal == left.decimal + right.decimal
    assert (left - right).decimal == left.decimal - right.decimal
