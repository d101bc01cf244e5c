"""Domain events: what happened, in the past tense, one frozen dataclass per kind. Aggregates
collect them; the unit of work writes them in the same transaction as the change (the event
feed and the outbox).

Each class names its wire type (``type``) and its payload fields; ``data`` is the payload as
``GET /api/v1/events`` and webhooks show it, byte for byte what the string-and-dict events
stored. ``by`` -- who acted, where someone did -- is not part of the payload. ``EVENT_CLASSES``
is the one list of event kinds: every list of type names derives from it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, ClassVar

from fairdeal.domain.money import Money
from fairdeal.domain.rfc3339 import rfc3339
from fairdeal.domain.roles import Role


def _wire(value: object) -> object:
    """A payload value as the feed stores it."""
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, Money):
        return value.as_json()
    if isinstance(value, Enum):
        return value.value
    return value


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """The base of every event: when it happened; subclasses add the aggregate and payload."""

    type: ClassVar[str]
    # Fields that are the event's envelope, not its own payload.
    _ENVELOPE: ClassVar[frozenset[str]] = frozenset({"at", "by"})

    at: datetime

    @property
    def aggregate_id(self) -> str:
        raise NotImplementedError

    def head(self) -> dict[str, Any]:
        """The payload keys every event of this aggregate starts with."""
        return {}

    @property
    def data(self) -> dict[str, Any]:
        payload = self.head()
        for item in dataclasses.fields(self):
            if item.name not in self._ENVELOPE and item.name not in payload:
                payload[item.name] = _wire(getattr(self, item.name))
        return payload

    @property
    def actor_role(self) -> Role | None:
        """Who acted, for events that record someone's action."""
        by = getattr(self, "by", None)
        return by if isinstance(by, Role) else None


# --- disputes ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DisputeEvent(DomainEvent):
    """An event of one dispute. ``Dispute._emit`` fills in where the dispute stands."""

    dispute_id: str = field(default="", kw_only=True)
    order_id: str = field(default="", kw_only=True)
    status: str = field(default="", kw_only=True)

    @property
    def aggregate_id(self) -> str:
        return self.dispute_id

    def head(self) -> dict[str, Any]:
        return {"dispute_id": self.dispute_id, "order_id": self.order_id, "status": self.status}


@dataclass(frozen=True, slots=True)
class DisputeOpened(DisputeEvent):
    type: ClassVar[str] = "dispute.opened"
    by: Role


@dataclass(frozen=True, slots=True)
class DisputeEdited(DisputeEvent):
    type: ClassVar[str] = "dispute.updated"
    by: Role


@dataclass(frozen=True, slots=True)
class SolutionProposed(DisputeEvent):
    """A new solution, or an edited one (which the other party answers afresh)."""

    type: ClassVar[str] = "dispute.solution_proposed"
    by: Role
    solution_id: str


@dataclass(frozen=True, slots=True)
class SolutionAccepted(DisputeEvent):
    type: ClassVar[str] = "dispute.solution_accepted"
    by: Role
    solution_id: str


@dataclass(frozen=True, slots=True)
class SolutionRejected(DisputeEvent):
    type: ClassVar[str] = "dispute.solution_rejected"
    by: Role
    solution_id: str


@dataclass(frozen=True, slots=True)
class EvidenceAdded(DisputeEvent):
    type: ClassVar[str] = "dispute.evidence_added"
    by: Role
    evidence_id: str


@dataclass(frozen=True, slots=True)
class EvidenceRemoved(DisputeEvent):
    type: ClassVar[str] = "dispute.updated"
    by: Role
    evidence_removed: str


@dataclass(frozen=True, slots=True)
class MessagePosted(DisputeEvent):
    type: ClassVar[str] = "dispute.message_posted"
    by: Role
    message_id: str
    warnings: list[str]


@dataclass(frozen=True, slots=True)
class DisputeEscalated(DisputeEvent):
    type: ClassVar[str] = "dispute.escalated"
    by: Role
    trigger: str


@dataclass(frozen=True, slots=True)
class DisputeCancelled(DisputeEvent):
    type: ClassVar[str] = "dispute.cancelled"
    by: Role


@dataclass(frozen=True, slots=True)
class DisputeReopened(DisputeEvent):
    type: ClassVar[str] = "dispute.reopened"
    by: Role


@dataclass(frozen=True, slots=True)
class ReturnShipped(DisputeEvent):
    type: ClassVar[str] = "return.shipped"
    by: Role
    carrier: str
    tracking_number: str


@dataclass(frozen=True, slots=True)
class ReturnReceived(DisputeEvent):
    type: ClassVar[str] = "return.received"
    by: Role
    condition: str


@dataclass(frozen=True, slots=True)
class MediatorAssigned(DisputeEvent):
    type: ClassVar[str] = "dispute.updated"
    by: Role
    mediator_id: str


@dataclass(frozen=True, slots=True)
class EvidenceRequested(DisputeEvent):
    type: ClassVar[str] = "dispute.evidence_requested"
    by: Role
    party: str
    request_id: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class DecisionProposed(DisputeEvent):
    type: ClassVar[str] = "dispute.decision_proposed"
    by: Role
    decision_id: str


@dataclass(frozen=True, slots=True)
class DecisionAnswered(DisputeEvent):
    """A party accepted, rejected or challenged (rejected with new evidence) a decision."""

    type: ClassVar[str] = "dispute.updated"
    by: Role
    decision_id: str
    response: str


