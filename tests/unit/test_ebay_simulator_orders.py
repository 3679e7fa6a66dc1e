"""The eBay simulator's orders over real HTTP: getOrders (offset paging, the date and
status filters, orderIds, refusals, the order-page faults), getOrder and the buyer's
cancel request, createShippingFulfillment, the control desk, and the kept exchanges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from omnisync.sandbox.clock import ManualClock
from omnisync.sandbox.ebay import EbaySimulator, EbaySimulatorError
from tests.support.ebay import FULFILLMENT, api, clock_of
from tests.support.simulators import served_fixtures

START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
ORDERS = f"{FULFILLMENT}/order"


def prepare(simulator: EbaySimulator) -> None:
    clock_of(simulator).set(START)
    simulator.seed_listing("MUG", 20, title="Blue mug", price="12.50")
    simulator.seed_listing("CUP", 5, title="Tea cup", price="4.00")


served_ebay, ebay = served_fixtures(
    "ebay", lambda: EbaySimulator(name="ebay-orders", clock=ManualClock(START)), prepare=prepare
)


def since(moment: datetime, until: datetime | None = None) -> dict[str, str]:
    end = until.strftime("%Y-%m-%dT%H:%M:%S.000Z") if until else ""
    return {"filter": f"lastmodifieddate:[{moment.strftime('%Y-%m-%dT%H:%M:%S.000Z')}..{end}]"}


def ids(page: dict[str, Any]) -> list[str]:
    return [order["orderId"] for order in page["orders"]]


def errors_of(response: httpx.Response) -> list[int]:
    return [error["errorId"] for error in response.json()["errors"]]


def place(simulator: EbaySimulator, *lines: tuple[str, int]) -> str:
    """A buyer's order, a minute after the last thing that happened."""
    clock_of(simulator).advance(timedelta(minutes=1))
    order_id: str = simulator.place_order(list(lines))["orderId"]
    return order_id


def ship(client: httpx.Client, order_id: str, lines: list[dict[str, Any]]) -> httpx.Response:
    return client.post(
        f"{ORDERS}/{order_id}/shipping_fulfillment",
        json={"lineItems": lines, "shippingCarrierCode": "UPS", "trackingNumber": "1Z999"},
    )


def test_orders_come_oldest_change_first_by_offset_with_next_prev_and_total(ebay):
    placed = [place(ebay, ("MUG", 1)) for _ in range(5)]
    with api(ebay) as client:
        first = client.get(ORDERS, params={"limit": "2"}).json()
        assert (first["total"], first["limit"], first["offset"]) == (5, 2, 0)
        assert "prev" not in first
        seen = ids(first)
        page = first
        while "next" in page:
            page = client.get(page["next"]).json()
            seen += ids(page)
        assert seen == placed
        assert (page["offset"], page["prev"].endswith("limit=2&offset=2")) == (4, True)
        assert client.get(page["href"]).json() == page
        default = client.get(ORDERS).json()
        assert (default["limit"], default["total"], "next" in default) == (50, 5, False)


def test_the_lastmodifieddate_filter_finds_what_changed_since(ebay):
    first = place(ebay, ("MUG", 1))
    cursor = START + timedelta(minutes=1, seconds=30)
    second = place(ebay, ("CUP", 1))
    with api(ebay) as client:
        assert ids(client.get(ORDERS, params=since(cursor)).json()) == [second]
        clock_of(ebay).advance(timedelta(minutes=1))
        line = ebay.order(first)["lineItems"][0]["lineItemId"]
        assert ship(client, first, [{"lineItemId": line}]).status_code == 201
        changed = client.get(ORDERS, params=since(cursor)).json()
        assert ids(changed) == [second, first]  # the shipment moved the first order last
        bounded = client.get(ORDERS, params=since(cursor, START + timedelta(minutes=2, seconds=30)))
        assert ids(bounded.json()) == [second]
        created = {"filter": f"creationdate:[{cursor.isoformat().replace('+00:00', 'Z')}..]"}
        assert ids(client.get(ORDERS, params=created).json()) == [second]
        both = {"filter": f"{created['filter']},{since(START)['filter']}"}
        assert ids(client.get(ORDERS, params=both).json()) == [second]  # creationdate wins
        everything = client.get(ORDERS, params=since(START)).json()
        assert everything["total"] == 2


