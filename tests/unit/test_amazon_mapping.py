"""Pure mapping between SP-API payloads and core DTOs: Orders API 2026-01-01 orders (one
`Order` with its `orderItems`), listings, patch answers, carriers and package references.

The order payloads built here are checked against Amazon's own model (the project's copy
of orders_2026-01-01.json), so the tests cannot drift from the shape Amazon sends."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any

import pytest
from jsonschema import Draft4Validator

from omnisync.connectors.amazon.mapping import (
    FULFILLMENT_STATUS,
    carrier_code,
    listing_from_item,
    order_from_payload,
    package_reference,
    patch_result,
)
from omnisync.connectors.base import PayloadError
from omnisync.core.dto import StockUpdate
from omnisync.core.types import OrderStatus
from omnisync.sandbox.reference import amazon_model

ORDERS_MODEL = "orders_2026-01-01.json"
EXPECTED_STATUS = {
    "PENDING_AVAILABILITY": OrderStatus.PENDING,
    "PENDING": OrderStatus.PENDING,
    "UNSHIPPED": OrderStatus.ACCEPTED,
    "PARTIALLY_SHIPPED": OrderStatus.PARTIALLY_SHIPPED,
    "SHIPPED": OrderStatus.SHIPPED,
    "CANCELLED": OrderStatus.CANCELLED,
    "UNFULFILLABLE": OrderStatus.CANCELLED,
}
"""What each FulfillmentStatus of the model means to the hub, decided here on purpose."""


def fulfillment_statuses() -> list[str]:
    """The FulfillmentStatus enum of Amazon's model: a value Amazon adds fails a test."""
    enum: list[str] = amazon_model(ORDERS_MODEL)["definitions"]["FulfillmentStatus"]["enum"]
    return list(enum)


@cache
def model_validator(definition: str) -> Draft4Validator:
    model = amazon_model(ORDERS_MODEL)
    return Draft4Validator(
        {"$ref": f"#/definitions/{definition}", "definitions": model["definitions"]}
    )


def model_errors(definition: str, payload: Any) -> list[str]:
    """Why `payload` is not a `definition` of Amazon's model ([] when it is one)."""
    return [error.message for error in model_validator(definition).iter_errors(payload)]


def item(**more: Any) -> dict[str, Any]:
    """An OrderItem: three mugs at 10.00 each, one of them shipped."""
    return {
        "orderItemId": "60000000000001",
        "quantityOrdered": 3,
        "product": {
            "asin": "B0MAP00001",
            "title": "Mug",
            "sellerSku": "MUG",
            "price": {"unitPrice": {"amount": "10.00", "currencyCode": "EUR"}},
        },
        "fulfillment": {"quantityFulfilled": 1, "quantityUnfulfilled": 2},
        **more,
    }


def order(status: str, *items: dict[str, Any], **more: Any) -> dict[str, Any]:
    """An Order as searchOrders and getOrder give it (INCLUDED_DATA), with `items`."""
    return {
        "orderId": "111-2222222-3333333",
        "createdTime": "2026-03-01T08:00:00Z",
        "lastUpdatedTime": "2026-03-01T09:00:00Z",
        "salesChannel": {
            "channelName": "AMAZON",
            "marketplaceId": "A1PA6795UKMFR9",
            "marketplaceName": "Amazon.de",
        },
        "buyer": {"buyerName": "Erika Mustermann", "buyerEmail": "erika@marketplace.amazon.de"},
        "recipient": {
            "deliveryAddress": {
                "name": "Erika Mustermann",
                "addressLine1": "Heidestrasse 17",
                "city": "Koeln",
                "postalCode": "51147",
                "countryCode": "DE",
            }
        },
        "proceeds": {"grandTotal": {"amount": "30.00", "currencyCode": "EUR"}},
        "fulfillment": {"fulfillmentStatus": status, "fulfilledBy": "MERCHANT"},
        "orderItems": list(items) or [item()],
        **more,
    }


def cancel_request(reason: str = "Ordered by mistake") -> dict[str, Any]:
    return {"cancellationRequest": {"requester": "BUYER", "cancelReason": reason}}


def test_the_payloads_of_these_tests_fit_amazons_model() -> None:
    assert model_errors("Order", order("UNSHIPPED")) == []
    assert model_errors("OrderItem", item(cancellation=cancel_request())) == []
    assert model_errors("Order", {"orderId": "1"})  # the check does check


