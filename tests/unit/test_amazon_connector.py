"""The Amazon connector on mocked HTTP: orders through Orders API 2026-01-01 (searchOrders
with the items in each order, getOrder for one) fed Amazon's own sandbox cases (read from
the project's reference copy), listings, patches, fulfilment (confirmShipment, still
Orders v0), error mapping, rate-limit headers, LWA tokens and secrets."""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from pydantic import ValidationError
from sp_api.auth import access_token_client

from omnisync.connectors.amazon.connector import (
    INCLUDED_DATA,
    PUBLISHED_LIMITS,
    AmazonConnector,
)
from omnisync.connectors.amazon.settings import AmazonSettings
from omnisync.connectors.base import (
    AuthError,
    MonotonicClock,
    PayloadError,
    PermanentError,
    RateLimited,
    TransientError,
)
from omnisync.core.dto import Fulfilment, FulfilmentLine, StockUpdate
from omnisync.core.types import OrderStatus
from omnisync.sandbox.reference import USAGE_PLAN_KEY, amazon_model

T = TypeVar("T")

SP = "https://sp-api.unit.test"
LWA = "https://lwa.unit.test/auth/o2/token"
SELLER = "A3UNITSELLER01"
US = "ATVPDKIKX0DER"
REFRESH_TOKEN = "Atzr|unit-refresh-token-0001"
APP_ID = "amzn1.application-oa2-client.unit0001"
CLIENT_SECRET = "amzn1.oa2-cs.v1.unit-client-secret"
ACCESS_TOKEN = "Atza|unit-access-token-0001"
SECRETS = (REFRESH_TOKEN, APP_ID, CLIENT_SECRET, ACCESS_TOKEN)
ORDERS_MODEL = "orders_2026-01-01.json"
SEARCH_PATH = "/orders/2026-01-01/orders"
GET_ORDER_PATH = "/orders/2026-01-01/orders/{orderId}"
ORDERS = f"{SP}{SEARCH_PATH}"
SHIPMENTS = f"{SP}/orders/v0/orders"
"""confirmShipment stays on Orders v0: 2026-01-01 has no such operation."""
LISTINGS = f"{SP}/listings/2021-08-01/items/{SELLER}"


def sandbox(path: str, status: int, **wanted: Any) -> dict[str, Any]:
    """The response of Amazon's static sandbox case (GET `path` of Orders 2026-01-01)
    whose request has the `wanted` parameter values."""
    responses = amazon_model(ORDERS_MODEL)["paths"][path]["get"]["responses"][str(status)]
    for case in responses["x-amzn-api-sandbox"]["static"]:
        given = case["request"]["parameters"]
        if all((given.get(name) or {}).get("value") == value for name, value in wanted.items()):
            answer: dict[str, Any] = copy.deepcopy(case["response"])
            return answer
    raise LookupError(f"no sandbox case GET {path} {status} {wanted}")


def sandbox_order_ids(status: int = 200) -> list[str]:
    """The order ids of getOrder's sandbox cases that answer `status`."""
    responses = amazon_model(ORDERS_MODEL)["paths"][GET_ORDER_PATH]["get"]["responses"]
    cases = responses[str(status)]["x-amzn-api-sandbox"]["static"]
    return [case["request"]["parameters"]["orderId"]["value"] for case in cases]


class RecordingCalls:
    """A CallPolicy that runs each request once and records what the connector asked."""

    def __init__(self) -> None:
        self.operations: list[str] = []
        self.limits: list[tuple[str, float]] = []
        self.pauses: list[float] = []

    def call(self, operation: str, request: Callable[[], T]) -> T:
        self.operations.append(operation)
        return request()

    def observe_limit(self, operation: str, per_second: float) -> None:
        self.limits.append((operation, per_second))

    def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)


def settings(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "marketplace": "US",
        "seller_id": SELLER,
        "endpoint": SP,
        "lwa_endpoint": LWA,
        "credentials": {
            "refresh_token": REFRESH_TOKEN,
            "lwa_app_id": APP_ID,
            "lwa_client_secret": CLIENT_SECRET,
        },
    }
    values.update(overrides)
    return values


