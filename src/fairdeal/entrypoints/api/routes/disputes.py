"""Disputes: open, read, and every party action of API.md."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from fairdeal.domain.dispute import Role
from fairdeal.entrypoints.api import serializers
from fairdeal.entrypoints.api.deps import Ctx, CurrentActor, IfMatch, Limit
from fairdeal.entrypoints.api.errors import ApiError
from fairdeal.entrypoints.api.ratelimit import DisputeLimit, MessageLimit
from fairdeal.entrypoints.api.routes.common import dispute_response, errors, page
from fairdeal.entrypoints.api.schemas import (
    AmountIn,
    DecisionAcceptIn,
    DecisionRejectIn,
    DisputeCreate,
    DisputeEdit,
    DisputeOut,
    EvidenceIn,
    MessageIn,
    MoneyIn,
    Page,
    ReturnReceiptIn,
    ReturnShipmentIn,
    SolutionEdit,
    SolutionIn,
)
from fairdeal.services import disputes

router = APIRouter(prefix="/api/v1", tags=["disputes"])
ACT = errors(401, 403, 404, 409, 412, 422, 429)
STATUSES = (
    "awaiting_seller_response",
    "negotiating",
    "under_review",
    "awaiting_return",
    "return_in_transit",
    "closed",
    "cancelled",
)


def amount(value: AmountIn | None) -> object:
    """A money object as the services take it (a mapping), or the bare decimal string."""
    return value.model_dump() if isinstance(value, MoneyIn) else value


@router.post("/disputes", status_code=201, response_model=DisputeOut, responses=ACT)
def open_dispute(body: DisputeCreate, actor: DisputeLimit, ctx: Ctx) -> JSONResponse:
    """The buyer opens a dispute on an order (whole, or some of its items)."""
    if actor.role is not Role.BUYER:
        raise ApiError("forbidden", "only the buyer can open a dispute")
    dispute = disputes.open_dispute(
        ctx,
        actor,
        order_id=body.order_id,
        item_ids=body.item_ids,
        reason=body.reason,
        desired_outcome=body.desired_outcome,
        amount=amount(body.amount),
        description=body.description,
        evidence_file_ids=body.evidence_file_ids,
    )
    return dispute_response(disputes.get_dispute(ctx, actor, dispute.id), actor, 201)


@router.get("/disputes", response_model=Page, responses=errors(401, 422))
def list_disputes(
    actor: CurrentActor,
    ctx: Ctx,
    limit: Limit,
    status: Annotated[str | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, object]:
    """The disputes you are party to (all of them for staff and the platform), newest first."""
    if status is not None and status not in STATUSES:
        raise ApiError(
            "validation_error", f"status must be one of {', '.join(STATUSES)}", field="status"
        )
    rows = disputes.list_disputes(ctx, actor, status=status, after=cursor, limit=limit)
    return page([serializers.dispute_summary(d) for d in rows], limit, lambda r: r["id"])


@router.get("/disputes/{dispute_id}", response_model=DisputeOut, responses=errors(401, 404))
def get_dispute(dispute_id: str, actor: CurrentActor, ctx: Ctx) -> JSONResponse:
    return dispute_response(disputes.get_dispute(ctx, actor, dispute_id), actor)


@router.patch("/disputes/{dispute_id}", response_model=DisputeOut, responses=ACT)
def edit_dispute(
    dispute_id: str, body: DisputeEdit, actor: CurrentActor, ctx: Ctx, version: IfMatch
) -> JSONResponse:
    """The buyer changes the reason or description while negotiating."""
    view = disputes.edit_dispute(
        ctx,
        actor,
        dispute_id,
        reason=body.reason,
        description=body.description,
        expected_version=version,
    )
    return dispute_response(view, actor)


@router.post(
    "/disputes/{dispute_id}/solutions", status_code=201, response_model=DisputeOut, responses=ACT
)
def propose_solution(
    dispute_id: str, body: SolutionIn, actor: CurrentActor, ctx: Ctx, version: IfMatch
) -> JSONResponse:
    """The buyer's alternative, or the seller's own solution. Answers the dispute with the new
    solution last in ``solutions``."""
    view = disputes.propose_solution(
        ctx,
        actor,
        dispute_id,
        kind=body.kind,
        amount=amount(body.amount),
        comment=body.comment,
        expected_version=version,
    )
    return dispute_response(view, actor, 201)


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
    view = disputes.edit_solution(
        ctx,
        actor,
        dispute_id,
        solution_id,
        kind=body.kind,
        amount=amount(body.amount),
        comment=body.comment,
        expected_version=version,
    )
    return dispute_response(view, actor)


@router.post(
    "/disputes/{dispute_id}/solutions/{solution_id}/accept",
    response_model=DisputeOut,
    responses=ACT,
)
def accept_solution(
    dispute_id: str, solution_id: str, actor: CurrentActor, ctx: Ctx, version: IfMatch
) -> JSONResponse:
    """Final: the dispute closes on these terms (or goes on to the return step)."""
    view = disputes.accept_solution(ctx, actor, dispute_id, solution_id, expected_version=version)
    return dispute_response(view, actor)


@router.post(
    "/disputes/{dispute_id}/solutions/{solution_id}/reject",
    response_model=DisputeOut,
    responses=ACT,
)
def reject_solution(
    dispute_id: str, solution_id: str, actor: CurrentActor, ctx: Ctx, version: IfMatch
) -> JSONResponse:
    """Reversible: a rejected solution can still be accepted while the dispute is open."""
    view = disputes.reject_solution(ctx, actor, dispute_id, solution_id, expected_version=version)
    return dispute_response(view, actor)


@router.post(
    "/disputes/{dispute_id}/evidence", status_code=201, response_model=DisputeOut, responses=ACT
)
def add_evidence(
    dispute_id: str, body: EvidenceIn, actor: CurrentActor, ctx: Ctx, version: IfMatch
) -> JSONResponse:
    view = disputes.add_evidence(
        ctx,
        actor,
        dispute_id,
        file_id=body.file_id,
        description=body.description,
        expected_version=version,
    )
    return dispute_response(view, actor, 201)


@router.delete(
    "/disputes/{dispute_id}/evidence/{evidence_id}", response_model=DisputeOut, responses=ACT
)
def remove_evidence(
    dispute_id: str, evidence_id: str, actor: CurrentActor, ctx: Ctx, version: IfMatch
) -> JSONResponse:
    view = disputes.remove_evidence(ctx, actor, dispute_id, evidence_id, expected_version=version)
    return dispute_response(view, actor)


@router.post(
    "/disputes/{dispute_id}/messages", status_code=201, response_model=DisputeOut, responses=ACT
)
def post_message(
    dispute_id: str, body: MessageIn, actor: MessageLimit, ctx: Ctx, version: IfMatch
) -> JSONResponse:
    """A message to the other party (and the mediator). Agreements in messages have no force."""
    view = disputes.post_message(ctx, actor, dispute_id, body=body.body, expected_version=version)
    return dispute_response(view, actor, 201)


@router.post("/disputes/{dispute_id}/escalate", response_model=DisputeOut, responses=ACT)
def escalate(dispute_id: str, actor: CurrentActor, ctx: Ctx, version: IfMatch) -> JSONResponse:
    """Only where the policy has a manual button (classic), once the seller has answered."""
    view = disputes.escalate(ctx, actor, dispute_id, expected_version=version)
    return dispute_response(view, actor)


@router.post("/disputes/{dispute_id}/cancel", response_model=DisputeOut, responses=ACT)
def cancel(dispute_id: str, actor: CurrentActor, ctx: Ctx, version: IfMatch) -> JSONResponse:
    view = disputes.cancel(ctx, actor, dispute_id, expected_version=version)
    return dispute_response(view, actor)


@router.post("/disputes/{dispute_id}/reopen", response_model=DisputeOut, responses=ACT)
def reopen(dispute_id: str, actor: CurrentActor, ctx: Ctx, version: IfMatch) -> JSONResponse:
    view = disputes.reopen(ctx, actor, dispute_id, expected_version=version)
    return dispute_response(view, actor)


@router.post("/disputes/{dispute_id}/return-shipment", response_model=DisputeOut, responses=ACT)
def return_shipment(
    dispute_id: str, body: ReturnShipmentIn, actor: CurrentActor, ctx: Ctx, version: IfMatch
) -> JSONResponse:
    view = disputes.ship_return(
        ctx,
        actor,
        dispute_id,
        carrier=body.carrier,
        tracking_number=body.tracking_number,
        expected_version=version,
    )
    return dispute_response(view, actor)


@router.post("/disputes/{dispute_id}/return-receipt", response_model=DisputeOut, responses=ACT)
def return_receipt(
    dispute_id: str, body: ReturnReceiptIn, actor: CurrentActor, ctx: Ctx, version: IfMatch
) -> JSONResponse:
    """``as_expected`` executes the refund; anything else goes to a mediator."""
    view = disputes.confirm_return(
        ctx, actor, dispute_id, condition=body.condition, note=body.note, expected_version=version
    )
    return dispute_response(view, actor)


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
    view = disputes.accept_decision(
        ctx,
        actor,
        dispute_id,
        decision_id,
        solution_index=body.solution_index if body else None,
        expected_version=version,
    )
    return dispute_response(view, actor)


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
    view = disputes.reject_decision(
        ctx,
        actor,
        dispute_id,
        decision_id,
        comment=body.comment,
        evidence_file_ids=body.evidence_file_ids,
        expected_version=version,
    )
    return dispute_response(view, actor)
