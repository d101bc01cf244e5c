"""The mediator's queue and the forms of the workbench on the dispute page (staff only): take
the case, ask for evidence, propose a decision, make it final, keep notes."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from fairdeal.domain import commands as cmd
from fairdeal.entrypoints.web.routes.common import STAFF, ctx_of, need, optional_int, render
from fairdeal.entrypoints.web.routes.disputes import (
    FormAction,
    Posted,
    add_actions,
    decision_choice,
)
from fairdeal.entrypoints.web.routes.pipeline import web_router
from fairdeal.services import metrics, reports

router = web_router()

# The decision form offers two solutions; the second counts only when it has an amount.
DECISION_OPTIONS = 2


@router.get("/mediator")
def mediator_queue(request: Request) -> Response:
    viewer = need(request, *STAFF)
    rows = reports.mediation_queue(ctx_of(request), viewer.actor)
    flags = metrics.dispute_flags(ctx_of(request), [row.dispute for row in rows])
    return render(request, "mediator_queue.html", rows=rows, metric_flags=flags)


def _request_evidence(p: Posted) -> cmd.RequestEvidence:
    days = optional_int(p.text("days").strip(), invalid=0)  # 0: "days must be from 1 to 30"
    return cmd.RequestEvidence(p.text("party"), p.text("request"), days)


def _propose_decision(p: Posted) -> cmd.ProposeDecision:
    options = tuple(
        cmd.DecisionOption(
            p.text(f"solutions.{i}.kind"),
            p.amount(f"solutions.{i}.amount"),
            p.text(f"solutions.{i}.comment"),
        )
        for i in range(DECISION_OPTIONS)
        if i == 0 or p.text(f"solutions.{i}.amount").strip()
    )
    return cmd.ProposeDecision(options, p.text("rationale"))


MEDIATOR_ACTIONS = (
    FormAction(
        "assign",
        "/assign",
        "assign",
        "assigned",
        lambda p: cmd.AssignMediator(None),
        roles=STAFF,
    ),
    FormAction(
        "request_evidence",
        "/evidence-requests",
        "request",
        "requested",
        _request_evidence,
        roles=STAFF,
        anchor="mediation",
    ),
    FormAction(
        "propose_decision",
        "/decision",
        "decision",
        "decision",
        _propose_decision,
        roles=STAFF,
        anchor="mediation",
    ),
    decision_choice(
        "finalize_decision", "finalize", "finalize", "finalized", cmd.FinalizeDecision, roles=STAFF
    ),
    FormAction(
        "add_note",
        "/notes",
        "note",
        "note",
        lambda p: cmd.AddNote(p.text("body")),
        roles=STAFF,
        anchor="notes",
    ),
)
add_actions(router, MEDIATOR_ACTIONS)
