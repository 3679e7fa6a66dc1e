"""Orders as the channels report them, normalised."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from omnisync.core.clock import utcnow
from omnisync.core.models._columns import (
    enum_column,
    json_column,
    money_column,
    text_column,
    utc_column,
)
from omnisync.core.types import OrderReturnState, OrderStatus


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("channel_id", "external_id", name="uq_order_channel_external_id"),
        Index("ix_orders_channel_buyer", "channel_id", "buyer_ref"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channels.id")
    external_id: str = Field(max_length=200)
    display_name: str | None = Field(default=None, max_length=200, index=True)
    """The channel's own name or number for the order, as its seller sees it (Shopify
    `#1001`; Amazon and the sandbox show their order id); None when the channel has none."""
    status: OrderStatus = Field(sa_column=enum_column(OrderStatus, index=True))
    channel_status: str = Field(default="", max_length=64)
    status_reason: str | None = Field(default=None, sa_column=text_column())
    placed_at: datetime = Field(sa_column=utc_column(index=True))
    updated_at: datetime = Field(sa_column=utc_column())
    currency: str | None = Field(default=None, max_length=3)
    total: Decimal | None = Field(default=None, sa_column=money_column())
    customer: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    ship_to: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    buyer_ref: str | None = Field(default=None, max_length=200)
    """The channel's stable name for the buyer (eBay: username): what a channel's request
    to erase a buyer's personal data names (core/erasure.py). Indexed with the channel."""
    raw: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    personal_data_erased_at: datetime | None = Field(
        default=None, sa_column=utc_column(nullable=True)
    )
    """When the buyer's name, address and the raw payload were erased at the channel's
    request (eBay's marketplace account deletion); they are never taken in again."""
    fulfilled_by_channel: bool = False
    oversold: bool = Field(default=False, index=True)
    oversold_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    ingested_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    modified_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    held_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    """Put on hold by an operator (core/holds.py): the stock stays reserved, nothing ships."""
    hold_reason: str | None = Field(default=None, sa_column=text_column())
    cancelled_by_hub_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    """Cancelled by an operator in the hub (core/cancellation.py): a hub fact that no later
    report of the channel undoes (core/order_status.py)."""
    hub_cancel_reason: str | None = Field(default=None, sa_column=text_column())
    return_state: OrderReturnState = Field(
        default=OrderReturnState.NONE,
        sa_column=enum_column(OrderReturnState, server_default=OrderReturnState.NONE),
    )
    """How much of the order came back (core/returns.py): returned in part or whole."""
    route: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    """Where the order ships from and why (core/routing.py): {"locations": [codes],
    "lines": {external line id: code}, "reason", "split", "source", "at"}; None: not
    routed (nothing to reserve, or taken in before routing existed)."""
    routed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    ship_by: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    """The latest the channel wants it shipped, where the channel says (pick lists take
    the earliest first)."""
    packed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    """Since when a parcel of the order is packed: every open unit of the order, or of its
    lines at one location, scanned and not shipped yet (core/parcels.py); None while no
    parcel is."""
    label_requested_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    """A label purchase for the order under way since then (hub/labels.py): set before the
    carrier is asked, cleared once the parcel is recorded or the carrier certainly sold
    nothing; kept when the carrier may have sold one unseen. While it is set (and younger
    than the stale limit) no other label is bought for the order."""


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_lines"
    __table_args__ = (
        UniqueConstraint("order_id", "external_line_id", name="uq_order_line_external_id"),
        CheckConstraint("quantity >= 0", name="ck_order_line_quantity"),
        CheckConstraint(
            "quantity_shipped >= 0 AND quantity_cancelled >= 0",
            name="ck_order_line_progress",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    external_line_id: str = Field(max_length=200)
    channel_sku: str = Field(max_length=200)
    sku_id: int | None = Field(default=None, foreign_key="skus.id", index=True)
    title: str = Field(default="", max_length=500)
    quantity: int
    unit_price: Decimal | None = Field(default=None, sa_column=money_column())
    quantity_shipped: int = 0
    quantity_cancelled: int = 0

    @property
    def open_quantity(self) -> int:
        """Units neither shipped nor cancelled."""
        return max(self.quantity - self.quantity_shipped - self.quantity_cancelled, 0)
