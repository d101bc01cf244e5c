"""Escrow as a double-entry ledger. Every movement is a transaction whose postings sum to zero;
per order, held == refunded + released + pending_refund + pending_release + still in escrow,
and nothing leaves escrow that is not in it.

Deciding where money goes and the money really going are two steps (docs/payments.md): a
refund or release decided moves money from escrow to a pending account; the payment
provider's confirmation moves it on, from pending to the buyer's refund or the seller's
payout. ``refunded`` and ``released`` count confirmed money only."""

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
    PENDING_REFUND = "pending_refund"  # decided for the buyer, not yet confirmed paid
    PENDING_RELEASE = "pending_release"  # decided for the seller, not yet confirmed paid


class Movement(StrEnum):
    HOLD = "hold"
    REFUND = "refund"  # decided: escrow -> pending refund
    RELEASE = "release"  # decided: escrow -> pending release
    REFUNDED = "refunded"  # the provider confirmed the refund: pending -> buyer
    PAID_OUT = "paid_out"  # the provider confirmed the payout: pending -> seller


_ACCOUNTS = {
    Movement.HOLD: (Account.BUYER_PAYMENT, Account.ESCROW),
    Movement.REFUND: (Account.ESCROW, Account.PENDING_REFUND),
    Movement.RELEASE: (Account.ESCROW, Account.PENDING_RELEASE),
    Movement.REFUNDED: (Account.PENDING_REFUND, Account.BUYER_REFUND),
    Movement.PAID_OUT: (Account.PENDING_RELEASE, Account.SELLER_PAYOUT),
}

# A placeholder for balances added after orders were first stored: replaced by a zero of
# the order's currency on load (documents written before a field existed lack it).
_UNSET = Money(0, "XXX")


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
    refunded: Money  # confirmed by the payment provider
    released: Money  # confirmed by the payment provider
    pending_refund: Money = _UNSET  # decided, not yet confirmed
    pending_release: Money = _UNSET

    def __post_init__(self) -> None:
        if self.pending_refund is _UNSET:
            self.pending_refund = Money(0, self.held.currency)
        if self.pending_release is _UNSET:
            self.pending_release = Money(0, self.held.currency)

    @classmethod
    def empty(cls, currency: str) -> Escrow:
        zero = Money.zero(currency)
        return cls(zero, zero, zero, zero, zero)

    @property
    def available(self) -> Money:
        return (
            self.held - self.refunded - self.released - self.pending_refund - self.pending_release
        )

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
        elif movement is Movement.REFUNDED:
            if amount > self.pending_refund:
                raise AmountOutOfRange(
                    f"cannot confirm a refund of {amount}: only {self.pending_refund} is pending"
                )
            self.pending_refund -= amount
            self.refunded += amount
        elif movement is Movement.PAID_OUT:
            if amount > self.pending_release:
                raise AmountOutOfRange(
                    f"cannot confirm a payout of {amount}: only {self.pending_release} is pending"
                )
            self.pending_release -= amount
            self.released += amount
        else:
            if amount > self.available:
                raise AmountOutOfRange(
                    f"cannot {movement.value} {amount}: only {self.available} is in escrow"
                )
            if movement is Movement.REFUND:
                self.pending_refund += amount
            else:
                self.pending_release += amount
        source, target = _ACCOUNTS[movement]
        zero = Money.zero(amount.currency)
        return LedgerTransaction(
            order_id=order_id,
            movement=movement,
            postings=(Posting(source, zero - amount), Posting(target, amount)),
            at=at,
            dispute_id=dispute_id,
        )
