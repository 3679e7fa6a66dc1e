"""b3_propagation: how long a sale on one channel takes to reach the others, from the
buyer's sale on the channel, per channel the sale was made on.

A hub wired as `omnisync run` wires it (HubRunner: SyncEngine, Scheduler with its
order-event listeners, the HTTP server for webhooks) on SQLite, with three simulators
at their published limits (bench/propagation_markets.py): Shopify (cost bucket 1000,
restore 100/s; orders by signed webhook), Amazon (rate_scale 1: patchListingsItem 5/s
burst 5, getOrder 0.5/s burst 30, searchOrders 0.0056/s burst 20; orders by ORDER_CHANGE
notifications on SQS, searchOrders every 3 minutes as the backstop) and a sandbox
marketplace (10 requests/s, burst 20; orders polled every second). Every SKU is listed
on all three with the same quantity. Buyers then make single-unit purchases on random
channels (seeded), each on a SKU not sold before in the run, at random (Poisson)
moments.

For each sale (bench/sale_timing.py): the sale's moment on the channel's own clock
(the order's timestamp; whole-second stamps bounded by the buyer's call), t0 the
commit of its reservation in the hub (a Session after_commit hook), t1 the moment the
last of the *other* channels applied the new quantity (the simulators record when they
applied each quantity). Per channel of origin: sale to everywhere (t1 - sale), from
commit (t1 - t0, the figure b3 reported before) and intake (t0 - sale). The target is
a sale-to-everywhere p95 under 5 s for every channel of origin.

The floor (bench/rate_floor.py) is the same sequence of commits played through each
channel's published limit with no hub at all: every other channel wants the new
quantity at t0, and takes it in a call as soon as its bucket allows, batched as the
channel batches (Shopify 250 quantities for 10 points, the sandbox 100 per request,
Amazon one SKU per patchListingsItem). The hub also pushes to the channel a sale came
from (the sale lowered that channel's quantity; the hub still confirms its own
figure); the floor does not, so it is a strict lower bound of the from-commit figure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, event
from sqlmodel import Session, col, select

from bench.process import peak_rss_mb, run_child
from bench.propagation_markets import (
    AMAZON_BACKSTOP_S,
    CHANNELS,
    LIMITS,
    SALE_STAMPS,
    SECRET_VARIABLE,
    STOCK,
    TOKEN_VARIABLE,
    Markets,
    write_config,
)
from bench.rate_floor import floor_delays
from bench.sale_timing import (
    SaleRecord,
    SaleTiming,
    missed_origins,
    origin_summaries,
    sale_moment,
    stamp_off_call,
    summary,
)
from omnisync.core.catalog import location_by_code, upsert_sku
from omnisync.core.db import transaction
from omnisync.core.ledger import count_stock
from omnisync.core.models import Reservation, Sku, SyncRun
from omnisync.core.outbox import LISTINGS_MARKED
from omnisync.core.types import SyncRunStatus
from omnisync.hub.bootstrap import bootstrap
from omnisync.hub.runner import HubRunner
from omnisync.sync.jobs.names import JobName

SALES: Final = 200
QUICK_SALES: Final = 30
SALES_PER_S: Final = 3.0
QUICK_SALES_PER_S: Final = 5.0
UNSOLD_SHARE: Final = 0.25
"""Listed SKUs nobody buys, on top of one per sale (the push reads them too)."""
SEED: Final = 8
TARGET_MS: Final = 5000.0
"""Sale to everywhere, p95, for every channel of origin (issue 15)."""
FLOOR_MARGIN_MS: Final = 1000.0
"""The from-commit p95 within this of the floor's."""
STARTUP_TIMEOUT_S: Final = 90.0
SETTLE_TIMEOUT_S: Final = 150.0
"""After the last sale: the last Amazon orders may wait for getOrder tokens."""


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
        record = markets.buy(sale.channel, sale.sku)
        if record is None:
            raise RuntimeError(f"b3: {sale.channel} refused a sale of {sale.sku}")
        records.append(record)
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
    timings: list[SaleTiming] = []
    unpropagated = 0
    for record in records:
        t0 = clock.committed.get(sku_ids[record.sku])
        arrivals = [
            _first_at(applied[name][record.sku], STOCK - 1)
            for name in CHANNELS
            if name != record.channel
        ]
        if t0 is None or any(moment is None for moment in arrivals):
            unpropagated += 1
            continue
        sold_at, sale_clock = sale_moment(record)
        everywhere = max(moment for moment in arrivals if moment is not None)
        timings.append(SaleTiming(record.channel, sold_at, t0, everywhere, sale_clock))
    from_commit = [(t.everywhere_at - t.committed_at) * 1000 for t in timings]
    floor = [
        delay * 1000
        for delay in floor_delays([(t.channel, t.committed_at) for t in timings], LIMITS)
    ]
    by_origin = origin_summaries(timings)
    span = records[-1].called_at - records[0].called_at if len(records) > 1 else 0.0
    return {
        "sales": len(records),
        "sales_per_s": per_second,
        "span_s": round(span, 1),
        "settled": settled,
        "unpropagated": unpropagated,
        **summary(from_commit),
        **{f"floor_{key}": value for key, value in summary(floor).items()},
        "sale_to_everywhere": summary([(t.everywhere_at - t.sold_at) * 1000 for t in timings]),
        "by_origin": by_origin,
        "target_ms": TARGET_MS,
        "missed": missed_origins(by_origin, TARGET_MS),
        "floor_margin_ms": FLOOR_MARGIN_MS,
        "sale_stamps": SALE_STAMPS,
        "stamps_off_call": sum(stamp_off_call(record) for record in records),
        "throttled": markets.throttled(),
        "amazon_backstop_s": AMAZON_BACKSTOP_S,
        "amazon_order_calls": markets.amazon_order_calls(),
        "peak_rss_mb": peak_rss_mb(),
    }


def _first_at(history: Sequence[tuple[float, int]], quantity: int) -> float | None:
    return min((moment for moment, value in history if value == quantity), default=None)


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
