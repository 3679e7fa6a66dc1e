"""The Shopify simulator's GraphQL endpoint, over real HTTP: documents, shapes,
pagination, filters, auth, scopes, cost and throttling."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from omnisync.connectors.shopify import documents
from omnisync.sandbox.clock import ManualClock
from omnisync.sandbox.registry import simulator_for
from omnisync.sandbox.shopify import ALL_SCOPES, ShopifySimulator, ShopifySimulatorError

TOKEN = "shpat_test_token"
START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
GID = re.compile(r"^gid://shopify/[A-Za-z]+/\d+$")
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
CATALOGUE: list[dict[str, Any]] = [
    {"sku": "A", "title": "Alpha", "quantity": 50, "price": "12.50"},
    {"sku": "B", "title": "Bravo", "quantity": {"Main": 1, "Backup": 4}},
    {"sku": None, "title": "No SKU", "quantity": 3},
]


def ticking_clock() -> ManualClock:
    """A clock that moves a second per reading (distinct updatedAt), and otherwise only
    when a test moves it (the cost bucket restores on it too)."""
    return ManualClock(START, tick=timedelta(seconds=1))


def make_simulator(clock: ManualClock | None = None, **options: Any) -> ShopifySimulator:
    return ShopifySimulator(TOKEN, clock=clock or ticking_clock(), **options)


def prepare(shop: ShopifySimulator) -> ShopifySimulator:
    """Empty shop, two locations, the catalogue; limits that never get in the way."""
    shop.reset()
    shop.max_query_cost = None
    shop.set_cost_limits(bucket_size=1_000_000, restore_rate=1_000_000, scale=1)
    shop.refill_bucket()
    shop.set_scopes(ALL_SCOPES)
    shop.add_location("Main")
    shop.add_location("Backup")
    shop.set_catalogue(CATALOGUE)
    return shop


def gql(
    shop: ShopifySimulator,
    name: str,
    variables: dict[str, Any] | None = None,
    *,
    document: str | None = None,
    token: str | None = TOKEN,
) -> httpx.Response:
    headers = {} if token is None else {"X-Shopify-Access-Token": token}
    body = {
        "query": document if document is not None else documents.ALL[name],
        "variables": variables or {},
        "operationName": name,
    }
    return httpx.post(shop.graphql_url, json=body, headers=headers, timeout=10)


def data_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    assert_cost(body)
    data: dict[str, Any] = body["data"]
    return data


def assert_cost(body: dict[str, Any]) -> None:
    cost = body["extensions"]["cost"]
    assert isinstance(cost["requestedQueryCost"], int)
    assert cost["actualQueryCost"] is None or isinstance(cost["actualQueryCost"], int)
    status = cost["throttleStatus"]
    assert set(status) == {"maximumAvailable", "currentlyAvailable", "restoreRate"}
    assert isinstance(status["maximumAvailable"], float)
    assert isinstance(status["restoreRate"], float)


def all_orders(shop: ShopifySimulator, query: str, first: int) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        page = data_of(gql(shop, "Orders", {"first": first, "after": after, "query": query}))
        nodes.extend(page["orders"]["nodes"])
        info = page["orders"]["pageInfo"]
        if not info["hasNextPage"]:
            return nodes
        after = info["endCursor"]


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ticking_clock()


@pytest.fixture(scope="module")
def running(clock: ManualClock) -> Iterator[ShopifySimulator]:
    with make_simulator(clock, name="shopify-api") as shop:
        yield shop


@pytest.fixture
def shop(running: ShopifySimulator) -> ShopifySimulator:
    return prepare(running)


# the documents the connector sends ------------------------------------------------------


def test_shop_and_locations(shop):
    assert data_of(gql(shop, "Shop"))["shop"] == {
        "name": "Omnisync Demo",
        "myshopifyDomain": "omnisync-demo.myshopify.com",
    }
    locations = data_of(gql(shop, "Locations", {"first": 1}))["locations"]
    assert [node["name"] for node in locations["nodes"]] == ["Main"]
    assert GID.match(locations["nodes"][0]["id"])
    assert locations["nodes"][0]["isActive"] is True
    assert locations["pageInfo"]["hasNextPage"] is True
    rest = gql(shop, "Locations", {"first": 5, "after": locations["pageInfo"]["endCursor"]})
    assert [node["name"] for node in data_of(rest)["locations"]["nodes"]] == ["Backup"]


def test_orders_document_gives_the_official_order_shape(shop):
    order = shop.buy_many([("A", 2), ("B", 3)], customer={"name": "Ada Lovelace"})
    assert order is not None
    nodes = data_of(gql(shop, "Orders", {"first": 3, "query": ""}))["orders"]["nodes"]
    assert len(nodes) == 1
    node = nodes[0]
    assert node["id"] == order["id"] == "gid://shopify/Order/1001"
    assert node["name"] == "#1001"
    assert DATETIME.match(node["createdAt"])
    assert DATETIME.match(node["updatedAt"])
    assert node["cancelledAt"] is None
    assert node["cancelReason"] is None
    assert node["displayFinancialStatus"] == "PAID"
    assert node["displayFulfillmentStatus"] == "UNFULFILLED"
    assert node["currencyCode"] == "USD"
    assert node["totalPriceSet"] == {"shopMoney": {"amount": "55.00", "currencyCode": "USD"}}
    assert node["customer"]["displayName"] == "Ada Lovelace"
    assert GID.match(node["customer"]["id"])
    assert node["shippingAddress"]["countryCodeV2"] == "US"
    lines = node["lineItems"]["nodes"]
    assert [(line["sku"], line["quantity"]) for line in lines] == [("A", 2), ("B", 3)]
    assert all(line["id"].startswith("gid://shopify/LineItem/") for line in lines)
    assert lines[0]["currentQuantity"] == 2
    assert lines[0]["unfulfilledQuantity"] == 2
    assert lines[0]["originalUnitPriceSet"]["shopMoney"]["amount"] == "12.50"
    assert lines[1]["variant"]["id"].startswith("gid://shopify/ProductVariant/")
    assert lines[1]["variant"]["inventoryItem"]["id"].startswith("gid://shopify/InventoryItem/")
    assert node["lineItems"]["pageInfo"]["hasNextPage"] is False


def test_variants_and_inventory_level_documents(shop):
    shop.buy("B", 2)  # Main holds 1, so Backup sells both
    variants = data_of(gql(shop, "Variants", {"first": 5}))["productVariants"]
    by_sku = {node["sku"]: node for node in variants["nodes"]}
    assert set(by_sku) == {"A", "B", None}  # a variant without a SKU is listed too
    bravo = by_sku["B"]
    assert bravo["displayName"] == "Bravo - Default Title"
    levels = {
        level["location"]["name"]: level["quantities"]
        for level in bravo["inventoryItem"]["inventoryLevels"]["nodes"]
    }
    assert levels == {
        "Main": [{"name": "available", "quantity": 1}],
        "Backup": [{"name": "available", "quantity": 2}],
    }
    backup = next(
        level["location"]["id"]
        for level in bravo["inventoryItem"]["inventoryLevels"]["nodes"]
        if level["location"]["name"] == "Backup"
    )
    level = data_of(
        gql(shop, "InventoryLevel", {"item": bravo["inventoryItem"]["id"], "location": backup})
    )
    assert level == {
        "inventoryItem": {"inventoryLevel": {"quantities": [{"name": "available", "quantity": 2}]}}
    }
    unknown = gql(
        shop, "InventoryLevel", {"item": "gid://shopify/InventoryItem/999", "location": backup}
    )
    assert data_of(unknown) == {"inventoryItem": None}


def test_variants_serve_their_barcode_and_an_empty_sku_as_given(shop):
    shop.set_catalogue(
        [
            {"sku": "A", "title": "Alpha", "quantity": 1, "barcode": "4006381333931"},
            {"sku": "", "title": "Empty SKU", "quantity": 2, "barcode": "036000291452"},
            {"sku": None, "title": "No SKU", "quantity": 3},
        ]
    )
    nodes = data_of(gql(shop, "Variants", {"first": 5}))["productVariants"]["nodes"]
    assert [(node["sku"], node["barcode"]) for node in nodes] == [
        ("A", "4006381333931"),
        ("", "036000291452"),
        (None, None),
    ]
    assert [product["barcode"] for product in shop.snapshot()["products"]] == [
        "4006381333931",
        "036000291452",
        None,
    ]


@pytest.mark.parametrize("barcode", [4006381333931, ["4006381333931"]])
def test_a_barcode_that_is_not_a_string_is_refused(shop, barcode):
    with pytest.raises(ShopifySimulatorError, match="bad barcode"):
        shop.set_catalogue([{"sku": "A", "title": "Alpha", "barcode": barcode}])


def test_a_variant_without_sku_is_bought_stocked_and_refunded_by_its_gid(shop):
    products = shop.set_catalogue(
        [{"sku": "", "title": "Gift wrap", "quantity": 5}, {"sku": None, "title": "Bag"}]
    )
    wrap, bag = (product["variant_id"] for product in products)
    shop.set_available(bag, 4)
    order = shop.buy_many([(wrap, 2), (bag, 1)])
    assert order is not None
    assert [(line["sku"], line["variant_id"]) for line in order["line_items"]] == [
        ("", wrap),
        (None, bag),
    ]
    assert (shop.available(wrap), shop.available(bag)) == (3, 3)
    shop.refund(order["id"], wrap, 1)
    assert shop.available(wrap) == 4
    node = data_of(gql(shop, "Orders", {"first": 3, "query": ""}))["orders"]["nodes"][0]
    lines = node["lineItems"]["nodes"]
    assert [(line["sku"], line["variant"]["id"]) for line in lines] == [("", wrap), (None, bag)]
    assert lines[0]["currentQuantity"] == 1
    with pytest.raises(ShopifySimulatorError, match="no variant"):
        shop.buy("gid://shopify/ProductVariant/999")


def test_the_control_desk_offers_and_sells_a_variant_without_sku_by_its_gid(shop):
    (product,) = shop.set_catalogue([{"sku": None, "title": "Gift wrap", "quantity": 5}])
    gid = product["variant_id"]
    stock = httpx.get(f"{shop.url}/_control/stock", timeout=10).json()["stock"]
    assert stock == {gid: 5}
    lines = [{"sku": gid, "quantity": 2}]
    placed = httpx.post(f"{shop.url}/_control/orders", json={"lines": lines}, timeout=10)
    assert placed.status_code == 201, placed.text
    assert placed.json()["order"]["lines"] == lines
    assert shop.available(gid) == 3
    assert shop.quantities() == {}  # by SKU only, unless asked


def test_fulfillment_orders_document(shop):
    order = shop.buy_many([("A", 1), ("B", 2)])
    assert order is not None
    found = data_of(gql(shop, "FulfillmentOrders", {"id": order["id"]}))
    fulfillment_orders = found["order"]["fulfillmentOrders"]["nodes"]
    # one per location the order takes stock from: A from Main, B from Backup
    assert len(fulfillment_orders) == 2
    assert all(f["id"].startswith("gid://shopify/FulfillmentOrder/") for f in fulfillment_orders)
    assert {f["status"] for f in fulfillment_orders} == {"OPEN"}
    items = [item for f in fulfillment_orders for item in f["lineItems"]["nodes"]]
    assert [item["remainingQuantity"] for item in items] == [1, 2]
    assert [item["lineItem"]["id"] for item in items] == [
        line["id"] for line in order["line_items"]
    ]
    assert all(i["id"].startswith("gid://shopify/FulfillmentOrderLineItem/") for i in items)
    missing = gql(shop, "FulfillmentOrders", {"id": "gid://shopify/Order/424242"})
    assert data_of(missing) == {"order": None}


# invalid documents ----------------------------------------------------------------------


def test_an_invalid_document_gets_shopify_error_shape_and_no_data(shop):
    response = gql(shop, "Bad", document="query Bad { shop { nameThatDoesNotExist } }")
    assert response.status_code == 200
    body = response.json()
    assert "data" not in body
    assert body["errors"] == [
        {
            "message": "Field 'nameThatDoesNotExist' doesn't exist on type 'Shop'",
            "locations": [{"line": 1, "column": 20}],
            "extensions": {
                "code": "undefinedField",
                "typeName": "Shop",
                "fieldName": "nameThatDoesNotExist",
            },
        }
    ]
    assert_cost(body)

    syntax = gql(shop, "Broken", document="query Broken { shop { name }").json()
    assert "data" not in syntax
    assert syntax["errors"][0]["extensions"]["code"] == "PARSE_ERROR"
    assert syntax["errors"][0]["locations"]

    missing_argument = gql(shop, "M", document="query M { order { id } }").json()
    assert missing_argument["errors"][0]["extensions"]["code"] == "missingRequiredArguments"

    bad_variable = gql(shop, "Locations", {"first": "many"}).json()
    assert "data" not in bad_variable
    assert bad_variable["errors"][0]["extensions"]["code"] == "INVALID_VARIABLE"


def test_an_unknown_api_version_or_path_is_not_found(shop):
    body = {"query": documents.SHOP, "operationName": "Shop"}
    headers = {"X-Shopify-Access-Token": TOKEN}
    other = httpx.post(f"{shop.url}/admin/api/2020-01/graphql.json", json=body, headers=headers)
    assert other.status_code == 404
    slash = httpx.post(shop.graphql_url + "/", json=body, headers=headers)
    assert slash.status_code == 404
    assert slash.json() == {"errors": "Not Found"}


# orders: filter and pagination ----------------------------------------------------------


def test_updated_at_filter_with_and_without_quotes(shop):
    placed = [shop.buy("A") for _ in range(3)]
    assert all(placed)
    times = ["2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z", "2026-11-23T11:00:00Z"]
    for order, moment in zip(placed, times, strict=True):
        assert order is not None
        shop.touch_order(order["id"], datetime.fromisoformat(moment))
    expected = [placed[1]["id"], placed[2]["id"]]
    for query in (
        "updated_at:>='2026-11-23T10:00:00Z'",
        'updated_at:>="2026-11-23T10:00:00Z"',
        "updated_at:>=2026-11-23T10:00:00Z",
    ):
        assert [node["id"] for node in all_orders(shop, query, 3)] == expected
    strictly = all_orders(shop, "updated_at:>'2026-11-23T10:00:00Z'", 3)
    assert [node["id"] for node in strictly] == [placed[2]["id"]]
    assert all_orders(shop, "updated_at:>='2026-11-24T00:00:00Z'", 3) == []


def test_orders_come_ascending_by_updated_at_with_stable_cursors(shop):
    placed = [shop.buy("A") for _ in range(7)]
    first = data_of(gql(shop, "Orders", {"first": 3, "query": "updated_at:>='2026-01-01'"}))
    page = first["orders"]
    seen = [node["id"] for node in page["nodes"]]
    # An order already served changes: it moves behind the cursor, served again later.
    shop.touch_order(seen[0])
    nodes = page["nodes"]
    after = page["pageInfo"]["endCursor"]
    while page["pageInfo"]["hasNextPage"]:
        page = data_of(
            gql(shop, "Orders", {"first": 3, "after": after, "query": "updated_at:>='2026-01-01'"})
        )["orders"]
        nodes.extend(page["nodes"])
        after = page["pageInfo"]["endCursor"]
    ids = [node["id"] for node in nodes]
    assert ids == [o["id"] for o in placed] + [seen[0]]
    stamps = [node["updatedAt"] for node in nodes]
    assert stamps == sorted(stamps)
    assert not re.match(r"^gid://", after)  # cursors are opaque


def test_an_order_with_60_line_items_pages_its_lines(shop):
    shop.set_available("A", 100)
    order = shop.buy_many([("A", 1)] * 60)
    assert order is not None
    node = data_of(gql(shop, "Orders", {"first": 3, "query": ""}))["orders"]["nodes"][0]
    first_page = node["lineItems"]
    assert 0 < len(first_page["nodes"]) < 60
    assert first_page["pageInfo"]["hasNextPage"] is True
    page, lines = first_page, list(first_page["nodes"])
    while page["pageInfo"]["hasNextPage"]:
        variables = {"id": node["id"], "first": 25, "after": page["pageInfo"]["endCursor"]}
        page = data_of(gql(shop, "OrderLineItems", variables))["order"]["lineItems"]
        assert len(page["nodes"]) <= 25
        lines.extend(page["nodes"])
    assert [line["id"] for line in lines] == [line["id"] for line in order["line_items"]]


def test_cancelled_and_refunded_lines_show_lower_current_quantity(shop):
    kept = shop.buy_many([("A", 3), ("B", 1)])
    gone = shop.buy("A", 2)
    assert kept is not None
    assert gone is not None
    shop.refund(kept["id"], "A", 1)
    shop.cancel_order(gone["id"], reason="INVENTORY")
    nodes = {n["id"]: n for n in all_orders(shop, "", 3)}
    refunded = nodes[kept["id"]]
    assert refunded["displayFinancialStatus"] == "PARTIALLY_REFUNDED"
    line = refunded["lineItems"]["nodes"][0]
    assert (line["quantity"], line["currentQuantity"], line["unfulfilledQuantity"]) == (3, 2, 2)
    cancelled = nodes[gone["id"]]
    assert DATETIME.match(cancelled["cancelledAt"])
    assert cancelled["cancelReason"] == "INVENTORY"
    assert cancelled["displayFinancialStatus"] == "REFUNDED"
    assert cancelled["lineItems"]["nodes"][0]["currentQuantity"] == 0
    assert shop.available("A") == 50 - 3 + 1  # the refund and the cancel restocked


# auth and scopes ------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "shpat_wrong"])
def test_a_missing_or_wrong_token_gets_401(shop, token):
    response = gql(shop, "Shop", token=token)
    assert response.status_code == 401
    assert response.json() == {
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
    }


def test_a_field_needing_a_scope_not_granted_is_access_denied(shop):
    shop.buy("A")
    shop.set_scopes(scope for scope in ALL_SCOPES if scope not in ("read_orders", "write_orders"))
    body = gql(shop, "Orders", {"first": 3, "query": ""}).json()
    assert body["data"] == {"orders": None}
    assert body["errors"] == [
        {
            "message": (
                "Access denied for orders field. Required access: `read_orders` access scope."
            ),
            "locations": [{"line": 3, "column": 3}],
            "path": ["orders"],
            "extensions": {
                "code": "ACCESS_DENIED",
                "documentation": "https://shopify.dev/api/usage/access-scopes",
                "requiredAccess": "`read_orders` access scope.",
            },
        }
    ]
    assert_cost(body)
    assert data_of(gql(shop, "Shop"))["shop"]["name"]  # what needs no scope still answers


def test_write_scope_implies_read_and_nested_fields_are_guarded(shop):
    order = shop.buy("A")
    assert order is not None
    shop.set_scopes(["read_orders"])  # no fulfillment order scope
    body = gql(shop, "FulfillmentOrders", {"id": order["id"]}).json()
    assert body["data"] == {"order": None}
    assert body["errors"][0]["path"] == ["order", "fulfillmentOrders"]
    assert "read_merchant_managed_fulfillment_orders" in body["errors"][0]["message"]
    shop.set_scopes(["write_orders", "write_merchant_managed_fulfillment_orders"])
    assert data_of(gql(shop, "FulfillmentOrders", {"id": order["id"]}))["order"] is not None


# cost and throttling --------------------------------------------------------------------


def test_cost_is_charged_then_refunded_to_the_actual_cost(shop):
    shop.set_cost_limits(bucket_size=1000, restore_rate=0.001)
    shop.refill_bucket()
    document = "query Places($first: Int!) { locations(first: $first) { nodes { id name } } }"
    body = gql(shop, "Places", {"first": 250}, document=document).json()
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 2 + 250
    assert cost["actualQueryCost"] == 2 + 2  # two locations came back
    assert cost["throttleStatus"]["currentlyAvailable"] == 1000 - 4
    mutation = gql(
        shop,
        "SetQuantities",
        {"input": {"name": "available", "reason": "correction", "quantities": []}, "key": "k"},
    ).json()
    assert mutation["extensions"]["cost"]["requestedQueryCost"] == 10


def test_an_empty_bucket_throttles_then_recovers(shop, clock):
    # The bucket restores on the shop's clock, so a drained bucket stays short of the one
    # point Shop costs until the test moves it, however slow the machine.
    shop.set_cost_limits(bucket_size=20, restore_rate=0.5)
    shop.refill_bucket()
    shop.drain_bucket()
    order = shop.buy("A")
    assert order is not None
    throttled = gql(shop, "FulfillmentOrders", {"id": order["id"]})
    assert throttled.status_code == 200
    body = throttled.json()
    assert "data" not in body
    assert body["errors"] == [
        {
            "message": "Throttled",
            "extensions": {
                "code": "THROTTLED",
                "documentation": "https://shopify.dev/api/usage/rate-limits",
            },
        }
    ]
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] > 20
    assert cost["actualQueryCost"] is None
    assert cost["throttleStatus"]["maximumAvailable"] == 20.0
    assert cost["throttleStatus"]["restoreRate"] == 0.5
    assert shop.snapshot()["throttled"] == 1

    shop.drain_bucket()
    assert gql(shop, "Shop").json()["errors"][0]["extensions"]["code"] == "THROTTLED"
    clock.advance(timedelta(seconds=2.1))  # half a point a second: one back; Shop costs 1
    recovered = gql(shop, "Shop").json()
    assert recovered["data"]["shop"]["name"]
    assert recovered["extensions"]["cost"]["actualQueryCost"] == 1


def test_a_document_above_the_single_query_limit_is_refused(shop):
    shop.max_query_cost = 1000
    document = """
    query Deep { orders(first: 250) { nodes { lineItems(first: 250) { nodes { id } } } } }
    """
    body = gql(shop, "Deep", document=document).json()
    assert "data" not in body
    error = body["errors"][0]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert error["message"].startswith(
        f"Query cost is {2 + 250 * (1 + 2 + 250)}, which exceeds the single query max cost "
        "limit (1000)."
    )
    assert body["extensions"]["cost"]["actualQueryCost"] is None


# faults and registry --------------------------------------------------------------------


def test_faults_by_operation_name_and_on_the_orders_page(shop):
    shop.buy("A")
    shop.inject("Orders", 500)
    failed = gql(shop, "Orders", {"first": 3, "query": ""})
    assert failed.status_code == 500
    assert failed.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert data_of(gql(shop, "Shop"))  # other operations are unaffected
    shop.inject("orders", "malformed_order")
    broken = data_of(gql(shop, "Orders", {"first": 3, "query": ""}))
    assert broken["orders"]["nodes"][0]["createdAt"] == "not-a-date"
    assert shop.traffic()["faults_served"] == {"500": 1, "malformed_order": 1}
    assert shop.traffic()["requests"]["Orders"] == 2


def test_the_registry_knows_the_shopify_simulator():
    assert simulator_for("shopify") is ShopifySimulator
