"""Cancelling and holding orders against the simulators, over real HTTP (SQLite and
PostgreSQL): `omnisync orders cancel --push` cancels the order on the Shopify simulator
(orderCancel) and on the sandbox marketplace (POST /api/v1/orders/{id}/cancel); a hub
cancellation the channel was not told of survives the next orders run; a held order's
fulfilment waits until it is released."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from omnisync.core.catalog import location_by_code, sku_by_code, upsert_sku
from omnisync.core.db import transaction
from omnisync.core.holds import hold_order, release_order
from omnisync.core.ledger import count_stock
from omnisync.core.models import Order, StockLevel
from omnisync.core.shipping import record_shipment
from omnisync.core.types import OrderStatus
from omnisync.hub.api import create_app
from omnisync.hub.bootstrap import Hub
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sandbox.shopify import ShopifySimulator
from omnisync.sync.engine import SyncEngine
from omnisync.sync.jobs.counts import RunCount
from tests.support.api import API_TOKEN
from tests.support.cli_runner import CliResult, invoke_cli
from tests.support.hub_setup import (
    engine_for,
    open_test_hub,
    sandbox_channel,
    shopify_channel,
    write_config,
)

SHOP_TOKEN = "shpat_e2e_cancel_token_51ab"
SHOP_SECRET = "shpss_e2e_cancel_secret_77cd"
SB_TOKEN = "sb-cancel-token-0c3e"
SKUS = ("MUG", "LID")


@pytest.fixture
def shop() -> Iterator[ShopifySimulator]:
    with ShopifySimulator(SHOP_TOKEN, client_secret=SHOP_SECRET) as simulator:
        simulator.add_location("Main warehouse")
        simulator.set_catalogue([{"sku": code, "title": code, "quantity": 20} for code in SKUS])
        yield simulator


@pytest.fixture
def market() -> Iterator[SandboxMarketplace]:
    with SandboxMarketplace(SB_TOKEN, rate=1000, burst=1000, name="sb") as server:
        server.set_listings([{"sku": code, "title": code, "quantity": 20} for code in SKUS])
        yield server


@pytest.fixture
def hub(
    tmp_path: Path,
    migrated_database_url: str,
    shop: ShopifySimulator,
    market: SandboxMarketplace,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Hub]:
    monkeypatch.setenv("SHOP_TOKEN", SHOP_TOKEN)
    monkeypatch.setenv("SHOP_SECRET", SHOP_SECRET)
    monkeypatch.setenv("SB_KEY", SB_TOKEN)
    monkeypatch.setenv("OMNISYNC_API_TOKEN", API_TOKEN)
    config = write_config(
        tmp_path / "config",
        {"shop": shopify_channel(shop.url), "sb": sandbox_channel(market.url)},
    )
    hub_yaml = config / "hub.yaml"
    with_token = 'http: {port: 0, api_token: "${OMNISYNC_API_TOKEN}"}'
    hub_yaml.write_text(hub_yaml.read_text().replace("http: {port: 0}", with_token))
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


def omnisync(hub: Hub, tmp_path: Path, *args: str) -> CliResult:
    return invoke_cli(
        tmp_path / "config",
        hub.settings.database_url,
        *args,
        secrets=[SHOP_TOKEN, SHOP_SECRET, SB_TOKEN],
    )


def reserved(hub: Hub, code: str) -> int:
    with Session(hub.engine) as session:
        sku_id = sku_by_code(session, code).id
        return sum(
            level.reserved
            for level in session.exec(select(StockLevel).where(StockLevel.sku_id == sku_id))
        )


def hub_order(hub: Hub, external_id: str) -> Order:
    with Session(hub.engine) as session:
        return session.exec(select(Order).where(Order.external_id == external_id)).one()


def pulled(sync: SyncEngine, channel: str) -> None:
    outcome = sync.run(channel, "orders")
    assert outcome.status == "succeeded", outcome.error


def test_cancel_with_push_cancels_the_order_on_shopify(
    hub: Hub, shop: ShopifySimulator, sync: SyncEngine, tmp_path: Path
) -> None:
    placed = shop.buy_many([("MUG", 2), ("LID", 1)])
    assert placed is not None
    pulled(sync, "shop")
    assert reserved(hub, "MUG") == 2
    order = hub_order(hub, placed["id"])

    done = omnisync(hub, tmp_path, "orders", "cancel", str(order.id), "--push", "--reason", "fraud")
    assert done.exit_code == 0, done
    assert f"shop cancelled order {placed['id']}" in done.stdout

    on_shopify = shop.get_order(placed["id"])
    assert on_shopify["cancelled_at"] is not None
    assert on_shopify["cancel_reason"] == "FRAUD"
    assert on_shopify["financial_status"] == "REFUNDED"
    assert reserved(hub, "MUG") == reserved(hub, "LID") == 0
    # No restock on Shopify: the hub pushes what the released units make available.
    assert shop.available("MUG") == 18
    assert sync.run("shop", "listings").status == "succeeded"
    assert sync.run("shop", "stock").status == "succeeded"
    assert shop.available("MUG") == 20

    pulled(sync, "shop")  # Shopify now says cancelled too: nothing changes
    assert hub_order(hub, placed["id"]).status == OrderStatus.CANCELLED
    assert reserved(hub, "MUG") == 0


def test_a_hub_cancellation_shopify_was_not_told_of_survives_the_next_read(
    hub: Hub, shop: ShopifySimulator, sync: SyncEngine, tmp_path: Path
) -> None:
    placed = shop.buy("MUG", 3)
    assert placed is not None
    pulled(sync, "shop")
    done = omnisync(hub, tmp_path, "orders", "cancel", str(hub_order(hub, placed["id"]).id))
    assert done.exit_code == 0, done
    assert "shop was not told and still shows order" in done.stdout
    assert "--push" in done.stdout

    shop.touch_order(placed["id"])  # the order changes on Shopify; the next read sees it open
    pulled(sync, "shop")
    assert shop.get_order(placed["id"])["cancelled_at"] is None
    assert hub_order(hub, placed["id"]).status == OrderStatus.CANCELLED
    assert reserved(hub, "MUG") == 0


def test_cancel_with_push_cancels_the_order_on_the_sandbox_marketplace(
    hub: Hub, market: SandboxMarketplace, sync: SyncEngine, tmp_path: Path
) -> None:
    placed = market.buy("LID", 2)
    assert placed is not None
    pulled(sync, "sb")
    assert reserved(hub, "LID") == 2

    done = omnisync(hub, tmp_path, "orders", "cancel", placed["id"], "--push", "--json")
    body = done.json()
    assert body["channel"] == {
        "name": "sb",
        "answer": "cancelled",
        "message": f"sb cancelled order {placed['id']}",
    }
    on_market = market.get_order(placed["id"])
    assert on_market["status"] == "cancelled"
    assert on_market["line_items"][0]["cancelled_quantity"] == 2
    assert reserved(hub, "LID") == 0
    pulled(sync, "sb")
    assert hub_order(hub, placed["id"]).status == OrderStatus.CANCELLED


def test_the_api_pushes_a_cancellation_and_reports_a_refusal(
    hub: Hub, market: SandboxMarketplace, sync: SyncEngine
) -> None:
    first, second = market.buy("MUG", 1), market.buy("MUG", 1)
    assert first is not None
    assert second is not None
    pulled(sync, "sb")
    market.create_fulfilment(second["id"], [(second["line_items"][0]["id"], 1)])
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    with TestClient(create_app(sync, settings=hub.settings)) as client:
        cancelled = client.post(
            f"/api/v1/orders/{first['id']}/cancel", json={"push": True}, headers=auth
        )
        refused = client.post(
            f"/api/v1/orders/{second['id']}/cancel", json={"push": True}, headers=auth
        )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["channel"]["answer"] == "cancelled"
    assert market.get_order(first["id"])["status"] == "cancelled"
    # Fulfilled on the marketplace, not yet read by the hub: the hub cancels, the channel says no.
    assert refused.status_code == 200, refused.text
    channel = refused.json()["channel"]
    assert channel["answer"] == "refused"
    assert "order_fulfilled" in channel["message"]
    assert reserved(hub, "MUG") == 0


def test_a_held_orders_fulfilment_waits_until_it_is_released(
    hub: Hub, market: SandboxMarketplace, sync: SyncEngine
) -> None:
    placed = market.buy("MUG", 2)
    assert placed is not None
    pulled(sync, "sb")
    with transaction(hub.engine) as session:
        order = session.exec(select(Order).where(Order.external_id == placed["id"])).one()
        line = placed["line_items"][0]["id"]
        record_shipment(session, order, {line: 1}, carrier="UPS", tracking_number="1Z1")
        hold_order(session, order, "fraud review")
    held_run = sync.run("sb", "fulfilments")
    assert held_run.status == "succeeded", held_run.error
    assert held_run.counts[RunCount.PUSHED] == 0
    assert market.get_order(placed["id"])["line_items"][0]["fulfilled_quantity"] == 0

    with transaction(hub.engine) as session:
        release_order(session, session.exec(select(Order)).one())
    assert sync.run("sb", "fulfilments").counts[RunCount.PUSHED] == 1
    assert market.get_order(placed["id"])["line_items"][0]["fulfilled_quantity"] == 1
