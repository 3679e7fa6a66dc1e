"""The Amazon simulator over real HTTP: LWA, auth, Orders v0 (stateful and Amazon's own
sandbox cases), confirmShipment, rate limits and faults."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from omnisync.sandbox.amazon import AmazonSimulator
from omnisync.sandbox.amazon.limits import usage_plan
from omnisync.sandbox.clock import ManualClock
from omnisync.sandbox.registry import simulator_for
from tests.support.amazon_sp_api import clocked_amazon_fixtures, seller_api_fixture, settle
from tests.support.reference import REFERENCE_DIR

START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
US = "ATVPDKIKX0DER"
ORDERS = "/orders/v0/orders"


def model_cases(operation: str, status: str) -> list[dict[str, Any]]:
    """Amazon's sandbox cases, read from the model by the test itself."""
    model = json.loads((REFERENCE_DIR / "amazon" / "models" / "ordersV0.json").read_text())
    for item in model["paths"].values():
        for operation_spec in item.values():
            if isinstance(operation_spec, dict) and operation_spec.get("operationId") == operation:
                cases: list[dict[str, Any]] = operation_spec["responses"][status][
                    "x-amzn-api-sandbox"
                ]["static"]
                return cases
    raise LookupError(operation)


clock, running = clocked_amazon_fixtures("amazon-orders", START)
api = seller_api_fixture()


@pytest.fixture
def sim(running: AmazonSimulator) -> AmazonSimulator:
    running.reset()
    running.order_items_page_size = 100
    running.add_listings(
        [
            {"sku": "A", "quantity": 10, "price": "12.50", "productType": "LUGGAGE"},
            {"sku": "B", "quantity": 3},
        ]
    )
    return running


def get_orders(api: httpx.Client, **params: Any) -> httpx.Response:
    params.setdefault("MarketplaceIds", US)
    return api.get(ORDERS, params=params)


def since(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def errors_of(response: httpx.Response, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, response.text
    errors: list[dict[str, Any]] = response.json()["errors"]
    assert all({"code", "message", "details"} <= set(error) for error in errors)
    return errors


# LWA and authorisation -------------------------------------------------------------------


def lwa_form(sim: AmazonSimulator, **changes: str) -> dict[str, str]:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": sim.credentials.refresh_token,
        "client_id": sim.credentials.client_id,
        "client_secret": sim.credentials.client_secret,
    }
    form.update(changes)
    return {key: value for key, value in form.items() if value}


def test_lwa_hands_out_a_token_that_opens_the_api(sim):
    answer = httpx.post(sim.lwa_url, data=lwa_form(sim))
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["refresh_token"] == sim.credentials.refresh_token
    assert body["access_token"].startswith("Atza|")
    headers = {"x-amz-access-token": body["access_token"]}
    listed = httpx.get(
        sim.url + ORDERS,
        params={"MarketplaceIds": US, "CreatedAfter": since(START)},
        headers=headers,
    )
    assert listed.status_code == 200
    assert sim.snapshot()["tokens_issued"] == 1


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "amzn1.application-oa2-client.other"}, 401, "invalid_client"),
        ({"refresh_token": "Atzr|stolen"}, 400, "invalid_grant"),
        ({"refresh_token": ""}, 400, "invalid_request"),
        ({"grant_type": ""}, 400, "invalid_request"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ],
)
def test_lwa_refuses_bad_requests_in_its_own_shape(sim, changes, status, error):
    answer = httpx.post(sim.lwa_url, data=lwa_form(sim, **changes))
    assert answer.status_code == status
    body = answer.json()
    assert body["error"] == error
    assert body["error_description"]
    assert "access_token" not in body


def test_calls_without_a_valid_token_get_403_unauthorized(sim):
    for headers in ({}, {"x-amz-access-token": "Atza|forged"}):
        answer = httpx.get(sim.url + ORDERS, params={"MarketplaceIds": US}, headers=headers)
        assert errors_of(answer, 403) == [
            {
                "code": "Unauthorized",
                "message": "Access to requested resource is denied.",
                "details": "",
            }
        ]
        assert answer.headers["x-amzn-RequestId"]
    assert sim.traffic()["requests"]["getOrders"] == 2


