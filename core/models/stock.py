"""The stock ledger: materialised levels, append-only movements, reservations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from omnisync.core.clock import utcnow
from omnisync.core.models._columns import enum_column, utc_column
from omnisync.core.types import MovementKind, ReservationState


class StockLevel(SQLModel, table=True):
    """on_hand is always the sum of the movements of (sku, location) (invariant 1)."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        UniqueConstraint("sku_id", "location_id", name="uq_stock_level_sku_location"),
        CheckConstraint("on_hand >= 0", name="ck_stock_level_on_hand"),
        CheckConstraint("reserved >= 0", name="ck_stock_level_reserved"),
    )

    id: int | None = Field(default=None, primary_key=True)
    sku_id: int = Field(foreign_key="skus.id")
    location_id: int = Field(foreign_key="locations.id", index=True)
    on_hand: int = 0
    reserved: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    @property
    def free(self) -> int:
        return self.on_hand - self.reserved


class StockMovement(SQLModel, table=True):
    """Append-only: rows are inserted, never updated or deleted."""

    __tablename__ = "stock_movements"
    __table_args__ = (Index("ix_stock_movement_sku_location", "sku_id", "location_id"),)

    id: int | None = Field(default=None, primary_key=True)
    sku_id: int = Field(foreign_key="skus.id")
    location_id: int = Field(foreign_key="locations.id")
    delta: int
    kind: MovementKind = Field(sa_column=enum_column(MovementKind))
    reason: str = Field(default="", max_length=500)
    reference: str | None = Field(default=None, max_length=200)
    at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class Reservation(SQLModel, table=True):
    """Stock held for one order line (one row per stocked SKU of the line).

    `quantity` is what is held now; the line may need more (it is then oversold
    and waits for stock). Partial consumption or release splits off a closed row
    so the history stays readable.
    """

    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="ck_reservation_quantity"),
        Index(
            "uq_reservation_active_line_sku",
            "order_line_id",
            "sku_id",
            unique=True,
            postgresql_where=text("state = 'active'"),
            sqlite_where=text("state = 'active'"),
        ),
        Index("ix_reservation_sku_state", "sku_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_line_id: int = Field(foreign_key="order_lines.id", index=True)
    sku_id: int = Field(foreign_key="skus.id")
    location_id: int = Field(foreign_key="locations.id")
    quantity: int = 0
    per_unit: int = Field(default=1, description="units of this SKU per unit of the line")
    state: ReservationState = Field(
        default=ReservationState.ACTIVE, sa_column=enum_column(ReservationState)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
