"""dispute summary: what the inbox and the mediator queue show of each dispute (status,
amount, outcome, next deadline, mediation, reason, scam warnings) as a JSON column beside its
document, so that a list reads no document (docs/web.md, docs/performance.md "Web pages").
Filled on every save by the repository (``services.reports.summary_of``, stored as
``adapters/db/projections.summary_document``) and backfilled here by the same functions.

A dispute whose document names a policy that is not a preset (a policy file), or that does
not decode, is left NULL here: the lists decode such a row with the running application's
policies instead, and its next save fills the column.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 17:00:00.000000
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from fairdeal.adapters.db.codec import decode
from fairdeal.adapters.db.projections import summary_document
from fairdeal.domain.dispute import Dispute
from fairdeal.policies import PRESETS, load_preset
from fairdeal.services.reports import summary_of

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_BATCH = 500
_Document = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("summary", _Document, nullable=True))
    _backfill(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_column("summary")


def _backfill(conn: Any) -> None:
    disputes = sa.table(
        "disputes",
        sa.column("id", sa.String),
        sa.column("doc", _Document),
        sa.column("summary", _Document),
    )
    policies = {name: load_preset(name) for name in PRESETS}
    ids = [row[0] for row in conn.execute(sa.select(disputes.c.id).order_by(disputes.c.id))]
    for start in range(0, len(ids), _BATCH):
        batch = ids[start : start + _BATCH]
        rows = conn.execute(
            sa.select(disputes.c.id, disputes.c.doc).where(disputes.c.id.in_(batch))
        ).all()
        for dispute_id, doc in rows:
            if doc.get("policy") not in policies:
                continue
            try:
                summary = summary_document(summary_of(decode(Dispute, doc, policies)))
            except (LookupError, TypeError, ValueError):
                continue  # read by decoding it (see above); a migration never fails on it
            conn.execute(
                sa.update(disputes).where(disputes.c.id == dispute_id).values(summary=summary)
            )
