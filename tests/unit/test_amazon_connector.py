"""The Amazon connector on mocked HTTP: Amazon's own sandbox payloads (read from
the project's reference copy), listings, patches, fulfilment, error mapping,
rate-limit headers, LWA tokens and secrets."""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from pydantic import ValidationError
from sp_api.auth import access_token_client

from omnisync.connectors.amazon.connector import AmazonConnector
from omnisync.connectors.amazon.settings import AmazonSettings
from omnisync.connectors.base import (
    AuthError,
    MonotonicClock,
    PermanentError,
    RateLimited,
    TransientError,
)
from omnisync.core.dto import Fulfilment, FulfilmentLine, StockUpdate
from omnisync.core.types import OrderStatus
from tests.support.reference import REFERENCE_DIR

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
ORDERS = f"{SP}/orders/v0/orders"
ORDER_ITEMS = rf"{SP}/orders/v0/orders/(?P<order>[^/]+)/orderItems"
LISTINGS = f"{SP}/listings/2021-08-01/items/{SELLER}"


@cache
def orders_model() -> dict[str, Any]:
    path = REFERENCE_DIR / "amazon" / "models" / "ordersV0.json"
    model: dict[str, Any] = json.loads(path.read_text())
    return model


def sandbox(path: str, method: str, status: int, **wanted: Any) -> dict[str, Any]:
    """The response of Amazon's static sandbox case whose request has the `wanted` values."""
    responses = orders_model()["paths"][path][method]["responses"][str(status)]
    for case in responses["x-amzn-api-sandbox"]["static"]:
        given = case["request"]["parameters"]
        if all((given.get(name) or {}).get("value") == value for name, value in wanted.items()):
            return copy.deepcopy(case["response"])
    raise LookupError(f"no sandbox case {method} {path} {status} {wanted}")


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


