"""Cancelling an order on a channel: the simulators' cancel operations (Shopify's
orderCancel, the sandbox marketplace's POST /api/v1/orders/{id}/cancel) and the
connectors' `cancel_order` over them, refusals included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from omnisync.connectors.base import AuthError
from omnisync.connectors.sandbox.connector import SandboxConnector
from omnisync.connectors.sandbox.settings import SandboxSettings
from omnisync.connectors.shopify import documents
from omnisync.connectors.shopify.connector import ShopifyConnector
from omnisync.connectors.shopify.settings import ShopifySettings
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sandbox.shopify import ShopifySimulator

TOKEN = "cancel-unit-token"


@pytest.fixture
def shop() -> Iterator[ShopifySimulator]:
    with ShopifySimulator(TOKEN) as simulator:
        simulator.add_location("Main warehouse")
        simulator.set_catalogue([{"sku": "MUG", "title": "Mug", "quantity": 5}])
        yield simulator


@pytest.fixture
def market() -> Iterator[SandboxMarketplace]:
    with SandboxMarketplace(TOKEN, rate=1000, burst=1000) as server:
        server.set_listings([{"sku": "MUG", "title": "Mug", "quantity": 5}])
        yield server


def shopify(shop: ShopifySimulator) -> ShopifyConnector:
    settings = ShopifySettings(
        shop="omnisync-demo.myshopify.com", endpoint=shop.url, access_token=TOKEN
    )
    return ShopifyConnector(settings)


def sandbox(market: SandboxMarketplace) -> SandboxConnector:
    return SandboxConnector(SandboxSettings(endpoint=market.url, api_key=TOKEN))


def order_cancel(shop: ShopifySimulator, order_id: str) -> Any:
    """The orderCancel payload (as the connector would send it, restocking)."""
    variables = {"orderId": order_id, "reason": "CUSTOMER", "restock": True}
    return shop.execute(documents.ORDER_CANCEL, variables, "OrderCancel")["data"]["orderCancel"]


def test_order_cancel_restocks_when_asked_and_is_idempotent(shop: ShopifySimulator) -> None:
    placed = shop.buy("MUG", 2)
    assert placed is not None
    assert shop.available("MUG") == 3
    first = order_cancel(shop, placed["id"])
    assert first == {
        "job": {"id": "gid://shopify/Job/1", "done": True},
        "orderCancelUserErrors": [],
    }
    assert shop.available("MUG") == 5
    assert shop.get_order(placed["id"])["financial_status"] == "PAID"  # no refundMethod
    again = order_cancel(shop, placed["id"])
    assert again["orderCancelUserErrors"] == []
    assert shop.available("MUG") == 5


def test_order_cancel_refuses_unknown_and_fulfilled_orders(shop: ShopifySimulator) -> None:
    unknown = order_cancel(shop, "gid://shopify/Order/999")
    (error,) = unknown["orderCancelUserErrors"]
    assert error["code"] == "NOT_FOUND"
    placed = shop.buy("MUG", 1)
    assert placed is not None
    shop.ship_order(placed["id"])
    fulfilled = order_cancel(shop, placed["id"])
    (error,) = fulfilled["orderCancelUserErrors"]
    assert error["code"] == "INVALID"
    assert "is fulfilled" in error["message"]


def test_the_shopify_connector_reports_refusals_and_missing_scopes(shop: ShopifySimulator) -> None:
    placed = shop.buy("MUG", 1)
    assert placed is not None
    connector = shopify(shop)
    try:
        unknown = connector.cancel_order("gid://shopify/Order/999", "customer asked")
        assert not unknown.ok
        assert unknown.error == "Order does not exist."
        shop.set_scopes(["read_orders", "read_products"])
        with pytest.raises(AuthError, match="write_orders"):
            connector.cancel_order(placed["id"], None)
        assert shop.get_order(placed["id"])["cancelled_at"] is None
    finally:
        connector.close()


def test_the_sandbox_cancel_endpoint(market: SandboxMarketplace) -> None:
    placed = market.buy("MUG", 2)
    fulfilled = market.buy("MUG", 1)
    assert placed is not None
    assert fulfilled is not None
    market.create_fulfilment(fulfilled["id"], [(fulfilled["line_items"][0]["id"], 1)])
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=market.url) as client:
        path = f"/api/v1/orders/{placed['id']}/cancel"
        assert client.post(path, json={}).status_code == 401
        done = client.post(path, json={"reason": "fraud"}, headers=auth)
        assert done.status_code == 200
        assert done.json()["order"]["status"] == "cancelled"
        assert done.json()["order"]["cancel_reason"] == "fraud"
        assert client.post(path, headers=auth).status_code == 200  # cancelled already: as is
        assert market.quantity("MUG") == 4
        refused = client.post(f"/api/v1/orders/{fulfilled['id']}/cancel", headers=auth)
        assert refused.status_code == 409
        assert refused.json()["error"] == "order_fulfilled"
        assert client.post("/api/v1/orders/NOPE/cancel", headers=auth).status_code == 404
        bad = client.post(path, json={"reason": 7}, headers=auth)
        assert bad.status_code == 400


def test_the_sandbox_connector_cancels_and_reports_a_refusal(market: SandboxMarketplace) -> None:
    placed = market.buy("MUG", 1)
    fulfilled = market.buy("MUG", 1)
    assert placed is not None
    assert fulfilled is not None
    market.create_fulfilment(fulfilled["id"], [(fulfilled["line_items"][0]["id"], 1)])
    connector = sandbox(market)
    try:
        assert connector.cancel_order(placed["id"], "customer asked").ok
        assert market.get_order(placed["id"])["cancel_reason"] == "customer asked"
        refused = connector.cancel_order(fulfilled["id"], None)
        assert not refused.ok
        assert refused.error is not None
        assert "409" in refused.error
    finally:
        connector.close()