def make_connector(
    calls: RecordingCalls | None = None,
    *,
    clock: MonotonicClock = time.monotonic,
    **overrides: Any,
) -> AmazonConnector:
    """`overrides`: of the channel's settings."""
    return AmazonConnector(
        AmazonSettings.model_validate(settings(**overrides)), calls=calls, clock=clock
    )


def token_answer(token: str = ACCESS_TOKEN) -> httpx.Response:
    return httpx.Response(
        200, json={"access_token": token, "token_type": "bearer", "expires_in": 3600}
    )


@pytest.fixture
def amazon() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.post(LWA, name="lwa").mock(return_value=token_answer())
        yield router


def unit_item(sku: str = "MUG", quantity: int = 1, item_id: str = "1001") -> dict[str, Any]:
    """An OrderItem of 2026-01-01 at 5.00 a unit, nothing shipped yet."""
    return {
        "orderItemId": item_id,
        "quantityOrdered": quantity,
        "product": {
            "asin": "B0UNIT0001",
            "title": "Mug",
            "sellerSku": sku,
            "price": {"unitPrice": {"amount": "5.00", "currencyCode": "USD"}},
        },
        "fulfillment": {"quantityFulfilled": 0, "quantityUnfulfilled": quantity},
    }


def unit_order(
    order_id: str, status: str = "UNSHIPPED", minute: int = 0, *items: dict[str, Any]
) -> dict[str, Any]:
    """An Order of 2026-01-01 with its items (one mug unless `items` are given)."""
    return {
        "orderId": order_id,
        "createdTime": "2026-03-01T08:00:00Z",
        "lastUpdatedTime": f"2026-03-01T08:{minute:02d}:00Z",
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": US},
        "proceeds": {"grandTotal": {"amount": "5.00", "currencyCode": "USD"}},
        "fulfillment": {"fulfillmentStatus": status, "fulfilledBy": "MERCHANT"},
        "orderItems": list(items) or [unit_item()],
    }


def search_answer(*orders: dict[str, Any], next_token: str | None = None) -> dict[str, Any]:
    """A searchOrders answer holding `orders`, naming the next page when `next_token`."""
    answer: dict[str, Any] = {"orders": list(orders)}
    if next_token is not None:
        answer["pagination"] = {"nextToken": next_token}
    return answer


def query_of(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.url.query.decode())


# Amazon's own sandbox cases -----------------------------------------------------------


def test_sandbox_search_case_comes_in_with_its_items_in_one_call(
    amazon: respx.MockRouter,
) -> None:
    search = amazon.get(ORDERS).respond(
        json=sandbox(SEARCH_PATH, 200, createdAfter="2024-12-20T00:00:00Z")
    )
    one_order = amazon.get(url__startswith=f"{ORDERS}/")
    since = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    (page,) = list(make_connector().fetch_orders(since))

    assert not page.rejected
    (order,) = page.orders
    assert order.external_id == order.display_name == "171-2345678-9012345"
    assert order.status == OrderStatus.ACCEPTED
    assert order.channel_status == "UNSHIPPED"
    assert not order.fulfilled_by_channel
    assert (order.currency, order.total) == ("BRL", Decimal("1599.90"))
    assert order.placed_at == datetime(2024, 12, 22, 15, 30, tzinfo=UTC)
    assert order.customer == {
        "name": "Carlos Oliveira",
        "email": "buyer-email@marketplace.amazon.com.br",
    }
    assert order.ship_to is not None
    assert order.ship_to["postalCode"] == "01310-100"
    (line,) = order.lines
    assert line.external_line_id == "17123456789012"
    assert line.channel_sku == "DELL-I15-BR-001"
    assert (line.quantity, line.quantity_shipped) == (1, 0)
    assert line.unit_price == Decimal("1599.90")
    assert not line.buyer_cancel_requested
    assert order.raw is not None
    assert order.raw["orderItems"][0]["product"]["sellerSku"] == "DELL-I15-BR-001"
    assert page.cursor == datetime(2024, 12, 23, 10, 0, tzinfo=UTC)

    assert search.call_count == 1
    assert one_order.call_count == 0  # the items came with the order
    query = query_of(search.calls.last.request)
    assert query["lastUpdatedAfter"] == ["2026-03-01T12:00:00Z"]
    assert query["marketplaceIds"] == [US]
    assert query["includedData"] == [",".join(INCLUDED_DATA)]
    assert query["maxResultsPerPage"] == ["100"]
    before = datetime.fromisoformat(query["lastUpdatedBefore"][0])
    assert before <= datetime.now(UTC) - timedelta(minutes=2)
    assert not {"createdAfter", "createdBefore", "paginationToken"} & set(query)


