"""sync engine: job leases, the listing change sequence, channel config fingerprints

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 03:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import omnisync.core.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_leases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=50), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("acquired_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel_id", "job", name="uq_sync_lease_channel_job"),
    )
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("change_seq", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("config_fingerprint", sa.String(length=64), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_column("config_fingerprint")
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.drop_column("change_seq")
    op.drop_table("sync_leases")
