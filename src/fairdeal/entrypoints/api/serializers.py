"""Domain objects to the JSON shapes of API.md. Hand-written dict building: it is the hot path
of every read, and a pydantic round trip would cost more than the database query."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fairdeal.domain.dispute import Dispute, Solution
from fairdeal.domain.dispute.parts import (
    Decision,
    Evidence,
    Mediation,
    Message,
    Outcome,
    Refund,
    ReturnShipment,
)
from fairdeal.domain.money import Money
from fairdeal.domain.order import Order
from fairdeal.domain.payments import MoneyMovement
from fairdeal.domain.policy import Policy, Reason
from fairdeal.domain.roles import Actor, Role
from fairdeal.services.disputes import DisputeView
from fairdeal.services.ports import FileRecord, StoredEvent, User


def ts(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with a Z, whole seconds unless the moment has a fraction."""
    if moment is None:
        return None
    text = moment.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def money(value: Money) -> dict[str, str]:
    return value.as_json()


def user(u: User, token: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": u.id,
        "role": u.role,
        "name": u.name,
        "email": u.email,
        "external_id": u.external_id,
        "country": u.country,
        "language": u.language,
        "created_at": ts(u.created_at),
    }
    if token is not None:
        body["api_token"] = token
    return body


def order(o: Order) -> dict[str, Any]:
    return {
        "id": o.id,
        "buyer_id": o.buyer_id,
        "seller_id": o.seller_id,
        "status": o.status.value,
        "currency": o.currency,
        "total": money(o.total),
        "shipping_cost": money(o.shipping_cost),
        "items": [
            {
                "id": i.id,
                "sku": i.sku,
                "title": i.title,
                "category": i.category,
                "quantity": i.quantity,
                "unit_price": money(i.unit_price),
                "amount": money(i.amount),
            }
            for i in o.items
        ],
        "payment": {
            "method": o.payment.method,
            "reference": o.payment.reference,
            "country": o.payment.country,
        },
        "carrier": o.carrier,
        "tracking_number": o.tracking_number,
        "shipped_at": ts(o.shipped_at),
        "protection_days": o.protection_days,
        "protection_ends_at": ts(o.protection_ends_at),
        "received_at": ts(o.received_at),
        "dispute_window_ends_at": ts(o.dispute_window_ends_at),
        "completed_at": ts(o.completed_at),
        "tracking": [
            {
                "status": t.status.value,
                "at": ts(t.at),
                "location": t.location,
                "description": t.description,
            }
            for t in o.tracking
        ],
        "escrow": {
            "held": money(o.escrow.held),
            "refunded": money(o.escrow.refunded),
            "released": money(o.escrow.released),
            "pending_refund": money(o.escrow.pending_refund),
            "pending_release": money(o.escrow.pending_release),
        },
        "dispute_ids": list(o.dispute_ids),
        "created_at": ts(o.created_at),
    }


def _solution(s: Solution) -> dict[str, Any]:
    return {
        "id": s.id,
        "proposed_by": s.proposed_by.value,
        "kind": s.kind.value,
        "amount": money(s.amount),
        "comment": s.comment,
        "status": s.status.value,
        "primary": s.primary,
        "created_at": ts(s.created_at),
        "updated_at": ts(s.updated_at),
    }