def test_sandbox_pages_follow_the_pagination_next_token(amazon: respx.MockRouter) -> None:
    first = sandbox(SEARCH_PATH, 200, createdAfter="2024-12-25T00:00:00Z")
    token = first["pagination"]["nextToken"]
    # The sandbox's paged case asks with a token of its own: its answer, for ours.
    second = sandbox(SEARCH_PATH, 200, paginationToken="9ZhB4RmVyc2lvbiAxLjAgb2YgdGhl")
    next_page = amazon.get(ORDERS, params={"paginationToken": token}).respond(json=second)
    first_page = amazon.get(ORDERS).respond(json=first)

    pages = list(make_connector().fetch_orders(datetime(2024, 12, 1, tzinfo=UTC)))

    assert (first_page.call_count, next_page.call_count) == (1, 1)
    assert [[order.external_id for order in page.orders] for page in pages] == [
        ["250-1234567-8901234"],
        ["202-7654321-1098765"],
    ]
    tokyo, london = pages[0].orders[0], pages[1].orders[0]
    assert tokyo.fulfilled_by_channel  # fulfilledBy AMAZON
    assert tokyo.status == OrderStatus.SHIPPED
    assert (tokyo.currency, tokyo.total) == ("JPY", Decimal("19940"))
    assert [
        (line.channel_sku, line.quantity, line.unit_price, line.quantity_shipped)
        for line in tokyo.lines
    ] == [
        ("ECHO-DOT-4-JP-CHARCOAL", 1, Decimal("5980"), 1),
        ("FIRE-TV-4K-MAX-JP", 2, Decimal("6980"), 2),
    ]
    assert not london.fulfilled_by_channel
    assert london.status == OrderStatus.SHIPPED
    assert pages[-1].cursor == datetime(2024, 12, 24, 18, 45, tzinfo=UTC)
    asked = query_of(next_page.calls.last.request)
    assert asked["paginationToken"] == [token]
    assert asked["marketplaceIds"] == [US]


def test_sandbox_400_case_becomes_a_clear_error(amazon: respx.MockRouter) -> None:
    amazon.get(ORDERS).respond(400, json=sandbox(SEARCH_PATH, 400, createdAfter="TEST_CASE_400"))

    with pytest.raises(PermanentError) as raised:
        list(make_connector().fetch_orders(None))

    assert str(raised.value) == "searchOrders: InvalidInput: Invalid Input (HTTP 400)"


@pytest.mark.parametrize("order_id", sandbox_order_ids())
def test_sandbox_get_order_cases_map_through_get_order(
    amazon: respx.MockRouter, order_id: str
) -> None:
    answer = sandbox(GET_ORDER_PATH, 200, orderId=order_id)
    route = amazon.get(f"{ORDERS}/{order_id}").respond(json=answer)
    calls = RecordingCalls()

    order = make_connector(calls).fetch_order(order_id)

    given = answer["order"]
    assert order.external_id == order_id
    assert order.channel_status == given["fulfillment"]["fulfillmentStatus"]
    assert order.total == Decimal(given["proceeds"]["grandTotal"]["amount"])
    assert [line.external_line_id for line in order.lines] == [
        item["orderItemId"] for item in given["orderItems"]
    ]
    assert [line.unit_price for line in order.lines] == [
        Decimal(item["product"]["price"]["unitPrice"]["amount"]) for item in given["orderItems"]
    ]
    assert [line.quantity_shipped for line in order.lines] == [
        item["fulfillment"]["quantityFulfilled"] for item in given["orderItems"]
    ]
    assert (order.customer is None) == ("buyer" not in given)
    assert calls.operations == ["getOrder"]
    query = query_of(route.calls.last.request)
    assert query == {"includedData": [",".join(INCLUDED_DATA)]}