def item_answer(order_id: str, items: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    return {"payload": {"AmazonOrderId": order_id, "OrderItems": items, **more}}


def unit_item(sku: str = "MUG", quantity: int = 1, item_id: str = "1001") -> dict[str, Any]:
    return {
        "ASIN": "B0UNIT0001",
        "OrderItemId": item_id,
        "SellerSKU": sku,
        "Title": "Mug",
        "QuantityOrdered": quantity,
        "QuantityShipped": 0,
        "ItemPrice": {"CurrencyCode": "USD", "Amount": f"{5 * quantity}.00"},
    }


def unit_order(order_id: str, status: str = "Unshipped", minute: int = 0) -> dict[str, Any]:
    return {
        "AmazonOrderId": order_id,
        "PurchaseDate": "2026-03-01T08:00:00Z",
        "LastUpdateDate": f"2026-03-01T08:{minute:02d}:00Z",
        "OrderStatus": status,
        "FulfillmentChannel": "MFN",
        "OrderTotal": {"CurrencyCode": "USD", "Amount": "5.00"},
        "MarketplaceId": US,
    }


# Amazon's own sandbox payloads --------------------------------------------------------


def test_sandbox_order_comes_in_with_its_line(amazon: respx.MockRouter) -> None:
    orders = amazon.get(ORDERS).respond(
        json=sandbox(
            "/orders/v0/orders", "get", 200, CreatedAfter="TEST_CASE_200", MarketplaceIds=[US]
        )
    )
    items = sandbox("/orders/v0/orders/{orderId}/orderItems", "get", 200, orderId="TEST_CASE_200")
    amazon.get(url__regex=ORDER_ITEMS).respond(json=items)
    since = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    pages = list(make_connector().fetch_orders(since))

    (page,) = pages
    assert not page.rejected
    by_id = {order.external_id: order for order in page.orders}
    order = by_id["902-1845936-5435065"]
    (line,) = order.lines
    assert line.channel_sku == "NABetaASINB00551Q3CS"
    assert line.quantity == 1
    assert line.unit_price == Decimal("10.00")
    assert order.currency == "USD"
    assert order.total == Decimal("11.01")
    assert order.status == OrderStatus.ACCEPTED
    assert not order.fulfilled_by_channel
    # The sandbox item carries a buyer's cancel request: kept on the line and in raw.
    assert line.buyer_cancel_requested
    assert line.buyer_cancel_reason == "Found cheaper somewhere else."
    assert order.raw is not None
    assert order.raw["OrderItems"][0]["BuyerRequestedCancel"]["IsBuyerRequestedCancel"] == "true"
    assert page.cursor == max(o.updated_at for o in page.orders)

    query = parse_qs(orders.calls.last.request.url.query.decode())
    assert query["LastUpdatedAfter"] == ["2026-03-01T12:00:00Z"]
    assert query["MarketplaceIds"] == [US]
    before = datetime.fromisoformat(query["LastUpdatedBefore"][0])
    assert before <= datetime.now(UTC) - timedelta(minutes=2)
    assert "CreatedAfter" not in query


def test_sandbox_next_token_case_imports_both_pages(amazon: respx.MockRouter) -> None:
    first = sandbox(
        "/orders/v0/orders",
        "get",
        200,
        CreatedAfter="TEST_CASE_200_NEXT_TOKEN",
        MarketplaceIds=[US],
    )
    token = first["payload"]["NextToken"]
    second = sandbox(
        "/orders/v0/orders",
        "get",
        200,
        CreatedAfter="TEST_CASE_200_NEXT_TOKEN",
        NextToken=token,
    )
    next_page = amazon.get(ORDERS, params={"NextToken": token}).respond(json=second)
    first_page = amazon.get(ORDERS).respond(json=first)
    # The sandbox has no items for this Pending order: Amazon's item, as a Pending
    # order shows it (no prices yet).
    items = sandbox("/orders/v0/orders/{orderId}/orderItems", "get", 200, orderId="TEST_CASE_200")
    for item in items["payload"]["OrderItems"]:
        for price in ("ItemPrice", "ItemTax", "PromotionDiscount"):
            item.pop(price)
    amazon.get(url__regex=ORDER_ITEMS).respond(json=items)

    pages = list(make_connector().fetch_orders(datetime(2017, 1, 1, tzinfo=UTC)))

    assert len(pages) == 2
    assert first_page.call_count == 1
    assert next_page.call_count == 1
    for page in pages:
        (order,) = page.orders
        assert order.external_id == "902-3159896-1390916"
        assert order.status == OrderStatus.PENDING
        assert order.total is None
        assert [line.unit_price for line in order.lines] == [None]
    assert pages[-1].cursor == datetime(2017, 1, 20, 19, 49, 35, tzinfo=UTC)


def test_sandbox_400_case_becomes_a_clear_error(amazon: respx.MockRouter) -> None:
    refusal = sandbox("/orders/v0/orders", "get", 400, CreatedAfter="TEST_CASE_400")
    amazon.get(ORDERS).respond(400, json=refusal)

    with pytest.raises(PermanentError) as raised:
        list(make_connector().fetch_orders(None))

    assert str(raised.value) == "getOrders: InvalidInput: Invalid Input (HTTP 400)"


# orders -------------------------------------------------------------------------------


def test_order_items_follow_their_own_next_token(amazon: respx.MockRouter) -> None:
    amazon.get(ORDERS).respond(json={"payload": {"Orders": [unit_order("111-1")]}})
    route = amazon.get(url__regex=ORDER_ITEMS)
    route.side_effect = [
        httpx.Response(200, json=item_answer("111-1", [unit_item("MUG")], NextToken="items-2")),
        httpx.Response(200, json=item_answer("111-1", [unit_item("LID", 2, "1002")])),
    ]

    (page,) = list(make_connector().fetch_orders(None))

    (order,) = page.orders
    assert [(line.channel_sku, line.quantity) for line in order.lines] == [("MUG", 1), ("LID", 2)]
    assert order.lines[1].unit_price == Decimal("5.00")
    assert "NextToken=items-2" in str(route.calls[1].request.url)


def test_an_order_amazon_refuses_items_for_is_quarantined_and_the_page_goes_on(
    amazon: respx.MockRouter,
) -> None:
    amazon.get(ORDERS).respond(
        json={"payload": {"Orders": [unit_order("111-1"), unit_order("111-2", minute=5)]}}
    )
    amazon.get(f"{ORDERS}/111-1/orderItems").respond(
        404, json={"errors": [{"code": "NotFound", "message": "Order 111-1 not found"}]}
    )
    amazon.get(f"{ORDERS}/111-2/orderItems").respond(json=item_answer("111-2", [unit_item()]))

    (page,) = list(make_connector().fetch_orders(None))

    assert [order.external_id for order in page.orders] == ["111-2"]
    (rejected,) = page.rejected
    assert rejected.external_id == "111-1"
    assert "Order 111-1 not found" in rejected.reason
    assert json.loads(rejected.raw)["AmazonOrderId"] == "111-1"


def test_a_repeated_page_token_is_not_followed_forever(amazon: respx.MockRouter) -> None:
    amazon.get(ORDERS).respond(json={"payload": {"Orders": [], "NextToken": "same"}})

    with pytest.raises(TransientError, match="repeated the page token"):
        list(make_connector().fetch_orders(None))


def test_a_window_younger_than_two_minutes_asks_nothing(amazon: respx.MockRouter) -> None:
    route = amazon.get(ORDERS).respond(json={"payload": {"Orders": []}})

    assert list(make_connector().fetch_orders(datetime.now(UTC) - timedelta(seconds=30))) == []
    assert route.call_count == 0


def test_every_request_goes_through_the_call_policy(amazon: respx.MockRouter) -> None:
    amazon.get(ORDERS).respond(
        json={"payload": {"Orders": [unit_order("111-1"), unit_order("111-2")]}},
        headers={"x-amzn-RateLimit-Limit": "0.0167"},
    )
    amazon.get(url__regex=ORDER_ITEMS).respond(
        json=item_answer("111-1", [unit_item()]), headers={"x-amzn-RateLimit-Limit": "0.5"}
    )
    calls = RecordingCalls()

    list(make_connector(calls).fetch_orders(None))

    assert calls.operations == ["getOrders", "getOrderItems", "getOrderItems"]
    assert calls.limits == [("getOrders", 0.0167), ("getOrderItems", 0.5), ("getOrderItems", 0.5)]


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
            1 / 0.0167,
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
    assert str(raised.value).startswith("getOrders:")


def test_a_throttled_answer_still_tells_its_rate(amazon: respx.MockRouter) -> None:
    amazon.get(ORDERS).respond(429, headers={"x-amzn-RateLimit-Limit": "0.0055"})
    calls = RecordingCalls()

    with pytest.raises(RateLimited):
        list(make_connector(calls).fetch_orders(None))

    assert calls.limits == [("getOrders", 0.0055)]


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
    amazon.get(ORDERS).respond(json={"payload": {"Orders": [unit_order("111-1")]}})
    amazon.get(url__regex=ORDER_ITEMS).respond(json=item_answer("111-1", [unit_item()]))
    patch_route(amazon, "MUG").respond(500, text="down")

    connector = make_connector()
    list(connector.fetch_orders(None))
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
    route = amazon.post(f"{ORDERS}/902-1106328-1059050/shipmentConfirmation").respond(204)

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
    route = amazon.post(f"{ORDERS}/902-1106328-1059050/shipmentConfirmation").respond(204)

    make_connector().push_fulfilment(fulfilment("Acme Freight", service=None))

    package = json.loads(route.calls.last.request.content)["packageDetail"]
    assert (package["carrierCode"], package["carrierName"]) == ("Other", "Acme Freight")
    assert "shippingMethod" not in package


def test_a_refused_confirmation_keeps_amazons_words(amazon: respx.MockRouter) -> None:
    amazon.post(f"{ORDERS}/902-1106328-1059050/shipmentConfirmation").respond(
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