def test_expired_tokens_are_refused_until_a_new_one_is_fetched(sim):
    old = sim.access_token()
    sim.expire_access_tokens()
    params = {"MarketplaceIds": US, "CreatedAfter": since(START)}
    refused = httpx.get(sim.url + ORDERS, params=params, headers={"x-amz-access-token": old})
    assert errors_of(refused, 403)[0]["message"] == "The access token you provided has expired."
    fresh = httpx.post(sim.lwa_url, data=lwa_form(sim)).json()["access_token"]
    assert fresh != old
    again = httpx.get(sim.url + ORDERS, params=params, headers={"x-amz-access-token": fresh})
    assert again.status_code == 200


def test_every_answer_carries_a_request_id_and_the_operation_rate(api):
    first = get_orders(api, CreatedAfter=since(START))
    second = api.get(f"{ORDERS}/nope/orderItems")
    assert first.headers["x-amzn-RateLimit-Limit"] == "16.7"  # 0.0167/s, scaled by 1000
    assert second.status_code == 404
    assert second.headers["x-amzn-RateLimit-Limit"] == "500.0"  # 0.5/s
    assert first.headers["x-amzn-RequestId"] != second.headers["x-amzn-RequestId"]


def test_usage_plans_are_the_published_ones():
    assert usage_plan("getOrders") == (0.0167, 20)
    assert usage_plan("getOrderItems") == (0.5, 30)
    assert usage_plan("confirmShipment") == (2.0, 10)
    assert usage_plan("searchListingsItems") == (5.0, 5)
    assert usage_plan("patchListingsItem") == (5.0, 5)
    assert usage_plan("createFeedDocument") == (0.5, 15)
    assert usage_plan("createFeed") == (0.0083, 15)
    assert usage_plan("getFeed") == (2.0, 15)
    assert usage_plan("getFeedDocument") == (0.0222, 10)


def test_registry_knows_the_amazon_simulator():
    assert simulator_for("amazon") is AmazonSimulator
    assert AmazonSimulator.type == "amazon"


# Amazon's own sandbox payloads ------------------------------------------------------------


def test_get_orders_test_case_200_serves_amazons_payload(api):
    answer = get_orders(api, CreatedAfter="TEST_CASE_200")
    assert answer.status_code == 200
    expected = next(
        case["response"]
        for case in model_cases("getOrders", "200")
        if case["request"]["parameters"]["CreatedAfter"]["value"] == "TEST_CASE_200"
    )
    assert answer.json() == expected
    assert answer.json()["payload"]["Orders"][0]["AmazonOrderId"] == "902-1845936-5435065"


def test_the_next_token_case_gives_two_pages(api):
    first = get_orders(api, CreatedAfter="TEST_CASE_200_NEXT_TOKEN", MaxResultsPerPage=100)
    token = first.json()["payload"]["NextToken"]
    assert token == "2YgYW55IGNhcm5hbCBwbGVhc3VyZS4"
    # As on Amazon, the token alone (with the marketplace) asks for the next page.
    second = get_orders(api, NextToken=token)
    assert second.status_code == 200
    assert "NextToken" not in second.json()["payload"]
    assert [o["AmazonOrderId"] for o in second.json()["payload"]["Orders"]] == [
        "902-3159896-1390916"
    ]


def test_the_400_case_is_amazons_error(api):
    answer = get_orders(api, CreatedAfter="TEST_CASE_400")
    assert answer.status_code == 400
    assert answer.json() == {"errors": [{"code": "InvalidInput", "message": "Invalid Input"}]}


def test_order_items_of_the_sandbox_order_by_test_case_and_by_its_id(api):
    for order_id in ("TEST_CASE_200", "902-1845936-5435065"):
        answer = api.get(f"{ORDERS}/{order_id}/orderItems")
        assert answer.status_code == 200
        payload = answer.json()["payload"]
        assert payload["AmazonOrderId"] == "902-1845936-5435065"
        [item] = payload["OrderItems"]
        assert item["SellerSKU"] == "NABetaASINB00551Q3CS"
        assert item["QuantityOrdered"] == 1
        assert item["ItemPrice"] == {"CurrencyCode": "USD", "Amount": "10.00"}
    assert api.get(f"{ORDERS}/TEST_CASE_400/orderItems").status_code == 400


def test_confirm_shipment_sandbox_cases(api):
    [ok] = model_cases("confirmShipment", "204")
    [bad] = model_cases("confirmShipment", "400")
    order_id = ok["request"]["parameters"]["orderId"]["value"]
    url = f"{ORDERS}/{order_id}/shipmentConfirmation"
    accepted = api.post(url, json=ok["request"]["parameters"]["body"]["value"])
    assert accepted.status_code == 204
    assert accepted.content == b""
    refused = api.post(url, json=bad["request"]["parameters"]["body"]["value"])
    assert refused.status_code == 400
    assert refused.json() == bad["response"]


