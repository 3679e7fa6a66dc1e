"""eBay payloads to the hub's DTOs: every value of every eBay enum the mapping reads (the
values are eBay's documented ones, written here), the status rules, order lines with and
without a SKU, listings with their offers and barcode, and bulk update answers."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from omnisync.connectors.base import PayloadError
from omnisync.connectors.ebay.mapping import (
    STATUS_TABLE,
    Cancellation,
    LineShipped,
    Payment,
    listing_from_item,
    live_offers,
    order_from_payload,
    order_status,
    price_quantity_request,
    stock_results,
    visible_quantity,
)
from omnisync.core.dto import StockUpdate
from omnisync.core.types import OrderStatus

FIXTURES = Path(__file__).resolve().parents[1] / "contract" / "fixtures" / "ebay"

# eBay's documented values of each enum (developer.ebay.com, Sell Fulfillment and Sell
# Inventory types): the table must read every one of them, and nothing else.
CANCEL_STATE = ("CANCELED", "IN_PROGRESS", "NONE_REQUESTED")
ORDER_PAYMENT_STATUS = ("FAILED", "FULLY_REFUNDED", "PAID", "PARTIALLY_REFUNDED", "PENDING")
ORDER_FULFILLMENT_STATUS = ("FULFILLED", "IN_PROGRESS", "NOT_STARTED")
LINE_ITEM_FULFILLMENT_STATUS = ("FULFILLED", "IN_PROGRESS", "NOT_STARTED")
CANCEL_REQUEST_STATE = ("COMPLETED", "REJECTED", "REQUESTED")
OFFER_STATUS = ("PUBLISHED", "UNPUBLISHED")


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def an_order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = copy.deepcopy(fixture("orders_page.json")["orders"][0])
    order.update(changes)
    return order


def test_the_table_reads_every_documented_value_and_nothing_else() -> None:
    assert sorted(STATUS_TABLE.cancel_state) == sorted(CANCEL_STATE)
    assert sorted(STATUS_TABLE.order_payment_status) == sorted(ORDER_PAYMENT_STATUS)
    assert sorted(STATUS_TABLE.order_fulfillment_status) == sorted(ORDER_FULFILLMENT_STATUS)
    assert sorted(STATUS_TABLE.line_item_fulfillment_status) == sorted(LINE_ITEM_FULFILLMENT_STATUS)
    assert sorted(STATUS_TABLE.cancel_request_state) == sorted(CANCEL_REQUEST_STATE)
    assert sorted(STATUS_TABLE.offer_status) == sorted(OFFER_STATUS)


def test_each_value_reads_as_documented() -> None:
    assert STATUS_TABLE.cancel_state == {
        "NONE_REQUESTED": Cancellation.NONE,
        "IN_PROGRESS": Cancellation.REQUESTED,
        "CANCELED": Cancellation.DONE,
    }
    assert STATUS_TABLE.order_payment_status == {
        "PAID": Payment.SETTLED,
        "PARTIALLY_REFUNDED": Payment.SETTLED,
        "PENDING": Payment.AWAITED,
        "FAILED": Payment.AWAITED,
        "FULLY_REFUNDED": Payment.REFUNDED,
    }
    assert STATUS_TABLE.line_item_fulfillment_status == {
        "NOT_STARTED": LineShipped.NONE,
        "IN_PROGRESS": LineShipped.UNKNOWN,
        "FULFILLED": LineShipped.ALL,
    }
    assert STATUS_TABLE.cancel_request_state == {
        "REQUESTED": True,
        "COMPLETED": False,
        "REJECTED": False,
    }
    assert STATUS_TABLE.offer_status == {"PUBLISHED": True, "UNPUBLISHED": False}


def expected_status(cancel: str, payment: str, fulfilment: str) -> OrderStatus:
    """The rules, written out independently of the table."""
    if cancel == "CANCELED":
        return OrderStatus.CANCELLED
    if payment == "FULLY_REFUNDED":
        return OrderStatus.CANCELLED if fulfilment == "NOT_STARTED" else OrderStatus.RETURNED
    if payment in ("PENDING", "FAILED"):
        return OrderStatus.PENDING
    return {
        "NOT_STARTED": OrderStatus.ACCEPTED,
        "IN_PROGRESS": OrderStatus.PARTIALLY_SHIPPED,
        "FULFILLED": OrderStatus.SHIPPED,
    }[fulfilment]


@pytest.mark.parametrize("cancel", CANCEL_STATE)
@pytest.mark.parametrize("payment", ORDER_PAYMENT_STATUS)
@pytest.mark.parametrize("fulfilment", ORDER_FULFILLMENT_STATUS)
def test_every_combination_of_the_three_enums_has_its_status(
    cancel: str, payment: str, fulfilment: str
) -> None:
    assert order_status(cancel, payment, fulfilment) == expected_status(cancel, payment, fulfilment)


@pytest.mark.parametrize(
    ("cancel", "payment", "fulfilment", "status"),
    [
        ("NONE_REQUESTED", "PAID", "NOT_STARTED", OrderStatus.ACCEPTED),
        ("NONE_REQUESTED", "PAID", "IN_PROGRESS", OrderStatus.PARTIALLY_SHIPPED),
        ("NONE_REQUESTED", "PAID", "FULFILLED", OrderStatus.SHIPPED),
        ("NONE_REQUESTED", "PENDING", "NOT_STARTED", OrderStatus.PENDING),
        ("NONE_REQUESTED", "FAILED", "NOT_STARTED", OrderStatus.PENDING),
        ("NONE_REQUESTED", "FULLY_REFUNDED", "NOT_STARTED", OrderStatus.CANCELLED),
        ("NONE_REQUESTED", "FULLY_REFUNDED", "FULFILLED", OrderStatus.RETURNED),
        ("NONE_REQUESTED", "PARTIALLY_REFUNDED", "FULFILLED", OrderStatus.SHIPPED),
        ("IN_PROGRESS", "PAID", "NOT_STARTED", OrderStatus.ACCEPTED),
        ("CANCELED", "PAID", "NOT_STARTED", OrderStatus.CANCELLED),
        ("CANCELED", "FULLY_REFUNDED", "FULFILLED", OrderStatus.CANCELLED),
    ],
)
def test_orders_map_to_their_status_and_say_ebays_words(
    cancel: str, payment: str, fulfilment: str, status: OrderStatus
) -> None:
    order = an_order(
        cancelStatus={"cancelState": cancel, "cancelRequests": []},
        orderPaymentStatus=payment,
        orderFulfillmentStatus=fulfilment,
    )
    mapped = order_from_payload(order)
    assert mapped.status is status
    words = f"{fulfilment}/{payment}"
    assert mapped.channel_status == (
        words if cancel == "NONE_REQUESTED" else f"{words}/CANCEL_{cancel}"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("orderPaymentStatus", "PAID_IN_GOLD"),
        ("orderFulfillmentStatus", "TELEPORTED"),
        ("cancelStatus", {"cancelState": "MAYBE", "cancelRequests": []}),
    ],
)
def test_a_value_the_table_does_not_know_makes_the_order_unmappable(field: str, value: Any) -> None:
    with pytest.raises(PayloadError) as raised:
        order_from_payload(an_order(**{field: value}))
    assert raised.value.external_id == "14-11111-00001"
    assert json.loads(raised.value.raw)["orderId"] == "14-11111-00001"


def test_an_order_maps_its_money_buyer_address_and_lines() -> None:
    order = order_from_payload(an_order())
    assert order.external_id == order.display_name == "14-11111-00001"
    assert order.currency == "USD"
    assert order.total == Decimal("28.50")
    assert order.placed_at.isoformat() == "2026-03-02T09:15:04.120000+00:00"
    assert order.updated_at.isoformat() == "2026-03-02T09:16:40.005000+00:00"
    assert order.buyer_ref == "kit_buyer_one"
    assert order.customer == {"username": "kit_buyer_one", "name": "Ada Buyer"}
    assert order.ship_to is not None
    assert order.ship_to["contactAddress"]["postalCode"] == "97201"
    (line,) = order.lines
    assert line.external_line_id == "10000000000101"
    assert line.channel_sku == "MUG"
    assert line.quantity == 2
    assert line.unit_price == Decimal("12.00")  # lineItemCost is the line's, not the unit's
    assert line.title == "Stoneware mug, blue"
    assert order.raw is not None
    assert order.raw["orderId"] == "14-11111-00001"


@pytest.mark.parametrize(
    ("line_status", "shipped"), [("NOT_STARTED", 0), ("IN_PROGRESS", None), ("FULFILLED", 3)]
)
def test_a_lines_fulfilment_status_says_how_much_of_it_shipped(
    line_status: str, shipped: int | None
) -> None:
    order = an_order()
    order["lineItems"][0].update(quantity=3, lineItemFulfillmentStatus=line_status)
    (line,) = order_from_payload(order).lines
    assert line.quantity_shipped == shipped


def test_a_line_without_a_sku_is_named_after_its_listing_and_variation() -> None:
    order = an_order()
    line = order["lineItems"][0]
    del line["sku"]
    second = {**line, "lineItemId": "10000000000102", "legacyVariationId": "420000000001"}
    order["lineItems"].append(second)
    first, variation = order_from_payload(order).lines
    assert first.channel_sku == "ebay:item:110000000001"
    assert variation.channel_sku == "ebay:item:110000000001/420000000001"


def test_cancel_requests_flag_the_unshipped_lines_of_a_buyer_request_that_waits() -> None:
    order = an_order(
        orderFulfillmentStatus="IN_PROGRESS",
        cancelStatus={
            "cancelState": "IN_PROGRESS",
            "cancelRequests": [
                {"cancelInitiator": "Seller", "cancelRequestState": "REQUESTED"},
                {"cancelInitiator": "Buyer", "cancelRequestState": "REJECTED"},
                {
                    "cancelInitiator": "Buyer",
                    "cancelReason": "ORDERED_BY_MISTAKE",
                    "cancelRequestState": "REQUESTED",
                },
            ],
        },
    )
    shipped = {**order["lineItems"][0], "lineItemId": "2", "lineItemFulfillmentStatus": "FULFILLED"}
    order["lineItems"].append(shipped)
    waiting, done = order_from_payload(order).lines
    assert waiting.buyer_cancel_requested
    assert waiting.buyer_cancel_reason == "ORDERED_BY_MISTAKE"
    assert not done.buyer_cancel_requested
    assert done.buyer_cancel_reason is None


@pytest.mark.parametrize("state", ["COMPLETED", "REJECTED"])
def test_a_settled_cancel_request_flags_nothing(state: str) -> None:
    requests = [{"cancelInitiator": "Buyer", "cancelRequestState": state}]
    order = an_order(cancelStatus={"cancelState": "IN_PROGRESS", "cancelRequests": requests})
    (line,) = order_from_payload(order).lines
    assert not line.buyer_cancel_requested


def test_a_broken_order_is_a_payload_error_with_its_raw_json() -> None:
    with pytest.raises(PayloadError) as raised:
        order_from_payload(an_order(creationDate="yesterday-ish"))
    assert raised.value.external_id == "14-11111-00001"
    assert "yesterday-ish" in raised.value.raw


# listings ------------------------------------------------------------------------------


def test_a_listing_is_its_item_with_its_live_offers_and_first_barcode() -> None:
    mug, lid, cup = fixture("inventory_items_page.json")["inventoryItems"]
    offers = live_offers(fixture("offers_lid.json")["offers"], "EBAY_US")
    listing = listing_from_item(lid, offers)
    assert listing.channel_sku == "LID"
    assert listing.title == "Mug lid"
    assert listing.barcode == "036000291452"  # the EAN says "Does not apply"
    assert listing.channel_ids == {
        "offers": [{"offerId": "6100000021", "listingId": "110000000002"}]
    }
    assert listing.quantity == 4  # the item holds 4 though the offer says 5
    assert listing_from_item(mug, []).barcode == "4006381333931"
    unlisted = listing_from_item(cup, [])
    assert unlisted.channel_ids == {"offers": []}
    assert unlisted.quantity == 7
    assert unlisted.barcode is None


def test_only_published_offers_of_the_channels_marketplace_are_live() -> None:
    offers = [
        {"offerId": "1", "marketplaceId": "EBAY_US", "status": "PUBLISHED"},
        {"offerId": "2", "marketplaceId": "EBAY_US", "status": "UNPUBLISHED"},
        {"offerId": "3", "marketplaceId": "EBAY_GB", "status": "PUBLISHED"},
        {"offerId": "4", "marketplaceId": "EBAY_US", "status": "SOMETHING_NEW"},
    ]
    assert [offer["offerId"] for offer in live_offers(offers, "EBAY_US")] == ["1"]


@pytest.mark.parametrize(
    ("ship_to_home", "offered", "seen"),
    [(10, [3], 3), (2, [5], 2), (10, [], 10), (None, [4], 4), (6, [None], 6), (9, [1, 7], 7)],
)
def test_the_visible_quantity_is_the_offers_capped_by_the_items(
    ship_to_home: int | None, offered: list[int | None], seen: int
) -> None:
    offers = [{"availableQuantity": quantity} for quantity in offered]
    assert visible_quantity(ship_to_home, offers) == seen


# stock --------------------------------------------------------------------------------


def test_a_stock_request_sets_the_items_quantity_and_each_offers() -> None:
    update = StockUpdate(
        channel_sku="MUG", quantity=4, channel_ids={"offers": [{"offerId": "61", "listingId": "1"}]}
    )
    assert price_quantity_request(update) == {
        "sku": "MUG",
        "shipToLocationAvailability": {"quantity": 4},
        "offers": [{"offerId": "61", "availableQuantity": 4}],
    }
    bare = StockUpdate(channel_sku="CUP", quantity=0, channel_ids={"offers": []})
    assert price_quantity_request(bare) == {
        "sku": "CUP",
        "shipToLocationAvailability": {"quantity": 0},
    }


def test_an_update_is_acknowledged_only_when_every_response_for_its_sku_is_200() -> None:
    updates = [
        StockUpdate(channel_sku="MUG", quantity=2, channel_ids={"offers": [{"offerId": "61"}]}),
        StockUpdate(channel_sku="LID", quantity=1, channel_ids={"offers": [{"offerId": "62"}]}),
        StockUpdate(channel_sku="CUP", quantity=5),
        StockUpdate(channel_sku="JUG", quantity=5),
    ]
    responses = [
        {"statusCode": 200, "sku": "MUG"},
        {"statusCode": 200, "offerId": "61", "sku": "MUG"},
        {"statusCode": 200, "sku": "LID"},
        {
            "statusCode": 400,
            "offerId": "62",  # no sku: matched by the offer
            "errors": [{"errorId": 25709, "message": "Invalid value for availableQuantity."}],
        },
        {
            "statusCode": 500,
            "sku": "CUP",
            "errors": [{"errorId": 25001, "message": "A system error has occurred."}],
        },
    ]
    mug, lid, cup, jug = stock_results(updates, responses)
    assert (mug.ok, mug.quantity) == (True, 2)
    assert (lid.ok, lid.retriable) == (False, False)
    assert lid.error == "25709: Invalid value for availableQuantity."
    assert (cup.ok, cup.retriable, cup.error) == (
        False,
        True,
        "25001: A system error has occurred.",
    )
    assert (jug.ok, jug.retriable) == (False, True)
    assert jug.error == "eBay's answer says nothing of this SKU"


def test_a_listing_past_its_daily_revisions_is_held_and_ebays_own_trouble_retried() -> None:
    updates = [StockUpdate(channel_sku=sku, quantity=1) for sku in ("MUG", "LID", "CUP")]
    responses = [
        {
            "statusCode": 400,
            "sku": "MUG",
            "errors": [{"errorId": 25026, "message": "Selling limits exceeded."}],
        },
        {
            "statusCode": 400,
            "sku": "LID",
            "errors": [{"errorId": 25025, "message": "Concurrent access, try again later"}],
        },
        {"statusCode": 400, "sku": "CUP", "errors": [{"errorId": 25709, "message": "Invalid"}]},
    ]
    mug, lid, cup = stock_results(updates, responses)
    assert (mug.ok, mug.daily_limit_reached, mug.retriable) == (False, True, False)
    assert (lid.daily_limit_reached, lid.retriable) == (False, True)
    assert (cup.daily_limit_reached, cup.retriable) == (False, False)


def test_the_earliest_ship_by_date_of_the_lines_is_the_orders() -> None:
    order = an_order()
    first, *_ = order["lineItems"]
    order["lineItems"] = [
        {
            **first,
            "lineItemId": "1",
            "lineItemFulfillmentInstructions": {"shipByDate": "2026-03-05T23:59:59.000Z"},
        },
        {
            **first,
            "lineItemId": "2",
            "lineItemFulfillmentInstructions": {"shipByDate": "2026-03-04T23:59:59.000Z"},
        },
    ]
    assert order_from_payload(order).ship_by == datetime(2026, 3, 4, 23, 59, 59, tzinfo=UTC)
    order["lineItems"] = [{**first, "lineItemFulfillmentInstructions": {}}]
    assert order_from_payload(order).ship_by is None
