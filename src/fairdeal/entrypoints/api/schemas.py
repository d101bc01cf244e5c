"""Request bodies (validated by pydantic, unknown fields refused) and response models (for the
OpenAPI document; responses themselves are built by ``serializers``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator

from fairdeal.entrypoints.api.response_models import (
    DisputePage,
    EscrowOut,
    EvidenceOut,
    MediationOut,
    MessageOut,
    Money,
    Open,
    OrderItemOut,
    OutcomeOut,
    RefundOut,
    ReturnOut,
    SolutionOut,
    TimelineEntryOut,
    TrackingEventOut,
)

Text = Annotated[StrictStr, Field(max_length=5000)]
Short = Annotated[StrictStr, Field(min_length=1, max_length=200)]


def nul_path(value: Any, path: str = "") -> str | None:
    """Where in a JSON value a string holds U+0000 (``items.0.title``), or None. PostgreSQL
    cannot store that character in text or JSONB: it is refused at the door (422), the same on
    both databases, instead of failing in the database (500)."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            found = nul_path(key, name) or nul_path(item, name)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_path(item, f"{path}.{index}" if path else str(index))
            if found:
                return found
    return None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: Any) -> Any:
        found = nul_path(data)
        if found:
            raise ValueError(f"{found} must not contain the NUL character (U+0000)")
        return data


class MoneyIn(Strict):
    currency: Annotated[StrictStr, Field(min_length=3, max_length=3)]
    value: Annotated[StrictStr, Field(max_length=32, examples=["12.50"])]


# An amount: a money object, or a bare decimal string in the order's currency. Numbers are
# refused: a float cannot carry an exact amount.
AmountIn = MoneyIn | Annotated[StrictStr, Field(max_length=32, examples=["12.50"])]


class UserCreate(Strict):
    role: Literal["buyer", "seller", "mediator"]
    name: Short
    email: Annotated[StrictStr, Field(max_length=320)]
    external_id: Annotated[StrictStr, Field(max_length=255)] | None = None
    country: Annotated[StrictStr, Field(min_length=2, max_length=2)] | None = None
    language: Annotated[StrictStr, Field(max_length=16)] | None = None
    password: Annotated[StrictStr, Field(min_length=8, max_length=200)] | None = None


class UserOut(BaseModel):
    id: str
    role: str
    name: str
    email: str
    api_token: str | None = None


class ItemIn(Strict):
    sku: Short
    title: Annotated[StrictStr, Field(min_length=1, max_length=500)]
    category: Annotated[StrictStr, Field(max_length=100)] | None = None
    quantity: Annotated[StrictInt, Field(ge=1, le=100000)]
    unit_price: Annotated[StrictStr, Field(max_length=32, examples=["12.50"])]


class PaymentIn(Strict):
    method: Short
    reference: Short
    country: Annotated[StrictStr, Field(min_length=2, max_length=2)]


class OrderCreate(Strict):
    buyer_id: StrictStr
    seller_id: StrictStr
    currency: Annotated[StrictStr, Field(min_length=3, max_length=3)]
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=100)]
    shipping_cost: Annotated[StrictStr, Field(max_length=32)] = "0"
    payment: PaymentIn


class ShipIn(Strict):
    carrier: Short
    tracking_number: Short
    protection_days: Annotated[StrictInt, Field(ge=1, le=365)]


class TrackingIn(Strict):
    status: Literal["in_transit", "delivered", "exception"]
    at: datetime
    location: Annotated[StrictStr, Field(max_length=200)] | None = None
    description: Annotated[StrictStr, Field(max_length=1000)] | None = None


class ExtendIn(Strict):
    days: Annotated[StrictInt, Field(ge=1, le=365)]


class OrderOut(Open):
    id: str
    buyer_id: str
    seller_id: str
    status: Literal["awaiting_shipment", "awaiting_receipt", "received", "completed"]
    currency: str
    total: Money
    items: list[OrderItemOut]
    shipped_at: datetime | None
    protection_ends_at: datetime | None
    dispute_window_ends_at: datetime | None
    tracking: list[TrackingEventOut]
    escrow: EscrowOut
    dispute_ids: list[str]


class OrderPage(BaseModel):
    data: list[OrderOut]
    next_cursor: str | None


class FileOut(BaseModel):
    id: str
    filename: str
    content_type: str
    size: int
    sha256: str


class DisputeCreate(Strict):
    order_id: StrictStr
    item_ids: Annotated[list[StrictStr], Field(min_length=1, max_length=100)] | None = None
    reason: Annotated[StrictStr, Field(max_length=64)]
    desired_outcome: Literal["refund_only", "return_and_refund"]
    amount: AmountIn
    description: Annotated[StrictStr, Field(max_length=5000)]
    evidence_file_ids: Annotated[list[StrictStr], Field(max_length=20)] = []


