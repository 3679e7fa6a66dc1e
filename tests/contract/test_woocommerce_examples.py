"""Every response WooCommerce documents that the connector reads maps into valid DTOs.

The examples are WooCommerce's own documented response bodies (sandbox/reference/
woocommerce/examples). Each one is either read here the way the connector reads that
endpoint's answer, or named in SKIPPED with the reason the connector never reads it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx

from omnisync.connectors.woocommerce.connector import WooCommerceConnector
from omnisync.connectors.woocommerce.mapping import listing_from_product, listing_from_variation
from omnisync.connectors.woocommerce.settings import WooCommerceSettings
from omnisync.connectors.woocommerce.webhooks import (
    ORDER_DELETED,
    ORDER_TOPICS,
    PRODUCT_TOPICS,
    signature,
)
from omnisync.core.dto import ChannelListing, NormalisedOrder, StockUpdate
from omnisync.sandbox.reference import woocommerce_example, woocommerce_example_names

URL = "https://docs.shop.test"
REST = "/wp-json/wc/v3"
SECRET = "whsec-examples-0c1d"
SETTINGS = {
    "url": URL,
    "consumer_key": "ck_examples0123456789",
    "consumer_secret": "cs_examples0123456789",
    "webhook_secret": SECRET,
}

SKIPPED = {
    "order-refunds--create-a-refund--1": "refunds: the connector never reads the refunds "
    "endpoint; an order's refunds come embedded in it (totals only) and stay in its raw",
    "order-refunds--delete-a-refund--1": "refunds: see order-refunds--create-a-refund--1",
    "order-refunds--list-all-refunds--1": "refunds: see order-refunds--create-a-refund--1",
    "order-refunds--retrieve-a-refund--1": "refunds: see order-refunds--create-a-refund--1",
}


def connector() -> WooCommerceConnector:
    return WooCommerceConnector(WooCommerceSettings.model_validate(SETTINGS))


@pytest.fixture
def shop() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=URL, assert_all_called=False) as mock:
        yield mock


def example(name: str) -> Any:
    return copy.deepcopy(woocommerce_example(name))


def orders_of(body: Any) -> list[Any]:
    """The orders a body holds: a list, one order, or a batch answer's three lists."""
    if isinstance(body, list):
        return body
    if "line_items" in body:
        return [body]
    return [order for part in ("create", "update", "delete") for order in body.get(part, [])]


def read_orders(name: str, shop: respx.MockRouter) -> None:
    """An order list as fetch_orders reads it; a single order as fetch_order and the
    order webhooks read it."""
    body = example(name)
    if isinstance(body, list):
        shop.get(f"{REST}/orders").respond(json=body, headers={"X-WP-TotalPages": "1"})
        (page,) = list(connector().fetch_orders(None))
        assert len(page.orders) == len(body)
        assert page.rejected == ()
        orders: list[NormalisedOrder] = list(page.orders)
    else:
        orders = []
        for order in orders_of(body):
            events = connector().parse_webhook(*delivery("order.updated", order))
            orders.extend(events.orders)
        assert len(orders) == len(orders_of(body))
    assert orders
    assert all(isinstance(order, NormalisedOrder) and order.lines for order in orders)


def read_products(name: str, shop: respx.MockRouter) -> None:
    """The product list as fetch_listings reads it (the variable product's variations from
    the documented variation list); a single product as a listing and a webhook."""
    body = example(name)
    if isinstance(body, list):
        shop.get(f"{REST}/products").respond(json=body)
        variations = example("product-variations--list-all-product-variations--1")
        for product in body:
            shop.get(f"{REST}/products/{product['id']}/variations").respond(json=variations)
        listings = list(connector().fetch_listings())
        assert len(listings) == len(variations) + 1  # one variable, one simple product
    elif "update" in body:
        read_batch(body, shop)
        return
    else:
        listings = [listing_from_product(body)]
        connector().parse_webhook(*delivery("product.updated", body))
    assert all(isinstance(listing, ChannelListing) and listing.key for listing in listings)


