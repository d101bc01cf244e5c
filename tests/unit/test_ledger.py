"""Escrow as a double-entry ledger: every transaction balances, held == refunded + released +
available, and nothing leaves escrow that is not in it."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from builders import T0, at, money, refuses, shipped_order
from fairdeal.domain.errors import AmountOutOfRange, CurrencyMismatch, ValidationError
from fairdeal.domain.ledger import Account, Escrow, LedgerTransaction, Movement, Posting
from fairdeal.domain.money import Money


def balanced(tx: LedgerTransaction) -> bool:
    return (tx.postings[0].amount + tx.postings[1].amount).is_zero


def held_escrow(amount: str = "55.00") -> Escrow:
    escrow = Escrow.empty("USD")
    escrow.move(Movement.HOLD, money(amount), order_id="ord_1", at=T0)
    return escrow


def test_an_empty_escrow_holds_nothing() -> None:
    escrow = Escrow.empty("EUR")
    assert escrow.held == escrow.refunded == escrow.released == Money.zero("EUR")
    assert escrow.available == Money.zero("EUR")


@pytest.mark.parametrize(
    ("movement", "source", "target"),
    [
        (Movement.HOLD, Account.BUYER_PAYMENT, Account.ESCROW),
        (Movement.REFUND, Account.ESCROW, Account.PENDING_REFUND),
        (Movement.RELEASE, Account.ESCROW, Account.PENDING_RELEASE),
    ],
)
def test_each_movement_is_one_balanced_transaction_between_two_accounts(
    movement: Movement, source: Account, target: Account
) -> None:
    escrow = held_escrow()
    tx = escrow.move(movement, money("5.00"), order_id="ord_1", at=at(1), dispute_id="dsp_1")
    assert balanced(tx)
    assert tx.postings == (Posting(source, money("-5.00")), Posting(target, money("5.00")))
    assert tx.amount == money("5.00")
    assert (tx.order_id, tx.movement, tx.at, tx.dispute_id) == ("ord_1", movement, at(1), "dsp_1")


def test_balances_after_refund_and_release() -> None:
    escrow = held_escrow("55.00")
    escrow.move(Movement.REFUND, money("20.00"), order_id="ord_1", at=at(1))
    escrow.move(Movement.RELEASE, money("30.00"), order_id="ord_1", at=at(2))
    assert escrow.held == money("55.00")
    # Decided, not yet confirmed by the payment provider: pending, not refunded/released.
    assert escrow.pending_refund == money("20.00")
    assert escrow.pending_release == money("30.00")
    assert escrow.refunded.is_zero and escrow.released.is_zero
    assert escrow.available == money("5.00")
    assert escrow.held == total(escrow)


@pytest.mark.parametrize("movement", [Movement.REFUND, Movement.RELEASE])
def test_nothing_leaves_escrow_that_is_not_in_it(movement: Movement) -> None:
    escrow = held_escrow("55.00")
    escrow.move(Movement.REFUND, money("50.00"), order_id="ord_1", at=at(1))
    refuses(
        AmountOutOfRange,
        lambda: escrow.move(movement, money("5.01"), order_id="ord_1", at=at(2)),
        escrow,
    )
    # Exactly what is left can go.
    escrow.move(movement, money("5.00"), order_id="ord_1", at=at(2))
    assert escrow.available.is_zero


@pytest.mark.parametrize("movement", list(Movement))
def test_negative_movements_are_refused(movement: Movement) -> None:
    escrow = held_escrow()
    refuses(
        AmountOutOfRange,
        lambda: escrow.move(movement, money("-1.00"), order_id="ord_1", at=T0),
        escrow,
    )


def test_an_unbalanced_transaction_cannot_be_built() -> None:
    with pytest.raises(ValidationError, match="balance"):
        LedgerTransaction(
            "ord_1",
            Movement.REFUND,
            (Posting(Account.ESCROW, money("-5.00")), Posting(Account.BUYER_REFUND, money("4.99"))),
            T0,
        )


def test_a_transaction_cannot_mix_currencies() -> None:
    with pytest.raises(CurrencyMismatch):
        LedgerTransaction(
            "ord_1",
            Movement.REFUND,
            (
                Posting(Account.ESCROW, money("-5.00")),
                Posting(Account.BUYER_REFUND, money("5.00", "EUR")),
            ),
            T0,
        )


def test_escrow_refuses_money_of_another_currency() -> None:
    escrow = held_escrow()
    with pytest.raises(CurrencyMismatch):
        escrow.move(Movement.REFUND, money("1.00", "EUR"), order_id="ord_1", at=T0)
    assert escrow == held_escrow()


# --- through the order --------------------------------------------------------------------


def test_a_paid_order_holds_its_total_in_one_transaction() -> None:
    order = shipped_order()
    [tx] = order.pending_ledger
    assert tx.movement is Movement.HOLD
    assert tx.amount == order.total == money("55.00")
    assert order.escrow.held == money("55.00")


def test_a_dispute_refund_never_exceeds_what_was_paid_for_the_disputed_items() -> None:
    order = shipped_order()
    refuses(
        ValidationError,
        lambda: order.settle_dispute(
            dispute_id="dsp_1", amount_paid=money("40.00"), refund=money("40.01"), now=at(1)
        ),
        order,
    )


def test_settling_refunds_the_amount_and_releases_the_rest_of_the_disputed_items() -> None:
    order = shipped_order()
    order.settle_dispute(
        dispute_id="dsp_1", amount_paid=money("40.00"), refund=money("15.00"), now=at(1)
    )
    refund, release = order.pending_ledger[1:]
    assert (refund.movement, refund.amount, refund.dispute_id) == (
        Movement.REFUND,
        money("15.00"),
        "dsp_1",
    )
    assert (release.movement, release.amount) == (Movement.RELEASE, money("25.00"))
    assert order.escrow.available == money("15.00")  # the other item and shipping wait


def test_a_zero_refund_releases_everything_for_the_items_and_a_full_refund_releases_nothing() -> (
    None
):
    order = shipped_order()
    order.settle_dispute(
        dispute_id="dsp_1", amount_paid=money("40.00"), refund=money("0.00"), now=at(1)
    )
    assert [tx.movement for tx in order.pending_ledger] == [Movement.HOLD, Movement.RELEASE]
    other = shipped_order()
    other.settle_dispute(
        dispute_id="dsp_1", amount_paid=money("40.00"), refund=money("40.00"), now=at(1)
    )
    assert [tx.movement for tx in other.pending_ledger] == [Movement.HOLD, Movement.REFUND]


def test_settling_beyond_what_is_left_in_escrow_is_refused() -> None:
    order = shipped_order()
    order.settle_dispute(
        dispute_id="dsp_1", amount_paid=money("55.00"), refund=money("50.00"), now=at(1)
    )
    assert order.escrow.available.is_zero
    refuses(
        AmountOutOfRange,
        lambda: order.settle_dispute(
            dispute_id="dsp_2", amount_paid=money("10.00"), refund=money("1.00"), now=at(2)
        ),
        order,
    )


@given(
    steps=st.lists(
        st.tuples(st.sampled_from(list(Movement)), st.integers(min_value=0, max_value=10_000)),
        max_size=30,
    )
)
def test_held_always_equals_refunded_plus_released_plus_pending_plus_available(
    steps: list[tuple[Movement, int]],
) -> None:
    """Deciding (refund, release) and confirming (refunded, paid_out) in any order: at every
    moment held = refunded + released + pending_refund + pending_release + available, no
    balance is negative, and a movement larger than its source is refused, changing nothing."""
    escrow = Escrow.empty("USD")
    for movement, minor in steps:
        before = copy.deepcopy(escrow)
        try:
            tx = escrow.move(movement, Money(minor, "USD"), order_id="ord_1", at=T0)
        except AmountOutOfRange:
            assert escrow == before
            source = {
                Movement.REFUNDED: before.pending_refund,
                Movement.PAID_OUT: before.pending_release,
            }.get(movement, before.available)
            assert minor > source.minor
            continue
        assert balanced(tx)
        assert escrow.held == total(escrow)
        for balance in (
            escrow.available,
            escrow.pending_refund,
            escrow.pending_release,
            escrow.refunded,
            escrow.released,
        ):
            assert balance.minor >= 0


def total(escrow: Escrow) -> Money:
    return (
        escrow.refunded
        + escrow.released
        + escrow.pending_refund
        + escrow.pending_release
        + escrow.available
    )


@pytest.mark.parametrize(
    ("decide", "confirm", "pending", "target"),
    [
        (Movement.REFUND, Movement.REFUNDED, Account.PENDING_REFUND, Account.BUYER_REFUND),
        (Movement.RELEASE, Movement.PAID_OUT, Account.PENDING_RELEASE, Account.SELLER_PAYOUT),
    ],
)
def test_confirmation_moves_decided_money_from_pending_to_its_owner(
    decide: Movement, confirm: Movement, pending: Account, target: Account
) -> None:
    escrow = held_escrow("55.00")
    escrow.move(decide, money("20.00"), order_id="ord_1", at=at(1))
    tx = escrow.move(confirm, money("20.00"), order_id="ord_1", at=at(2))
    assert balanced(tx)
    assert tx.postings == (Posting(pending, money("-20.00")), Posting(target, money("20.00")))
    confirmed = escrow.refunded if decide is Movement.REFUND else escrow.released
    assert confirmed == money("20.00")
    assert escrow.pending_refund.is_zero and escrow.pending_release.is_zero
    assert escrow.available == money("35.00")


def test_confirming_more_than_is_pending_is_refused() -> None:
    escrow = held_escrow("55.00")
    escrow.move(Movement.REFUND, money("20.00"), order_id="ord_1", at=at(1))
    before = copy.deepcopy(escrow)
    with pytest.raises(AmountOutOfRange, match=r"only 20\.00 USD is pending"):
        escrow.move(Movement.REFUNDED, money("20.01"), order_id="ord_1", at=at(2))
    with pytest.raises(AmountOutOfRange):
        escrow.move(Movement.PAID_OUT, money("0.01"), order_id="ord_1", at=at(2))
    assert escrow == before


def test_an_escrow_stored_before_pending_balances_existed_loads_with_zero_pending() -> None:
    from fairdeal.adapters.db.codec import decode

    old = {
        "held": {"minor": 500, "currency": "EUR"},
        "refunded": {"minor": 100, "currency": "EUR"},
        "released": {"minor": 0, "currency": "EUR"},
    }
    escrow = decode(Escrow, old, {})
    assert escrow.pending_refund == Money.zero("EUR") == escrow.pending_release
    assert escrow.available == Money(400, "EUR")