@dataclass(frozen=True, slots=True)
class ReviewOverdue(DisputeEvent):
    type: ClassVar[str] = "dispute.updated"
    review_overdue: bool = True


@dataclass(frozen=True, slots=True)
class ReturnRequired(DisputeEvent):
    type: ClassVar[str] = "dispute.updated"
    return_due_by: datetime


@dataclass(frozen=True, slots=True)
class DisputeClosed(DisputeEvent):
    type: ClassVar[str] = "dispute.closed"
    result: str
    refund: Money
    decided_by: str


@dataclass(frozen=True, slots=True)
class RefundScheduled(DisputeEvent):
    type: ClassVar[str] = "refund.scheduled"
    amount: Money
    expected_by: datetime


@dataclass(frozen=True, slots=True)
class RefundCompleted(DisputeEvent):
    type: ClassVar[str] = "refund.completed"
    amount: Money


@dataclass(frozen=True, slots=True)
class RefundFailed(DisputeEvent):
    """The payment provider refused the buyer's refund for good (an admin may retry it)."""

    type: ClassVar[str] = "refund.failed"
    amount: Money
    reason: str


@dataclass(frozen=True, slots=True)
class DeadlineReminded(DisputeEvent):
    """The relay reminded parties of a deadline that decides against them when it passes."""

    type: ClassVar[str] = "deadline.reminder"
    kind: str
    due_at: datetime
    party: str
    parties: list[str]
    on_expiry: str
    explanation: str


# --- orders -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderEvent(DomainEvent):
    """An event of one order. ``Order._event`` fills in where the order stands."""

    order_id: str = field(default="", kw_only=True)
    status: str = field(default="", kw_only=True)

    @property
    def aggregate_id(self) -> str:
        return self.order_id

    def head(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "status": self.status}


@dataclass(frozen=True, slots=True)
class OrderShipped(OrderEvent):
    type: ClassVar[str] = "order.shipped"
    protection_ends_at: datetime


@dataclass(frozen=True, slots=True)
class TrackingRecorded(OrderEvent):
    type: ClassVar[str] = "order.updated"
    tracking_status: str


@dataclass(frozen=True, slots=True)
class ProtectionExtended(OrderEvent):
    type: ClassVar[str] = "order.updated"
    protection_ends_at: datetime


@dataclass(frozen=True, slots=True)
class ReceiptConfirmed(OrderEvent):
    type: ClassVar[str] = "order.updated"


@dataclass(frozen=True, slots=True)
class OrderCompleted(OrderEvent):
    type: ClassVar[str] = "order.completed"
    released: Money


# --- money movements (payments) ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaymentEvent(DomainEvent):
    """An event of one money movement. ``MoneyMovement._emit`` fills in which."""

    payment_id: str = field(default="", kw_only=True)
    order_id: str = field(default="", kw_only=True)
    dispute_id: str | None = field(default=None, kw_only=True)

    @property
    def aggregate_id(self) -> str:
        return self.payment_id

    def head(self) -> dict[str, Any]:
        head: dict[str, Any] = {"payment_id": self.payment_id, "order_id": self.order_id}
        if self.dispute_id is not None:  # the notifications relay finds the case by it
            head["dispute_id"] = self.dispute_id
        return head


@dataclass(frozen=True, slots=True)
class PaymentRequested(PaymentEvent):
    """Move this money (in marketplace mode: the marketplace's instruction to do it)."""

    type: ClassVar[str] = "payment.requested"
    movement: dict[str, Any]
    payment: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PaymentSucceeded(PaymentEvent):
    type: ClassVar[str] = "payment.succeeded"
    movement: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PaymentFailed(PaymentEvent):
    type: ClassVar[str] = "payment.failed"
    movement: dict[str, Any]
    reason: str


@dataclass(frozen=True, slots=True)
class PayoutFailed(PaymentEvent):
    type: ClassVar[str] = "payout.failed"
    amount: Money
    reason: str


# --- webhooks ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebhookEndpointDisabled(DomainEvent):
    type: ClassVar[str] = "webhook_endpoint.disabled"
    endpoint_id: str
    url: str
    failing_since: str
    disabled_at: str
    reason: str

    @property
    def aggregate_id(self) -> str:
        return self.endpoint_id


EVENT_CLASSES: tuple[type[DomainEvent], ...] = (
    OrderShipped,
    TrackingRecorded,
    ProtectionExtended,
    ReceiptConfirmed,
    OrderCompleted,
    DisputeOpened,
    DisputeEdited,
    SolutionProposed,
    SolutionAccepted,
    SolutionRejected,
    MessagePosted,
    EvidenceAdded,
    EvidenceRemoved,
    DisputeEscalated,
    MediatorAssigned,
    EvidenceRequested,
    DecisionProposed,
    DecisionAnswered,
    ReviewOverdue,
    ReturnRequired,
    DisputeClosed,
    DisputeCancelled,
    DisputeReopened,
    ReturnShipped,
    ReturnReceived,
    RefundScheduled,
    RefundCompleted,
    DeadlineReminded,
    WebhookEndpointDisabled,
    RefundFailed,
    PaymentRequested,
    PaymentSucceeded,
    PaymentFailed,
    PayoutFailed,
)
# The wire type names, derived: a new event class is a new type name, nowhere else to add it.
EVENT_TYPES: frozenset[str] = frozenset(cls.type for cls in EVENT_CLASSES)
