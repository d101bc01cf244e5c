"""The mediator's side: the queue, assignment, evidence requests, decisions, private notes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from fairdeal.domain.commands import (
    AddNote,
    AssignMediator,
    DecisionOption,
    FinalizeDecision,
    ProposeDecision,
    RequestEvidence,
)
from fairdeal.domain.roles import Actor, Role
from fairdeal.entrypoints.api import serializers
from fairdeal.entrypoints.api.deps import Ctx, IfMatch, Limit, require
from fairdeal.entrypoints.api.routes.common import act, amount, errors, page_response
from fairdeal.entrypoints.api.schemas import (
    AssignIn,
    DecisionIn,
    DisputeOut,
    DisputePage,
    EvidenceRequestIn,
    FinalizeIn,
    NoteIn,
)
from fairdeal.services import disputes, metrics

router = APIRouter(prefix="/api/v1", tags=["mediation"])
Staff = Annotated[Actor, Depends(require(Role.MEDIATOR, Role.ADMIN))]
ACT = errors(401, 403, 404, 409, 412, 422, 429)


@router.get("/mediation/queue", response_model=DisputePage, responses=errors(401, 403))
def queue(
    actor: Staff,
    ctx: Ctx,
    limit: Limit,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> JSONResponse:
    """Escalated disputes, nearest deadline first."""
    rows = disputes.mediation_queue(ctx, actor, after=cursor, limit=limit)
    flagged = metrics.dispute_flags(ctx, rows)  # serial disputers, sellers above the norm
    summaries = [
        {**serializers.dispute_summary(d), "flags": list(flagged.get(d.id, ()))} for d in rows
    ]
    return page_response(summaries, limit, lambda r: r["id"])


@router.post("/disputes/{dispute_id}/assign", response_model=DisputeOut, responses=ACT)
def assign(
    dispute_id: str, actor: Staff, ctx: Ctx, version: IfMatch, body: AssignIn | None = None
) -> JSONResponse:
    command = AssignMediator(body.mediator_id if body else None)
    return act(ctx, actor, dispute_id, command, version)


@router.post(
    "/disputes/{dispute_id}/evidence-requests",
    status_code=201,
    response_model=DisputeOut,
    responses=ACT,
)
def request_evidence(
    dispute_id: str, body: EvidenceRequestIn, actor: Staff, ctx: Ctx, version: IfMatch
) -> JSONResponse:
    """Ask a party for specific evidence; ignoring it loses the dispute."""
    command = RequestEvidence(body.party, body.request, body.days)
    return act(ctx, actor, dispute_id, command, version, 201)


@router.post(
    "/disputes/{dispute_id}/decisions", status_code=201, response_model=DisputeOut, responses=ACT
)
def propose_decision(
    dispute_id: str, body: DecisionIn, actor: Staff, ctx: Ctx, version: IfMatch
) -> JSONResponse:
    """An interim decision of one or two solutions; the parties have the policy's response
    window to accept, reject or challenge it."""
    options = tuple(DecisionOption(s.kind, amount(s.amount), s.comment) for s in body.solutions)
    return act(ctx, actor, dispute_id, ProposeDecision(options, body.rationale), version, 201)


@router.post(
    "/disputes/{dispute_id}/decisions/{decision_id}/finalize",
    response_model=DisputeOut,
    responses=ACT,
)
def finalize(
    dispute_id: str,
    decision_id: str,
    actor: Staff,
    ctx: Ctx,
    version: IfMatch,
    body: FinalizeIn | None = None,
) -> JSONResponse:
    """Final, and cannot be appealed."""
    command = FinalizeDecision(decision_id, body.solution_index if body else None)
    return act(ctx, actor, dispute_id, command, version)


@router.post(
    "/disputes/{dispute_id}/notes", status_code=201, response_model=DisputeOut, responses=ACT
)
def add_note(
    dispute_id: str, body: NoteIn, actor: Staff, ctx: Ctx, version: IfMatch
) -> JSONResponse:
    """A private note: only mediators and admins see notes."""
    return act(ctx, actor, dispute_id, AddNote(body.body), version, 201)
