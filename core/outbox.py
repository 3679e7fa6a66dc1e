"""The push outbox: listings marked dirty in the same transaction as the stock change.

Nothing is pushed from inside a transaction; the sync engine reads dirty
listings after commit. A crash between commit and push loses nothing because
the dirty flag is itself committed data (invariant 6).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import BindParameter, Text, bindparam, cast, func, or_, select, update
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
_LISTED = select(_channels.c.id, _channels.c.locations).where(
    _channels.c.locations.is_not(None), cast(_channels.c.locations, Text) != "null"
)
"""The channels that keep a list of locations (JSON null or SQL NULL: every location)."""
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
    (_listings.c.channel_id + 0).in_(bindparam("channels", expanding=True))
)
_MARK_DIRTY_OFF_CHANNELS = _MARK_DIRTY.where(
    (_listings.c.channel_id + 0).not_in(bindparam("channels", expanding=True))
)


@dataclass(frozen=True)
class _Selling:
    """Which channels sell from a location, by the list that stays short: every channel but
    `ids` (`every_but`: a location every channel without a list of its own sells from, and
    most channels keep none), or only `ids` (a channel-managed location, which only the
    channels naming it sell from)."""

    every_but: bool
    ids: tuple[int, ...]


def _selling(session: Session, location_ids: Iterable[int]) -> dict[int, _Selling]:
    """For each of `location_ids`: the channels that sell from it (a channel without a list
    of its own sells from every location that is not channel-managed). Reads only the
    channels that keep a list: at 1,000 channels, every stock change read every one."""
    locations = session.execute(_LOCATIONS, {"location_ids": sorted(set(location_ids))}).all()
    listed = [(channel_id, set(codes)) for channel_id, codes in session.execute(_LISTED)]
    selling: dict[int, _Selling] = {}
    for location_id, code, kind in locations:
        if kind == LocationKind.CHANNEL_MANAGED:
            ids = [channel_id for channel_id, codes in listed if code in codes]
            selling[location_id] = _Selling(False, tuple(sorted(ids)))
        else:
            ids = [channel_id for channel_id, codes in listed if code not in codes]
            selling[location_id] = _Selling(True, tuple(sorted(ids)))
    return selling


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
    return sum(
        _mark(session, changed, channels)
        for channels in _union(list(_selling(session, location_ids).values()))
    )


def _union(sellings: list[_Selling]) -> list[_Selling]:
    """The channels selling from any of the locations, as one filter (none when none sell)."""
    if not sellings:
        return []
    if any(selling.every_but for selling in sellings):
        # Every channel but those that sell from none of them.
        excluded = set.intersection(*(set(s.ids) for s in sellings if s.every_but))
        for selling in sellings:
            if not selling.every_but:
                excluded -= set(selling.ids)
        return [_Selling(True, tuple(sorted(excluded)))]
    ids = sorted({channel_id for selling in sellings for channel_id in selling.ids})
    return [_Selling(False, tuple(ids))] if ids else []


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
    return _mark(session, set(raised), _Selling(False, (channel_id,))) if raised else 0


def mark_touched_dirty(session: Session, touched: Iterable[tuple[int, int]]) -> int:
    """Mark dirty the listings of every changed (sku, location) pair: a listing is
    marked if its channel sells from a location where its SKU changed."""
    by_location: dict[int, set[int]] = {}
    for sku_id, location_id in touched:
        by_location.setdefault(location_id, set()).add(sku_id)
    if not by_location:
        return 0
    # Locations sold by the same channels share one UPDATE (usually all of them do).
    by_channels: dict[_Selling, set[int]] = {}
    for location_id, channels in _selling(session, by_location).items():
        if channels.every_but or channels.ids:
            by_channels.setdefault(channels, set()).update(by_location[location_id])
    return sum(_mark(session, sku_ids, channels) for channels, sku_ids in by_channels.items())


def _mark(session: Session, sku_ids: set[int], channels: _Selling | None) -> int:
    """Mark the listings of `sku_ids` (and of bundles of them) on `channels` (None: every
    channel)."""
    values: dict[str, object] = {"sku_ids": sorted(sku_ids), "now": clock_of(session).now()}
    if channels is None or (channels.every_but and not channels.ids):
        result = session.execute(_MARK_DIRTY, values)
    elif channels.every_but:
        result = session.execute(_MARK_DIRTY_OFF_CHANNELS, {**values, "channels": channels.ids})
    else:
        result = session.execute(_MARK_DIRTY_ON_CHANNELS, {**values, "channels": channels.ids})
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
