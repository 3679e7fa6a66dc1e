"""python-amazon-sp-api (what the Amazon connector uses) against the simulator: the
``endpoint`` and LWA overrides work, and the library reads every answer as it would
read Amazon's."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sp_api.api import Feeds, ListingsItems, Orders
from sp_api.base.exceptions import (
    SellingApiBadRequestException,
    SellingApiForbiddenException,
    SellingApiRequestThrottledException,
)

from omnisync.sandbox.amazon import AmazonSimulator
from omnisync.sandbox.clock import ManualClock
from tests.support.amazon_sp_api import sp_api_client

START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(scope="module")
def sim(clock: ManualClock) -> Iterator[AmazonSimulator]:
    with AmazonSimulator(name="amazon-client", rate_scale=1000, feed_delay=0, clock=clock) as sim:
        sim.add_listings([{"sku": "MUG", "quantity": 4, "productType": "DRINKING_CUP"}])
        yield sim


def test_sandbox_orders_through_the_library(sim):
    orders = sp_api_client(sim, Orders)
    first = orders.get_orders(CreatedAfter="TEST_CASE_200_NEXT_TOKEN")
    assert first.next_token == "2YgYW55IGNhcm5hbCBwbGVhc3VyZS4"
    second = orders.get_orders(NextToken=first.next_token)
    assert second.next_token is None
    items = orders.get_order_items("902-1845936-5435065").payload["OrderItems"]
    assert [item["SellerSKU"] for item in items] == ["NABetaASINB00551Q3CS"]
    with pytest.raises(SellingApiBadRequestException):
        orders.get_orders(CreatedAfter="TEST_CASE_400")


def test_orders_and_shipment_through_the_library(sim, clock):
    began = clock.now()
    placed = sim.place_order([("MUG", 1)])
    clock.advance(timedelta(minutes=3))
    orders = sp_api_client(sim, Orders)
    listed = orders.get_orders(LastUpdatedAfter=began.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert [o["AmazonOrderId"] for o in listed.payload["Orders"]] == [placed["AmazonOrderId"]]
    assert listed.rate_limit == "16.7"
    item_id = placed["OrderItems"][0]["OrderItemId"]
    orders.confirm_shipment(
        placed["AmazonOrderId"],
        marketplaceId="ATVPDKIKX0DER",
        packageDetail={
            "packageReferenceId": "1",
            "carrierCode": "USPS",
            "trackingNumber": "9400",
            "shipDate": clock.now().isoformat(),
            "orderItems": [{"orderItemId": item_id, "quantity": 1}],
        },
    )
    assert sim.get_order(placed["AmazonOrderId"])["OrderStatus"] == "Shipped"


def test_listings_and_feed_through_the_library(sim):
    listings = sp_api_client(sim, ListingsItems)
    found = listings.search_listings_items(sellerId=sim.seller_id, includedData=["summaries"])
    assert found.payload["items"][0]["summaries"][0]["productType"] == "DRINKING_CUP"
    patches = [
        {
            "op": "replace",
            "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 9}],
        }
    ]
    answer = listings.patch_listings_item(
        sim.seller_id, "MUG", body={"productType": "DRINKING_CUP", "patches": patches}
    )
    assert answer.payload["status"] == "ACCEPTED"
    assert sim.quantity("MUG") == 9

    feeds = sp_api_client(sim, Feeds)
    document = {
        "header": {"sellerId": sim.seller_id, "version": "2.0"},
        "messages": [
            {
                "messageId": 1,
                "sku": "MUG",
                "operationType": "PATCH",
                "productType": "DRINKING_CUP",
                "patches": [
                    {
                        **patches[0],
                        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 2}],
                    }
                ],
            }
        ],
    }
    created = feeds.create_feed_document(io.StringIO(json.dumps(document)), "application/json")
    feed_id = feeds.create_feed("JSON_LISTINGS_FEED", created.payload["feedDocumentId"]).payload[
        "feedId"
    ]
    feed = feeds.get_feed(feed_id).payload
    assert feed["processingStatus"] == "DONE"
    report = json.loads(feeds.get_feed_result_document(feed["resultFeedDocumentId"]))
    assert report["summary"]["messagesAccepted"] == 1
    assert sim.quantity("MUG") == 2


def test_library_exceptions_for_throttling_and_auth(clock: ManualClock) -> None:
    # On a clock only the test moves, a drained bucket stays empty for the next call,
    # however slow the machine (in real time, even the published 0.5/s refills it in 2 s).
    with AmazonSimulator(name="amazon-slow", rate_scale=1, feed_delay=0, clock=clock) as sim:
        orders = sp_api_client(sim, Orders)
        sim.drain("getOrderItems")
        with pytest.raises(SellingApiRequestThrottledException):
            orders.get_order_items("TEST_CASE_200")
        sim.limits.refill()
        sim.expire_access_tokens()  # the library caches tokens: it now sends an expired one
        with pytest.raises(SellingApiForbiddenException):
            orders.get_order_items("TEST_CASE_200")
