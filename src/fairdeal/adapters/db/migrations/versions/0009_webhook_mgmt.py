"""webhook endpoint management: the previous secret of a rotated endpoint keeps signing (a
second v1 signature) until previous_secret_until

Revision ID: 0009_webhook_mgmt
Revises: 0008
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fairdeal.adapters.db.tables

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_UTC = fairdeal.adapters.db.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.add_column(sa.Column("previous_secret", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("previous_secret_until", _UTC, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.drop_column("previous_secret_until")
        batch.drop_column("previous_secret")
