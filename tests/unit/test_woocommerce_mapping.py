"""WooCommerce orders and products in the hub's terms (connectors/woocommerce/mapping.py)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from omnisync.connectors.base import PayloadError
from omnisync.connectors.woocommerce.mapping import (
    PARENT_STOCK,
    UNMANAGED_STOCK,
    listing_from_product,
    listing_from_variation,
    listing_key,
    order_from_payload,
)
from omnisync.core.types import OrderStatus
from omnisync.sandbox.reference import woocommerce_example


def an_order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = copy.deepcopy(woocommerce_example("orders--retrieve-an-order--1"))
    order.update(changes)
    return order


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("pending", OrderStatus.PENDING),
        ("processing", OrderStatus.ACCEPTED),
        ("on-hold", OrderStatus.ACCEPTED),
        ("completed", OrderStatus.SHIPPED),
        ("cancelled", OrderStatus.CANCELLED),
        ("failed", OrderStatus.CANCELLED),
        ("trash", OrderStatus.CANCELLED),
    ],
)
def test_each_documented_status_maps(status: str, expected: OrderStatus) -> None:
    order = order_from_payload(an_order(status=status))
    assert order.status is expected
    assert order.channel_status == status


def test_a_refund_after_shipping_is_a_return() -> None:
    order = order_from_payload(
        an_order(status="refunded", date_completed_gmt="2017-03-25T10:00:00")
    )
    assert order.status is OrderStatus.RETURNED


def test_a_refund_before_shipping_is_a_cancellation() -> None:
    order = order_from_payload(an_order(status="refunded", date_completed_gmt=None))
    assert order.status is OrderStatus.CANCELLED


def test_a_plugins_own_status_is_quarantined_naming_it() -> None:
    with pytest.raises(PayloadError, match="'wc-awaiting-pickup'") as raised:
        order_from_payload(an_order(status="wc-awaiting-pickup"))
    assert raised.value.external_id == "727"
    assert '"wc-awaiting-pickup"' in raised.value.raw


def test_a_checkout_draft_is_never_an_order() -> None:
    with pytest.raises(PayloadError, match="checkout draft"):
        order_from_payload(an_order(status="checkout-draft"))


def test_the_documented_order_maps_field_by_field() -> None:
    order = order_from_payload(an_order())
    assert order.external_id == "727"
    assert order.display_name == "#727"
    assert order.placed_at == datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC)  # the _gmt field
    assert order.updated_at == datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC)
    assert order.currency == "USD"
    assert str(order.total) == "29.35"
    assert order.customer == {
        "name": "John Doe",
        "email": "john.doe@example.com",
        "phone": "(555) 555-5555",
    }
    assert order.ship_to is not None
    assert order.ship_to["city"] == "San Francisco"
    first, second = order.lines
    # no SKU: the listing's own key; the variation's line keeps its SKU
    assert (first.external_line_id, first.channel_sku, first.quantity) == (
        "315",
        "woocommerce:product:93",
        2,
    )
    assert str(first.unit_price) == "3"
    assert first.quantity_shipped is None
    assert (second.channel_sku, second.title) == (
        "Bar3",
        "Ship Your Idea \u2013 Color: Black, Size: M Test",
    )
    assert order.raw is not None
    assert order.raw["refunds"] == []


def test_a_line_without_sku_of_a_variation_is_named_by_the_variation() -> None:
    order = an_order()
    order["line_items"][1]["sku"] = ""
    assert order_from_payload(order).lines[1].channel_sku == "woocommerce:variation:23"


def test_times_with_an_offset_are_kept() -> None:
    order = order_from_payload(an_order(date_modified_gmt="2017-03-22T19:28:08+00:00"))
    assert order.updated_at == datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC)


def test_a_malformed_order_is_a_payload_error_with_its_raw_json() -> None:
    with pytest.raises(PayloadError) as raised:
        order_from_payload(an_order(line_items=[{"id": 1, "quantity": "many"}]))
    assert raised.value.external_id == "727"
    assert raised.value.raw


def product(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = copy.deepcopy(woocommerce_example("products--retrieve-a-product--1"))
    item.update(changes)
    return item


def test_a_managed_simple_product_is_a_listing_with_its_quantity_and_barcode() -> None:
    listing = listing_from_product(
        product(sku="MUG", manage_stock=True, stock_quantity=7, global_unique_id="4006381333931")
    )
    assert listing.channel_sku == "MUG"
    assert listing.channel_ids == {"product_id": 794}
    assert listing.quantity == 7
    assert listing.barcode == "4006381333931"
    assert listing.untracked_stock is None
    assert listing.own_key == "woocommerce:product:794"


def test_an_unmanaged_product_is_listed_with_the_reason_and_no_quantity() -> None:
    listing = listing_from_product(product(sku="", manage_stock=False, global_unique_id=""))
    assert listing.channel_sku is None
    assert listing.key == "woocommerce:product:794"  # the same name its order lines carry
    assert listing.quantity is None
    assert listing.barcode is None
    assert listing.untracked_stock == UNMANAGED_STOCK


def test_a_variation_is_a_listing_of_its_own() -> None:
    parent = woocommerce_example("products--list-all-products--1")[0]
    variation = {
        **woocommerce_example("product-variations--retrieve-a-product-variation--1"),
        "sku": "",
        "manage_stock": True,
        "stock_quantity": 3,
    }
    listing = listing_from_variation(parent, variation)
    assert listing.channel_ids == {"product_id": 799, "variation_id": 732}
    assert listing.own_key == listing_key(799, 732) == "woocommerce:variation:732"
    assert listing.title == "Ship Your Idea - Color: Black"
    assert listing.quantity == 3


def test_a_variation_whose_parent_counts_its_stock_says_so() -> None:
    parent = woocommerce_example("products--list-all-products--1")[0]
    variation = {
        **woocommerce_example("product-variations--retrieve-a-product-variation--1"),
        "manage_stock": "parent",
        "stock_quantity": 9,
    }
    listing = listing_from_variation(parent, variation)
    assert listing.untracked_stock == PARENT_STOCK
    assert listing.quantity is None