def test_sandbox_get_order_400_case_is_a_payload_error_naming_the_order(
    amazon: respx.MockRouter,
) -> None:
    (order_id,) = sandbox_order_ids(400)
    amazon.get(f"{ORDERS}/{order_id}").respond(
        400, json=sandbox(GET_ORDER_PATH, 400, orderId=order_id)
    )

    with pytest.raises(PayloadError) as raised:
        make_connector().fetch_order(order_id)

    assert raised.value.external_id == "TEST_CASE_400"
    assert str(raised.value) == (
        "order TEST_CASE_400: getOrder: InvalidInput: Invalid Input (HTTP 400)"
    )


# orders -------------------------------------------------------------------------------


def test_an_order_amazon_does_not_know_is_a_payload_error_and_an_outage_is_not(
    amazon: respx.MockRouter,
) -> None:
    amazon.get(f"{ORDERS}/111-0000000-0000404").respond(
        404, json={"errors": [{"code": "NotFound", "message": "Order not found"}]}
    )
    amazon.get(f"{ORDERS}/111-0000000-0000503").respond(503)
    connector = make_connector()

    with pytest.raises(PayloadError, match="Order not found"):
        connector.fetch_order("111-0000000-0000404")
    with pytest.raises(TransientError) as raised:
        connector.fetch_order("111-0000000-0000503")
    assert not isinstance(raised.value, PayloadError)  # it stays on the queue and comes back


def test_a_get_order_answer_that_cannot_be_mapped_is_a_payload_error(
    amazon: respx.MockRouter,
) -> None:
    broken = unit_order("111-0000000-0000001", "TELEPORTED")
    amazon.get(f"{ORDERS}/111-0000000-0000001").respond(json={"order": broken})

    with pytest.raises(PayloadError, match="TELEPORTED") as raised:
        make_connector().fetch_order("111-0000000-0000001")

    assert json.loads(raised.value.raw) == broken


@pytest.mark.parametrize(
    ("route", "read", "said"),
    [
        (ORDERS, lambda c: list(c.fetch_orders(None)), "searchOrders: the answer has no orders"),
        (f"{ORDERS}/111-1", lambda c: c.fetch_order("111-1"), "getOrder: the answer has no order"),
    ],
)
def test_an_answer_without_its_orders_is_transient(
    amazon: respx.MockRouter, route: str, read: Callable[[AmazonConnector], Any], said: str
) -> None:
    amazon.get(route).respond(json={"createdBefore": "2026-03-01T00:00:00Z"})

    with pytest.raises(TransientError, match=said):
        read(make_connector())


def test_an_unmappable_order_is_quarantined_and_the_page_goes_on(
    amazon: respx.MockRouter,
) -> None:
    broken = unit_order("111-1")
    broken["createdTime"] = "yesterday-ish"
    amazon.get(ORDERS).respond(json=search_answer(broken, unit_order("111-2", minute=5)))

    (page,) = list(make_connector().fetch_orders(None))

    assert [order.external_id for order in page.orders] == ["111-2"]
    (rejected,) = page.rejected
    assert rejected.external_id == "111-1"
    assert "yesterday-ish" in rejected.reason
    assert json.loads(rejected.raw) == broken  # the order with its items, to map again
    assert page.cursor == datetime(2026, 3, 1, 8, 5, tzinfo=UTC)


def test_a_repeated_page_token_is_not_followed_forever(amazon: respx.MockRouter) -> None:
    route = amazon.get(ORDERS).respond(json=search_answer(next_token="same"))

    with pytest.raises(TransientError, match="repeated the page token 'same'"):
        list(make_connector().fetch_orders(None))

    assert route.call_count == 2


def test_a_window_younger_than_two_minutes_asks_nothing(amazon: respx.MockRouter) -> None:
    route = amazon.get(ORDERS).respond(json=search_answer())

    assert list(make_connector().fetch_orders(datetime.now(UTC) - timedelta(seconds=30))) == []
    assert route.call_count == 0


