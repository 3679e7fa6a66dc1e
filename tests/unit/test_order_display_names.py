"""Each connector maps the name sellers know an order by (what operators may type):
Shopify's `name` ("#5001"), Amazon's order id, the sandbox marketplace's order id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omnisync.connectors.amazon.mapping import order_from_payload
from omnisync.connectors.sandbox.mapping import order_from_json
from omnisync.connectors.shopify.mapping import order_from_node, order_from_webhook

FIXTURES = Path(__file__).parents[1] / "contract" / "fixtures"


def fixture(*parts: str) -> Any:
    return json.loads(FIXTURES.joinpath(*parts).read_text())


def test_a_polled_shopify_order_is_named_by_its_name() -> None:
    node = fixture("shopify", "orders_page.json")["data"]["orders"]["nodes"][0]
    mapped = order_from_node(node, node["lineItems"]["nodes"])
    assert (mapped.external_id, mapped.display_name) == ("gid://shopify/Order/5001", "#5001")


def test_a_shopify_webhook_order_is_named_by_its_name() -> None:
    webhook = {
        "id": 5001,
        "admin_graphql_api_id": "gid://shopify/Order/5001",
        "name": "#5001",
        "order_number": 5001,
        "created_at": "2026-11-22T10:00:00Z",
        "updated_at": "2026-11-22T10:00:00Z",
        "line_items": [{"id": 7, "sku": "MUG", "quantity": 1}],
    }
    assert order_from_webhook(webhook).display_name == "#5001"
    assert order_from_webhook({**webhook, "name": None}).display_name is None


def test_an_amazon_order_is_named_by_its_order_id() -> None:
    order = fixture("amazon", "orders_page.json")["orders"][0]
    mapped = order_from_payload(order)
    assert mapped.display_name == mapped.external_id == order["orderId"] == "113-4829103-5520011"


def test_a_sandbox_order_is_named_by_its_id() -> None:
    item = fixture("sandbox", "orders_page.json")["orders"][0]
    assert order_from_json(item).display_name == "SB-000001"
