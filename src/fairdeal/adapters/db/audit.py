"""The stored hash chains, read for verification (ADR 0003). Streams: a database of millions
of entries is walked with server-side cursors (PostgreSQL), one aggregate at a time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from typing import Any

from sqlalchemy import Engine, Select, select

from fairdeal.adapters.db import tables
from fairdeal.adapters.db.engine import begin
from fairdeal.domain import audit
from fairdeal.domain.audit import Chain, StoredEntry

_BATCH = 5000


class SqlAuditChains:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def timelines(self) -> Iterator[Chain]:
        with begin(self.engine, write=False) as conn:
            rows = conn.execution_options(stream_results=True, yield_per=_BATCH).execute(
                timeline_query()
            )
            for dispute_id, head, timeline in rows:
                entries = [
                    StoredEntry(entry, entry.get(audit.HASH_KEY)) for entry in timeline or ()
                ]
                yield Chain("timeline", dispute_id, head, entries)

    def ledgers(self) -> Iterator[Chain]:
        o = tables.orders
        with begin(self.engine, write=False) as conn:
            # The heads first (one short row per order), then the entries in chain order; an
            # order whose head is set but whose entries are all gone is a chain too.
            found = conn.execution_options(stream_results=True, yield_per=_BATCH).execute(
                select(o.c.id, o.c.ledger_head).where(o.c.ledger_head.is_not(None))
            )
            heads: dict[str, str | None] = {order_id: head for order_id, head in found}
            rows = conn.execution_options(stream_results=True, yield_per=_BATCH).execute(
                ledger_query()
            )
            current: str | None = None
            entries: list[StoredEntry] = []
            for row in rows:
                if row[1] != current:
                    if current is not None:
                        yield Chain("ledger", current, heads.pop(current, None), entries)
                    current, entries = row[1], []
                entries.append(_ledger_entry(row))
            if current is not None:
                yield Chain("ledger", current, heads.pop(current, None), entries)
            for order_id, head in sorted(heads.items()):  # heads without a single entry
                yield Chain("ledger", order_id, head, [])


def timeline_query() -> Select[Any]:
    """Every dispute's id, recorded head and timeline -- only the timeline leaves the database,
    not the whole case file."""
    t = tables.disputes
    return select(t.c.id, t.c.timeline_head, t.c.doc["timeline"]).order_by(t.c.id)


def ledger_query() -> Select[Any]:
    """Every ledger entry, each order's in chain order."""
    t = tables.ledger_entries
    return select(
        t.c.id,
        t.c.order_id,
        t.c.chain_seq,
        t.c.txn_id,
        t.c.dispute_id,
        t.c.movement,
        t.c.account,
        t.c.currency,
        t.c.amount_minor,
        t.c.created_at,
        t.c.hash,
    ).order_by(t.c.order_id, t.c.chain_seq)


def _ledger_entry(row: Any) -> StoredEntry:
    entry_id, order_id, seq, txn_id, dispute_id, movement, account, currency, minor, at, digest = (
        row
    )
    content = audit.ledger_content(
        seq=seq,
        txn_id=txn_id,
        order_id=order_id,
        dispute_id=dispute_id,
        movement=movement,
        account=account,
        currency=currency,
        amount_minor=minor,
        at=at.astimezone(UTC).isoformat(),
    )
    return StoredEntry(content, digest, seq, entry_id)