def test_every_fulfillment_status_of_the_model_is_mapped() -> None:
    assert set(FULFILLMENT_STATUS) == set(fulfillment_statuses())


@pytest.mark.parametrize("amazon", fulfillment_statuses())
def test_each_fulfillment_status_maps_to_its_order_status(amazon: str) -> None:
    assert amazon in EXPECTED_STATUS, f"Amazon added {amazon}: decide what it means here"
    mapped = order_from_payload(order(amazon))
    assert mapped.status == EXPECTED_STATUS[amazon]
    assert mapped.channel_status == amazon


def test_an_order_maps_its_id_times_totals_buyer_and_address() -> None:
    mapped = order_from_payload(order("UNSHIPPED"))
    assert mapped.external_id == mapped.display_name == "111-2222222-3333333"
    assert mapped.placed_at.isoformat() == "2026-03-01T08:00:00+00:00"
    assert mapped.updated_at.isoformat() == "2026-03-01T09:00:00+00:00"
    assert (mapped.currency, mapped.total) == ("EUR", Decimal("30.00"))
    assert mapped.customer == {
        "name": "Erika Mustermann",
        "email": "erika@marketplace.amazon.de",
    }
    assert mapped.ship_to is not None
    assert mapped.ship_to["city"] == "Koeln"
    assert mapped.raw == order("UNSHIPPED")
    assert mapped.status_reason is None


def test_unfulfillable_keeps_the_reason_and_a_buyer_cancel_explains_a_cancellation() -> None:
    unfulfillable = order_from_payload(order("UNFULFILLABLE"))
    assert unfulfillable.status_reason is not None
    assert unfulfillable.status_reason.startswith("Unfulfillable")

    cancelled = order_from_payload(order("CANCELLED", item(cancellation=cancel_request())))
    assert cancelled.status_reason == "cancelled at the buyer's request: Ordered by mistake"
    assert cancelled.lines[0].buyer_cancel_requested

    by_seller = {"cancellationExecution": {"cancelledBy": "MERCHANT", "cancelReason": "No stock"}}
    quiet = order_from_payload(order("CANCELLED", item(cancellation=by_seller)))
    assert quiet.status_reason is None
    assert not quiet.lines[0].buyer_cancel_requested


def test_the_unit_price_is_the_price_of_one_unit_as_amazon_gives_it() -> None:
    (line,) = order_from_payload(order("PARTIALLY_SHIPPED")).lines
    assert line.quantity == 3
    assert line.unit_price == Decimal("10.00")  # not 10.00 / 3: unitPrice is one unit's


def test_shipped_quantities_come_from_the_items_fulfillment() -> None:
    shipped = item(fulfillment={"quantityFulfilled": 2, "quantityUnfulfilled": 1})
    unknown = item(orderItemId="60000000000002")
    del unknown["fulfillment"]
    beyond = item(orderItemId="60000000000003", fulfillment={"quantityFulfilled": 5})
    lines = order_from_payload(order("PARTIALLY_SHIPPED", shipped, unknown, beyond)).lines
    assert [line.quantity_shipped for line in lines] == [2, None, 3]


def test_a_line_without_a_cancel_request_carries_none() -> None:
    (line,) = order_from_payload(order("UNSHIPPED")).lines
    assert not line.buyer_cancel_requested
    assert line.buyer_cancel_reason is None


def test_a_buyer_cancel_request_is_kept_on_its_line() -> None:
    asked = item(cancellation=cancel_request("Found cheaper somewhere else."))
    without_reason = item(
        orderItemId="60000000000002", cancellation={"cancellationRequest": {"requester": "BUYER"}}
    )
    first, second = order_from_payload(order("UNSHIPPED", asked, without_reason)).lines
    assert first.buyer_cancel_requested
    assert first.buyer_cancel_reason == "Found cheaper somewhere else."
    assert second.buyer_cancel_requested
    assert second.buyer_cancel_reason is None


@pytest.mark.parametrize(("fulfilled_by", "fba"), [("AMAZON", True), ("MERCHANT", False)])
def test_orders_fulfilled_by_amazon_are_marked(fulfilled_by: str, fba: bool) -> None:
    given = order("SHIPPED")
    given["fulfillment"]["fulfilledBy"] = fulfilled_by
    assert order_from_payload(given).fulfilled_by_channel is fba


