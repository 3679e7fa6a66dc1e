"""`omnisync demo`: the hub against simulated marketplaces, with simulated buyers.

Everything is real but the marketplaces and the carrier: they are HTTP servers on
loopback (sandbox/), the hub talks to them through its connectors, the database is
a SQLite file in a temporary folder. While buyers buy, a shipper ships accepted
orders with UPS (hub/demo_shipping.py); the hub pushes the fulfilments and tracks
the parcels. At the end the buyers stop, the hub pulls the last orders and
reconciles, every parcel is delivered and tracked, and the demo compares what the
marketplaces hold with what the hub knows.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import textwrap
import threading
import time
from collections import Counter, defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from sqlalchemy import func
from sqlmodel import Session, col, select

from core.availability import available_to_sell
from core.catalog import location_by_code, upsert_sku
from core.db import transaction
from core.ledger import count_stock
from core.models import Channel, Listing, Order, SyncRun
from core.reservations import shortage_units
from core.types import SyncRunStatus
from hub.bootstrap import Hub, bootstrap, engine_channels
from hub.demo_markets import DemoMarket, make_markets
from hub.demo_shipping import CARRIER_CHANNEL, DemoCarrier, shipping_per_channel, shipping_report
from sync.engine import SyncEngine
from sync.scheduler import Scheduler

TOKEN_VARIABLE = "OMNISYNC_DEMO_TOKEN"  # noqa: S105 (the name of a variable, not a secret)
SIMPLE_SKUS = 180
BUNDLES = 20
SCARCE = 25
FINAL_ATTEMPTS = 5
STEPS_PER_RUN = 30
"""The carrier moves a parcel one stage per this share of the demo's duration."""


@dataclass
class DemoOptions:
    duration: float = 60.0
    seed: int = 1
    channels: int = 3
    orders_per_second: float = 6.0


@dataclass
class Measurements:
    """Filled from the engine's push observer and the buyers, read by the live table."""

    lags_ms: list[float] = field(default_factory=list)
    pushes: Counter[str] = field(default_factory=Counter)
    lags_by_channel: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    placed: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_push(
        self,
        channel: str,
        channel_sku: str,
        quantity: int,
        dirty_since: datetime | None,
        acknowledged_at: datetime,
    ) -> None:
        if dirty_since is None:
            return
        lag = (acknowledged_at - dirty_since).total_seconds() * 1000
        with self.lock:
            self.pushes[channel] += 1
            self.lags_ms.append(lag)
            self.lags_by_channel[channel].append(lag)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