# stateful orders -----------------------------------------------------------------------------


def test_orders_appear_two_minutes_after_their_last_update(sim, api, clock):
    began = clock.now()
    order = sim.place_order([("A", 2)])
    listed = get_orders(api, LastUpdatedAfter=since(began))
    assert listed.json()["payload"]["Orders"] == []
    settle(clock)
    payload = get_orders(api, LastUpdatedAfter=since(began)).json()["payload"]
    assert [o["AmazonOrderId"] for o in payload["Orders"]] == [order["AmazonOrderId"]]
    assert payload["LastUpdatedBefore"] == since(clock.now() - timedelta(minutes=2))
    shown = payload["Orders"][0]
    assert shown["OrderStatus"] == "Unshipped"
    assert shown["FulfillmentChannel"] == "MFN"
    assert shown["OrderTotal"] == {"CurrencyCode": "USD", "Amount": "25.00"}
    assert shown["NumberOfItemsUnshipped"] == 2
    assert shown["MarketplaceId"] == US


def test_pages_cover_every_order_once(sim, api, clock):
    began = clock.now()
    placed = [sim.place_order([("A", 1)])["AmazonOrderId"] for _ in range(5)]
    settle(clock)
    seen: list[str] = []
    answer = get_orders(api, CreatedAfter=since(began), MaxResultsPerPage=2)
    while True:
        payload = answer.json()["payload"]
        assert len(payload["Orders"]) <= 2
        seen.extend(o["AmazonOrderId"] for o in payload["Orders"])
        if "NextToken" not in payload:
            break
        answer = get_orders(api, NextToken=payload["NextToken"])
    assert seen == placed
    assert "CreatedBefore" in payload


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"MarketplaceIds": None, "CreatedAfter": "2026-01-01T00:00:00Z"}, "MarketplaceIds"),
        ({}, "Either"),
        (
            {"CreatedAfter": "2026-01-01T00:00:00Z", "LastUpdatedAfter": "2026-01-01T00:00:00Z"},
            "Only one",
        ),
        (
            {"CreatedAfter": "2026-01-01", "LastUpdatedBefore": "2026-01-02T00:00:00Z"},
            "cannot be set",
        ),
        ({"LastUpdatedAfter": "2026-01-01T00:00:00Z", "LastUpdatedBefore": "NOW"}, "2 minutes"),
        (
            {"CreatedAfter": "2026-11-20T00:00:00Z", "CreatedBefore": "2026-11-19T00:00:00Z"},
            "after",
        ),
        ({"CreatedAfter": "yesterday"}, "ISO 8601"),
        ({"CreatedAfter": "2026-01-01T00:00:00Z", "MaxResultsPerPage": 101}, "MaxResultsPerPage"),
        ({"CreatedAfter": "2026-01-01T00:00:00Z", "MarketplaceIds": "A1F83G8C2ARO7P"}, "Invalid"),
        ({"CreatedAfter": "2026-01-01T00:00:00Z", "OrderStatuses": "Lost"}, "OrderStatuses"),
        ({"NextToken": "made-up"}, "NextToken"),
    ],
)
def test_get_orders_rules_give_400_invalid_input(api, clock, params, words):
    if params.get("LastUpdatedBefore") == "NOW":
        params["LastUpdatedBefore"] = since(clock.now() - timedelta(seconds=60))
    query = {"MarketplaceIds": US, **params}
    answer = api.get(ORDERS, params={k: v for k, v in query.items() if v is not None})
    [error] = errors_of(answer, 400)
    assert error["code"] == "InvalidInput"
    assert words in error["message"]


def test_pending_orders_show_no_prices_until_payment(sim, api, clock):
    began = clock.now()
    order = sim.place_order([{"sku": "A", "quantity": 1}], status="Pending")
    settle(clock)
    [shown] = get_orders(api, LastUpdatedAfter=since(began)).json()["payload"]["Orders"]
    assert shown["OrderStatus"] == "Pending"
    assert "OrderTotal" not in shown
    assert "ShippingAddress" not in shown
    [item] = api.get(f"{ORDERS}/{order['AmazonOrderId']}/orderItems").json()["payload"][
        "OrderItems"
    ]
    assert "ItemPrice" not in item
    paid_from = clock.now()
    sim.authorise_payment(order["AmazonOrderId"], prices={"A": "11.00"})
    settle(clock)
    [paid] = get_orders(api, LastUpdatedAfter=since(paid_from)).json()["payload"]["Orders"]
    assert paid["OrderStatus"] == "Unshipped"
    assert paid["OrderTotal"]["Amount"] == "11.00"
    [item] = api.get(f"{ORDERS}/{order['AmazonOrderId']}/orderItems").json()["payload"][
        "OrderItems"
    ]
    assert item["ItemPrice"] == {"CurrencyCode": "USD", "Amount": "11.00"}


