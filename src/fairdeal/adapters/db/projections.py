"""The metrics' columns of a dispute row, read from its stored document (the same function
fills them on every save and backfills them in migration 0007): what ``services/metrics.py``
aggregates in SQL without opening documents. See docs/metrics.md."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


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