def test_every_request_goes_through_the_call_policy(amazon: respx.MockRouter) -> None:
    limit = {"x-amzn-RateLimit-Limit": "0.0056"}
    amazon.get(ORDERS, params={"paginationToken": "page-2"}).respond(
        json=search_answer(unit_order("111-2")), headers=limit
    )
    amazon.get(ORDERS).respond(
        json=search_answer(unit_order("111-1"), next_token="page-2"), headers=limit
    )
    amazon.get(f"{ORDERS}/111-3").respond(
        json={"order": unit_order("111-3")}, headers={"x-amzn-RateLimit-Limit": "0.5"}
    )
    calls = RecordingCalls()
    connector = make_connector(calls)

    list(connector.fetch_orders(None))
    connector.fetch_order("111-3")

    assert calls.operations == ["searchOrders", "searchOrders", "getOrder"]
    assert calls.limits == [
        ("searchOrders", 0.0056),
        ("searchOrders", 0.0056),
        ("getOrder", 0.5),
    ]


def test_published_limits_are_amazons_usage_plans_of_the_operations_used() -> None:
    plans = {
        operation["operationId"]: operation[USAGE_PLAN_KEY]
        for model in (ORDERS_MODEL, "notifications.json")
        for item in amazon_model(model)["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    used = {
        "searchOrders",
        "getOrder",
        "getDestinations",
        "createDestination",
        "getSubscription",
        "createSubscription",
    }
    assert used <= set(PUBLISHED_LIMITS) & set(plans)
    for name, limit in PUBLISHED_LIMITS.items():
        if name in plans:
            assert (limit.per_second, limit.burst) == (plans[name]["rate"], plans[name]["burst"])
    assert not {"getOrders", "getOrderItems"} & set(PUBLISHED_LIMITS)


# listings -----------------------------------------------------------------------------


def listing_item(sku: str | None, **summary: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "summaries": [
            {
                "marketplaceId": "A2EUQ1WTGCTBG2",
                "asin": "B0CANADA01",
                "productType": "OTHER",
                "status": [],
                "itemName": "elsewhere",
            },
            {
                "marketplaceId": US,
                "asin": "B0UNIT0001",
                "productType": "DRINKING_CUP",
                "status": ["BUYABLE"],
                "itemName": "Mug",
                **summary,
            },
        ],
        "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": 4}],
    }
    if sku is not None:
        item["sku"] = sku
    return item


def test_listings_page_through_page_tokens(amazon: respx.MockRouter) -> None:
    route = amazon.get(LISTINGS)
    route.side_effect = [
        httpx.Response(
            200,
            json={
                "numberOfResults": 3,
                "pagination": {"nextToken": "page-2"},
                "items": [listing_item("MUG"), listing_item(None)],
            },
        ),
        httpx.Response(200, json={"numberOfResults": 3, "items": [listing_item("LID")]}),
    ]

    listings = list(make_connector().fetch_listings())

    assert [listing.channel_sku for listing in listings] == ["MUG", None, "LID"]
    mug = listings[0]
    assert mug.channel_ids["asin"] == "B0UNIT0001"
    assert mug.channel_ids["productType"] == "DRINKING_CUP"
    assert mug.channel_ids["status"] == ["BUYABLE"]
    assert mug.quantity == 4
    assert mug.title == "Mug"
    first, second = (parse_qs(call.request.url.query.decode()) for call in route.calls)
    assert first["pageSize"] == ["20"]
    assert first["marketplaceIds"] == [US]
    assert first["includedData"] == ["summaries,attributes,fulfillmentAvailability"]
    assert "pageToken" not in first
    assert second["pageToken"] == ["page-2"]


# stock --------------------------------------------------------------------------------


def patch_route(router: respx.MockRouter, sku: str) -> respx.Route:
    return router.patch(f"{LISTINGS}/{sku}")


def accepted(sku: str) -> dict[str, Any]:
    return {"sku": sku, "status": "ACCEPTED", "submissionId": f"s-{sku}", "issues": []}


