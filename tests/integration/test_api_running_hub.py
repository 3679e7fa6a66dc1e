"""The API served by a running hub (`HubRunner`, uvicorn on loopback): ready while the
scheduler runs, and a stock adjustment made over HTTP reaches the marketplace the way
a CLI adjustment does (the outbox, pushed within a second)."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from omnisync.core.catalog import location_by_code, upsert_sku
from omnisync.core.db import transaction
from omnisync.core.ledger import count_stock
from omnisync.hub.bootstrap import bootstrap
from omnisync.hub.runner import HubRunner
from omnisync.sandbox.marketplace import SandboxMarketplace
from tests.support.api import API_TOKEN, write_api_config
from tests.support.databases import sqlite_url
from tests.support.hub_setup import sandbox_channel
from tests.support.polling import eventually

MARKET_TOKEN = "running-hub-market-token-9e"
FAST = "schedule: {orders: 1s, listings: 1s, stock: 1h, reconcile: 1h}\n"


def test_a_running_hub_serves_the_api_and_pushes_an_adjustment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SB_KEY", MARKET_TOKEN)
    monkeypatch.setenv("OMNISYNC_API_TOKEN", API_TOKEN)
    with SandboxMarketplace(MARKET_TOKEN, name="sb", rate=1000, burst=1000) as market:
        market.set_listings([{"sku": "A", "title": "A", "quantity": 0}])
        config = write_api_config(
            tmp_path / "config", {"sb": sandbox_channel(market.url, extra=FAST)}
        )
        database_url = sqlite_url(tmp_path)
        hub = bootstrap(config, database_url=database_url, create=True)
        with transaction(hub.engine) as session:
            count_stock(session, upsert_sku(session, "A"), location_by_code(session, "main"), 5)
        runner = HubRunner(hub, push_poll=0.05)
        thread = threading.Thread(target=runner.run)
        thread.start()
        try:
            assert eventually(lambda: runner.url is not None)
            assert runner.url is not None
            auth = {"Authorization": f"Bearer {API_TOKEN}"}
            with httpx.Client(base_url=runner.url, headers=auth, timeout=10) as http:
                assert eventually(lambda: http.get("/readyz").status_code == 200)
                assert eventually(lambda: market.quantity("A") == 5)  # listings bound, pushed

                adjusted = http.post("/api/v1/stock/adjustments", json={"sku": "A", "delta": -2})
                assert adjusted.status_code == 201, adjusted.text
                # stock runs only hourly here: what carries it is the outbox watcher.
                assert eventually(lambda: market.quantity("A") == 3)
                stock = http.get("/api/v1/stock/A").json()
                assert stock["channels"] == [{"channel": "sb", "available": 3}]
                assert (
                    http.get("/api/v1/orders", headers={"Authorization": "Bearer x"}).status_code
                    == 401
                )
        finally:
            runner.stop()
            thread.join(timeout=30)
        assert not thread.is_alive()