def test_a_bound_at_the_rendered_millisecond_still_finds_the_order(ebay):
    clock_of(ebay).advance(timedelta(microseconds=123_456))
    order_id = place(ebay, ("MUG", 1))
    stamp = ebay.order(order_id)["lastModifiedDate"]
    assert stamp.endswith(".123Z")
    with api(ebay) as client:
        exact = client.get(ORDERS, params={"filter": f"lastmodifieddate:[{stamp}..{stamp}]"})
    assert ids(exact.json()) == [order_id]


def test_the_fulfillment_status_filter_and_order_ids(ebay):
    waiting = place(ebay, ("MUG", 1))
    shipped = place(ebay, ("CUP", 1))
    ebay.ship_order(shipped, "1ZSHIPPED")
    with api(ebay) as client:
        open_orders = client.get(
            ORDERS, params={"filter": "orderfulfillmentstatus:{NOT_STARTED|IN_PROGRESS}"}
        )
        done = client.get(
            ORDERS, params={"filter": "orderfulfillmentstatus:{FULFILLED|IN_PROGRESS}"}
        )
        by_id = client.get(
            ORDERS, params={"orderIds": f"{shipped},NO-SUCH-ORDER,{waiting}", "limit": "1"}
        )
    assert (ids(open_orders.json()), ids(done.json())) == ([waiting], [shipped])
    assert ids(by_id.json()) == [shipped, waiting]  # orderIds overrides limit
    assert by_id.json()["total"] == 2


@pytest.mark.parametrize(
    ("params", "error_id"),
    [
        ({"filter": "status:[2026-01-01T00:00:00.000Z..]"}, 30700),
        ({"filter": "lastmodifieddate:2026-01-01"}, 30800),
        ({"filter": "lastmodifieddate:[yesterday..]"}, 30810),
        ({"filter": "lastmodifieddate:[2026-01-01T00:00:00..]"}, 30810),
        ({"filter": "lastmodifieddate:[..2026-01-01T00:00:00.000Z]"}, 30820),
        (
            {"filter": "creationdate:[2026-02-01T00:00:00.000Z..2026-01-01T00:00:00.000Z]"},
            30840,
        ),
        ({"filter": "orderfulfillmentstatus:{NOT_STARTED|FULFILLED}"}, 30800),
        ({"orderIds": ",".join(f"12-00000-{n:05d}" for n in range(51))}, 30900),
        ({"offset": "-1"}, 31000),
        ({"offset": "first"}, 31000),
        ({"limit": "201"}, 31100),
        ({"limit": "0"}, 31100),
    ],
)
def test_get_orders_refusals(ebay, params, error_id):
    with api(ebay) as client:
        refused = client.get(ORDERS, params=params)
    assert (refused.status_code, errors_of(refused)) == (400, [error_id])
    assert refused.json()["errors"][0]["domain"] == "API_FULFILLMENT"


def test_only_get_order_shows_the_buyers_cancel_request(ebay):
    order_id = place(ebay, ("CUP", 2))
    assert ebay.stock()["CUP"] == 3
    clock_of(ebay).advance(timedelta(minutes=5))
    ebay.request_cancel(order_id)
    with api(ebay) as client:
        listed = client.get(ORDERS).json()["orders"][0]
        single = client.get(f"{ORDERS}/{order_id}").json()
    assert listed["cancelStatus"] == {"cancelState": "IN_PROGRESS", "cancelRequests": []}
    assert single["cancelStatus"]["cancelState"] == "IN_PROGRESS"
    (request,) = single["cancelStatus"]["cancelRequests"]
    assert {key: request[key] for key in ("cancelRequestState", "cancelInitiator")} == {
        "cancelRequestState": "REQUESTED",
        "cancelInitiator": "BUYER",
    }
    assert request["cancelRequestedDate"] == "2026-05-04T09:06:00.000Z"
    assert request["cancelReason"]
    assert "cancelCompletedDate" not in request
    assert (
        listed["lastModifiedDate"] == single["lastModifiedDate"] == request["cancelRequestedDate"]
    )

    clock_of(ebay).advance(timedelta(minutes=5))
    ebay.cancel_order(order_id)
    with api(ebay) as client:
        cancelled = client.get(f"{ORDERS}/{order_id}").json()
    status = cancelled["cancelStatus"]
    assert (status["cancelState"], status["cancelledDate"]) == (
        "CANCELED",
        "2026-05-04T09:11:00.000Z",
    )
    assert status["cancelRequests"][0]["cancelRequestState"] == "COMPLETED"
    assert status["cancelRequests"][0]["cancelCompletedDate"] == "2026-05-04T09:11:00.000Z"
    assert cancelled["orderPaymentStatus"] == "FULLY_REFUNDED"
    (refund,) = cancelled["paymentSummary"]["refunds"]
    assert refund["amount"] == {"value": "8.00", "currency": "USD"}
    assert ebay.stock()["CUP"] == 5


