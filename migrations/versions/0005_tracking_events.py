"""tracking: carrier events of shipments, and the carrier channel that tracks each one

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import omnisync.core.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("carrier_channel_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("tracked_at", omnisync.core.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("unknown_since", omnisync.core.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("tracking_message", sa.Text(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_shipments_carrier_channel_id"), ["carrier_channel_id"], unique=False
        )
        batch_op.create_foreign_key(
            "fk_shipments_carrier_channel_id_channels", "channels", ["carrier_channel_id"], ["id"]
        )
    op.create_table(
        "tracking_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=False),
        sa.Column("at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["shipment_id"], ["shipments.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shipment_id", "at", "code", name="uq_tracking_event_shipment_at_code"),
    )
    with op.batch_alter_table("tracking_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tracking_events_shipment_id"), ["shipment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tracking_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tracking_events_shipment_id"))
    op.drop_table("tracking_events")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_constraint("fk_shipments_carrier_channel_id_channels", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_shipments_carrier_channel_id"))
        batch_op.drop_column("tracking_message")
        batch_op.drop_column("unknown_since")
        batch_op.drop_column("tracked_at")
        batch_op.drop_column("carrier_channel_id")
