"""tamper-evident chains: ledger chain position and hash, chain heads on orders and disputes

Existing rows are backfilled: every dispute's timeline entries get their chain hashes (in the
document) and the dispute its head; every order's ledger entries, in id order, get their
chain position and hash, and the order its head. So ``fairdeal audit verify`` checks every
chain from its genesis, old entries included -- what was in the database before this
migration is vouched for as it was found (ADR 0003).

The hashing is the domain's (``fairdeal.domain.audit``, format v1), which is frozen by the
chains already stored: it cannot change without a new format and a migration of its own.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 09:00:00.000000
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from fairdeal.domain import audit

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_BATCH = 500
_Document = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timeline_head", sa.String(length=64), nullable=True))
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ledger_head", sa.String(length=64), nullable=True))
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))

    conn = op.get_bind()
    _backfill_timelines(conn)
    _backfill_ledgers(conn)

    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.alter_column("chain_seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_ledger_entries_order_id_chain_seq"), ["order_id", "chain_seq"]
        )


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_ledger_entries_order_id_chain_seq"), type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("chain_seq")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("ledger_head")
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_column("timeline_head")


def _backfill_timelines(conn: Any) -> None:
    disputes = sa.table(
        "disputes",
        sa.column("id", sa.String),
        sa.column("doc", _Document),
        sa.column("timeline_head"),
    )
    ids = [row[0] for row in conn.execute(sa.select(disputes.c.id).order_by(disputes.c.id))]
    for start in range(0, len(ids), _BATCH):
        batch = ids[start : start + _BATCH]
        rows = conn.execute(
            sa.select(disputes.c.id, disputes.c.doc).where(disputes.c.id.in_(batch))
        ).all()
        updates = []
        for dispute_id, doc in rows:
            previous = audit.timeline_genesis(dispute_id)
            head = None
            for entry in doc.get("timeline") or []:
                entry[audit.HASH_KEY] = previous = head = audit.entry_hash(previous, entry)
            updates.append({"_id": dispute_id, "doc": doc, "timeline_head": head})
        if updates:
            conn.execute(disputes.update().where(disputes.c.id == sa.bindparam("_id")), updates)


def _backfill_ledgers(conn: Any) -> None:
    ledger = sa.table(
        "ledger_entries",
        sa.column("id"),
        sa.column("txn_id"),
        sa.column("order_id"),
        sa.column("dispute_id"),
        sa.column("movement"),
        sa.column("account"),
        sa.column("currency"),
        sa.column("amount_minor"),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("chain_seq"),
        sa.column("hash"),
    )
    orders = sa.table("orders", sa.column("id"), sa.column("ledger_head"))
    order_ids = [
        row[0]
        for row in conn.execute(sa.select(ledger.c.order_id).distinct().order_by(ledger.c.order_id))
    ]
    for start in range(0, len(order_ids), _BATCH):
        batch = order_ids[start : start + _BATCH]
        rows = conn.execute(
            sa.select(ledger)
            .where(ledger.c.order_id.in_(batch))
            .order_by(ledger.c.order_id, ledger.c.id)
        ).mappings()
        entries: list[dict[str, Any]] = []
        heads: dict[str, tuple[int, str]] = {}
        for row in rows:
            order_id = row["order_id"]
            seq, previous = heads.get(order_id, (0, audit.ledger_genesis(order_id)))
            seq += 1
            content = audit.ledger_content(
                seq=seq,
                txn_id=row["txn_id"],
                order_id=order_id,
                dispute_id=row["dispute_id"],
                movement=row["movement"],
                account=row["account"],
                currency=row["currency"],
                amount_minor=row["amount_minor"],
                at=_utc(row["created_at"]).isoformat(),
            )
            digest = audit.entry_hash(previous, content)
            heads[order_id] = (seq, digest)
            entries.append({"_id": row["id"], "chain_seq": seq, "hash": digest})
        if entries:
            conn.execute(ledger.update().where(ledger.c.id == sa.bindparam("_id")), entries)
            conn.execute(
                orders.update().where(orders.c.id == sa.bindparam("_id")),
                [{"_id": order_id, "ledger_head": head} for order_id, (_, head) in heads.items()],
            )


def _utc(value: datetime | str) -> datetime:
    """The stored time as aware UTC, as the application reads it (SQLite keeps it naive)."""
    if isinstance(value, str):  # SQLite without a type to parse it
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
