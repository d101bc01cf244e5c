"""The buyer's side: the orders list (sellers see theirs too) and the dispute form, with the
chosen reason's guidance and the evidence kept across a refused attempt."""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from fairdeal import i18n
from fairdeal.domain.commands import OpenDispute
from fairdeal.domain.errors import DomainError, NotFound
from fairdeal.domain.money import Amount, minimum_claim
from fairdeal.domain.roles import Role
from fairdeal.entrypoints.refusals import said_to_people
from fairdeal.entrypoints.web import views
from fairdeal.entrypoints.web.routes.common import (
    PARTIES,
    FormError,
    Viewer,
    ctx_of,
    done,
    form_of,
    limit,
    need,
    render,
    text,
    uploads,
    values,
)
from fairdeal.entrypoints.web.routes.evidence import upload
from fairdeal.entrypoints.web.routes.pipeline import web_router
from fairdeal.i18n import _
from fairdeal.services import disputes, files, handlers, reports
from fairdeal.services.ports import FileRecord

router = web_router()

# The dispute form's field for a refusal that names a field of the command.
FORM_FIELDS = {"evidence_file_ids": "evidence", "item_ids": "item"}


@router.get("/orders")
def my_orders(request: Request) -> Response:
    viewer = need(request, *PARTIES)
    ctx = ctx_of(request)
    rows = reports.order_rows(ctx, viewer.actor)
    # The latest dispute of each order, so the list says what happened (status, refund).
    latest = {
        row.order.id: disputes.get_dispute(ctx, viewer.actor, row.order.dispute_ids[-1]).dispute
        for row in rows
        if row.order.dispute_ids
    }
    return render(request, "orders.html", rows=rows, latest=latest, error=None)


@router.get("/orders/{order_id}/dispute")
def dispute_form(request: Request, order_id: str) -> Response:
    viewer = need(request, Role.BUYER)
    return _dispute_form(request, viewer, order_id)


@router.get("/orders/{order_id}/dispute/reason")
def reason_guidance(request: Request, order_id: str) -> Response:
    """The chosen reason's guidance, evidence hint, warning or refusal (an htmx partial)."""
    viewer = need(request, Role.BUYER)
    ctx = ctx_of(request)
    order = reports.order_for_dispute(ctx, viewer.actor, order_id)
    item = request.query_params.get("item", "")
    item_ids = [item] if item and _valid_item(order, item) else None
    code = request.query_params.get("reason", "")
    choices = reports.reason_choices(ctx.policy, order, item_ids, ctx.clock.now())
    current = next((c for c in choices if c.reason.code == code), None)
    return render(request, "partials/reason_guidance.html", current=current, order=order)


@router.post("/orders/{order_id}/dispute")
def open_dispute(request: Request, order_id: str) -> Response:
    viewer = need(request, Role.BUYER)
    limit(request, "disputes", viewer.actor.user_id)
    form = form_of(request)
    uploaded = _kept_files(request, viewer, form)
    try:
        for chosen in uploads(form, "evidence"):  # one by one: those stored are kept
            uploaded.append(upload(request, viewer, chosen))
        command = _open_command(order_id, form, uploaded)
        dispute = handlers.open_dispute(ctx_of(request), viewer.actor, command)
    except DomainError as error:
        if isinstance(error, NotFound) and error.field is None:
            raise
        field = _form_field(error)
        missing = _missing(form)
        others = {k: v for k, v in missing.items() if k != field}
        # An empty field is named in the reader's language rather than the engine's words.
        detail = missing.get(field or "", _refused_words(error, text(form, "reason")))
        refused = FormError("open", field, detail, values(form), others)
        return _dispute_form(
            request, viewer, order_id, error=refused, uploaded=uploaded, status=422
        )
    return done(f"/disputes/{dispute.id}", "opened")