def dispute(view: DisputeView, actor: Actor) -> dict[str, Any]:
    d = view.dispute
    # Scam warnings protect the buyer; the seller who wrote the message is not shown them.
    show_warnings = actor.role is not Role.SELLER
    body: dict[str, Any] = {
        "id": d.id,
        "order_id": d.order_id,
        "item_ids": d.item_ids,
        "whole_order": d.item_ids is None,
        "buyer_id": d.buyer_id,
        "seller_id": d.seller_id,
        "policy": d.policy.name,
        "version": d.version,
        "status": d.status.value,
        "reason": d.reason,
        "description": d.description,
        "desired_outcome": d.desired_outcome.value,
        "amount_paid": money(d.amount_paid),
        "solutions": [_solution(s) for s in d.solutions],
        "evidence": [_evidence(e) for e in d.evidence],
        "messages": [_message(m, show_warnings=show_warnings) for m in d.messages],
        "deadline": deadline_of(d),
        "mediation": None if d.mediation is None else _mediation(d.mediation),
        "outcome": None if d.outcome is None else _outcome(d.outcome),
        "return": None if d.return_ is None else _return(d.return_),
        "refund": None if d.refund is None else _refund(d.refund),
        "timeline": [
            {"at": ts(t.at), "type": t.type, "actor_role": t.actor_role.value, "summary": t.summary}
            for t in d.timeline
        ],
        "allowed_actions": [a.value for a in view.allowed_actions],
        "dispute_window_ends_at": ts(view.window_ends_at),
        "created_at": ts(d.created_at),
        "updated_at": ts(d.updated_at),
        "closed_at": ts(d.closed_at),
    }
    if actor.role in (Role.MEDIATOR, Role.ADMIN):
        body["notes"] = [
            {"id": n.id, "author_id": n.author_id, "body": n.body, "created_at": ts(n.created_at)}
            for n in d.notes
        ]
    return body


def _evidence(e: Evidence) -> dict[str, Any]:
    return {
        "id": e.id,
        "file_id": e.file_id,
        "added_by": e.added_by.value,
        "content_type": e.content_type,
        "description": e.description,
        "added_at": ts(e.added_at),
    }


def _message(m: Message, *, show_warnings: bool) -> dict[str, Any]:
    return {
        "id": m.id,
        "author_id": m.author_id,
        "author_role": m.author_role.value,
        "body": m.body,
        "created_at": ts(m.created_at),
        "warnings": list(m.warnings) if show_warnings else [],
    }


def _mediation(m: Mediation) -> dict[str, Any]:
    return {
        "escalated_at": ts(m.escalated_at),
        "mediator_id": m.mediator_id,
        "review_due_at": ts(m.review_due_at),
        "review_overdue": m.review_overdue,
        "evidence_requests": [
            {
                "id": r.id,
                "party": r.party.value,
                "request": r.request,
                "created_at": ts(r.created_at),
                "due_at": ts(r.due_at),
                "status": r.status,
            }
            for r in m.evidence_requests
        ],
        "decision": None if m.decision is None else _decision(m.decision),
    }


def _decision(decision: Decision) -> dict[str, Any]:
    return {
        "id": decision.id,
        "solutions": [
            {"kind": s.kind.value, "amount": money(s.amount), "comment": s.comment}
            for s in decision.solutions
        ],
        "rationale": decision.rationale,
        "status": decision.status,
        "respond_by": ts(decision.respond_by),
        "responses": {
            party: {
                "response": r.response,
                "solution_index": r.solution_index,
                "comment": r.comment,
                "at": ts(r.at),
            }
            for party, r in decision.responses.items()
        },
        "final_index": decision.final_index,
    }


def _outcome(o: Outcome) -> dict[str, Any]:
    return {
        "result": o.result.value,
        "refund": money(o.refund),
        "return_required": o.return_required,
        "decided_by": o.decided_by.value,
        "rule": o.rule,
        "explanation": o.explanation,
    }


def _return(r: ReturnShipment) -> dict[str, Any]:
    return {
        "due_by": ts(r.due_by),
        "carrier": r.carrier,
        "tracking_number": r.tracking_number,
        "shipped_at": ts(r.shipped_at),
        "confirm_by": ts(r.confirm_by),
        "received_at": ts(r.received_at),
        "condition": r.condition.value if r.condition else None,
    }


def _refund(f: Refund) -> dict[str, Any]:
    # The status follows the refund's money movement (docs/payments.md): completed only when
    # the payment provider confirmed it.
    return {
        "status": f.status,
        "amount": money(f.amount),
        "initiated_at": ts(f.initiated_at),
        "expected_by": ts(f.expected_by),
        "completed_at": ts(f.completed_at),
    }


