"""Helpers for the database tests: a small world of users made through the services, orders
and disputes created the way a marketplace creates them, and readers that look at the tables
themselves (the ledger, the event log) rather than at the aggregates."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select

from fairdeal.adapters.clock import FixedClock
from fairdeal.adapters.db import tables
from fairdeal.bootstrap import App
from fairdeal.domain.commands import OpenDispute
from fairdeal.domain.dispute import Actor, Dispute, Role
from fairdeal.domain.money import Amount
from fairdeal.domain.order import Order, Payment
from fairdeal.services import disputes, handlers, orders, users
from fairdeal.services.context import Context
from fairdeal.services.ports import FileRecord

_file_numbers = itertools.count(1)


@dataclass
class World:
    """Users of every role, and shortcuts to set up orders and disputes through the services."""

    app: App
    clock: FixedClock
    platform: Actor
    buyer: Actor
    seller: Actor
    mediator: Actor
    other_buyer: Actor
    other_seller: Actor

    @property
    def ctx(self) -> Context:
        return self.app.ctx

    @property
    def engine(self) -> Engine:
        return self.app.engine

    def order(
        self,
        *,
        buyer: Actor | None = None,
        seller: Actor | None = None,
        prices: tuple[str, ...] = ("40.00", "10.00"),
        shipping: str = "5.00",
        currency: str = "EUR",
    ) -> Order:
        """A paid order (not shipped): two items and shipping, 55.00 EUR held by default."""
        return orders.register_order(
            self.ctx,
            self.platform,
            buyer_id=(buyer or self.buyer).user_id,
            seller_id=(seller or self.seller).user_id,
            currency=currency,
            items=[
                orders.NewItem(sku=f"SKU{i}", title=f"Item {i}", quantity=1, unit_price=price)
                for i, price in enumerate(prices, start=1)
            ],
            shipping_cost=shipping,
            payment=Payment("card", "pay_test", "DE"),
        )

    def shipped_order(self, *, protection_days: int = 60, **kwargs: Any) -> Order:
        order = self.order(**kwargs)
        seller = kwargs.get("seller") or self.seller
        return orders.ship_order(
            self.ctx,
            seller,
            order.id,
            carrier="DHL",
            tracking_number="JD0001",
            protection_days=protection_days,
        )

    def photo(self, owner: Actor) -> str:
        """An uploaded photo owned by ``owner`` (metadata only: the bytes do not matter)."""
        file_id = f"file_{next(_file_numbers)}"
        with self.ctx.uow() as uow:
            uow.files.add(
                FileRecord(
                    file_id,
                    owner.user_id,
                    "photo.jpg",
                    "image/jpeg",
                    100,
                    "0" * 64,
                    f"test/{file_id}",
                    self.clock.now(),
                )
            )
            uow.commit()
        return file_id

    def open(
        self,
        order: Order,
        *,
        buyer: Actor | None = None,
        outcome: str = "refund_only",
        amount: str = "40.00",
        whole_order: bool = False,
    ) -> Dispute:
        """The buyer disputes the order's first item (40.00), damaged, with a photo."""
        who = buyer or self.buyer
        command = self.opening(order, who, outcome=outcome, amount=amount, whole=whole_order)
        return handlers.open_dispute(self.ctx, who, command)

    def opening(
        self,
        order: Order,
        buyer: Actor,
        *,
        outcome: str = "refund_only",
        amount: str = "40.00",
        whole: bool = False,
    ) -> OpenDispute:
        """The command ``open`` sends: with a photo ``buyer`` has just uploaded."""
        return OpenDispute(
            order_id=order.id,
            item_ids=None if whole else (order.items[0].id,),
            reason="damaged",
            desired_outcome=outcome,
            amount=Amount.of(amount),
            description="It arrived broken.",
            evidence_file_ids=(self.photo(buyer),),
        )

    def dispute(self, dispute_id: str) -> Dispute:
        return disputes.get_dispute(self.ctx, self.platform, dispute_id).dispute

    def advance(self, **delta: float) -> None:
        self.clock.advance(**delta)


def make_world(app: App, clock: FixedClock) -> World:
    def make(role: str, name: str) -> Actor:
        created = users.create_user(
            app.ctx, role=role, name=name, email=f"{name.lower()}@example.test", country="DE"
        )
        return Actor(created.user.id, Role(role))

    return World(
        app=app,
        clock=clock,
        platform=make("platform", "Shop"),
        buyer=make("buyer", "Alice"),
        seller=make("seller", "Sam"),
        mediator=make("mediator", "Maya"),
        other_buyer=make("buyer", "Bob"),
        other_seller=make("seller", "Sue"),
    )


