"""Exact, currency-aware money. Amounts are integer minor units; nothing here is a float."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from fairdeal.domain.errors import CurrencyMismatch, ValidationError

# ISO 4217 minor units for the currencies a marketplace is likely to take. Anything not listed
# is refused rather than guessed: a wrong exponent would misplace the decimal point of a refund.
MINOR_UNITS: dict[str, int] = {
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "RUB": 2,
    "CNY": 2,
    "CAD": 2,
    "AUD": 2,
    "NZD": 2,
    "CHF": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "HUF": 2,
    "BRL": 2,
    "MXN": 2,
    "INR": 2,
    "TRY": 2,
    "UAH": 2,
    "KZT": 2,
    "ILS": 2,
    "SGD": 2,
    "HKD": 2,
    "TWD": 2,
    "THB": 2,
    "MYR": 2,
    "PHP": 2,
    "IDR": 2,
    "ZAR": 2,
    "AED": 2,
    "SAR": 2,
    "RON": 2,
    "BGN": 2,
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "CLP": 0,
    "ISK": 0,
    "KWD": 3,
    "BHD": 3,
    "JOD": 3,
    "OMR": 3,
    "TND": 3,
}

# The smallest amount a buyer may claim, in major units. PRODUCT.md: 0.01, or 1 for RUB.
# Zero-decimal currencies cannot go below one unit anyway.
MINIMUM_CLAIM_MAJOR: dict[str, Decimal] = {"RUB": Decimal("1")}

# A decimal string in major units: optional sign, digits, optional fraction. No exponents,
# no spaces, no "NaN" or "Infinity": those are refused before Decimal ever sees them. ASCII
# digits only: ``\d`` would also let through full-width and other scripts' digits.
_AMOUNT_TEXT = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,6})?")

# The largest amount an order may hold, in minor units (10 trillion dollars): far above any
# real order and far below the 64-bit integers the ledger stores, so that prices times
# quantities can never overflow a column.
MAX_AMOUNT_MINOR = 10**15


def minor_units(currency: str) -> int:
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise ValidationError(f"unsupported currency {currency!r}", field="currency") from None


def check_currency(currency: object) -> str:
    if not isinstance(currency, str) or currency not in MINOR_UNITS:
        raise ValidationError(f"unsupported currency {currency!r}", field="currency")
    return currency


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in integer minor units of one currency."""

    minor: int
    currency: str

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, check_currency(currency))

    @classmethod
    def parse(cls, value: object, currency: str, *, field: str = "amount") -> Money:
        """Read a decimal string in major units ("12.50"); refuse floats, exponents, NaN and
        more decimals than the currency has."""
        check_currency(currency)
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValidationError(
                f'{field} must be a decimal string such as "12.50", not {type(value).__name__}',
                field=field,
            )
        text = str(value)
        if not _AMOUNT_TEXT.fullmatch(text) or (text.startswith("-") and not text.strip("-0.")):
            # "-0.00" is refused too: a zero with a sign is a client bug, not an amount.
            raise ValidationError(f"{field} {text!r} is not a plain decimal amount", field=field)
        try:
            amount = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern already rules these out
            raise ValidationError(f"{field} {text!r} is not a number", field=field) from None
        exponent = minor_units(currency)
        scaled = amount.scaleb(exponent)
        # Counted as written: "12.500" has more decimals than USD has even though its value
        # would fit, and API.md refuses it (it usually means the wrong currency was sent).
        if len(text.partition(".")[2]) > exponent:
            raise ValidationError(
                f"{field} {text} has more than {exponent} decimals for {currency}", field=field
            )
        return cls(int(scaled), currency)

    @classmethod
    def of(cls, value: str, currency: str) -> Money:
        """Shorthand for trusted literals in code and tests."""
        return cls.parse(value, currency)

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-minor_units(self.currency))

    def format(self) -> str:
        """The decimal string in major units with exactly the currency's decimals."""
        exponent = minor_units(self.currency)
        sign = "-" if self.minor < 0 else ""
        whole, frac = divmod(abs(self.minor), 10**exponent)
        return f"{sign}{whole}.{frac:0{exponent}d}" if exponent else f"{sign}{whole}"

    def as_json(self) -> dict[str, str]:
        return {"currency": self.currency, "value": self.format()}

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __mul__(self, factor: int) -> Money:
        if not isinstance(factor, int) or isinstance(factor, bool):
            raise TypeError("money is multiplied by whole quantities only")
        return Money(self.minor * factor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    @property
    def is_zero(self) -> bool:
        return self.minor == 0

    def __str__(self) -> str:
        return f"{self.format()} {self.currency}"


def minimum_claim(currency: str) -> Money:
    """The smallest amount a buyer may claim in a dispute."""
    exponent = minor_units(currency)
    floor = MINIMUM_CLAIM_MAJOR.get(currency, Decimal(1).scaleb(-exponent))
    return Money(int(floor.scaleb(exponent)), currency)


@dataclass(frozen=True, slots=True)
class Amount:
    """An amount as a request gave it, read at the edge before the order is loaded: a money
    object (``currency`` set) or a bare decimal string in the order's currency (``currency``
    None). ``in_currency`` turns it into ``Money`` once the order's currency is known, with
    the same refusals (and the same field names) whichever edge it came from."""

    value: object
    currency: str | None = None
    field: str = "amount"

    @classmethod
    def of(cls, raw: object, *, field: str = "amount") -> Amount:
        """From a request's JSON: ``{"currency", "value"}`` or a bare decimal string."""
        if isinstance(raw, Amount):
            return raw
        if isinstance(raw, Money):
            return cls(raw.format(), raw.currency, field)
        if isinstance(raw, dict):
            currency = raw.get("currency")
            return cls(raw.get("value"), currency if isinstance(currency, str) else "", field)
        return cls(raw, None, field)

    def in_currency(self, currency: str) -> Money:
        """The amount as ``Money`` of the order's currency; another currency is refused."""
        if self.currency is None:
            return Money.parse(self.value, currency, field=self.field)
        if self.currency != currency:
            raise ValidationError(
                f"{self.field} must be in {currency}", field=f"{self.field}.currency"
            )
        return Money.parse(self.value, currency, field=f"{self.field}.value")