def test_filters_and_stock_by_fulfilment_channel(sim, api, clock):
    began = clock.now()
    mfn = sim.place_order([("A", 3)])
    afn = sim.place_order([("B", 1)], fulfillment_channel="AFN")
    assert sim.quantity("A") == 7  # Amazon takes sold MFN units off the listing
    assert sim.quantity("B") == 3  # FBA ships from Amazon's stock
    sim.cancel_order(mfn["AmazonOrderId"])
    assert sim.quantity("A") == 10
    settle(clock)
    afn_only = get_orders(api, CreatedAfter=since(began), FulfillmentChannels="AFN")
    assert [o["AmazonOrderId"] for o in afn_only.json()["payload"]["Orders"]] == [
        afn["AmazonOrderId"]
    ]
    canceled = get_orders(api, CreatedAfter=since(began), OrderStatuses="Canceled,Unfulfillable")
    [shown] = canceled.json()["payload"]["Orders"]
    assert shown["AmazonOrderId"] == mfn["AmazonOrderId"]
    assert shown["OrderStatus"] == "Canceled"
    assert sim.buy("B", 4) is None  # not enough units: the buyer cannot order


def test_order_items_page_and_buyer_cancel_requests(sim, api):
    sim.order_items_page_size = 1
    order = sim.place_order([("A", 1), ("B", 2)])
    sim.request_cancel(order["AmazonOrderId"], "B", "Ordered by mistake")
    url = f"{ORDERS}/{order['AmazonOrderId']}/orderItems"
    first = api.get(url).json()["payload"]
    second = api.get(url, params={"NextToken": first["NextToken"]}).json()["payload"]
    assert "NextToken" not in second
    assert [i["SellerSKU"] for i in first["OrderItems"] + second["OrderItems"]] == ["A", "B"]
    assert "BuyerRequestedCancel" not in first["OrderItems"][0]
    assert second["OrderItems"][0]["BuyerRequestedCancel"] == {
        "IsBuyerRequestedCancel": "true",
        "BuyerCancelReason": "Ordered by mistake",
    }
    assert api.get(url, params={"NextToken": "bogus"}).status_code == 400


# confirmShipment ------------------------------------------------------------------------------


def shipment(order: dict[str, Any], quantities: dict[str, int], **package: Any) -> dict[str, Any]:
    items = {item["SellerSKU"]: item["OrderItemId"] for item in order["OrderItems"]}
    detail = {
        "packageReferenceId": "1",
        "carrierCode": "UPS",
        "shippingMethod": "Ground",
        "trackingNumber": "1Z999",
        "shipDate": "2026-11-22T12:00:00Z",
        "orderItems": [
            {"orderItemId": items[sku], "quantity": quantity}
            for sku, quantity in quantities.items()
        ],
        **package,
    }
    return {"marketplaceId": US, "packageDetail": detail}


def test_confirm_shipment_ships_in_parts(sim, api):
    order = sim.place_order([("A", 2), ("B", 1)])
    url = f"{ORDERS}/{order['AmazonOrderId']}/shipmentConfirmation"
    assert api.post(url, json=shipment(order, {"A": 1})).status_code == 204
    partly = sim.get_order(order["AmazonOrderId"])
    assert partly["OrderStatus"] == "PartiallyShipped"
    assert partly["NumberOfItemsShipped"] == 1
    rest = shipment(
        order, {"A": 1, "B": 1}, packageReferenceId="2", carrierCode="Other", carrierName="Local"
    )
    assert api.post(url, json=rest).status_code == 204
    done = sim.get_order(order["AmazonOrderId"])
    assert done["OrderStatus"] == "Shipped"
    assert [item["QuantityShipped"] for item in done["OrderItems"]] == [2, 1]
    confirmations = sim.shipment_confirmations(order["AmazonOrderId"])
    assert [c["packageDetail"]["packageReferenceId"] for c in confirmations] == ["1", "2"]
    assert confirmations[1]["packageDetail"]["carrierName"] == "Local"


