"""The Shopify connector's own logic on mocked HTTP: the cost bucket, error mapping,
compare-and-set pushes, webhook signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any, Unpack

import httpx
import pytest
import respx

from omnisync.connectors.base import (
    AuthError,
    ConnectorOptions,
    DirectCalls,
    InvalidSignature,
    PayloadError,
    PermanentError,
    RateLimited,
)
from omnisync.connectors.shopify.client import CostBucket
from omnisync.connectors.shopify.connector import ShopifyConnector
from omnisync.connectors.shopify.settings import ShopifySettings
from omnisync.core.dto import StockUpdate, WebhookEvents
from omnisync.sandbox.clock import ManualTimer

URL = "https://unit.myshopify.com/admin/api/2026-10/graphql.json"
LOCATION = "gid://shopify/Location/1"
SECRET = "shpss_unit_secret"


def cost(requested: float = 10, available: float = 990) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": requested,
            "throttleStatus": {
                "maximumAvailable": 1000.0,
                "currentlyAvailable": available,
                "restoreRate": 100.0,
            },
        }
    }


def answer(data: dict[str, Any], **kwargs: float) -> httpx.Response:
    return httpx.Response(200, json={"data": data, "extensions": cost(**kwargs)})


def pinned(**options: Unpack[ConnectorOptions]) -> ShopifyConnector:
    """A connector pushing to LOCATION, built with `options`."""
    settings = ShopifySettings(
        shop="unit.myshopify.com",
        access_token="shpat_unit_token",
        client_secret=SECRET,
        push_location=LOCATION,
    )
    return ShopifyConnector(settings, **options)


@pytest.fixture
def connector() -> Iterator[ShopifyConnector]:
    connector = pinned()
    yield connector
    connector.close()


def operation(request: httpx.Request) -> str:
    return str(json.loads(request.content)["operationName"])


def test_the_bucket_refills_at_the_restore_rate_and_says_how_long_to_wait() -> None:
    now = [0.0]
    bucket = CostBucket(clock=lambda: now[0])
    bucket.observe({"maximumAvailable": 1000, "currentlyAvailable": 50, "restoreRate": 100})
    assert bucket.wait_for(250) == pytest.approx(2.0)
    now[0] = 1.0
    assert bucket.available() == pytest.approx(150)
    assert bucket.wait_for(100) == 0.0


class RecordingCalls(DirectCalls):
    """Records each pause, and pauses by moving `timer` instead of sleeping."""

    def __init__(self, timer: ManualTimer) -> None:
        self.pauses: list[float] = []
        self.timer = timer

    def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.timer.advance(seconds)


@respx.mock
def test_a_known_empty_bucket_is_never_sent_into() -> None:
    # The client's bucket refills on a timer only the pauses move: the wait it asks for
    # does not shrink by however long a loaded machine takes between the two calls.
    timer = ManualTimer()
    calls = RecordingCalls(timer)
    connector = pinned(calls=calls, clock=timer)
    shop = {"shop": {"name": "s", "myshopifyDomain": "unit.myshopify.com"}}
    route = respx.post(URL).mock(return_value=answer(shop, requested=50, available=0))
    connector.client.execute("Shop", "query Shop { shop { name myshopifyDomain } }")
    connector.client.execute("Shop", "query Shop { shop { name myshopifyDomain } }")
    # The bucket was full for the first call; the second waited for 50 at 100 per second.
    assert calls.pauses == [pytest.approx(0.5, abs=0.05)]
    assert route.call_count == 2


@respx.mock
def test_throttled_becomes_rate_limited_with_the_bucket_wait() -> None:
    connector = pinned(clock=ManualTimer())  # no refill while it computes
    respx.post(URL).mock(
        return_value=httpx.Response(
            200,
            json={
                "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                "extensions": cost(requested=300, available=100),
            },
        )
    )
    with pytest.raises(RateLimited) as raised:
        connector.client.execute("Orders", "query Orders { shop { name } }")
    assert raised.value.retry_after == pytest.approx(2.0, abs=0.05)


@respx.mock
def test_access_denied_names_the_missing_scope(connector: ShopifyConnector) -> None:
    respx.post(URL).mock(
        return_value=httpx.Response(
            200,
            json={
                "errors": [
                    {
                        "message": "Access denied for orders field.",
                        "extensions": {
                            "code": "ACCESS_DENIED",
                            "requiredAccess": "`read_orders` access scope.",
                        },
                    }
                ],
                "data": {"orders": None},
                "extensions": cost(),
            },
        )
    )
    with pytest.raises(AuthError, match="read_orders"):
        connector.client.execute("Orders", "query Orders { shop { name } }")


@respx.mock
def test_http_401_is_an_auth_error_without_the_token(connector: ShopifyConnector) -> None:
    respx.post(URL).mock(return_value=httpx.Response(401, json={"errors": "[API] Invalid API key"}))
    with pytest.raises(AuthError) as raised:
        connector.client.execute("Shop", "query Shop { shop { name } }")
    assert "shpat_unit_token" not in str(raised.value)


def _set_quantities_reply(errors: list[dict[str, Any]]) -> httpx.Response:
    group = None if errors else {"id": "gid://shopify/InventoryAdjustmentGroup/1"}
    return answer(
        {"inventorySetQuantities": {"inventoryAdjustmentGroup": group, "userErrors": errors}}
    )


def _updates() -> list[StockUpdate]:
    return [
        StockUpdate(
            channel_sku=f"S{n}",
            quantity=n,
            last_acknowledged=n + 1,
            channel_ids={"inventory_item_id": f"gid://shopify/InventoryItem/{n}"},
        )
        for n in range(3)
    ]


@respx.mock
def test_a_stale_compare_and_set_rereads_the_level_and_retries_once(
    connector: ShopifyConnector,
) -> None:
    sent: list[dict[str, Any]] = []

    def reply(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["operationName"] == "InventoryLevel":
            return answer(
                {
                    "inventoryItem": {
                        "inventoryLevel": {"quantities": [{"name": "available", "quantity": 7}]}
                    }
                }
            )
        sent.append(body["variables"])
        if len(sent) == 1:
            return _set_quantities_reply(
                [
                    {
                        "code": "CHANGE_FROM_QUANTITY_STALE",
                        "message": "stale",
                        "field": ["input", "quantities", "1", "changeFromQuantity"],
                    }
                ]
            )
        return _set_quantities_reply([])

    respx.post(URL).mock(side_effect=reply)
    results = connector.push_stock(_updates())
    assert [result.ok for result in results] == [True, True, True]
    assert [q["changeFromQuantity"] for q in sent[1]["input"]["quantities"]] == [1, 7, 3]
    assert sent[0]["key"] != sent[1]["key"]
    assert all(q["locationId"] == LOCATION for q in sent[0]["input"]["quantities"])


@respx.mock
def test_other_user_errors_fail_only_their_item(connector: ShopifyConnector) -> None:
    sent: list[dict[str, Any]] = []

    def reply(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content)["variables"])
        if len(sent) == 1:
            return _set_quantities_reply(
                [
                    {
                        "code": "INVALID_INVENTORY_ITEM",
                        "message": "The item does not exist",
                        "field": ["input", "quantities", "2", "inventoryItemId"],
                    }
                ]
            )
        return _set_quantities_reply([])

    respx.post(URL).mock(side_effect=reply)
    results = connector.push_stock(_updates())
    assert [result.ok for result in results] == [True, True, False]
    assert results[2].error == "The item does not exist"
    assert len(sent[1]["input"]["quantities"]) == 2


def _signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {
        "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Webhook-Id": "w-1",
    }


WEBHOOK = {
    "id": 1001,
    "admin_graphql_api_id": "gid://shopify/Order/1001",
    "name": "#1001",
    "created_at": "2026-11-22T10:00:00Z",
    "updated_at": "2026-11-22T10:00:05Z",
    "cancelled_at": None,
    "currency": "USD",
    "total_price": "25.00",
    "financial_status": "paid",
    "fulfillment_status": None,
    "customer": {"first_name": "Ada", "last_name": "Buyer", "email": "ada@example.com"},
    "line_items": [
        {
            "id": 55,
            "admin_graphql_api_id": "gid://shopify/LineItem/55",
            "sku": "MUG",
            "title": "Mug",
            "quantity": 2,
            "current_quantity": 2,
            "fulfillable_quantity": 2,
            "price": "12.50",
            "variant_id": 9,
        }
    ],
}


def test_a_signed_webhook_maps_to_the_same_order_shape(connector: ShopifyConnector) -> None:
    body = json.dumps(WEBHOOK).encode()
    (order,) = connector.parse_webhook(_signed(body), body).orders
    assert order.external_id == "gid://shopify/Order/1001"
    assert order.lines[0].channel_sku == "MUG"
    assert order.lines[0].external_line_id == "gid://shopify/LineItem/55"
    assert str(order.total) == "25.00"


@pytest.mark.parametrize("secret", ["wrong-secret", ""])
def test_a_bad_signature_is_refused(connector: ShopifyConnector, secret: str) -> None:
    body = json.dumps(WEBHOOK).encode()
    headers = _signed(body, secret) if secret else {"X-Shopify-Topic": "orders/create"}
    with pytest.raises(InvalidSignature):
        connector.parse_webhook(headers, body)
    with pytest.raises(InvalidSignature):
        connector.parse_webhook(_signed(body), body + b" ")  # the body was altered


def _level_webhook(location: int, available: int | None) -> tuple[dict[str, str], bytes]:
    body = json.dumps(
        {"inventory_item_id": 42, "location_id": location, "available": available}
    ).encode()
    return {**_signed(body), "X-Shopify-Topic": "inventory_levels/update"}, body


def test_an_inventory_level_at_the_push_location_is_an_observed_quantity(
    connector: ShopifyConnector,
) -> None:
    location = int(LOCATION.rsplit("/", 1)[1])
    events = connector.parse_webhook(*_level_webhook(location, 7))
    assert events.orders == ()
    (seen,) = events.quantities
    assert (seen.key, seen.value, seen.quantity) == (
        "inventory_item_id",
        "gid://shopify/InventoryItem/42",
        7,
    )


def test_inventory_levels_elsewhere_or_untracked_are_not_ours(connector: ShopifyConnector) -> None:
    location = int(LOCATION.rsplit("/", 1)[1])
    assert connector.parse_webhook(*_level_webhook(location + 1, 7)).quantities == ()
    assert connector.parse_webhook(*_level_webhook(location, None)).quantities == ()


def test_a_malformed_inventory_level_is_a_payload_error(connector: ShopifyConnector) -> None:
    body = b'{"available": 3}'
    headers = {**_signed(body), "X-Shopify-Topic": "inventory_levels/update"}
    with pytest.raises(PayloadError, match="inventory_item_id"):
        connector.parse_webhook(headers, body)


def test_other_topics_carry_nothing(connector: ShopifyConnector) -> None:
    body = b'{"id": 1}'
    headers = {**_signed(body), "X-Shopify-Topic": "products/update"}
    assert connector.parse_webhook(headers, body) == WebhookEvents()


@respx.mock
def test_a_validation_error_is_permanent(connector: ShopifyConnector) -> None:
    respx.post(URL).mock(
        return_value=httpx.Response(
            200, json={"errors": [{"message": "Field 'nope' doesn't exist on type 'Shop'"}]}
        )
    )
    with pytest.raises(PermanentError, match="nope"):
        connector.client.execute("Shop", "query Shop { shop { name } }")


SHOP_LOCATIONS = {
    "locations": {
        "nodes": [
            {"id": "gid://shopify/Location/7", "name": "Pop-up store", "isActive": True},
            {"id": "gid://shopify/Location/8", "name": "Main Warehouse ", "isActive": True},
            {"id": "gid://shopify/Location/9", "name": "Backroom", "isActive": False},
        ]
    }
}


def _unpinned(hub_locations: dict[str, str], **options: Any) -> ShopifyConnector:
    """A connector for `hub_locations` (code -> name); `options` of its settings."""
    settings = ShopifySettings(
        shop="unit.myshopify.com", access_token="shpat_unit_token", **options
    )
    return ShopifyConnector(settings, hub_locations=hub_locations)


@respx.mock
def test_hub_locations_map_to_shopify_locations_by_name_and_push_to_the_first() -> None:
    respx.post(URL).mock(return_value=answer(SHOP_LOCATIONS))
    connector = _unpinned({"back": "Backroom", "main": "Main warehouse"})
    # Backroom is inactive: nothing to map to; names compare without case or spaces.
    assert connector.location_problems() == [
        "hub location 'back' (Backroom) maps to no Shopify location "
        "(the shop has: 'Pop-up store', 'Main Warehouse '); name it in location_map"
    ]
    assert connector.push_location() == "gid://shopify/Location/8"


@respx.mock
def test_a_location_map_wins_and_an_unknown_gid_in_it_is_reported() -> None:
    respx.post(URL).mock(return_value=answer(SHOP_LOCATIONS))
    connector = _unpinned(
        {"main": "Main warehouse", "back": "Backroom"},
        location_map={"main": "gid://shopify/Location/404", "back": "gid://shopify/Location/7"},
    )
    (problem,) = connector.location_problems()
    assert problem.startswith(
        "location_map: hub location 'main' maps to gid://shopify/Location/404"
    )
    assert connector.push_location() == "gid://shopify/Location/7"


@respx.mock
def test_with_nothing_mapped_and_several_shop_locations_the_push_refuses_to_guess() -> None:
    respx.post(URL).mock(return_value=answer(SHOP_LOCATIONS))
    connector = _unpinned({"north": "North depot"})
    with pytest.raises(PermanentError, match="set location_map or push_location"):
        connector.push_location()
