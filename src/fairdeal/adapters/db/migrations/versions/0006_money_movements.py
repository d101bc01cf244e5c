"""money movements: one row per refund and payout, carried out by a payment provider, and the
sandbox provider's own records

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import fairdeal.adapters.db.tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_UTC = fairdeal.adapters.db.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "money_movements",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("dispute_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("due_at", _UTC, nullable=True),
        sa.Column("expected_by", _UTC, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "doc",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_money_movements")),
    )
    op.create_index(
        op.f("ix_money_movements_order_id"), "money_movements", ["order_id"], unique=False
    )
    op.create_index("ix_money_movements_due_at", "money_movements", ["due_at"], unique=False)
    op.create_index(
        "ix_money_movements_status_id", "money_movements", ["status", "id"], unique=False
    )
    op.create_table(
        "sandbox_payments",
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("movement_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payment_reference", sa.String(length=255), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("confirm_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("reference", name=op.f("pk_sandbox_payments")),
    )
    op.create_index(
        op.f("ix_sandbox_payments_movement_id"), "sandbox_payments", ["movement_id"], unique=False
    )
    op.create_index(
        op.f("ix_sandbox_payments_payment_reference"),
        "sandbox_payments",
        ["payment_reference"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_sandbox_payments_payment_reference"), table_name="sandbox_payments")
    op.drop_index(op.f("ix_sandbox_payments_movement_id"), table_name="sandbox_payments")
    op.drop_table("sandbox_payments")
    op.drop_index("ix_money_movements_status_id", table_name="money_movements")
    op.drop_index("ix_money_movements_due_at", table_name="money_movements")
    op.drop_index(op.f("ix_money_movements_order_id"), table_name="money_movements")
    op.drop_table("money_movements")