def test_below_the_threshold_each_sku_is_patched(amazon: respx.MockRouter) -> None:
    mug = patch_route(amazon, "MUG").respond(json=accepted("MUG"))
    lid = patch_route(amazon, "LID").respond(json=accepted("LID"))
    updates = [
        StockUpdate(channel_sku="MUG", quantity=3, channel_ids={"productType": "DRINKING_CUP"}),
        StockUpdate(channel_sku="LID", quantity=0),
    ]

    results = make_connector(feed_threshold=3).push_stock(updates)

    assert [(r.key, r.ok, r.quantity) for r in results] == [("MUG", True, 3), ("LID", True, 0)]
    body = json.loads(mug.calls.last.request.content)
    assert body == {
        "productType": "DRINKING_CUP",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}],
            }
        ],
    }
    assert json.loads(lid.calls.last.request.content)["productType"] == "PRODUCT"
    assert parse_qs(mug.calls.last.request.url.query.decode())["marketplaceIds"] == [US]


def test_an_invalid_patch_keeps_amazons_issues_and_the_others_go_on(
    amazon: respx.MockRouter,
) -> None:
    patch_route(amazon, "BAD").respond(
        json={
            "sku": "BAD",
            "status": "INVALID",
            "submissionId": "s-bad",
            "issues": [
                {
                    "code": "90000900",
                    "message": "The attributes are invalid.",
                    "severity": "ERROR",
                    "attributeNames": ["fulfillment_availability"],
                },
                {"code": "18448", "message": "Images missing.", "severity": "WARNING"},
            ],
        }
    )
    patch_route(amazon, "GONE").respond(
        404, json={"errors": [{"code": "NOT_FOUND", "message": "SKU GONE is not listed"}]}
    )
    patch_route(amazon, "MUG").respond(json=accepted("MUG"))
    updates = [StockUpdate(channel_sku=sku, quantity=1) for sku in ("BAD", "GONE", "MUG")]

    bad, gone, mug = make_connector().push_stock(updates)

    assert not bad.ok
    assert bad.error is not None
    assert "90000900: The attributes are invalid. [fulfillment_availability]" in bad.error
    assert "Images missing" not in bad.error
    assert not gone.ok
    assert gone.error is not None
    assert "SKU GONE is not listed" in gone.error
    assert mug.ok


def test_a_listing_fulfilled_by_amazon_is_not_pushed(amazon: respx.MockRouter) -> None:
    route = patch_route(amazon, "FBA").respond(json=accepted("FBA"))
    update = StockUpdate(
        channel_sku="FBA", quantity=5, channel_ids={"fulfillmentChannelCodes": ["AMAZON_NA"]}
    )

    (result,) = make_connector().push_stock([update])

    assert not result.ok
    assert result.error is not None
    assert "AMAZON_NA" in result.error
    assert route.call_count == 0


# errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected", "retry_after"),
    [
        (httpx.Response(429, headers={"x-amzn-RateLimit-Limit": "0.5"}), RateLimited, 2.0),
        (
            httpx.Response(
                429,
                json={"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota"}]},
            ),
            RateLimited,
            1 / 0.0056,  # the published searchOrders rate, when Amazon says none
        ),
        (httpx.Response(429, headers={"Retry-After": "7"}), RateLimited, 7.0),
        (
            httpx.Response(
                403, json={"errors": [{"code": "Unauthorized", "message": "Access denied"}]}
            ),
            AuthError,
            None,
        ),
        (httpx.Response(401, json={}), AuthError, None),
        (httpx.Response(500, text="oops"), TransientError, None),
        (httpx.Response(503), TransientError, None),
        (httpx.Response(200, text="<html>gateway</html>"), TransientError, None),
        (
            httpx.Response(400, json={"errors": [{"code": "InvalidInput", "message": "Bad date"}]}),
            PermanentError,
            None,
        ),
    ],
)
def test_answers_become_the_right_errors(
    amazon: respx.MockRouter,
    answer: httpx.Response,
    expected: type[Exception],
    retry_after: float | None,
) -> None:
    amazon.get(ORDERS).mock(return_value=answer)

    with pytest.raises(expected) as raised:
        list(make_connector().fetch_orders(None))

    if retry_after is not None:
        assert isinstance(raised.value, RateLimited)
        assert raised.value.retry_after == pytest.approx(retry_after)
    assert str(raised.value).startswith("searchOrders:")


def test_a_throttled_answer_still_tells_its_rate(amazon: respx.MockRouter) -> None:
    amazon.get(ORDERS).respond(429, headers={"x-amzn-RateLimit-Limit": "0.0055"})
    calls = RecordingCalls()

    with pytest.raises(RateLimited):
        list(make_connector(calls).fetch_orders(None))

    assert calls.limits == [("searchOrders", 0.0055)]


