"""The Shopify connector against the Shopify simulator, over real HTTP (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from omnisync.core.availability import available_to_sell
from omnisync.core.catalog import location_by_code, sku_by_code, upsert_sku
from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.ledger import count_stock
from omnisync.core.models import Listing, Order, OrderLine, StockLevel
from omnisync.core.shipping import record_shipment
from omnisync.hub.api import create_app
from omnisync.hub.bootstrap import Hub
from omnisync.hub.http_server import ServerRunner
from omnisync.sandbox.shopify import ShopifySimulator
from omnisync.sync.engine import SyncEngine
from omnisync.sync.jobs.counts import RunCount
from tests.support.hub_setup import engine_for, open_test_hub, shopify_channel, write_config

TOKEN = "shpat_e2e_token_0a1b2c"
SECRET = "shpss_e2e_secret_9z8y"
SKUS = ["MUG", "LID", "BOWL"]


@pytest.fixture
def shop() -> Iterator[ShopifySimulator]:
    with ShopifySimulator(TOKEN, client_secret=SECRET) as simulator:
        simulator.add_location("Main warehouse")
        simulator.set_catalogue([{"sku": code, "title": code, "quantity": 20} for code in SKUS])
        yield simulator


@pytest.fixture
def hub(
    tmp_path: Path,
    migrated_database_url: str,
    shop: ShopifySimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Hub]:
    monkeypatch.setenv("SHOP_TOKEN", TOKEN)
    monkeypatch.setenv("SHOP_SECRET", SECRET)
    config = write_config(tmp_path / "config", {"shop": shopify_channel(shop.url)})
    hub = open_test_hub(config, migrated_database_url)
    with transaction(hub.engine) as session:
        main = location_by_code(session, "main")
        for code in SKUS:
            count_stock(session, upsert_sku(session, code), main, 20)
    yield hub
    hub.engine.dispose()


@pytest.fixture
def sync(hub: Hub) -> Iterator[SyncEngine]:
    engine = engine_for(hub)
    yield engine
    engine.close()


def ats(hub: Hub, code: str) -> int:
    with Session(hub.engine) as session:
        sku = sku_by_code(session, code)
        channel = channel_by_name(session, "shop")
        return available_to_sell(session, channel, [sku.id or 0])[sku.id or 0]


def test_orders_placed_on_shopify_reach_the_hub_by_polling(
    hub: Hub, shop: ShopifySimulator, sync: SyncEngine
) -> None:
    assert shop.buy_many([("MUG", 2), ("LID", 1)]) is not None
    assert shop.buy("BOWL") is not None
    outcome = sync.run("shop", "orders")
    assert outcome.status == "succeeded", outcome.error
    assert outcome.counts[RunCount.CREATED] == 2
    with Session(hub.engine) as session:
        lines = session.exec(select(OrderLine)).all()
        assert sorted(line.channel_sku for line in lines) == ["BOWL", "LID", "MUG"]
        assert all(line.sku_id is not None for line in lines)
        reserved = sum(level.reserved for level in session.exec(select(StockLevel)))
        assert reserved == 4


def test_a_stock_change_in_the_hub_reaches_the_shopify_inventory_level(
    hub: Hub, shop: ShopifySimulator, sync: SyncEngine
) -> None:
    assert sync.run("shop", "listings").counts[RunCount.BOUND] == len(SKUS)
    with transaction(hub.engine) as session:
        count_stock(session, sku_by_code(session, "MUG"), location_by_code(session, "main"), 7)
    assert sync.run("shop", "stock").status == "succeeded"
    assert shop.available("MUG") == ats(hub, "MUG") == 7
    # Someone edits the level on Shopify: the compare-and-set is stale, re-read, retried.
    shop.set_available("MUG", 3)
    with transaction(hub.engine) as session:
        count_stock(session, sku_by_code(session, "MUG"), location_by_code(session, "main"), 5)
    assert sync.run("shop", "stock").status == "succeeded"
    assert shop.available("MUG") == 5


def test_a_shipment_appears_as_a_fulfillment_with_its_tracking(
    hub: Hub, shop: ShopifySimulator, sync: SyncEngine
) -> None:
    placed = shop.buy("LID", 2)
    assert placed is not None
    sync.run("shop", "orders")
    with transaction(hub.engine) as session:
        order = session.exec(select(Order)).one()
        record_shipment(session, order, None, carrier="UPS", tracking_number="1Z999AA10123456784")
    outcome = sync.run("shop", "fulfilments")
    assert outcome.status == "succeeded", outcome.error
    (fulfillment,) = shop.fulfillments(placed["id"])
    assert "1Z999AA10123456784" in str(fulfillment)
    assert sync.run("shop", "fulfilments").counts[RunCount.PUSHED] == 0  # nothing pushed twice


def wait_until(check: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return True
        time.sleep(0.05)
    return False


def test_orders_arrive_by_webhook_and_a_wrong_signature_changes_nothing(
    hub: Hub, shop: ShopifySimulator, sync: SyncEngine
) -> None:
    with ServerRunner(create_app(sync)) as server:
        shop.set_webhook_url(f"{server.url}/webhooks/shopify/shop")
        placed = shop.buy("BOWL", 3)
        assert placed is not None
        assert shop.wait_for_webhooks()

        def in_hub() -> bool:
            with Session(hub.engine) as session:
                return session.exec(select(Order)).first() is not None

        assert wait_until(in_hub)
        statuses = [d.get("status_code") for d in shop.webhook_deliveries()]
        assert 200 in statuses
    with ShopifySimulator(TOKEN, client_secret="someone-elses-secret") as impostor:
        impostor.add_location("Main warehouse")
        impostor.set_catalogue([{"sku": "MUG", "title": "MUG", "quantity": 5}])
        with ServerRunner(create_app(sync)) as server:
            impostor.set_webhook_url(f"{server.url}/webhooks/shopify/shop")
            assert impostor.buy("MUG") is not None
            assert impostor.wait_for_webhooks()
            deliveries = impostor.webhook_deliveries()
            assert {d.get("status_code") for d in deliveries} == {401}, deliveries
    with Session(hub.engine) as session:
        assert len(session.exec(select(Order)).all()) == 1


def test_a_level_edited_on_shopify_is_drift_and_the_hub_puts_its_figure_back(
    hub: Hub, shop: ShopifySimulator, sync: SyncEngine
) -> None:
    shop.webhook_topics = frozenset({"inventory_levels/update"})
    sync.run("shop", "listings")
    with transaction(hub.engine) as session:
        count_stock(session, sku_by_code(session, "MUG"), location_by_code(session, "main"), 9)
    with ServerRunner(create_app(sync)) as server:
        shop.set_webhook_url(f"{server.url}/webhooks/shopify/shop")
        assert sync.run("shop", "stock").status == "succeeded"
        assert shop.available("MUG") == 9
        assert shop.wait_for_webhooks()  # the echo of our own push: not drift
        assert dirty_listings(hub) == set()
        shop.set_available("MUG", 2)  # someone edits the level in the Shopify admin
        assert shop.wait_for_webhooks()
        assert {d.get("status_code") for d in shop.webhook_deliveries()} == {200}
        assert wait_until(lambda: dirty_listings(hub) == {"MUG"})
    assert sync.run("shop", "stock").status == "succeeded"
    assert shop.available("MUG") == ats(hub, "MUG") == 9
    assert dirty_listings(hub) == set()


def dirty_listings(hub: Hub) -> set[str]:
    with Session(hub.engine) as session:
        return {
            listing.channel_sku for listing in session.exec(select(Listing).where(Listing.dirty))
        }
