"""pull_listings: bind the channel's listings to hub SKUs.

A listing binds when its channel SKU equals a hub SKU code; anything else is
kept unbound and reported, never guessed. A newly bound listing is dirty, so
the channel gets our quantity at the next push.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from itertools import islice

from sqlmodel import Session, col, select

from core.clock import utcnow
from core.db import transaction
from core.dto import ChannelListing
from core.models import Channel, Listing, Sku
from core.order_intake import map_unmapped_lines
from sync.jobs.context import JobContext

log = logging.getLogger(__name__)
CHUNK = 200
NOTE_LIMIT = 20


def pull_listings(ctx: JobContext) -> None:
    for chunk in _chunks(ctx.connector.fetch_listings(), CHUNK):
        ctx.checkpoint()
        with transaction(ctx.engine) as session:
            _store(session, ctx, chunk)
    if ctx.counts["without_sku"] or ctx.counts["unknown_sku"]:
        log.warning(
            "%s: %d listing(s) without a SKU, %d with a SKU the hub does not know",
            ctx.name,
            ctx.counts["without_sku"],
            ctx.counts["unknown_sku"],
        )


def _store(session: Session, ctx: JobContext, chunk: list[ChannelListing]) -> None:
    channel = session.get(Channel, ctx.channel_id)
    assert channel is not None
    codes = {item.channel_sku for item in chunk if item.channel_sku}
    existing = {
        listing.channel_sku: listing
        for listing in session.exec(
            select(Listing).where(
                Listing.channel_id == ctx.channel_id, col(Listing.channel_sku).in_(codes)
            )
        )
    }
    sku_ids = dict(session.exec(select(Sku.code, Sku.id).where(col(Sku.code).in_(codes))).all())
    for item in chunk:
        ctx.counts["fetched"] += 1
        if not item.channel_sku:
            ctx.counts["without_sku"] += 1
            _note(ctx, f"listing {item.channel_ids} has no SKU")
            continue
        listing = existing.get(item.channel_sku)
        if listing is None:
            listing = Listing(
                channel_id=ctx.channel_id,
                channel_sku=item.channel_sku,
                last_ack_quantity=item.quantity,
            )
            ctx.counts["new"] += 1
        listing.channel_ids = item.channel_ids
        listing.updated_at = utcnow()
        if listing.sku_id is None:
            sku_id = sku_ids.get(item.channel_sku)
            if sku_id is None:
                ctx.counts["unknown_sku"] += 1
                _note(ctx, f"channel SKU {item.channel_sku!r} matches no hub SKU")
            else:
                listing.sku_id = sku_id
                _mark_dirty(listing)
                ctx.counts["bound"] += 1
                session.add(listing)
                session.flush()
                ctx.counts["lines_mapped"] += map_unmapped_lines(
                    session, channel, item.channel_sku, sku_id
                )
        elif item.quantity is not None and item.quantity != listing.last_ack_quantity:
            # The channel shows something else than we last set: push ours again.
            listing.last_ack_quantity = item.quantity
            _mark_dirty(listing)
            ctx.counts["drifted"] += 1
        session.add(listing)


def _mark_dirty(listing: Listing) -> None:
    listing.dirty = True
    listing.dirty_since = listing.dirty_since or utcnow()
    listing.change_seq += 1


def _note(ctx: JobContext, text: str) -> None:
    if len(ctx.notes) < NOTE_LIMIT:
        ctx.notes.append(text)


def _chunks(items: Iterable[ChannelListing], size: int) -> Iterator[list[ChannelListing]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
