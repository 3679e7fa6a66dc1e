"""Connector.map_quarantined: a payload each connector quarantined, from its kept raw
text, through the same mapping again; PayloadError while it still does not fit."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import respx

from omnisync.connectors.base import Connector, ConnectorSettings, PayloadError
from omnisync.connectors.sandbox.connector import SandboxConnector
from omnisync.connectors.sandbox.settings import SandboxSettings
from omnisync.connectors.shopify.connector import ShopifyConnector
from omnisync.connectors.shopify.settings import ShopifySettings
from omnisync.core.dto import QUARANTINED_NOTIFICATION, QUARANTINED_ORDER, QUARANTINED_WEBHOOK
from omnisync.sandbox.reference import amazon_schema
from tests.unit.test_amazon_connector import LWA as AMAZON_LWA
from tests.unit.test_amazon_connector import ORDERS as AMAZON_ORDERS
from tests.unit.test_amazon_connector import SELLER as AMAZON_SELLER
from tests.unit.test_amazon_connector import make_connector as make_amazon
from tests.unit.test_amazon_connector import token_answer
from tests.unit.test_amazon_mapping import item, order
from tests.unit.test_shopify_connector import WEBHOOK

LOCATION = "gid://shopify/Location/1"
SANDBOX_ORDER = {
    "id": "S1",
    "status": "open",
    "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-01T00:05:00Z",
    "line_items": [{"id": "S1-1", "sku": "MUG", "quantity": 2}],
}
SHOPIFY_NODE = {
    "id": "gid://shopify/Order/7",
    "createdAt": "2026-01-01T00:00:00Z",
    "updatedAt": "2026-01-01T00:05:00Z",
    "displayFulfillmentStatus": "UNFULFILLED",
    "displayFinancialStatus": "PAID",
    "totalPriceSet": {"shopMoney": {"amount": "20.00", "currencyCode": "USD"}},
    "lineItems": {
        "nodes": [{"id": "gid://shopify/LineItem/70", "sku": "MUG", "quantity": 1}],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
    },
}


@pytest.fixture
def shopify() -> Iterator[ShopifyConnector]:
    connector = ShopifyConnector(
        ShopifySettings(
            shop="kept.myshopify.com",
            access_token="shpat_kept_token",
            client_secret="shpss_kept_secret",
            push_location=LOCATION,
        )
    )
    yield connector
    connector.close()


@pytest.fixture
def sandbox() -> Iterator[SandboxConnector]:
    connector = SandboxConnector(
        SandboxSettings.model_validate({"endpoint": "http://127.0.0.1:9", "api_key": "k" * 8})
    )
    yield connector
    connector.close()


def without(payload: dict[str, Any], key: str) -> str:
    return json.dumps({k: v for k, v in payload.items() if k != key})


def test_a_shopify_webhook_order_maps_again_once_it_fits(shopify: ShopifyConnector) -> None:
    (mapped,) = shopify.map_quarantined(QUARANTINED_WEBHOOK, json.dumps(WEBHOOK)).orders
    assert mapped.external_id == WEBHOOK["admin_graphql_api_id"]
    with pytest.raises(PayloadError, match="created_at"):
        shopify.map_quarantined(QUARANTINED_WEBHOOK, without(WEBHOOK, "created_at"))


def test_a_shopify_inventory_level_maps_to_the_quantity_it_reports(
    shopify: ShopifyConnector,
) -> None:
    level = {"inventory_item_id": 5, "location_id": 1, "available": 3}
    events = shopify.map_quarantined(QUARANTINED_WEBHOOK, json.dumps(level))
    assert events.orders == ()
    (seen,) = events.quantities
    assert (seen.value, seen.quantity) == ("gid://shopify/InventoryItem/5", 3)


def test_a_shopify_order_node_of_a_page_maps_again(shopify: ShopifyConnector) -> None:
    (mapped,) = shopify.map_quarantined(QUARANTINED_ORDER, json.dumps(SHOPIFY_NODE)).orders
    assert [line.channel_sku for line in mapped.lines] == ["MUG"]
    with pytest.raises(PayloadError, match="createdAt"):
        shopify.map_quarantined(QUARANTINED_ORDER, without(SHOPIFY_NODE, "createdAt"))


def test_a_sandbox_order_maps_again(sandbox: SandboxConnector) -> None:
    (mapped,) = sandbox.map_quarantined(QUARANTINED_ORDER, json.dumps(SANDBOX_ORDER)).orders
    assert (mapped.external_id, mapped.lines[0].quantity) == ("S1", 2)
    with pytest.raises(PayloadError, match="status"):
        sandbox.map_quarantined(QUARANTINED_ORDER, without(SANDBOX_ORDER, "status"))


def test_an_amazon_order_kept_with_its_items_maps_without_a_call() -> None:
    connector = make_amazon()
    kept = order("UNSHIPPED", item())
    with respx.mock(assert_all_called=False) as amazon:
        (mapped,) = connector.map_quarantined(QUARANTINED_ORDER, json.dumps(kept)).orders
        broken = order("TELEPORTED", item())
        with pytest.raises(PayloadError, match="TELEPORTED"):
            connector.map_quarantined(QUARANTINED_ORDER, json.dumps(broken))
    assert [line.channel_sku for line in mapped.lines] == ["MUG"]
    assert mapped.raw == kept
    assert not amazon.calls


def order_change_example() -> dict[str, Any]:
    """Amazon's own example of an ORDER_CHANGE notification (its schema's), for the
    connector's seller (its marketplace, the US, is the connector's already)."""
    example: dict[str, Any] = copy.deepcopy(
        amazon_schema("OrderChangeNotification.json")["examples"][0]
    )
    example["Payload"]["OrderChangeNotification"]["SellerId"] = AMAZON_SELLER
    return example


@pytest.fixture
def amazon() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.post(AMAZON_LWA).mock(return_value=token_answer())
        yield router


def test_an_amazon_notification_kept_reads_its_order_again(amazon: respx.MockRouter) -> None:
    notice = order_change_example()
    order_id = notice["Payload"]["OrderChangeNotification"]["AmazonOrderId"]
    now = {**order("UNSHIPPED", item()), "orderId": order_id}
    route = amazon.get(f"{AMAZON_ORDERS}/{order_id}").respond(json={"order": now})

    events = make_amazon().map_quarantined(QUARANTINED_NOTIFICATION, json.dumps(notice))

    (mapped,) = events.orders
    assert mapped.external_id == order_id
    assert mapped.raw == now
    assert route.call_count == 1


def test_an_amazon_notification_whose_order_amazon_refuses_still_does_not_map(
    amazon: respx.MockRouter,
) -> None:
    notice = order_change_example()
    order_id = notice["Payload"]["OrderChangeNotification"]["AmazonOrderId"]
    amazon.get(f"{AMAZON_ORDERS}/{order_id}").respond(
        404, json={"errors": [{"code": "NotFound", "message": "Order not found"}]}
    )

    with pytest.raises(PayloadError, match="Order not found"):
        make_amazon().map_quarantined(QUARANTINED_NOTIFICATION, json.dumps(notice))


def test_an_amazon_notification_for_another_marketplace_is_not_taken_in_here(
    amazon: respx.MockRouter,
) -> None:
    """order_events quarantines, under the channel that received it, a notification for a
    marketplace of the seller that no channel on the queue is (Canada, on a US channel).
    Retried, it must not bring that marketplace's order into this channel."""
    notice = order_change_example()
    notice["Payload"]["OrderChangeNotification"]["Summary"]["MarketplaceId"] = "A2EUQ1WTGCTBG2"
    order_id = notice["Payload"]["OrderChangeNotification"]["AmazonOrderId"]
    elsewhere = {**order("UNSHIPPED", item()), "orderId": order_id}
    elsewhere["salesChannel"] = {"channelName": "AMAZON", "marketplaceId": "A2EUQ1WTGCTBG2"}
    amazon.get(f"{AMAZON_ORDERS}/{order_id}").respond(json={"order": elsewhere})

    with pytest.raises(PayloadError, match="A2EUQ1WTGCTBG2"):
        make_amazon().map_quarantined(QUARANTINED_NOTIFICATION, json.dumps(notice))


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        ("{not json", "not JSON"),
        (json.dumps({**order_change_example(), "NotificationType": "ANY_OFFER_CHANGED"}), "ANY"),
    ],
)
def test_an_amazon_notification_kept_unreadable_still_does_not_map(
    amazon: respx.MockRouter, raw: str, said: str
) -> None:
    """What the hub quarantines as it arrives (order_events: a body that is no
    ORDER_CHANGE notification) is retried through here: it must fail as a PayloadError,
    which a retry reports, not as another exception."""
    with pytest.raises(PayloadError, match=said):
        make_amazon().map_quarantined(QUARANTINED_NOTIFICATION, raw)
    assert not amazon.calls


@pytest.mark.parametrize("raw", ["{not json", "", "[1, 2"])
def test_a_kept_body_that_is_not_json_still_does_not_map(
    sandbox: SandboxConnector, shopify: ShopifyConnector, raw: str
) -> None:
    for connector in (sandbox, shopify):
        with pytest.raises(PayloadError, match="not JSON"):
            connector.map_quarantined(QUARANTINED_WEBHOOK, raw)


class Quiet(Connector):
    """A connector that reads no orders (as carriers): it quarantines nothing."""

    channel_type: ClassVar[str] = "quiet"


def test_a_connector_that_quarantines_nothing_maps_nothing_again() -> None:
    with pytest.raises(PayloadError, match="quiet channels cannot map a kept order payload"):
        Quiet(ConnectorSettings()).map_quarantined(QUARANTINED_ORDER, "{}")
