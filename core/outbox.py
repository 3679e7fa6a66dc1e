"""The push outbox: listings marked dirty in the same transaction as the stock change.

Nothing is pushed from inside a transaction; the sync engine reads dirty
listings after commit. A crash between commit and push loses nothing because
the dirty flag is itself committed data (invariant 6).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import BindParameter, bindparam, func, or_, select, update
from sqlmodel import Session, col

from omnisync.core.clock import clock_of
from omnisync.core.models import BundleComponent, Channel, Listing, Location
from omnisync.core.models.tables import table_of
from omnisync.core.types import LocationKind, UTCDateTime

LISTINGS_MARKED = "omnisync.listings_marked"
"""Session.info key set when a transaction marked listings dirty (a push should follow)."""
MARKED_ON_CHANNELS = "omnisync.marked_on_channels"
"""Session.info key: the ids of the channels whose listings the transaction marked dirty
(the queue runner defers a push for each before the commit)."""


_listings = table_of(Listing)
_locations = table_of(Location)
_channels = table_of(Channel)
_components = table_of(BundleComponent)

# Built once: every stock-changing transaction runs these.
_LOCATIONS = select(_locations.c.id, _locations.c.code, _locations.c.kind).where(
    _locations.c.id.in_(bindparam("location_ids", expanding=True))
)
_CHANNELS = select(_channels.c.id, _channels.c.locations)
_SKU_IDS: BindParameter[list[int]] = bindparam("sku_ids", expanding=True)
_MARK_DIRTY = (
    update(_listings)
    .where(
        or_(
            _listings.c.sku_id.in_(_SKU_IDS),
            _listings.c.sku_id.in_(
                select(_components.c.bundle_id).where(_components.c.component_id.in_(_SKU_IDS))
            ),
        )
    )
    .values(
        dirty=True,
        change_seq=_listings.c.change_seq + 1,
        dirty_since=func.coalesce(_listings.c.dirty_since, bindparam("now", type_=UTCDateTime())),
        updated_at=bindparam("now", type_=UTCDateTime()),
    )
    .returning(_listings.c.channel_id)
)
# `channel_id + 0`: without statistics SQLite would pick the (channel, dirty) index and
# read every listing of the channel; the SKU index finds the few that changed.
_MARK_DIRTY_ON_CHANNELS = _MARK_DIRTY.where(
    (_listings.c.channel_id + 0).in_(bindparam("on_channels", expanding=True))
)


def channels_selling_from(session: Session, location_ids: Iterable[int]) -> list[int]:
    """Ids of the channels that sell from any of `location_ids`."""
    selling = _channels_by_location(session, location_ids)
    return sorted({channel_id for channels in selling.values() for channel_id in channels})


def _channels_by_location(session: Session, location_ids: Iterable[int]) -> dict[int, set[int]]:
    """For each of `location_ids`: the channels that sell from it (a channel without a
    list of its own sells from every location that is not channel-managed)."""
    locations = session.execute(_LOCATIONS, {"location_ids": sorted(set(location_ids))}).all()
    channels = session.execute(_CHANNELS).all()
    return {
        location_id: {
            channel_id
            for channel_id, codes in channels
            if (kind != LocationKind.CHANNEL_MANAGED if codes is None else code in codes)
        }
        for location_id, code, kind in locations
    }


def mark_listings_dirty(
    session: Session, sku_ids: Iterable[int], location_ids: Iterable[int] | None = None
) -> int:
    """Mark every listing whose availability may have changed; returns how many rows.

    Listings of bundles containing a changed SKU are included. With
    `location_ids`, only channels selling from those locations are affected.
    """
    changed = set(sku_ids)
    if not changed:
        return 0
    if location_ids is None:
        return _mark(session, changed, None)
    channel_ids = channels_selling_from(session, location_ids)
    return _mark(session, changed, channel_ids) if channel_ids else 0


def note_channel_raised(session: Session, channel_id: int, raised: Mapping[int, int]) -> int:
    """The channel raised its own quantity of these SKUs' listings by these units (Shopify
    restocks what a return's RESTOCKED disposition names). What it holds now is what it
    last acknowledged plus those units; the listings are marked dirty so the hub's
    figure, which counted the units already, goes out again, compared against what the
    channel holds. How many listings were marked."""
    for sku_id, units in raised.items():
        session.execute(
            update(Listing)
            .where(
                col(Listing.channel_id) == channel_id,
                col(Listing.sku_id) == sku_id,
                col(Listing.last_ack_quantity).is_not(None),
            )
            .values(last_ack_quantity=col(Listing.last_ack_quantity) + units)
        )
    return _mark(session, set(raised), [channel_id]) if raised else 0


def mark_touched_dirty(session: Session, touched: Iterable[tuple[int, int]]) -> int:
    """Mark dirty the listings of every changed (sku, location) pair: a listing is
    marked if its channel sells from a location where its SKU changed."""
    by_location: dict[int, set[int]] = {}
    for sku_id, location_id in touched:
        by_location.setdefault(location_id, set()).add(sku_id)
    if not by_location:
        return 0
    # Locations sold by the same channels share one UPDATE (usually all of them do).
    by_channels: dict[frozenset[int], set[int]] = {}
    for location_id, channels in _channels_by_location(session, by_location).items():
        if channels:
            by_channels.setdefault(frozenset(channels), set()).update(by_location[location_id])
    return sum(
        _mark(session, sku_ids, sorted(channels)) for channels, sku_ids in by_channels.items()
    )


def _mark(session: Session, sku_ids: set[int], channel_ids: list[int] | None) -> int:
    values: dict[str, object] = {"sku_ids": sorted(sku_ids), "now": clock_of(session).now()}
    if channel_ids is None:
        result = session.execute(_MARK_DIRTY, values)
    else:
        result = session.execute(_MARK_DIRTY_ON_CHANNELS, {**values, "on_channels": channel_ids})
    # The channels whose listings were marked, not every channel selling from the
    # location: under runner procrastinate each gets a push task.
    marked = list(result.scalars())
    if marked:
        note_marked(session, marked)
    return len(marked)


def note_marked(session: Session, channel_ids: Iterable[int]) -> None:
    """Say that the transaction marked listings of these channels dirty (a push follows:
    at once for this process's scheduler, deferred before the commit by the queue's hook)."""
    session.info[LISTINGS_MARKED] = True
    session.info.setdefault(MARKED_ON_CHANNELS, set()).update(channel_ids)
