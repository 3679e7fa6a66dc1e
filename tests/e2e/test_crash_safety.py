"""Crash safety: a sync killed (SIGKILL) at any point loses and duplicates nothing.

Each run happens in a subprocess against the sandbox marketplace over HTTP;
the marketplace answers slowly so the kills land in the middle of runs. After
every kill the ledger invariants hold; a final run completes the work.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select

from omnisync.core.availability import available_to_sell
from omnisync.core.catalog import location_by_code, upsert_sku
from omnisync.core.db import make_engine, transaction
from omnisync.core.ledger import count_stock
from omnisync.core.models import Channel, Listing, Order, SyncRun
from omnisync.core.types import SyncRunStatus
from omnisync.hub.bootstrap import bootstrap
from omnisync.sandbox.marketplace import SandboxMarketplace
from tests.support.hub_setup import sandbox_channel, write_config
from tests.support.world import check_ledger_invariants

TOKEN = "crash-token-2e7a41"
SKUS = [f"C-{n:02d}" for n in range(40)]
KILL_AFTER = (0.9, 1.3, 1.7, 2.1)


def run_cli(config: Path, env: dict[str, str], *args: str, kill_after: float | None) -> int:
    """Run the CLI; SIGKILL it after `kill_after` seconds. Exit code (-9 when killed)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "omnisync.hub.cli", "--config-dir", str(config), *args, "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if kill_after is not None:
        time.sleep(kill_after)
        process.send_signal(signal.SIGKILL)
    output, _ = process.communicate(timeout=120)
    if process.returncode not in (0, -signal.SIGKILL):
        print(output)  # shown by pytest when the test fails
    return process.returncode


@pytest.fixture
def market() -> Iterator[SandboxMarketplace]:
    with SandboxMarketplace(TOKEN, name="crash", rate=1000, burst=1000) as server:
        server.set_listings([{"sku": code, "title": code, "quantity": 30} for code in SKUS])
        yield server


@pytest.mark.slow
@pytest.mark.single_runner(
    "`omnisync sync` runs the job itself only under the single runner (under procrastinate it"
    " defers; a worker killed mid-task: tests/integration/test_queue_workers.py)"
)
def test_killed_order_pulls_and_stock_pushes_lose_nothing(
    tmp_path: Path,
    empty_database_url: str,
    market: SandboxMarketplace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SB_KEY", TOKEN)
    # A generous timeout: this test runs beside others on a loaded machine.
    config = write_config(tmp_path / "config", {"sb": sandbox_channel(market.url, timeout=10)})
    hub = bootstrap(config, database_url=empty_database_url, create=True)
    with transaction(hub.engine) as session:
        main = location_by_code(session, "main")
        for code in SKUS:
            count_stock(session, upsert_sku(session, code), main, 30)
    for number in range(300):
        assert market.buy(SKUS[number % len(SKUS)], 1 + number % 2) is not None
    env = {**os.environ, "SB_KEY": TOKEN, "OMNISYNC_DATABASE_URL": empty_database_url}
    placed = {order["id"] for order in market.snapshot()["orders"]}

    market.inject("orders", "slow", count=1000, seconds=0.25)
    for delay in KILL_AFTER:
        # Killed (-9), or finished just before the kill on a fast machine (0); never failed.
        assert run_cli(config, env, "sync", "orders", "--channel", "sb", kill_after=delay) in (
            0,
            -signal.SIGKILL,
        )
        with Session(hub.engine) as session:
            check_ledger_invariants(session)
            ids = session.exec(select(Order.external_id)).all()
            assert len(ids) == len(set(ids))
            assert set(ids) <= placed
    market.faults.clear()
    assert run_cli(config, env, "sync", "orders", "--channel", "sb", kill_after=None) == 0
    with Session(hub.engine) as session:
        assert set(session.exec(select(Order.external_id)).all()) == placed
        assert session.exec(select(func.count()).select_from(Order)).one() == len(placed)
        check_ledger_invariants(session)

    assert run_cli(config, env, "sync", "listings", "--channel", "sb", kill_after=None) == 0
    market.inject("inventory", "slow", count=1000, seconds=0.3)
    with transaction(hub.engine) as session:  # more changes while pushes keep dying
        main = location_by_code(session, "main")
        for code in SKUS[:10]:
            count_stock(session, upsert_sku(session, code), main, 100)
    for delay in KILL_AFTER[:2]:
        assert run_cli(config, env, "sync", "stock", "--channel", "sb", kill_after=delay) in (
            0,
            -signal.SIGKILL,
        )
    market.faults.clear()
    assert run_cli(config, env, "sync", "stock", "--channel", "sb", kill_after=None) == 0
    with Session(hub.engine) as session:
        channel = session.exec(select(Channel)).one()
        listings = session.exec(select(Listing).where(col(Listing.sku_id).is_not(None))).all()
        available = available_to_sell(session, channel, {row.sku_id or 0 for row in listings})
        assert {row.channel_sku: market.quantity(row.channel_sku) for row in listings} == {
            row.channel_sku: available[row.sku_id or 0] for row in listings
        }
        assert not any(row.dirty for row in listings)
        # Runs a kill interrupted were closed when their job ran again (a kill may also land
        # before a run starts, so how many were interrupted varies with the machine).
        statuses = {run.status for run in session.exec(select(SyncRun))}
        assert SyncRunStatus.RUNNING not in statuses
    hub.engine.dispose()
    make_engine(empty_database_url).dispose()