def read_variations(name: str, shop: respx.MockRouter) -> None:
    body = example(name)
    if isinstance(body, dict) and "update" in body:
        read_batch(body, shop, parent=22)
        return
    parent = example("products--create-a-product--2")  # the documented variable product
    for variation in body if isinstance(body, list) else [body]:
        listing = listing_from_variation(parent, variation)
        assert listing.channel_ids == {"product_id": 799, "variation_id": variation["id"]}
        assert listing.untracked_stock  # the documented variations do not manage stock


def read_batch(answer: dict[str, Any], shop: respx.MockRouter, parent: int | None = None) -> None:
    """A batch answer as push_stock reads it: one result per update, acknowledged."""
    updated = answer["update"]
    read_path = f"{REST}/products" if parent is None else f"{REST}/products/{parent}/variations"
    shop.get(read_path).respond(
        json=[{"id": item["id"], "manage_stock": True, "stock_quantity": 0} for item in updated]
    )
    shop.post(f"{read_path}/batch").respond(json=answer)

    def ids(item_id: int) -> dict[str, int]:
        if parent is None:
            return {"product_id": item_id}
        return {"product_id": parent, "variation_id": item_id}

    updates = [
        StockUpdate(channel_sku=f"SKU{i['id']}", quantity=4, channel_ids=ids(i["id"]))
        for i in updated
    ]
    results = connector().push_stock(updates)
    assert [(result.key, result.ok, result.quantity) for result in results] == [
        (update.channel_sku, True, 4) for update in updates
    ]


def read_webhooks(name: str, shop: respx.MockRouter) -> None:
    """A webhook the seller creates names a topic: a delivery of it is one the hub reads,
    or one it answers and ignores."""
    body = example(name)
    hooks = (
        body
        if isinstance(body, list)
        else [body]
        if "topic" in body
        else [hook for part in body.values() for hook in part]
    )
    for hook in hooks:
        topic = hook["topic"]
        payload = (
            example("orders--retrieve-an-order--1") if topic.startswith("order.") else {"id": 1}
        )
        events = connector().parse_webhook(*delivery(topic, payload))
        handled = topic in ORDER_TOPICS | PRODUCT_TOPICS or topic == ORDER_DELETED
        assert bool(events.orders) == (topic in ORDER_TOPICS), topic
        if not handled:
            assert events.quantities == ()


def delivery(topic: str, payload: Any) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    return {"x-wc-webhook-topic": topic, "x-wc-webhook-signature": signature(SECRET, body)}, body


READERS: dict[str, Callable[[str, respx.MockRouter], None]] = {
    "orders": read_orders,
    "products": read_products,
    "product-variations": read_variations,
    "webhooks": read_webhooks,
}


def read_examples() -> list[str]:
    return [name for name in woocommerce_example_names() if name not in SKIPPED]


def test_every_example_is_read_or_skipped_by_name() -> None:
    names = woocommerce_example_names()
    assert names, "the WooCommerce examples are missing from the project"
    assert set(SKIPPED) <= set(names)
    assert all(name.split("--")[0] in READERS for name in read_examples())


@pytest.mark.parametrize("name", read_examples())
def test_the_documented_response_maps(name: str, shop: respx.MockRouter) -> None:
    READERS[name.split("--")[0]](name, shop)


def test_a_documented_order_page_walks_by_its_headers(shop: respx.MockRouter) -> None:
    body = example("orders--list-all-orders--1")
    route = shop.get(f"{REST}/orders").mock(
        side_effect=[
            httpx.Response(200, json=body[:1], headers={"X-WP-Total": "2", "X-WP-TotalPages": "2"}),
            httpx.Response(200, json=body[1:], headers={"X-WP-Total": "2", "X-WP-TotalPages": "2"}),
        ]
    )
    assert [page.orders[0].external_id for page in connector().fetch_orders(None)] == ["727", "723"]
    assert route.call_count == 2
