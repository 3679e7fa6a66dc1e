"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 02:23:03.024822
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import omnisync.core.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=50), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "locations", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column(
            "stock_rules", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        sa.Column("created_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "locations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "skus",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=128), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("barcode", sa.String(length=64), nullable=True),
        sa.Column("safety_stock", sa.Integer(), nullable=False),
        sa.Column("created_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("skus", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_skus_barcode"), ["barcode"], unique=False)

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=50), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("severity", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column(
            "details", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("first_seen", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("last_seen", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("notified_at", omnisync.core.types.UTCDateTime(), nullable=True),
        sa.Column("resolved_at", omnisync.core.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_alert_rule_channel_state", ["rule", "channel_id", "state"], unique=False
        )
    op.create_index(
        "uq_alert_open_rule_channel",
        "alerts",
        ["rule", sa.text("coalesce(channel_id, 0)")],
        unique=True,
        postgresql_where=sa.text("state = 'open'"),
        sqlite_where=sa.text("state = 'open'"),
    )

    op.create_table(
        "bundle_components",
        sa.Column("bundle_id", sa.Integer(), nullable=False),
        sa.Column("component_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_bundle_component_quantity"),
        sa.ForeignKeyConstraint(
            ["bundle_id"],
            ["skus.id"],
        ),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["skus.id"],
        ),
        sa.PrimaryKeyConstraint("bundle_id", "component_id"),
    )
    with op.batch_alter_table("bundle_components", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bundle_components_component_id"), ["component_id"], unique=False
        )

    op.create_table(
        "listings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=True),
        sa.Column("channel_sku", sa.String(length=200), nullable=False),
        sa.Column(
            "channel_ids", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("last_ack_quantity", sa.Integer(), nullable=True),
        sa.Column("last_ack_at", omnisync.core.types.UTCDateTime(), nullable=True),
        sa.Column("dirty", sa.Boolean(), nullable=False),
        sa.Column("dirty_since", omnisync.core.types.UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", omnisync.core.types.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"],
            ["skus.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel_id", "channel_sku", name="uq_listing_channel_sku"),
    )
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.create_index("ix_listing_channel_dirty", ["channel_id", "dirty"], unique=False)
        batch_op.create_index(batch_op.f("ix_listings_sku_id"), ["sku_id"], unique=False)

    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("channel_status", sa.String(length=64), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("placed_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("total", omnisync.core.types.Money(), nullable=True),
        sa.Column(
            "customer", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column(
            "ship_to", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("raw", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("fulfilled_by_channel", sa.Boolean(), nullable=False),
        sa.Column("oversold", sa.Boolean(), nullable=False),
        sa.Column("oversold_at", omnisync.core.types.UTCDateTime(), nullable=True),
        sa.Column("ingested_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("modified_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel_id", "external_id", name="uq_order_channel_external_id"),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_oversold"), ["oversold"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_placed_at"), ["placed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_status"), ["status"], unique=False)

    op.create_table(
        "quarantined_payloads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("received_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", omnisync.core.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("quarantined_payloads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quarantined_payloads_channel_id"), ["channel_id"], unique=False
        )

    op.create_table(
        "stock_levels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("updated_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("on_hand >= 0", name="ck_stock_level_on_hand"),
        sa.CheckConstraint("reserved >= 0", name="ck_stock_level_reserved"),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"],
            ["skus.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sku_id", "location_id", name="uq_stock_level_sku_location"),
    )
    with op.batch_alter_table("stock_levels", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stock_levels_location_id"), ["location_id"], unique=False
        )

    op.create_table(
        "stock_movements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"],
            ["skus.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stock_movement_sku_location", ["sku_id", "location_id"], unique=False
        )

    op.create_table(
        "sync_cursors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(length=50), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column("updated_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel_id", "stream", name="uq_sync_cursor_stream"),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("job", sa.String(length=50), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("started_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("finished_at", omnisync.core.types.UTCDateTime(), nullable=True),
        sa.Column(
            "counts", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sync_run_channel_job_started", ["channel_id", "job", "started_at"], unique=False
        )

    op.create_table(
        "order_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("external_line_id", sa.String(length=200), nullable=False),
        sa.Column("channel_sku", sa.String(length=200), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", omnisync.core.types.Money(), nullable=True),
        sa.Column("quantity_shipped", sa.Integer(), nullable=False),
        sa.Column("quantity_cancelled", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity >= 0", name="ck_order_line_quantity"),
        sa.CheckConstraint(
            "quantity_shipped >= 0 AND quantity_cancelled >= 0", name="ck_order_line_progress"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"],
            ["skus.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id", "external_line_id", name="uq_order_line_external_id"),
    )
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_lines_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_lines_sku_id"), ["sku_id"], unique=False)

    op.create_table(
        "reservations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("per_unit", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("created_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("quantity >= 0", name="ck_reservation_quantity"),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"],
            ["skus.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.create_index("ix_reservation_sku_state", ["sku_id", "state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_reservations_order_line_id"), ["order_line_id"], unique=False
        )
        batch_op.create_index(
            "uq_reservation_active_line_sku",
            ["order_line_id", "sku_id"],
            unique=True,
            postgresql_where=sa.text("state = 'active'"),
            sqlite_where=sa.text("state = 'active'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_reservation_active_line_sku",
            postgresql_where=sa.text("state = 'active'"),
            sqlite_where=sa.text("state = 'active'"),
        )
        batch_op.drop_index(batch_op.f("ix_reservations_order_line_id"))
        batch_op.drop_index("ix_reservation_sku_state")

    op.drop_table("reservations")
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_lines_sku_id"))
        batch_op.drop_index(batch_op.f("ix_order_lines_order_id"))

    op.drop_table("order_lines")
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_run_channel_job_started")

    op.drop_table("sync_runs")
    op.drop_table("sync_cursors")
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_movement_sku_location")

    op.drop_table("stock_movements")
    with op.batch_alter_table("stock_levels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_levels_location_id"))

    op.drop_table("stock_levels")
    with op.batch_alter_table("quarantined_payloads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantined_payloads_channel_id"))

    op.drop_table("quarantined_payloads")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_status"))
        batch_op.drop_index(batch_op.f("ix_orders_placed_at"))
        batch_op.drop_index(batch_op.f("ix_orders_oversold"))

    op.drop_table("orders")
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_listings_sku_id"))
        batch_op.drop_index("ix_listing_channel_dirty")

    op.drop_table("listings")
    with op.batch_alter_table("bundle_components", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bundle_components_component_id"))

    op.drop_table("bundle_components")
    op.drop_index("uq_alert_open_rule_channel", table_name="alerts")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_rule_channel_state")

    op.drop_table("alerts")
    with op.batch_alter_table("skus", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_skus_barcode"))

    op.drop_table("skus")
    op.drop_table("locations")
    op.drop_table("channels")
