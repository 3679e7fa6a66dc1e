"""Channels (runtime state of configured channels) and their listings (bindings)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint, text, true
from sqlmodel import Field, SQLModel

from omnisync.core.clock import utcnow
from omnisync.core.models._columns import enum_column, json_column, text_column, utc_column
from omnisync.core.types import LinkAction, LinkMethod


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
    routing: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    """hub.yaml's `routing:` as it applies to this channel (core/routing.py RoutingRules);
    None: the defaults."""
    paused_reason: str | None = Field(default=None, sa_column=text_column())
    paused_by: str | None = Field(default=None, max_length=100)
    """Who paused the channel by hand (console, API or CLI); None for a pause of the hub's
    own (credentials refused), which a config change or a successful run lifts. A pause by
    hand lasts until someone resumes the channel."""
    config_fingerprint: str = Field(
        default="", max_length=64, sa_column_kwargs={"server_default": ""}
    )
    live_since: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class Listing(SQLModel, table=True):
    """A channel's offer of one SKU: the link and the push outbox in one row.

    `channel_sku` is the key the hub stores it under: the channel's SKU, else the
    channel's own name for it (the name its order lines carry). `dirty` says the
    channel may show a stale quantity; it is cleared only when the channel
    acknowledged the quantity we computed (invariant 6). A listing is linked to one
    hub SKU (`sku_id`), by `link_method` (core/listing_links.py); every change of a
    link is a ListingLinkEvent.
    """

    __tablename__ = "listings"
    __table_args__ = (
        UniqueConstraint("channel_id", "channel_sku", name="uq_listing_channel_sku"),
        Index("ix_listing_channel_dirty", "channel_id", "dirty"),
        # The console's unlinked listings, by channel and key, without reading the linked.
        Index(
            "ix_listing_unlinked",
            "channel_id",
            "channel_sku",
            postgresql_where=text("sku_id IS NULL"),
            sqlite_where=text("sku_id IS NULL"),
        ),
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
    title: str = Field(default="", max_length=500, sa_column_kwargs={"server_default": ""})
    barcode: str | None = Field(default=None, max_length=64)
    """The channel's GTIN/EAN/UPC for the product, as the channel gives it."""
    revision_day: date | None = None
    """The UTC day `revisions` counts (channels with a daily revision limit, eBay)."""
    revisions: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    """Quantity changes the channel acknowledged on `revision_day`."""
    held_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    """A push held back to stay within the channel's daily revision limit: when it may
    go (sync/jobs/revision_budget.py); None when nothing is held."""
    push_note: str | None = Field(default=None, sa_column=text_column())
    """What the listing's pushes are going through, in words (coalesced near the daily
    revision limit, held until tomorrow); None when they go as usual."""
    untracked_stock: str | None = Field(default=None, sa_column=text_column())
    """Why the channel does not count this listing's stock (WooCommerce: `manage_stock`
    off), as the last listings read said; the hub pushes nothing to it. None: it does."""
    seen_quantity: int | None = None
    """The quantity the channel showed at the last listings read (None: it said none)."""
    seen_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    link_method: LinkMethod | None = Field(
        default=None, sa_column=enum_column(LinkMethod, nullable=True)
    )
    linked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    unlinked_since: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    """When it became unlinked (stored unlinked, or unlinked by an operator); None while
    linked. The `unlinked_listings` alert names it once this is `unlinked_after` old."""
    auto_link: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    """False once an operator unlinked it: only an operator links it again, and order
    lines of its channel SKU are not bound by code."""
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class ListingLinkEvent(SQLModel, table=True):
    """One change of a listing's link, as `listings history` shows it."""

    __tablename__ = "listing_link_events"
    __table_args__ = (Index("ix_listing_link_events_channel_at", "channel_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channels.id")
    listing_key: str = Field(max_length=200)
    """The listing's channel_sku when it changed (listings may be forgotten later)."""
    action: LinkAction = Field(sa_column=enum_column(LinkAction))
    sku_id: int | None = Field(default=None, foreign_key="skus.id")
    sku_code: str = Field(max_length=128)
    """The hub SKU linked or unlinked, by the code it had then."""
    method: LinkMethod | None = Field(
        default=None, sa_column=enum_column(LinkMethod, nullable=True)
    )
    actor: str = Field(max_length=100)
    """Who changed it: `cli`, `api`, `listings job`, `catalog import`, `links csv`."""
    note: str | None = Field(default=None, sa_column=text_column())
    """What else the change did (units reserved or released, lines bound)."""
    at: datetime = Field(sa_column=utc_column())
