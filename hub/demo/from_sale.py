"""Propagation from the buyer's sale: until every other channel holds the new quantity.

`propagation_ms` (the engine's push observer) runs from the commit of a stock change to
a channel's acknowledgement. A seller lives the whole path: a buyer buys on one
channel, the hub hears of it (webhook, notification or poll) and commits the order,
and pushes the new quantity to every other channel; until then the others may sell
the same unit. So, for each order the demo's buyers placed:

- the sale is the marketplace's own stamp of the order (`DemoMarket.sale_time`);
- the intake is when the hub committed it: the order's `ingested_at`, read inside the
  transaction that stored it (`intake_ms` = intake - sale);
- on each other channel, each listing of a SKU the order sold (a bundle's own
  listings, not its components'), the push that carried the order is the first one
  acknowledged after the intake whose listing was dirty since no later than the end of
  that transaction (`INTAKE_TRANSACTION`). A listing whose next push turned dirty
  later needed none: its quantity did not change (it was sold out already, say), so it
  held the new quantity from the start;
- `from_sale_ms` = the latest of those acknowledgements - the sale. An order no other
  channel needed a push for gives no sample.

The simulators and the hub read the same wall clock, in one process, so their stamps
compare. A push that read the stock just before the commit and was acknowledged just
after it counts as the one that carried the order: a sample may be one push early.
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from sqlmodel import Session, col, select

from omnisync.core.models import Channel, Listing, Order, OrderEventIntake, OrderLine

INTAKE_TRANSACTION: Final = timedelta(seconds=1)
"""How long after an order's `ingested_at` its transaction may still mark listings
dirty: far longer than the demo's intake transactions last."""


@dataclass(frozen=True)
class Sale:
    """An order a buyer placed: on which channel, its id there, when it was bought."""

    channel: str
    order_id: str
    sold_at: datetime


@dataclass(frozen=True, order=True)
class Ack:
    """A push a channel acknowledged, of a listing dirty since `dirty_since`."""

    acknowledged_at: datetime
    dirty_since: datetime


@dataclass
class SaleLog:
    """The sales and the acknowledged pushes, recorded from the buyers' and the engines'
    threads while the demo runs."""

    sales: list[Sale] = field(default_factory=list)
    acks: dict[tuple[str, str], list[Ack]] = field(default_factory=lambda: defaultdict(list))
    """(channel, channel SKU) -> its pushes, in the order they were recorded."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sold(self, channel: str, order_id: str, sold_at: datetime) -> None:
        with self.lock:
            self.sales.append(Sale(channel, order_id, sold_at))

    def pushed(
        self, channel: str, channel_sku: str, dirty_since: datetime, acknowledged_at: datetime
    ) -> None:
        with self.lock:
            self.acks[(channel, channel_sku)].append(Ack(acknowledged_at, dirty_since))


@dataclass
class SaleDelays:
    """Per origin channel, in milliseconds: sale to order committed, sale to every other
    channel holding the new quantity."""

    intake_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    from_sale_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))


@dataclass(frozen=True)
class StoredOrder:
    """An order as the hub stored it: when it was taken in, the SKUs it sold."""

    ingested_at: datetime
    sku_ids: frozenset[int]


@dataclass(frozen=True)
class HubView:
    """What the hub holds, by channel name: its orders by external id, and the channel
    SKUs of its listings by hub SKU id."""

    orders: dict[str, dict[str, StoredOrder]]
    listings: dict[str, dict[int, list[str]]]


def measure_from_sale(session: Session, log: SaleLog, names: Iterable[str]) -> SaleDelays:
    """The delays of every sale in `log` the hub holds, among the channels `names`."""
    with log.lock:
        sales = list(log.sales)
        acks = {key: sorted(found) for key, found in log.acks.items()}
    return sale_delays(sales, acks, hub_view(session, names))


def hub_view(session: Session, names: Iterable[str]) -> HubView:
    """The orders and bound listings of the channels `names`."""
    channels = {
        channel.id: channel.name
        for channel in session.exec(select(Channel).where(col(Channel.name).in_(list(names))))
        if channel.id is not None
    }
    sku_ids: dict[int, set[int]] = defaultdict(set)
    for line_order_id, sku_id in session.exec(
        select(OrderLine.order_id, OrderLine.sku_id).where(col(OrderLine.sku_id).is_not(None))
    ):
        sku_ids[line_order_id].add(sku_id or 0)
    view = HubView(orders=defaultdict(dict), listings=defaultdict(lambda: defaultdict(list)))
    for order_id, channel_id, external_id, ingested_at in session.exec(
        select(Order.id, Order.channel_id, Order.external_id, Order.ingested_at).where(
            col(Order.channel_id).in_(list(channels))
        )
    ):
        lines = frozenset(sku_ids.get(order_id or 0, ()))
        view.orders[channels[channel_id]][external_id] = StoredOrder(ingested_at, lines)
    for channel_id, sku_id, channel_sku in session.exec(
        select(Listing.channel_id, Listing.sku_id, Listing.channel_sku).where(
            col(Listing.channel_id).in_(list(channels)), col(Listing.sku_id).is_not(None)
        )
    ):
        view.listings[channels[channel_id]][sku_id or 0].append(channel_sku)
    return view


def sale_delays(
    sales: Iterable[Sale], acks: Mapping[tuple[str, str], list[Ack]], hub: HubView
) -> SaleDelays:
    """Per origin channel, the delays of the `sales` the hub holds; `acks` (by channel
    and channel SKU) sorted."""
    delays = SaleDelays()
    for sale in sales:
        order = hub.orders.get(sale.channel, {}).get(sale.order_id)
        if order is None:
            continue  # lost: the report counts it elsewhere
        delays.intake_ms[sale.channel].append(_ms(order.ingested_at - sale.sold_at))
        carried = [
            moment
            for name, listings in hub.listings.items()
            if name != sale.channel
            for sku_id in order.sku_ids
            for channel_sku in listings.get(sku_id, [])
            if (moment := _push_carrying(acks.get((name, channel_sku), []), order.ingested_at))
            is not None
        ]
        if carried:
            delays.from_sale_ms[sale.channel].append(_ms(max(carried) - sale.sold_at))
    return delays


def _push_carrying(acks: list[Ack], ingested_at: datetime) -> datetime | None:
    """When the push that carried an order taken in at `ingested_at` was acknowledged
    (`acks` sorted); None when the listing needed none."""
    first = bisect.bisect_left(acks, ingested_at, key=lambda ack: ack.acknowledged_at)
    if first == len(acks):
        return None
    ack = acks[first]
    if ack.dirty_since > ingested_at + INTAKE_TRANSACTION:
        return None  # dirtied by a later change: this order left its quantity as it was
    return ack.acknowledged_at


def events_taken(session: Session) -> dict[str, int]:
    """Per channel that hears orders by events: how many the hub took in."""
    return {
        name: count
        for name, count in session.exec(
            select(Channel.name, OrderEventIntake.events_taken).join(
                OrderEventIntake, col(OrderEventIntake.channel_id) == Channel.id
            )
        )
    }


def _ms(delta: timedelta) -> float:
    return delta.total_seconds() * 1000
