"""b3_propagation: how long a sale on one channel takes to reach the others.

A hub wired as `omnisync run` wires it (HubRunner: SyncEngine, Scheduler, the HTTP
server for webhooks) on SQLite, with three simulators at their published limits:
Shopify (cost bucket 1000, restore 100/s; orders by signed webhook), Amazon
(rate_scale 1: patchListingsItem 5/s burst 5, getOrders burst 20 then one a minute,
getOrderItems 0.5/s burst 30; orders by polling getOrders) and a sandbox marketplace
(10 requests/s, burst 20; orders polled every second). Every SKU is listed on all
three with the same quantity. Buyers then make single-unit purchases on random
channels (seeded), each on a SKU not sold before in the run, at random (Poisson)
moments.

For each sale: t0 is the commit of its reservation in the hub (a Session
after_commit hook), t1 the moment the last of the *other* channels applied the new
quantity (the simulators record when they applied each quantity). The measure is
t1 - t0: how a sale reaches the hub is excluded, and reported apart as the
ingestion delay (sale placed to commit): a webhook for Shopify, the orders job every
AMAZON_ORDERS_EVERY_S for Amazon (its getOrders burst covers the run; sustained,
Amazon allows one call a minute, and reads orders only two minutes after their
last update; the simulator here asks one second), every second for the sandbox.

The floor (bench/rate_floor.py) is the same sequence of commits played through each
channel's published limit with no hub at all: every other channel wants the new
quantity at t0, and takes it in a call as soon as its bucket allows, batched as the
channel batches (Shopify 250 quantities for 10 points, the sandbox 100 per request,
Amazon one SKU per patchListingsItem). The hub also pushes to the channel a sale came
from (the sale lowered that channel's quantity; the hub still confirms its own
figure); the floor does not, so it is a strict lower bound.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import tempfile
import textwrap
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, event
from sqlmodel import Session, col, select

from bench.process import peak_rss_mb, run_child
from bench.rate_floor import Limit, floor_delays
from omnisync.connectors.shopify import documents
from omnisync.core.catalog import location_by_code, upsert_sku
from omnisync.core.db import transaction
from omnisync.core.ledger import count_stock
from omnisync.core.models import Reservation, Sku, SyncRun
from omnisync.core.outbox import LISTINGS_MARKED
from omnisync.core.types import SyncRunStatus
from omnisync.hub.bootstrap import bootstrap
from omnisync.hub.demo.run import percentile
from omnisync.hub.runner import HubRunner
from omnisync.sandbox.amazon import AmazonSimulator, LwaCredentials
from omnisync.sandbox.clock import parse_iso
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sandbox.shopify import ShopifySimulator
from omnisync.sync.jobs.names import JobName

SALES: Final = 200
QUICK_SALES: Final = 30
SALES_PER_S: Final = 3.0
QUICK_SALES_PER_S: Final = 5.0
UNSOLD_SHARE: Final = 0.25
"""Listed SKUs nobody buys, on top of one per sale (the push reads them too)."""
STOCK: Final = 5
SEED: Final = 8
LOCATION: Final = "Main warehouse"
TOKEN_VARIABLE: Final = "BENCH_PROPAGATION_TOKEN"  # noqa: S105 (a variable's name)
SECRET_VARIABLE: Final = "BENCH_PROPAGATION_SECRET"  # noqa: S105 (a variable's name)

AMAZON_ORDERS_EVERY_S: Final = 6
"""Within getOrders' burst of 20 for the ~100 s a run lasts."""
AMAZON_ORDERS_LAG: Final = timedelta(seconds=1)
AMAZON_SETTLE_S: Final = 1.2
AMAZON_FEED_DELAY_S: Final = 2.0
"""Only the start-up reconcile goes by feed (see feed_threshold)."""
SANDBOX_RATE: Final = 10.0
SANDBOX_BURST: Final = 20
STARTUP_TIMEOUT_S: Final = 90.0
SETTLE_TIMEOUT_S: Final = 150.0
"""After the last sale: the last Amazon orders wait for getOrderItems tokens."""


