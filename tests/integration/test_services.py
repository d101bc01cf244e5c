"""Whole dispute lifecycles through the services, on SQLite and PostgreSQL: every action a
party takes and every deadline the clock fires goes through a real unit of work, and each
story ends with the ledger balanced as the ``ledger_entries`` table records it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from builders import T0
from fairdeal.domain.commands import (
    AcceptDecision,
    AcceptSolution,
    AssignMediator,
    Cancel,
    ConfirmReturn,
    DecisionOption,
    FinalizeDecision,
    PostMessage,
    ProposeDecision,
    ProposeSolution,
    RejectDecision,
    RejectSolution,
    Reopen,
    RequestEvidence,
    ShipReturn,
)
from fairdeal.domain.dispute import DecidedBy, Result, Status
from fairdeal.domain.errors import NotFound
from fairdeal.domain.money import Amount
from fairdeal.domain.order import OrderStatus
from fairdeal.services import deadlines, disputes, orders, payments
from fairdeal.services.handlers import handle
from integration.support import (
    World,
    assert_each_fired_once,
    assert_ledger_balanced,
    event_rows,
    seed_due_disputes,
)

# Defaults of World.order: item 1 costs 40.00, item 2 10.00, shipping 5.00 -> 55.00 held.
HELD = 5500


def finish_order(world: World, order_id: str) -> None:
    """Run the clock past buyer protection so that whatever is left in escrow is released."""
    order = orders.get_order(world.ctx, world.platform, order_id)
    assert order.protection_ends_at is not None
    deadlines.advance_clock(world.ctx, to=order.protection_ends_at + timedelta(minutes=1))
    order = orders.get_order(world.ctx, world.platform, order_id)
    assert order.status is OrderStatus.COMPLETED


def test_seller_silence_closes_for_the_buyer_with_a_refund(world: World) -> None:
    order = world.shipped_order()
    dispute = world.open(order, amount="40.00")

    world.advance(days=6, hours=23)
    assert deadlines.run_until_idle(world.ctx) == []  # not yet

    world.advance(hours=2)
    fired = deadlines.run_until_idle(world.ctx)
    assert [(f.id, f.kind) for f in fired] == [(dispute.id, "seller_response")]

    closed = world.dispute(dispute.id)
    assert closed.status is Status.CLOSED
    assert closed.outcome is not None
    assert closed.outcome.decided_by is DecidedBy.SELLER_TIMEOUT
    assert closed.outcome.result is Result.BUYER_FAVOUR
    assert closed.outcome.refund.minor == 4000
    assert closed.refund is not None and closed.refund.status == "scheduled"
    balances = assert_ledger_balanced(world.engine, order.id)
    assert (balances.held, balances.refunded, balances.released) == (HELD, 4000, 0)

    # The refund completes only when the provider confirms it (here the marketplace reports
    # back, docs/payments.md); later the rest of the order is paid out.
    finish_order(world, order.id)
    payments.run_until_idle(world.ctx)
    assert world.dispute(dispute.id).refund.status == "processing"  # type: ignore[union-attr]
    refund = payments.of_order(world.ctx, world.platform, order.id)[0]
    payments.succeeded(world.ctx, world.platform, refund.id, "re_1")
    assert world.dispute(dispute.id).refund.status == "completed"  # type: ignore[union-attr]
    balances = assert_ledger_balanced(world.engine, order.id)
    assert (balances.refunded, balances.released, balances.in_escrow) == (4000, 1500, 0)
    assert [e["type"] for e in event_rows(world.engine, aggregate_id=dispute.id)] == [
        "dispute.opened",
        "dispute.closed",
        "refund.scheduled",
        "refund.completed",
    ]


def test_negotiation_escalates_and_the_mediators_decision_becomes_final(world: World) -> None:
    order = world.shipped_order()
    dispute = world.open(order, amount="40.00")
    primary = dispute.primary_solution

    offer = handle(
        world.ctx,
        world.seller,
        dispute.id,
        ProposeSolution(kind="refund_only", amount=Amount.of("10.00"), comment="10?"),
    ).created
    handle(world.ctx, world.buyer, dispute.id, RejectSolution(offer.id))
    handle(world.ctx, world.seller, dispute.id, RejectSolution(primary.id))
    assert world.dispute(dispute.id).status is Status.NEGOTIATING

    # No agreement within the standard policy's 7 days: the clock escalates.
    deadlines.advance_clock(world.ctx, to=world.clock.now() + timedelta(days=7))
    escalated = world.dispute(dispute.id)
    assert escalated.status is Status.UNDER_REVIEW
    assert escalated.mediation is not None and escalated.mediation.trigger == "negotiation_timeout"
    queue = disputes.mediation_queue(world.ctx, world.mediator, after=None, limit=10)
    assert [d.id for d in queue] == [dispute.id]

    handle(world.ctx, world.mediator, dispute.id, AssignMediator(mediator_id=None))
    decision = handle(
        world.ctx,
        world.mediator,
        dispute.id,
        ProposeDecision(
            solutions=(DecisionOption("refund_only", Amount.of("25.00"), "half-ish"),),
            rationale="The photos show a scratch, not a broken item.",
        ),
    ).created
    # The seller challenges with new evidence: it goes back to the mediator, who finalizes.
    handle(
        world.ctx,
        world.seller,
        dispute.id,
        RejectDecision(
            decision.id,
            comment="It left the warehouse intact.",
            evidence_file_ids=(world.photo(world.seller),),
        ),
    )
    handle(world.ctx, world.mediator, dispute.id, FinalizeDecision(decision.id, solution_index=0))

    final = world.dispute(dispute.id)
    assert final.status is Status.CLOSED
    assert final.outcome is not None
    assert final.outcome.decided_by is DecidedBy.MEDIATOR
    assert final.outcome.refund.minor == 2500
    balances = assert_ledger_balanced(world.engine, order.id)
    # 25.00 back to the buyer, the other 15.00 of the disputed item to the seller.
    assert (balances.refunded, balances.released) == (2500, 1500)
    finish_order(world, order.id)
    balances = assert_ledger_balanced(world.engine, order.id)
    assert (balances.refunded, balances.released, balances.in_escrow) == (2500, 3000, 0)


def test_an_unchallenged_decision_becomes_final_when_its_window_ends(world: World) -> None:
    order = world.shipped_order()
    dispute = world.open(order, amount="40.00")
    handle(
        world.ctx,
        world.seller,
        dispute.id,
        ProposeSolution(kind="refund_only", amount=Amount.of("0")),
    )
    deadlines.advance_clock(world.ctx, to=world.clock.now() + timedelta(days=7))
    decision = handle(
        world.ctx,
        world.mediator,
        dispute.id,
        ProposeDecision(
            solutions=(
                DecisionOption("refund_only", Amount.of("30.00")),
                DecisionOption("refund_only", Amount.of("20.00")),
            ),
            rationale="Either is fair.",
        ),
    ).created
    handle(world.ctx, world.buyer, dispute.id, AcceptDecision(decision.id, solution_index=1))
    # A rejection without new evidence is recorded, but the decision stands.
    handle(
        world.ctx,
        world.seller,
        dispute.id,
        RejectDecision(decision.id, comment="No.", evidence_file_ids=()),
    )
    fired = deadlines.advance_clock(world.ctx, to=world.clock.now() + timedelta(days=3, minutes=1))
    assert [f.kind for f in fired] == ["decision_response"]
    final = world.dispute(dispute.id)
    assert final.status is Status.CLOSED
    assert final.outcome is not None and final.outcome.decided_by is DecidedBy.MEDIATOR
    assert final.outcome.refund.minor == 2000  # the solution the buyer accepted
    finish_order(world, order.id)
    balances = assert_ledger_balanced(world.engine, order.id)
    assert (balances.refunded, balances.released, balances.in_escrow) == (2000, 3500, 0)


def test_a_return_never_shipped_closes_for_the_seller(world: World) -> None:
    order = world.shipped_order()
    dispute = world.open(order, outcome="return_and_refund", amount="40.00")
    handle(world.ctx, world.seller, dispute.id, AcceptSolution(dispute.primary_solution.id))
    assert world.dispute(dispute.id).status is Status.AWAITING_RETURN

    fired = deadlines.advance_clock(world.ctx, to=world.clock.now() + timedelta(days=10, minutes=1))
    assert [f.kind for f in fired] == ["return_shipment"]
    closed = world.dispute(dispute.id)
    assert closed.status is Status.CLOSED
    assert closed.outcome is not None
    assert closed.outcome.decided_by is DecidedBy.RETURN_TIMEOUT
    assert closed.outcome.result is Result.SELLER_FAVOUR
    assert closed.refund is None
    balances = assert_ledger_balanced(world.engine, order.id)
    assert (balances.refunded, balances.released) == (0, 4000)
    finish_order(world, order.id)
    assert assert_ledger_balanced(world.engine, order.id).released == HELD


def test_a_return_that_arrives_is_refunded(world: World) -> None:
    order = world.shipped_order()
    dispute = world.open(order, outcome="return_and_refund", amount="40.00")
    handle(world.ctx, world.seller, dispute.id, AcceptSolution(dispute.primary_solution.id))
    world.advance(days=2)
    handle(world.ctx, world.buyer, dispute.id, ShipReturn(carrier="DHL", tracking_number="RET123"))
    assert assert_ledger_balanced(world.engine, order.id).refunded == 0  # not before arrival
    world.advance(days=4)
    handle(world.ctx, world.seller, dispute.id, ConfirmReturn(condition="as_expected"))

    closed = world.dispute(dispute.id)
    assert closed.status is Status.CLOSED
    assert closed.outcome is not None and closed.outcome.result is Result.SETTLED
    balances = assert_ledger_balanced(world.engine, order.id)
    assert (balances.refunded, balances.released) == (4000, 0)
    finish_order(world, order.id)
    balances = assert_ledger_balanced(world.engine, order.id)
    assert (balances.refunded, balances.released, balances.in_escrow) == (4000, 1500, 0)


def test_a_return_the_seller_never_confirms_is_refunded_by_the_clock(world: World) -> None:
    order = world.shipped_order()
    dispute = world.open(order, outcome="return_and_refund", amount="30.00")
    handle(world.ctx, world.seller, dispute.id, AcceptSolution(dispute.primary_solution.id))
    handle(world.ctx, world.buyer, dispute.id, ShipReturn(carrier="DHL", tracking_number="R1"))
    fired = deadlines.advance_clock(world.ctx, to=world.clock.now() + timedelta(days=15, minutes=1))
    assert [f.kind for f in fired] == ["return_confirmation"]
    assert world.dispute(dispute.id).status is Status.CLOSED
    balances = assert_ledger_balanced(world.engine, order.id)
    assert (balances.refunded, balances.released) == (3000, 1000)


def test_cancel_and_reopen(world: World) -> None:
    order = world.shipped_order()
    dispute = world.open(order, amount="40.00")
    handle(world.ctx, world.buyer, dispute.id, Cancel())
    assert world.dispute(dispute.id).status is Status.CANCELLED
    # A cancelled dispute has no deadline: nothing fires however long we wait.
    world.advance(days=8)
    assert deadlines.run_until_idle(world.ctx) == []

    handle(world.ctx, world.buyer, dispute.id, Reopen())
    reopened = world.dispute(dispute.id)
    assert reopened.status is Status.AWAITING_SELLER_RESPONSE
    assert reopened.deadline is not None
    assert reopened.deadline.due_at == world.clock.now() + timedelta(days=7)

    handle(world.ctx, world.seller, dispute.id, AcceptSolution(reopened.primary_solution.id))
    closed = world.dispute(dispute.id)
    assert closed.status is Status.CLOSED
    assert closed.outcome is not None and closed.outcome.decided_by is DecidedBy.AGREEMENT
    finish_order(world, order.id)
    balances = assert_ledger_balanced(world.engine, order.id)
    assert (balances.refunded, balances.released, balances.in_escrow) == (4000, 1500, 0)
    types = [e["type"] for e in event_rows(world.engine, aggregate_id=dispute.id)]
    assert types[:3] == ["dispute.opened", "dispute.cancelled", "dispute.reopened"]


@pytest.mark.parametrize(
    ("party", "refund", "released"),
    [("seller", 4000, 0), ("buyer", 0, 4000)],
    ids=["seller-ignores", "buyer-ignores"],
)
def test_an_ignored_evidence_request_closes_for_the_other_party(
    world: World, party: str, refund: int, released: int
) -> None:
    order = world.shipped_order()
    dispute = world.open(order, amount="40.00")
    handle(
        world.ctx,
        world.seller,
        dispute.id,
        ProposeSolution(kind="refund_only", amount=Amount.of("5")),
    )
    deadlines.advance_clock(world.ctx, to=world.clock.now() + timedelta(days=7))
    handle(
        world.ctx,
        world.mediator,
        dispute.id,
        RequestEvidence(party=party, request="Photos, please.", days=None),
    )
    fired = deadlines.advance_clock(world.ctx, to=world.clock.now() + timedelta(days=3, minutes=1))
    assert [f.kind for f in fired] == ["evidence_request"]
    closed = world.dispute(dispute.id)
    assert closed.status is Status.CLOSED
    assert closed.outcome is not None
    assert closed.outcome.refund.minor == refund
    balances = assert_ledger_balanced(world.engine, order.id)
    assert (balances.refunded, balances.released) == (refund, released)
    finish_order(world, order.id)
    balances = assert_ledger_balanced(world.engine, order.id)
    assert balances.in_escrow == 0 and balances.refunded == refund


def test_an_order_without_dispute_is_paid_out_when_protection_ends(world: World) -> None:
    order = world.shipped_order(protection_days=30)
    world.advance(days=29)
    assert deadlines.run_until_idle(world.ctx) == []
    assert assert_ledger_balanced(world.engine, order.id).in_escrow == HELD

    world.advance(days=1, seconds=1)
    fired = deadlines.run_until_idle(world.ctx)
    assert [(f.aggregate, f.id, f.kind) for f in fired] == [("order", order.id, "payout")]
    balances = assert_ledger_balanced(world.engine, order.id)
    assert (balances.refunded, balances.released, balances.in_escrow) == (0, HELD, 0)
    assert deadlines.run_until_idle(world.ctx) == []  # exactly once


def test_confirmed_receipt_pays_out_after_the_grace_period(world: World) -> None:
    order = world.shipped_order(protection_days=60)
    world.advance(days=5)
    orders.confirm_receipt(world.ctx, world.buyer, order.id)
    world.advance(days=14)
    assert deadlines.run_until_idle(world.ctx) == []
    world.advance(days=1, seconds=1)
    assert [f.kind for f in deadlines.run_until_idle(world.ctx)] == ["payout"]
    assert assert_ledger_balanced(world.engine, order.id).released == HELD


def test_an_open_dispute_holds_the_payout_until_it_closes(world: World) -> None:
    order = world.shipped_order(protection_days=10)
    dispute = world.open(order, amount="40.00")
    offer = handle(
        world.ctx,
        world.seller,
        dispute.id,
        ProposeSolution(kind="refund_only", amount=Amount.of("12.50")),
    ).created
    # Protection ends while the dispute is open: nothing is released.
    world.advance(days=6)
    assert deadlines.run_until_idle(world.ctx) == []
    handle(world.ctx, world.buyer, dispute.id, AcceptSolution(offer.id))
    balances = assert_ledger_balanced(world.engine, order.id)
    assert (balances.refunded, balances.released) == (1250, 2750)
    world.advance(days=5)
    fired = deadlines.run_until_idle(world.ctx)
    assert ("order", "payout") in {(f.aggregate, f.kind) for f in fired}
    balances = assert_ledger_balanced(world.engine, order.id)
    assert (balances.refunded, balances.released, balances.in_escrow) == (1250, 4250, 0)


def test_strangers_get_not_found(world: World) -> None:
    order = world.shipped_order()
    dispute = world.open(order)
    stranger_buyer, stranger_seller = world.other_buyer, world.other_seller

    for stranger in (stranger_buyer, stranger_seller):
        with pytest.raises(NotFound):
            disputes.get_dispute(world.ctx, stranger, dispute.id)
        with pytest.raises(NotFound):
            orders.get_order(world.ctx, stranger, order.id)
        with pytest.raises(NotFound):
            handle(world.ctx, stranger, dispute.id, PostMessage(body="Hello?"))
        assert disputes.list_disputes(world.ctx, stranger, status=None, after=None, limit=10) == []
        assert orders.list_orders(world.ctx, stranger, after=None, limit=10) == []
    with pytest.raises(NotFound):
        handle(
            world.ctx,
            stranger_seller,
            dispute.id,
            ProposeSolution(kind="refund_only", amount=Amount.of("1")),
        )
    with pytest.raises(NotFound):
        handle(world.ctx, stranger_seller, dispute.id, AcceptSolution(dispute.primary_solution.id))
    with pytest.raises(NotFound):
        handle(world.ctx, stranger_buyer, dispute.id, Cancel())
    with pytest.raises(NotFound):
        world.open(order, buyer=stranger_buyer)
    with pytest.raises(NotFound):
        orders.confirm_receipt(world.ctx, stranger_buyer, order.id)
    # Nothing the strangers tried left a trace.
    assert [e["type"] for e in event_rows(world.engine, aggregate_id=dispute.id)] == [
        "dispute.opened"
    ]
    # The parties themselves see it.
    assert disputes.get_dispute(world.ctx, world.buyer, dispute.id).dispute.id == dispute.id
    assert disputes.get_dispute(world.ctx, world.seller, dispute.id).dispute.id == dispute.id


def test_a_batch_that_meets_a_concurrent_change_is_fired_one_by_one(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When a party's action lands between the worker's claim and its write, the batch's
    commit fails with VersionConflict and rolls back; the deadlines are then fired one at a
    time (each against fresh data), and every one still fires exactly once."""
    from fairdeal.adapters.db.repository import SqlUnitOfWork
    from fairdeal.domain.errors import VersionConflict

    ids = seed_due_disputes(world.app, 6)
    real_commit = SqlUnitOfWork.commit
    commits: list[int] = []

    def commit_losing_the_first_race(uow: SqlUnitOfWork) -> None:
        commits.append(len(uow.tracked.disputes))
        if len(commits) == 1:
            raise VersionConflict("someone else changed an order of this batch")
        real_commit(uow)

    monkeypatch.setattr(SqlUnitOfWork, "commit", commit_losing_the_first_race)
    fired = deadlines.fire_due(world.ctx, now=T0 + timedelta(days=8), limit=10)
    assert sorted(f.id for f in fired) == sorted(ids)
    assert commits == [6, 1, 1, 1, 1, 1, 1, 0]  # the batch, one by one, nothing left
    assert_each_fired_once(world.app, ids)
