"""Columns of a dispute row kept beside its stored document, filled on every save and
backfilled by the migration that added them: the metrics' columns (migration 0007), read from
the document, which ``services/metrics.py`` aggregates in SQL without opening documents (see
docs/metrics.md); and the list rows' summary (migration 0011), which the inbox and the
mediator queue show without decoding documents (docs/web.md)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fairdeal.adapters.db.codec import decode, encode
from fairdeal.domain.policy import Policy
from fairdeal.services.reports import DisputeSummary


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


# A summary's own row holds these as columns: the JSON leaves them out.
_ROW_COLUMNS = ("id", "order_id", "buyer_id", "seller_id")


def summary_document(summary: DisputeSummary) -> dict[str, Any]:
    """A dispute's list summary (``services.reports.summary_of``) as the JSON of its
    ``summary`` column: the codec's document of it, as for the aggregates, without the ids."""
    doc: dict[str, Any] = encode(summary)
    for column in _ROW_COLUMNS:
        del doc[column]
    return doc


def summary_from_document(
    doc: Mapping[str, Any], dispute_id: str, order_id: str, buyer_id: str, seller_id: str
) -> DisputeSummary:
    """The summary back from its column (the ids are the row's own columns)."""
    ids = dict(zip(_ROW_COLUMNS, (dispute_id, order_id, buyer_id, seller_id), strict=True))
    return decode(DisputeSummary, {**doc, **ids}, _NO_POLICIES)


# A summary names its policy by name only: nothing in it is decoded into a Policy.
_NO_POLICIES: Mapping[str, Policy] = {}
