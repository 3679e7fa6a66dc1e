"""b1_ingest: orders from recorded payload shapes through the real intake path, next to
the same rows written by a plain bulk insert (the storage floor), in one run.

The real path is the orders job itself (sync/jobs/orders.py) fed by an in-process
connector that serves pages of JSON in the shapes of the recorded fixtures
(tests/contract/fixtures): Shopify GraphQL Order nodes and Amazon Orders API
2026-01-01 orders (searchOrders pages, each order with its orderItems), half the
orders each, in each connector's own
page size. Each page is parsed and mapped by the connector's mapping functions;
the job commits pages that come back to back together (up to BATCH_ORDERS
orders): orders upserted, lines bound to SKUs through listings, stock reserved,
listings marked dirty and the cursor advanced, in one transaction. HTTP is left
out: it is the channels' time, not ours (b3 and b4 measure it).

The floor is the same order and line rows, as mapped, inserted with one
executemany per table in the same transactions; mapping is not timed there.
Each backend runs in its own process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import Engine, func, insert, select

from bench.fixtures import database_url, insert_catalogue, insert_listings
from bench.process import median, peak_rss_mb, run_child
from omnisync.connectors.amazon import connector as amazon_connector
from omnisync.connectors.amazon.mapping import order_from_payload
from omnisync.connectors.base import Capability, Connector, ConnectorSettings
from omnisync.connectors.shopify import connector as shopify_connector
from omnisync.connectors.shopify.mapping import order_from_node
from omnisync.core.catalog import LocationSpec, sync_locations
from omnisync.core.channels import ChannelSpec, sync_channels
from omnisync.core.db import create_all, make_engine, transaction
from omnisync.core.dto import NormalisedOrder, OrderPage
from omnisync.core.models import Order, OrderLine, StockLevel
from omnisync.core.models.tables import table_of
from omnisync.core.types import LocationKind
from omnisync.sync.channels import SyncChannel
from omnisync.sync.jobs.context import JobContext
from omnisync.sync.jobs.counts import RunCount
from omnisync.sync.jobs.orders import BATCH_ORDERS, pull_orders

ORDERS = 20_000
QUICK_ORDERS = 400
ROUNDS = {"sqlite": 3, "postgres": 2}
"""Rounds of 20,000 orders that fit b1's share of `make bench` (about three minutes):
a PostgreSQL round takes about twice a SQLite one."""
CATALOGUE = 1000
AMAZON_ORDERS = "searchOrders"
"""The shape of the Amazon pages: Orders API 2026-01-01 searchOrders, items included."""
ON_HAND = 1_000_000
"""Plenty: oversold orders are b5's subject, not this one's."""
T0 = datetime(2026, 1, 1, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "contract" / "fixtures"
_orders = table_of(Order)
_lines = table_of(OrderLine)


@dataclass(frozen=True)
class ChannelFeed:
    """One channel's recorded pages: JSON text, and how to map one page of it."""

    name: str
    pages: list[str]
    map_page: Callable[[Any], list[NormalisedOrder]]
    orders: int
    lines: int
    orders_per_page: int


def _recorded(*parts: str) -> Any:
    return json.loads((FIXTURES.joinpath(*parts)).read_text())


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _basket(rnd: random.Random) -> list[tuple[str, int, Decimal]]:
    """About three (SKU code, quantity, unit price) lines, distinct SKUs."""
    count = rnd.choice((2, 3, 3, 4))
    return [
        (f"SKU-{index:05d}", rnd.randint(1, 2), Decimal(rnd.randint(500, 5000)) / 100)
        for index in rnd.sample(range(CATALOGUE), count)
    ]


