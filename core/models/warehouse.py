"""The warehouse floor: where each SKU sits (bins), the barcodes of its packagings,
pick lists, and the scans that pack an order."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from omnisync.core.clock import utcnow
from omnisync.core.models._columns import enum_column, text_column, utc_column
from omnisync.core.types import PickListState


class SkuBin(SQLModel, table=True):
    """The bin a SKU is kept in at one location, and where that bin comes on the picker's
    walk (`sequence`: lower first; None: after every numbered bin, then by bin name)."""

    __tablename__ = "sku_bins"
    __table_args__ = (UniqueConstraint("sku_id", "location_id", name="uq_sku_bin_sku_location"),)

    id: int | None = Field(default=None, primary_key=True)
    sku_id: int = Field(foreign_key="skus.id", index=True)
    location_id: int = Field(foreign_key="locations.id")
    bin: str = Field(max_length=64)
    sequence: int | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class PackagingBarcode(SQLModel, table=True):
    """A barcode of a packaging of a SKU that holds `quantity` units (a case of 6): one
    scan of it counts `quantity` units. The SKU's own barcode (skus.barcode) counts 1."""

    __tablename__ = "packaging_barcodes"
    __table_args__ = (CheckConstraint("quantity > 0", name="ck_packaging_barcode_quantity"),)

    id: int | None = Field(default=None, primary_key=True)
    sku_id: int = Field(foreign_key="skus.id", index=True)
    barcode: str = Field(max_length=64, unique=True)
    quantity: int
    name: str = Field(default="", max_length=100)
    """What the packaging is called ("case", "inner"), for messages."""
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class PickList(SQLModel, table=True):
    """A batch of orders picked together at one location (`pick create`)."""

    __tablename__ = "pick_lists"

    id: int | None = Field(default=None, primary_key=True)
    location_id: int = Field(foreign_key="locations.id", index=True)
    channel_id: int | None = Field(default=None, foreign_key="channels.id")
    """Only this channel's orders, when the list was made for one."""
    state: PickListState = Field(
        default=PickListState.OPEN, sa_column=enum_column(PickListState, index=True)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    created_by: str = Field(default="", max_length=100)
    picked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    cancelled_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    note: str | None = Field(default=None, sa_column=text_column())
    """What confirming it did (units short, orders left oversold)."""


class PickListLine(SQLModel, table=True):
    """Units of one order line to take from one bin: the printed list sums these per
    SKU and bin and shows the split per order. Quantities are of the stocked SKU (a
    bundle's line has one row per component)."""

    __tablename__ = "pick_list_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_pick_list_line_quantity"),
        CheckConstraint("short >= 0 AND short <= quantity", name="ck_pick_list_line_short"),
        Index("ix_pick_list_lines_order_line", "order_line_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pick_list_id: int = Field(foreign_key="pick_lists.id", index=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    order_line_id: int = Field(foreign_key="order_lines.id")
    sku_id: int = Field(foreign_key="skus.id")
    bin: str | None = Field(default=None, max_length=64)
    """The SKU's bin at the list's location when the list was made (None: no bin)."""
    sequence: int | None = None
    quantity: int
    short: int = 0
    """Units not found on the shelf (`pick confirm --short`)."""


class PackScan(SQLModel, table=True):
    """One accepted scan while packing an order: `units` of an order line (a packaging
    barcode counts its quantity). Scans not yet in a shipment (`shipment_id` None) are
    the parcel being packed; recording the shipment claims them."""

    __tablename__ = "pack_scans"
    __table_args__ = (CheckConstraint("units > 0", name="ck_pack_scan_units"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    order_line_id: int = Field(foreign_key="order_lines.id")
    sku_id: int = Field(foreign_key="skus.id")
    barcode: str = Field(max_length=64)
    units: int
    shipment_id: int | None = Field(default=None, foreign_key="shipments.id")
    actor: str = Field(default="", max_length=100)
    scanned_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
