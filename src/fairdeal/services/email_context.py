"""What an email may say about one event to one recipient: the values its template reads,
taken from the dispute, its order and the event (the relay, ``services/notifications.py``,
builds one per recipient; the renderer, ``adapters/notifications/render.py``, says them in the
recipient's language and time zone)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fairdeal.domain.dispute import Action, Dispute
from fairdeal.domain.dispute.deadlines import Deadline
from fairdeal.domain.order import Order
from fairdeal.domain.roles import Actor, Role
from fairdeal.services.ports import StoredEvent, User


def email_context(
    public_url: str,
    event: StoredEvent,
    dispute: Dispute,
    order: Order | None,
    user: User,
    role: str,
) -> dict[str, Any]:
    """Everything a template may say: plain values, amounts as Money and moments as datetimes
    (the renderer formats them for the recipient's language and time zone), and the case
    itself with the recipient's allowed actions, from which the renderer says the outcome and
    the deadline in the dispute page's words."""
    data = event.data
    items = []
    if order is not None:
        wanted = set(dispute.item_ids) if dispute.item_ids else {i.id for i in order.items}
        items = [i.title for i in order.items if i.id in wanted]
    context: dict[str, Any] = {
        "event": {"id": event.id, "type": event.type, "at": event.created_at, "data": data},
        "recipient": {"name": user.name, "role": role},
        "dispute": {
            "id": dispute.id,
            "reason": dispute.reason,  # its code: the renderer says its title
            "status": dispute.status.value,
            "claimed": dispute.primary_solution.amount,
            "desired": dispute.primary_solution.kind.value,
            "amount_paid": dispute.amount_paid,
            "opened_at": dispute.opened_at,
        },
        "order": {"id": dispute.order_id, "items": items},
        "url": f"{public_url.rstrip('/')}/disputes/{dispute.id}",
        "case": dispute,
        "allowed": _allowed_actions(dispute, order, user, role, event.created_at),
    }
    solution_id = data.get("solution_id")
    for solution in dispute.solutions:
        if solution.id == solution_id:
            context["solution"] = {
                "by": solution.proposed_by.value,
                "kind": solution.kind.value,
                "amount": solution.amount,
                "comment": solution.comment,
                "status": solution.status.value,
            }
    message_id = data.get("message_id")
    for message in dispute.messages:
        if message.id == message_id:
            context["message"] = {"by": message.author_role.value, "body": message.body}
    if dispute.mediation is not None:
        med = dispute.mediation
        for request in med.evidence_requests:
            if request.id == data.get("request_id"):
                context["request"] = {"text": request.request, "due_at": request.due_at}
        decision = med.decision
        if decision is not None and decision.id == data.get("decision_id", decision.id):
            context["decision"] = {
                "solutions": [
                    {"kind": s.kind.value, "amount": s.amount, "comment": s.comment}
                    for s in decision.solutions
                ],
                "rationale": decision.rationale,
                "respond_by": decision.respond_by,
                "status": decision.status,
            }
        context["escalation"] = {"trigger": med.trigger, "review_due_at": med.review_due_at}
    if dispute.outcome is not None:
        outcome = dispute.outcome
        context["outcome"] = {
            "result": outcome.result.value,
            "refund": outcome.refund,
            "refund_is_zero": outcome.refund.minor == 0,
            "decided_by": outcome.decided_by.value,
            "rule": outcome.rule,
            "explanation": outcome.explanation,
            "return_required": outcome.return_required,
        }
    if dispute.return_ is not None:
        ret = dispute.return_
        context["return"] = {
            "due_by": ret.due_by,
            "carrier": ret.carrier,
            "tracking_number": ret.tracking_number,
            "confirm_by": ret.confirm_by,
            "condition": ret.condition.value if ret.condition else None,
        }
    if dispute.refund is not None:
        context["refund"] = {
            "amount": dispute.refund.amount,
            "expected_by": dispute.refund.expected_by,
            "completed_at": dispute.refund.completed_at,
        }
    deadline = _deadline_named(event, dispute, role)
    context["next_deadline"] = deadline
    context["deadline"] = deadline and {
        "kind": deadline.kind,
        "due_at": deadline.due_at,
        "party": deadline.party,
        "explanation": deadline.explanation,
        "yours": deadline.party in (role, "both"),
    }
    return context


def _deadline_named(event: StoredEvent, dispute: Dispute, role: str) -> Deadline | None:
    """The deadline the email names: the reminded one, or the dispute's one next deadline."""
    if event.type == "deadline.reminder":
        data = event.data
        return Deadline(
            str(data["kind"]),
            datetime.fromisoformat(str(data["due_at"])),
            str(data["party"]),
            str(data.get("on_expiry", "")),
            str(data["explanation"]),
        )
    deadline = dispute.deadline
    if deadline is None or (deadline.party == "mediator" and role != "mediator"):
        return None  # the mediator's review target is not the parties' to meet
    return deadline


def _allowed_actions(
    dispute: Dispute, order: Order | None, user: User, role: str, now: datetime
) -> list[Action]:
    """What the recipient may do on the dispute now: the deadline's words depend on it
    (whether answering an offer is theirs to do), as on the dispute page."""
    if role not in ("buyer", "seller"):
        return []
    window_open = order.window_open(now) if order is not None else None
    return dispute.allowed_actions(Actor(user.id, Role(role)), window_open=window_open)
