"""Typed response models of the nested objects (API.md): what a generated client gets as
classes instead of untyped dicts. Responses are still built by ``serializers``; a test
validates real responses against the schemas declared here (tests/e2e/test_openapi_client.py).
Objects may carry more fields than declared (``additionalProperties`` stays open), so a field
added beside these does not break a client."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    """A response object: the declared fields, and any others the serializer adds kept."""

    model_config = ConfigDict(extra="allow")


class Money(Open):
    currency: str = Field(examples=["EUR"])
    value: str = Field(examples=["12.50"], description="a decimal string in major units")


class OrderItemOut(Open):
    id: str
    sku: str
    title: str
    category: str | None
    quantity: int
    unit_price: Money
    amount: Money


class TrackingEventOut(Open):
    status: Literal["in_transit", "delivered", "exception"]
    at: datetime
    location: str | None
    description: str | None


class EscrowOut(Open):
    held: Money
    refunded: Money
    released: Money


class SolutionOut(Open):
    id: str
    proposed_by: Literal["buyer", "seller", "mediator"]
    kind: Literal["refund_only", "return_and_refund"]
    amount: Money
    comment: str
    status: Literal["pending", "accepted", "rejected", "superseded", "withdrawn"]
    created_at: datetime
    updated_at: datetime


class EvidenceOut(Open):
    id: str
    file_id: str
    added_by: str
    content_type: str
    description: str
    added_at: datetime


class MessageOut(Open):
    id: str
    author_id: str
    author_role: str
    body: str
    created_at: datetime
    warnings: list[str]


class EvidenceRequestOut(Open):
    id: str
    party: Literal["buyer", "seller"]
    request: str
    created_at: datetime
    due_at: datetime
    status: str


class DecisionSolutionOut(Open):
    kind: Literal["refund_only", "return_and_refund"]
    amount: Money
    comment: str


class DecisionOut(Open):
    id: str
    solutions: list[DecisionSolutionOut]
    rationale: str
    status: str
    respond_by: datetime | None


class MediationOut(Open):
    escalated_at: datetime
    mediator_id: str | None
    review_due_at: datetime | None
    evidence_requests: list[EvidenceRequestOut]
    decision: DecisionOut | None


class OutcomeOut(Open):
    result: Literal["buyer_favour", "seller_favour", "settled", "cancelled"]
    refund: Money
    return_required: bool
    decided_by: Literal[
        "agreement", "seller_timeout", "buyer_timeout", "mediator", "return_timeout", "buyer"
    ]
    rule: str
    explanation: str


class ReturnOut(Open):
    due_by: datetime | None
    carrier: str | None
    tracking_number: str | None
    shipped_at: datetime | None
    received_at: datetime | None
    condition: str | None


class RefundOut(Open):
    status: Literal["scheduled", "processing", "completed", "failed"]
    amount: Money
    expected_by: datetime | None
    completed_at: datetime | None


class TimelineEntryOut(Open):
    at: datetime
    type: str
    actor_role: str
    summary: str


class SummaryDeadlineOut(Open):
    kind: str
    due_at: datetime
    party: str
    on_expiry: str
    explanation: str


class SummaryOutcomeOut(Open):
    result: str
    refund: Money
    decided_by: str


class DisputeSummaryOut(Open):
    id: str
    order_id: str
    buyer_id: str
    seller_id: str
    status: str
    reason: str
    amount_paid: Money
    version: int
    deadline: SummaryDeadlineOut | None
    mediator_id: str | None
    review_due_at: datetime | None
    outcome: SummaryOutcomeOut | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class DisputePage(Open):
    data: list[DisputeSummaryOut]
    next_cursor: str | None