LIMITS: Final = {
    "shopify": Limit(100.0, 1000.0, float(documents.REQUESTED_COST["SetQuantities"]), 250),
    "amazon": Limit(5.0, 5.0, 1.0, 1),
    "sandbox": Limit(SANDBOX_RATE, float(SANDBOX_BURST), 1.0, 100),
}
CHANNELS: Final = tuple(LIMITS)


@dataclass(frozen=True)
class PlannedSale:
    at: float
    """Seconds after the first sale."""
    sku: str
    channel: str


def plan_sales(
    count: int, codes: Sequence[str], channels: Sequence[str], per_second: float, seed: int
) -> list[PlannedSale]:
    """`count` single-unit sales at Poisson moments, each of a different SKU."""
    if count > len(codes):
        raise ValueError(f"{count} sales need {count} SKUs, not {len(codes)}")
    rnd = random.Random(seed)  # noqa: S311 (a simulation, not secrets)
    moment = 0.0
    sales = []
    for sku in rnd.sample(list(codes), count):
        sales.append(PlannedSale(moment, sku, rnd.choice(list(channels))))
        moment += rnd.expovariate(per_second)
    return sales


@dataclass(frozen=True)
class SaleRecord:
    sku: str
    channel: str
    placed_at: float
    """Epoch seconds when the channel had the order."""


class CommitClock:
    """Epoch seconds at which each SKU's first reservation was committed.

    A transaction that changed stock marked listings dirty (the outbox's session flag);
    just before it commits, the reservations it can see that were not seen before are
    its own (another transaction's are not visible until committed, and were timed at
    their own commit). The time taken after the commit is that of the commit itself."""

    KEY: Final = "bench.new_reservations"

    def __init__(self) -> None:
        self.committed: dict[int, float] = {}
        self._seen: set[int] = set()
        self._lock = threading.Lock()

    @contextmanager
    def installed(self) -> Iterator[CommitClock]:
        hooks: list[tuple[str, Callable[..., None]]] = [
            ("before_commit", self._before_commit),
            ("after_commit", self._after_commit),
            ("after_rollback", self._after_rollback),
        ]
        for name, hook in hooks:
            event.listen(Session, name, hook)
        try:
            yield self
        finally:
            for name, hook in hooks:
                event.remove(Session, name, hook)

    def _before_commit(self, session: Session) -> None:
        if not session.info.get(LISTINGS_MARKED):
            return
        rows = session.execute(select(Reservation.id, Reservation.sku_id)).all()
        with self._lock:
            fresh = [(row_id, sku_id) for row_id, sku_id in rows if row_id not in self._seen]
        if fresh:
            session.info[self.KEY] = fresh

    def _after_commit(self, session: Session) -> None:
        fresh = session.info.pop(self.KEY, None)
        if fresh:
            now = time.time()
            with self._lock:
                for row_id, sku_id in fresh:
                    self._seen.add(row_id)
                    if sku_id is not None:
                        self.committed.setdefault(sku_id, now)

    def _after_rollback(self, session: Session) -> None:
        session.info.pop(self.KEY, None)


