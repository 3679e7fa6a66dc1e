"""`omnisync demo`: the hub against simulated marketplaces, with simulated buyers.

Everything is real but the marketplaces and the carrier: they are HTTP servers on
loopback (sandbox/), the hub talks to them through its connectors, the database is
a SQLite file in a temporary folder. While buyers buy, a shipper ships accepted
orders with UPS (hub/demo/shipping.py); the hub pushes the fulfilments and tracks
the parcels. At the end the buyers stop, the hub pulls the last orders and
reconciles, every parcel is delivered and tracked, and the demo compares what the
marketplaces hold with what the hub knows.

Every wait has a deadline (hub/demo/watch.py): a channel that keeps failing stops the
demo with DemoFailed instead of holding it. The report is written as JSON to a file.
While the buyers buy, the hub's web console is served with its API: the demo makes a
user `demo` (an admin, with a fresh random password, in the demo's own database) and
prints where to sign in.

Besides propagation from each stock change's commit, it measures, per channel the buyer
bought on, the time from the sale to the hub's intake and to every other channel
holding the new quantity (hub/demo/from_sale.py), and says how each channel's orders
came in.
"""

from __future__ import annotations

import json
import os
import random
import secrets as token_source
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
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

from omnisync.core.availability import available_to_sell
from omnisync.core.catalog import location_by_code, upsert_sku
from omnisync.core.db import transaction
from omnisync.core.ledger import count_stock
from omnisync.core.models import Channel, Listing, Order, SyncRun
from omnisync.core.reservations import shortage_units
from omnisync.core.types import SyncRunStatus, UserRole
from omnisync.core.users import add_user
from omnisync.hub.api import create_app
from omnisync.hub.bootstrap import Hub, bootstrap, engine_channels
from omnisync.hub.demo.config_folder import write_config_folder
from omnisync.hub.demo.from_sale import SaleLog, events_taken, measure_from_sale
from omnisync.hub.demo.markets import DemoMarket, make_markets, market_names
from omnisync.hub.demo.shipping import (
    CARRIER_CHANNEL,
    DemoCarrier,
    shipping_per_channel,
    shipping_report,
)
from omnisync.hub.demo.watch import (
    DEFAULT_TIMEOUT_S,
    SETUP_TIMEOUT_S,
    STEP_RETRY,
    DemoFailed,
    FailureWatch,
    run_until_done,
)
from omnisync.hub.http_server import DEFAULT_HOST, ServerRunner
from omnisync.hub.web.passwords import hash_password
from omnisync.sandbox.faults import HTTP_FAULTS
from omnisync.sync.engine import SyncEngine
from omnisync.sync.scheduler import Scheduler

CONSOLE_USER = "demo"
"""The console's user in the demo's database: an admin, its password made per run."""
TOKEN_VARIABLE = "OMNISYNC_DEMO_TOKEN"  # noqa: S105 (the name of a variable, not a secret)
SIMPLE_SKUS = 180
BUNDLES = 20
SCARCE = 25
STEPS_PER_RUN = 30
"""The carrier moves a parcel one stage per this share of the demo's duration."""
MAX_STEP_S = 5.0
"""And at most this often, so that the last parcels arrive well within a wait's deadline."""
WATCH_EVERY_S = 1.0
"""How often the run records are read for failing jobs while the buyers buy."""
EVERY_CALL = 1_000_000_000
"""Faults queued for `DemoOptions.fault`: more than any demo makes calls."""
FINAL_CAPTION = "after the final sync"
"""Under the table printed once the demo is over (the report's figures)."""
EVENT_WAIT_S = 1.0
"""How long one receive from an order-event queue waits: the scheduler stops within it."""


@dataclass(frozen=True)
class DemoFault:
    """A marketplace that answers every call with `kind` once the buyers stop."""

    channel: str
    kind: str


def parse_fault(spec: str, channels: int) -> DemoFault:
    """`CHANNEL:KIND` (amazon-b:500) for a demo with `channels` marketplaces."""
    channel, _, kind = spec.partition(":")
    names = market_names(channels)
    if channel not in names:
        raise ValueError(f"no marketplace {channel!r} in this demo (it has {', '.join(names)})")
    if kind not in HTTP_FAULTS:
        raise ValueError(f"fault kind {kind!r}: one of {', '.join(sorted(HTTP_FAULTS))}")
    return DemoFault(channel, kind)


