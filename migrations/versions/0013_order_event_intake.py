"""order event intake: what a channel's order-event queue brought, and what it missed

Amazon ORDER_CHANGE notifications arrive on an SQS queue; polling stays as the
backstop. One row per channel that hears events: how many it took, when it last did,
and the order changes polling took in that no event had brought (the alert
`order_events_missing` names them).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from omnisync.core.types import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_event_intake",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("events_taken", sa.Integer(), nullable=False),
        sa.Column("last_event_at", UTCDateTime(), nullable=True),
        sa.Column("unheard", sa.Integer(), nullable=False),
        sa.Column("last_unheard_order", sa.String(length=200), nullable=True),
        sa.Column("last_unheard_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"]),
        sa.PrimaryKeyConstraint("channel_id"),
    )


def downgrade() -> None:
    op.drop_table("order_event_intake")
