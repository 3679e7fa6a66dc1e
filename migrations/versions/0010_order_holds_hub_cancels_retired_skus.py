"""order holds, cancellations made in the hub, retired SKUs

Orders get `held_at` and `hold_reason` (an operator's hold: the stock stays reserved,
nothing ships) and `cancelled_by_hub_at` and `hub_cancel_reason` (an operator's
cancellation, which no later report of the channel undoes). SKUs get `retired_at`
(no longer sold: offered as 0, takes no stock). Every existing row stays as it was
(NULL: not held, not cancelled in the hub, not retired).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import omnisync.core.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held_at", omnisync.core.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("hold_reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("cancelled_by_hub_at", omnisync.core.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("hub_cancel_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("skus", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("retired_at", omnisync.core.types.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("skus", schema=None) as batch_op:
        batch_op.drop_column("retired_at")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("hub_cancel_reason")
        batch_op.drop_column("cancelled_by_hub_at")
        batch_op.drop_column("hold_reason")
        batch_op.drop_column("held_at")
