"""The push outbox: listings marked dirty in the same transaction as the stock change.

Nothing is pushed from inside a transaction; the sync engine reads dirty
listings after commit. A crash between commit and push loses nothing because
the dirty flag is itself committed data (invariant 6).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, literal, update
from sqlmodel import Session, col, select

from core.catalog import bundles_containing
from core.clock import utcnow
from core.models import Channel, Listing, Location
from core.types import LocationKind, UTCDateTime

LISTINGS_MARKED = "omnisync.listings_marked"
"""Session.info key set when a transaction marked listings dirty (a push should follow)."""


def channels_selling_from(session: Session, location_ids: Iterable[int]) -> list[int]:
    """Ids of the channels that sell from any of `location_ids`."""
    wanted = set(location_ids)
    locations = {loc.id: loc for loc in session.exec(select(Location))}
    shared = [
        loc_id
        for loc_id in wanted
        if loc_id in locations and locations[loc_id].kind != LocationKind.CHANNEL_MANAGED
    ]
    codes = {locations[loc_id].code for loc_id in wanted if loc_id in locations}
    result = []
    for channel in session.exec(select(Channel)):
        if channel.locations is None:
            if shared:
                result.append(channel.id)
        elif codes.intersection(channel.locations):
            result.append(channel.id)
    return [channel_id for channel_id in result if channel_id is not None]


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
    affected = changed | bundles_containing(session, changed)
    now = utcnow()
    statement = (
        update(Listing)
        .where(col(Listing.sku_id).in_(affected))
        .values(
            dirty=True,
            change_seq=Listing.change_seq + 1,
            dirty_since=func.coalesce(Listing.dirty_since, literal(now, UTCDateTime())),
            updated_at=now,
        )
    )
    if location_ids is not None:
        channel_ids = channels_selling_from(session, location_ids)
        if not channel_ids:
            return 0
        statement = statement.where(col(Listing.channel_id).in_(channel_ids))
    marked = int(getattr(session.execute(statement), "rowcount", 0) or 0)
    if marked:
        session.info[LISTINGS_MARKED] = True
    return marked


def mark_touched_dirty(session: Session, touched: Iterable[tuple[int, int]]) -> int:
    """Mark dirty the listings of every changed (sku, location) pair."""
    by_location: dict[int, set[int]] = {}
    for sku_id, location_id in touched:
        by_location.setdefault(location_id, set()).add(sku_id)
    return sum(
        mark_listings_dirty(session, sku_ids, [location_id])
        for location_id, sku_ids in by_location.items()
    )
