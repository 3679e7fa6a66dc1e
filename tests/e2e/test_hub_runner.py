"""The running hub: scheduled pulls, pushes after every change, config reload, clean stop."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from omnisync.core.catalog import location_by_code, upsert_sku
from omnisync.core.clock import utcnow
from omnisync.core.db import make_engine, transaction
from omnisync.core.ledger import count_stock
from omnisync.core.models import Listing, SyncLease, SyncRun
from omnisync.hub.bootstrap import bootstrap
from omnisync.hub.runner import HubRunner
from omnisync.sandbox.marketplace import SandboxMarketplace
from tests.support.hub_setup import sandbox_channel, write_config
from tests.support.polling import eventually
from tests.support.queue_mode import hub_workers

TOKEN = "runner-token-83bd1f"
FAST = "schedule: {orders: 1s, listings: 1s, stock: 5s, reconcile: 1h}\n"


@pytest.fixture
def markets() -> Iterator[dict[str, SandboxMarketplace]]:
    with (
        SandboxMarketplace(TOKEN, name="a", rate=500, burst=500) as a,
        SandboxMarketplace(TOKEN, name="b", rate=500, burst=500) as b,
        SandboxMarketplace(TOKEN, name="c", rate=500, burst=500) as c,
    ):
        for market in (a, b, c):
            market.set_listings([{"sku": code, "title": code, "quantity": 0} for code in "XYZ"])
        yield {"a": a, "b": b, "c": c}


def seed_stock(database_url: str, config: Path) -> None:
    hub = bootstrap(config, database_url=database_url, create=True)
    with transaction(hub.engine) as session:
        main = location_by_code(session, "main")
        for code in "XYZ":
            count_stock(session, upsert_sku(session, code), main, 5)
    hub.engine.dispose()


def live_leases(database_url: str) -> list[SyncLease]:
    engine = make_engine(database_url)
    with Session(engine) as session:
        leases = [
            lease
            for lease in session.exec(select(SyncLease))
            if lease.holder and lease.expires_at > utcnow()
        ]
    engine.dispose()
    return leases


def describe(database_url: str) -> str:
    """The runs and listings, to explain a failure."""
    engine = make_engine(database_url)
    with Session(engine) as session:
        runs = [
            f"{run.channel_id} {run.job} {run.status} {run.counts} {run.error}"
            for run in session.exec(select(SyncRun))
        ]
        listings = [
            f"{row.channel_id} {row.channel_sku} sku={row.sku_id} dirty={row.dirty} "
            f"ack={row.last_ack_quantity} next={row.next_attempt_at} error={row.last_error}"
            for row in session.exec(select(Listing))
        ]
    engine.dispose()
    return "\n".join(["runs:", *runs, "listings:", *listings])


def test_a_sale_reaches_the_other_channels_and_channel_files_reload_while_running(
    tmp_path: Path,
    empty_database_url: str,
    markets: dict[str, SandboxMarketplace],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("SB_KEY", TOKEN)
    config = write_config(
        tmp_path / "config",
        {name: sandbox_channel(markets[name].url, extra=FAST) for name in ("a", "b")},
    )
    seed_stock(empty_database_url, config)
    with hub_workers(config, empty_database_url, tmp_path / "workers"):
        runner = HubRunner(bootstrap(config, database_url=empty_database_url), push_poll=0.05)
        thread = threading.Thread(target=runner.run)
        caplog.set_level(logging.INFO, logger="omnisync.run")
        thread.start()
        try:
            assert eventually(
                lambda: markets["a"].quantity("X") == markets["b"].quantity("X") == 5
            ), describe(empty_database_url)
            assert markets["a"].buy("X", 2) is not None
            assert eventually(lambda: markets["b"].quantity("X") == 3), describe(empty_database_url)
            # The sandbox API sets quantities without compare-and-set: a push of 5 in flight when
            # the sale happened (the start-up reconcile) can land after it, until the hub has
            # taken the order in and pushes 3 again.
            assert eventually(lambda: markets["a"].quantity("X") == 3), describe(empty_database_url)

            (config / "channels" / "c.yaml").write_text(
                sandbox_channel(markets["c"].url, extra=FAST)
            )
            (config / "channels" / "broken.yaml").write_text("type: sandbox\nendpoint: nowhere\n")
            assert eventually(lambda: markets["c"].quantity("X") == 3)
            messages = [record.getMessage() for record in caplog.records]
            assert any("channel c added" in message for message in messages)
            assert any("broken.yaml" in message and "ignored" in message for message in messages)

            (config / "channels" / "c.yaml").unlink()
            assert eventually(
                lambda: any("channel c removed" in record.getMessage() for record in caplog.records)
            )
            assert markets["b"].buy("Y", 1) is not None
            assert eventually(lambda: markets["a"].quantity("Y") == 4)
            assert markets["c"].quantity("Y") == 5  # no longer a channel of the hub
        finally:
            runner.stop()
            thread.join(timeout=30)
    assert not thread.is_alive()
    assert live_leases(empty_database_url) == []


@pytest.mark.single_runner("a hub on SQLite: the single runner")
def test_sigterm_stops_the_hub_cleanly_and_sighup_reloads(
    tmp_path: Path, markets: dict[str, SandboxMarketplace], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SB_KEY", TOKEN)
    database_url = f"sqlite:///{tmp_path / 'hub.db'}"
    config = write_config(tmp_path / "config", {"a": sandbox_channel(markets["a"].url, extra=FAST)})
    env = {**os.environ, "SB_KEY": TOKEN, "OMNISYNC_DATABASE_URL": database_url}
    seed_stock(database_url, config)
    process = subprocess.Popen(
        [sys.executable, "-m", "omnisync.hub.cli", "--config-dir", str(config), "run"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert eventually(lambda: markets["a"].quantity("X") == 5)
        (config / "channels" / "b.yaml").write_text(sandbox_channel(markets["b"].url, extra=FAST))
        process.send_signal(signal.SIGHUP)
        assert eventually(lambda: markets["b"].quantity("X") == 5)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    log = process.stderr.read() if process.stderr else ""
    assert "channel b added" in log
    assert "stopped" in log
    assert TOKEN not in log
    assert live_leases(database_url) == []