@dataclass
class DemoOptions:
    duration: float = 60.0
    seed: int = 1
    channels: int = 4
    orders_per_second: float = 6.0
    timeout: float = DEFAULT_TIMEOUT_S
    """Seconds any one wait may last: a job the demo waits for, a job of a channel failing
    while the buyers buy, the settling of the last orders, the last parcels' journey."""
    fault: DemoFault | None = None


@dataclass
class Measurements:
    """Filled from the engine's push observer and the buyers, read by the live table."""

    lags_ms: list[float] = field(default_factory=list)
    pushes: Counter[str] = field(default_factory=Counter)
    lags_by_channel: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    placed: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    sales: SaleLog = field(default_factory=SaleLog)
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
        self.sales.pushed(channel, channel_sku, dirty_since, acknowledged_at)
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


def spread(values: list[float]) -> dict[str, float | int]:
    """p50, p95 and max of `values` (milliseconds, to a tenth), and how many there are."""
    return {
        "p50": round(percentile(values, 0.5), 1),
        "p95": round(percentile(values, 0.95), 1),
        "max": round(max(values, default=0.0), 1),
        "samples": len(values),
    }


class Demo:
    def __init__(self, options: DemoOptions, console: Console | None) -> None:
        self.options = options
        self.console = console
        self.random = random.Random(options.seed)  # noqa: S311 (simulation, not secrets)
        self.measure = Measurements()
        self.markets: dict[str, DemoMarket] = {}
        self.carrier = DemoCarrier(
            seconds_per_step=min(max(options.duration / STEPS_PER_RUN, 0.5), MAX_STEP_S)
        )
        self.names: list[str] = []
        self.codes: list[str] = []
        self.scarce: list[str] = []
        self.buyers_stopped = 0.0
        """When the last buyer stopped (monotonic)."""
        self.notices: list[str] = []
        self.console_password = ""
        """The console user's password, made when the hub is (printed, never reported)."""
        self.console_url: str | None = None
        """Where the hub served its console while the buyers bought."""
        """Said once on the console and kept in the report (features left off)."""

    def run(self) -> dict[str, Any]:
        """The report; DemoFailed (secrets masked) when a channel keeps failing."""
        token = f"demo-{self.random.getrandbits(64):016x}"
        os.environ[TOKEN_VARIABLE] = token
        secrets: set[str] = {token}
        try:
            return self._run(token, secrets)
        except DemoFailed as failure:
            raise failure.masked(secrets) from None

    def _run(self, token: str, secrets: set[str]) -> dict[str, Any]:
        """Fills `secrets` with the hub's, for the failure's message."""
        with tempfile.TemporaryDirectory(prefix="omnisync-demo-") as folder, ExitStack() as stack:
            for market in make_markets(self.options.channels, token):
                market.start()
                stack.callback(market.stop)
                self.markets[market.name] = market
            self.names = list(self.markets)
            self._say_notices()
            self.carrier.start()
            stack.callback(self.carrier.stop)
            hub = bootstrap(self._write_config(Path(folder)), create=True)
            stack.callback(hub.engine.dispose)
            secrets.update(hub.settings.secrets)
            self._seed_catalogue(hub)
            self._add_console_user(hub)
            secrets.add(self.console_password)
            engine = SyncEngine(
                hub.engine,
                engine_channels(hub.settings),
                secrets=hub.settings.secrets,
                clock=hub.clock,
                on_push=self.measure.on_push,
            )
            stack.callback(engine.close)
            # The runs the demo waits for itself: their own engine, with a short call
            # policy and a stop event of their own that each step's deadline sets.
            steps = SyncEngine(
                hub.engine,
                engine_channels(hub.settings),
                secrets=hub.settings.secrets,
                clock=hub.clock,
                retry=STEP_RETRY,
                on_push=self.measure.on_push,
            )
            stack.callback(steps.close)
            setup = max(self.options.timeout, SETUP_TIMEOUT_S)
            for name in self.names:
                run_until_done(steps, name, "listings", setup)
                run_until_done(steps, name, "reconcile", setup)
            self._simulate(hub, engine)
            if self.options.fault is not None:
                self.markets[self.options.fault.channel].fail_every_call(
                    self.options.fault.kind, EVERY_CALL
                )
            self._final_sync(steps)
            report = self._compare(hub, engine)
            if self.console is not None:
                # The live table's last frame was drawn before the final sync: once more
                # now, so the last table printed counts what the report counts.
                final = self._table(engine, FINAL_CAPTION, report["from_sale_ms"])
                self.console.print(final)
            return report

    def _say_notices(self) -> None:
        self.notices = [market.notice for market in self.markets.values() if market.notice]
        if self.console is not None:
            for notice in self.notices:
                self.console.print(notice, markup=False, highlight=False, soft_wrap=True)

    def _write_config(self, folder: Path) -> Path:
        channels = {
            name: market.channel_file(TOKEN_VARIABLE) for name, market in self.markets.items()
        }
        channels[CARRIER_CHANNEL] = self.carrier.channel_file()
        return write_config_folder(
            folder,
            folder / "demo.db",
            """\
            locations:
              - {code: main, name: Main warehouse, kind: warehouse}
              - {code: backup, name: Overflow 3PL, kind: third_party}
            """,
            channels,
        )

    def _add_console_user(self, hub: Hub) -> None:
        self.console_password = token_source.token_urlsafe(12)
        password_hash = hash_password(self.console_password)
        with transaction(hub.engine) as session:
            add_user(session, CONSOLE_USER, UserRole.ADMIN, password_hash)

    def _say_console(self) -> None:
        """One line: where the console is, and the login. On the console's terminal, else
        (`--json`, whose stdout is the report) on stderr."""
        login = f"{CONSOLE_USER} / {self.console_password}"
        line = f"console: {self.console_url}  (sign in as {login})"
        if self.console is not None:
            self.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

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
        scheduler = Scheduler(engine, push_poll=0.1, debounce=0.05, event_wait=EVENT_WAIT_S)
        # The hub's HTTP server, as `omnisync run` serves it: Shopify's webhooks arrive here.
        server = ServerRunner(
            create_app(
                engine,
                settings=lambda: hub.settings,
                scheduler_running=lambda: scheduler.running,
                run_now=scheduler.run_now,
            ),
            host=DEFAULT_HOST,
            port=0,
        )
        url = server.start()
        for market in self.markets.values():
            market.send_webhooks_to(url)
        scheduler.start()
        self.console_url = f"{url}/"
        self._say_console()
        stop = threading.Event()
        buyers = threading.Thread(target=self._buy_until, args=(stop,), name="buyers")
        shipper = threading.Thread(
            target=self.carrier.ship_until,
            args=(hub, stop, random.Random(self.random.random())),  # noqa: S311 (simulation)
            name="shipper",
        )
        buyers.start()
        shipper.start()
        watch = FailureWatch(hub.engine, self.options.timeout)
        try:
            if self.console is not None:
                live = Live(self._table(engine), console=self.console, refresh_per_second=4)
                try:
                    with live:
                        self._watch_until_done(watch, lambda: live.update(self._table(engine)))
                finally:
                    if not self.console.is_terminal:
                        self.console.line()  # on a pipe, Live leaves its last line open
            else:
                self._watch_until_done(watch, None)
        finally:
            stop.set()
            buyers.join()
            shipper.join()
            self.buyers_stopped = time.monotonic()
            scheduler.stop()
            server.stop()

    def _watch_until_done(self, watch: FailureWatch, refresh: Callable[[], None] | None) -> None:
        """Until the demo's duration is over: refresh the table (every quarter second) and
        give up on a channel whose job keeps failing (checked every WATCH_EVERY_S)."""
        end = time.monotonic() + self.options.duration
        tick = 0.25 if refresh is not None else WATCH_EVERY_S
        next_check = time.monotonic() + WATCH_EVERY_S
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(tick, left))
            if refresh is not None:
                refresh()
            if time.monotonic() >= next_check:
                watch.check()
                next_check = time.monotonic() + WATCH_EVERY_S

    def _buy_until(self, stop: threading.Event) -> None:
        rnd = random.Random(self.random.random())  # noqa: S311 (own stream for the thread)
        while not stop.wait(rnd.expovariate(self.options.orders_per_second)):
            burst = rnd.random() < 0.1
            sku = rnd.choice(self.scarce) if burst or rnd.random() < 0.2 else rnd.choice(self.codes)
            for _ in range(rnd.randint(3, 6) if burst else 1):
                name = rnd.choice(self.names)
                market = self.markets[name]
                order = market.buy(sku, 1 if rnd.random() < 0.85 else 2)
                if order:
                    self.measure.sales.sold(name, str(order["id"]), market.sale_time(order))
                with self.measure.lock:
                    (self.measure.placed if order else self.measure.refused)[name] += 1
                if order and rnd.random() < 0.05:
                    market.cancel(order["id"])

    def _table(
        self,
        engine: SyncEngine,
        caption: str | None = None,
        from_sale: dict[str, dict[str, float | int]] | None = None,
    ) -> Table:
        """The live table; the final one (`from_sale`: the report's) adds the p95 from
        each channel's sales to every other channel holding the new quantity."""
        table = Table(title=f"omnisync demo (seed {self.options.seed})", caption=caption)
        for column in (
            "channel",
            "orders placed",
            "orders in hub",
            "pushes",
            "lag p95 ms",
            *(["from sale p95 ms"] if from_sale is not None else []),
            "shipped",
            "delivered",
            "errors",
        ):
            table.add_column(column)
        counts = _hub_counts(engine)
        with Session(engine.database) as session:
            parcels = shipping_per_channel(session)
        with self.measure.lock:
            for name in self.names:
                lags = self.measure.lags_by_channel.get(name, [])
                from_sale_p95 = [] if from_sale is None else [f"{from_sale[name]['p95']:.0f}"]
                table.add_row(
                    name,
                    str(self.measure.placed[name]),
                    str(counts.get(name, (0, 0))[0]),
                    str(self.measure.pushes[name]),
                    f"{percentile(lags, 0.95):.0f}",
                    *from_sale_p95,
                    *(str(number) for number in parcels.get(name, (0, 0))),
                    str(counts.get(name, (0, 0))[1]),
                )
        return table

    def _final_sync(self, steps: SyncEngine) -> None:
        """Each wait within `timeout`: a channel that keeps failing raises DemoFailed."""
        timeout = self.options.timeout
        # A channel may show an order only some time after it was placed (Amazon's
        # searchOrders reads settled orders only): the last ones must be visible first.
        settle = max((market.settle_seconds for market in self.markets.values()), default=0.0)
        time.sleep(min(max(self.buyers_stopped + settle - time.monotonic(), 0.0), timeout))
        for job in ("orders", "stock", "reconcile"):
            for name in self.names:
                self._run_until_done(steps, name, job)
        # The marketplaces hear of the last parcels, which arrive meanwhile.
        for name in self.names:
            self._run_until_done(steps, name, "fulfilments")
        self.carrier.wait_for_deliveries(limit=timeout)
        self._run_until_done(steps, CARRIER_CHANNEL, "tracking")

    def _run_until_done(self, steps: SyncEngine, name: str, job: str) -> None:
        run_until_done(steps, name, job, self.options.timeout)

    def _compare(self, hub: Hub, engine: SyncEngine) -> dict[str, Any]:
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
            delays = measure_from_sale(session, self.measure.sales, self.names)
            events = events_taken(session)
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
            "from_sale_ms": {name: spread(delays.from_sale_ms[name]) for name in self.names},
            "intake_ms": {name: spread(delays.intake_ms[name]) for name in self.names},
            "channels": [
                {
                    "name": name,
                    "type": self.markets[name].type,
                    "intake": self.markets[name].intake,
                    "events_taken": events.get(name, 0),
                    "orders_ingested": counts.get(name, (0, 0))[0],
                    "pushes": self.measure.pushes[name],
                    "errors": counts.get(name, (0, 0))[1],
                }
                for name in self.names
            ],
            "shipping": shipping,
            "notices": self.notices,
            "console_url": self.console_url,
        }


def _hub_counts(engine: SyncEngine) -> dict[str, tuple[int, int]]:
    """Per channel: orders in the hub, failed runs."""
    with Session(engine.database) as session:
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


def write_report(report: dict[str, Any], path: Path) -> Path:
    """Write the report as JSON to `path` (its folder made if missing), whole or not at
    all; returns the absolute path."""
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.tmp")
    partial.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(path)
    return path
