"""The records a dispute is made of: solutions, evidence, messages, notes, the mediation and
its decisions, the outcome, the return and the refund, the timeline. Plain values; the rules
that change them live in the aggregate. Their field names are the stored JSON's keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from fairdeal.domain.money import Money
from fairdeal.domain.roles import Role


class SolutionKind(StrEnum):
    REFUND_ONLY = "refund_only"
    RETURN_AND_REFUND = "return_and_refund"


class SolutionStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    WITHDRAWN = "withdrawn"


class Result(StrEnum):
    BUYER_FAVOUR = "buyer_favour"
    SELLER_FAVOUR = "seller_favour"
    SETTLED = "settled"
    CANCELLED = "cancelled"


class DecidedBy(StrEnum):
    AGREEMENT = "agreement"
    SELLER_TIMEOUT = "seller_timeout"
    BUYER_TIMEOUT = "buyer_timeout"
    MEDIATOR = "mediator"
    RETURN_TIMEOUT = "return_timeout"
    BUYER = "buyer"


class ReturnCondition(StrEnum):
    AS_EXPECTED = "as_expected"
    EMPTY = "empty"
    DIFFERENT_ITEM = "different_item"
    DAMAGED = "damaged"


@dataclass(slots=True)
class Solution:
    id: str
    proposed_by: Role
    author_id: str
    kind: SolutionKind
    amount: Money
    comment: str
    status: SolutionStatus
    created_at: datetime
    updated_at: datetime
    primary: bool = False


@dataclass(slots=True)
class Evidence:
    id: str
    file_id: str
    added_by: Role
    author_id: str
    content_type: str
    description: str
    added_at: datetime


@dataclass(slots=True)
class Message:
    id: str
    author_id: str
    author_role: Role
    body: str
    created_at: datetime
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Note:
    id: str
    author_id: str
    body: str
    created_at: datetime


@dataclass(slots=True)
class EvidenceRequest:
    id: str
    party: Role
    request: str
    created_at: datetime
    due_at: datetime
    status: str = "open"  # open | fulfilled | expired
    resolved_at: datetime | None = None


@dataclass(slots=True)
class ProposedSolution:
    kind: SolutionKind
    amount: Money
    comment: str = ""


@dataclass(slots=True)
class PartyResponse:
    response: str  # accepted | rejected | challenged
    solution_index: int | None
    comment: str
    at: datetime
    evidence_file_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Decision:
    id: str
    solutions: list[ProposedSolution]
    rationale: str
    # proposed -> (challenged) -> final | replaced
    status: str
    created_at: datetime
    respond_by: datetime
    responses: dict[str, PartyResponse] = field(default_factory=dict)
    final_index: int | None = None


@dataclass(slots=True)
class Mediation:
    escalated_at: datetime
    review_due_at: datetime
    trigger: str
    mediator_id: str | None = None
    review_overdue: bool = False
    evidence_requests: list[EvidenceRequest] = field(default_factory=list)
    decision: Decision | None = None
    past_decisions: list[Decision] = field(default_factory=list)

    def open_requests(self) -> list[EvidenceRequest]:
        return [r for r in self.evidence_requests if r.status == "open"]


@dataclass(slots=True)
class Outcome:
    result: Result
    refund: Money
    return_required: bool
    decided_by: DecidedBy
    rule: str
    explanation: str
    solution_kind: SolutionKind | None = None


@dataclass(slots=True)
class ReturnShipment:
    due_by: datetime
    carrier: str | None = None
    tracking_number: str | None = None
    shipped_at: datetime | None = None
    confirm_by: datetime | None = None
    received_at: datetime | None = None
    condition: ReturnCondition | None = None
    note: str | None = None


@dataclass(slots=True)
class Refund:
    status: str  # scheduled | processing | completed | failed (follows its money movement)
    amount: Money
    initiated_at: datetime
    expected_by: datetime
    completed_at: datetime | None = None


@dataclass(slots=True)
class TimelineEntry:
    at: datetime
    type: str
    actor_role: Role
    summary: str
    actor_id: str | None = None
    # This entry's link in the dispute's hash chain (domain/audit.py): covers the previous
    # entry's hash and this entry's content as stored.
    hash: str = ""

    def stored_content(self) -> dict[str, object]:
        """The entry's fields as the document stores them, without its hash: what the chain
        hashes (and what the verifier reads back from the database)."""
        return {
            "at": self.at.isoformat(),
            "type": self.type,
            "actor_role": self.actor_role.value,
            "summary": self.summary,
            "actor_id": self.actor_id,
        }


@dataclass(frozen=True, slots=True)
class Settlement:
    """Money a dispute's end moves: taken once by the service and applied to the order."""

    refund: Money
    amount_paid: Money
