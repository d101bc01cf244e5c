"""Escrow as a double-entry ledger. Every movement is a transaction whose postings sum to zero;
per order, held == refunded + released + still in escrow, and nothing leaves escrow that is not
in it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from fairdeal.domain.errors import AmountOutOfRange, ValidationError
from fairdeal.domain.money import Money


class Account(StrEnum):
    BUYER_PAYMENT = "buyer_payment"  # the buyer's payment method, outside Fairdeal
    ESCROW = "escrow"
    SELLER_PAYOUT = "seller_payout"
    BUYER_REFUND = "buyer_refund"  # back to the original payment method


class Movement(StrEnum):
    HOLD = "hold"
    REFUND = "refund"
    RELEASE = "release"


_ACCOUNTS = {
    Movement.HOLD: (Account.BUYER_PAYMENT, Account.ESCROW),
    Movement.REFUND: (Account.ESCROW, Account.BUYER_REFUND),
    Movement.RELEASE: (Account.ESCROW, Account.SELLER_PAYOUT),
}


@dataclass(frozen=True, slots=True)
class Posting:
    account: Account
    amount: Money  # positive: into the account; negative: out of it


@dataclass(frozen=True, slots=True)
class LedgerTransaction:
    order_id: str
    movement: Movement
    postings: tuple[Posting, Posting]
    at: datetime
    dispute_id: str | None = None

    def __post_init__(self) -> None:
        total = self.postings[0].amount + self.postings[1].amount
        if not total.is_zero:
            raise ValidationError("a ledger transaction must balance")

    @property
    def amount(self) -> Money:
        return self.postings[1].amount


@dataclass(slots=True)
class Escrow:
    """The running balances of one order's escrow."""

    held: Money
    refunded: Money
    released: Money

    @classmethod
    def empty(cls, currency: str) -> Escrow:
        zero = Money.zero(currency)
        return cls(zero, zero, zero)

    @property
    def available(self) -> Money:
        return self.held - self.refunded - self.released

    def move(
        self,
        movement: Movement,
        amount: Money,
        *,
        order_id: str,
        at: datetime,
        dispute_id: str | None = None,
    ) -> LedgerTransaction:
        """Apply one movement and return the balanced transaction that records it."""
        if amount.minor < 0:
            raise AmountOutOfRange("a ledger movement cannot be negative")
        if movement is Movement.HOLD:
            self.held += amount
        else:
            if amount > self.available:
                raise AmountOutOfRange(
                    f"cannot {movement.value} {amount}: only {self.available} is in escrow"
                )
            if movement is Movement.REFUND:
                self.refunded += amount
            else:
                self.released += amount
        source, target = _ACCOUNTS[movement]
        zero = Money.zero(amount.currency)
        return LedgerTransaction(
            order_id=order_id,
            movement=movement,
            postings=(Posting(source, zero - amount), Posting(target, amount)),
            at=at,
            dispute_id=dispute_id,
        )
