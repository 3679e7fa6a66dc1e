"""Shipments: parcels sent for an order, the outbox of their push to the channel, and
what the carrier reported of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from omnisync.core.clock import utcnow
from omnisync.core.models._columns import enum_column, json_column, text_column, utc_column
from omnisync.core.types import PushState, ShipmentStatus


class Shipment(SQLModel, table=True):
    """One parcel of an order: what left (`lines`), with whom, and where it is now.

    `lines` is a list of {"external_line_id", "quantity"} in the channel's own
    line ids, as the channel will be told. The push_* fields are the outbox of
    the fulfilment push: the row is written in the transaction that consumed
    the stock, and the channel is told after commit, so a crash loses no push.

    `carrier_channel_id` is the carrier channel that tracks the parcel; None
    for a shipment whose carrier is only a name (nothing polls it).
    `unknown_since` is when the carrier first said it did not know the number,
    cleared as soon as it does: how long a number stays unknown is an alert.
    """

    __tablename__ = "shipments"
    __table_args__ = (Index("ix_shipment_push_state_next", "push_state", "next_push_at"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    lines: list[dict[str, Any]] = Field(default_factory=list, sa_column=json_column(nullable=False))
    carrier: str = Field(max_length=100)
    service: str | None = Field(default=None, max_length=100)
    tracking_number: str = Field(max_length=200)
    tracking_url: str | None = Field(default=None, sa_column=text_column())
    status: ShipmentStatus = Field(
        default=ShipmentStatus.LABEL_CREATED, sa_column=enum_column(ShipmentStatus)
    )
    shipped_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    delivered_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    push_state: PushState = Field(default=PushState.PENDING, sa_column=enum_column(PushState))
    push_attempts: int = 0
    push_error: str | None = Field(default=None, sa_column=text_column())
    next_push_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    pushed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    carrier_channel_id: int | None = Field(default=None, foreign_key="channels.id", index=True)
    tracked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    """When the carrier was last asked about the parcel."""
    unknown_since: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    tracking_message: str | None = Field(default=None, sa_column=text_column())
    """The carrier's own words on the last answer (unknown number, exception reason)."""
    label_path: str | None = Field(default=None, sa_column=text_column())
    """The label file bought for the parcel (under the data folder), None: no label bought
    through the hub."""
    label_format: str | None = Field(default=None, max_length=16)
    """PDF or ZPL."""
    carrier_shipment_id: str | None = Field(default=None, max_length=200)
    """The carrier's id of the label bought through the hub (what voiding it at the
    carrier takes); None: no label bought through the hub."""


class TrackingEvent(SQLModel, table=True):
    """One scan a carrier reported for a shipment, stored once however often it is polled.

    The natural key (shipment, time, carrier code) is unique: carriers resend
    the whole history on every request.
    """

    __tablename__ = "tracking_events"
    __table_args__ = (
        UniqueConstraint("shipment_id", "at", "code", name="uq_tracking_event_shipment_at_code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    shipment_id: int = Field(foreign_key="shipments.id", index=True)
    at: datetime = Field(sa_column=utc_column())
    code: str = Field(max_length=100)
    description: str = Field(default="", sa_column=text_column(nullable=False))
    location: str | None = Field(default=None, max_length=300)
    status: ShipmentStatus = Field(
        default=ShipmentStatus.UNKNOWN, sa_column=enum_column(ShipmentStatus)
    )
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