def shopify_feed(count: int, rnd: random.Random) -> ChannelFeed:
    template = _recorded("shopify", "orders_page.json")["data"]["orders"]["nodes"][0]
    line_template = template["lineItems"]["nodes"][0]
    nodes = []
    for number in range(count):
        at = _iso(T0 + timedelta(seconds=number))
        node = copy.deepcopy(template)
        items = []
        for index, (code, quantity, price) in enumerate(_basket(rnd)):
            line = copy.deepcopy(line_template)
            line.update(
                id=f"gid://shopify/LineItem/{number}{index:02d}",
                sku=code,
                title=f"{code} title",
                quantity=quantity,
                currentQuantity=quantity,
                unfulfilledQuantity=quantity,
            )
            line["originalUnitPriceSet"]["shopMoney"]["amount"] = str(price)
            items.append(line)
        total = sum(
            Decimal(line["originalUnitPriceSet"]["shopMoney"]["amount"]) * line["quantity"]
            for line in items
        )
        node.update(id=f"gid://shopify/Order/{number}", name=f"#{number}")
        node.update(createdAt=at, updatedAt=at, displayFulfillmentStatus="UNFULFILLED")
        node["totalPriceSet"]["shopMoney"]["amount"] = str(total)
        node["lineItems"]["nodes"] = items
        nodes.append(node)
    size = shopify_connector.ORDERS_PER_PAGE
    pages = [json.dumps(nodes[first : first + size]) for first in range(0, len(nodes), size)]
    lines = sum(len(node["lineItems"]["nodes"]) for node in nodes)
    return ChannelFeed("shopify", pages, _map_shopify, len(nodes), lines, size)


def _map_shopify(nodes: Any) -> list[NormalisedOrder]:
    return [order_from_node(node, node["lineItems"]["nodes"]) for node in nodes]


def amazon_feed(count: int, rnd: random.Random) -> ChannelFeed:
    template = _recorded("amazon", "orders_page.json")["orders"][0]
    item_template = template["orderItems"][0]
    orders = []
    for number in range(count):
        at = _iso(T0 + timedelta(seconds=number))
        order = copy.deepcopy(template)
        items = []
        for index, (code, quantity, price) in enumerate(_basket(rnd)):
            item = copy.deepcopy(item_template)
            item["orderItemId"] = f"{number:09d}{index:02d}"
            item["quantityOrdered"] = quantity
            item["product"].update(sellerSku=code, title=f"{code} title")
            item["product"]["price"] = {"unitPrice": _amazon_money(price)}
            item["proceeds"] = {"proceedsTotal": _amazon_money(price * quantity)}
            item["fulfillment"] = {"quantityFulfilled": 0, "quantityUnfulfilled": quantity}
            items.append(item)
        total = sum(
            (Decimal(item["proceeds"]["proceedsTotal"]["amount"]) for item in items), Decimal(0)
        )
        order.update(orderId=f"113-{number:07d}-0000001", createdTime=at, lastUpdatedTime=at)
        order["fulfillment"]["fulfillmentStatus"] = "UNSHIPPED"
        order["proceeds"] = {"grandTotal": _amazon_money(total)}
        order["orderItems"] = items
        orders.append(order)
    size = amazon_connector.ORDERS_PER_PAGE
    pages = [json.dumps(orders[first : first + size]) for first in range(0, len(orders), size)]
    lines = sum(len(order["orderItems"]) for order in orders)
    return ChannelFeed("amazon", pages, _map_amazon, len(orders), lines, size)


def _amazon_money(amount: Decimal) -> dict[str, str]:
    return {"amount": str(amount), "currencyCode": "USD"}


def _map_amazon(orders: Any) -> list[NormalisedOrder]:
    return [order_from_payload(order) for order in orders]


def feeds(count: int, seed: int = 7) -> list[ChannelFeed]:
    rnd = random.Random(seed)  # noqa: S311 (reproducible data, not secrets)
    half = count // 2
    return [shopify_feed(half, rnd), amazon_feed(count - half, rnd)]