def test_an_order_as_get_order_answers_it(ebay):
    order_id = place(ebay, ("MUG", 2), ("CUP", 1))
    with api(ebay) as client:
        order = client.get(f"{ORDERS}/{order_id}").json()
        unknown = client.get(f"{ORDERS}/12-00000-00000")
    assert order["orderId"] == order_id
    assert order["creationDate"] == order["lastModifiedDate"] == "2026-05-04T09:01:00.000Z"
    assert (order["orderFulfillmentStatus"], order["orderPaymentStatus"]) == ("NOT_STARTED", "PAID")
    assert order["buyer"] == {"username": "buyer_1"}
    assert order["pricingSummary"]["total"] == {"value": "29.00", "currency": "USD"}
    ship_to = order["fulfillmentStartInstructions"][0]["shippingStep"]["shipTo"]
    assert set(ship_to["contactAddress"]) >= {"addressLine1", "city", "postalCode", "countryCode"}
    assert ship_to["fullName"]
    lines = order["lineItems"]
    assert [(line["sku"], line["quantity"], line["title"]) for line in lines] == [
        ("MUG", 2, "Blue mug"),
        ("CUP", 1, "Tea cup"),
    ]
    assert lines[0]["lineItemCost"] == {"value": "25.00", "currency": "USD"}
    assert lines[0]["legacyItemId"] == ebay.offers("MUG")[0]["listing"]["listingId"]
    assert {line["lineItemFulfillmentStatus"] for line in lines} == {"NOT_STARTED"}
    assert order["cancelStatus"] == {"cancelState": "NONE_REQUESTED", "cancelRequests": []}
    assert (unknown.status_code, errors_of(unknown)) == (404, [32100])


def test_a_shipping_fulfillment_is_created_with_a_location_and_moves_the_statuses(ebay):
    order_id = place(ebay, ("MUG", 2), ("CUP", 1))
    mug, cup = (line["lineItemId"] for line in ebay.order(order_id)["lineItems"])
    with api(ebay) as client:
        clock_of(ebay).advance(timedelta(minutes=10))
        created = ship(client, order_id, [{"lineItemId": mug, "quantity": 1}])
        assert created.status_code == 201
        location = created.headers["location"]
        prefix = f"{ebay.url}{ORDERS}/{order_id}/shipping_fulfillment/"
        assert location.startswith(prefix)
        fulfillment = client.get(location).json()
        assert fulfillment == {
            "fulfillmentId": location.removeprefix(prefix),
            "lineItems": [{"lineItemId": mug, "quantity": 1}],
            "shippedDate": "2026-05-04T09:11:00.000Z",
            "shipmentTrackingNumber": "1Z999",
            "shippingCarrierCode": "UPS",
        }
        partly = client.get(f"{ORDERS}/{order_id}").json()
        assert partly["orderFulfillmentStatus"] == "IN_PROGRESS"
        assert [line["lineItemFulfillmentStatus"] for line in partly["lineItems"]] == [
            "IN_PROGRESS",
            "NOT_STARTED",
        ]
        assert partly["lastModifiedDate"] == "2026-05-04T09:11:00.000Z"
        assert partly["fulfillmentHrefs"] == [location]
        rest = ship(client, order_id, [{"lineItemId": mug}, {"lineItemId": cup, "quantity": 1}])
        assert rest.status_code == 201
        done = client.get(f"{ORDERS}/{order_id}").json()
        listed = client.get(f"{ORDERS}/{order_id}/shipping_fulfillment").json()
    assert done["orderFulfillmentStatus"] == "FULFILLED"
    assert {line["lineItemFulfillmentStatus"] for line in done["lineItems"]} == {"FULFILLED"}
    assert listed["total"] == 2
    assert listed["fulfillments"][1]["lineItems"] == [
        {"lineItemId": mug, "quantity": 1},
        {"lineItemId": cup, "quantity": 1},
    ]


