"""returns: units coming back, their inspection, the refund, and the channel's outbox

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import omnisync.core.types

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "returns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("channel_status", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("customer_note", sa.Text(), nullable=True),
        sa.Column("tracking_number", sa.String(length=200), nullable=True),
        sa.Column("refund_state", sa.String(length=32), nullable=False),
        sa.Column("refund_note", sa.Text(), nullable=True),
        sa.Column("refund_error", sa.Text(), nullable=True),
        sa.Column("requested_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("status_changed_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("channel_updated_at", omnisync.core.types.UTCDateTime(), nullable=True),
        sa.Column("received_at", omnisync.core.types.UTCDateTime(), nullable=True),
        sa.Column("closed_at", omnisync.core.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("raw", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel_id", "external_id", name="uq_return_channel_external_id"),
    )
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_returns_channel_id"), ["channel_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_returns_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_returns_status"), ["status"], unique=False)

    op.create_table(
        "return_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("external_line_id", sa.String(length=200), nullable=False),
        sa.Column("channel_sku", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("customer_note", sa.Text(), nullable=True),
        sa.Column("quantity_restocked", sa.Integer(), nullable=False),
        sa.Column("quantity_damaged", sa.Integer(), nullable=False),
        sa.Column("quantity_missing", sa.Integer(), nullable=False),
        sa.Column("quantity_not_returned", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_return_line_quantity"),
        sa.CheckConstraint(
            "quantity_restocked >= 0 AND quantity_damaged >= 0 AND quantity_missing >= 0 AND quantity_not_returned >= 0 AND quantity_restocked + quantity_damaged + quantity_missing + quantity_not_returned <= quantity",
            name="ck_return_line_inspected",
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
        ),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["returns.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("return_id", "external_line_id", name="uq_return_line_external_id"),
    )
    with op.batch_alter_table("return_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_return_lines_order_line_id"), ["order_line_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_return_lines_return_id"), ["return_id"], unique=False)

    op.create_table(
        "return_pushes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column(
            "lines", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("refund", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("push_state", sa.String(length=32), nullable=False),
        sa.Column("push_attempts", sa.Integer(), nullable=False),
        sa.Column("push_error", sa.Text(), nullable=True),
        sa.Column("next_push_at", omnisync.core.types.UTCDateTime(), nullable=True),
        sa.Column("pushed_at", omnisync.core.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["returns.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("return_pushes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_return_push_state_next", ["push_state", "next_push_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_return_pushes_return_id"), ["return_id"], unique=False)

    op.create_table(
        "return_inspections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_line_id", sa.Integer(), nullable=False),
        sa.Column("disposition", sa.String(length=32), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=True),
        sa.CheckConstraint("quantity > 0", name="ck_return_inspection_quantity"),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["return_line_id"],
            ["return_lines.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("return_inspections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_return_inspections_return_line_id"), ["return_line_id"], unique=False
        )

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("return_state", sa.String(length=32), nullable=False, server_default="none")
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("return_state")

    with op.batch_alter_table("return_inspections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_return_inspections_return_line_id"))

    op.drop_table("return_inspections")
    with op.batch_alter_table("return_pushes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_return_pushes_return_id"))
        batch_op.drop_index("ix_return_push_state_next")

    op.drop_table("return_pushes")
    with op.batch_alter_table("return_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_return_lines_return_id"))
        batch_op.drop_index(batch_op.f("ix_return_lines_order_line_id"))

    op.drop_table("return_lines")
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_returns_status"))
        batch_op.drop_index(batch_op.f("ix_returns_order_id"))
        batch_op.drop_index(batch_op.f("ix_returns_channel_id"))

    op.drop_table("returns")
