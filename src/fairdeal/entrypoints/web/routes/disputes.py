"""The dispute page every party sees, the list of one's disputes, and the forms on the page:
each form is one line of ``PARTY_ACTIONS`` (the mediator's are in ``mediator.py``) that builds
a command from the form, and ``act`` runs it the one way every form runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from fairdeal.domain import commands as cmd
from fairdeal.domain.dispute import Action, Dispute
from fairdeal.domain.errors import (
    DomainError,
    Forbidden,
    InvalidTransition,
    NotFound,
    VersionConflict,
)
from fairdeal.domain.money import Amount
from fairdeal.domain.roles import Role
from fairdeal.entrypoints.refusals import said_to_people
from fairdeal.entrypoints.web import views
from fairdeal.entrypoints.web.routes.common import (
    HOME,
    PARTIES,
    STAFF,
    FormError,
    Viewer,
    ctx_of,
    done,
    form_of,
    limit,
    need,
    optional_int,
    redirect,
    render,
    text,
    uploads,
    values,
)
from fairdeal.entrypoints.web.routes.evidence import upload
from fairdeal.entrypoints.web.routes.pipeline import web_router
from fairdeal.i18n import _
from fairdeal.services import disputes, files, handlers, metrics, reports
from fairdeal.services.disputes import DisputeView

router = web_router()


@router.get("/disputes")
def my_disputes(request: Request) -> Response:
    viewer = need(request)
    if viewer.role in STAFF:
        return redirect(HOME[viewer.role])
    rows = reports.dispute_rows(ctx_of(request), viewer.actor)
    return render(request, "disputes.html", rows=rows)


@router.get("/disputes/{dispute_id}")
def dispute(request: Request, dispute_id: str) -> Response:
    return dispute_page(request, dispute_id)


def dispute_page(
    request: Request, dispute_id: str, *, error: FormError | None = None, status: int = 200
) -> HTMLResponse:
    viewer = need(request)
    view = disputes.get_dispute(ctx_of(request), viewer.actor, dispute_id)
    return render(request, "dispute.html", status, **dispute_context(request, viewer, view, error))


def dispute_context(
    request: Request, viewer: Viewer, view: DisputeView, error: FormError | None = None
) -> dict[str, Any]:
    """What the dispute page and its parts show, from the viewer's view of the dispute."""
    ctx = ctx_of(request)
    d = view.dispute
    order = view.order
    people = {d.buyer_id, d.seller_id, *(m.author_id for m in d.messages)}
    if d.mediation and d.mediation.mediator_id:
        people.add(d.mediation.mediator_id)
    reason = d.policy.catalogue(d.category).get(d.reason) or d.policy.reasons.get(d.reason)
    deadline = d.deadline
    role = viewer.role
    return {
        "view": view,
        "d": d,
        "order": order,
        "actor": viewer.actor,
        "role": role,
        "staff": role in STAFF,
        "allowed": views.sensible_actions(d, role, set(view.allowed_actions)),
        "A": Action,
        "names": reports.names(ctx, people),
        "reason": reason,
        "deadline": deadline,
        "deadline_text": views.for_viewer(deadline.explanation, role) if deadline else "",
        "deadline_mine": bool(deadline and views.concerns(deadline.party, role)),
        "words": views.deadline_words(deadline, d, role, set(view.allowed_actions))
        if deadline
        else None,
        "steps": views.progress(d),
        "solutions": views.visible_solutions(d),
        "schedule": views.refund_schedule(d, view.now),
        "show_warnings": role is Role.BUYER or role in STAFF,
        "metric_flags": metrics.dispute_flags(ctx, [d]) if role in STAFF else {},
        "error": error,
        "item_titles": _item_titles(d, order),
        "can_extend": role is Role.SELLER
        and order.protection_ends_at is not None
        and view.now < order.protection_ends_at
        and order.status.value != "completed",
    }


def _item_titles(d: Dispute, order: Any) -> str:
    if d.item_ids is None:
        return ", ".join(i.title for i in order.items)
    return ", ".join(i.title for i in order.items if i.id in d.item_ids)


# --- the forms on the dispute page ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Posted:
    """A form posted on a dispute, as a command builder reads it."""

    request: Request
    viewer: Viewer
    form: FormData

    def text(self, name: str) -> str:
        return text(self.form, name)

    def param(self, name: str) -> str:
        """A part of the URL (``solution_id`` in ``/solutions/{solution_id}/accept``)."""
        value: str = self.request.path_params[name]
        return value

    def amount(self, name: str) -> Amount:
        return Amount.of(self.text(name).strip(), field=name)

    def upload(self, name: str) -> Iterator[str]:
        """The ids of the files chosen in the input ``name``, each stored as it is reached."""
        for chosen in uploads(self.form, name):
            yield upload(self.request, self.viewer, chosen, field=name).id


