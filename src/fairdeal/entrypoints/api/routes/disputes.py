"""Disputes: open, read, and every party action of API.md."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from fairdeal.domain.commands import (
    AcceptDecision,
    AcceptSolution,
    AddEvidence,
    Cancel,
    ConfirmReturn,
    EditDispute,
    EditSolution,
    Escalate,
    OpenDispute,
    PostMessage,
    ProposeSolution,
    RejectDecision,
    RejectSolution,
    RemoveEvidence,
    Reopen,
    ShipReturn,
)
from fairdeal.domain.dispute import Status
from fairdeal.domain.roles import Role
from fairdeal.entrypoints.api import serializers
from fairdeal.entrypoints.api.deps import Ctx, CurrentActor, IfMatch, Limit
from fairdeal.entrypoints.api.errors import ApiError
from fairdeal.entrypoints.api.ratelimit import DisputeLimit, MessageLimit
from fairdeal.entrypoints.api.routes.common import (
    act,
    amount,
    dispute_response,
    errors,
    page_response,
)
from fairdeal.entrypoints.api.schemas import (
    DecisionAcceptIn,
    DecisionRejectIn,
    DisputeCreate,
    DisputeEdit,
    DisputeOut,
    DisputePage,
    EvidenceIn,
    MessageIn,
    ReturnReceiptIn,
    ReturnShipmentIn,
    SolutionEdit,
    SolutionIn,
)
from fairdeal.services import disputes, handlers

router = APIRouter(prefix="/api/v1", tags=["disputes"])
ACT = errors(401, 403, 404, 409, 412, 422, 429)
STATUSES = tuple(status.value for status in Status)


@router.post("/disputes", status_code=201, response_model=DisputeOut, responses=ACT)
def open_dispute(body: DisputeCreate, actor: DisputeLimit, ctx: Ctx) -> JSONResponse:
    """The buyer opens a dispute on an order (whole, or some of its items)."""
    if actor.role is not Role.BUYER:
        raise ApiError("forbidden", "only the buyer can open a dispute")
    command = OpenDispute(
        order_id=body.order_id,
        item_ids=None if body.item_ids is None else tuple(body.item_ids),
        reason=body.reason,
        desired_outcome=body.desired_outcome,
        amount=amount(body.amount),
        description=body.description,
        evidence_file_ids=tuple(body.evidence_file_ids),
    )
    return dispute_response(handlers.open_dispute_view(ctx, actor, command), actor, 201)


@router.get("/disputes", response_model=DisputePage, responses=errors(401, 422))
def list_disputes(
    actor: CurrentActor,
    ctx: Ctx,
    limit: Limit,
    status: Annotated[str | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> JSONResponse:
    """The disputes you are party to (all of them for staff and the platform), newest first."""
    if status is not None and status not in STATUSES:
        raise ApiError(
            "validation_error", f"status must be one of {', '.join(STATUSES)}", field="status"
        )
    rows = disputes.list_disputes(ctx, actor, status=status, after=cursor, limit=limit)
    return page_response([serializers.dispute_summary(d) for d in rows], limit, lambda r: r["id"])


@router.get("/disputes/{dispute_id}", response_model=DisputeOut, responses=errors(401, 404))
def get_dispute(dispute_id: str, actor: CurrentActor, ctx: Ctx) -> JSONResponse:
    return dispute_response(disputes.get_dispute(ctx, actor, dispute_id), actor)


@router.patch("/disputes/{dispute_id}", response_model=DisputeOut, responses=ACT)
def edit_dispute(
    dispute_id: str, body: DisputeEdit, actor: CurrentActor, ctx: Ctx, version: IfMatch
) -> JSONResponse:
    """The buyer changes the reason or description while negotiating."""
    return act(ctx, actor, dispute_id, EditDispute(body.reason, body.description), version)


@router.post(
    "/disputes/{dispute_id}/solutions", status_code=201, response_model=DisputeOut, responses=ACT
)
def propose_solution(
    dispute_id: str, body: SolutionIn, actor: CurrentActor, ctx: Ctx, version: IfMatch
) -> JSONResponse:
    """The buyer's alternative, or the seller's own solution. Answers the dispute with the new
    solution last in ``solutions``."""
    command = ProposeSolution(body.kind, amount(body.amount), body.comment)
    return act(ctx, actor, dispute_id, command, version, 201)


@router.patch(
    "/disputes/{dispute_id}/solutions/{solution_id}", response_model=DisputeOut, responses=ACT
)
def edit_solution(
    dispute_id: str,
    solution_id: str,
    body: SolutionEdit,
    actor: CurrentActor,
    ctx: Ctx,
    version: IfMatch,
) -> JSONResponse:
    changed = None if body.amount is None else amount(body.amount)
    command = EditSolution(solution_id, body.kind, changed, body.comment)
    return act(ctx, actor, dispute_id, command, version)


@router.post(
    "/disputes/{dispute_id}/solutions/{solution_id}/accept",
    response_model=DisputeOut,
    responses=ACT,
)
def accept_solution(
    dispute_id: str, solution_id: str, actor: CurrentActor, ctx: Ctx, version: IfMatch
) -> JSONResponse:
    """Final: the dispute closes on these terms (or goes on to the return step)."""
    return act(ctx, actor, dispute_id, AcceptSolution(solution_id), version)


@router.post(
    "/disputes/{dispute_id}/solutions/{solution_id}/reject",
    response_model=DisputeOut,
    responses=ACT,
)
def reject_solution(
    dispute_id: str, solution_id: str, actor: CurrentActor, ctx: Ctx, version: IfMatch
) -> JSONResponse:
    """Reversible: a rejected solution can still be accepted while the dispute is open."""
    return act(ctx, actor, dispute_id, RejectSolution(solution_id), version)


@router.post(
    "/disputes/{dispute_id}/evidence", status_code=201, response_model=DisputeOut, responses=ACT
)
def add_evidence(
    dispute_id: str, body: EvidenceIn, actor: CurrentActor, ctx: Ctx, version: IfMatch
) -> JSONResponse:
    command = AddEvidence(body.file_id, body.description)
    return act(ctx, actor, dispute_id, command, version, 201)


@router.delete(
    "/disputes/{dispute_id}/evidence/{evidence_id}", response_model=DisputeOut, responses=ACT
)
def remove_evidence(
    dispute_id: str, evidence_id: str, actor: CurrentActor, ctx: Ctx, version: IfMatch
) -> JSONResponse:
    return act(ctx, actor, dispute_id, RemoveEvidence(evidence_id), version)


@router.post(
    "/disputes/{dispute_id}/messages", status_code=201, response_model=DisputeOut, responses=ACT
)
def post_message(
    dispute_id: str, body: MessageIn, actor: MessageLimit, ctx: Ctx, version: IfMatch
) -> JSONResponse:
    """A message to the other party (and the mediator). Agreements in messages have no force."""
    return act(ctx, actor, dispute_id, PostMessage(body.body), version, 201)


@router.post("/disputes/{dispute_id}/escalate", response_model=DisputeOut, responses=ACT)
def escalate(dispute_id: str, actor: CurrentActor, ctx: Ctx, version: IfMatch) -> JSONResponse:
    """Only where the policy has a manual button (classic), once the seller has answered."""
    return act(ctx, actor, dispute_id, Escalate(), version)


@router.post("/disputes/{dispute_id}/cancel", response_model=DisputeOut, responses=ACT)
def cancel(dispute_id: str, actor: CurrentActor, ctx: Ctx, version: IfMatch) -> JSONResponse:
    return act(ctx, actor, dispute_id, Cancel(), version)


@router.post("/disputes/{dispute_id}/reopen", response_model=DisputeOut, responses=ACT)
def reopen(dispute_id: str, actor: CurrentActor, ctx: Ctx, version: IfMatch) -> JSONResponse:
    return act(ctx, actor, dispute_id, Reopen(), version)


@router.post("/disputes/{dispute_id}/return-shipment", response_model=DisputeOut, responses=ACT)
def return_shipment(
    dispute_id: str, body: ReturnShipmentIn, actor: CurrentActor, ctx: Ctx, version: IfMatch
) -> JSONResponse:
    command = ShipReturn(body.carrier, body.tracking_number)
    return act(ctx, actor, dispute_id, command, version)


@router.post("/disputes/{dispute_id}/return-receipt", response_model=DisputeOut, responses=ACT)
def return_receipt(
    dispute_id: str, body: ReturnReceiptIn, actor: CurrentActor, ctx: Ctx, version: IfMatch
) -> JSONResponse:
    """``as_expected`` executes the refund; anything else goes to a mediator."""
    return act(ctx, actor, dispute_id, ConfirmReturn(body.condition, body.note), version)


@router.post(
    "/disputes/{dispute_id}/decisions/{decision_id}/accept",
    response_model=DisputeOut,
    responses=ACT,
)
def accept_decision(
    dispute_id: str,
    decision_id: str,
    actor: CurrentActor,
    ctx: Ctx,
    version: IfMatch,
    body: DecisionAcceptIn | None = None,
) -> JSONResponse:
    command = AcceptDecision(decision_id, body.solution_index if body else None)
    return act(ctx, actor, dispute_id, command, version)


@router.post(
    "/disputes/{dispute_id}/decisions/{decision_id}/reject",
    response_model=DisputeOut,
    responses=ACT,
)
def reject_decision(
    dispute_id: str,
    decision_id: str,
    body: DecisionRejectIn,
    actor: CurrentActor,
    ctx: Ctx,
    version: IfMatch,
) -> JSONResponse:
    """With new evidence this is a challenge and goes back to the mediator; without, it is
    recorded and the decision stands."""
    command = RejectDecision(decision_id, body.comment, tuple(body.evidence_file_ids))
    return act(ctx, actor, dispute_id, command, version)
