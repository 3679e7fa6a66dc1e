"""Issue 5's CLI acceptance against a server that speaks SP-API (the Amazon simulator):
`sync listings`, `sync orders`, a stock change and `sync stock` send a patchListingsItem
whose quantity is the hub's available-to-sell, and no credential shows in any output.
The commands run in this process (tests/support/cli_runner.py), with a clean OMNISYNC_*
environment, as tests/cli's commands do."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from omnisync.sandbox.amazon import AmazonSimulator
from tests.support.cli_runner import run_cli
from tests.support.databases import sqlite_url
from tests.support.hub_setup import amazon_channel


@pytest.fixture
def simulator() -> Iterator[AmazonSimulator]:
    with AmazonSimulator(rate_scale=100.0) as server:
        server.set_listings(
            [
                {"sku": "MUG", "quantity": 10, "productType": "DRINKING_CUP"},
                {"sku": "LID", "quantity": 0},
            ]
        )
        yield server


@pytest.mark.slow
def test_sync_listings_orders_then_stock_patches_the_available_quantity(
    tmp_path: Path, simulator: AmazonSimulator
) -> None:
    config = tmp_path / "config"
    (config / "channels").mkdir(parents=True)
    (config / "hub.yaml").write_text("locations:\n  - code: main\n")
    (config / "channels" / "amz.yaml").write_text(amazon_channel(simulator))
    credentials = simulator.credentials
    secrets = [credentials.refresh_token, credentials.client_id, credentials.client_secret]
    env: dict[str, str | None] = dict.fromkeys(
        key for key in os.environ if key.startswith("OMNISYNC_")
    )
    env.update(
        OMNISYNC_CONFIG_DIR=str(config),
        OMNISYNC_DATABASE_URL=sqlite_url(tmp_path / "var"),
        AMZ_REFRESH_TOKEN=credentials.refresh_token,
        AMZ_APP_ID=credentials.client_id,
        AMZ_CLIENT_SECRET=credentials.client_secret,
        COLUMNS="200",
    )

    def omnisync(*args: str) -> str:
        done = run_cli(args, env=env, cwd=tmp_path)
        for secret in secrets:
            assert secret not in done.stdout
            assert secret not in done.stderr
        assert done.exit_code == 0, (args, done.stdout, done.stderr)
        return done.stdout

    omnisync("init")
    omnisync("check")
    omnisync("skus", "add", "MUG")
    omnisync("skus", "add", "LID")
    omnisync("stock", "set", "MUG", "10")
    omnisync("sync", "listings", "--channel", "amz")
    now = datetime.now(UTC)
    order = simulator.place_order([("MUG", 3)], purchased_at=now - timedelta(minutes=10))
    simulator.touch_order(order["AmazonOrderId"], at=now - timedelta(minutes=5))
    omnisync("sync", "orders", "--channel", "amz")
    omnisync("stock", "set", "MUG", "8")
    omnisync("sync", "stock", "--channel", "amz")

    patches = {patch["sku"]: patch for patch in simulator.listing_patches()}
    (availability,) = patches["MUG"]["patches"][0]["value"]
    assert availability["quantity"] == 8 - 3  # on hand minus the Amazon order's reservation
    assert simulator.quantity("MUG") == 5
    assert simulator.quantity("LID") == 0
    assert order["AmazonOrderId"] in omnisync("orders", "list", "--json")