def test_pending_orders_have_no_prices() -> None:
    unpriced = item()
    del unpriced["product"]["price"]
    pending = order("PENDING", unpriced)
    del pending["proceeds"]
    assert model_errors("Order", pending) == []
    mapped = order_from_payload(pending)
    assert mapped.total is None
    assert mapped.currency is None
    assert mapped.lines[0].unit_price is None


def test_a_line_without_seller_sku_is_kept_under_its_asin() -> None:
    anonymous = item()
    del anonymous["product"]["sellerSku"]
    (line,) = order_from_payload(order("UNSHIPPED", anonymous)).lines
    assert line.channel_sku == "amazon:B0MAP00001"


def test_an_order_without_buyer_or_recipient_has_no_customer_or_address() -> None:
    bare = order("UNSHIPPED")
    del bare["buyer"], bare["recipient"]
    mapped = order_from_payload(bare)
    assert mapped.customer is None
    assert mapped.ship_to is None


def broken(change: str) -> dict[str, Any]:
    """An order that does not fit, in one of the ways `change` names."""
    given = order("UNSHIPPED")
    if change == "unknown status":
        given["fulfillment"]["fulfillmentStatus"] = "TELEPORTED"
    elif change == "no fulfillment":
        del given["fulfillment"]
    elif change == "bad createdTime":
        given["createdTime"] = "yesterday"
    elif change == "no lastUpdatedTime":
        del given["lastUpdatedTime"]
    elif change == "no orderItems":
        del given["orderItems"]
    elif change == "item without quantity":
        del given["orderItems"][0]["quantityOrdered"]
    return given


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ("unknown status", "TELEPORTED"),
        ("no fulfillment", "fulfillmentStatus"),
        ("bad createdTime", "yesterday"),
        ("no lastUpdatedTime", "lastUpdatedTime"),
        ("no orderItems", "orderItems"),
        ("item without quantity", "quantityOrdered"),
    ],
)
def test_an_order_that_does_not_fit_is_a_payload_error(change: str, said: str) -> None:
    given = broken(change)
    with pytest.raises(PayloadError) as raised:
        order_from_payload(given)
    assert raised.value.external_id == "111-2222222-3333333"
    assert said in str(raised.value)
    assert raised.value.raw
    assert "111-2222222-3333333" in raised.value.raw


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
    listed = identified(
        {"type": "ean", "value": "5000000000001", "marketplace_id": "OTHER"},
        {"type": "upc", "value": "036000291452", "marketplace_id": "M1"},
    )
    assert listing_from_item(listed, "M1", "DEFAULT").barcode == "036000291452"


def test_without_an_entry_for_the_marketplace_one_for_none_wins_then_the_first() -> None:
    other = {"type": "ean", "value": "5000000000001", "marketplace_id": "OTHER"}
    unmarked = {"type": "ean", "value": "4006381333931"}
    assert listing_from_item(identified(other, unmarked), "M1", "DEFAULT").barcode == (
        "4006381333931"
    )
    assert listing_from_item(identified(other), "M1", "DEFAULT").barcode == "5000000000001"


@pytest.mark.parametrize(
    "listed",
    [
        {"sku": "MUG"},
        {"sku": "MUG", "attributes": {"item_name": [{"value": "Mug"}]}},
        identified(),
        identified({"type": "ean", "value": "  ", "marketplace_id": "M1"}),
        identified({"type": "ean", "value": 4006381333931, "marketplace_id": "M1"}),
        {"sku": "MUG", "attributes": {"externally_assigned_product_identifier": "4006381333931"}},
    ],
)
def test_a_listing_without_a_usable_identifier_has_no_barcode(listed: dict[str, Any]) -> None:
    assert listing_from_item(listed, "M1", "DEFAULT").barcode is None


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


def test_the_end_of_the_ship_by_window_is_the_orders_ship_by_date() -> None:
    window = {"earliestDateTime": "2026-03-01T08:00:00Z", "latestDateTime": "2026-03-03T07:59:59Z"}
    mapped = order_from_payload(
        order("UNSHIPPED", fulfillment={"fulfillmentStatus": "UNSHIPPED", "shipByWindow": window})
    )
    assert mapped.ship_by == datetime(2026, 3, 3, 7, 59, 59, tzinfo=UTC)
    assert order_from_payload(order("UNSHIPPED")).ship_by is None
