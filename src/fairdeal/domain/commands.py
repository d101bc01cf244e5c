"""Commands: one frozen dataclass per thing a person can ask of a dispute, named in the
imperative. Entry points (API routes, web forms, the CLI, tests) build them from a request;
``services.handlers.handle`` runs each through one table line. Amounts arrive as ``Amount``
(read at the edge, turned into the order's ``Money`` by the handler)."""

from __future__ import annotations

from dataclasses import dataclass

from fairdeal.domain.money import Amount


@dataclass(frozen=True, slots=True)
class OpenDispute:
    order_id: str
    reason: str
    desired_outcome: str
    amount: Amount
    description: str
    item_ids: tuple[str, ...] | None = None
    evidence_file_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EditDispute:
    reason: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ProposeSolution:
    kind: str
    amount: Amount
    comment: str = ""


@dataclass(frozen=True, slots=True)
class EditSolution:
    solution_id: str
    kind: str | None = None
    amount: Amount | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class AcceptSolution:
    solution_id: str


@dataclass(frozen=True, slots=True)
class RejectSolution:
    solution_id: str


@dataclass(frozen=True, slots=True)
class AddEvidence:
    file_id: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class RemoveEvidence:
    evidence_id: str


@dataclass(frozen=True, slots=True)
class PostMessage:
    body: str


@dataclass(frozen=True, slots=True)
class Escalate:
    pass


@dataclass(frozen=True, slots=True)
class Cancel:
    pass


@dataclass(frozen=True, slots=True)
class Reopen:
    pass


@dataclass(frozen=True, slots=True)
class ShipReturn:
    carrier: str
    tracking_number: str


@dataclass(frozen=True, slots=True)
class ConfirmReturn:
    condition: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class AssignMediator:
    """``mediator_id`` None assigns the mediator who asks."""

    mediator_id: str | None = None


@dataclass(frozen=True, slots=True)
class RequestEvidence:
    party: str
    request: str
    days: int | None = None


@dataclass(frozen=True, slots=True)
class DecisionOption:
    """One solution of a mediator's decision."""

    kind: str
    amount: Amount
    comment: str = ""


@dataclass(frozen=True, slots=True)
class ProposeDecision:
    solutions: tuple[DecisionOption, ...]
    rationale: str


@dataclass(frozen=True, slots=True)
class AcceptDecision:
    decision_id: str
    solution_index: int | None = None


@dataclass(frozen=True, slots=True)
class RejectDecision:
    decision_id: str
    comment: str
    evidence_file_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FinalizeDecision:
    decision_id: str
    solution_index: int | None = None


@dataclass(frozen=True, slots=True)
class AddNote:
    body: str


# Every command ``handle`` runs against an existing dispute (OpenDispute creates one).
DisputeCommand = (
    EditDispute
    | ProposeSolution
    | EditSolution
    | AcceptSolution
    | RejectSolution
    | AddEvidence
    | RemoveEvidence
    | PostMessage
    | Escalate
    | Cancel
    | Reopen
    | ShipReturn
    | ConfirmReturn
    | AssignMediator
    | RequestEvidence
    | ProposeDecision
    | AcceptDecision
    | RejectDecision
    | FinalizeDecision
    | AddNote
)
