"""listing links: how and when each listing was linked, what the channel shows, the history

Listings keep the channel's title, barcode and last seen quantity, how they were linked
(`link_method`: sku, barcode, manual, import) and since when they are linked or unlinked;
`auto_link` is false once an operator unlinked one. Every change of a link is a row of
`listing_link_events`. Existing links were all made by SKU code; an unlinked listing is
unlinked since it was stored. The alert `unlinked_listing` is now `unlinked_listings`.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import omnisync.core.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("title", sa.String(length=500), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("barcode", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("seen_quantity", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("seen_at", omnisync.core.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("link_method", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("linked_at", omnisync.core.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("unlinked_since", omnisync.core.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("auto_link", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.execute(
        "UPDATE listings SET link_method = 'sku', linked_at = created_at WHERE sku_id IS NOT NULL"
    )
    op.execute("UPDATE listings SET unlinked_since = created_at WHERE sku_id IS NULL")
    op.create_table(
        "listing_link_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("listing_key", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=True),
        sa.Column("sku_code", sa.String(length=128), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"]),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_listing_link_events_channel_at", "listing_link_events", ["channel_id", "at"]
    )
    op.execute("UPDATE alerts SET rule = 'unlinked_listings' WHERE rule = 'unlinked_listing'")


def downgrade() -> None:
    op.execute("UPDATE alerts SET rule = 'unlinked_listing' WHERE rule = 'unlinked_listings'")
    op.drop_index("ix_listing_link_events_channel_at", table_name="listing_link_events")
    op.drop_table("listing_link_events")
    with op.batch_alter_table("listings", schema=None) as batch_op:
        for name in (
            "auto_link",
            "unlinked_since",
            "linked_at",
            "link_method",
            "seen_at",
            "seen_quantity",
            "barcode",
            "title",
        ):
            batch_op.drop_column(name)
