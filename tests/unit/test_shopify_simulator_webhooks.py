"""Signed webhooks from the Shopify simulator to a small local receiver."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid

from tests.support.shopify_webhooks import SECRET, webhook_fixtures
from tests.unit.test_shopify_simulator import data_of, gql, make_simulator, prepare

receiver, running, shop = webhook_fixtures("shopify-webhooks", make_simulator, prepare)


def expected_signature(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def test_an_order_is_delivered_signed_in_the_rest_shape(shop, receiver):
    order = shop.buy_many([("A", 2)], customer={"name": "Ada Lovelace", "email": "ada@example.com"})
    assert order is not None
    assert shop.wait_for_webhooks()
    ((headers, body),) = receiver.received
    assert headers["X-Shopify-Topic"] == "orders/create"
    assert hmac.compare_digest(headers["X-Shopify-Hmac-Sha256"], expected_signature(body))
    assert headers["X-Shopify-Shop-Domain"] == "omnisync-demo.myshopify.com"
    assert headers["X-Shopify-API-Version"] == "2026-10"
    assert uuid.UUID(headers["X-Shopify-Webhook-Id"])
    assert uuid.UUID(headers["X-Shopify-Event-Id"])
    assert headers["X-Shopify-Triggered-At"].startswith("2026-11-22T")
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(body)
    assert payload["id"] == 1001
    assert payload["admin_graphql_api_id"] == order["id"]
    assert payload["name"] == "#1001"
    assert payload["financial_status"] == "paid"
    assert payload["fulfillment_status"] is None
    assert payload["cancelled_at"] is None
    assert payload["currency"] == "USD"
    assert payload["total_price"] == "25.00"
    assert payload["customer"]["email"] == "ada@example.com"
    assert payload["customer"]["first_name"] == "Ada"
    assert payload["shipping_address"]["country_code"] == "US"
    (line,) = payload["line_items"]
    assert line["admin_graphql_api_id"] == order["line_items"][0]["id"]
    assert (line["sku"], line["quantity"], line["current_quantity"]) == ("A", 2, 2)
    assert line["fulfillable_quantity"] == 2
    assert line["price"] == "12.50"
    assert isinstance(line["id"], int)
    assert isinstance(line["variant_id"], int)
    (delivery,) = shop.webhook_deliveries()
    assert delivery["topic"] == "orders/create"
    assert delivery["webhook_id"] == headers["X-Shopify-Webhook-Id"]
    assert delivery["status_code"] == 200


def test_cancelling_sends_cancelled_and_updated_for_one_event(shop, receiver):
    order = shop.buy("A")
    assert order is not None
    shop.cancel_order(order["id"])
    assert shop.wait_for_webhooks()
    assert receiver.topics() == ["orders/create", "orders/cancelled", "orders/updated"]
    cancelled, updated = receiver.received[1], receiver.received[2]
    assert cancelled[0]["X-Shopify-Event-Id"] == updated[0]["X-Shopify-Event-Id"]
    assert cancelled[0]["X-Shopify-Webhook-Id"] != updated[0]["X-Shopify-Webhook-Id"]
    payload = json.loads(cancelled[1])
    assert payload["cancelled_at"] is not None
    assert payload["cancel_reason"] == "customer"
    assert payload["financial_status"] == "refunded"
    assert payload["line_items"][0]["current_quantity"] == 0


def test_a_fulfillment_through_the_api_sends_orders_updated(shop, receiver):
    order = shop.buy("A", 2)
    assert order is not None
    found = data_of(gql(shop, "FulfillmentOrders", {"id": order["id"]}))
    (fulfillment_order,) = found["order"]["fulfillmentOrders"]["nodes"]
    variables = {
        "fulfillment": {
            "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fulfillment_order["id"]}],
            "notifyCustomer": False,
            "trackingInfo": {"company": "DHL", "number": "JD0123"},
        }
    }
    created = data_of(gql(shop, "FulfillmentCreate", variables))["fulfillmentCreate"]
    assert created["userErrors"] == []
    assert shop.wait_for_webhooks()
    assert receiver.topics() == ["orders/create", "orders/updated"]
    payload = json.loads(receiver.received[1][1])
    assert payload["fulfillment_status"] == "fulfilled"
    assert payload["line_items"][0]["fulfillable_quantity"] == 0
    assert payload["fulfillments"][0]["tracking_company"] == "DHL"
    assert payload["fulfillments"][0]["tracking_number"] == "JD0123"


def test_redeliver_sends_the_same_delivery_again(shop, receiver):
    shop.buy("A")
    assert shop.wait_for_webhooks()
    (delivery,) = shop.webhook_deliveries()
    shop.redeliver(delivery["webhook_id"])
    assert shop.wait_for_webhooks()
    (first_headers, first_body), (again_headers, again_body) = receiver.received
    assert again_headers["X-Shopify-Webhook-Id"] == first_headers["X-Shopify-Webhook-Id"]
    assert again_body == first_body
    assert again_headers["X-Shopify-Hmac-Sha256"] == first_headers["X-Shopify-Hmac-Sha256"]
    (recorded,) = shop.webhook_deliveries()
    assert [attempt["status_code"] for attempt in recorded["attempts"]] == [200, 200]


def test_a_failing_receiver_is_recorded(shop, receiver):
    receiver.status = 500
    shop.buy("A")
    assert shop.wait_for_webhooks()
    (delivery,) = shop.snapshot()["webhooks"]
    assert delivery["status_code"] == 500
    shop.set_webhook_url("http://127.0.0.1:9/nothing-listens-here")
    shop.buy("A")
    assert shop.wait_for_webhooks()
    last = shop.webhook_deliveries()[-1]
    assert last["status_code"] is None
    assert last["attempts"][0]["error"]
    shop.set_webhook_url(receiver.url)


def test_inventory_level_updates_are_sent_when_subscribed(receiver):
    with make_simulator(
        name="shopify-levels",
        webhook_url=receiver.url,
        client_secret=SECRET,
        webhook_topics=["inventory_levels/update"],
    ) as shop:
        prepare(shop)
        shop.wait_for_webhooks()
        receiver.received.clear()
        shop.set_available("A", 12)
        assert shop.wait_for_webhooks()
        ((headers, body),) = receiver.received
        assert headers["X-Shopify-Topic"] == "inventory_levels/update"
        payload = json.loads(body)
        assert payload["available"] == 12
        assert payload["admin_graphql_api_id"].startswith("gid://shopify/InventoryLevel/")