class Demo:
    def __init__(self, options: DemoOptions, console: Console | None) -> None:
        self.options = options
        self.console = console
        self.random = random.Random(options.seed)  # noqa: S311 (simulation, not secrets)
        self.measure = Measurements()
        self.markets: dict[str, DemoMarket] = {}
        self.carrier = DemoCarrier(seconds_per_step=max(options.duration / STEPS_PER_RUN, 0.5))
        self.names: list[str] = []
        self.codes: list[str] = []
        self.scarce: list[str] = []
        self.buyers_stopped = 0.0
        """When the last buyer stopped (monotonic)."""

    def run(self) -> dict[str, Any]:
        token = f"demo-{self.random.getrandbits(64):016x}"
        os.environ[TOKEN_VARIABLE] = token
        with tempfile.TemporaryDirectory(prefix="omnisync-demo-") as folder, ExitStack() as stack:
            for market in make_markets(self.options.channels, token):
                market.start()
                stack.callback(market.stop)
                self.markets[market.name] = market
            self.names = list(self.markets)
            self.carrier.start()
            stack.callback(self.carrier.stop)
            hub = bootstrap(self._write_config(Path(folder)), create=True)
            stack.callback(hub.engine.dispose)
            self._seed_catalogue(hub)
            engine = SyncEngine(
                hub.engine,
                engine_channels(hub.settings),
                secrets=hub.settings.secrets,
                on_push=self.measure.on_push,
            )
            stack.callback(engine.close)
            for name in self.names:
                engine.run(name, "listings")
                engine.run(name, "reconcile")
            self._simulate(hub, engine)
            return self._compare(hub, engine)

    def _write_config(self, folder: Path) -> Path:
        config = folder / "config"
        (config / "channels").mkdir(parents=True)
        (config / "hub.yaml").write_text(
            textwrap.dedent(
                f"""\
                database_url: sqlite:///{folder / "demo.db"}
                locations:
                  - {{code: main, name: Main warehouse, kind: warehouse}}
                  - {{code: backup, name: Overflow 3PL, kind: third_party}}
                """
            )
        )
        for name, market in self.markets.items():
            (config / "channels" / f"{name}.yaml").write_text(market.channel_file(TOKEN_VARIABLE))
        (config / "channels" / f"{CARRIER_CHANNEL}.yaml").write_text(self.carrier.channel_file())
        return config

    def _seed_catalogue(self, hub: Hub) -> None:
        rnd = self.random
        simple = [f"DEMO-{n:03d}" for n in range(1, SIMPLE_SKUS + 1)]
        self.scarce = rnd.sample(simple, SCARCE)
        with transaction(hub.engine) as session:
            main, backup = location_by_code(session, "main"), location_by_code(session, "backup")
            for code in simple:
                sku = upsert_sku(session, code, title=f"Demo product {code[5:]}")
                if code in self.scarce:
                    count_stock(session, sku, rnd.choice((main, backup)), rnd.randint(1, 3))
                else:
                    count_stock(session, sku, main, rnd.randint(5, 40))
                    count_stock(session, sku, backup, rnd.randint(0, 10))
            bundles = []
            for n in range(1, BUNDLES + 1):
                parts = rnd.sample(simple, 2)
                code = f"KIT-{n:02d}"
                upsert_sku(
                    session,
                    code,
                    title=f"Demo kit {n}",
                    components={parts[0]: rnd.randint(1, 2), parts[1]: 1},
                )
                bundles.append(code)
        self.codes = simple + bundles
        for market in self.markets.values():
            market.offer(self.codes)

    def _simulate(self, hub: Hub, engine: SyncEngine) -> None:
        scheduler = Scheduler(engine, push_poll=0.1, debounce=0.05)
        scheduler.start()
        stop = threading.Event()
        buyers = threading.Thread(target=self._buy_until, args=(stop,), name="buyers")
        shipper = threading.Thread(
            target=self.carrier.ship_until,
            args=(hub, stop, random.Random(self.random.random())),  # noqa: S311 (simulation)
            name="shipper",
        )
        buyers.start()
        shipper.start()
        deadline = time.monotonic() + self.options.duration
        try:
            if self.console is not None:
                with Live(self._table(engine), console=self.console, refresh_per_second=4) as live:
                    while time.monotonic() < deadline:
                        time.sleep(0.25)
                        live.update(self._table(engine))
            else:
                time.sleep(max(deadline - time.monotonic(), 0))
        finally:
            stop.set()
            buyers.join()
            shipper.join()
            self.buyers_stopped = time.monotonic()
            scheduler.stop()
        engine.stop.clear()

    def _buy_until(self, stop: threading.Event) -> None:
        rnd = random.Random(self.random.random())  # noqa: S311 (own stream for the thread)
        while not stop.wait(rnd.expovariate(self.options.orders_per_second)):
            burst = rnd.random() < 0.1
            sku = rnd.choice(self.scarce) if burst or rnd.random() < 0.2 else rnd.choice(self.codes)
            for _ in range(rnd.randint(3, 6) if burst else 1):
                name = rnd.choice(self.names)
                market = self.markets[name]
                order = market.buy(sku, 1 if rnd.random() < 0.85 else 2)
                with self.measure.lock:
                    (self.measure.placed if order else self.measure.refused)[name] += 1
                if order and rnd.random() < 0.05:
                    market.cancel(order["id"])

    def _table(self, engine: SyncEngine) -> Table:
        table = Table(title=f"omnisync demo (seed {self.options.seed})")
        for column in (
            "channel",
            "orders placed",
            "orders in hub",
            "pushes",
            "lag p95 ms",
            "shipped",
            "delivered",
            "errors",
        ):
            table.add_column(column)
        counts = _hub_counts(engine)
        with Session(engine.engine) as session:
            parcels = shipping_per_channel(session)
        with self.measure.lock:
            for name in self.names:
                lags = self.measure.lags_by_channel.get(name, [])
                table.add_row(
                    name,
                    str(self.measure.placed[name]),
                    str(counts.get(name, (0, 0))[0]),
                    str(self.measure.pushes[name]),
                    f"{percentile(lags, 0.95):.0f}",
                    *(str(number) for number in parcels.get(name, (0, 0))),
                    str(counts.get(name, (0, 0))[1]),
                )
        return table

    def _final_sync(self, engine: SyncEngine) -> None:
        # A channel may show an order only some time after it was placed (Amazon's
        # getOrders reads settled orders only): the last ones must be visible first.
        settle = max((market.settle_seconds for market in self.markets.values()), default=0.0)
        time.sleep(max(self.buyers_stopped + settle - time.monotonic(), 0.0))
        for job in ("orders", "stock", "reconcile"):
            for name in self.names:
                self._run_until_done(engine, name, job)
        # The marketplaces hear of the last parcels, which arrive meanwhile.
        for name in self.names:
            self._run_until_done(engine, name, "fulfilments")
        self.carrier.wait_for_deliveries()
        self._run_until_done(engine, CARRIER_CHANNEL, "tracking")

    @staticmethod
    def _run_until_done(engine: SyncEngine, name: str, job: str) -> None:
        for _ in range(FINAL_ATTEMPTS):
            if engine.run(name, job).status in ("succeeded", "partial"):
                break

    def _compare(self, hub: Hub, engine: SyncEngine) -> dict[str, Any]:
        self._final_sync(engine)
        placed = {
            (name, oid) for name, market in self.markets.items() for oid in market.order_ids()
        }
        channel_quantities = {name: market.quantities() for name, market in self.markets.items()}
        with Session(hub.engine) as session:
            channel_ids = {c.name: c.id for c in session.exec(select(Channel))}
            in_hub: Counter[tuple[str, str]] = Counter()
            names = {channel_id: name for name, channel_id in channel_ids.items()}
            orders = list(session.exec(select(Order)))
            for order in orders:
                in_hub[(names[order.channel_id], order.external_id)] += 1
            oversold = sum(shortage_units(session, order) for order in orders)
            mismatched = 0
            for name in self.names:
                channel = session.get(Channel, channel_ids[name])
                assert channel is not None
                listings = list(
                    session.exec(
                        select(Listing).where(
                            Listing.channel_id == channel.id, col(Listing.sku_id).is_not(None)
                        )
                    )
                )
                available = available_to_sell(
                    session, channel, {listing.sku_id or 0 for listing in listings}
                )
                held = channel_quantities[name]
                mismatched += sum(
                    1
                    for listing in listings
                    if held.get(listing.channel_sku) != available[listing.sku_id or 0]
                )
            shipping = shipping_report(session, self.carrier)
        counts = _hub_counts(engine)
        lags = self.measure.lags_ms
        return {
            "duration_s": self.options.duration,
            "orders_total": len(placed),
            "orders_lost": len(placed - set(in_hub)),
            "orders_duplicated": sum(1 for n in in_hub.values() if n > 1),
            "oversold_units": oversold,
            "mismatched_listings": mismatched,
            "propagation_ms": {
                "p50": round(percentile(lags, 0.5), 1),
                "p95": round(percentile(lags, 0.95), 1),
                "max": round(max(lags, default=0.0), 1),
                "mean": round(statistics.fmean(lags), 1) if lags else 0.0,
                "samples": len(lags),
            },
            "channels": [
                {
                    "name": name,
                    "type": self.markets[name].type,
                    "orders_ingested": counts.get(name, (0, 0))[0],
                    "pushes": self.measure.pushes[name],
                    "errors": counts.get(name, (0, 0))[1],
                }
                for name in self.names
            ],
            "shipping": shipping,
        }


def _hub_counts(engine: SyncEngine) -> dict[str, tuple[int, int]]:
    """Per channel: orders in the hub, failed runs."""
    with Session(engine.engine) as session:
        orders = dict(
            session.exec(
                select(Channel.name, func.count(col(Order.id)))
                .join(Order, col(Order.channel_id) == Channel.id)
                .group_by(col(Channel.name))
            ).all()
        )
        failed = dict(
            session.exec(
                select(Channel.name, func.count(col(SyncRun.id)))
                .join(SyncRun, col(SyncRun.channel_id) == Channel.id)
                .where(SyncRun.status == SyncRunStatus.FAILED)
                .group_by(col(Channel.name))
            ).all()
        )
    return {
        name: (orders.get(name, 0), failed.get(name, 0)) for name in orders.keys() | failed.keys()
    }
