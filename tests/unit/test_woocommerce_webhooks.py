"""WooCommerce's webhook deliveries: the ping, the signature, and each topic the hub reads."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
import respx

from omnisync.connectors.base import InvalidSignature, PayloadError
from omnisync.connectors.woocommerce.connector import WooCommerceConnector
from omnisync.connectors.woocommerce.settings import WooCommerceSettings
from omnisync.connectors.woocommerce.webhooks import signature
from omnisync.core.dto import QUARANTINED_ORDER, QUARANTINED_WEBHOOK, ObservedQuantity
from omnisync.sandbox.reference import woocommerce_example

URL = "https://shop.test"
SECRET = "whsec-unit-woo-5f2a"
SETTINGS: dict[str, Any] = {
    "url": URL,
    "consumer_key": "ck_hooks0123456789abcdef",
    "consumer_secret": "cs_hooks0123456789abcdef",
    "webhook_secret": SECRET,
}


def connector(**changes: Any) -> WooCommerceConnector:
    return WooCommerceConnector(WooCommerceSettings.model_validate({**SETTINGS, **changes}))


def delivery(topic: str, payload: Any, secret: str = SECRET) -> tuple[dict[str, str], bytes]:
    """Headers as the hub passes them (lower-cased) and the body."""
    body = json.dumps(payload).encode()
    return {
        "x-wc-webhook-topic": topic,
        "x-wc-webhook-signature": signature(secret, body),
        "x-wc-webhook-delivery-id": "d-123",
        "x-wc-webhook-source": "https://shop.test/",
    }, body


def an_order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = copy.deepcopy(woocommerce_example("orders--retrieve-an-order--1"))
    order.update(changes)
    return order


@pytest.fixture
def shop() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=URL, assert_all_called=False) as mock:
        yield mock


@pytest.mark.parametrize("topic", ["order.created", "order.updated", "order.restored"])
def test_a_signed_order_delivery_brings_the_order(topic: str) -> None:
    events = connector().parse_webhook(*delivery(topic, an_order()))
    (order,) = events.orders
    assert order.external_id == "727"


def test_a_bad_signature_is_refused() -> None:
    headers, body = delivery("order.updated", an_order(), secret="someone-elses-secret")
    with pytest.raises(InvalidSignature):
        connector().parse_webhook(headers, body)


def test_a_body_changed_after_signing_is_refused() -> None:
    headers, body = delivery("order.updated", an_order())
    with pytest.raises(InvalidSignature):
        connector().parse_webhook(headers, body.replace(b"727", b"728"))


def test_an_unsigned_delivery_is_refused() -> None:
    headers, body = delivery("order.updated", an_order())
    del headers["x-wc-webhook-signature"]
    with pytest.raises(InvalidSignature):
        connector().parse_webhook(headers, body)


def test_without_a_webhook_secret_deliveries_are_refused() -> None:
    with pytest.raises(InvalidSignature, match="webhook_secret"):
        connector(webhook_secret=None).parse_webhook(*delivery("order.updated", an_order()))


def test_header_names_are_case_insensitive() -> None:
    headers, body = delivery("order.updated", an_order())
    mixed = {
        "X-WC-Webhook-Topic": headers["x-wc-webhook-topic"],
        "X-WC-Webhook-Signature": headers["x-wc-webhook-signature"],
    }
    assert connector().parse_webhook(mixed, body).orders


def test_the_ping_on_creation_is_answered_without_a_signature() -> None:
    events = connector(webhook_secret=None).parse_webhook(
        {"content-type": "application/x-www-form-urlencoded"}, b"webhook_id=42"
    )
    assert events.orders == ()
    assert events.quantities == ()


def test_the_unsigned_ping_names_no_delivery_so_it_leaves_no_receipt() -> None:
    """Whatever delivery id an unsigned request shows, the hub must not keep it: it could
    block a real delivery that later came with that id."""
    headers = {"x-wc-webhook-delivery-id": "d-999", "x-wc-webhook-topic": "order.created"}
    assert connector().webhook_delivery(headers, b"webhook_id=42") == (None, "ping")


def test_the_delivery_id_and_topic_identify_the_delivery() -> None:
    headers, body = delivery("order.updated", an_order())
    assert connector().webhook_delivery(headers, body) == ("d-123", "order.updated")


def test_a_checkout_draft_brings_no_order() -> None:
    assert (
        connector()
        .parse_webhook(*delivery("order.created", an_order(status="checkout-draft")))
        .orders
        == ()
    )


def test_an_order_of_an_unknown_status_is_quarantined() -> None:
    with pytest.raises(PayloadError, match="wc-custom"):
        connector().parse_webhook(*delivery("order.updated", an_order(status="wc-custom")))


def test_order_deleted_reads_the_order_from_the_bin(shop: respx.MockRouter) -> None:
    shop.get("/wp-json/wc/v3/orders/727").respond(json=an_order(status="trash"))
    (order,) = connector().parse_webhook(*delivery("order.deleted", {"id": 727})).orders
    assert order.status.value == "cancelled"


def test_an_order_deleted_for_good_is_left_to_the_operator(
    shop: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    shop.get("/wp-json/wc/v3/orders/727").respond(
        404,
        json={
            "code": "woocommerce_rest_shop_order_invalid_id",
            "message": "Invalid ID.",
            "data": {"status": 404},
        },
    )
    with caplog.at_level("WARNING"):
        events = connector().parse_webhook(*delivery("order.deleted", {"id": 727}))
    assert events.orders == ()
    assert "order 727 was deleted for good" in caplog.text


def test_product_updated_reports_a_managed_products_quantity() -> None:
    product = {
        **woocommerce_example("products--retrieve-a-product--1"),
        "manage_stock": True,
        "stock_quantity": 6,
    }
    events = connector().parse_webhook(*delivery("product.updated", product))
    assert events.quantities == (ObservedQuantity(key="product_id", value="794", quantity=6),)


def test_a_variations_update_names_the_variation() -> None:
    variation = {
        **woocommerce_example("product-variations--retrieve-a-product-variation--1"),
        "type": "variation",
        "parent_id": 799,
        "manage_stock": True,
        "stock_quantity": 2,
    }
    events = connector().parse_webhook(*delivery("product.created", variation))
    assert events.quantities == (ObservedQuantity(key="variation_id", value="732", quantity=2),)


def test_an_unmanaged_or_variable_product_reports_nothing() -> None:
    product = woocommerce_example("products--retrieve-a-product--1")  # manage_stock false
    assert connector().parse_webhook(*delivery("product.updated", product)).quantities == ()
    variable = {**product, "type": "variable", "manage_stock": True, "stock_quantity": 40}
    assert connector().parse_webhook(*delivery("product.updated", variable)).quantities == ()


def test_other_topics_are_ignored() -> None:
    events = connector().parse_webhook(*delivery("customer.created", {"id": 1}))
    assert events.orders == ()
    assert events.quantities == ()


def test_a_kept_order_maps_again() -> None:
    raw = json.dumps(an_order())
    assert connector().map_quarantined(QUARANTINED_ORDER, raw).orders[0].external_id == "727"
    assert connector().map_quarantined(QUARANTINED_WEBHOOK, raw).orders[0].external_id == "727"


def test_a_kept_order_that_still_does_not_fit_stays_quarantined() -> None:
    with pytest.raises(PayloadError):
        connector().map_quarantined(QUARANTINED_ORDER, json.dumps(an_order(status="wc-custom")))


def test_a_kept_product_payload_maps_again() -> None:
    product = {
        **woocommerce_example("products--retrieve-a-product--1"),
        "manage_stock": True,
        "stock_quantity": 1,
    }
    (seen,) = connector().map_quarantined(QUARANTINED_WEBHOOK, json.dumps(product)).quantities
    assert seen.quantity == 1
