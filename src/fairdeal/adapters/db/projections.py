"""Columns of a dispute row kept beside its stored document, filled on every save and
backfilled by the migration that added them: the metrics' columns (migration 0007), read from
the document, which ``services/metrics.py`` aggregates in SQL without opening documents (see
docs/metrics.md); and the list rows' summary (migration 0011), which the inbox and the
mediator queue show without decoding documents (docs/web.md)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fairdeal.domain.dispute import Status
from fairdeal.domain.dispute.parts import Result
from fairdeal.domain.money import Money
from fairdeal.services.reports import DeadlineSummary, DisputeSummary, MediationSummary


def _moment(value: Any) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def dispute_metric_columns(doc: Mapping[str, Any]) -> dict[str, Any]:
    """reason, escalated_at (null: never escalated), closed_at,
    result and refund (minor units) of the outcome once closed, and the scam warnings on the
    buyer's and on the seller's own messages."""
    mediation = doc.get("mediation") or None
    outcome = doc.get("outcome") or None
    # Ended: closed on an outcome, or cancelled by the buyer (its outcome says so).
    closed = doc.get("status") in ("closed", "cancelled") and outcome is not None
    warnings = {"buyer": 0, "seller": 0}
    for message in doc.get("messages") or ():
        if message.get("author_id") == doc.get("buyer_id"):
            warnings["buyer"] += len(message.get("warnings") or ())
        elif message.get("author_id") == doc.get("seller_id"):
            warnings["seller"] += len(message.get("warnings") or ())
    return {
        "reason": doc.get("reason"),
        "escalated_at": _moment(mediation.get("escalated_at")) if mediation else None,
        "closed_at": _moment(doc.get("closed_at")) if closed else None,
        "result": outcome.get("result") if closed and outcome else None,
        "refund_minor": int(outcome["refund"]["minor"]) if closed and outcome else None,
        "buyer_warnings": warnings["buyer"],
        "seller_warnings": warnings["seller"],
    }


# --- the list rows' summary (migration 0011) ----------------------------------------------


def summary_document(summary: DisputeSummary) -> dict[str, Any]:
    """A dispute's list summary (``services.reports.summary_of``) as the JSON of its
    ``summary`` column; times as ISO 8601."""
    deadline, mediation = summary.deadline, summary.mediation
    return {
        "status": summary.status.value,
        "policy": summary.policy,
        "category": summary.category,
        "reason": summary.reason,
        "amount_paid": _money(summary.amount_paid),
        "result": summary.result.value if summary.result else None,
        "refund": _money(summary.refund) if summary.refund else None,
        "deadline": (
            {
                "due_at": deadline.due_at.isoformat(),
                "party": deadline.party,
                "fires": deadline.fires,
            }
            if deadline
            else None
        ),
        "mediation": (
            {
                "mediator_id": mediation.mediator_id,
                "review_due_at": mediation.review_due_at.isoformat(),
                "review_overdue": mediation.review_overdue,
                "decision_status": mediation.decision_status,
                "waiting_for_evidence": mediation.waiting_for_evidence,
            }
            if mediation
            else None
        ),
        "scam_warnings": summary.scam_warnings,
    }


def summary_from_document(
    doc: Mapping[str, Any], dispute_id: str, order_id: str, buyer_id: str, seller_id: str
) -> DisputeSummary:
    """The summary back from its column (the ids are the row's own columns)."""
    deadline, mediation = doc["deadline"], doc["mediation"]
    return DisputeSummary(
        id=dispute_id,
        order_id=order_id,
        buyer_id=buyer_id,
        seller_id=seller_id,
        status=Status(doc["status"]),
        policy=doc["policy"],
        category=doc["category"],
        reason=doc["reason"],
        amount_paid=Money(**doc["amount_paid"]),
        result=Result(doc["result"]) if doc["result"] else None,
        refund=Money(**doc["refund"]) if doc["refund"] else None,
        deadline=(
            DeadlineSummary(_at(deadline["due_at"]), deadline["party"], deadline["fires"])
            if deadline
            else None
        ),
        mediation=(
            MediationSummary(
                mediation["mediator_id"],
                _at(mediation["review_due_at"]),
                mediation["review_overdue"],
                mediation["decision_status"],
                mediation["waiting_for_evidence"],
            )
            if mediation
            else None
        ),
        scam_warnings=doc["scam_warnings"],
    )


def _money(amount: Money) -> dict[str, Any]:
    return {"minor": amount.minor, "currency": amount.currency}


def _at(value: str) -> datetime:
    moment = _moment(value)
    assert moment is not None, "a summary's times are never empty"
    return moment
