"""An order and its escrow: registered paid (money held), shipped (protection starts), received,
completed (money released). It also keeps which of its items are under dispute, so that the
"one live dispute per item" rule is enforced by one aggregate with one version."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from fairdeal.domain.errors import (
    DisputeExists,
    InvalidTransition,
    NotEligible,
    ValidationError,
)
from fairdeal.domain.events import (
    DomainEvent,
    OrderCompleted,
    OrderEvent,
    OrderShipped,
    ProtectionExtended,
    ReceiptConfirmed,
    TrackingRecorded,
)
from fairdeal.domain.ledger import Escrow, LedgerTransaction, Movement
from fairdeal.domain.money import MAX_AMOUNT_MINOR, Money
from fairdeal.domain.payments import MoneyMovement, MovementKind
from fairdeal.domain.policy import Policy, Reason
from fairdeal.domain.rfc3339 import rfc3339

MAX_PROTECTION_DAYS = 365


class OrderStatus(StrEnum):
    AWAITING_SHIPMENT = "awaiting_shipment"
    AWAITING_RECEIPT = "awaiting_receipt"
    RECEIVED = "received"
    COMPLETED = "completed"


class TrackingStatus(StrEnum):
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    EXCEPTION = "exception"


class ItemDisputeState(StrEnum):
    LIVE = "live"
    CANCELLED = "cancelled"
    CLOSED = "closed"


@dataclass(slots=True)
class LineItem:
    id: str
    sku: str
    title: str
    category: str | None
    quantity: int
    unit_price: Money

    @property
    def amount(self) -> Money:
        return self.unit_price * self.quantity


@dataclass(slots=True)
class TrackingEvent:
    status: TrackingStatus
    at: datetime
    location: str | None = None
    description: str | None = None


@dataclass(slots=True)
class ItemDispute:
    dispute_id: str
    state: ItemDisputeState


@dataclass(slots=True)
class Payment:
    method: str
    reference: str
    country: str


@dataclass
class Order:
    id: str
    buyer_id: str
    seller_id: str
    currency: str
    items: list[LineItem]
    shipping_cost: Money
    payment: Payment
    status: OrderStatus
    created_at: datetime
    escrow: Escrow
    policy_grace_days: int
    shipped_at: datetime | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    protection_days: int | None = None
    protection_ends_at: datetime | None = None
    received_at: datetime | None = None
    completed_at: datetime | None = None
    tracking: list[TrackingEvent] = field(default_factory=list)
    item_disputes: dict[str, ItemDispute] = field(default_factory=dict)
    dispute_ids: list[str] = field(default_factory=list)
    # How many money movements (refunds, payouts) the order has decided: their ids' counter.
    movements_made: int = 0
    version: int = 0
    # Collected changes, taken by the unit of work; never persisted with the aggregate.
    pending_events: list[DomainEvent] = field(default_factory=list, compare=False, repr=False)
    pending_ledger: list[LedgerTransaction] = field(default_factory=list, compare=False, repr=False)
    # Money movements decided by this change: saved with its ledger entries, in one commit.
    pending_movements: list[MoneyMovement] = field(default_factory=list, compare=False, repr=False)

    # --- creation -------------------------------------------------------------------------

    @classmethod
    def register_paid(
        cls,
        *,
        order_id: str,
        buyer_id: str,
        seller_id: str,
        currency: str,
        items: list[LineItem],
        shipping_cost: Money,
        payment: Payment,
        policy: Policy,
        now: datetime,
    ) -> Order:
        """A paid order: its whole total goes into escrow."""
        if not items:
            raise ValidationError("an order needs at least one item", field="items")
        if buyer_id == seller_id:
            raise ValidationError("buyer and seller must be different users", field="seller_id")
        for index, item in enumerate(items):
            if item.quantity <= 0:
                raise ValidationError(
                    "quantity must be at least 1", field=f"items.{index}.quantity"
                )
            if item.unit_price.currency != currency:
                raise ValidationError("item price is in another currency", field=f"items.{index}")
            if item.unit_price.minor < 0:
                raise ValidationError("unit_price cannot be negative", field=f"items.{index}")
        if shipping_cost.minor < 0:
            raise ValidationError("shipping_cost cannot be negative", field="shipping_cost")
        order = cls(
            id=order_id,
            buyer_id=buyer_id,
            seller_id=seller_id,
            currency=currency,
            items=items,
            shipping_cost=shipping_cost,
            payment=payment,
            status=OrderStatus.AWAITING_SHIPMENT,
            created_at=now,
            escrow=Escrow.empty(currency),
            policy_grace_days=policy.deadlines.post_receipt_grace_days,
        )
        if order.total.minor <= 0:
            raise ValidationError("an order's total must be more than zero", field="items")
        if order.total.minor > MAX_AMOUNT_MINOR:
            raise ValidationError(
                f"an order's total cannot be more than {Money(MAX_AMOUNT_MINOR, currency)}",
                field="items",
            )
        order._move(Movement.HOLD, order.total, now)
        return order

    # --- facts ------------------------------------------------------------------------------

    @property
    def total(self) -> Money:
        total = self.shipping_cost
        for item in self.items:
            total += item.amount
        return total

    def item(self, item_id: str) -> LineItem:
        for item in self.items:
            if item.id == item_id:
                return item
        raise ValidationError(f"order {self.id} has no item {item_id!r}", field="item_ids")

    def amount_paid_for(self, item_ids: list[str] | None) -> Money:
        """What the buyer paid for these items; the whole order (shipping included) for None."""
        if item_ids is None:
            return self.total
        amount = Money.zero(self.currency)
        for item_id in item_ids:
            amount += self.item(item_id).amount
        return amount

    @property
    def dispute_window_ends_at(self) -> datetime | None:
        """Until when the buyer may open (or reopen) a dispute: protection, or the post-receipt
        grace period once the buyer has confirmed receipt."""
        if self.received_at is not None:
            return self.received_at + timedelta(days=self.policy_grace_days)
        return self.protection_ends_at

    def window_open(self, now: datetime) -> bool:
        ends = self.dispute_window_ends_at
        return ends is not None and now < ends and self.status is not OrderStatus.COMPLETED

    @property
    def has_live_dispute(self) -> bool:
        return any(d.state is ItemDisputeState.LIVE for d in self.item_disputes.values())

    @property
    def fire_at(self) -> datetime | None:
        """When the order next needs the clock: payout once the dispute window has passed and
        no dispute is live. While a dispute is open nothing releases the money."""
        if self.status is OrderStatus.COMPLETED or self.has_live_dispute:
            return None
        return self.dispute_window_ends_at

    @property
    def parcel_moving(self) -> bool:
        return bool(self.tracking) and self.tracking[-1].status is TrackingStatus.IN_TRANSIT

    # --- lifecycle --------------------------------------------------------------------------

    def ship(
        self, *, carrier: str, tracking_number: str, protection_days: int, now: datetime
    ) -> None:
        if self.status is not OrderStatus.AWAITING_SHIPMENT:
            raise InvalidTransition(f"order is {self.status.value}; it has shipped already")
        if not carrier.strip() or not tracking_number.strip():
            raise ValidationError(
                "carrier and tracking_number are required", field="tracking_number"
            )
        _check_days(protection_days, "protection_days")
        self.carrier, self.tracking_number = carrier.strip(), tracking_number.strip()
        self.shipped_at = now
        self.protection_days = protection_days
        self.protection_ends_at = now + timedelta(days=protection_days)
        self.status = OrderStatus.AWAITING_RECEIPT
        self._event(OrderShipped(now, self.protection_ends_at))

    def record_tracking(self, event: TrackingEvent) -> None:
        if self.shipped_at is None:
            raise InvalidTransition("tracking events are recorded once the order has shipped")
        self.tracking.append(event)
        self.tracking.sort(key=lambda e: e.at)
        self._event(TrackingRecorded(event.at, event.status.value))

    def extend_protection(self, *, days: int, now: datetime) -> None:
        """The seller gives the buyer more time; only while protection still runs."""
        _check_days(days, "days")
        if self.protection_ends_at is None:
            raise InvalidTransition("protection starts when the order ships")
        if self.status is OrderStatus.COMPLETED or now >= self.protection_ends_at:
            raise InvalidTransition("protection has ended; it can no longer be extended")
        self.protection_ends_at += timedelta(days=days)
        self._event(ProtectionExtended(now, self.protection_ends_at))

    def confirm_receipt(self, *, now: datetime) -> None:
        if self.status is not OrderStatus.AWAITING_RECEIPT:
            raise InvalidTransition(f"order is {self.status.value}; receipt cannot be confirmed")
        self.received_at = now
        self.status = OrderStatus.RECEIVED
        self._event(ReceiptConfirmed(now))

    def fire_due(self, *, now: datetime, provider: str = "sandbox") -> bool:
        """The clock's turn: complete the order if its payout is due. Returns whether it did.
        ``provider`` is the payment provider that will move the money."""
        due = self.fire_at
        if due is None or due > now:
            return False
        self.status = OrderStatus.COMPLETED
        self.completed_at = now
        remaining = self.escrow.available
        if remaining.minor > 0:
            self._move(Movement.RELEASE, remaining, now, provider=provider)
        self._event(OrderCompleted(now, remaining))
        return True

    # --- disputes ---------------------------------------------------------------------------

    def check_can_dispute(
        self, *, item_ids: list[str] | None, reason: Reason, now: datetime, policy: Policy
    ) -> None:
        """Raise NotEligible / DisputeExists with the reason a buyer cannot open this dispute."""
        if self.shipped_at is None:
            raise NotEligible(
                "the order has not shipped yet; if the seller does not ship, ask the marketplace"
                " to cancel the order instead of opening a dispute"
            )
        if not self.window_open(now):
            raise NotEligible("buyer protection for this order has ended")
        if reason.not_received:
            wait_until = self.shipped_at + timedelta(days=policy.deadlines.not_received_wait_days)
            if now < wait_until:
                raise NotEligible(
                    f"'{reason.title}' can be opened from {rfc3339(wait_until)}, "
                    f"{policy.deadlines.not_received_wait_days} days after the order shipped"
                )
            if self.received_at is not None:
                raise NotEligible("you confirmed receipt of this order")
        if reason.requires_tracking_movement and not self.parcel_moving:
            raise NotEligible(
                "tracking does not show the parcel in transit; choose 'not received' instead"
            )
        for item_id in self._disputed_items(item_ids):
            existing = self.item_disputes.get(item_id)
            if existing is None or existing.state is ItemDisputeState.CANCELLED:
                continue
            if existing.state is ItemDisputeState.LIVE:
                raise DisputeExists(
                    f"item {item_id} already has an open dispute ({existing.dispute_id})"
                )
            raise NotEligible(
                f"item {item_id} had a dispute that closed ({existing.dispute_id}); "
                "a closed dispute cannot be opened again"
            )

    def track_dispute(
        self, dispute_id: str, item_ids: list[str] | None, state: ItemDisputeState
    ) -> None:
        """Record the state of a dispute over these items (live, cancelled or closed)."""
        for item_id in self._disputed_items(item_ids):
            current = self.item_disputes.get(item_id)
            # A cancelled dispute's item may since have been taken by a new dispute: only a live
            # dispute claims an item, or a payout could escape while the new one is open.
            if (
                current is not None
                and current.dispute_id != dispute_id
                and state is not ItemDisputeState.LIVE
            ):
                continue
            self.item_disputes[item_id] = ItemDispute(dispute_id, state)
        if dispute_id not in self.dispute_ids:
            self.dispute_ids.append(dispute_id)

    def settle_dispute(
        self,
        *,
        dispute_id: str,
        amount_paid: Money,
        refund: Money,
        now: datetime,
        provider: str = "sandbox",
        payout_provider: str | None = None,
        refund_expected_by: datetime | None = None,
    ) -> None:
        """Decide a closed dispute's money: the refund to the buyer, the rest of what was paid
        for the disputed items to the seller -- each a ledger entry into a pending account and
        a money movement for ``provider`` to carry out."""
        if refund > amount_paid:
            raise ValidationError("a refund cannot exceed what was paid for the disputed items")
        if refund.minor > 0:
            self._move(
                Movement.REFUND,
                refund,
                now,
                dispute_id,
                provider=provider,
                expected_by=refund_expected_by,
            )
        rest = amount_paid - refund
        rest = min(rest, self.escrow.available)
        if rest.minor > 0:
            self._move(
                Movement.RELEASE, rest, now, dispute_id, provider=payout_provider or provider
            )

    def confirm_movement(self, movement: MoneyMovement, now: datetime) -> None:
        """The provider confirmed a movement: its money leaves the pending account."""
        if movement.order_id != self.id:
            raise ValidationError(f"payment {movement.id} is not order {self.id}'s")
        kind = Movement.REFUNDED if movement.kind is MovementKind.REFUND else Movement.PAID_OUT
        self.pending_ledger.append(
            self.escrow.move(
                kind, movement.amount, order_id=self.id, at=now, dispute_id=movement.dispute_id
            )
        )

    def _disputed_items(self, item_ids: list[str] | None) -> list[str]:
        if item_ids is None:
            return [item.id for item in self.items]
        return item_ids

    # --- internals --------------------------------------------------------------------------

    def _move(
        self,
        movement: Movement,
        amount: Money,
        now: datetime,
        dispute_id: str | None = None,
        *,
        provider: str = "sandbox",
        expected_by: datetime | None = None,
    ) -> None:
        self.pending_ledger.append(
            self.escrow.move(movement, amount, order_id=self.id, at=now, dispute_id=dispute_id)
        )
        if movement in (Movement.REFUND, Movement.RELEASE):
            self.movements_made += 1
            self.pending_movements.append(
                MoneyMovement.decide(
                    movement_id=f"pay_{self.id.removeprefix('ord_')}_{self.movements_made:02d}",
                    order_id=self.id,
                    dispute_id=dispute_id,
                    kind=MovementKind.REFUND
                    if movement is Movement.REFUND
                    else MovementKind.PAYOUT,
                    amount=amount,
                    provider=provider,
                    payment_reference=self.payment.reference,
                    payment_method=self.payment.method,
                    payment_country=self.payment.country,
                    now=now,
                    expected_by=expected_by,
                )
            )

    def _event(self, event: OrderEvent) -> None:
        """Record an event, stamped with where the order stands as it happens."""
        self.pending_events.append(replace(event, order_id=self.id, status=self.status.value))


def _check_days(value: int, field_name: str) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= MAX_PROTECTION_DAYS
    ):
        raise ValidationError(
            f"{field_name} must be a whole number of days from 1 to {MAX_PROTECTION_DAYS}",
            field=field_name,
        )