Built = cmd.DisputeCommand | Iterator[cmd.DisputeCommand]


@dataclass(frozen=True, slots=True)
class FormAction:
    """One form on the dispute page and the command it runs. ``form`` names the form that
    shows a refusal (``{solution_id}`` is filled from the URL); ``ok`` the notice shown when
    it is done (``common.NOTICES``); ``partial`` the part htmx swaps in instead of a reload;
    ``limit`` the rate-limited allowance it spends."""

    name: str
    path: str
    form: str
    ok: str
    build: Callable[[Posted], Built]
    roles: tuple[Role, ...] = (*PARTIES, *STAFF)
    anchor: str = ""
    partial: str | None = None
    limit: str | None = None


def add_actions(router: APIRouter, actions: Iterable[FormAction]) -> None:
    """One POST route per form, under ``/disputes/{dispute_id}``."""
    for action in actions:
        router.add_api_route(
            f"/disputes/{{dispute_id}}{action.path}",
            _endpoint(action),
            methods=["POST"],
            name=action.name,
        )


def _endpoint(action: FormAction) -> Callable[[Request, str], Response]:
    def endpoint(request: Request, dispute_id: str) -> Response:
        return act(request, dispute_id, action)

    return endpoint


# The refusals said at the top of the dispute page rather than next to a form.
PAGE_FORM = "page"


def act(request: Request, dispute_id: str, action: FormAction) -> Response:
    """Run a form's command. Refused: the page again, with the rule's words next to the
    field. Done: back to the page (or, for htmx, the changed part only, from the view the
    command returned)."""
    viewer = need(request, *action.roles)
    if action.limit:
        limit(request, action.limit, viewer.actor.user_id)
    form = form_of(request)
    form_name = action.form.format_map(request.path_params)
    htmx_part = action.partial if request.headers.get("hx-request") else None
    try:
        view = _run(request, viewer, dispute_id, action.build(Posted(request, viewer, form)))
    except VersionConflict:
        detail = _(
            "Someone changed this dispute at the same moment. Reload the page and try again."
        )
        conflict = FormError(form_name, None, detail)
        return dispute_page(request, dispute_id, error=conflict, status=409)
    except DomainError as error:
        if isinstance(error, NotFound | Forbidden) and error.field is None:
            raise  # the pipeline's error page
        detail = said_to_people(error.code, error.detail)
        # Refused for the dispute's stage: the action's form is usually gone from the page
        # by now (someone acted meanwhile), so the words go to the top of the page instead.
        where = PAGE_FORM if isinstance(error, InvalidTransition) else form_name
        refused = FormError(where, error.field, detail, values(form))
        if htmx_part is None:
            return dispute_page(request, dispute_id, error=refused, status=422)
        view = disputes.get_dispute(ctx_of(request), viewer.actor, dispute_id)
        return render(request, htmx_part, 422, **dispute_context(request, viewer, view, refused))
    if htmx_part is not None:
        return render(request, htmx_part, **dispute_context(request, viewer, view))
    anchor = f"#{action.anchor}" if action.anchor else ""
    return done(f"/disputes/{dispute_id}{anchor}", action.ok)


def _run(request: Request, viewer: Viewer, dispute_id: str, built: Built) -> DisputeView:
    """Handle the command (or each of the commands, one per chosen file); the view after
    the last one."""
    ctx = ctx_of(request)
    commands = built if isinstance(built, Iterator) else iter((built,))
    view = None
    for command in commands:
        view = handlers.handle(ctx, viewer.actor, dispute_id, command)
    if view is None:  # no command at all: nothing changed, the page as it is
        view = disputes.get_dispute(ctx, viewer.actor, dispute_id)
    return view


def _evidence(p: Posted) -> Iterator[cmd.DisputeCommand]:
    chosen = False
    for file_id in p.upload("file"):
        chosen = True
        yield cmd.AddEvidence(file_id, p.text("description"))
    if not chosen:
        raise files.UnsupportedFileType(_("Choose a photo, video or PDF to upload."), field="file")


