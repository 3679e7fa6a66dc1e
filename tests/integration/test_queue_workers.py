"""Runner `procrastinate` with two `omnisync worker` processes on real PostgreSQL, against
two sandbox marketplaces over HTTP.

One set of workers serves every check, in order (the last one kills a worker):

- a channel sees one inventory request at a time, and each SKU's quantities in the order
  the hub had them, while two workers compete for its pushes;
- 100 "push now" signals (stock changes) while a push is in flight (the sandbox holds it)
  make one more push;
- with two workers up, one orders pull per period (`schedule: {orders: 2s}`), never two
  at once, and the orders tick deferred every second;
- a worker killed (SIGKILL) in the middle of a push: the sweeper fails the stalled task and
  defers it again; the other worker keeps ticking; every channel ends showing the hub's
  quantities, and the orders bought meanwhile are all pulled, once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from omnisync.core.models import SyncRun
from omnisync.hub.bootstrap import Hub, bootstrap, engine_channels
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sync.engine import SyncEngine
from omnisync.sync.jobs.names import JobName
from omnisync.sync.queue.hook import remove_push_hook
from omnisync.sync.queue.names import tick_name
from omnisync.sync.queue.runner import QueueRunner, SweepOptions
from tests.support.databases import POSTGRES_URL
from tests.support.hub_setup import sandbox_channel
from tests.support.polling import eventually
from tests.support.queue_checks import (
    channel_id,
    channel_matches_hub,
    channel_tasks,
    counted,
    inventory_requests,
    order_ids,
    pushes_by_sku,
    workers_in_turn,
)
from tests.support.queue_hub import WorkerProcess, queue_config, queue_database

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="OMNISYNC_TEST_POSTGRES_URL is not set"),
]

TOKEN = "queue-workers-5c81d2"
SKUS = ("W-0", "W-1", "W-2")
ORDERS_EVERY = 2.0
"""The channels' `schedule: {orders: 2s}`."""
STALLED = timedelta(seconds=3)
"""The sweeper's stalled_after (hub.yaml's too: FAST_WORKERS)."""


def test_two_workers_push_in_order_coalesce_tick_once_and_survive_a_kill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SB_KEY", TOKEN)
    with (
        SandboxMarketplace(TOKEN, name="one", rate=1000, burst=1000) as one,
        SandboxMarketplace(TOKEN, name="two", rate=1000, burst=1000) as two,
        queue_database() as url,
    ):
        markets = {"one": one, "two": two}
        extra = f"schedule: {{orders: {ORDERS_EVERY:g}s}}\n"
        channels = {
            name: sandbox_channel(market.url, extra=extra, timeout=10)
            for name, market in markets.items()
        }
        for market in markets.values():
            market.set_listings([{"sku": sku, "title": sku, "quantity": 0} for sku in SKUS])
        config = queue_config(tmp_path / "config", channels)
        hub = bootstrap(config, database_url=url)
        try:
            for sku in SKUS:
                counted(hub.engine, sku, 10)
            began = time.monotonic()  # before the first worker: it ticks at once
            with workers_in_turn(2, config, url, tmp_path) as started, sweeping(hub):
                settled = lambda: all(  # noqa: E731
                    channel_matches_hub(hub.engine, name, market)
                    for name, market in markets.items()
                )
                assert eventually(settled, timeout=30), _logs(started)
                _one_push_at_a_time_in_order(hub, markets)
                _push_now_signals_coalesce(hub, one)
                _one_orders_run_per_period(hub, time.monotonic() - began)
                _killed_worker_recovered(hub, markets, started)
        finally:
            remove_push_hook(hub.engine)
            hub.engine.dispose()


@contextmanager
def sweeping(hub: Hub) -> Iterator[QueueRunner]:
    """`omnisync run`'s side, in this process: the sweeps every second (a listing the
    listings pull links or finds drifted is marked dirty without a deferral: the dirty
    sweep defers its push), stalled tasks after STALLED."""
    sync = SyncEngine(hub.engine, engine_channels(hub.settings), secrets=hub.settings.secrets)
    assert hub.targets is not None
    runner = QueueRunner(
        sync, hub.targets, SweepOptions(every=timedelta(seconds=1), stalled_after=STALLED)
    )
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()
        sync.close()


def _logs(started: list[tuple[WorkerProcess, int]]) -> str:
    return "\n".join(process.output()[-4000:] for process, _ in started)


def _one_push_at_a_time_in_order(hub: Hub, markets: dict[str, SandboxMarketplace]) -> None:
    """60 stock changes (each SKU counted 11, 12, ... 30, one transaction each) while both
    workers take the pushes: each sandbox saw one inventory request at a time, and each SKU
    set to rising quantities ending at the hub's."""
    since = {}
    for name, market in markets.items():
        market.reset_inventory_peak()
        market.inject("inventory", "slow", count=1000, seconds=0.1)
        since[name] = len(market.snapshot()["inventory_pushes"])
    for level in range(11, 31):
        for sku in SKUS:
            counted(hub.engine, sku, level)
    for name, market in markets.items():
        assert eventually(partial(channel_matches_hub, hub.engine, name, market), timeout=30)
        market.faults.clear()
        pushed = pushes_by_sku(market, since[name])
        assert {sku: pushed[sku][-1] for sku in SKUS} == dict.fromkeys(SKUS, 30), pushed
        for sku in SKUS:
            assert pushed[sku] == sorted(pushed[sku]), (name, sku, pushed[sku])
        assert market.inventory_in_flight()[1] == 1, name


