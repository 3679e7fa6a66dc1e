"""What no hub SKU takes: open order lines and listings bound to no SKU (`unlinked_listings`).

An order line whose channel SKU names no hub SKU is stored unbound and reserves
nothing; a listing the hub cannot link is stored unlinked and is never pushed.
Both are losses of control over stock, so the channel's `unlinked_listings` alert
names them (order and channel SKU, listing key) for as long as any exist: an
open line at once (a sale that reserves nothing is an oversell in the making), a
listing once it has been unlinked for `alert_rules.unlinked_after` (default 1 h;
a seller onboarding a channel links its listings in that time):

- order intake notes each order whose open lines it stores unbound, counting one
  occurrence per newly named line (so a page ends as its orders one at a time);
- the listings job, after binding what it can, and the orders job, after a run
  that changed orders, refresh it from the database: opened, renamed or resolved;
- linking and unlinking (core/listing_links.py) refresh it the same way;
- the hub's alert pass (sync/alerts.py) refreshes it for every channel: it opens it
  for listings that crossed `unlinked_after`, and resolves it once nothing is unlinked.

Only lines that matter count: open units of an order that holds stock and is
not fulfilled by the channel. A line stops counting when it binds (the SKU is
added to the hub, or set on the channel and the listings job binds it) or when
its order ships, is cancelled or otherwise stops holding stock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import exists
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, func, or_, select

from omnisync.core.alerting import RULE_UNLINKED, current_alert, open_alert, resolve_alert
from omnisync.core.clock import clock_of
from omnisync.core.models import Alert, Channel, Listing, Order, OrderLine
from omnisync.core.types import OrderStatus

UNLINKED_AFTER = timedelta(hours=1)
"""How long a listing may stay unlinked before the alert names it, unless hub.yaml's
`alert_rules.unlinked_after` says otherwise."""
DETAILS_KEPT = 50
"""Lines and listings an alert lists in its details (the counts say how many in all)."""
NAMED_IN_MESSAGE = 5
_HOLDING = [status for status in OrderStatus if status.holds_stock]
_ChannelKey = int | None | Mapped[int | None]
"""A channel's id, or the channels table's id column to correlate a subquery with."""


@dataclass(frozen=True)
class Unlinked:
    """What a channel has unbound: the first lines and listings, and how many in all."""

    lines: tuple[tuple[str, str], ...] = ()
    """(order external id, channel SKU) of open lines bound to no hub SKU."""
    line_count: int = 0
    listings: tuple[str, ...] = ()
    """Keys (channel SKU, else the channel's own id) of listings bound to no hub SKU."""
    listing_count: int = 0

    @property
    def empty(self) -> bool:
        return not (self.line_count or self.listing_count)

    def names(self) -> set[str]:
        return {f"line {order} {sku}" for order, sku in self.lines} | {
            f"listing {key}" for key in self.listings
        }

    def details(self) -> dict[str, Any]:
        return {
            "lines": [{"order": order, "channel_sku": sku} for order, sku in self.lines],
            "line_count": self.line_count,
            "listings": list(self.listings),
            "listing_count": self.listing_count,
        }

    @classmethod
    def from_details(cls, details: dict[str, Any] | None) -> Unlinked:
        known = details or {}
        lines = tuple(
            (str(line["order"]), str(line["channel_sku"])) for line in known.get("lines") or []
        )
        listings = tuple(str(key) for key in known.get("listings") or [])
        return cls(
            lines,
            int(known.get("line_count") or len(lines)),
            listings,
            int(known.get("listing_count") or len(listings)),
        )

    def message(self) -> str:
        parts = []
        if self.line_count:
            named = [f"order {order} ({sku})" for order, sku in self.lines]
            parts.append(
                f"{self.line_count} open order line(s) reserve nothing, their channel SKU "
                f"bound to no hub SKU: {_first_few(named, self.line_count)}"
            )
        if self.listing_count:
            parts.append(
                f"{self.listing_count} listing(s) bound to no hub SKU: "
                f"{_first_few(self.listings, self.listing_count)}"
            )
        return "; ".join(parts) + (
            ". Link them (`omnisync listings link`, `listings auto-link`, `catalog import`), "
            "add the SKUs to the hub or set them on the channel"
        )


def _first_few(names: Iterable[str], total: int) -> str:
    shown = list(names)[:NAMED_IN_MESSAGE]
    return ", ".join(shown) + (", ..." if total > len(shown) else "")


def _unbound_open_lines(channel_id: _ChannelKey) -> tuple[Any, ...]:
    return (
        Order.channel_id == channel_id,
        col(OrderLine.sku_id).is_(None),
        col(Order.status).in_(_HOLDING),
        col(Order.fulfilled_by_channel).is_(False),
        OrderLine.quantity > OrderLine.quantity_shipped + OrderLine.quantity_cancelled,
    )


def _unbound_listings(
    session: Session, channel_id: _ChannelKey, unlinked_after: timedelta
) -> tuple[Any, ...]:
    cutoff = clock_of(session).now() - unlinked_after
    return (
        Listing.channel_id == channel_id,
        col(Listing.sku_id).is_(None),
        or_(col(Listing.unlinked_since).is_(None), col(Listing.unlinked_since) <= cutoff),
    )


def find_unlinked(
    session: Session, channel_id: int | None, unlinked_after: timedelta = UNLINKED_AFTER
) -> Unlinked:
    """The channel's unbound open lines (oldest order first) and the listings unlinked for
    at least `unlinked_after`."""
    line_rows = session.exec(
        select(Order.external_id, OrderLine.channel_sku)
        .join(Order, col(Order.id) == OrderLine.order_id)
        .where(*_unbound_open_lines(channel_id))
        .order_by(col(Order.placed_at), col(Order.id), col(OrderLine.id))
        .limit(DETAILS_KEPT)
    ).all()
    line_count = session.exec(
        select(func.count())
        .select_from(OrderLine)
        .join(Order, col(Order.id) == OrderLine.order_id)
        .where(*_unbound_open_lines(channel_id))
    ).one()
    listings = _unbound_listings(session, channel_id, unlinked_after)
    listing_keys = session.exec(
        select(Listing.channel_sku)
        .where(*listings)
        .order_by(col(Listing.channel_sku))
        .limit(DETAILS_KEPT)
    ).all()
    listing_count = session.exec(select(func.count()).select_from(Listing).where(*listings)).one()
    lines = tuple(dict.fromkeys((order, sku) for order, sku in line_rows))
    return Unlinked(lines, line_count, tuple(listing_keys), listing_count)


def unbound_channel_skus(session: Session, channel_id: int | None) -> list[str]:
    """The channel SKUs of the channel's unbound open lines, each once."""
    return list(
        session.exec(
            select(OrderLine.channel_sku)
            .join(Order, col(Order.id) == OrderLine.order_id)
            .where(*_unbound_open_lines(channel_id))
            .distinct()
        )
    )


def channels_with_unlinked(
    session: Session, unlinked_after: timedelta = UNLINKED_AFTER
) -> set[int]:
    """The channels that have an unbound open line or a listing unlinked for at least
    `unlinked_after`, in one query for every channel: an EXISTS of each, correlated with
    the channel row, stops at its first line or listing."""
    channel = col(Channel.id)
    lines = exists().where(col(Order.id) == OrderLine.order_id, *_unbound_open_lines(channel))
    listings = exists().where(*_unbound_listings(session, channel, unlinked_after))
    found = session.exec(select(channel).where(or_(lines, listings)))
    return {channel_id for channel_id in found if channel_id is not None}


def note_unlinked_lines(
    session: Session, channel_id: int | None, external_id: str, channel_skus: Iterable[str]
) -> Alert | None:
    """Order `external_id` keeps open lines of these channel SKUs unbound: open the alert,
    or name them in the open one (one occurrence more if any was not named yet)."""
    alert = current_alert(session, RULE_UNLINKED, channel_id)
    known = Unlinked.from_details(alert.details if alert else None)
    new = [
        (external_id, sku)
        for sku in dict.fromkeys(channel_skus)
        if (external_id, sku) not in known.lines
    ]
    if not new:
        return None
    noted = Unlinked(
        (*known.lines, *new)[-DETAILS_KEPT:],
        known.line_count + len(new),
        known.listings,
        known.listing_count,
    )
    return open_alert(session, RULE_UNLINKED, channel_id, noted.message(), details=noted.details())


def refresh_unlinked_alert(
    session: Session, channel_id: int | None, unlinked_after: timedelta = UNLINKED_AFTER
) -> bool:
    """Make the channel's alert say what is unlinked now: open or rename it while anything
    is, resolve it once nothing is. The alert is locked before the condition is read.
    True while it is open."""
    alert = current_alert(session, RULE_UNLINKED, channel_id)
    found = find_unlinked(session, channel_id, unlinked_after)
    if found.empty:
        if alert is not None:
            resolve_alert(session, RULE_UNLINKED, channel_id)
        return False
    known = Unlinked.from_details(alert.details if alert else None)
    open_alert(
        session,
        RULE_UNLINKED,
        channel_id,
        found.message(),
        details=found.details(),
        new_occurrence=alert is None or bool(found.names() - known.names()),
    )
    return True
