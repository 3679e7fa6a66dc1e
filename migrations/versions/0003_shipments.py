"""shipments: parcels of an order and the outbox of their fulfilment push

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import omnisync.core.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shipments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column(
            "lines", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("carrier", sa.String(length=100), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=True),
        sa.Column("tracking_number", sa.String(length=200), nullable=False),
        sa.Column("tracking_url", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("shipped_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("delivered_at", omnisync.core.types.UTCDateTime(), nullable=True),
        sa.Column("push_state", sa.String(length=32), nullable=False),
        sa.Column("push_attempts", sa.Integer(), nullable=False),
        sa.Column("push_error", sa.Text(), nullable=True),
        sa.Column("next_push_at", omnisync.core.types.UTCDateTime(), nullable=True),
        sa.Column("pushed_at", omnisync.core.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipments_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            "ix_shipment_push_state_next", ["push_state", "next_push_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_index("ix_shipment_push_state_next")
        batch_op.drop_index(batch_op.f("ix_shipments_order_id"))
    op.drop_table("shipments")
