"""payment lease column: a claimed money movement's lease in a column of its own, so that a
claim judges it in real time while the movement's next attempt stays on the clock. A sandbox
clock advance judged both on the advanced clock and took over movements a live worker was
still submitting: two provider records, two refunds (docs/payments.md, "Leases run in real
time").

A lease held at the upgrade was taken on the old terms (on the sandbox clock, which may be
days ahead of real time) by a worker that the upgrade stopped: it ends now, and the next
claim looks the movement up at its provider before submitting anything (attempts > 1), as
after any dead worker.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 20:10:00.000000
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import fairdeal.adapters.db.tables

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_UTC = fairdeal.adapters.db.tables.UTCDateTime(timezone=True)
_Document = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("money_movements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_until", _UTC, nullable=True))
    _end_old_leases(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("money_movements", schema=None) as batch_op:
        batch_op.drop_column("claimed_until")


def _end_old_leases(conn: Any) -> None:
    movements = sa.table(
        "money_movements",
        sa.column("id", sa.String),
        sa.column("status", sa.String),
        sa.column("due_at", _UTC),
        sa.column("claimed_until", _UTC),
        sa.column("doc", _Document),
    )
    now = datetime.now(UTC)
    rows = conn.execute(
        sa.select(movements.c.id, movements.c.doc).where(movements.c.status == "submitted")
    ).all()
    for movement_id, doc in rows:
        if doc.get("claimed_until") is None:
            continue
        conn.execute(
            sa.update(movements)
            .where(movements.c.id == movement_id)
            .values(doc={**doc, "claimed_until": now.isoformat()}, due_at=now, claimed_until=now)
        )