class RecordedPages(Connector):
    """Serves a feed's pages as a connector does: parsed, mapped, one OrderPage each."""

    channel_type: ClassVar[str] = "recorded"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.ORDERS})

    def __init__(self, feed: ChannelFeed) -> None:
        super().__init__(ConnectorSettings())
        self.feed = feed

    def fetch_orders(self, since: datetime | None) -> Iterator[OrderPage]:
        for text in self.feed.pages:
            orders = self.feed.map_page(json.loads(text))
            yield OrderPage(orders=tuple(orders), cursor=max(o.updated_at for o in orders))


@dataclass(frozen=True)
class Hub:
    channels: dict[str, int]
    """Channel name -> id."""
    sku_ids: dict[str, int]
    """SKU code -> id."""


def prepare(engine: Engine) -> Hub:
    """Schema, one warehouse, the catalogue with stock, listed and bound on both channels."""
    create_all(engine)
    with transaction(engine) as session:
        main = LocationSpec("main", "Main", LocationKind.WAREHOUSE)
        (location,) = sync_locations(session, [main])
        specs = [ChannelSpec(name, name, True, None, {}) for name in ("shopify", "amazon")]
        channels = {channel.name: channel.id or 0 for channel in sync_channels(session, specs)}
        location_id = location.id or 0
    codes = {f"SKU-{index:05d}": ON_HAND for index in range(CATALOGUE)}
    sku_ids = insert_catalogue(engine, codes, location_id)
    for channel_id in channels.values():
        insert_listings(engine, channel_id, sku_ids, acknowledged=lambda code: ON_HAND)
    return Hub(channels, sku_ids)


def real_path(engine: Engine, hub: Hub, channel_feeds: list[ChannelFeed]) -> dict[str, float]:
    """The orders job over each feed; seconds per channel."""
    seconds = {}
    created = 0
    for feed in channel_feeds:
        context = JobContext(
            engine,
            hub.channels[feed.name],
            SyncChannel(feed.name, RecordedPages.channel_type, True, ConnectorSettings()),
            RecordedPages(feed),
            threading.Event(),
            threading.Event(),
        )
        start = time.perf_counter()
        pull_orders(context)
        seconds[feed.name] = time.perf_counter() - start
        created += context.counts[RunCount.CREATED]
    _check_reserved(engine, channel_feeds, created)
    return seconds


def _check_reserved(engine: Engine, channel_feeds: list[ChannelFeed], created: int) -> None:
    """A measure that silently did less than its work would flatter us: refuse it."""
    orders = sum(feed.orders for feed in channel_feeds)
    with transaction(engine, read_only=True) as session:
        reserved = session.execute(select(func.sum(StockLevel.reserved))).scalar_one()
        ordered = session.execute(select(func.sum(OrderLine.quantity))).scalar_one()
    if created != orders or reserved != ordered:
        raise RuntimeError(
            f"the real path created {created} of {orders} orders and reserved {reserved} "
            f"of {ordered} units"
        )


def bulk_floor(engine: Engine, hub: Hub, channel_feeds: list[ChannelFeed]) -> dict[str, float]:
    """The same order and line rows, inserted in bulk in the job's transactions (pages
    together up to its BATCH_ORDERS): what storage alone costs. Mapping is done but not
    timed; seconds per channel."""
    seconds = {}
    next_id = 1
    for feed in channel_feeds:
        seconds[feed.name] = 0.0
        for orders in _transactions(feed):
            order_rows, line_rows = _rows(hub, hub.channels[feed.name], orders)
            for row in order_rows:
                row["id"], next_id = next_id, next_id + 1
            for line in line_rows:
                line["order_id"] = order_rows[line.pop("index")]["id"]
            start = time.perf_counter()
            with transaction(engine) as session:
                session.execute(insert(_orders), order_rows)
                session.execute(insert(_lines), line_rows)
            seconds[feed.name] += time.perf_counter() - start
    return seconds


