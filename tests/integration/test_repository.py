"""The SQL unit of work on SQLite and PostgreSQL: aggregates survive the round trip through
their JSON documents, a stale write is refused and leaves nothing behind, events and ledger
rows are written in the same transaction as the change, and lists page by cursor."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from builders import (
    BUYER,
    CLASSIC,
    MEDIATOR,
    SELLER,
    T0,
    no_holiday,
    open_dispute,
    shipped_order,
    store,
)
from fairdeal.adapters.db import repository, tables
from fairdeal.bootstrap import App
from fairdeal.domain.commands import Cancel, ProposeSolution, RequestEvidence
from fairdeal.domain.dispute import (
    Dispute,
    ProposedSolution,
    Role,
    SolutionKind,
    Status,
)
from fairdeal.domain.errors import VersionConflict
from fairdeal.domain.money import Amount, Money
from fairdeal.domain.order import Order, OrderStatus, TrackingEvent, TrackingStatus
from fairdeal.services import deadlines, disputes
from fairdeal.services.context import sync_order
from fairdeal.services.handlers import handle
from fairdeal.services.ports import DisputeFilter, OrderFilter
from integration.support import World, assert_ledger_balanced, count_rows, event_rows, ledger_rows


def load(app: App, dispute_id: str) -> tuple[Dispute, Order]:
    with app.ctx.uow(write=False) as uow:
        dispute = uow.disputes.get(dispute_id)
        assert dispute is not None
        order = uow.orders.get(dispute.order_id)
        assert order is not None
    return dispute, order


def row(app: App, table: Any, row_id: str) -> dict[str, Any]:
    with app.engine.connect() as conn:
        found = conn.execute(select(table).where(table.c.id == row_id)).mappings().one()
    return dict(found)


def a_full_dispute() -> tuple[Dispute, Order]:
    """A dispute that has been through nearly everything the document can hold: two parties'
    solutions, messages with scam warnings, notes, a mediation with an evidence request and a
    two-solution decision both parties answered, a return, and a scheduled refund."""
    order = shipped_order(order_id="ord_full")
    order.record_tracking(
        TrackingEvent(TrackingStatus.IN_TRANSIT, T0 - timedelta(days=5), "Leipzig")
    )
    dispute, order = open_dispute(
        order, outcome="return_and_refund", amount="40.00", dispute_id="dsp_full"
    )
    step = iter(range(1, 1000))

    def now() -> datetime:
        return T0 + timedelta(hours=next(step), microseconds=123456)

    usd = "USD"
    dispute.propose_solution(SELLER, kind="refund_only", amount=Money.parse("5.5", usd), now=now())
    dispute.post_message(SELLER, body="I will refund you via PayPal, give me your email", now=now())
    dispute.post_message(BUYER, body="No, thank you.", now=now())
    deadline = dispute.deadline
    assert deadline is not None
    assert dispute.expire(now=deadline.due_at, is_holiday=no_holiday) == "negotiation"
    moment = deadline.due_at
    dispute.assign(MEDIATOR, mediator_id=MEDIATOR.user_id, now=moment)
    dispute.add_note(MEDIATOR, body="Looks like transit damage.", now=moment)
    dispute.request_evidence(
        MEDIATOR, party="buyer", request="A photo of the label.", days=None, now=moment
    )
    dispute.add_evidence(BUYER, file_id="file_label", content_type="image/png", now=moment)
    decision = dispute.propose_decision(
        MEDIATOR,
        solutions=[
            ProposedSolution(SolutionKind.RETURN_AND_REFUND, Money.parse("40", usd), "full"),
            ProposedSolution(SolutionKind.REFUND_ONLY, Money.parse("15", usd)),
        ],
        rationale="Damaged in transit.",
        now=moment,
    )
    dispute.accept_decision(BUYER, decision.id, solution_index=0, now=moment, is_holiday=no_holiday)
    dispute.accept_decision(
        SELLER, decision.id, solution_index=0, now=moment, is_holiday=no_holiday
    )
    assert dispute.status is Status.AWAITING_RETURN
    dispute.ship_return(BUYER, carrier="DHL", tracking_number="RET1", now=moment + timedelta(1))
    dispute.confirm_return(
        SELLER, condition="as_expected", note="ok", now=moment + timedelta(2), is_holiday=no_holiday
    )
    assert dispute.status is Status.CLOSED and dispute.refund is not None
    sync_order(dispute, order, moment + timedelta(2))
    return dispute, order


# --- the codec -------------------------------------------------------------------------------


def test_every_field_of_a_dispute_and_its_order_survives_the_round_trip(app: App) -> None:
    dispute, order = a_full_dispute()
    store(app.ctx.uow, order, dispute)
    assert (dispute.version, order.version) == (1, 1)

    loaded, loaded_order = load(app, dispute.id)
    assert loaded == dispute
    assert loaded_order == order
    # Equality of StrEnums with str and of Money would hide a wrong type: check a few types.
    assert type(loaded.status) is Status
    assert type(loaded.solutions[0].proposed_by) is Role
    assert isinstance(loaded.amount_paid, Money)
    assert loaded.opened_at.tzinfo is not None and loaded.opened_at.utcoffset() == timedelta(0)
    assert loaded.solutions[1].created_at.microsecond == 123456
    assert loaded.mediation is not None and loaded.mediation.decision is not None
    assert type(loaded.mediation.decision.solutions[0].kind) is SolutionKind
    assert loaded.mediation.decision.responses["buyer"].solution_index == 0
    assert loaded.messages[0].warnings  # the scam warning was kept
    assert loaded.policy is app.ctx.policies["standard"]
    assert type(loaded_order.status) is OrderStatus
    assert loaded_order.tracking[0].location == "Leipzig"
    assert type(loaded_order.tracking[0].status) is TrackingStatus
    assert loaded_order.escrow == order.escrow
    # The columns the queries use are kept in step with the document.
    stored = row(app, tables.disputes, dispute.id)
    assert stored["status"] == "closed"
    assert stored["mediator_id"] == MEDIATOR.user_id
    assert stored["fire_at"] == dispute.fire_at  # the refund's completion
    assert stored["deadline_at"] is None
    assert (stored["buyer_id"], stored["seller_id"]) == (BUYER.user_id, SELLER.user_id)


def test_a_classic_dispute_keeps_its_policy_and_the_buyer_answer_clock(app: App) -> None:
    order = shipped_order(policy=CLASSIC)
    dispute = Dispute.open(
        dispute_id="dsp_classic",
        order=order,
        buyer=BUYER,
        item_ids=None,  # the whole order
        reason="not_working",
        desired_outcome="refund_only",
        amount=Money.parse("55.00", "USD"),
        description="Dead on arrival.",
        evidence=[("file_video", "video/mp4")],
        policy=CLASSIC,
        now=T0,
    )
    dispute.propose_solution(
        SELLER, kind="return_and_refund", amount=Money.parse("0", "USD"), now=T0
    )
    assert dispute.buyer_answer_due is not None
    store(app.ctx.uow, order, dispute)
    loaded, _ = load(app, dispute.id)
    assert loaded == dispute
    assert loaded.item_ids is None
    assert loaded.policy.name == "classic"
    assert row(app, tables.disputes, dispute.id)["deadline_at"] == dispute.buyer_answer_due


def test_an_unchanged_aggregate_is_not_written(app: App) -> None:
    dispute, order = open_dispute()
    store(app.ctx.uow, order, dispute)
    with app.ctx.uow() as uow:
        assert uow.disputes.get(dispute.id) is not None
        uow.commit()
    assert row(app, tables.disputes, dispute.id)["version"] == 1


def test_repositories_return_the_same_object_for_the_same_row(app: App) -> None:
    """One aggregate, one object per unit of work: a list or a claim must not replace the
    object an earlier read handed out (its changes would be silently dropped)."""
    dispute, order = open_dispute()
    store(app.ctx.uow, order, dispute)
    with app.ctx.uow(write=False) as uow:
        got = uow.disputes.get(dispute.id)
        assert uow.disputes.list(DisputeFilter(buyer_id=BUYER.user_id)) == [got]
        assert uow.disputes.list(DisputeFilter(buyer_id=BUYER.user_id))[0] is got
        got_order = uow.orders.get(order.id)
        assert uow.orders.list(OrderFilter(buyer_id=BUYER.user_id))[0] is got_order
        assert uow.orders.get_many([order.id])[0] is got_order


# --- optimistic concurrency ------------------------------------------------------------------


def _track_all(app: App, order_ids: list[str]) -> None:
    """One unit of work that changes every one of these orders (a tracking event each)."""
    with app.ctx.uow() as uow:
        for order in uow.orders.get_many(order_ids):
            order.record_tracking(
                TrackingEvent(TrackingStatus.IN_TRANSIT, T0 - timedelta(days=3), "Kassel")
            )
        uow.commit()


def test_many_rows_of_a_table_are_written_together_and_refused_together(
    app: App, db_url: str
) -> None:
    """Several changed rows of one table are one statement on PostgreSQL (adapters/db/
    bulk.py), executemany on SQLite: each row is still checked against the version read,
    and one stale row refuses the whole unit of work, leaving every row as it was."""
    ids = ["ord_bulk_a", "ord_bulk_b", "ord_bulk_c"]
    store(app.ctx.uow, *(shipped_order(order_id=i) for i in ids))
    _track_all(app, ids)
    for order_id in ids:
        stored = row(app, tables.orders, order_id)
        assert stored["version"] == 2
        assert stored["doc"]["tracking"][-1]["location"] == "Kassel"
    if db_url.startswith("sqlite"):
        return  # one writer at a time: nobody can change a row under a write unit of work

    with app.ctx.uow() as uow:
        orders = uow.orders.get_many(ids)
        for order in orders:
            order.record_tracking(
                TrackingEvent(TrackingStatus.IN_TRANSIT, T0 - timedelta(days=2), "Fulda")
            )
        with app.engine.begin() as conn:  # someone else changes the middle one meanwhile
            conn.execute(
                tables.orders.update()
                .where(tables.orders.c.id == "ord_bulk_b")
                .values(version=tables.orders.c.version + 1)
            )
        with pytest.raises(VersionConflict):
            uow.commit()
    versions = {order_id: row(app, tables.orders, order_id)["version"] for order_id in ids}
    assert versions == {"ord_bulk_a": 2, "ord_bulk_b": 3, "ord_bulk_c": 2}
    for order_id in ids:
        assert row(app, tables.orders, order_id)["doc"]["tracking"][-1]["location"] == "Kassel"


def _close_by_seller(dispute: Dispute, order: Order, now: datetime) -> None:
    """The change the late writer makes: the seller accepts the buyer's refund, which closes
    the dispute and moves money -- it touches the dispute, the order, events and the ledger."""
    dispute.accept_solution(SELLER, dispute.primary_solution.id, now=now, is_holiday=no_holiday)
    sync_order(dispute, order, now)


def _first_writer_change(stale: str) -> Callable[[Dispute, Order, datetime], None]:
    if stale == "dispute":
        return lambda d, o, now: d.post_message(BUYER, body="Any news?", now=now) and None
    return lambda d, o, now: o.record_tracking(TrackingEvent(TrackingStatus.DELIVERED, now))


@pytest.mark.parametrize("stale", ["dispute", "order"])
def test_a_stale_write_raises_version_conflict_and_writes_nothing(
    app: App, db_url: str, stale: str
) -> None:
    """Two units of work load the same dispute and order; both change them; the first commits.
    The second -- whose dispute row is stale, or whose dispute is current but whose order is
    stale, so that its dispute UPDATE has already run when the order's fails -- raises
    VersionConflict, and none of its document, events or ledger rows is written."""
    dispute, order = open_dispute()
    store(app.ctx.uow, order, dispute)
    events_before = len(event_rows(app.engine))
    ledger_before = ledger_rows(app.engine)
    first = _first_writer_change(stale)
    now = T0 + timedelta(hours=1)

    def first_writer() -> None:
        with app.ctx.uow() as uow_a:
            d, o = uow_a.disputes.get(dispute.id), uow_a.orders.get(order.id)
            assert d is not None and o is not None
            first(d, o, now)
            uow_a.commit()

    late = app.ctx.uow()
    if db_url.startswith("postgresql"):
        # The real interleaving: the late writer reads before the first writer commits.
        with late as uow_b:
            d_b, o_b = uow_b.disputes.get(dispute.id), uow_b.orders.get(order.id)
            first_writer()
            assert d_b is not None and o_b is not None
            _close_by_seller(d_b, o_b, now)
            with pytest.raises(VersionConflict):
                uow_b.commit()
    else:
        # SQLite lets one writer in at a time (BEGIN IMMEDIATE), so a second unit of work
        # cannot read before the first commits: it always sees the latest version. The
        # interleaving above is recreated by rewinding the version the late writer read.
        first_writer()
        with late as uow_b:
            d_b, o_b = uow_b.disputes.get(dispute.id), uow_b.orders.get(order.id)
            assert d_b is not None and o_b is not None
            (d_b if stale == "dispute" else o_b).version -= 1
            _close_by_seller(d_b, o_b, now)
            with pytest.raises(VersionConflict):
                uow_b.commit()

    stored, stored_order = load(app, dispute.id)
    assert stored.status is Status.AWAITING_SELLER_RESPONSE
    assert stored.outcome is None
    assert stored_order.escrow.refunded.minor == 0
    assert (stored.version, stored_order.version) == ((2, 1) if stale == "dispute" else (1, 2))
    # Only the first writer's events; the late writer's ledger rows were never written.
    new_events = event_rows(app.engine)[events_before:]
    assert [e["type"] for e in new_events] == [
        "dispute.message_posted" if stale == "dispute" else "order.updated"
    ]
    assert ledger_rows(app.engine) == ledger_before


def test_writers_to_one_dispute_never_lose_an_update(app: App, db_url: str) -> None:
    """Two units of work change the same dispute at the same time. On PostgreSQL the second
    one's commit fails with VersionConflict (the service retries it); on SQLite the second
    waits for the first to commit and then reads its change. Either way no update is lost."""
    dispute, order = open_dispute()
    store(app.ctx.uow, order, dispute)
    first_loaded, second_loaded, first_committed = (threading.Event() for _ in range(3))
    outcome: dict[str, object] = {}

    def second() -> None:
        first_loaded.wait(5)
        try:
            with app.ctx.uow() as uow:
                d = uow.disputes.get(dispute.id)
                assert d is not None
                outcome["read_version"] = d.version
                d.post_message(SELLER, body="Second.", now=T0 + timedelta(hours=2))
                second_loaded.set()
                first_committed.wait(5)
                uow.commit()
            outcome["result"] = "committed"
        except VersionConflict:
            outcome["result"] = "conflict"

    thread = threading.Thread(target=second)
    thread.start()
    try:
        with app.ctx.uow() as uow:
            d = uow.disputes.get(dispute.id)
            assert d is not None
            d.post_message(BUYER, body="First.", now=T0 + timedelta(hours=1))
            first_loaded.set()
            if db_url.startswith("postgresql"):
                assert second_loaded.wait(5)  # the second has read version 1 and changed it
            else:
                # The second writer's BEGIN IMMEDIATE waits for our transaction to end.
                assert not second_loaded.wait(0.3), "SQLite let a second writer in"
            uow.commit()
    finally:
        first_committed.set()
        thread.join(10)

    stored, _ = load(app, dispute.id)
    if db_url.startswith("postgresql"):
        assert outcome == {"read_version": 1, "result": "conflict"}
        assert [m.body for m in stored.messages] == ["First."]
        assert stored.version == 2
    else:
        assert outcome == {"read_version": 2, "result": "committed"}
        assert [m.body for m in stored.messages] == ["First.", "Second."]
        assert stored.version == 3


# --- transactions ----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["no-commit", "exception", "rollback"])
def test_leaving_without_commit_writes_nothing(app: App, how: str) -> None:
    dispute, order = open_dispute()
    store(app.ctx.uow, order, dispute)
    counts = (count_rows(app.engine, tables.events), count_rows(app.engine, tables.ledger_entries))
    new_dispute, new_order = open_dispute(shipped_order(order_id="ord_2"), dispute_id="dsp_2")

    class Boom(Exception):
        pass

    with pytest.raises(Boom) if how == "exception" else _nothing(), app.ctx.uow() as uow:
        d, o = uow.disputes.get(dispute.id), uow.orders.get(order.id)
        assert d is not None and o is not None
        _close_by_seller(d, o, T0 + timedelta(hours=1))
        uow.orders.add(new_order)
        uow.disputes.add(new_dispute)
        if how == "exception":
            raise Boom
        if how == "rollback":
            uow.rollback()

    assert (
        count_rows(app.engine, tables.events),
        count_rows(app.engine, tables.ledger_entries),
    ) == counts
    assert load(app, dispute.id)[0].status is Status.AWAITING_SELLER_RESPONSE
    assert count_rows(app.engine, tables.disputes) == 1
    assert count_rows(app.engine, tables.orders) == 1


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None


def test_events_and_ledger_rows_are_written_with_the_change(app: App) -> None:
    dispute, order = open_dispute()
    store(app.ctx.uow, order, dispute)
    opened = event_rows(app.engine, aggregate_id=dispute.id)
    assert [e["type"] for e in opened] == ["dispute.opened"]
    assert opened[0]["data"]["dispute_id"] == dispute.id
    assert opened[0]["created_at"] == T0

    closed_at = T0 + timedelta(hours=3)
    with app.ctx.uow() as uow:
        d, o = uow.disputes.get(dispute.id), uow.orders.get(order.id)
        assert d is not None and o is not None
        _close_by_seller(d, o, closed_at)
        uow.commit()
        published = uow.published()
    types = [e["type"] for e in event_rows(app.engine, aggregate_id=dispute.id)]
    assert types == [
        "dispute.opened",
        "dispute.solution_accepted",
        "dispute.closed",
        "refund.scheduled",
    ]
    assert [e.type for e in published] == types[1:]
    refunds = [r for r in ledger_rows(app.engine, order.id) if r["movement"] == "refund"]
    assert {r["account"]: r["amount_minor"] for r in refunds} == {
        "escrow": -4000,
        "pending_refund": 4000,  # decided; the provider's confirmation moves it on
    }
    assert {r["dispute_id"] for r in refunds} == {dispute.id}
    assert {r["created_at"] for r in refunds} == {closed_at}


def test_a_failure_while_committing_writes_nothing(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documents and events are written before the ledger rows; when the ledger insert
    fails the whole transaction goes, documents and events included."""
    dispute, order = open_dispute()
    store(app.ctx.uow, order, dispute)
    counts = (count_rows(app.engine, tables.events), count_rows(app.engine, tables.ledger_entries))
    real_rows = repository._ledger_rows

    def broken_rows(txn: Any) -> list[dict[str, Any]]:
        return [{**r, "amount_minor": None} for r in real_rows(txn)]  # NOT NULL violated

    monkeypatch.setattr(repository, "_ledger_rows", broken_rows)
    with pytest.raises(Exception, match=r"(?i)null"), app.ctx.uow() as uow:
        d, o = uow.disputes.get(dispute.id), uow.orders.get(order.id)
        assert d is not None and o is not None
        _close_by_seller(d, o, T0 + timedelta(hours=1))
        uow.commit()
    assert (
        count_rows(app.engine, tables.events),
        count_rows(app.engine, tables.ledger_entries),
    ) == counts
    stored, stored_order = load(app, dispute.id)
    assert (stored.status, stored.version) == (Status.AWAITING_SELLER_RESPONSE, 1)
    assert stored_order.version == 1