def _edit_solution(p: Posted) -> cmd.EditSolution:
    amount = p.text("amount").strip()
    return cmd.EditSolution(
        p.param("solution_id"),
        kind=p.text("kind") or None,
        amount=Amount.of(amount, field="amount") if amount else None,
        comment=p.text("comment"),
    )


def _reject_decision(p: Posted) -> cmd.RejectDecision:
    new_files = tuple(p.upload("file"))
    return cmd.RejectDecision(p.param("decision_id"), p.text("comment"), new_files)


def solution_index(p: Posted) -> int | None:
    return optional_int(p.text("solution_index"), invalid=-1)  # -1: the domain refuses it


def decision_choice(
    name: str,
    verb: str,
    form: str,
    ok: str,
    command: Callable[[str, int | None], cmd.DisputeCommand],
    *,
    roles: tuple[Role, ...],
) -> FormAction:
    """A form that settles a decision on one of its solutions (a party accepts it, the mediator
    makes it final): ``command(decision_id, the chosen solution's index)``, posted to
    ``/decision/{decision_id}/<verb>``."""
    return FormAction(
        name,
        f"/decision/{{decision_id}}/{verb}",
        form,
        ok,
        lambda p: command(p.param("decision_id"), solution_index(p)),
        roles=roles,
    )


PARTY_ACTIONS = (
    FormAction(
        "edit_dispute",
        "/edit",
        "edit-dispute",
        "edited",
        lambda p: cmd.EditDispute(p.text("reason") or None, p.text("description")),
    ),
    FormAction(
        "propose_solution",
        "/solutions",
        "propose",
        "proposed",
        lambda p: cmd.ProposeSolution(p.text("kind"), p.amount("amount"), p.text("comment")),
        anchor="solutions",
    ),
    FormAction(
        "edit_solution",
        "/solutions/{solution_id}/edit",
        "edit-{solution_id}",
        "edited",
        _edit_solution,
        anchor="solutions",
    ),
    FormAction(
        "accept_solution",
        "/solutions/{solution_id}/accept",
        "answer-{solution_id}",
        "accepted",
        lambda p: cmd.AcceptSolution(p.param("solution_id")),
    ),
    FormAction(
        "reject_solution",
        "/solutions/{solution_id}/reject",
        "answer-{solution_id}",
        "rejected",
        lambda p: cmd.RejectSolution(p.param("solution_id")),
        anchor="solutions",
    ),
    FormAction(
        "add_evidence",
        "/evidence",
        "evidence",
        "evidence",
        _evidence,
        roles=PARTIES,
        anchor="evidence",
    ),
    FormAction(
        "remove_evidence",
        "/evidence/{evidence_id}/remove",
        "evidence",
        "evidence_removed",
        lambda p: cmd.RemoveEvidence(p.param("evidence_id")),
        roles=PARTIES,
        anchor="evidence",
        partial="partials/evidence.html",
    ),
    FormAction(
        "post_message",
        "/messages",
        "message",
        "message",
        lambda p: cmd.PostMessage(p.text("body")),
        anchor="messages",
        partial="partials/messages.html",
        limit="messages",
    ),
    FormAction(
        "escalate", "/escalate", "escalate", "escalated", lambda p: cmd.Escalate(), roles=PARTIES
    ),
    FormAction(
        "cancel", "/cancel", "cancel", "cancelled", lambda p: cmd.Cancel(), roles=(Role.BUYER,)
    ),
    FormAction(
        "reopen", "/reopen", "reopen", "reopened", lambda p: cmd.Reopen(), roles=(Role.BUYER,)
    ),
    FormAction(
        "ship_return",
        "/return/ship",
        "ship",
        "shipped",
        lambda p: cmd.ShipReturn(p.text("carrier"), p.text("tracking_number")),
        roles=(Role.BUYER,),
        anchor="return",
    ),
    FormAction(
        "confirm_return",
        "/return/confirm",
        "confirm",
        "confirmed",
        lambda p: cmd.ConfirmReturn(p.text("condition"), p.text("note")),
        roles=(Role.SELLER,),
        anchor="return",
    ),
    decision_choice(
        "accept_decision",
        "accept",
        "decision-answer",
        "decision_accepted",
        cmd.AcceptDecision,
        roles=PARTIES,
    ),
    FormAction(
        "reject_decision",
        "/decision/{decision_id}/reject",
        "decision-answer",
        "decision_rejected",
        _reject_decision,
        roles=PARTIES,
        anchor="mediation",
    ),
)
add_actions(router, PARTY_ACTIONS)