class Markets:
    """The three simulators, their catalogues and what they recorded."""

    def __init__(self, token: str, secret: str, codes: Sequence[str], stack: ExitStack) -> None:
        self.codes = list(codes)
        self.shop = ShopifySimulator(token, name="shopify", client_secret=secret)
        self.amazon = AmazonSimulator(
            LwaCredentials(
                client_id=f"amzn1.application-oa2-client.{token}",
                client_secret=f"amzn1.oa2-cs.v1.{token}",
                refresh_token=f"Atzr|{token}",
            ),
            name="amazon",
            rate_scale=1.0,
            orders_lag=AMAZON_ORDERS_LAG,
            feed_delay=AMAZON_FEED_DELAY_S,
        )
        self.sandbox = SandboxMarketplace(
            token, name="sandbox", rate=SANDBOX_RATE, burst=SANDBOX_BURST
        )
        for server in (self.shop, self.amazon, self.sandbox):
            server.start()
            stack.callback(server.stop)
        self.shop.add_location(LOCATION)
        variants = self.shop.set_catalogue(
            [{"sku": code, "title": code, "quantity": {LOCATION: STOCK}} for code in codes]
        )
        self.inventory_items = {str(v["inventory_item_id"]): str(v["sku"]) for v in variants}
        self.amazon.set_listings([{"sku": code, "quantity": STOCK} for code in codes])
        self.sandbox.set_listings(
            [{"sku": code, "title": code, "quantity": STOCK} for code in codes]
        )

    def buy(self, channel: str, sku: str) -> bool:
        if channel == "shopify":
            return self.shop.buy(sku, 1) is not None
        if channel == "amazon":
            return self.amazon.buy(sku, 1) is not None
        return self.sandbox.buy(sku, 1) is not None

    def quantities(self, channel: str) -> dict[str, int]:
        if channel == "shopify":
            return {code: self.shop.available(code, LOCATION) for code in self.codes}
        if channel == "amazon":
            return self.amazon.quantities()
        return {code: self.sandbox.quantity(code) for code in self.codes}

    def applied(self) -> dict[str, dict[str, list[tuple[float, int]]]]:
        """Per channel and SKU: (epoch seconds, quantity) of every quantity a push set."""
        applied: dict[str, dict[str, list[tuple[float, int]]]] = {
            name: defaultdict(list) for name in CHANNELS
        }
        for push in self.shop.snapshot()["inventory_pushes"]:
            if push["status"] == "applied":
                moment = parse_iso(push["time"]).timestamp()
                for entry in push["quantities"]:
                    sku = self.inventory_items[str(entry["inventoryItemId"])]
                    applied["shopify"][sku].append((moment, int(entry["quantity"])))
        for patch in self.amazon.listing_patches():
            if patch["status"] == "ACCEPTED" and patch.get("appliedAt"):
                moment = parse_iso(patch["appliedAt"]).timestamp()
                applied["amazon"][patch["sku"]].append((moment, patched_quantity(patch)))
        for push in self.sandbox.snapshot()["inventory_pushes"]:
            if push["status"] == "ok":
                moment = parse_iso(push["time"]).timestamp()
                applied["sandbox"][push["sku"]].append((moment, int(push["quantity"])))
        return applied

    def amazon_order_calls(self) -> dict[str, int]:
        requests = self.amazon.traffic()["requests"]
        return {name: int(requests.get(name, 0)) for name in ("getOrders", "getOrderItems")}

    def throttled(self) -> dict[str, int]:
        return {
            "shopify": self.shop.throttled_count,
            "amazon": int(self.amazon.traffic()["responses_429"]),
            "sandbox": int(self.sandbox.traffic()["responses_429"]),
        }


def patched_quantity(patch: Mapping[str, Any]) -> int:
    for change in patch["patches"]:
        if str(change.get("path", "")).endswith("fulfillment_availability"):
            for entry in change.get("value") or []:
                if entry.get("fulfillment_channel_code") == "DEFAULT":
                    return int(entry["quantity"])
    raise ValueError(f"patch of {patch['sku']} sets no DEFAULT quantity")


def write_config(folder: Path, markets: Markets, feed_threshold: int) -> Path:
    config = folder / "config"
    (config / "channels").mkdir(parents=True)
    (config / "hub.yaml").write_text(
        textwrap.dedent(
            f"""\
            database_url: sqlite:///{folder / "hub.db"}
            http: {{enabled: true, host: 127.0.0.1, port: 0}}
            locations:
              - {{code: main, name: {LOCATION}}}
            """
        )
    )
    quiet = "listings: 1h, stock: 1m, fulfilments: 1h, reconcile: 1h"
    token, secret = f"${{{TOKEN_VARIABLE}}}", f"${{{SECRET_VARIABLE}}}"
    channels = {
        "shopify": f"""\
            type: shopify
            shop: {markets.shop.shop}
            endpoint: {markets.shop.url}
            access_token: {token}
            client_secret: {secret}
            push_location: {LOCATION}
            schedule: {{orders: 1m, {quiet}}}
            sync: {{lag: 30s, backfill: 1h}}
            """,
        "amazon": f"""\
            type: amazon
            marketplace: US
            seller_id: {markets.amazon.seller_id}
            endpoint: {markets.amazon.endpoint}
            lwa_endpoint: {markets.amazon.lwa_url}
            credentials:
              refresh_token: Atzr|{token}
              lwa_app_id: amzn1.application-oa2-client.{token}
              lwa_client_secret: amzn1.oa2-cs.v1.{token}
            orders_settle_seconds: {AMAZON_SETTLE_S}
            feed_threshold: {feed_threshold}
            feed_poll_seconds: 0.5
            schedule: {{orders: {AMAZON_ORDERS_EVERY_S}s, {quiet}}}
            sync: {{lag: 1s, backfill: 1h}}
            """,
        "sandbox": f"""\
            type: sandbox
            endpoint: {markets.sandbox.url}
            api_key: {token}
            requests_per_second: {SANDBOX_RATE}
            burst: {SANDBOX_BURST}
            schedule: {{orders: 1s, {quiet}}}
            sync: {{lag: 5s, backfill: 1h}}
            """,
    }
    for name, text in channels.items():
        (config / "channels" / f"{name}.yaml").write_text(textwrap.dedent(text))
    return config