def test_timeouts_and_refused_connections_are_transient(amazon: respx.MockRouter) -> None:
    amazon.get(ORDERS).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(TransientError, match="timed out"):
        list(make_connector().fetch_orders(None))
    amazon.get(LISTINGS).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(TransientError, match="connection failed"):
        list(make_connector().fetch_listings())


# LWA tokens ---------------------------------------------------------------------------


def test_a_kept_token_amazon_refuses_is_renewed_once(amazon: respx.MockRouter) -> None:
    amazon["lwa"].side_effect = [token_answer("Atza|first"), token_answer("Atza|second")]
    route = amazon.get(LISTINGS)
    route.side_effect = [
        httpx.Response(200, json={"items": []}),
        httpx.Response(403, json={"errors": [{"code": "Unauthorized", "message": "expired"}]}),
        httpx.Response(200, json={"items": []}),
    ]
    connector = make_connector()

    list(connector.fetch_listings())
    list(connector.fetch_listings())

    tokens = [call.request.headers["x-amz-access-token"] for call in route.calls]
    assert tokens == ["Atza|first", "Atza|first", "Atza|second"]


def test_a_fresh_token_amazon_refuses_stops_with_an_auth_error(amazon: respx.MockRouter) -> None:
    amazon.get(LISTINGS).respond(403, json={"errors": [{"code": "Unauthorized", "message": "no"}]})

    with pytest.raises(AuthError):
        list(make_connector().fetch_listings())

    assert amazon["lwa"].call_count == 1


