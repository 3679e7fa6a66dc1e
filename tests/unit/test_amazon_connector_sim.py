"""The Amazon connector end to end against the Amazon simulator over real HTTP (LWA,
Orders, Listings Items, Feeds): what the respx tests assume, checked against a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from omnisync.connectors.amazon.connector import AmazonConnector
from omnisync.core.dto import Fulfilment, FulfilmentLine, StockUpdate
from omnisync.core.types import OrderStatus
from omnisync.sandbox.amazon import AmazonSimulator
from tests.support.simulators import amazon_connector, served_fixtures

CATALOGUE = [
    {"sku": "MUG", "quantity": 5, "productType": "DRINKING_CUP", "price": "12.00"},
    {"sku": "LID", "quantity": 2},
    {"sku": "POT", "quantity": 0},
]


served_simulator, simulator = served_fixtures(
    "simulator",
    lambda: AmazonSimulator(feed_delay=0.0, rate_scale=1000.0),
    prepare=lambda served: served.set_listings(CATALOGUE),
)


def connector_for(simulator: AmazonSimulator, **overrides: Any) -> AmazonConnector:
    """A connector that polls a feed every 50 ms and gives up on it after 10 s."""
    return amazon_connector(
        simulator, **{"feed_poll_seconds": 0.05, "feed_timeout_seconds": 10, **overrides}
    )


def visible_order(simulator: AmazonSimulator, lines: list[tuple[str, int]], **options: Any) -> str:
    """An order last updated five minutes ago (getOrders shows nothing younger than two)."""
    now = datetime.now(UTC)
    order = simulator.place_order(lines, purchased_at=now - timedelta(minutes=10), **options)
    simulator.touch_order(order["AmazonOrderId"], at=now - timedelta(minutes=5))
    return str(order["AmazonOrderId"])


def test_listings_come_with_their_product_type_and_quantity(simulator: AmazonSimulator) -> None:
    listings = {item.channel_sku: item for item in connector_for(simulator).fetch_listings()}

    assert set(listings) == {"MUG", "LID", "POT"}
    assert listings["MUG"].channel_ids["productType"] == "DRINKING_CUP"
    assert listings["MUG"].quantity == 5
    assert listings["MUG"].channel_ids["asin"]


def test_orders_come_in_with_lines_prices_and_buyer_cancel_requests(
    simulator: AmazonSimulator,
) -> None:
    paid = visible_order(simulator, [("MUG", 2)])
    pending = visible_order(simulator, [("LID", 1)], status="Pending")
    fba = visible_order(simulator, [("POT", 1)], fulfillment_channel="AFN", check_stock=False)
    simulator.request_cancel(paid, reason="Ordered by mistake")
    simulator.touch_order(paid, at=datetime.now(UTC) - timedelta(minutes=4))

    pages = list(connector_for(simulator).fetch_orders(datetime.now(UTC) - timedelta(hours=1)))

    orders = {order.external_id: order for page in pages for order in page.orders}
    assert not [item for page in pages for item in page.rejected]
    assert orders[paid].status == OrderStatus.ACCEPTED
    (line,) = orders[paid].lines
    assert (line.channel_sku, line.quantity, str(line.unit_price)) == ("MUG", 2, "12.00")
    assert line.buyer_cancel_requested
    assert line.buyer_cancel_reason == "Ordered by mistake"
    assert orders[pending].status == OrderStatus.PENDING
    assert [item.unit_price for item in orders[pending].lines] == [None]
    assert orders[fba].fulfilled_by_channel


def test_patches_below_the_threshold_set_amazons_quantities(simulator: AmazonSimulator) -> None:
    connector = connector_for(simulator, feed_threshold=3)
    listings = {item.channel_sku: item for item in connector.fetch_listings()}
    updates = [
        StockUpdate(channel_sku=sku, quantity=quantity, channel_ids=listings[sku].channel_ids)
        for sku, quantity in (("MUG", 1), ("LID", 7))
    ]

    results = connector.push_stock(updates)

    assert [result.ok for result in results] == [True, True]
    assert simulator.quantity("MUG") == 1
    assert simulator.quantity("LID") == 7
    assert {patch["sku"] for patch in simulator.listing_patches()} == {"MUG", "LID"}
    assert simulator.feeds() == []


def test_from_the_threshold_one_feed_sets_amazons_quantities(simulator: AmazonSimulator) -> None:
    connector = connector_for(simulator, feed_threshold=3)
    listings = {item.channel_sku: item for item in connector.fetch_listings()}
    updates = [
        StockUpdate(channel_sku=sku, quantity=quantity, channel_ids=listings[sku].channel_ids)
        for sku, quantity in (("MUG", 9), ("LID", 0), ("POT", 4))
    ]

    results = connector.push_stock(updates)

    assert [result.ok for result in results] == [True, True, True], results
    assert len(simulator.feeds()) == 1
    assert simulator.listing_patches() == []
    assert simulator.quantities() == {"MUG": 9, "LID": 0, "POT": 4}


def test_a_feed_message_for_an_unknown_sku_fails_that_sku_only(simulator: AmazonSimulator) -> None:
    connector = connector_for(simulator, feed_threshold=2)
    updates = [
        StockUpdate(channel_sku="LID", quantity=3),
        StockUpdate(channel_sku="NOPE", quantity=1),
    ]

    lid, nope = connector.push_stock(updates)

    assert lid.ok, lid.error
    assert not nope.ok
    assert nope.error
    assert simulator.quantity("LID") == 3


def test_a_patch_with_the_wrong_product_type_keeps_amazons_issue(
    simulator: AmazonSimulator,
) -> None:
    (result,) = connector_for(simulator).push_stock([StockUpdate(channel_sku="MUG", quantity=1)])

    assert not result.ok
    assert "PRODUCT_TYPE_MISMATCH" in (result.error or "")
    assert simulator.quantity("MUG") == 5


def test_shipment_confirmation_reaches_amazon(simulator: AmazonSimulator) -> None:
    order_id = visible_order(simulator, [("MUG", 1)])
    (order,) = [
        order
        for page in connector_for(simulator).fetch_orders(datetime.now(UTC) - timedelta(hours=1))
        for order in page.orders
        if order.external_id == order_id
    ]
    (line,) = order.lines
    fulfilment = Fulfilment(
        order_external_id=order_id,
        lines=(FulfilmentLine(external_line_id=line.external_line_id, quantity=1),),
        carrier="UPS",
        tracking_number="1Z999AA10123456784",
        service="Ground",
        idempotency_key="omnisync-shipment-7",
    )

    result = connector_for(simulator).push_fulfilment(fulfilment)

    assert result.ok, result.error
    (confirmation,) = simulator.shipment_confirmations(order_id)
    assert confirmation["packageDetail"]["carrierCode"] == "UPS"
    assert confirmation["packageDetail"]["packageReferenceId"] == "7"


def test_wrong_credentials_are_reported_without_secrets(simulator: AmazonSimulator) -> None:
    connector = connector_for(
        simulator,
        credentials={
            "refresh_token": "Atzr|not-the-right-one",
            "lwa_app_id": simulator.credentials.client_id,
            "lwa_client_secret": "wrong-client-secret",
        },
    )

    (problem,) = connector.check()

    assert "Login with Amazon refused" in problem
    assert "Atzr|not-the-right-one" not in problem
    assert "wrong-client-secret" not in problem


def test_the_connector_survives_an_expired_token(simulator: AmazonSimulator) -> None:
    connector = connector_for(simulator)
    list(connector.fetch_listings())
    simulator.expire_access_tokens()

    assert len(list(connector.fetch_listings())) == 3


def test_an_unknown_order_is_refused_in_amazons_words(simulator: AmazonSimulator) -> None:
    fulfilment = Fulfilment(
        order_external_id="999-0000000-0000000",
        lines=(FulfilmentLine(external_line_id="1", quantity=1),),
        carrier="UPS",
        tracking_number="1Z",
        idempotency_key="omnisync-shipment-8",
    )

    result = connector_for(simulator).push_fulfilment(fulfilment)

    assert not result.ok
    assert result.error == (
        "confirmShipment: NotFound: Order 999-0000000-0000000 was not found. (HTTP 404)"
    )