def measure(sales: int, per_second: float, seed: int) -> dict[str, Any]:
    codes = [f"SKU-{n:04d}" for n in range(sales + int(sales * UNSOLD_SHARE))]
    plan = plan_sales(sales, codes, CHANNELS, per_second, seed)
    token, secret = secrets.token_hex(16), secrets.token_hex(16)
    os.environ[TOKEN_VARIABLE], os.environ[SECRET_VARIABLE] = token, secret
    with tempfile.TemporaryDirectory(prefix="omnisync-bench-b3-") as folder, ExitStack() as stack:
        markets = Markets(token, secret, codes, stack)
        # The start-up reconcile of the whole catalogue goes as one Amazon feed; a
        # sale's push (a few SKUs) stays far below and goes by patchListingsItem.
        config = write_config(Path(folder), markets, feed_threshold=max(10, len(codes) // 3))
        hub = bootstrap(config, create=True)
        stack.callback(hub.engine.dispose)
        count_catalogue(hub.engine, codes)
        runner = HubRunner(hub)
        for name in CHANNELS:
            _require(runner.sync.run(name, JobName.LISTINGS).status, name, JobName.LISTINGS)
        clock = CommitClock()
        with clock.installed():
            thread = threading.Thread(target=runner.run, name="hub")
            thread.start()
            try:
                _wait_for_start(runner, hub.engine)
                markets.shop.set_webhook_url(f"{runner.url}/webhooks/shopify/shopify")
                records = _sell(markets, plan)
                settled = _wait_until_settled(markets, clock, records, hub.engine)
            finally:
                runner.stop()
                thread.join()
            sku_ids = _sku_ids(hub.engine)
    return _results(markets, records, clock, sku_ids, settled, per_second)


def count_catalogue(engine: Engine, codes: Sequence[str]) -> None:
    """STOCK units of every code at the main location, through the ledger."""
    with transaction(engine) as session:
        main = location_by_code(session, "main")
        for code in codes:
            count_stock(session, upsert_sku(session, code), main, STOCK)


def _require(status: str, channel: str, job: str) -> None:
    if status != SyncRunStatus.SUCCEEDED:
        raise RuntimeError(f"b3 set-up: {channel} {job} ended {status}")


def _wait_for_start(runner: HubRunner, engine: Engine) -> None:
    """The scheduler runs every job once at start: wait for the reconciles to be done,
    so the sales meet an idle hub with full rate-limit buckets."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if runner.url is not None and _reconciled(engine) == len(CHANNELS):
            time.sleep(1.0)  # the buckets refill what the start-up took
            return
        time.sleep(0.2)
    raise RuntimeError("b3 set-up: the hub did not finish its start-up reconcile in time")


def _reconciled(engine: Engine) -> int:
    with Session(engine) as session:
        rows = session.exec(
            select(SyncRun.channel_id).where(
                SyncRun.job == JobName.RECONCILE, SyncRun.status == SyncRunStatus.SUCCEEDED
            )
        ).all()
    return len(set(rows))


def _sell(markets: Markets, plan: Sequence[PlannedSale]) -> list[SaleRecord]:
    records = []
    start = time.monotonic()
    for sale in plan:
        time.sleep(max(0.0, start + sale.at - time.monotonic()))
        if not markets.buy(sale.channel, sale.sku):
            raise RuntimeError(f"b3: {sale.channel} refused a sale of {sale.sku}")
        records.append(SaleRecord(sale.sku, sale.channel, time.time()))
    return records


def _wait_until_settled(
    markets: Markets, clock: CommitClock, records: Sequence[SaleRecord], engine: Engine
) -> bool:
    """Until every sale is committed and every channel holds STOCK - 1 of each sold SKU."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    sold = {record.sku for record in records}
    sku_ids = _sku_ids(engine)
    while time.monotonic() < deadline:
        if all(sku_ids[sku] in clock.committed for sku in sold):
            held = {name: markets.quantities(name) for name in CHANNELS}
            if all(held[name][sku] == STOCK - 1 for name in CHANNELS for sku in sold):
                return True
        time.sleep(0.25)
    return False


def _sku_ids(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.exec(select(Sku.code, col(Sku.id)))
        return {code: sku_id for code, sku_id in rows if sku_id is not None}


def _results(
    markets: Markets,
    records: Sequence[SaleRecord],
    clock: CommitClock,
    sku_ids: Mapping[str, int],
    settled: bool,
    per_second: float,
) -> dict[str, Any]:
    applied = markets.applied()
    lags: list[float] = []
    committed: list[tuple[str, float]] = []
    ingest: dict[str, list[float]] = defaultdict(list)
    by_origin: dict[str, list[float]] = defaultdict(list)
    unpropagated = 0
    for record in records:
        t0 = clock.committed.get(sku_ids[record.sku])
        if t0 is None:
            unpropagated += 1
            continue
        ingest[record.channel].append((t0 - record.placed_at) * 1000)
        arrivals = [
            _first_at(applied[name][record.sku], STOCK - 1)
            for name in CHANNELS
            if name != record.channel
        ]
        if any(moment is None for moment in arrivals):
            unpropagated += 1
            continue
        lag = (max(moment for moment in arrivals if moment is not None) - t0) * 1000
        lags.append(lag)
        by_origin[record.channel].append(lag)
        committed.append((record.channel, t0))
    floor = [delay * 1000 for delay in floor_delays(committed, LIMITS)]
    span = records[-1].placed_at - records[0].placed_at if len(records) > 1 else 0.0
    return {
        "sales": len(records),
        "sales_per_s": per_second,
        "span_s": round(span, 1),
        "settled": settled,
        "unpropagated": unpropagated,
        **_summary(lags, ""),
        **_summary(floor, "floor_"),
        "by_origin": {name: _summary(values, "") for name, values in sorted(by_origin.items())},
        "ingest_ms": {name: _summary(values, "") for name, values in sorted(ingest.items())},
        "throttled": markets.throttled(),
        "amazon_orders_every_s": AMAZON_ORDERS_EVERY_S,
        "amazon_order_calls": markets.amazon_order_calls(),
        "peak_rss_mb": peak_rss_mb(),
    }


def _first_at(history: Sequence[tuple[float, int]], quantity: int) -> float | None:
    return min((moment for moment, value in history if value == quantity), default=None)


def _summary(values: Sequence[float], prefix: str) -> dict[str, Any]:
    data = list(values)
    return {
        f"{prefix}p50_ms": round(percentile(data, 0.5), 1),
        f"{prefix}p95_ms": round(percentile(data, 0.95), 1),
        f"{prefix}max_ms": round(max(data, default=0.0), 1),
        f"{prefix}count": len(data),
    }


def run(quick: bool) -> dict[str, Any]:
    sales, rate = (QUICK_SALES, QUICK_SALES_PER_S) if quick else (SALES, SALES_PER_S)
    return run_child("bench.propagation", "--sales", str(sales), "--per-second", str(rate))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sales", type=int, default=SALES)
    parser.add_argument("--per-second", type=float, default=SALES_PER_S)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    print(json.dumps(measure(args.sales, args.per_second, args.seed)))
