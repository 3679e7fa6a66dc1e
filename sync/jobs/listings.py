"""pull_listings: store the channel's listings and link them to hub SKUs by code.

A listing is linked here when its channel SKU equals a hub SKU code (LinkMethod
`sku`, core/listing_links.py); anything else is kept unlinked and reported, never
guessed: an operator links it (`listings link`, `auto-link --by barcode`, `catalog
import`). A listing an operator unlinked stays unlinked. Each listing keeps the
channel's title, barcode and the quantity it showed, and why the channel does not count
its stock where it does not (WooCommerce's manage_stock off: reported, never pushed, never
taken as drift). Every listing is stored: one without
a SKU under the channel's own name for it (ChannelListing.own_key, the name its
order lines carry), renamed to its SKU once the channel gives it one. A newly
bound listing is dirty, so the channel gets our quantity at the next push, and
the order lines that waited for it are bound and reserve.

Once every listing is read: unbound listings the read did not see are gone from
the channel and forgotten (bound ones are kept: they carry the push outbox),
open order lines whose channel SKU now names a hub SKU are bound, and the
channel's `unlinked_listings` alert is refreshed (core/unlinked.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from itertools import islice

from sqlmodel import Session, col, select

from omnisync.core.db import transaction
from omnisync.core.dto import ChannelListing
from omnisync.core.listing_links import ACTOR_LISTINGS_JOB, link_listing, mark_dirty
from omnisync.core.models import Channel, Listing, Sku
from omnisync.core.order_intake import channel_sku_bindings, map_unmapped_lines
from omnisync.core.outbox import note_marked
from omnisync.core.types import LinkMethod
from omnisync.core.unlinked import refresh_unlinked_alert, unbound_channel_skus
from omnisync.sync.jobs.context import JobContext
from omnisync.sync.jobs.counts import RunCount

log = logging.getLogger(__name__)
CHUNK = 200
NOTE_LIMIT = 20


def pull_listings(ctx: JobContext) -> None:
    started = ctx.now()
    for chunk in _chunks(ctx.connector.fetch_listings(), CHUNK):
        ctx.checkpoint()
        with transaction(ctx.engine) as session:
            _store(session, ctx, chunk)
    with transaction(ctx.engine) as session:
        _forget_unbound_not_seen(session, ctx, started)
        _bind_waiting_lines(session, ctx)
        refresh_unlinked_alert(session, ctx.channel_id, ctx.unlinked_after)
    if ctx.counts[RunCount.WITHOUT_SKU] or ctx.counts[RunCount.UNKNOWN_SKU]:
        log.warning(
            "%s: %d listing(s) without a SKU, %d with a SKU the hub does not know",
            ctx.name,
            ctx.counts[RunCount.WITHOUT_SKU],
            ctx.counts[RunCount.UNKNOWN_SKU],
        )
    if ctx.counts[RunCount.UNTRACKED]:
        log.warning(
            "%s: %d listing(s) whose stock the channel does not count: nothing is pushed to"
            " them (`omnisync listings list --channel %s` says why)",
            ctx.name,
            ctx.counts[RunCount.UNTRACKED],
            ctx.name,
        )


def _channel(session: Session, ctx: JobContext) -> Channel:
    channel = session.get(Channel, ctx.channel_id)
    assert channel is not None
    return channel


def _store(session: Session, ctx: JobContext, chunk: list[ChannelListing]) -> None:
    channel = _channel(session, ctx)
    stored = _stored_listings(session, ctx.channel_id, chunk)
    codes = {item.channel_sku for item in chunk if item.channel_sku}
    skus = {sku.code: sku for sku in session.exec(select(Sku).where(col(Sku.code).in_(codes)))}
    for item in chunk:
        ctx.counts[RunCount.FETCHED] += 1
        if not item.channel_sku:
            ctx.counts[RunCount.WITHOUT_SKU] += 1
            _note(ctx, f"listing {item.channel_ids} has no SKU")
        listing = _listing_of(session, ctx, stored, item)
        if listing is None:
            continue
        listing.channel_ids = item.channel_ids
        listing.title = item.title[:500]
        listing.barcode = (item.barcode or "").strip()[:64] or None
        listing.seen_quantity = item.quantity
        listing.seen_at = ctx.now()
        listing.untracked_stock = item.untracked_stock
        if item.untracked_stock:
            ctx.counts[RunCount.UNTRACKED] += 1
            _note(ctx, f"listing {item.key or item.channel_ids}: {item.untracked_stock}")
        listing.updated_at = ctx.now()
        if listing.sku_id is None:
            _bind(session, ctx, channel, listing, item, skus)
        elif (
            item.quantity is not None
            and not item.untracked_stock
            and item.quantity != listing.last_ack_quantity
        ):
            # The channel shows something else than we last set: push ours again.
            listing.last_ack_quantity = item.quantity
            mark_dirty(listing, ctx.now())
            note_marked(session, [listing.channel_id])
            ctx.counts[RunCount.DRIFTED] += 1
        session.add(listing)


def _stored_listings(
    session: Session, channel_id: int, chunk: list[ChannelListing]
) -> dict[str, Listing]:
    """The chunk's stored listings by key, under their SKU or their own name."""
    names = {name for item in chunk for name in (item.key, item.own_key) if name}
    return {
        listing.channel_sku: listing
        for listing in session.exec(
            select(Listing).where(
                Listing.channel_id == channel_id, col(Listing.channel_sku).in_(names)
            )
        )
    }


