"""Channels (runtime state of configured channels) and their listings (bindings)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from omnisync.core.clock import utcnow
from omnisync.core.models._columns import json_column, text_column, utc_column


class Channel(SQLModel, table=True):
    """Mirror of a channel's config plus what the hub learned at run time.

    `locations` lists the location codes the channel sells from (None: every
    location that is not channel-managed); `stock_rules` holds the channel's
    `stock:` section as written in its config file. `live_since` is when the hub
    took the channel's orders over (core/channels.py take_over_orders): what the
    channel shipped before then is history and moves no stock (core/order_intake.py).
    """

    __tablename__ = "channels"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    type: str = Field(max_length=50)
    enabled: bool = True
    locations: list[str] | None = Field(default=None, sa_column=json_column())
    stock_rules: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    paused_reason: str | None = Field(default=None, sa_column=text_column())
    config_fingerprint: str = Field(
        default="", max_length=64, sa_column_kwargs={"server_default": ""}
    )
    live_since: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class Listing(SQLModel, table=True):
    """A channel's offer of one SKU: the binding and the push outbox in one row.

    `dirty` says the channel may show a stale quantity; it is cleared only when
    the channel acknowledged the quantity we computed (invariant 6).
    """

    __tablename__ = "listings"
    __table_args__ = (
        UniqueConstraint("channel_id", "channel_sku", name="uq_listing_channel_sku"),
        Index("ix_listing_channel_dirty", "channel_id", "dirty"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channels.id")
    sku_id: int | None = Field(default=None, foreign_key="skus.id", index=True)
    channel_sku: str = Field(max_length=200)
    channel_ids: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    last_ack_quantity: int | None = None
    last_ack_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    dirty: bool = False
    change_seq: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    """Bumped by every mark_listings_dirty: a push clears `dirty` only if it is unchanged."""
    dirty_since: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    last_error: str | None = Field(default=None, sa_column=text_column())
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
