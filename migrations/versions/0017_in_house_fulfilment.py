"""in-house fulfilment: order routes, bins, packaging barcodes, pick lists, pack scans, labels

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 16:04:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import omnisync.core.types

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "packaging_barcodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("barcode", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_packaging_barcode_quantity"),
        sa.ForeignKeyConstraint(
            ["sku_id"],
            ["skus.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("barcode"),
    )
    with op.batch_alter_table("packaging_barcodes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_packaging_barcodes_sku_id"), ["sku_id"], unique=False)

    op.create_table(
        "pick_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("created_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("picked_at", omnisync.core.types.UTCDateTime(), nullable=True),
        sa.Column("cancelled_at", omnisync.core.types.UTCDateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pick_lists", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pick_lists_location_id"), ["location_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_pick_lists_state"), ["state"], unique=False)

    op.create_table(
        "sku_bins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("bin", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=True),
        sa.Column("updated_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"],
            ["skus.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sku_id", "location_id", name="uq_sku_bin_sku_location"),
    )
    with op.batch_alter_table("sku_bins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sku_bins_sku_id"), ["sku_id"], unique=False)

    op.create_table(
        "pack_scans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("barcode", sa.String(length=64), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("scanned_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("units > 0", name="ck_pack_scan_units"),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"],
            ["skus.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pack_scans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pack_scans_order_id"), ["order_id"], unique=False)

    op.create_table(
        "pick_list_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pick_list_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("bin", sa.String(length=64), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("short", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_pick_list_line_quantity"),
        sa.CheckConstraint("short >= 0 AND short <= quantity", name="ck_pick_list_line_short"),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
        ),
        sa.ForeignKeyConstraint(
            ["pick_list_id"],
            ["pick_lists.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"],
            ["skus.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pick_list_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pick_list_lines_order_id"), ["order_id"], unique=False)
        batch_op.create_index("ix_pick_list_lines_order_line", ["order_line_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_pick_list_lines_pick_list_id"), ["pick_list_id"], unique=False
        )

    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "routing", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
            )
        )

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "route", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("routed_at", omnisync.core.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("ship_by", omnisync.core.types.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("packed_at", omnisync.core.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("label_requested_at", omnisync.core.types.UTCDateTime(), nullable=True)
        )

    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label_path", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("label_format", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("carrier_shipment_id", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_column("carrier_shipment_id")
        batch_op.drop_column("label_format")
        batch_op.drop_column("label_path")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("label_requested_at")
        batch_op.drop_column("packed_at")
        batch_op.drop_column("ship_by")
        batch_op.drop_column("routed_at")
        batch_op.drop_column("route")

    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_column("routing")

    with op.batch_alter_table("pick_list_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pick_list_lines_pick_list_id"))
        batch_op.drop_index("ix_pick_list_lines_order_line")
        batch_op.drop_index(batch_op.f("ix_pick_list_lines_order_id"))

    op.drop_table("pick_list_lines")
    with op.batch_alter_table("pack_scans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pack_scans_order_id"))

    op.drop_table("pack_scans")
    with op.batch_alter_table("sku_bins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sku_bins_sku_id"))

    op.drop_table("sku_bins")
    with op.batch_alter_table("pick_lists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pick_lists_state"))
        batch_op.drop_index(batch_op.f("ix_pick_lists_location_id"))

    op.drop_table("pick_lists")
    with op.batch_alter_table("packaging_barcodes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_packaging_barcodes_sku_id"))

    op.drop_table("packaging_barcodes")