def _push_now_signals_coalesce(hub: Hub, one: SandboxMarketplace) -> None:
    """A push in flight (the sandbox holds it), then 100 stock-change transactions on its
    channel: one task waits, and one more push carries them all."""
    channel = channel_id(hub.engine, "one")
    before = inventory_requests(one)
    one.hold_inventory()
    try:
        counted(hub.engine, "W-0", 31)
        assert eventually(lambda: one.inventory_in_flight()[0] == 1, timeout=10)
        for level in range(32, 132):
            counted(hub.engine, "W-0", level)
        assert (one.inventory_in_flight()[0], inventory_requests(one) - before) == (1, 1)
        tasks = channel_tasks(hub.engine, JobName.STOCK, channel)
        assert sorted(status for _, status, _ in tasks) == ["doing", "todo"]
    finally:
        one.hold_inventory(False)
    assert eventually(lambda: one.quantity("W-0") == 131, timeout=20)
    assert eventually(lambda: not channel_tasks(hub.engine, JobName.STOCK, channel), timeout=10)
    assert inventory_requests(one) - before == 2
    assert pushes_by_sku(one, 0)["W-0"][-2:] == [31, 131]


def _one_orders_run_per_period(hub: Hub, elapsed: float) -> None:
    """Orders pulls every 2 s (the orders tick, each second, defers those due): never two at
    once for a channel, never more than one per period."""
    with Session(hub.engine) as session:
        for name in ("one", "two"):
            runs = session.exec(
                select(SyncRun)
                .where(SyncRun.channel_id == channel_id(hub.engine, name), SyncRun.job == "orders")
                .order_by(col(SyncRun.started_at))
            ).all()
            assert 2 <= len(runs) <= elapsed / ORDERS_EVERY + 1, (name, len(runs), elapsed)
            for earlier, later in pairwise(runs):
                assert earlier.finished_at is not None
                assert earlier.finished_at <= later.started_at, (earlier, later)
    # procrastinate keeps each periodic task's last deferral: the tick goes on.
    assert eventually(partial(_ticked_within, hub, 2), timeout=10)


def _killed_worker_recovered(
    hub: Hub,
    markets: dict[str, SandboxMarketplace],
    started: list[tuple[WorkerProcess, int]],
) -> None:
    """SIGKILL of the worker running channel one's push (its request held): the sweeper
    fails the stalled task (STALLED) and defers it again, the other worker ticks on, and
    orders bought before and after the kill are all pulled once."""
    one = markets["one"]
    channel = channel_id(hub.engine, "one")
    for number in range(4):
        assert one.buy(SKUS[number % len(SKUS)]) is not None
    one.hold_inventory()
    try:
        counted(hub.engine, "W-1", 40)
        assert eventually(partial(_push_in_flight, hub, one, channel), timeout=20)
        (job_id, _, worker_id), *_ = [
            t for t in channel_tasks(hub.engine, JobName.STOCK, channel) if t[1] == "doing"
        ]
        victim = next(process for process, known_id in started if known_id == worker_id)
        with Session(hub.engine) as session:
            killed_at = session.execute(text("SELECT now()")).scalar_one()
        victim.kill()
    finally:
        one.hold_inventory(False)  # the dead worker's request lands late, with what it read

    for number in range(6):
        market = markets["one" if number % 2 else "two"]
        assert market.buy(SKUS[number % len(SKUS)]) is not None

    def recovered() -> bool:
        statuses = {t[0]: t[1] for t in channel_tasks(hub.engine, JobName.STOCK, channel)}
        return statuses.get(job_id) == "failed"

    assert eventually(recovered, timeout=20)
    # procrastinate#1495: the surviving worker goes on ticking.
    assert eventually(partial(_ticked_within, hub, 2), timeout=10)
    for name, market in markets.items():
        placed = sorted(order["id"] for order in market.snapshot()["orders"])
        pulled = partial(_pulled, hub, name, placed)
        assert eventually(pulled, timeout=20), (name, order_ids(hub.engine, name), placed)
        assert eventually(partial(channel_matches_hub, hub.engine, name, market), timeout=20)
    with Session(hub.engine) as session:
        after_kill = session.exec(
            select(SyncRun).where(SyncRun.job == "orders", col(SyncRun.started_at) > killed_at)
        ).all()
    assert {run.channel_id for run in after_kill} == {
        channel_id(hub.engine, name) for name in markets
    }


def _pulled(hub: Hub, name: str, placed: list[str]) -> bool:
    """The hub holds each of `placed` once, and no other order of the channel."""
    return sorted(order_ids(hub.engine, name)) == placed


def _ticked_within(hub: Hub, seconds: float) -> bool:
    """The orders tick was deferred in the last `seconds` (by the database's clock)."""
    with Session(hub.engine) as session:
        age = session.execute(
            text(
                "SELECT extract(epoch FROM now()) - max(defer_timestamp) "
                "FROM procrastinate_periodic_defers WHERE task_name = :task"
            ),
            {"task": tick_name(JobName.ORDERS)},
        ).scalar_one()
    return age is not None and float(age) <= seconds


def _push_in_flight(hub: Hub, market: SandboxMarketplace, channel: int) -> bool:
    doing = [t for t in channel_tasks(hub.engine, JobName.STOCK, channel) if t[1] == "doing"]
    return bool(doing) and market.inventory_in_flight()[0] == 1