# --- the ledger ------------------------------------------------------------------------------


def test_ledger_rows_balance_per_transaction_and_per_completed_order(app: App) -> None:
    order = shipped_order(order_id="ord_ledger", protection_days=30)
    dispute, order = open_dispute(order, amount="40.00", dispute_id="dsp_ledger")
    offer = dispute.propose_solution(
        SELLER, kind="refund_only", amount=Money.parse("12.34", "USD"), now=T0 + timedelta(1)
    )
    dispute.accept_solution(BUYER, offer.id, now=T0 + timedelta(2), is_holiday=no_holiday)
    sync_order(dispute, order, T0 + timedelta(2))
    store(app.ctx.uow, order, dispute)

    # The clock pays the rest out when protection ends (no clock completes the refund).
    fired = deadlines.run_until_idle(app.ctx, now=T0 + timedelta(days=40))
    assert sorted(f.kind for f in fired) == ["payout"]

    balances = assert_ledger_balanced(app.engine, order.id)
    assert balances.held == 5500
    assert balances.refunded == 1234
    assert balances.released == 5500 - 1234
    assert balances.in_escrow == 0
    # The unit of work reads the same transactions back.
    with app.ctx.uow(write=False) as uow:
        txns = uow.ledger(order.id)
    assert [(t.movement.value, t.amount.minor) for t in txns] == [
        ("hold", 5500),
        ("refund", 1234),
        ("release", 4000 - 1234),
        ("release", 1500),
    ]
    assert all(t.at.tzinfo is not None for t in txns)


