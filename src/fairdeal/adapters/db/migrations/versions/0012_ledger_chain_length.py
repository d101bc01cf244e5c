"""ledger chain length: each order's row carries the chain_seq of its ledger chain's last
entry beside the chain's head hash, so that appending to the chain reads both with the order
instead of querying the chain's tail (docs/performance.md, "3. Deadline firing").

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ledger_seq", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE orders SET ledger_seq = COALESCE((SELECT MAX(ledger_entries.chain_seq)"
        " FROM ledger_entries WHERE ledger_entries.order_id = orders.id), 0)"
    )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("ledger_seq")