def _transactions(feed: ChannelFeed) -> Iterator[list[NormalisedOrder]]:
    """The feed's orders grouped as the orders job commits them."""
    batch: list[NormalisedOrder] = []
    for text in feed.pages:
        batch += feed.map_page(json.loads(text))
        if len(batch) >= BATCH_ORDERS:
            yield batch
            batch = []
    if batch:
        yield batch


def _rows(
    hub: Hub, channel_id: int, orders: list[NormalisedOrder]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    now = datetime.now(UTC)
    order_rows = [
        {
            "channel_id": channel_id,
            "external_id": order.external_id,
            "status": order.status,
            "channel_status": order.channel_status,
            "status_reason": order.status_reason,
            "placed_at": order.placed_at,
            "updated_at": order.updated_at,
            "currency": order.currency,
            "total": order.total,
            "customer": order.customer,
            "ship_to": order.ship_to,
            "raw": order.raw,
            "fulfilled_by_channel": order.fulfilled_by_channel,
            "oversold": False,
            "ingested_at": now,
            "modified_at": now,
        }
        for order in orders
    ]
    line_rows = [
        {
            "index": index,
            "external_line_id": line.external_line_id,
            "channel_sku": line.channel_sku,
            "sku_id": hub.sku_ids.get(line.channel_sku),
            "title": line.title,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "quantity_shipped": line.quantity_shipped or 0,
            "quantity_cancelled": line.quantity_cancelled,
        }
        for index, order in enumerate(orders)
        for line in order.lines
    ]
    return order_rows, line_rows


def measure_backend(backend: str, count: int, rounds: int) -> dict[str, Any]:
    channel_feeds = feeds(count)
    real: list[dict[str, float]] = []
    floor: list[dict[str, float]] = []
    for _ in range(rounds):
        for times, path in ((real, real_path), (floor, bulk_floor)):
            with database_url(backend) as url:
                engine = make_engine(url)
                hub = prepare(engine)
                times.append(path(engine, hub, channel_feeds))
                engine.dispose()
    orders = sum(feed.orders for feed in channel_feeds)
    lines = sum(feed.lines for feed in channel_feeds)
    return {
        **_figures(
            orders, lines, [sum(r.values()) for r in real], [sum(f.values()) for f in floor]
        ),
        "peak_rss_mb": peak_rss_mb(),
        "amazon_orders": AMAZON_ORDERS,
        "rounds": rounds,
        "real_s": [round(sum(r.values()), 2) for r in real],
        "floor_s": [round(sum(f.values()), 2) for f in floor],
        "by_channel": {
            feed.name: {
                **_figures(
                    feed.orders,
                    feed.lines,
                    [r[feed.name] for r in real],
                    [f[feed.name] for f in floor],
                ),
                "orders_per_page": feed.orders_per_page,
            }
            for feed in channel_feeds
        },
    }


def _figures(orders: int, lines: int, real: list[float], floor: list[float]) -> dict[str, Any]:
    """Rates from the medians of the rounds; ratio = real rows/s over floor rows/s."""
    real_s, floor_s = median(real), median(floor)
    return {
        "orders": orders,
        "lines": lines,
        "orders_per_s": round(orders / real_s, 1),
        "lines_per_s": round(lines / real_s, 1),
        "floor_rows_per_s": round((orders + lines) / floor_s, 1),
        "ratio": round(floor_s / real_s, 4),
    }


def run(quick: bool) -> dict[str, Any]:
    backends = ["sqlite", *(["postgres"] if os.environ.get("OMNISYNC_TEST_POSTGRES_URL") else [])]
    results = {}
    for backend in backends:
        count, rounds = (QUICK_ORDERS, 1) if quick else (ORDERS, ROUNDS[backend])
        arguments = ("--backend", backend, "--orders", str(count), "--rounds", str(rounds))
        results[backend] = run_child("bench.ingest", *arguments)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=sorted(ROUNDS), required=True)
    parser.add_argument("--orders", type=int, default=ORDERS)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(measure_backend(args.backend, args.orders, args.rounds)))
