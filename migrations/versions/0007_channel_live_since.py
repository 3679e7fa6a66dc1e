"""channel cut-over: when the hub took each channel's orders over

Channels that took orders already get the start of their first orders run (else
the first time one of their orders came in): the moment they were taken over.
Channels that never took orders stay NULL until their first orders run or webhook.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import omnisync.core.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FIRST_INTAKE = """
UPDATE channels SET live_since = coalesce(
    (SELECT min(sync_runs.started_at) FROM sync_runs
     WHERE sync_runs.channel_id = channels.id AND sync_runs.job = 'orders'),
    (SELECT min(orders.ingested_at) FROM orders WHERE orders.channel_id = channels.id)
)
"""


def upgrade() -> None:
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("live_since", omnisync.core.types.UTCDateTime(), nullable=True)
        )
    op.execute(_FIRST_INTAKE)


def downgrade() -> None:
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_column("live_since")
