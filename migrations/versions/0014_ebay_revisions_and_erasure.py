"""daily revision budgets of listings; buyer references and erasure of orders

eBay lets a listing be revised 250 times a day: listings count the revisions of their
UTC day, when a held push may go, and what their pushes go through in words. eBay asks
every application to erase a buyer's personal data on marketplace account deletion:
orders keep the channel's buyer reference (indexed with the channel) and when their
personal data was erased.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from omnisync.core.types import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("listings") as batch:
        batch.add_column(sa.Column("revision_day", sa.Date(), nullable=True))
        batch.add_column(sa.Column("revisions", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("held_until", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("push_note", sa.Text(), nullable=True))
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("buyer_ref", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("personal_data_erased_at", UTCDateTime(), nullable=True))
        batch.create_index("ix_orders_channel_buyer", ["channel_id", "buyer_ref"])


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_index("ix_orders_channel_buyer")
        batch.drop_column("personal_data_erased_at")
        batch.drop_column("buyer_ref")
    with op.batch_alter_table("listings") as batch:
        batch.drop_column("push_note")
        batch.drop_column("held_until")
        batch.drop_column("revisions")
        batch.drop_column("revision_day")
