"""What is sold and where it is kept: SKUs, bundle recipes, locations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from omnisync.core.clock import utcnow
from omnisync.core.models._columns import enum_column, utc_column
from omnisync.core.types import LocationKind


class Sku(SQLModel, table=True):
    __tablename__ = "skus"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=128, unique=True)
    title: str = Field(default="", max_length=500)
    barcode: str | None = Field(default=None, max_length=64, index=True)
    safety_stock: int = Field(default=0)
    low_stock_below: int | None = None
    """The console's "low stock" names the SKU when its free units fall under this (None:
    under its safety stock)."""
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    retired_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    """No longer sold (core/catalog.py retire_sku): offered as 0, takes no stock."""


class BundleComponent(SQLModel, table=True):
    """One line of a bundle's recipe: `quantity` units of `component` per bundle."""

    __tablename__ = "bundle_components"
    __table_args__ = (CheckConstraint("quantity > 0", name="ck_bundle_component_quantity"),)

    bundle_id: int = Field(foreign_key="skus.id", primary_key=True)
    component_id: int = Field(foreign_key="skus.id", primary_key=True, index=True)
    quantity: int


class Location(SQLModel, table=True):
    __tablename__ = "locations"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    name: str = Field(default="", max_length=200)
    kind: LocationKind = Field(default=LocationKind.WAREHOUSE, sa_column=enum_column(LocationKind))