def deadline_of(d: Dispute) -> dict[str, Any] | None:
    """The dispute's one next deadline, as the case file and the list rows show it."""
    deadline = d.deadline
    if deadline is None:
        return None
    return {
        "kind": deadline.kind,
        "due_at": ts(deadline.due_at),
        "party": deadline.party,
        "on_expiry": deadline.on_expiry,
        "explanation": deadline.explanation,
        "overdue": not deadline.fires,
    }


def dispute_summary(d: Dispute) -> dict[str, Any]:
    """A list row: enough to sort and show an inbox without the whole case file."""
    return {
        "id": d.id,
        "order_id": d.order_id,
        "buyer_id": d.buyer_id,
        "seller_id": d.seller_id,
        "status": d.status.value,
        "reason": d.reason,
        "amount_paid": money(d.amount_paid),
        "version": d.version,
        "deadline": deadline_of(d),
        "mediator_id": d.mediation.mediator_id if d.mediation else None,
        "review_due_at": ts(d.mediation.review_due_at) if d.mediation else None,
        "outcome": None
        if d.outcome is None
        else {
            "result": d.outcome.result.value,
            "refund": money(d.outcome.refund),
            "decided_by": d.outcome.decided_by.value,
        },
        "created_at": ts(d.created_at),
        "updated_at": ts(d.updated_at),
        "closed_at": ts(d.closed_at),
    }


def file(record: FileRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "filename": record.filename,
        "content_type": record.content_type,
        "size": record.size,
        "sha256": record.sha256,
        "created_at": ts(record.created_at),
    }


def event(e: StoredEvent) -> dict[str, Any]:
    return {"id": e.id, "type": e.type, "created_at": ts(e.created_at), "data": e.data}


def reason(r: Reason) -> dict[str, Any]:
    return {
        "code": r.code,
        "title": r.title,
        "guidance": r.guidance,
        "evidence_required": r.evidence_required,
        "evidence_hint": r.evidence_hint,
        "warning": r.warning,
        "allowed": r.refused is None,
        "refused": r.refused,
        "opens_after_days_from_shipping": None,
        "requires_tracking_movement": r.requires_tracking_movement,
        "not_received": r.not_received,
    }


def policy(p: Policy) -> dict[str, Any]:
    d = p.deadlines
    reasons = [reason(r) for r in p.reasons.values()]
    for entry in reasons:
        if entry["not_received"]:
            entry["opens_after_days_from_shipping"] = d.not_received_wait_days
    return {
        "name": p.name,
        "deadlines": {
            "seller_response_days": d.seller_response_days,
            "negotiation_days": d.negotiation_days,
            "buyer_answer_days": d.buyer_answer_days,
            "evidence_request_days": d.evidence_request_days,
            "decision_response_days": d.decision_response_days,
            "mediator_review_days": d.mediator_review_days,
            "return_ship_days": d.return_ship_days,
            "return_confirm_days": d.return_confirm_days,
            "refund_business_days": d.refund_business_days,
            "not_received_wait_days": d.not_received_wait_days,
            "post_receipt_grace_days": d.post_receipt_grace_days,
            "reminder_hours": d.reminder_hours,
        },
        "mediation": {
            "manual_escalation": p.mediation.manual_escalation,
            "freeze_solutions": p.mediation.freeze_solutions,
        },
        "reasons": reasons,
        "categories": {
            category: {
                code: (None if override is None else reason(override))
                for code, override in overrides.items()
            }
            for category, overrides in p.categories.items()
        },
    }


def payment(m: MoneyMovement) -> dict[str, Any]:
    """A money movement (docs/payments.md); ``simulated`` says the sandbox moved no money."""
    body = m.as_data()
    for key in ("created_at", "updated_at", "completed_at", "expected_by"):
        body[key] = ts(getattr(m, key))
    return body