def test_shipping_fulfillment_refusals(ebay):
    order_id = place(ebay, ("MUG", 2))
    other = place(ebay, ("CUP", 1))
    line = ebay.order(order_id)["lineItems"][0]["lineItemId"]
    foreign = ebay.order(other)["lineItems"][0]["lineItemId"]
    ebay.cancel_order(other)
    with api(ebay) as client:

        def refused(target: str, body: dict[str, Any]) -> tuple[int, list[int]]:
            answer = client.post(f"{ORDERS}/{target}/shipping_fulfillment", json=body)
            return answer.status_code, errors_of(answer)

        tracked = {"shippingCarrierCode": "UPS", "trackingNumber": "1Z1"}
        assert refused("12-00000-00000", {"lineItems": [{"lineItemId": line}]}) == (400, [32100])
        assert refused(order_id, {"lineItems": [{"lineItemId": foreign}]}) == (400, [32200])
        twice = [{"lineItemId": line, "quantity": 1}] * 2
        assert refused(order_id, {"lineItems": twice}) == (400, [32210])
        too_many = [{"lineItemId": line, "quantity": 3}]
        assert refused(order_id, {"lineItems": too_many, **tracked}) == (400, [32600])
        none = [{"lineItemId": line, "quantity": 0}]
        assert refused(order_id, {"lineItems": none, **tracked}) == (400, [32600])
        assert refused(order_id, {"lineItems": []}) == (400, [32600])
        no_carrier = {"lineItems": [{"lineItemId": line}], "trackingNumber": "1Z1"}
        assert refused(order_id, no_carrier) == (400, [32300])
        bad_date = {"lineItems": [{"lineItemId": line}], "shippedDate": "today", **tracked}
        assert refused(order_id, bad_date) == (400, [32500])
        assert refused(other, {"lineItems": [{"lineItemId": foreign}]}) == (400, [32600])
        assert ship(client, order_id, [{"lineItemId": line}]).status_code == 201
        assert refused(order_id, {"lineItems": [{"lineItemId": line}]}) == (400, [32600])
        unknown = client.get(f"{ORDERS}/12-00000-00000/shipping_fulfillment")
        assert (unknown.status_code, errors_of(unknown)) == (400, [32100])
    assert ebay.order(order_id)["orderFulfillmentStatus"] == "FULFILLED"


def test_shipping_an_order_the_buyer_asked_to_cancel_rejects_the_request(ebay):
    order_id = place(ebay, ("MUG", 1))
    ebay.request_cancel(order_id)
    shipped = ebay.ship_order(order_id, "1ZREJECT")
    assert shipped["cancelStatus"]["cancelState"] == "NONE_REQUESTED"
    assert shipped["cancelStatus"]["cancelRequests"][0]["cancelRequestState"] == "REJECTED"
    with pytest.raises(EbaySimulatorError, match="shipped"):
        ebay.cancel_order(order_id)
    assert ebay.fulfillments(order_id)[0]["shipmentTrackingNumber"] == "1ZREJECT"


def test_a_buyer_order_is_all_or_nothing(ebay):
    with pytest.raises(EbaySimulatorError, match="available"):
        ebay.place_order([("MUG", 1), ("CUP", 6)])
    with pytest.raises(EbaySimulatorError, match="no listing"):
        ebay.place_order([("NOPE", 1)])
    assert ebay.stock() == {"MUG": 20, "CUP": 5}
    assert ebay.orders() == []
    order = ebay.place_order([("CUP", 5)], buyer_username="someone")
    assert order["buyer"] == {"username": "someone"}
    assert ebay.stock()["CUP"] == 0
    assert ebay.offers("CUP")[0]["listing"]["soldQuantity"] == 5


def test_order_page_faults_on_get_orders(ebay):
    first, second, third = (place(ebay, ("MUG", 1)) for _ in range(3))
    with api(ebay) as client:
        ebay.inject("getOrders", "malformed_order")
        broken = client.get(ORDERS, params={"limit": "2"}).json()
        assert broken["orders"][0]["lastModifiedDate"] == "not-a-date"
        ebay.inject("getOrders", "duplicate_across_pages")
        repeated = client.get(ORDERS, params={"limit": "2", "offset": "2"}).json()
        assert ids(repeated) == [second, third]
        ebay.inject("getOrders", "stale_update")
        stale = client.get(ORDERS, params={"limit": "1"}).json()
        assert ids(stale) == [first, third]
        assert stale["orders"][1]["lastModifiedDate"] < ebay.order(third)["lastModifiedDate"]
        clean = client.get(ORDERS).json()
    assert ids(clean) == [first, second, third]
    assert ebay.traffic()["faults_served"] == {
        "malformed_order": 1,
        "duplicate_across_pages": 1,
        "stale_update": 1,
    }