def _refused_words(error: DomainError, reason: str) -> str:
    """The refusal in the reader's language: a reason the policy refuses in the policy's own
    words, translated by the reason (they say what to choose instead), else by its code."""
    if error.code == "reason_not_allowed":
        words = views.reason_text(reason, "refused", error.detail)
        if words != error.detail or i18n.current().language == i18n.DEFAULT:
            return words
    return said_to_people(error.code, error.detail)


def _missing(form: FormData) -> dict[str, str]:
    """The fields left empty, found alongside the engine's refusal: the form names every
    problem at once instead of one per attempt."""
    missing = {}
    if not text(form, "reason"):
        missing["reason"] = _("Choose a reason.")
    if not text(form, "amount").strip():
        missing["amount"] = _("Enter the amount you want back.")
    if not text(form, "description").strip():
        missing["description"] = _("Describe the problem.")
    return missing


def _kept_files(request: Request, viewer: Viewer, form: FormData) -> list[FileRecord]:
    """The files uploaded by an earlier, refused attempt that the form carried over."""
    kept = [f for f in form.getlist("evidence_file_id") if isinstance(f, str) and f]
    found: list[FileRecord] = []
    for file_id in kept:
        with contextlib.suppress(DomainError):
            found.append(files.readable_file(ctx_of(request), viewer.actor, file_id))
    return found


def _open_command(order_id: str, form: FormData, uploaded: list[FileRecord]) -> OpenDispute:
    item = text(form, "item")
    return OpenDispute(
        order_id=order_id,
        item_ids=(item,) if item else None,
        reason=text(form, "reason"),
        desired_outcome=text(form, "desired_outcome"),
        amount=Amount.of(text(form, "amount").strip(), field="amount"),
        description=text(form, "description"),
        evidence_file_ids=tuple(f.id for f in uploaded),
    )


def _form_field(error: DomainError) -> str | None:
    field = FORM_FIELDS.get(error.field or "", error.field)
    if field is None and isinstance(error, files.FileTooLarge | files.UnsupportedFileType):
        return "evidence"
    return field


def _dispute_form(
    request: Request,
    viewer: Viewer,
    order_id: str,
    *,
    error: FormError | None = None,
    uploaded: list[FileRecord] | None = None,
    status: int = 200,
) -> HTMLResponse:
    ctx = ctx_of(request)
    order = reports.order_for_dispute(ctx, viewer.actor, order_id)
    chosen_item = error.value("open", "item") if error else ""
    valid_item = _valid_item(order, chosen_item)
    item_ids = [chosen_item] if chosen_item and valid_item else None
    choices = reports.reason_choices(ctx.policy, order, item_ids, ctx.clock.now())
    eligible, why = reports.eligibility(ctx.policy, order, ctx.clock.now())
    maximum = order.amount_paid_for(item_ids) if valid_item else order.total
    # No reason is chosen for the buyer (a preselected one gets submitted unread).
    selected = error.value("open", "reason") if error else ""
    return render(
        request,
        "open_dispute.html",
        status,
        order=order,
        item_options=_item_options(order),
        reason_options=[("", _("Choose a reason"), True)]
        + [
            (
                c.reason.code,
                views.reason_text(c.reason.code, "title", c.reason.title)
                + (" — " + _("not possible now") if c.refused else ""),
                c.refused is not None,
            )
            for c in choices
        ],
        maximum=maximum,
        minimum=minimum_claim(order.currency),
        current=next((c for c in choices if c.reason.code == selected), None),
        eligible=eligible,
        why=why,
        error=error,
        uploaded=uploaded or [],
        seller=reports.names(ctx, {order.seller_id})[order.seller_id],
    )


def _item_options(order: Any) -> list[tuple[str, str]]:
    options = [
        (
            "",
            _("The whole order, shipping included — up to %(max)s")
            % {"max": views.money(order.total)},
        )
    ]
    if len(order.items) > 1:
        options += [
            (
                i.id,
                _("%(title)s — up to %(max)s") % {"title": i.title, "max": views.money(i.amount)},
            )
            for i in order.items
        ]
    return options


def _valid_item(order: Any, item_id: str) -> bool:
    return not item_id or any(i.id == item_id for i in order.items)
