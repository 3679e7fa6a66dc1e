"""The eBay connector against the eBay simulator, every operation it uses, each exchange
checked against eBay's contracts (the project's facts of them, sandbox/reference/ebay/):
every request the connector sends, every answer the simulator gives, faults included.

tests/e2e/test_ebay_sandbox.py checks the exchanges of the hub's own runs the same way;
this one makes sure no operation is left out, and that the set of operations the
connector uses is the one the contracts were derived for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from omnisync.connectors.base import DirectCalls, TransientError
from omnisync.connectors.ebay.connector import EbayConnector
from omnisync.connectors.ebay.settings import EbaySettings
from omnisync.core.dto import Fulfilment, FulfilmentLine, StockUpdate
from omnisync.sandbox.ebay import EbaySimulator
from tests.support.ebay_contracts import check_request, check_response, contract_checker

USED = {
    "getInventoryItems",
    "getOffers",
    "bulkUpdatePriceQuantity",
    "getOrders",
    "getOrder",
    "createShippingFulfillment",
    "getShippingFulfillments",
    "getPublicKey",
}
"""The operations the connector uses (the token endpoint aside: not in the contracts)."""


@pytest.fixture
def simulator() -> Iterator[EbaySimulator]:
    with EbaySimulator(name="conformance") as served:
        served.seed_listings(
            [
                {"sku": "MUG", "title": "Mug", "quantity": 5, "ean": ["4006381333931"]},
                {"sku": "LID", "title": "Lid", "quantity": 3},
            ]
        )
        yield served


@pytest.fixture
def connector(simulator: EbaySimulator) -> Iterator[EbayConnector]:
    credentials = simulator.credentials
    settings = EbaySettings.model_validate(
        {
            "marketplace_id": simulator.marketplace_id,
            "endpoint": simulator.url,
            "auth_endpoint": simulator.url,
            "credentials": {
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret,
                "refresh_token": credentials.refresh_token,
            },
            "page_size": 1,
        }
    )
    made = EbayConnector(settings, calls=DirectCalls())
    yield made
    made.close()


def signed(
    simulator: EbaySimulator, topic: str, data: dict[str, str]
) -> tuple[dict[str, str], bytes]:
    body = json.dumps(
        {
            "metadata": {"topic": topic, "schemaVersion": "1.0", "deprecated": False},
            "notification": {
                "notificationId": f"n-{topic}",
                "eventDate": "2026-12-03T08:00:00.000Z",
                "publishDate": "2026-12-03T08:00:00.000Z",
                "publishAttemptCount": 1,
                "data": data,
            },
        }
    ).encode()
    return {"X-EBAY-SIGNATURE": simulator.signing_key.signature_header(body)}, body


def test_every_operation_the_connector_uses_conforms_both_ways(
    simulator: EbaySimulator, connector: EbayConnector
) -> None:
    assert connector.check() == []
    listings = {listing.channel_sku: listing for listing in connector.fetch_listings()}
    assert {sku: listing.quantity for sku, listing in listings.items()} == {"MUG": 5, "LID": 3}
    assert listings["MUG"].barcode == "4006381333931"

    updates = [
        StockUpdate(channel_sku=sku, quantity=2, channel_ids=listings[sku].channel_ids)
        for sku in ("MUG", "LID")
    ] + [StockUpdate(channel_sku="GONE", quantity=1, channel_ids={"offers": []})]
    results = connector.push_stock(updates)
    assert [result.ok for result in results] == [True, True, False]  # a 207: one refused

    first = simulator.buy("MUG", 1, buyer_username="jane_doe")
    second = simulator.buy("LID", 1)
    simulator.request_cancel(second["orderId"])
    orders = [
        o for page in connector.fetch_orders(datetime(2026, 1, 1, tzinfo=UTC)) for o in page.orders
    ]
    assert {order.external_id for order in orders} == {first["orderId"], second["orderId"]}
    cancelled = next(order for order in orders if order.external_id == second["orderId"])
    assert cancelled.lines[0].buyer_cancel_requested  # read with getOrder

    line = connector.fetch_order(first["orderId"]).lines[0]
    fulfilment = Fulfilment(
        order_external_id=first["orderId"],
        lines=(FulfilmentLine(external_line_id=line.external_line_id, quantity=1),),
        carrier="USPS",
        tracking_number="9400111899223344",
        idempotency_key="conformance-1",
    )
    assert connector.push_fulfilment(fulfilment).ok
    assert connector.push_fulfilment(fulfilment).ok  # already there: found, not sent again

    headers, body = signed(simulator, "ORDER_CONFIRMATION", {"orderId": first["orderId"]})
    (heard,) = connector.parse_webhook(headers, body).orders
    assert heard.external_id == first["orderId"]

    # Faults are answered in eBay's error envelope too.
    simulator.inject("getOrders", 500)
    with pytest.raises(TransientError):
        list(connector.fetch_orders(None))

    exchanges = [e for e in simulator.exchanges() if e.operation != "oauth2Token"]
    assert {e.operation for e in exchanges} == USED
    assert contract_checker().operation_ids >= USED
    problems = [
        problem
        for e in exchanges
        for problem in check_request(e.operation, e.method, e.path, e.query, e.request_json)
        + check_response(e.operation, e.status, e.response_json)
    ]
    assert problems == []
    assert {e.status for e in exchanges} >= {200, 201, 207, 500}
