"""The Amazon simulator's Orders API 2026-01-01 over real HTTP: searchOrders and getOrder
from the simulator's orders (parameter rules, paging, datasets, prices, statuses), every
Order valid against the model, Amazon's own sandbox cases, rate limits, faults, and
python-amazon-sp-api's OrdersV20260101 client; v0's getOrder still served beside it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft4Validator
from sp_api.api import OrdersV20260101
from sp_api.base.exceptions import SellingApiNotFoundException

from omnisync.sandbox.amazon import AmazonSimulator
from omnisync.sandbox.amazon.limits import usage_plan
from omnisync.sandbox.amazon.static import operation_specs
from omnisync.sandbox.clock import ManualClock
from tests.support.amazon_sp_api import (
    clocked_amazon_fixtures,
    seller_api_fixture,
    settle,
    sp_api_client,
)
from tests.support.reference import REFERENCE_DIR

START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
US = "ATVPDKIKX0DER"
SEARCH = "/orders/2026-01-01/orders"
ALL_DATA = "BUYER,RECIPIENT,PROCEEDS,CANCELLATION,FULFILLMENT,PACKAGES"
MODEL = json.loads((REFERENCE_DIR / "amazon" / "models" / "orders_2026-01-01.json").read_text())


def definition(name: str) -> Draft4Validator:
    """A validator for ``definitions.<name>`` of the model, its refs resolved in the model."""
    return Draft4Validator({**MODEL, "$ref": f"#/definitions/{name}"})


ORDER = definition("Order")
SEARCH_RESPONSE = definition("SearchOrdersResponse")
GET_RESPONSE = definition("GetOrderResponse")
ERRORS = definition("ErrorList")


def model_cases(path: str, status: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = MODEL["paths"][path]["get"]["responses"][status][
        "x-amzn-api-sandbox"
    ]["static"]
    return cases


clock, running = clocked_amazon_fixtures("amazon-orders-2026", START)
api = seller_api_fixture()


@pytest.fixture
def sim(running: AmazonSimulator) -> AmazonSimulator:
    running.reset()
    running.add_listings(
        [
            {"sku": "A", "quantity": 50, "price": "12.50"},
            {"sku": "B", "quantity": 50, "price": "3.00"},
        ]
    )
    return running


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def search(api: httpx.Client, **params: Any) -> httpx.Response:
    return api.get(SEARCH, params=params)


def listed(api: httpx.Client, since: datetime, **params: Any) -> list[dict[str, Any]]:
    answer = search(api, lastUpdatedAfter=iso(since), **params)
    assert answer.status_code == 200, answer.text
    orders: list[dict[str, Any]] = answer.json()["orders"]
    return orders


def fetched(api: httpx.Client, order_id: str, **params: Any) -> dict[str, Any]:
    answer = api.get(f"{SEARCH}/{order_id}", params=params)
    assert answer.status_code == 200, answer.text
    order: dict[str, Any] = answer.json()["order"]
    return order


def errors_of(answer: httpx.Response, status: int) -> list[dict[str, Any]]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert not list(ERRORS.iter_errors(body))
    errors: list[dict[str, Any]] = body["errors"]
    return errors


# searchOrders ---------------------------------------------------------------------------


def test_orders_are_listed_two_minutes_after_their_change_with_the_bound_used(sim, api, clock):
    began = clock.now()
    placed = sim.place_order([("A", 2)], seller_order_id="SHOP-1")
    assert listed(api, began) == []
    settle(clock)
    answer = search(api, lastUpdatedAfter=iso(began)).json()
    assert [order["orderId"] for order in answer["orders"]] == [placed["AmazonOrderId"]]
    assert answer["lastUpdatedBefore"] == iso(clock.now() - timedelta(minutes=2))
    assert "pagination" not in answer
    [order] = answer["orders"]
    assert order["createdTime"] == order["lastUpdatedTime"] == iso(began)
    assert order["salesChannel"] == {
        "channelName": "AMAZON",
        "marketplaceId": US,
        "marketplaceName": "Amazon.com",
    }
    assert order["orderAliases"] == [{"aliasId": "SHOP-1", "aliasType": "SELLER_ORDER_ID"}]
    [item] = order["orderItems"]
    assert item["orderItemId"] == placed["OrderItems"][0]["OrderItemId"]
    assert item["quantityOrdered"] == 2
    assert item["product"]["sellerSku"] == "A"
    assert item["product"]["condition"]["conditionType"] == "NEW"


def test_a_given_before_bound_is_echoed_and_created_queries_say_created_before(sim, api, clock):
    began = clock.now()
    sim.place_order([("A", 1)])
    settle(clock)
    bound = iso(clock.now() - timedelta(minutes=2))
    by_update = search(api, lastUpdatedAfter=iso(began), lastUpdatedBefore=bound).json()
    assert by_update["lastUpdatedBefore"] == bound
    assert len(by_update["orders"]) == 1
    by_creation = search(api, createdAfter=iso(began)).json()
    assert by_creation["createdBefore"] == bound
    assert "lastUpdatedBefore" not in by_creation
    assert len(by_creation["orders"]) == 1


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({}, "Exactly one"),
        ({"createdAfter": "2026-01-01T00:00:00Z", "lastUpdatedAfter": "2026-01-01"}, "Only one"),
        ({"createdAfter": "2026-01-01", "lastUpdatedBefore": "2026-01-02T00:00:00Z"}, "cannot"),
        ({"lastUpdatedAfter": "2026-01-01", "createdBefore": "2026-01-02T00:00:00Z"}, "cannot"),
        ({"lastUpdatedAfter": "2026-01-01T00:00:00Z", "lastUpdatedBefore": "NOW"}, "2 minutes"),
        (
            {"createdAfter": "2026-11-20T00:00:00Z", "createdBefore": "2026-11-19T00:00:00Z"},
            "after",
        ),
        ({"createdAfter": "yesterday"}, "ISO 8601"),
        ({"createdAfter": "2026-01-01T00:00:00Z", "maxResultsPerPage": 0}, "maxResultsPerPage"),
        ({"createdAfter": "2026-01-01T00:00:00Z", "maxResultsPerPage": 101}, "maxResultsPerPage"),
        ({"createdAfter": "2026-01-01T00:00:00Z", "marketplaceIds": "A1F83G8C2ARO7P"}, "market"),
        ({"createdAfter": "2026-01-01T00:00:00Z", "fulfillmentStatuses": "LOST"}, "fulfillment"),
        ({"createdAfter": "2026-01-01T00:00:00Z", "fulfilledBy": "MFN"}, "fulfilledBy"),
        ({"createdAfter": "2026-01-01T00:00:00Z", "includedData": "EVERYTHING"}, "includedData"),
        ({"paginationToken": "made-up"}, "paginationToken"),
    ],
)
def test_search_orders_rules_give_400_invalid_input(api, clock, params, words):
    if params.get("lastUpdatedBefore") == "NOW":
        params["lastUpdatedBefore"] = iso(clock.now() - timedelta(seconds=60))
    [error] = errors_of(search(api, **params), 400)
    assert error["code"] == "InvalidInput"
    assert words in error["message"]


def test_pages_follow_next_tokens_and_the_last_page_has_no_pagination(sim, api, clock):
    began = clock.now()
    placed = [sim.place_order([("A", 1)])["AmazonOrderId"] for _ in range(5)]
    settle(clock)
    answer = search(api, lastUpdatedAfter=iso(began), maxResultsPerPage=2, includedData="BUYER")
    pages: list[dict[str, Any]] = []
    while True:
        assert answer.status_code == 200, answer.text
        pages.append(answer.json())
        if "pagination" not in pages[-1]:
            break
        # The token stands for the query, datasets included.
        answer = search(api, paginationToken=pages[-1]["pagination"]["nextToken"])
    assert [len(page["orders"]) for page in pages] == [2, 2, 1]
    assert [order["orderId"] for page in pages for order in page["orders"]] == placed
    assert all("buyer" in order for page in pages for order in page["orders"])


def test_orders_come_oldest_change_first(sim, api, clock):
    began = clock.now()
    first = sim.place_order([("A", 1)])["AmazonOrderId"]
    clock.advance(timedelta(seconds=5))
    second = sim.place_order([("A", 1)])["AmazonOrderId"]
    clock.advance(timedelta(seconds=5))
    sim.request_cancel(first)
    settle(clock)
    assert [order["orderId"] for order in listed(api, began)] == [second, first]


def test_filters_by_fulfilment_status_channel_and_marketplace(sim, api, clock):
    began = clock.now()
    shipped = sim.place_order([("A", 1)])["AmazonOrderId"]
    sim.ship_order(shipped)
    sim.set_order_status(shipped, "InvoiceUnconfirmed")
    by_amazon = sim.place_order([("B", 1)], fulfillment_channel="AFN")["AmazonOrderId"]
    waiting = sim.place_order([("A", 1)])["AmazonOrderId"]
    settle(clock)
    assert [o["orderId"] for o in listed(api, began, fulfillmentStatuses="SHIPPED")] == [shipped]
    assert [o["orderId"] for o in listed(api, began, fulfilledBy="AMAZON")] == [by_amazon]
    unshipped = listed(api, began, fulfillmentStatuses="UNSHIPPED", fulfilledBy="MERCHANT")
    assert [o["orderId"] for o in unshipped] == [waiting]
    assert len(listed(api, began, marketplaceIds=US)) == 3


# the Order's sections --------------------------------------------------------------------


def test_sections_come_only_when_included_data_asks_for_them(sim, api, clock):
    order_id = sim.place_order([("A", 2), ("B", 1)])["AmazonOrderId"]
    bare = fetched(api, order_id)
    assert set(bare) == {
        "orderId",
        "createdTime",
        "lastUpdatedTime",
        "salesChannel",
        "orderItems",
    }
    assert all(
        set(item) == {"orderItemId", "quantityOrdered", "product"} for item in bare["orderItems"]
    )
    full = fetched(api, order_id, includedData=ALL_DATA)
    assert full["buyer"]["buyerName"]
    assert full["buyer"]["buyerEmail"].endswith("@marketplace.amazon.com")
    assert full["recipient"]["deliveryAddress"] == {
        "city": "SEATTLE",
        "stateOrRegion": "WA",
        "postalCode": "98121-2778",
        "countryCode": "US",
        "addressType": "RESIDENTIAL",
    }
    assert full["proceeds"]["grandTotal"] == {"amount": "28.00", "currencyCode": "USD"}
    assert full["fulfillment"] == {
        "fulfillmentStatus": "UNSHIPPED",
        "fulfilledBy": "MERCHANT",
        "fulfillmentServiceLevel": "STANDARD",
        "shipByWindow": {  # two days of handling after the purchase
            "earliestDateTime": full["createdTime"],
            "latestDateTime": "2026-11-24T10:15:10Z",
        },
    }
    assert full["packages"] == []
    first, second = full["orderItems"]
    assert first["proceeds"]["proceedsTotal"] == {"amount": "25.00", "currencyCode": "USD"}
    assert second["fulfillment"] == {"quantityFulfilled": 0, "quantityUnfulfilled": 1}
    assert "cancellation" not in first


def test_unit_price_is_of_one_unit_and_hidden_until_payment(sim, api):
    order_id = sim.place_order([("A", 3)], status="Pending")["AmazonOrderId"]
    pending = fetched(api, order_id, includedData=ALL_DATA)
    assert "price" not in pending["orderItems"][0]["product"]
    assert "proceeds" not in pending
    assert "proceeds" not in pending["orderItems"][0]
    assert "recipient" not in pending  # no address before payment, as v0
    sim.authorise_payment(order_id, prices={"A": "11.00"})
    paid = fetched(api, order_id, includedData=ALL_DATA)
    [item] = paid["orderItems"]
    assert item["product"]["price"] == {"unitPrice": {"amount": "11.00", "currencyCode": "USD"}}
    assert item["proceeds"]["proceedsTotal"] == {"amount": "33.00", "currencyCode": "USD"}
    assert paid["proceeds"]["grandTotal"]["amount"] == "33.00"
    v0 = api.get(f"/orders/v0/orders/{order_id}/orderItems").json()["payload"]["OrderItems"][0]
    assert v0["ItemPrice"]["Amount"] == "33.00"  # v0's is the line's


def test_cancel_requests_and_packages_show_in_their_sections(sim, api):
    order_id = sim.place_order([("A", 2), ("B", 1)])["AmazonOrderId"]
    sim.request_cancel(order_id, "B", "Ordered by mistake")
    items = fetched(api, order_id, includedData="CANCELLATION")["orderItems"]
    assert "cancellation" not in items[0]
    assert items[1]["cancellation"] == {
        "cancellationRequest": {"requester": "BUYER", "cancelReason": "Ordered by mistake"}
    }
    shipped = sim.ship_order(order_id, tracking_number="1Z999", carrier="UPS")
    order = fetched(api, order_id, includedData="PACKAGES,FULFILLMENT")
    [package] = order["packages"]
    assert package["packageReferenceId"] == "1"
    assert package["carrier"] == "UPS"
    assert package["trackingNumber"] == "1Z999"
    assert package["packageStatus"] == {"status": "SHIPPED"}
    assert package["shipTime"] == shipped["Shipments"][0]["packageDetail"]["shipDate"]
    assert sorted(package["packageItems"], key=lambda item: item["quantity"]) == [
        {"orderItemId": items[1]["orderItemId"], "quantity": 1},
        {"orderItemId": items[0]["orderItemId"], "quantity": 2},
    ]
    assert order["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    assert [item["fulfillment"]["quantityFulfilled"] for item in order["orderItems"]] == [2, 1]


@pytest.mark.parametrize(
    ("moves", "channel", "status"),
    [
        ([], "MFN", "UNSHIPPED"),
        (["Pending"], "MFN", "PENDING"),
        (["PendingAvailability"], "MFN", "PENDING_AVAILABILITY"),
        (["partly"], "MFN", "PARTIALLY_SHIPPED"),
        (["Shipped"], "AFN", "SHIPPED"),
        (["Shipped", "InvoiceUnconfirmed"], "AFN", "SHIPPED"),
        (["Canceled"], "MFN", "CANCELLED"),
        (["Unfulfillable"], "AFN", "UNFULFILLABLE"),
    ],
)
def test_v0_statuses_map_to_fulfillment_statuses(sim, api, moves, channel, status):
    start = moves[0] if moves and moves[0].startswith("Pending") else "Unshipped"
    order = sim.place_order([("A", 2)], status=start, fulfillment_channel=channel)
    order_id = order["AmazonOrderId"]
    for move in moves:
        if move == "partly":
            package = {
                "packageReferenceId": "1",
                "carrierCode": "UPS",
                "trackingNumber": "1Z1",
                "shipDate": "2026-11-22T10:00:00Z",
                "orderItems": [
                    {"orderItemId": order["OrderItems"][0]["OrderItemId"], "quantity": 1}
                ],
            }
            url = f"/orders/v0/orders/{order_id}/shipmentConfirmation"
            assert (
                api.post(url, json={"marketplaceId": US, "packageDetail": package}).status_code
                == 204
            )
        elif not move.startswith("Pending"):
            sim.set_order_status(order_id, move)
    fulfillment = fetched(api, order_id, includedData="FULFILLMENT")["fulfillment"]
    assert fulfillment["fulfillmentStatus"] == status
    assert fulfillment["fulfilledBy"] == ("AMAZON" if channel == "AFN" else "MERCHANT")


def test_every_order_is_valid_against_the_models_order_definition(sim, api, clock):
    began = clock.now()
    ids = [
        sim.place_order([("A", 1)], seller_order_id="S-1")["AmazonOrderId"],
        sim.place_order([("A", 1), ("B", 2)], status="Pending")["AmazonOrderId"],
        sim.place_order([("B", 1)], fulfillment_channel="AFN")["AmazonOrderId"],
        sim.place_order([{"sku": "A", "quantity": 2, "tax": "1.10"}])["AmazonOrderId"],
    ]
    sim.request_cancel(ids[0])
    sim.ship_order(ids[3])
    sim.cancel_order(ids[1])
    settle(clock)
    for data in ("", ALL_DATA, "EXPENSE,PROMOTION,TAX,PAYMENT,FULFILLMENT_ORDERS"):
        params = {"includedData": data} if data else {}
        answer = search(api, lastUpdatedAfter=iso(began), **params).json()
        assert not list(SEARCH_RESPONSE.iter_errors(answer))
        assert len(answer["orders"]) == len(ids)
        for order_id in ids:
            single = api.get(f"{SEARCH}/{order_id}", params=params).json()
            assert not list(GET_RESPONSE.iter_errors(single))
            errors = list(ORDER.iter_errors(single["order"]))
            assert not errors, [error.message for error in errors]


# getOrder ---------------------------------------------------------------------------------


def test_an_unknown_order_is_404_not_found(api):
    [error] = errors_of(api.get(f"{SEARCH}/111-0000000-0000000"), 404)
    assert error["code"] == "NotFound"


def test_v0_get_order_is_still_served_under_its_own_name(sim, api):
    order_id = sim.place_order([("A", 1)])["AmazonOrderId"]
    v0 = api.get(f"/orders/v0/orders/{order_id}")
    assert v0.json()["payload"]["AmazonOrderId"] == order_id
    assert fetched(api, order_id)["orderId"] == order_id
    assert sim.traffic()["requests"] == {"getOrderV0": 1, "getOrder": 1}
    specs = operation_specs()
    assert specs["getOrder"].model == "orders_2026-01-01.json"
    assert specs["getOrderV0"].model == "ordersV0.json"
    assert specs["getOrderV0"].path == "/orders/v0/orders/{orderId}"


# Amazon's sandbox cases ------------------------------------------------------------------------


def query_of(parameters: dict[str, Any]) -> dict[str, str]:
    return {
        name: ",".join(spec["value"]) if isinstance(spec["value"], list) else str(spec["value"])
        for name, spec in parameters.items()
        if name != "orderId"
    }


@pytest.mark.parametrize("status", ["200", "400"])
def test_search_orders_sandbox_cases_are_served_verbatim(api, status):
    cases = model_cases("/orders/2026-01-01/orders", status)
    assert cases
    for case in cases:
        answer = api.get(SEARCH, params=query_of(case["request"]["parameters"]))
        assert answer.status_code == int(status)
        assert answer.json() == case["response"]


@pytest.mark.parametrize("status", ["200", "400"])
def test_get_order_sandbox_cases_are_served_verbatim(api, status):
    cases = model_cases("/orders/2026-01-01/orders/{orderId}", status)
    assert cases
    for case in cases:
        parameters = case["request"]["parameters"]
        url = f"{SEARCH}/{parameters['orderId']['value']}"
        answer = api.get(url, params=query_of(parameters))
        assert answer.status_code == int(status)
        assert answer.json() == case["response"]


def test_a_sandbox_order_is_found_by_its_id_whatever_the_datasets(api):
    [case, *_] = model_cases("/orders/2026-01-01/orders/{orderId}", "200")
    order_id = case["request"]["parameters"]["orderId"]["value"]
    assert order_id == "171-9876543-2109876"
    assert api.get(f"{SEARCH}/{order_id}").json() == case["response"]


# rate limits and faults -------------------------------------------------------------------------


def test_published_usage_plans_and_rate_headers(sim, api):
    assert usage_plan("searchOrders") == (0.0056, 20)
    assert usage_plan("getOrder") == (0.5, 30)
    assert usage_plan("getOrderV0") == (0.5, 30)
    assert search(api, createdAfter=iso(START)).headers["x-amzn-RateLimit-Limit"] == "5.6"
    missing = api.get(f"{SEARCH}/111-0000000-0000000")
    assert missing.headers["x-amzn-RateLimit-Limit"] == "500.0"
    assert missing.headers["x-amzn-RequestId"]


def test_an_empty_bucket_answers_429_and_buckets_are_per_operation(sim, api, clock):
    order_id = sim.place_order([("A", 1)])["AmazonOrderId"]
    sim.drain("searchOrders")
    sim.drain("getOrder")
    assert errors_of(search(api, createdAfter=iso(START)), 429)[0]["code"] == "QuotaExceeded"
    assert errors_of(api.get(f"{SEARCH}/{order_id}"), 429)[0]["code"] == "QuotaExceeded"
    assert api.get(f"/orders/v0/orders/{order_id}").status_code == 200  # v0's own bucket
    clock.advance(timedelta(seconds=0.2))  # 5.6 tokens a second at this scale
    assert search(api, createdAfter=iso(START)).status_code == 200
    assert sim.traffic()["responses_429"] == 2


def test_real_search_orders_limit_without_scaling():
    # In-process: the limit is the point, not the network.
    sim = AmazonSimulator(name="amazon-2026-real-limits", clock=ManualClock(START))
    headers = {"x-amz-access-token": sim.access_token()}
    with TestClient(sim.app, headers=headers) as client:
        codes = [
            client.get(SEARCH, params={"createdAfter": "2026-01-01T00:00:00Z"}).status_code
            for _ in range(21)
        ]
        answer = client.get(SEARCH, params={"createdAfter": "2026-01-01T00:00:00Z"})
    assert codes == [200] * 20 + [429]
    assert answer.headers["x-amzn-RateLimit-Limit"] == "0.0056"


def test_faults_named_get_order_hit_the_2026_operation_not_v0(sim, api):
    order_id = sim.place_order([("A", 1)])["AmazonOrderId"]
    sim.inject("getOrder", 503)
    assert api.get(f"/orders/v0/orders/{order_id}").status_code == 200
    assert errors_of(api.get(f"{SEARCH}/{order_id}"), 503)[0]["code"] == "ServiceUnavailable"
    assert api.get(f"{SEARCH}/{order_id}").status_code == 200
    sim.inject("searchOrders", "malformed_json")
    broken = search(api, createdAfter=iso(START))
    with pytest.raises(json.JSONDecodeError):
        broken.json()


def test_calls_without_a_valid_token_are_403(sim):
    answer = httpx.get(sim.url + SEARCH, params={"createdAfter": iso(START)})
    assert errors_of(answer, 403)[0]["code"] == "Unauthorized"


# python-amazon-sp-api ---------------------------------------------------------------------------


def test_the_librarys_2026_client_searches_pages_and_gets_orders(sim, clock):
    began = clock.now()
    placed = [sim.place_order([("A", 1)])["AmazonOrderId"] for _ in range(3)]
    settle(clock)
    orders = sp_api_client(sim, OrdersV20260101)
    first = orders.search_orders(
        lastUpdatedAfter=iso(began), maxResultsPerPage=2, includedData=["FULFILLMENT", "BUYER"]
    )
    assert first.next_token  # the library reads `pagination.nextToken`
    second = orders.search_orders(paginationToken=first.next_token)
    seen = [order["orderId"] for order in first.payload["orders"] + second.payload["orders"]]
    assert seen == placed
    assert second.next_token is None
    one = orders.get_order(placed[0], includedData=["FULFILLMENT"]).payload["order"]
    assert one["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"
    with pytest.raises(SellingApiNotFoundException):
        orders.get_order("111-0000000-0000000")
