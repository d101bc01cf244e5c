"""metrics: the columns the seller and buyer metrics aggregate on disputes (reason, escalated_at,
closed_at, result, refund_minor, buyer_warnings, seller_warnings), backfilled from each
dispute's document by the same function that fills them on every save
(``fairdeal.adapters.db.projections``). See docs/metrics.md.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import fairdeal.adapters.db.tables
from fairdeal.adapters.db.projections import dispute_metric_columns

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_BATCH = 500
_UTC = fairdeal.adapters.db.tables.UTCDateTime(timezone=True)
_Document = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_COLUMNS = (
    "reason",
    "escalated_at",
    "closed_at",
    "result",
    "refund_minor",
    "buyer_warnings",
    "seller_warnings",
)


def upgrade() -> None:
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", _UTC, nullable=True))
        batch_op.add_column(sa.Column("closed_at", _UTC, nullable=True))
        batch_op.add_column(sa.Column("result", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("refund_minor", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("buyer_warnings", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("seller_warnings", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    _backfill(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        for name in reversed(_COLUMNS):
            batch_op.drop_column(name)


def _backfill(conn: Any) -> None:
    disputes = sa.table(
        "disputes",
        sa.column("id", sa.String),
        sa.column("doc", _Document),
        *(sa.column(name) for name in _COLUMNS[:1]),
        sa.column("escalated_at", _UTC),
        sa.column("closed_at", _UTC),
        *(sa.column(name) for name in _COLUMNS[3:]),
    )
    ids = [row[0] for row in conn.execute(sa.select(disputes.c.id).order_by(disputes.c.id))]
    for start in range(0, len(ids), _BATCH):
        batch = ids[start : start + _BATCH]
        rows = conn.execute(
            sa.select(disputes.c.id, disputes.c.doc).where(disputes.c.id.in_(batch))
        ).all()
        for dispute_id, doc in rows:
            conn.execute(
                sa.update(disputes)
                .where(disputes.c.id == dispute_id)
                .values(**dispute_metric_columns(doc))
            )
