"""Shipments: parcels sent for an order, and the outbox of their push to the channel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from core.models._columns import enum_column, json_column, text_column, utc_column
from core.types import PushState, ShipmentStatus


class Shipment(SQLModel, table=True):
    """One parcel of an order: what left (`lines`), with whom, and where it is now.

    `lines` is a list of {"external_line_id", "quantity"} in the channel's own
    line ids, as the channel will be told. The push_* fields are the outbox of
    the fulfilment push: the row is written in the transaction that consumed
    the stock, and the channel is told after commit, so a crash loses no push.
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
