"""b5_oversell: one seeded order stream (bench/order_stream.py) replayed against the hub
with event-driven pushes and with pushes every 15 minutes, counting the units the hub
could not reserve.

Each replay runs the real hub: 4 `sandbox` marketplaces over HTTP on loopback
whose clock is simulated (sandbox.clock.ManualClock), a SQLite database set up by
bootstrap, stock counted through the ledger, listings bound and pushed by the
listings and reconcile jobs, then the stream in simulated-time order. A buyer
orders through the marketplace's HTTP API and gets the units only if that
marketplace shows them; it refuses otherwise, as a channel does. The hub takes
orders in through its orders job (intake, reservation, the dirty outbox), at the
moments each channel's intake (bench/intake.py) says:

- hub: every channel polled every `schedule.orders` of its config (the hub's default,
  1 minute; the 4 channels a quarter-interval apart);
- hub_webhooks: as hub, and also `WEBHOOK_DELAY_S` after each order, as a webhook
  delivery would bring it (a run of the orders job then; the webhook route feeds the
  same intake);
- hub_intake_paths: the demo's intake paths. One Shopify-like channel hears its orders
  by webhook and one Amazon-like channel by ORDER_CHANGE notification, each after the
  delay b3 measured for it (bench/intake.py), with polling as the backstop; two
  sandbox channels are polled every second (the demo's `schedule: {orders: 1s}`);
- baseline: polled as hub.

Pushes:

- hub, hub_webhooks, hub_intake_paths: a commit that marked listings dirty wakes the
  push, as it wakes the scheduler (the same after_commit signal); the stock job of
  every channel runs `push_delay` later (1 s: the scheduler's promise, "within a
  second").
- baseline: the stock job of every channel runs only every 15 simulated minutes.

Oversold units are what the hub's orders still cannot reserve when the stream has
been read to the end; no stock arrives and nothing is cancelled, so no shortage
is filled in the meantime. Simulated time stands still while the hub works: HTTP
and database time are not part of it; the push delay stands for them (the real
time of each push, all 4 channels, is reported as push_real_ms_p95).
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import secrets
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, func
from sqlmodel import Session, col, select

from bench.intake import (
    POLLED,
    WEBHOOK,
    Intake,
    IntakeDelays,
    describe,
    intake_paths,
    measured_delays,
    pull_moments,
)
from bench.order_stream import (
    BURST_BUYERS,
    BURST_WINDOW_S,
    BURSTS_PER_HOUR,
    BUYERS_PER_HOUR,
    CHANNELS,
    HOURS,
    SCARCE_SHARE,
    SCARCE_UNITS,
    SEED,
    OrderStream,
    Sale,
    generate_stream,
)
from bench.process import percentile, run_child
from omnisync.core.catalog import location_by_code, upsert_sku
from omnisync.core.db import transaction
from omnisync.core.ledger import count_stock
from omnisync.core.models import Channel, Order
from omnisync.core.outbox import LISTINGS_MARKED
from omnisync.core.reservations import shortage_units
from omnisync.hub.bootstrap import Hub, bootstrap, engine_channels
from omnisync.hub.demo.config_folder import write_config_folder
from omnisync.sandbox.clock import ManualClock
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sync.engine import SyncEngine
from omnisync.sync.jobs.names import JobName

QUICK_HOURS = 0.5
BASELINE_EVERY_S = 900.0
PUSH_DELAY_S = 1.0
WEBHOOK_DELAY_S = 2.0
"""hub_webhooks' delay, assumed (kept for continuity); hub_intake_paths' are measured."""
TARGET_RATIO = 20.0
"""hub_intake_paths against the baseline: at least this many times fewer oversold units."""
TOKEN_VARIABLE = "BENCH_OVERSELL_TOKEN"  # noqa: S105 (the name of a variable, not a secret)
RATE = 1000.0
"""Requests per second for the marketplaces and the hub: real time is not simulated time,
so real rate limits would only slow the run down, never change what it counts."""

SALE, EVENT, PULL, PUSH = range(4)
"""Event kinds, in the order they run at the same simulated moment."""


@dataclass(frozen=True)
class Mode:
    name: str
    event_driven: bool
    """Push after every commit that marked listings dirty; else every 15 minutes."""
    intakes: tuple[Intake, ...]
    """How the hub hears of each channel's orders, channel by channel."""


def uniform(intake: Intake) -> tuple[Intake, ...]:
    return (intake,) * CHANNELS


