"""Listings and their links as the CLI prints them and the API serves them
(`listings list|link|unlink|auto-link|history`, `catalog import`, /api/v1/listings)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from omnisync.core.catalog_import import CatalogImport
from omnisync.core.clock import iso
from omnisync.core.listing_links import AutoLinkReport, LinkChange, link_history
from omnisync.core.models import Channel, Listing, ListingLinkEvent, Sku
from omnisync.hub.views.shapes import (
    AutoLinkOut,
    CatalogImportOut,
    CountedSkuOut,
    ImportedListingOut,
    LinkChangeOut,
    LinkEventOut,
    ListingOut,
    ListingsReadOut,
)


def listing_list(
    session: Session,
    *,
    channel: Channel | None = None,
    unlinked: bool = False,
    after: tuple[str, str] | None = None,
    limit: int | None = None,
) -> list[ListingOut]:
    """Listings by channel name, then key; `after` (channel, key) pages on from there."""
    query = (
        select(Listing, Channel.name, Channel.type, Sku.code)
        .join(Channel, col(Channel.id) == Listing.channel_id)
        .outerjoin(Sku, col(Sku.id) == Listing.sku_id)
        .order_by(col(Channel.name), col(Listing.channel_sku))
    )
    if channel is not None:
        query = query.where(Listing.channel_id == channel.id)
    if unlinked:
        query = query.where(col(Listing.sku_id).is_(None))
    if after is not None:
        name, key = after
        query = query.where(
            (col(Channel.name) > name)
            | ((col(Channel.name) == name) & (col(Listing.channel_sku) > key))
        )
    if limit is not None:
        query = query.limit(limit)
    return [
        listing_view(listing, name, channel_type, code)
        for listing, name, channel_type, code in session.exec(query)
    ]


def listing_view(listing: Listing, channel: str, channel_type: str, sku: str | None) -> ListingOut:
    own_name = listing.channel_sku.startswith(f"{channel_type}:")
    return ListingOut(
        id=listing.id or 0,
        channel=channel,
        listing=listing.channel_sku,
        channel_sku=None if own_name else listing.channel_sku,
        channel_ids=listing.channel_ids or {},
        title=listing.title,
        barcode=listing.barcode,
        sku=sku,
        link_method=listing.link_method,
        linked_at=iso(listing.linked_at),
        unlinked_since=iso(listing.unlinked_since),
        auto_link=listing.auto_link,
        channel_quantity=listing.seen_quantity,
        channel_quantity_seen_at=iso(listing.seen_at),
        last_pushed_quantity=listing.last_ack_quantity,
        dirty=listing.dirty,
        last_push_error=listing.last_error,
        push_note=listing.push_note,
        push_held_until=iso(listing.held_until),
        untracked_stock=listing.untracked_stock,
    )


def link_change_view(change: LinkChange) -> LinkChangeOut:
    return LinkChangeOut(
        channel=change.channel,
        listing=change.listing,
        sku=change.sku or None,
        changed=change.changed,
        method=change.method,
        lines=change.lines,
        units=change.units,
        message=change.message,
    )


def auto_link_view(channel: str, report: AutoLinkReport) -> AutoLinkOut:
    return AutoLinkOut(
        channel=channel,
        linked=[link_change_view(change) for change in report.linked],
        not_linked=report.not_linked,
    )


def link_event_view(event: ListingLinkEvent, channel: str) -> LinkEventOut:
    return LinkEventOut(
        id=event.id or 0,
        at=iso(event.at) or "",
        channel=channel,
        listing=event.listing_key,
        action=event.action,
        sku=event.sku_code,
        method=event.method,
        actor=event.actor,
        note=event.note,
    )


def link_event_list(
    session: Session, *, channel: Channel | None = None, listing: str | None = None, limit: int
) -> list[LinkEventOut]:
    return [
        link_event_view(event, name)
        for event, name in link_history(session, channel=channel, listing=listing, limit=limit)
    ]


def catalog_import_view(
    report: CatalogImport, *, dry_run: bool, read: ListingsReadOut
) -> CatalogImportOut:
    return CatalogImportOut(
        channel=report.channel,
        dry_run=dry_run,
        created=report.created,
        linked=[
            ImportedListingOut(
                listing=item.listing,
                sku=item.sku,
                method=item.method,
                created=item.created,
                title=item.title,
                barcode=item.barcode,
            )
            for item in report.linked
        ],
        counted=[
            CountedSkuOut(sku=item.sku, quantity=item.quantity, location=item.location)
            for item in report.counted
        ],
        skipped=report.skipped,
        listings_read=read,
    )