# --- lists and cursors -----------------------------------------------------------------------


def _pages(fetch: Callable[[str | None], list[Any]]) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = fetch(cursor)
        if not page:
            return pages
        pages.append([x.id for x in page])
        cursor = page[-1].id


def test_disputes_and_orders_page_by_cursor_in_each_partys_scope(world: World) -> None:
    mine = [world.open(world.shipped_order()).id for _ in range(5)]
    other_seller = [world.open(world.shipped_order(seller=world.other_seller)).id for _ in range(2)]
    others = [
        world.open(world.shipped_order(buyer=world.other_buyer), buyer=world.other_buyer).id
        for _ in range(3)
    ]

    def disputes_of(actor: Any) -> Callable[[str | None], list[Any]]:
        return lambda after: disputes.list_disputes(
            world.ctx, actor, status=None, after=after, limit=2
        )

    pages = _pages(disputes_of(world.buyer))
    assert [len(p) for p in pages] == [2, 2, 2, 1]
    flat = [i for p in pages for i in p]
    assert flat == sorted(mine + other_seller, reverse=True)  # newest first, no repeats
    assert sorted(i for p in _pages(disputes_of(world.seller)) for i in p) == sorted(mine + others)
    assert sorted(i for p in _pages(disputes_of(world.other_seller)) for i in p) == sorted(
        other_seller
    )
    everything = [i for p in _pages(disputes_of(world.platform)) for i in p]
    assert everything == sorted(mine + other_seller + others, reverse=True)

    with world.ctx.uow(write=False) as uow:
        pages_of_orders = _pages(
            lambda after: uow.orders.list(
                OrderFilter(buyer_id=world.other_buyer.user_id, after=after, limit=2)
            )
        )
        by_seller = _pages(
            lambda after: uow.orders.list(
                OrderFilter(seller_id=world.other_seller.user_id, after=after, limit=1)
            )
        )
    assert [len(p) for p in pages_of_orders] == [2, 1]
    assert len(by_seller) == 2
    # A status filter combines with the scope.
    handle(world.ctx, world.buyer, mine[0], Cancel())
    cancelled = disputes.list_disputes(
        world.ctx, world.buyer, status="cancelled", after=None, limit=10
    )
    assert [d.id for d in cancelled] == [mine[0]]