def test_confirm_shipment_refusals(sim: AmazonSimulator, api: httpx.Client) -> None:
    order = sim.place_order([("A", 1)])
    pending = sim.place_order([("A", 1)], status="Pending")
    afn = sim.place_order([("A", 1)], fulfillment_channel="AFN")

    def confirm(target: dict[str, Any], body: dict[str, Any]) -> httpx.Response:
        return api.post(f"{ORDERS}/{target['AmazonOrderId']}/shipmentConfirmation", json=body)

    unknown = {"AmazonOrderId": "111-0000000-0000000"}
    assert confirm(unknown, shipment(order, {"A": 1})).status_code == 404
    assert (
        errors_of(confirm(pending, shipment(pending, {"A": 1})), 400)[0]["code"] == "InvalidInput"
    )
    errors_of(confirm(afn, shipment(afn, {"A": 1})), 400)
    errors_of(confirm(order, shipment(order, {"A": 2})), 400)
    errors_of(confirm(order, shipment(order, {"A": 1}, carrierCode="Other")), 400)
    errors_of(confirm(order, shipment(order, {"A": 1}, shipDate="02/21/2022")), 400)
    errors_of(confirm(order, {**shipment(order, {"A": 1}), "marketplaceId": "A1F83G8C2ARO7P"}), 400)
    no_items = shipment(order, {})
    errors_of(confirm(order, no_items), 400)
    assert sim.get_order(order["AmazonOrderId"])["OrderStatus"] == "Unshipped"
    assert sim.shipment_confirmations() == []


# rate limits and faults -------------------------------------------------------------------------


def test_an_empty_bucket_answers_429_quota_exceeded(sim, api, clock):
    sim.drain("getOrders")
    throttled = get_orders(api, CreatedAfter=since(START))
    assert errors_of(throttled, 429)[0]["code"] == "QuotaExceeded"
    assert throttled.headers["x-amzn-RequestId"]
    assert api.get(f"{ORDERS}/nope/orderItems").status_code == 404  # its own bucket
    clock.advance(timedelta(seconds=0.08))  # 16.7 tokens a second at this scale
    assert get_orders(api, CreatedAfter=since(START)).status_code == 200
    assert sim.traffic()["responses_429"] == 1


def test_real_limits_without_scaling():
    # In-process: the limits are the point, not the network.
    sim = AmazonSimulator(name="amazon-real-limits", clock=ManualClock(START))
    headers = {"x-amz-access-token": sim.access_token()}
    params = {"MarketplaceIds": US, "CreatedAfter": "2026-01-01T00:00:00Z"}
    with TestClient(sim.app, headers=headers) as client:
        codes = [client.get(ORDERS, params=params).status_code for _ in range(21)]
        answer = client.get(ORDERS, params=params)
    assert codes == [200] * 20 + [429]
    assert answer.headers["x-amzn-RateLimit-Limit"] == "0.0167"


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [(500, 500, "InternalFailure"), (503, 503, "ServiceUnavailable"), (429, 429, "QuotaExceeded")],
)
def test_faults_by_operation_name_bite_once(sim, api, kind, status, code):
    sim.inject("getOrders", kind)
    failed = get_orders(api, CreatedAfter=since(START))
    assert errors_of(failed, status)[0]["code"] == code
    assert get_orders(api, CreatedAfter=since(START)).status_code == 200
    assert sim.traffic()["faults_served"] == {str(kind): 1}


def test_malformed_and_slow_faults(sim, api):
    sim.inject("getOrderItems", "malformed_json")
    order = sim.place_order([("A", 1)])
    broken = api.get(f"{ORDERS}/{order['AmazonOrderId']}/orderItems")
    assert broken.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        broken.json()
    sim.inject("*", "slow", seconds=0.2)
    began = time.monotonic()
    assert get_orders(api, CreatedAfter=since(START)).status_code == 200
    assert time.monotonic() - began >= 0.2


def test_lwa_faults(sim):
    sim.inject("lwaToken", 503)
    assert httpx.post(sim.lwa_url, data=lwa_form(sim)).status_code == 503
    assert httpx.post(sim.lwa_url, data=lwa_form(sim)).status_code == 200


def test_state_holds_no_secret(sim, api):
    sim.place_order([("A", 1)])
    text = httpx.get(sim.url + "/_simulator/state").text
    assert sim.credentials.client_secret not in text
    assert sim.credentials.refresh_token not in text
    assert sim.access_token() not in text
    assert "secret=***" in repr(sim.credentials)
