"""b1_ingest: orders through the real intake path (upsert, mapping to SKUs, reservation)
next to the same rows written by a plain bulk insert (the storage floor), in one run.

Each backend runs in its own process so its peak RSS is its own. Orders are
committed in pages of 50, as a sync job commits a page with its cursor.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert

from bench.process import median, peak_rss_mb, run_child
from core.catalog import LocationSpec, sync_locations, upsert_sku
from core.channels import ChannelSpec, channel_by_name, sync_channels
from core.db import create_all, make_engine, transaction
from core.dto import NormalisedOrder, NormalisedOrderLine
from core.ledger import receive_stock
from core.models import Order, OrderLine
from core.order_intake import upsert_order
from core.types import LocationKind, OrderStatus

PAGE = 50
CATALOGUE = 1000
ROUNDS = 3
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def generate_orders(count: int, seed: int = 7) -> list[NormalisedOrder]:
    rnd = random.Random(seed)  # noqa: S311 (reproducible data, not secrets)
    orders = []
    for number in range(count):
        at = T0 + timedelta(seconds=number)
        lines = tuple(
            NormalisedOrderLine(
                external_line_id=f"{number}-{index}",
                channel_sku=f"SKU-{rnd.randrange(CATALOGUE):05d}",
                quantity=rnd.randint(1, 2),
                unit_price=Decimal(rnd.randint(500, 5000)) / 100,
            )
            for index in range(rnd.choice((2, 3, 3, 4)))
        )
        orders.append(
            NormalisedOrder(
                external_id=f"B-{number:07d}",
                status=OrderStatus.ACCEPTED,
                placed_at=at,
                updated_at=at,
                currency="USD",
                total=sum((line.unit_price or Decimal(0)) * line.quantity for line in lines),
                lines=lines,
            )
        )
    return orders


def _prepare(engine: Engine) -> None:
    create_all(engine)
    with transaction(engine) as session:
        main = LocationSpec("main", "Main", LocationKind.WAREHOUSE)
        (location,) = sync_locations(session, [main])
        sync_channels(session, [ChannelSpec("bench", "bench", True, None, {})])
        for index in range(CATALOGUE):
            sku = upsert_sku(session, f"SKU-{index:05d}")
            receive_stock(session, sku, location, 1_000_000)


def _real_path(engine: Engine, orders: list[NormalisedOrder]) -> float:
    start = time.perf_counter()
    for first in range(0, len(orders), PAGE):
        with transaction(engine) as session:
            channel = channel_by_name(session, "bench")
            for order in orders[first : first + PAGE]:
                upsert_order(session, channel, order)
    return time.perf_counter() - start


def _bulk_floor(engine: Engine, orders: list[NormalisedOrder]) -> float:
    """The same order and line rows, inserted in bulk per page: what storage alone costs."""
    with transaction(engine) as session:
        channel_id = channel_by_name(session, "bench").id
    start = time.perf_counter()
    next_id = 10_000_000
    for first in range(0, len(orders), PAGE):
        page = orders[first : first + PAGE]
        order_rows: list[dict[str, Any]] = []
        line_rows: list[dict[str, Any]] = []
        for offset, order in enumerate(page):
            order_id = next_id + first + offset
            order_rows.append(
                {
                    "id": order_id,
                    "channel_id": channel_id,
                    "external_id": order.external_id,
                    "status": order.status,
                    "channel_status": "",
                    "placed_at": order.placed_at,
                    "updated_at": order.updated_at,
                    "currency": order.currency,
                    "total": order.total,
                    "fulfilled_by_channel": False,
                    "oversold": False,
                    "ingested_at": T0,
                    "modified_at": T0,
                }
            )
            line_rows.extend(
                {
                    "order_id": order_id,
                    "external_line_id": line.external_line_id,
                    "channel_sku": line.channel_sku,
                    "title": "",
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "quantity_shipped": 0,
                    "quantity_cancelled": 0,
                }
                for line in order.lines
            )
        with transaction(engine) as session:
            session.execute(insert(Order), order_rows)
            session.execute(insert(OrderLine), line_rows)
    return time.perf_counter() - start


def measure_backend(url_factory: Any, count: int) -> dict[str, Any]:
    orders = generate_orders(count)
    lines = sum(len(order.lines) for order in orders)
    real_times: list[float] = []
    floor_times: list[float] = []
    for _ in range(ROUNDS):
        for times, path in ((real_times, _real_path), (floor_times, _bulk_floor)):
            engine = make_engine(url_factory())
            _prepare(engine)
            times.append(path(engine, orders))
            engine.dispose()
    real, floor = median(real_times), median(floor_times)
    rows = count + lines
    return {
        "orders": count,
        "lines": lines,
        "orders_per_s": round(count / real, 1),
        "lines_per_s": round(lines / real, 1),
        "floor_rows_per_s": round(rows / floor, 1),
        "ratio": round((rows / real) / (rows / floor), 4),
        "peak_rss_mb": peak_rss_mb(),
        "rounds": ROUNDS,
    }


def _sqlite_urls() -> Any:
    folder = Path(tempfile.mkdtemp(prefix="omnisync-bench-"))
    counter = iter(range(1_000_000))
    return lambda: f"sqlite:///{folder / f'b1-{next(counter)}.db'}"


def _postgres_urls() -> Any:
    # The throwaway-schema helpers of the test suite; bench runs from the source tree.
    from tests.support.databases import postgres_schema, postgres_schema_url

    def fresh() -> str:
        context = postgres_schema()
        schema = context.__enter__()
        atexit.register(context.__exit__, None, None, None)
        return postgres_schema_url(schema)

    return fresh


def run(quick: bool) -> dict[str, Any]:
    count = "200" if quick else "2000"
    results = {"sqlite": run_child("bench.ingest", "--backend", "sqlite", "--orders", count)}
    if os.environ.get("OMNISYNC_TEST_POSTGRES_URL"):
        results["postgres"] = run_child("bench.ingest", "--backend", "postgres", "--orders", count)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgres"), required=True)
    parser.add_argument("--orders", type=int, default=2000)
    args = parser.parse_args()
    factory = _sqlite_urls() if args.backend == "sqlite" else _postgres_urls()
    print(json.dumps(measure_backend(factory, args.orders)))