def _listing_of(
    session: Session, ctx: JobContext, stored: dict[str, Listing], item: ChannelListing
) -> Listing | None:
    """The item's stored listing (a new one if there is none); one stored under the
    channel's own name while it had no SKU now goes by its SKU. None: no key to store
    it under."""
    key = item.key
    if key is None:
        return None
    own = item.own_key
    named_before = stored.pop(own, None) if own is not None and own != key else None
    if named_before is not None:
        if key in stored:
            session.delete(named_before)  # the SKU has its listing already
        else:
            named_before.channel_sku = key
            stored[key] = named_before
            ctx.counts[RunCount.RENAMED] += 1
    if key not in stored:
        stored[key] = Listing(
            channel_id=ctx.channel_id,
            channel_sku=key,
            last_ack_quantity=item.quantity,
            unlinked_since=ctx.now(),
            created_at=ctx.now(),
            updated_at=ctx.now(),
        )
        ctx.counts[RunCount.NEW] += 1
    return stored[key]


def _bind(
    session: Session,
    ctx: JobContext,
    channel: Channel,
    listing: Listing,
    item: ChannelListing,
    skus: Mapping[str, Sku],
) -> None:
    """Link the listing to the hub SKU its channel SKU names, and bind the lines that wait
    for it (under its SKU or the channel's own name for it). A listing an operator
    unlinked is left alone."""
    sku = skus.get(item.channel_sku) if item.channel_sku else None
    if sku is None or not listing.auto_link:
        if item.channel_sku and sku is None:
            ctx.counts[RunCount.UNKNOWN_SKU] += 1
            _note(ctx, f"channel SKU {item.channel_sku!r} matches no hub SKU")
        return
    change = link_listing(
        session,
        channel,
        listing,
        sku,
        method=LinkMethod.SKU,
        actor=ACTOR_LISTINGS_JOB,
        also_keys=[item.own_key] if item.own_key else [],
    )
    ctx.counts[RunCount.BOUND] += 1
    ctx.counts[RunCount.LINES_MAPPED] += change.lines


def _forget_unbound_not_seen(session: Session, ctx: JobContext, started: datetime) -> None:
    """Unbound listings this complete read did not store again are gone from the channel."""
    gone = session.exec(
        select(Listing).where(
            Listing.channel_id == ctx.channel_id,
            col(Listing.sku_id).is_(None),
            col(Listing.updated_at) < started,
        )
    ).all()
    for listing in gone:
        session.delete(listing)
        ctx.counts[RunCount.FORGOTTEN] += 1


def _bind_waiting_lines(session: Session, ctx: JobContext) -> None:
    """Open lines that came before their SKU: bind those whose channel SKU names one now
    (a SKU added to the hub since, with no listing of that SKU on the channel)."""
    waiting = unbound_channel_skus(session, ctx.channel_id)
    bindings = channel_sku_bindings(session, ctx.channel_id, waiting)
    if bindings:
        channel = _channel(session, ctx)
        for channel_sku, sku_id in bindings.items():
            ctx.counts[RunCount.LINES_MAPPED] += map_unmapped_lines(
                session, channel, [channel_sku], sku_id
            ).lines


def _note(ctx: JobContext, text: str) -> None:
    if len(ctx.notes) < NOTE_LIMIT:
        ctx.notes.append(text)


def _chunks(items: Iterable[ChannelListing], size: int) -> Iterator[list[ChannelListing]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