def test_a_500_fault_answers_the_fulfillment_apis_system_error(ebay):
    ebay.inject("getOrders", 500)
    with api(ebay) as client:
        failed = client.get(ORDERS)
        assert client.get(ORDERS).status_code == 200
    assert failed.status_code == 500
    assert failed.json() == {
        "errors": [
            {
                "errorId": 30500,
                "domain": "API_FULFILLMENT",
                "category": "APPLICATION",
                "message": "A system error has occurred.",
            }
        ]
    }


def test_the_exchanges_keep_each_api_call_and_its_answer(ebay):
    order_id = place(ebay, ("MUG", 2))
    line = ebay.order(order_id)["lineItems"][0]["lineItemId"]
    with api(ebay) as client:
        client.get(ORDERS, params={"limit": "5"})
        ship(client, order_id, [{"lineItemId": line, "quantity": 2}])
        client.get(f"{ORDERS}/{order_id}")
    httpx.get(f"{ebay.url}/_control/orders")
    httpx.get(f"{ebay.url}/_simulator/state")
    kept = ebay.exchanges()
    assert [(e.operation, e.method, e.status) for e in kept] == [
        ("getOrders", "GET", 200),
        ("createShippingFulfillment", "POST", 201),
        ("getOrder", "GET", 200),
    ]
    listing, shipping, single = kept
    assert (listing.path, listing.query, listing.request_json) == (ORDERS, {"limit": "5"}, None)
    assert listing.response_json["total"] == 1
    assert shipping.request_json["lineItems"] == [{"lineItemId": line, "quantity": 2}]
    assert shipping.response_json == {}
    assert single.response_json["orderFulfillmentStatus"] == "FULFILLED"
    ebay.reset()
    assert ebay.exchanges() == []


def test_the_control_desk_buys_ships_and_cancels_over_http(ebay):
    control = f"{ebay.url}/_control"
    kind = httpx.get(f"{control}/kind").json()
    assert (kind["kind"], kind["type"]) == ("ebay", "ebay")
    placed = httpx.post(f"{control}/orders", json={"lines": [{"sku": "CUP", "quantity": 2}]})
    assert placed.status_code == 201
    order = placed.json()["order"]
    assert (order["status"], order["lines"]) == ("NOT_STARTED", [{"sku": "CUP", "quantity": 2}])
    assert httpx.get(f"{control}/stock").json()["stock"] == {"MUG": 20, "CUP": 3}
    shipped = httpx.post(
        f"{control}/ship", json={"order_id": order["order_id"], "tracking_number": "1ZDESK"}
    ).json()["order"]
    assert (shipped["status"], shipped["tracking_number"]) == ("FULFILLED", "1ZDESK")
    assert httpx.post(f"{control}/cancel", json={"order_id": order["order_id"]}).status_code == 409
    second = httpx.post(f"{control}/orders", json={"lines": [{"sku": "MUG"}]}).json()["order"]
    cancelled = httpx.post(f"{control}/cancel", json={"order_id": second["order_id"]})
    assert cancelled.json()["order"]["status"] == "CANCELED"
    too_many = httpx.post(f"{control}/orders", json={"lines": [{"sku": "CUP", "quantity": 9}]})
    assert (too_many.status_code, too_many.json()["error"]) == (409, "out_of_stock")
    unknown = httpx.post(f"{control}/cancel", json={"order_id": "12-00000-00000"})
    assert unknown.status_code == 404
    listed = httpx.get(f"{control}/orders").json()["orders"]
    assert [entry["order_id"] for entry in listed] == [order["order_id"], second["order_id"]]
    health = httpx.get(f"{ebay.url}/_simulator/health").json()
    assert (health["ok"], health["type"], health["marketplace_id"]) == (True, "ebay", "EBAY_US")
    state = httpx.get(f"{ebay.url}/_simulator/state").json()
    assert [o["orderId"] for o in state["orders"]] == [order["order_id"], second["order_id"]]
    assert state["shipping_fulfillments"][0]["shipmentTrackingNumber"] == "1ZDESK"
    assert ebay.exchanges() == []