HUB = Mode("hub", True, uniform(Intake(POLLED, None)))
HUB_WEBHOOKS = Mode("hub_webhooks", True, uniform(Intake(WEBHOOK, None, WEBHOOK_DELAY_S)))
BASELINE = Mode("baseline", False, uniform(Intake(POLLED, None)))


def intake_paths_mode(delays: IntakeDelays) -> Mode:
    return Mode("hub_intake_paths", True, intake_paths(delays))


@dataclass
class ReplayResult:
    oversold_units: int
    oversold_orders: int
    orders: int
    refused_buyers: int
    runs: Counter[str]
    pull_interval_s: float
    oversold_by_channel: dict[str, int]
    """Oversold units of each channel's orders (ch-1, ch-2, ...)."""
    stale_raises: int
    """Pushes that raised a quantity a channel showed: with no stock arriving, each one
    wrote back units the channel had already sold itself (the hub had not read it yet)."""
    push_real_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "oversold_units": self.oversold_units,
            "oversold_orders": self.oversold_orders,
            "orders": self.orders,
            "refused_buyers": self.refused_buyers,
            "orders_runs": self.runs[JobName.ORDERS],
            "stock_runs": self.runs[JobName.STOCK],
            "stale_raises": self.stale_raises,
            "oversold_by_channel": self.oversold_by_channel,
        }


