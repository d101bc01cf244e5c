"""The dispute, in rooms: ``states`` (the lifecycle and its transition table), ``deadlines``
(the clocks, and what each expiry does), ``parts`` (the records a dispute holds), ``checks``
(input checks), and the aggregate with its actions by phase (``aggregate``, ``negotiation``,
``returns``, ``mediation``). Who acts lives in ``fairdeal.domain.roles``.

Everything the single module used to export is re-exported here, so
``from fairdeal.domain.dispute import Dispute, Role, Status`` keeps working."""

from fairdeal.domain.dispute.aggregate import Dispute
from fairdeal.domain.dispute.checks import MAX_COMMENT, MAX_TEXT
from fairdeal.domain.dispute.deadlines import Deadline
from fairdeal.domain.dispute.parts import (
    DecidedBy,
    Decision,
    Evidence,
    EvidenceRequest,
    Mediation,
    Message,
    Note,
    Outcome,
    PartyResponse,
    ProposedSolution,
    Refund,
    Result,
    ReturnCondition,
    ReturnShipment,
    Settlement,
    Solution,
    SolutionKind,
    SolutionStatus,
    TimelineEntry,
)
from fairdeal.domain.dispute.states import (
    NEGOTIATION,
    OPEN_STATUSES,
    TRANSITIONS,
    Action,
    Status,
    Transition,
)
from fairdeal.domain.roles import PARTIES, STAFF, SYSTEM, Actor, Role

__all__ = [
    "MAX_COMMENT",
    "MAX_TEXT",
    "NEGOTIATION",
    "OPEN_STATUSES",
    "PARTIES",
    "STAFF",
    "SYSTEM",
    "TRANSITIONS",
    "Action",
    "Actor",
    "Deadline",
    "DecidedBy",
    "Decision",
    "Dispute",
    "Evidence",
    "EvidenceRequest",
    "Mediation",
    "Message",
    "Note",
    "Outcome",
    "PartyResponse",
    "ProposedSolution",
    "Refund",
    "Result",
    "ReturnCondition",
    "ReturnShipment",
    "Role",
    "Settlement",
    "Solution",
    "SolutionKind",
    "SolutionStatus",
    "Status",
    "TimelineEntry",
    "Transition",
]