def test_tokens_are_kept_per_channel_and_only_in_memory(amazon: respx.MockRouter) -> None:
    def issue(request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        return token_answer(f"Atza|for-{form['refresh_token'][0]}")

    amazon["lwa"].side_effect = issue
    route = amazon.get(LISTINGS).respond(json={"items": []})
    # Simulator tests in this process sign in with the library's own client, which fills
    # its process-wide cache: start from an empty one.
    access_token_client.cache.clear()
    other_credentials = {
        "refresh_token": "Atzr|other-channel",
        "lwa_app_id": "amzn1.application-oa2-client.other",
        "lwa_client_secret": "amzn1.oa2-cs.v1.other-secret",
    }

    for connector in (make_connector(), make_connector(credentials=other_credentials)):
        list(connector.fetch_listings())
        list(connector.fetch_listings())

    tokens = [call.request.headers["x-amz-access-token"] for call in route.calls]
    assert tokens == [f"Atza|for-{REFRESH_TOKEN}"] * 2 + ["Atza|for-Atzr|other-channel"] * 2
    assert amazon["lwa"].call_count == 2
    form = parse_qs(amazon["lwa"].calls[0].request.content.decode())
    assert form == {
        "grant_type": ["refresh_token"],
        "client_id": [APP_ID],
        "refresh_token": [REFRESH_TOKEN],
        "client_secret": [CLIENT_SECRET],
    }
    assert len(access_token_client.cache) == 0  # the library's process-wide cache is unused


def test_refused_credentials_say_so_without_the_secrets(
    amazon: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    amazon["lwa"].respond(
        400,
        json={
            "error": "invalid_grant",
            "error_description": f"The refresh token {REFRESH_TOKEN} is invalid",
        },
    )
    connector = make_connector()

    problems = connector.check()
    with pytest.raises(AuthError) as raised:
        list(connector.fetch_orders(None))

    assert len(problems) == 1
    assert "Login with Amazon refused" in problems[0]
    assert "invalid_grant" in problems[0]
    for secret in SECRETS:
        assert secret not in problems[0]
        assert secret not in str(raised.value)
        assert secret not in caplog.text


def test_no_credential_reaches_the_logs(
    amazon: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # The CLI's logging set-up (run by earlier tests in this process) quiets libraries.
    for library in ("httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=library)
    amazon.get(ORDERS).respond(json=search_answer(unit_order("111-1")))
    amazon.get(f"{ORDERS}/111-2").respond(json={"order": unit_order("111-2")})
    patch_route(amazon, "MUG").respond(500, text="down")

    connector = make_connector()
    list(connector.fetch_orders(None))
    connector.fetch_order("111-2")
    with pytest.raises(TransientError) as raised:
        connector.push_stock([StockUpdate(channel_sku="MUG", quantity=1)])

    assert caplog.records  # httpx and httpcore did log at DEBUG
    for secret in SECRETS:
        assert secret not in caplog.text
        assert secret not in str(raised.value)


def test_check_is_quiet_when_all_is_well(amazon: respx.MockRouter) -> None:
    route = amazon.get(LISTINGS).respond(json={"items": []})

    assert make_connector().check() == []
    assert parse_qs(route.calls.last.request.url.query.decode())["pageSize"] == ["1"]


# fulfilment ---------------------------------------------------------------------------


def fulfilment(carrier: str, service: str | None = "Ground") -> Fulfilment:
    return Fulfilment(
        order_external_id="902-1106328-1059050",
        lines=(FulfilmentLine(external_line_id="79039765272157", quantity=1),),
        carrier=carrier,
        tracking_number="1Z999AA10123456784",
        service=service,
        idempotency_key="omnisync-shipment-42",
    )


def test_confirm_shipment_names_amazons_carrier_code(amazon: respx.MockRouter) -> None:
    route = amazon.post(f"{SHIPMENTS}/902-1106328-1059050/shipmentConfirmation").respond(204)

    result = make_connector().push_fulfilment(fulfilment("ups"))

    assert result.ok
    body = json.loads(route.calls.last.request.content)
    package = body["packageDetail"]
    assert body["marketplaceId"] == US
    assert package["packageReferenceId"] == "42"
    assert package["carrierCode"] == "UPS"
    assert "carrierName" not in package
    assert package["shippingMethod"] == "Ground"
    assert package["trackingNumber"] == "1Z999AA10123456784"
    assert package["orderItems"] == [{"orderItemId": "79039765272157", "quantity": 1}]
    shipped = datetime.fromisoformat(package["shipDate"])
    assert abs(shipped - datetime.now(UTC)) < timedelta(minutes=1)


def test_an_unlisted_carrier_is_other_with_its_name(amazon: respx.MockRouter) -> None:
    route = amazon.post(f"{SHIPMENTS}/902-1106328-1059050/shipmentConfirmation").respond(204)

    make_connector().push_fulfilment(fulfilment("Acme Freight", service=None))

    package = json.loads(route.calls.last.request.content)["packageDetail"]
    assert (package["carrierCode"], package["carrierName"]) == ("Other", "Acme Freight")
    assert "shippingMethod" not in package


def test_a_refused_confirmation_keeps_amazons_words(amazon: respx.MockRouter) -> None:
    amazon.post(f"{SHIPMENTS}/902-1106328-1059050/shipmentConfirmation").respond(
        400, json={"errors": [{"code": "InvalidInput", "message": "Invalid shipDate"}]}
    )

    result = make_connector().push_fulfilment(fulfilment("FedEx"))

    assert not result.ok
    assert result.error == "confirmShipment: InvalidInput: Invalid shipDate (HTTP 400)"


# settings -----------------------------------------------------------------------------


def test_bad_settings_name_the_field() -> None:
    with pytest.raises(ValidationError) as raised:
        AmazonSettings.model_validate(settings(marketplace="XX"))
    (error,) = raised.value.errors()
    assert error["loc"] == ("marketplace",)
    assert "unknown marketplace 'XX'" in error["msg"]

    broken = settings()
    del broken["credentials"]["lwa_client_secret"]
    with pytest.raises(ValidationError) as raised:
        AmazonSettings.model_validate(broken)
    assert [error["loc"] for error in raised.value.errors()] == [
        ("credentials", "lwa_client_secret")
    ]


def test_settings_take_the_library_marketplace_names_and_keep_secrets_hidden() -> None:
    parsed = AmazonSettings.model_validate(settings(marketplace="de"))
    assert parsed.marketplace == "DE"
    assert parsed.feed_threshold == 1500
    assert parsed.fulfillment_channel_code == "DEFAULT"
    assert CLIENT_SECRET not in repr(parsed)
