"""event actor: who acted (a role) and the event's class on each stored event, so that the
notification relay need not reload the dispute to find the author. Older rows keep NULL.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actor", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("event_class", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("event_class")
        batch_op.drop_column("actor")