def test_the_mediator_queue_is_ordered_by_deadline(world: World) -> None:
    opened = []
    for hours in (0, 5, 2, 9):
        world.clock.current = T0 + timedelta(hours=hours)
        dispute = world.open(world.shipped_order())
        handle(
            world.ctx,
            world.seller,
            dispute.id,
            ProposeSolution(kind="refund_only", amount=Amount.of("1.00")),
        )
        opened.append(dispute.id)
    still_negotiating = world.open(world.shipped_order()).id
    # Each escalates when its own negotiation window ends; the review target follows.
    deadlines.advance_clock(world.ctx, to=T0 + timedelta(days=7, hours=10))
    by_opening = [opened[0], opened[2], opened[1], opened[3]]

    def queue(after: str | None, limit: int = 10) -> list[Dispute]:
        return disputes.mediation_queue(world.ctx, world.mediator, after=after, limit=limit)

    assert [d.id for d in queue(None)] == by_opening
    assert still_negotiating not in [d.id for d in queue(None)]
    # An evidence request due tomorrow puts the last one first.
    handle(
        world.ctx,
        world.mediator,
        opened[3],
        RequestEvidence(party="seller", request="Invoice?", days=1),
    )
    expected = [opened[3], *by_opening[:3]]
    assert [d.id for d in queue(None)] == expected
    assert [i for p in _pages(lambda after: queue(after, 3)) for i in p] == expected
    assert [i for p in _pages(lambda after: queue(after, 1)) for i in p] == expected
    deadline_at = [row(world.app, tables.disputes, i)["deadline_at"] for i in expected]
    assert deadline_at == sorted(deadline_at)
    assert all(d.tzinfo is UTC or d.utcoffset() == timedelta(0) for d in deadline_at)


