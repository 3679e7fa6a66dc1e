"""Pure mapping between SP-API payloads and core DTOs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from omnisync.connectors.amazon.mapping import (
    carrier_code,
    listing_from_item,
    order_from_payload,
    package_reference,
    patch_result,
    unit_price,
)
from omnisync.connectors.base import PayloadError
from omnisync.core.dto import StockUpdate
from omnisync.core.types import OrderStatus


def order(status: str, **more: Any) -> dict[str, Any]:
    return {
        "AmazonOrderId": "111-2222222-3333333",
        "PurchaseDate": "2026-03-01T08:00:00Z",
        "LastUpdateDate": "2026-03-01T09:00:00Z",
        "OrderStatus": status,
        "FulfillmentChannel": "MFN",
        "OrderTotal": {"CurrencyCode": "EUR", "Amount": "30.00"},
        **more,
    }


def item(**more: Any) -> dict[str, Any]:
    return {
        "ASIN": "B0MAP00001",
        "OrderItemId": "60000000000001",
        "SellerSKU": "MUG",
        "Title": "Mug",
        "QuantityOrdered": 3,
        "QuantityShipped": 1,
        "ItemPrice": {"CurrencyCode": "EUR", "Amount": "30.00"},
        **more,
    }


@pytest.mark.parametrize(
    ("amazon", "ours"),
    [
        ("PendingAvailability", OrderStatus.PENDING),
        ("Pending", OrderStatus.PENDING),
        ("Unshipped", OrderStatus.ACCEPTED),
        ("PartiallyShipped", OrderStatus.PARTIALLY_SHIPPED),
        ("Shipped", OrderStatus.SHIPPED),
        ("InvoiceUnconfirmed", OrderStatus.SHIPPED),
        ("Canceled", OrderStatus.CANCELLED),
        ("Unfulfillable", OrderStatus.CANCELLED),
    ],
)
def test_order_statuses(amazon: str, ours: OrderStatus) -> None:
    mapped = order_from_payload(order(amazon), [item()])
    assert mapped.status == ours
    assert mapped.channel_status == amazon


def test_unfulfillable_keeps_the_reason_and_a_buyer_cancel_explains_a_cancellation() -> None:
    unfulfillable = order_from_payload(order("Unfulfillable"), [item()])
    assert unfulfillable.status_reason is not None
    assert unfulfillable.status_reason.startswith("Unfulfillable")

    cancel = {"IsBuyerRequestedCancel": "true", "BuyerCancelReason": "Ordered by mistake"}
    cancelled = order_from_payload(order("Canceled"), [item(BuyerRequestedCancel=cancel)])
    assert cancelled.status_reason == "cancelled at the buyer's request: Ordered by mistake"
    assert cancelled.lines[0].buyer_cancel_requested


def test_a_line_carries_unit_price_shipped_quantity_and_no_cancel_request() -> None:
    (line,) = order_from_payload(order("PartiallyShipped"), [item()]).lines
    assert line.unit_price == Decimal("10.00")
    assert line.quantity_shipped == 1
    assert not line.buyer_cancel_requested
    assert line.buyer_cancel_reason is None


def test_fulfilled_by_amazon_orders_are_marked() -> None:
    assert order_from_payload(
        order("Shipped", FulfillmentChannel="AFN"), [item()]
    ).fulfilled_by_channel


def test_pending_orders_have_no_prices() -> None:
    pending = order("Pending")
    del pending["OrderTotal"]
    mapped = order_from_payload(pending, [item(ItemPrice=None)])
    assert mapped.total is None
    assert mapped.currency is None
    assert mapped.lines[0].unit_price is None


def test_a_line_without_seller_sku_is_kept_under_its_asin() -> None:
    (line,) = order_from_payload(order("Unshipped"), [item(SellerSKU=None)]).lines
    assert line.channel_sku == "amazon:B0MAP00001"


@pytest.mark.parametrize(
    "broken",
    [
        order("SomethingNew"),
        order("Unshipped", PurchaseDate="yesterday"),
        {k: v for k, v in order("Unshipped").items() if k != "LastUpdateDate"},
    ],
)
def test_an_order_that_does_not_fit_is_a_payload_error(broken: dict[str, Any]) -> None:
    with pytest.raises(PayloadError) as raised:
        order_from_payload(broken, [item()])
    assert raised.value.external_id == "111-2222222-3333333"
    assert "OrderItems" in raised.value.raw


def test_unit_prices_divide_the_line_price() -> None:
    assert unit_price({"Amount": "10.00"}, 1) == Decimal("10.00")
    assert unit_price({"Amount": "10.00"}, 3) == Decimal("3.3333")
    assert unit_price(None, 2) is None


def test_listing_for_the_marketplace_and_without_sku() -> None:
    listing = listing_from_item(
        {
            "summaries": [
                {"marketplaceId": "OTHER", "asin": "X", "productType": "Y"},
                {"marketplaceId": "M1", "asin": "B0A", "productType": "SHOES", "status": []},
            ],
            "fulfillmentAvailability": [{"fulfillmentChannelCode": "AMAZON_EU"}],
        },
        "M1",
        "DEFAULT",
    )
    assert listing.channel_sku is None
    assert listing.channel_ids["asin"] == "B0A"
    assert listing.channel_ids["productType"] == "SHOES"
    assert listing.channel_ids["fulfillmentChannelCodes"] == ["AMAZON_EU"]
    assert listing.quantity is None


def identified(*entries: dict[str, Any]) -> dict[str, Any]:
    """A searchListingsItems item whose attributes carry `entries` as its barcode."""
    return {
        "sku": "MUG",
        "summaries": [{"marketplaceId": "M1", "asin": "B0A"}],
        "attributes": {"externally_assigned_product_identifier": list(entries)},
    }


def test_the_barcode_is_the_entry_for_the_channels_marketplace() -> None:
    item = identified(
        {"type": "ean", "value": "5000000000001", "marketplace_id": "OTHER"},
        {"type": "upc", "value": "036000291452", "marketplace_id": "M1"},
    )
    assert listing_from_item(item, "M1", "DEFAULT").barcode == "036000291452"


def test_without_an_entry_for_the_marketplace_one_for_none_wins_then_the_first() -> None:
    other = {"type": "ean", "value": "5000000000001", "marketplace_id": "OTHER"}
    unmarked = {"type": "ean", "value": "4006381333931"}
    assert listing_from_item(identified(other, unmarked), "M1", "DEFAULT").barcode == (
        "4006381333931"
    )
    assert listing_from_item(identified(other), "M1", "DEFAULT").barcode == "5000000000001"


@pytest.mark.parametrize(
    "item",
    [
        {"sku": "MUG"},
        {"sku": "MUG", "attributes": {"item_name": [{"value": "Mug"}]}},
        identified(),
        identified({"type": "ean", "value": "  ", "marketplace_id": "M1"}),
        identified({"type": "ean", "value": 4006381333931, "marketplace_id": "M1"}),
        {"sku": "MUG", "attributes": {"externally_assigned_product_identifier": "4006381333931"}},
    ],
)
def test_a_listing_without_a_usable_identifier_has_no_barcode(item: dict[str, Any]) -> None:
    assert listing_from_item(item, "M1", "DEFAULT").barcode is None


def test_a_valid_preview_is_acknowledged_and_an_empty_refusal_says_so() -> None:
    update = StockUpdate(channel_sku="MUG", quantity=2)
    assert patch_result(update, {"status": "VALID"}).ok
    refused = patch_result(update, {"status": "INVALID"})
    assert refused.error == "Amazon answered INVALID: no issues given"


@pytest.mark.parametrize(
    ("carrier", "code"),
    [
        ("UPS", "UPS"),
        ("usps", "USPS"),
        ("FedEx", "FedEx"),
        ("dhl_express", "DHL"),
        ("DHL eCommerce", "DHL eCommerce"),
        ("Royal Mail", "Royal Mail"),
        ("canada-post", "Canada Post"),
        ("Acme Freight", "Other"),
    ],
)
def test_carrier_codes(carrier: str, code: str) -> None:
    assert carrier_code(carrier) == code


def test_package_references_are_positive_numbers_stable_per_key() -> None:
    assert package_reference("omnisync-shipment-17") == "17"
    odd = package_reference("shipment-abc")
    assert odd.isdigit()
    assert int(odd) > 0
    assert odd == package_reference("shipment-abc")
    assert package_reference("shipment-0").isdigit()
    assert package_reference("shipment-0") != "0"