class Replay:
    """The hub and its marketplaces on a simulated clock, fed one order stream."""

    def __init__(self, stream: OrderStream, mode: Mode, *, push_delay: float) -> None:
        self.stream = stream
        self.mode = mode
        self.push_delay = push_delay
        # The stream ends an hour before now: every time the hub meets is in the past.
        start = datetime.now(UTC) - timedelta(seconds=stream.seconds + 3600)
        self.start = start.replace(microsecond=0)
        self.clock = ManualClock(self.start)
        self.names = [f"ch-{index + 1}" for index in range(stream.channels)]
        self.marked = False

    def run(self) -> ReplayResult:
        with ExitStack() as stack:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="omnisync-b5-")))
            token = secrets.token_hex(16)
            os.environ[TOKEN_VARIABLE] = token
            markets = []
            for name in self.names:
                market = SandboxMarketplace(
                    token, name=name, rate=RATE, burst=int(RATE), clock=self.clock
                )
                market.start()
                stack.callback(market.stop)
                markets.append(market)
            hub = bootstrap(self._config(folder, markets), create=True)
            stack.callback(hub.engine.dispose)
            sync = SyncEngine(hub.engine, engine_channels(hub.settings), secrets=[token])
            stack.callback(sync.close)
            buyers = stack.enter_context(httpx.Client(timeout=30))
            self._stock_and_list(hub, sync, markets)
            stack.enter_context(self._commit_signal())
            return self._replay(hub, sync, buyers, markets)

    def _config(self, folder: Path, markets: list[SandboxMarketplace]) -> Path:
        # Everything else is the hub's default: orders pulled every minute (unless the
        # mode's intake says otherwise), a lag window of 2 minutes.
        channels: dict[str, str] = {}
        for name, market, intake in zip(self.names, markets, self.mode.intakes, strict=True):
            schedule = (
                "" if intake.poll_every is None else f"schedule: {{orders: {intake.poll_every:g}s}}"
            )
            channels[name] = (
                textwrap.dedent(
                    f"""\
                    type: sandbox
                    endpoint: {market.url}
                    api_key: ${{{TOKEN_VARIABLE}}}
                    requests_per_second: {RATE}
                    burst: {int(RATE)}
                    """
                )
                + schedule
                + "\n"
            )
        return write_config_folder(
            folder,
            folder / "hub.db",
            """\
            http: {enabled: false}
            locations:
              - {code: main, name: Main warehouse, kind: warehouse}
            """,
            channels,
        )

    def _stock_and_list(
        self, hub: Hub, sync: SyncEngine, markets: list[SandboxMarketplace]
    ) -> None:
        with transaction(hub.engine) as session:
            main = location_by_code(session, "main")
            for code, units in self.stream.stock.items():
                count_stock(session, upsert_sku(session, code), main, units)
        for market in markets:
            market.set_listings([{"sku": code, "quantity": 0} for code in self.stream.stock])
        for name in self.names:
            for job in (JobName.LISTINGS, JobName.RECONCILE):
                _run(sync, name, job, Counter())
        for market in markets:
            for code, units in self.stream.stock.items():
                if market.quantity(code) != units:
                    raise RuntimeError(f"{market.name} shows {market.quantity(code)} of {code}")

    @contextmanager
    def _commit_signal(self) -> Iterator[None]:
        """The scheduler's wake-up: a commit that marked listings dirty."""

        def on_commit(session: Session) -> None:
            if session.info.pop(LISTINGS_MARKED, False):
                self.marked = True

        event.listen(Session, "after_commit", on_commit)
        try:
            yield
        finally:
            event.remove(Session, "after_commit", on_commit)

    def _replay(
        self,
        hub: Hub,
        sync: SyncEngine,
        buyers: httpx.Client,
        markets: list[SandboxMarketplace],
    ) -> ReplayResult:
        events: list[tuple[float, int, int, int]] = []
        sequence = iter(range(10**9))

        def schedule(at: float, kind: int, subject: int = -1) -> None:
            heapq.heappush(events, (at, kind, next(sequence), subject))

        for index, sale in enumerate(self.stream.sales):
            schedule(sale.at, SALE, index)
        configured = [
            sync.channels[name].intervals[JobName.ORDERS].total_seconds() for name in self.names
        ]
        for index, intake in enumerate(self.mode.intakes):
            every = configured[index] if intake.poll_every is None else intake.poll_every
            for at in pull_moments(every, index, len(self.names), self.stream.seconds):
                schedule(at, PULL, index)
        if not self.mode.event_driven:
            for tick in range(1, int(self.stream.seconds // BASELINE_EVERY_S) + 1):
                schedule(tick * BASELINE_EVERY_S, PUSH)
        set_up = [_history_lengths(market) for market in markets]
        placed, refused = 0, 0
        unread = [False] * len(self.names)
        runs: Counter[str] = Counter()
        push_real_ms: list[float] = []
        push_due = False
        while events:
            at, kind, _, subject = heapq.heappop(events)
            self.clock.set(self.start + timedelta(seconds=at))
            if kind == SALE:
                sale = self.stream.sales[subject]
                if not _buy(buyers, markets[sale.channel], sale):
                    refused += 1
                    continue
                placed += 1
                unread[sale.channel] = True
                event_at = self.mode.intakes[sale.channel].event_at(at)
                if event_at is not None:
                    schedule(event_at, EVENT, sale.channel)
            elif kind in (PULL, EVENT):
                # A pull that would find no new order changes nothing: skipped.
                if not unread[subject]:
                    continue
                unread[subject] = False
                self.marked = False
                _run(sync, self.names[subject], JobName.ORDERS, runs)
                if self.mode.event_driven and self.marked and not push_due:
                    schedule(at + self.push_delay, PUSH)
                    push_due = True
            else:
                push_due = False
                begun = time.perf_counter()
                for name in self.names:
                    _run(sync, name, JobName.STOCK, runs)
                push_real_ms.append((time.perf_counter() - begun) * 1000)
        self.clock.set(self.start + timedelta(seconds=self.stream.seconds + 60))
        for name in self.names:
            _run(sync, name, JobName.ORDERS, runs)
        with Session(hub.engine) as session:
            orders = list(session.exec(select(Order)))
            names = {channel.id: channel.name for channel in session.exec(select(Channel))}
            by_channel: Counter[str] = Counter()
            for order in orders:
                by_channel[names[order.channel_id]] += shortage_units(session, order)
            units = sum(by_channel.values())
            flagged = session.exec(select(func.count()).where(col(Order.oversold))).one()
        if len(orders) != placed:
            raise RuntimeError(f"{placed} orders placed, {len(orders)} in the hub")
        return ReplayResult(
            oversold_units=units,
            oversold_orders=int(flagged),
            orders=placed,
            refused_buyers=refused,
            runs=runs,
            pull_interval_s=max(configured),
            oversold_by_channel={name: by_channel[name] for name in self.names},
            stale_raises=sum(
                _raising_pushes(market, lengths)
                for market, lengths in zip(markets, set_up, strict=True)
            ),
            push_real_ms=push_real_ms,
        )


def _buy(buyers: httpx.Client, market: SandboxMarketplace, sale: Sale) -> bool:
    """The buyer's order through the marketplace's HTTP API: placed, or refused."""
    answer = buyers.post(
        f"{market.url}/_sandbox/buy", json={"sku": sale.sku, "quantity": sale.quantity}
    )
    if answer.status_code == 409 and answer.json().get("error") == "out_of_stock":
        return False
    answer.raise_for_status()
    return True


def _history_lengths(market: SandboxMarketplace) -> dict[str, int]:
    return {item["sku"]: len(item["history"]) for item in market.snapshot()["listings"]}


def _raising_pushes(market: SandboxMarketplace, since: dict[str, int]) -> int:
    """Pushes, after the `since` lengths of each listing's history, that raised its quantity."""
    raised = 0
    for item in market.snapshot()["listings"]:
        history = item["history"]
        for index in range(max(since[item["sku"]], 1), len(history)):
            entry = history[index]
            raised += (
                entry["source"] == "push" and entry["quantity"] > history[index - 1]["quantity"]
            )
    return raised


def _run(sync: SyncEngine, name: str, job: str, runs: Counter[str]) -> None:
    outcome = sync.run(name, job)
    if outcome.status != "succeeded":
        raise RuntimeError(f"{name} {job}: {outcome.status}: {outcome.error}")
    runs[job] += 1


def ratio(baseline: int, hub: int) -> float | None:
    """How many times fewer units the hub oversold; None when it oversold none."""
    return round(baseline / hub, 2) if hub else None


def measure(seed: int, hours: float, push_delay: float, delays: IntakeDelays) -> dict[str, Any]:
    stream = generate_stream(seed, hours=hours)
    started = time.perf_counter()
    paths_mode = intake_paths_mode(delays)
    hub, webhooks, paths, baseline = (
        Replay(stream, mode, push_delay=push_delay).run()
        for mode in (HUB, HUB_WEBHOOKS, paths_mode, BASELINE)
    )
    return {
        "seed": seed,
        "hours": hours,
        "channels": stream.channels,
        "skus": len(stream.stock),
        "scarce_skus": len(stream.scarce),
        "buyers": len(stream.sales),
        "bursts": len({sale.burst for sale in stream.sales} - {-1}),
        "stream": {
            "scarce_units": SCARCE_UNITS,
            "buyers_per_hour": BUYERS_PER_HOUR,
            "scarce_share": SCARCE_SHARE,
            "bursts_per_hour": BURSTS_PER_HOUR,
            "burst_buyers": BURST_BUYERS,
            "burst_window_s": BURST_WINDOW_S,
        },
        "hub_units": hub.oversold_units,
        "baseline_units": baseline.oversold_units,
        "ratio": ratio(baseline.oversold_units, hub.oversold_units),
        "hub_orders": hub.oversold_orders,
        "baseline_orders": baseline.oversold_orders,
        "orders": hub.orders,
        "webhooks_units": webhooks.oversold_units,
        "webhooks_orders": webhooks.oversold_orders,
        "webhooks_ratio": ratio(baseline.oversold_units, webhooks.oversold_units),
        "intake_paths_units": paths.oversold_units,
        "intake_paths_ratio": ratio(baseline.oversold_units, paths.oversold_units),
        "target_ratio": TARGET_RATIO,
        "intake_delays": asdict(delays),
        "intake_paths": describe(paths_mode.intakes, hub.pull_interval_s),
        "replays": {
            "hub": hub.summary(),
            "hub_webhooks": webhooks.summary(),
            "hub_intake_paths": paths.summary(),
            "baseline": baseline.summary(),
        },
        "pull_interval_s": hub.pull_interval_s,
        "webhook_delay_s": WEBHOOK_DELAY_S,
        "push_delay_s": push_delay,
        "baseline_push_every_s": BASELINE_EVERY_S,
        "push_real_ms_p95": round(percentile(hub.push_real_ms, 0.95), 1),
        "wall_s": round(time.perf_counter() - started, 1),
    }


def run(quick: bool, earlier: Mapping[str, Any]) -> dict[str, Any]:
    """With the intake delays b3 measured in this run, when it ran (else the constants)."""
    delays = measured_delays(earlier.get("b3_propagation"))
    return run_child(
        "bench.oversell",
        "--hours",
        str(QUICK_HOURS if quick else HOURS),
        "--webhook-delay",
        str(delays.webhook_s),
        "--notification-delay",
        str(delays.notification_s),
        "--delays-source",
        delays.source,
    )


if __name__ == "__main__":
    constants = measured_delays(None)
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--hours", type=float, default=HOURS)
    parser.add_argument("--push-delay", type=float, default=PUSH_DELAY_S)
    parser.add_argument("--webhook-delay", type=float, default=constants.webhook_s)
    parser.add_argument("--notification-delay", type=float, default=constants.notification_s)
    parser.add_argument("--delays-source", default=constants.source)
    args = parser.parse_args()
    given = IntakeDelays(args.webhook_delay, args.notification_delay, args.delays_source)
    print(json.dumps(measure(args.seed, args.hours, args.push_delay, given)))
