"""inventorySetQuantities and fulfillmentCreate against the Shopify simulator, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from omnisync.sandbox.shopify import ShopifySimulator, ShopifySimulatorError
from tests.unit.test_shopify_simulator import data_of, gql, make_simulator, prepare

NO_KEY = """
mutation SetQuantities($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { id }
    userErrors { code field message }
  }
}
"""


@pytest.fixture(scope="module")
def running() -> Iterator[ShopifySimulator]:
    with make_simulator(name="shopify-mutations") as shop:
        yield shop


@pytest.fixture
def shop(running: ShopifySimulator) -> ShopifySimulator:
    return prepare(running)


def ids(shop: ShopifySimulator, sku: str, location: str = "Main") -> tuple[str, str]:
    """(inventory item gid, location gid)."""
    product = next(p for p in shop.snapshot()["products"] if p["sku"] == sku)
    place = next(loc for loc in shop.snapshot()["locations"] if loc["name"] == location)
    return product["inventory_item_id"], place["id"]


def quantity(
    shop: ShopifySimulator,
    sku: str,
    amount: int,
    change_from: int | None,
    location: str = "Main",
) -> dict[str, Any]:
    item, place = ids(shop, sku, location)
    return {
        "inventoryItemId": item,
        "locationId": place,
        "quantity": amount,
        "changeFromQuantity": change_from,
    }


def set_quantities(
    shop: ShopifySimulator, quantities: list[dict[str, Any]], key: str, name: str = "available"
) -> dict[str, Any]:
    variables = {
        "input": {"name": name, "reason": "correction", "quantities": quantities},
        "key": key,
    }
    payload: dict[str, Any] = data_of(gql(shop, "SetQuantities", variables))[
        "inventorySetQuantities"
    ]
    return payload


# inventorySetQuantities -----------------------------------------------------------------


def test_set_quantities_sets_the_available_levels(shop):
    payload = set_quantities(
        shop,
        [quantity(shop, "A", 7, 50), quantity(shop, "B", 9, None, location="Backup")],
        "key-1",
    )
    assert payload["userErrors"] == []
    assert payload["inventoryAdjustmentGroup"]["id"].startswith(
        "gid://shopify/InventoryAdjustmentGroup/"
    )
    assert shop.available("A", "Main") == 7
    assert shop.available("B", "Backup") == 9
    assert shop.available("B", "Main") == 1  # untouched
    push = shop.snapshot()["inventory_pushes"][-1]
    assert (push["status"], push["idempotency_key"]) == ("applied", "key-1")


def test_one_stale_quantity_refuses_the_whole_mutation(shop):
    payload = set_quantities(
        shop,
        [
            quantity(shop, "A", 7, 50),
            quantity(shop, "B", 9, 3, location="Backup"),  # Backup holds 4, not 3
            quantity(shop, "B", 0, 99),  # Main holds 1, not 99
        ],
        "key-stale",
    )
    assert payload["inventoryAdjustmentGroup"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("CHANGE_FROM_QUANTITY_STALE", ["input", "quantities", "1", "changeFromQuantity"]),
        ("CHANGE_FROM_QUANTITY_STALE", ["input", "quantities", "2", "changeFromQuantity"]),
    ]
    assert shop.available("A", "Main") == 50  # the good item was not applied either
    assert shop.available("B", "Backup") == 4
    assert shop.snapshot()["inventory_pushes"][-1]["status"] == "refused"


def test_the_same_key_replays_and_a_different_input_is_a_mismatch(shop):
    first = set_quantities(shop, [quantity(shop, "A", 7, 50)], "key-replay")
    shop.buy("A", 2)  # 5 left: executing again would now be stale
    again = set_quantities(shop, [quantity(shop, "A", 7, 50)], "key-replay")
    assert again == first
    assert shop.available("A") == 5  # applied once
    assert len(shop.snapshot()["inventory_pushes"]) == 1
    other = set_quantities(shop, [quantity(shop, "A", 8, 5)], "key-replay")
    assert other["inventoryAdjustmentGroup"] is None
    assert [e["code"] for e in other["userErrors"]] == ["IDEMPOTENCY_KEY_PARAMETER_MISMATCH"]
    assert shop.available("A") == 5


def test_a_key_whose_first_attempt_failed_cannot_be_reused(shop):
    stale = [quantity(shop, "A", 7, 1)]
    assert set_quantities(shop, stale, "key-failed")["userErrors"]
    retried = set_quantities(shop, stale, "key-failed")
    assert [e["code"] for e in retried["userErrors"]] == ["IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED"]


def test_more_than_250_quantities_is_a_top_level_error(shop):
    item, place = ids(shop, "A")
    entry = {
        "inventoryItemId": item,
        "locationId": place,
        "quantity": 1,
        "changeFromQuantity": None,
    }
    variables = {
        "input": {"name": "available", "reason": "correction", "quantities": [entry] * 251},
        "key": "key-251",
    }
    body = gql(shop, "SetQuantities", variables).json()
    assert body["data"] == {"inventorySetQuantities": None}
    assert body["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    assert "251" in body["errors"][0]["message"]
    assert body["extensions"]["cost"]["requestedQueryCost"] == 10
    assert shop.available("A") == 50


def test_the_idempotent_directive_is_required(shop):
    variables = {
        "input": {
            "name": "available",
            "reason": "correction",
            "quantities": [quantity(shop, "A", 7, None)],
        }
    }
    body = gql(shop, "SetQuantities", variables, document=NO_KEY).json()
    assert body["data"] == {"inventorySetQuantities": None}
    assert "@idempotent" in body["errors"][0]["message"]
    assert body["errors"][0]["path"] == ["inventorySetQuantities"]
    assert shop.available("A") == 50
    blank = set_quantities_raw(shop, [quantity(shop, "A", 7, None)], "   ")
    assert "empty" in blank["errors"][0]["message"]


def set_quantities_raw(
    shop: ShopifySimulator, quantities: list[dict[str, Any]], key: str
) -> dict[str, Any]:
    variables = {
        "input": {"name": "available", "reason": "correction", "quantities": quantities},
        "key": key,
    }
    body: dict[str, Any] = gql(shop, "SetQuantities", variables).json()
    return body


def test_change_from_quantity_must_be_given_even_as_null(shop):
    entry = quantity(shop, "A", 7, None)
    del entry["changeFromQuantity"]
    body = set_quantities_raw(shop, [entry], "key-missing-cas")
    assert body["data"] == {"inventorySetQuantities": None}
    assert "changeFromQuantity is required" in body["errors"][0]["message"]


def test_item_errors_name_their_index(shop):
    shop.lock_inventory_item("B")
    unknown_item = quantity(shop, "A", 1, None)
    unknown_item["inventoryItemId"] = "gid://shopify/InventoryItem/999"
    unknown_location = quantity(shop, "A", 1, None)
    unknown_location["locationId"] = "gid://shopify/Location/999"
    payload = set_quantities(
        shop,
        [
            unknown_item,
            unknown_location,
            quantity(shop, "A", -1, None),
            quantity(shop, "B", 5, None),
            quantity(shop, "A", 2, None, location="Backup"),  # A is not stocked at Backup
        ],
        "key-errors",
    )
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_INVENTORY_ITEM", ["input", "quantities", "0", "inventoryItemId"]),
        ("INVALID_LOCATION", ["input", "quantities", "1", "locationId"]),
        ("INVALID_QUANTITY_NEGATIVE", ["input", "quantities", "2", "quantity"]),
        ("NON_MUTABLE_INVENTORY_ITEM", ["input", "quantities", "3", "inventoryItemId"]),
        ("INVALID_LOCATION", ["input", "quantities", "4", "locationId"]),
    ]
    invalid_name = set_quantities(shop, [quantity(shop, "A", 1, None)], "key-name", name="sold")
    assert [(e["code"], e["field"]) for e in invalid_name["userErrors"]] == [
        ("INVALID_NAME", ["input", "name"])
    ]


def test_on_hand_counts_committed_units(shop):
    shop.buy("A", 3)  # 47 available, 3 committed, 50 on hand
    stale = set_quantities(shop, [quantity(shop, "A", 40, 47)], "key-oh-1", name="on_hand")
    assert stale["userErrors"][0]["code"] == "CHANGE_FROM_QUANTITY_STALE"
    done = set_quantities(shop, [quantity(shop, "A", 40, 50)], "key-oh-2", name="on_hand")
    assert done["userErrors"] == []
    assert shop.available("A") == 37


# fulfillmentCreate ----------------------------------------------------------------------


def fulfillment_orders(shop: ShopifySimulator, order_id: str) -> list[dict[str, Any]]:
    found = data_of(gql(shop, "FulfillmentOrders", {"id": order_id}))
    nodes: list[dict[str, Any]] = found["order"]["fulfillmentOrders"]["nodes"]
    return nodes


def fulfil(
    shop: ShopifySimulator, fulfillment_order: dict[str, Any], take: dict[str, int] | None = None
) -> dict[str, Any]:
    items = [
        {"id": item["id"], "quantity": (take or {}).get(item["id"], item["remainingQuantity"])}
        for item in fulfillment_order["lineItems"]["nodes"]
    ]
    variables = {
        "fulfillment": {
            "lineItemsByFulfillmentOrder": [
                {"fulfillmentOrderId": fulfillment_order["id"], "fulfillmentOrderLineItems": items}
            ],
            "notifyCustomer": True,
            "trackingInfo": {
                "company": "UPS",
                "number": "1Z999AA10123456784",
                "url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
            },
        }
    }
    payload: dict[str, Any] = data_of(gql(shop, "FulfillmentCreate", variables))[
        "fulfillmentCreate"
    ]
    return payload


def test_fulfillment_create_fulfils_and_records_tracking(shop):
    order = shop.buy_many([("A", 3)])
    assert order is not None
    (fulfillment_order,) = fulfillment_orders(shop, order["id"])
    item = fulfillment_order["lineItems"]["nodes"][0]
    partial = fulfil(shop, fulfillment_order, {item["id"]: 1})
    assert partial["userErrors"] == []
    assert partial["fulfillment"]["id"].startswith("gid://shopify/Fulfillment/")
    assert partial["fulfillment"]["status"] == "SUCCESS"
    after = shop.get_order(order["id"])
    assert after["fulfillment_status"] == "PARTIALLY_FULFILLED"
    assert after["updated_at"] > order["updated_at"]
    (refreshed,) = fulfillment_orders(shop, order["id"])
    assert refreshed["status"] == "IN_PROGRESS"
    assert refreshed["lineItems"]["nodes"][0]["remainingQuantity"] == 2

    rest = fulfil(shop, refreshed)
    assert rest["userErrors"] == []
    assert shop.get_order(order["id"])["fulfillment_status"] == "FULFILLED"
    (closed,) = fulfillment_orders(shop, order["id"])
    assert closed["status"] == "CLOSED"
    recorded = shop.fulfillments(order["id"])
    assert [f["line_items"][0]["quantity"] for f in recorded] == [1, 2]
    assert recorded[0]["tracking_company"] == "UPS"
    assert recorded[0]["tracking_number"] == "1Z999AA10123456784"
    assert recorded[0]["tracking_url"].startswith("https://www.ups.com/")
    assert recorded[0]["notify_customer"] is True
    node = data_of(gql(shop, "Orders", {"first": 3, "query": ""}))["orders"]["nodes"][0]
    assert node["displayFulfillmentStatus"] == "FULFILLED"
    assert node["lineItems"]["nodes"][0]["unfulfilledQuantity"] == 0

    again = fulfil(shop, closed, {item["id"]: 1})
    assert again["fulfillment"] is None
    assert "unfulfillable status= closed" in again["userErrors"][0]["message"]


def test_fulfillment_create_refuses_more_than_remains(shop):
    order = shop.buy("A", 2)
    assert order is not None
    (fulfillment_order,) = fulfillment_orders(shop, order["id"])
    item = fulfillment_order["lineItems"]["nodes"][0]
    refused = fulfil(shop, fulfillment_order, {item["id"]: 3})
    assert refused["fulfillment"] is None
    assert refused["userErrors"] == [
        {
            "field": [
                "fulfillment",
                "lineItemsByFulfillmentOrder",
                "0",
                "fulfillmentOrderLineItems",
                "0",
                "quantity",
            ],
            "message": "Invalid fulfillment order line item quantity requested.",
        }
    ]
    assert shop.get_order(order["id"])["fulfillment_status"] == "UNFULFILLED"


# control operations ---------------------------------------------------------------------


def test_buying_takes_stock_and_cancelling_gives_it_back(shop):
    assert shop.buy("B", 5) is None  # 1 + 4, but no single location holds 5
    order = shop.buy_many([("B", 1), ("B", 4)])  # Main gives 1, Backup 4
    assert order is not None
    assert [line["location_id"] for line in order["line_items"]] == [
        ids(shop, "B", "Main")[1],
        ids(shop, "B", "Backup")[1],
    ]
    assert shop.available("B") == 0
    assert shop.buy("B") is None
    cancelled = shop.cancel_order(order["id"])
    assert cancelled["cancel_reason"] == "CUSTOMER"
    assert [f["status"] for f in cancelled["fulfillment_orders"]] == ["CANCELLED", "CANCELLED"]
    assert (shop.available("B", "Main"), shop.available("B", "Backup")) == (1, 4)
    with pytest.raises(ShopifySimulatorError):
        shop.buy("NOPE")