# --- reading the tables directly -------------------------------------------------------------


def ledger_rows(engine: Engine, order_id: str | None = None) -> list[dict[str, Any]]:
    t = tables.ledger_entries
    stmt = select(t).order_by(t.c.id)
    if order_id is not None:
        stmt = stmt.where(t.c.order_id == order_id)
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(stmt).mappings()]


@dataclass(frozen=True)
class Balances:
    """One order's escrow in minor units, summed from its ledger rows."""

    held: int
    refunded: int
    released: int
    in_escrow: int


def assert_ledger_balanced(engine: Engine, order_id: str) -> Balances:
    """Every transaction sums to zero, and held == refunded + released + what is still in
    escrow -- computed from the ``ledger_entries`` table, not from the aggregate."""
    rows = ledger_rows(engine, order_id)
    assert rows, f"order {order_id} has no ledger rows"
    per_txn: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        per_txn[row["txn_id"]].append(row)
    for txn_id, entries in per_txn.items():
        assert len(entries) == 2, f"{txn_id} has {len(entries)} postings"
        assert sum(e["amount_minor"] for e in entries) == 0, f"{txn_id} does not balance"
        assert len({e["currency"] for e in entries}) == 1
    by_account: Counter[str] = Counter()
    for row in rows:
        by_account[row["account"]] += row["amount_minor"]
    # Decided money (docs/payments.md): confirmed by the provider or still pending.
    balances = Balances(
        held=-by_account["buyer_payment"],
        refunded=by_account["buyer_refund"] + by_account["pending_refund"],
        released=by_account["seller_payout"] + by_account["pending_release"],
        in_escrow=by_account["escrow"],
    )
    assert by_account["pending_refund"] >= 0 and by_account["pending_release"] >= 0
    assert balances.held == balances.refunded + balances.released + balances.in_escrow
    assert balances.in_escrow >= 0
    return balances


def event_rows(
    engine: Engine, *, type: str | None = None, aggregate_id: str | None = None
) -> list[dict[str, Any]]:
    t = tables.events
    stmt = select(t).order_by(t.c.seq)
    if type is not None:
        stmt = stmt.where(t.c.type == type)
    if aggregate_id is not None:
        stmt = stmt.where(t.c.aggregate_id == aggregate_id)
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(stmt).mappings()]


def count_rows(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


# --- many due deadlines at once ----------------------------------------------------------------


def seed_due_disputes(app: App, count: int) -> list[str]:
    """``count`` disputes opened at T0 whose seller has not answered, each on its own shipped
    order, built as domain objects and stored in one unit of work (the services would take a
    transaction per step). The seller-response deadline of every one is T0 + 7 days."""
    from builders import open_dispute, shipped_order

    made = [
        open_dispute(shipped_order(order_id=f"ord_bulk_{i:05d}"), dispute_id=f"dsp_bulk_{i:05d}")
        for i in range(count)
    ]
    with app.ctx.uow() as uow:
        for dispute, order in made:
            uow.orders.add(order)
            uow.disputes.add(dispute)
        uow.commit()
    return [dispute.id for dispute, _ in made]


def assert_each_fired_once(app: App, dispute_ids: list[str]) -> None:
    """Every dispute's seller-response deadline fired exactly once: one expiry and one close
    in its timeline, one dispute.closed and one refund.scheduled event, one refund in the
    ledger -- and nothing else fired."""
    t = tables.disputes
    with app.engine.connect() as conn:
        docs = {
            i: d for i, d in conn.execute(select(t.c.id, t.c.doc).where(t.c.id.in_(dispute_ids)))
        }
    assert len(docs) == len(dispute_ids)
    for dispute_id, doc in docs.items():
        kinds = Counter(entry["type"] for entry in doc["timeline"])
        assert doc["status"] == "closed", dispute_id
        assert (kinds["deadline.expired"], kinds["dispute.closed"]) == (1, 1), (dispute_id, kinds)
        assert kinds["refund.scheduled"] == 1 and kinds["refund.completed"] == 0, dispute_id
    for event_type in ("dispute.closed", "refund.scheduled"):
        per_dispute = Counter(e["aggregate_id"] for e in event_rows(app.engine, type=event_type))
        assert set(per_dispute) == set(dispute_ids), event_type
        assert set(per_dispute.values()) == {1}, event_type
    refunds = Counter(r["order_id"] for r in ledger_rows(app.engine) if r["movement"] == "refund")
    assert len(refunds) == len(dispute_ids) and set(refunds.values()) == {2}  # two postings