# --- claims ----------------------------------------------------------------------------------


def test_a_stale_stored_due_time_is_corrected_and_does_not_block_the_queue(app: App) -> None:
    """A row whose stored due time says "due" while its aggregate has nothing to fire yet (the
    policy's deadlines were lengthened after it was written) must not be claimed again and
    again ahead of rows that are really due."""
    stale, stale_order = open_dispute(shipped_order(order_id="ord_stale"), dispute_id="dsp_stale")
    due, due_order = open_dispute(
        shipped_order(order_id="ord_due"), dispute_id="dsp_due", now=T0 - timedelta(days=8)
    )
    store(app.ctx.uow, stale_order, stale, due_order, due)
    t = tables.disputes
    with app.engine.begin() as conn:
        conn.execute(t.update().where(t.c.id == stale.id).values(fire_at=T0 - timedelta(days=9)))

    fired = deadlines.fire_due(app.ctx, now=T0 + timedelta(hours=1), limit=1)
    assert [(f.id, f.kind) for f in fired] == [(due.id, "seller_response")]
    corrected = row(app, t, stale.id)
    assert corrected["fire_at"] == stale.fire_at == T0 + timedelta(days=7)
    assert corrected["doc"] == row(app, t, stale.id)["doc"]
    assert load(app, stale.id)[0].status is Status.AWAITING_SELLER_RESPONSE
    assert deadlines.run_until_idle(app.ctx, now=T0 + timedelta(hours=1)) == []


def test_claims_skip_rows_another_transaction_holds(app: App, db_url: str) -> None:
    """Two workers' claims at the same moment take different rows (PostgreSQL: FOR UPDATE
    SKIP LOCKED). SQLite has one writer at a time, so there the second claim waits."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite serializes writers; the worker test covers it")
    made = [
        open_dispute(shipped_order(order_id=f"ord_c{i}"), dispute_id=f"dsp_c{i}") for i in range(5)
    ]
    store(app.ctx.uow, *[o for _, o in made], *[d for d, _ in made])
    now = T0 + timedelta(days=8)
    with app.ctx.uow() as first, app.ctx.uow() as second:
        a = {d.id for d in first.disputes.claim_due(now, 3)}
        b = {d.id for d in second.disputes.claim_due(now, 3)}
    assert len(a) == 3 and len(b) == 2 and not a & b
