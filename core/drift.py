"""Drift: a channel holding a quantity the hub did not push.

Someone edited stock on the channel's own side (Shopify admin, a POS app), or
a push was lost. The hub is the source of truth: the listing takes the
channel's figure as what the channel now holds (so the next compare-and-set
starts from it) and is marked dirty, so the hub's own figure goes back out in
seconds. An echo of our own push, or a report of the figure the hub wants
anyway, is not drift and changes nothing but the acknowledged quantity.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, literal, update
from sqlmodel import Session, col, select

from omnisync.core.availability import available_to_sell
from omnisync.core.clock import clock_of
from omnisync.core.dto import ObservedQuantity
from omnisync.core.models import Channel, Listing
from omnisync.core.outbox import note_marked
from omnisync.core.types import UTCDateTime


@dataclass(frozen=True)
class Drift:
    channel_sku: str
    channel_quantity: int
    """What the channel said it holds."""
    hub_quantity: int
    """What the hub wants the channel to offer."""
    last_acknowledged: int | None
    """What the channel last acknowledged from us."""


def observe_quantity(session: Session, channel: Channel, seen: ObservedQuantity) -> Drift | None:
    """Record what the channel holds for one listing; the drift if the hub disagrees.

    Returns None for a listing the hub does not know or does not bind to a SKU,
    and when the channel holds what the hub wants or what it last acknowledged.
    """
    listing = session.exec(
        select(Listing).where(
            Listing.channel_id == channel.id,
            col(Listing.channel_ids)[seen.key].as_string() == seen.value,
        )
    ).first()
    if listing is None or listing.sku_id is None or listing.id is None:
        return None
    wanted = available_to_sell(session, channel, [listing.sku_id])[listing.sku_id]
    previous = listing.last_ack_quantity
    drifted = seen.quantity not in (wanted, previous)
    values: dict[str, object] = {"last_ack_quantity": seen.quantity}
    if drifted:
        now = clock_of(session).now()
        values.update(
            dirty=True,
            change_seq=Listing.change_seq + 1,
            dirty_since=func.coalesce(Listing.dirty_since, literal(now, UTCDateTime())),
            next_attempt_at=None,
            updated_at=now,
        )
        note_marked(session, [listing.channel_id])
    session.execute(update(Listing).where(col(Listing.id) == listing.id).values(**values))
    if not drifted:
        return None
    return Drift(listing.channel_sku, seen.quantity, wanted, previous)
