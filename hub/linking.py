"""Linking listings as the CLI and the API both do it: the core change
(core/listing_links.py), then the channel's `unlinked_listings` alert refreshed with
hub.yaml's `alert_rules.unlinked_after`, in the same transaction, and the answer's shape."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import timedelta

from sqlmodel import Session

from omnisync.core.catalog import sku_by_code
from omnisync.core.channels import channel_by_name
from omnisync.core.listing_links import (
    LinkRow,
    ListingFinder,
    auto_link,
    link_listing,
    link_rows,
    unlink_listing,
)
from omnisync.core.models import Channel
from omnisync.core.types import LinkMethod
from omnisync.core.unlinked import refresh_unlinked_alert
from omnisync.hub.views.listings import auto_link_view, link_change_view
from omnisync.hub.views.shapes import AutoLinkOut, LinkChangeOut


def link(
    session: Session,
    channel_name: str,
    listing_name: str,
    sku_code: str,
    *,
    actor: str,
    unlinked_after: timedelta,
) -> LinkChangeOut:
    """Link the listing (its key or a channel id) of the channel to the SKU (its code)."""
    channel = channel_by_name(session, channel_name)
    listing = ListingFinder(session, channel).find(listing_name)
    sku = sku_by_code(session, sku_code.strip())
    change = link_listing(session, channel, listing, sku, method=LinkMethod.MANUAL, actor=actor)
    _refresh(session, [channel], unlinked_after)
    return link_change_view(change)


def unlink(
    session: Session,
    channel_name: str,
    listing_name: str,
    *,
    actor: str,
    unlinked_after: timedelta,
) -> LinkChangeOut:
    channel = channel_by_name(session, channel_name)
    listing = ListingFinder(session, channel).find(listing_name)
    change = unlink_listing(session, channel, listing, actor=actor)
    _refresh(session, [channel], unlinked_after)
    return link_change_view(change)


def auto_link_channel(
    session: Session,
    channel_name: str,
    *,
    by: Collection[LinkMethod],
    actor: str,
    unlinked_after: timedelta,
) -> AutoLinkOut:
    channel = channel_by_name(session, channel_name)
    report = auto_link(session, channel, by=by, actor=actor)
    _refresh(session, [channel], unlinked_after)
    return auto_link_view(channel.name, report)


def link_all(
    session: Session, rows: Sequence[LinkRow], *, actor: str, unlinked_after: timedelta
) -> list[LinkChangeOut]:
    """Every row linked, or none (RowsRefused naming every bad row)."""
    changes = link_rows(session, rows, actor=actor)
    channels = {row.channel for row in rows}
    _refresh(session, [channel_by_name(session, name) for name in sorted(channels)], unlinked_after)
    return [link_change_view(change) for change in changes]


def _refresh(session: Session, channels: Sequence[Channel], unlinked_after: timedelta) -> None:
    session.flush()
    for channel in channels:
        refresh_unlinked_alert(session, channel.id, unlinked_after)