class DisputeEdit(Strict):
    reason: Annotated[StrictStr, Field(max_length=64)] | None = None
    description: Annotated[StrictStr, Field(max_length=5000)] | None = None


class SolutionIn(Strict):
    kind: Literal["refund_only", "return_and_refund"]
    amount: AmountIn
    comment: Annotated[StrictStr, Field(max_length=2000)] = ""


class SolutionEdit(Strict):
    kind: Literal["refund_only", "return_and_refund"] | None = None
    amount: AmountIn | None = None
    comment: Annotated[StrictStr, Field(max_length=2000)] | None = None


class EvidenceIn(Strict):
    file_id: StrictStr
    description: Annotated[StrictStr, Field(max_length=2000)] = ""


class MessageIn(Strict):
    body: Annotated[StrictStr, Field(min_length=1, max_length=5000)]


class ReturnShipmentIn(Strict):
    carrier: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    tracking_number: Annotated[StrictStr, Field(min_length=1, max_length=100)]


class ReturnReceiptIn(Strict):
    condition: Literal["as_expected", "empty", "different_item", "damaged"]
    note: Annotated[StrictStr, Field(max_length=2000)] = ""


class AssignIn(Strict):
    mediator_id: StrictStr | None = None


class EvidenceRequestIn(Strict):
    party: Literal["buyer", "seller"]
    request: Annotated[StrictStr, Field(min_length=1, max_length=2000)]
    days: Annotated[StrictInt, Field(ge=1, le=30)] | None = None


class DecisionIn(Strict):
    solutions: Annotated[list[SolutionIn], Field(min_length=1, max_length=2)]
    rationale: Annotated[StrictStr, Field(min_length=1, max_length=5000)]


class DecisionAcceptIn(Strict):
    solution_index: Annotated[StrictInt, Field(ge=0, le=1)] | None = None


class DecisionRejectIn(Strict):
    comment: Annotated[StrictStr, Field(min_length=1, max_length=2000)]
    evidence_file_ids: Annotated[list[StrictStr], Field(max_length=20)] = []


class FinalizeIn(Strict):
    solution_index: Annotated[StrictInt, Field(ge=0, le=1)] | None = None


class NoteIn(Strict):
    body: Annotated[StrictStr, Field(min_length=1, max_length=5000)]


class AdvanceIn(Strict):
    days: Annotated[StrictInt, Field(ge=0, le=3650)] = 0
    hours: Annotated[StrictInt, Field(ge=0, le=100000)] = 0
    minutes: Annotated[StrictInt, Field(ge=0, le=1000000)] = 0


class DeadlineOut(Open):
    kind: str
    due_at: datetime
    party: Literal["buyer", "seller", "both", "mediator"]
    on_expiry: str
    explanation: str


class DisputeOut(Open):
    id: str
    order_id: str
    item_ids: list[str] | None
    buyer_id: str
    seller_id: str
    policy: str
    version: int
    status: Literal[
        "awaiting_seller_response",
        "negotiating",
        "under_review",
        "awaiting_return",
        "return_in_transit",
        "closed",
        "cancelled",
    ]
    reason: str
    description: str
    desired_outcome: Literal["refund_only", "return_and_refund"]
    amount_paid: Money
    solutions: list[SolutionOut]
    evidence: list[EvidenceOut]
    messages: list[MessageOut]
    deadline: DeadlineOut | None
    mediation: MediationOut | None
    outcome: OutcomeOut | None
    return_: ReturnOut | None = Field(alias="return")
    refund: RefundOut | None
    timeline: list[TimelineEntryOut]
    allowed_actions: list[str]
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class Page(BaseModel):
    data: list[dict[str, Any]]
    next_cursor: str | None


class ProblemError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, with the stable ``code`` of API.md."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    field: str | None = None
    errors: list[ProblemError] | None = None


class EventOut(BaseModel):
    id: str
    type: str
    created_at: datetime
    data: dict[str, Any]


class EventPage(BaseModel):
    """The event feed: ``next_cursor`` is never null (where to poll next); ``has_more`` says
    whether more events already wait there."""

    data: list[EventOut]
    next_cursor: str
    has_more: bool


__all__ = ["DisputePage", "Money"]


# --- money movements (docs/payments.md) ------------------------------------------------------


class PaymentOut(BaseModel):
    id: str
    order_id: str
    dispute_id: str | None
    kind: Literal["refund", "payout"]
    amount: Money
    status: Literal["pending", "submitted", "succeeded", "failed"]
    provider: Literal["sandbox", "marketplace", "stripe"]
    provider_reference: str | None
    attempts: int
    last_error: str | None
    created_at: str
    updated_at: str
    completed_at: str | None
    expected_by: str | None
    simulated: bool


class PaymentSucceededIn(Strict):
    provider_reference: str = Field(min_length=1, max_length=255)


class PaymentFailedIn(Strict):
    reason: str = Field(min_length=1, max_length=1000)
