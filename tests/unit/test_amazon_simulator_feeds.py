"""The Amazon simulator's Feeds API 2021-06-30 over real HTTP: documents, uploads,
JSON_LISTINGS_FEED processing on the simulator's clock, processing reports checked
against Amazon's schemas, FATAL feeds and the submission limits."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from jsonschema import Draft7Validator

from omnisync.sandbox.amazon import AmazonSimulator
from omnisync.sandbox.clock import ManualClock
from tests.support.reference import REFERENCE_DIR

US = "ATVPDKIKX0DER"
SELLER = "A2FEEDSELLER"
FEEDS = "/feeds/2021-06-30"
START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def schema(name: str) -> Draft7Validator:
    return Draft7Validator(json.loads((REFERENCE_DIR / "amazon" / "schemas" / name).read_text()))


FEED_SCHEMA = schema("listings-feed-schema-v2.json")
REPORT_SCHEMA = schema("listings-feed-processing-report-schema-v2.json")


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    """The simulator's time, rate limits and feed quota included: only a test moves it."""
    return ManualClock(START)


@pytest.fixture(scope="module")
def running(clock: ManualClock) -> Iterator[AmazonSimulator]:
    with AmazonSimulator(
        name="amazon-feeds",
        seller_id=SELLER,
        rate_scale=1000,
        feed_delay=60,
        clock=clock,
    ) as sim:
        yield sim


@pytest.fixture
def sim(running: AmazonSimulator) -> AmazonSimulator:
    running.reset()
    running.set_feed_delay(60)
    running.add_listings(
        [{"sku": f"SKU-{n}", "quantity": 1, "productType": "LUGGAGE"} for n in range(4)]
    )
    return running


@pytest.fixture
def api(sim: AmazonSimulator) -> Iterator[httpx.Client]:
    headers = {"x-amz-access-token": sim.access_token()}
    with httpx.Client(base_url=sim.url, headers=headers, timeout=30) as client:
        yield client


def patch_message(message_id: int, sku: str, quantity: Any, product_type: str = "LUGGAGE") -> Any:
    return {
        "messageId": message_id,
        "sku": sku,
        "operationType": "PATCH",
        "productType": product_type,
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
            }
        ],
    }


def feed_document(messages: list[Any], **header: Any) -> dict[str, Any]:
    return {"header": {"sellerId": SELLER, "version": "2.0", **header}, "messages": messages}


def submit(api: httpx.Client, content: bytes, content_type: str = "application/json") -> str:
    """createFeedDocument, upload, createFeed: the feed id."""
    created = api.post(f"{FEEDS}/documents", json={"contentType": content_type})
    assert created.status_code == 201, created.text
    document = created.json()
    assert set(document) == {"feedDocumentId", "url"}
    uploaded = httpx.put(document["url"], content=content, headers={"Content-Type": content_type})
    assert uploaded.status_code == 200
    body = {
        "feedType": "JSON_LISTINGS_FEED",
        "marketplaceIds": [US],
        "inputFeedDocumentId": document["feedDocumentId"],
    }
    feed = api.post(f"{FEEDS}/feeds", json=body)
    assert feed.status_code == 202, feed.text
    feed_id: str = feed.json()["feedId"]
    return feed_id


def report_of(api: httpx.Client, feed: dict[str, Any]) -> dict[str, Any]:
    document = api.get(f"{FEEDS}/documents/{feed['resultFeedDocumentId']}").json()
    content = httpx.get(document["url"]).content
    if document.get("compressionAlgorithm") == "GZIP":
        content = gzip.decompress(content)
    report: dict[str, Any] = json.loads(content)
    errors = [error.message for error in REPORT_SCHEMA.iter_errors(report)]
    assert errors == []
    return report


def finished(api: httpx.Client, clock: ManualClock, feed_id: str) -> dict[str, Any]:
    clock.advance(timedelta(seconds=61))
    feed: dict[str, Any] = api.get(f"{FEEDS}/feeds/{feed_id}").json()
    return feed


def test_a_feed_goes_through_its_states_and_reports_per_message(sim, api, clock):
    document = feed_document(
        [
            patch_message(1, "SKU-0", 10),
            patch_message(2, "SKU-1", -5),
            patch_message(3, "UNKNOWN", 3),
            patch_message(4, "SKU-2", 7, product_type="SHOES"),
            patch_message(5, "SKU-3", 0),
        ]
    )
    assert list(FEED_SCHEMA.iter_errors(document)) == []
    feed_id = submit(api, json.dumps(document).encode())
    feed = api.get(f"{FEEDS}/feeds/{feed_id}").json()
    assert feed["processingStatus"] == "IN_QUEUE"
    assert feed["feedType"] == "JSON_LISTINGS_FEED"
    assert "resultFeedDocumentId" not in feed
    clock.advance(timedelta(seconds=31))
    assert api.get(f"{FEEDS}/feeds/{feed_id}").json()["processingStatus"] == "IN_PROGRESS"
    assert sim.quantity("SKU-0") == 1  # nothing applied before the feed is done
    clock.advance(timedelta(seconds=30))
    feed = api.get(f"{FEEDS}/feeds/{feed_id}").json()
    assert feed["processingStatus"] == "DONE"
    assert {"processingStartTime", "processingEndTime"} <= set(feed)
    report = report_of(api, feed)
    assert report["header"] == {"sellerId": SELLER, "version": "2.0", "feedId": feed_id}
    assert report["summary"] == {
        "errors": 3,
        "warnings": 0,
        "messagesProcessed": 5,
        "messagesAccepted": 2,
        "messagesInvalid": 3,
    }
    assert [(issue["messageId"], issue["sku"]) for issue in report["issues"]] == [
        (2, "SKU-1"),
        (3, "UNKNOWN"),
        (4, "SKU-2"),
    ]
    assert report["issues"][0]["attributeName"] == "fulfillment_availability"
    assert sim.quantities() == {"SKU-0": 10, "SKU-1": 1, "SKU-2": 1, "SKU-3": 0}
    assert sim.feed_report(feed_id) == report


def test_report_items_when_the_header_asks(sim, api, clock):
    requested = {"includedData": ["fulfillmentAvailability"], "apiVersion": "2021-08-01"}
    document = feed_document([patch_message(1, "SKU-0", 4)], report=requested)
    feed = finished(api, clock, submit(api, json.dumps(document).encode()))
    report = report_of(api, feed)
    assert report["header"]["report"] == requested
    assert report["items"] == [
        {
            "sku": "SKU-0",
            "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": 4}],
        }
    ]
    assert report["summary"]["itemSummary"] == {"items": 1, "errors": 0, "warnings": 0}


def test_partial_update_update_and_delete_messages(sim, api, clock):
    messages = [
        {
            "messageId": 1,
            "sku": "SKU-0",
            "operationType": "PARTIAL_UPDATE",
            "productType": "LUGGAGE",
            "attributes": {
                "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 6}]
            },
        },
        {"messageId": 2, "sku": "SKU-1", "operationType": "DELETE"},
    ]
    feed = finished(api, clock, submit(api, json.dumps(feed_document(messages)).encode()))
    assert report_of(api, feed)["summary"]["messagesAccepted"] == 2
    assert sim.quantity("SKU-0") == 6
    assert "SKU-1" not in sim.quantities()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"{not json", "not valid JSON"),
        (json.dumps({"messages": []}).encode(), "schema"),
        (
            json.dumps(
                feed_document([{"messageId": 1, "sku": "SKU-0", "operationType": "PATCH"}])
            ).encode(),
            "schema",
        ),
        (
            json.dumps(
                {
                    **feed_document([patch_message(1, "SKU-0", 2)]),
                    "header": {"sellerId": "OTHER", "version": "2.0"},
                }
            ).encode(),
            "does not match",
        ),
        (b"", "empty"),
    ],
)
def test_fatal_feeds_apply_nothing_and_say_why(sim, api, clock, content, words):
    feed_id = submit(api, content) if content else submit_without_upload(api)
    feed = finished(api, clock, feed_id)
    assert feed["processingStatus"] == "FATAL"
    report = report_of(api, feed)
    assert report["summary"]["messagesAccepted"] == 0
    assert report["summary"]["errors"] == len(report["issues"]) >= 1
    assert any(words in issue["message"] for issue in report["issues"])
    assert sim.quantity("SKU-0") == 1


def submit_without_upload(api: httpx.Client) -> str:
    document = api.post(f"{FEEDS}/documents", json={"contentType": "application/json"}).json()
    body = {
        "feedType": "JSON_LISTINGS_FEED",
        "marketplaceIds": [US],
        "inputFeedDocumentId": document["feedDocumentId"],
    }
    feed_id: str = api.post(f"{FEEDS}/feeds", json=body).json()["feedId"]
    return feed_id


def test_feed_size_limits(sim, api, clock):
    too_many = feed_document([patch_message(n, "SKU-0", 1) for n in range(1, 25_002)])
    feed = finished(api, clock, submit(api, json.dumps(too_many).encode()))
    assert feed["processingStatus"] == "FATAL"
    assert "25000" in report_of(api, feed)["issues"][0]["message"]
    padded = json.dumps(feed_document([patch_message(1, "SKU-0", 1)])).encode()
    too_big = padded[:-1] + b" " * (10 * 1024 * 1024) + b"}"
    feed = finished(api, clock, submit(api, too_big))
    assert feed["processingStatus"] == "FATAL"
    assert "10 MiB" in report_of(api, feed)["issues"][0]["message"]


def test_compressed_reports():
    with AmazonSimulator(
        name="amazon-gzip", seller_id=SELLER, rate_scale=1000, feed_delay=0, compress_reports=True
    ) as sim:
        sim.add_listings([{"sku": "SKU-0", "productType": "LUGGAGE"}])
        headers = {"x-amz-access-token": sim.access_token()}
        with httpx.Client(base_url=sim.url, headers=headers) as api:
            feed_id = submit(
                api, json.dumps(feed_document([patch_message(1, "SKU-0", 8)])).encode()
            )
            assert sim.wait_for_feeds(5)
            feed = api.get(f"{FEEDS}/feeds/{feed_id}").json()
            report = report_of(api, feed)
            assert (
                api.get(f"{FEEDS}/documents/{feed['resultFeedDocumentId']}").json()[
                    "compressionAlgorithm"
                ]
                == "GZIP"
            )
        assert report["summary"]["messagesAccepted"] == 1
        assert sim.quantity("SKU-0") == 8


def test_process_feeds_finishes_at_once(sim, api):
    feed_id = submit(api, json.dumps(feed_document([patch_message(1, "SKU-0", 5)])).encode())
    sim.process_feeds()
    assert api.get(f"{FEEDS}/feeds/{feed_id}").json()["processingStatus"] == "DONE"
    assert sim.quantity("SKU-0") == 5
    [listed] = sim.feeds()
    assert listed["report"]["summary"]["messagesAccepted"] == 1


def test_cancel_only_in_queue(sim, api, clock):
    feed_id = submit(api, json.dumps(feed_document([patch_message(1, "SKU-0", 5)])).encode())
    assert api.delete(f"{FEEDS}/feeds/{feed_id}").status_code == 200
    clock.advance(timedelta(minutes=5))
    feed = api.get(f"{FEEDS}/feeds/{feed_id}").json()
    assert feed["processingStatus"] == "CANCELLED"
    assert sim.quantity("SKU-0") == 1
    done = finished(
        api, clock, submit(api, json.dumps(feed_document([patch_message(1, "SKU-0", 2)])).encode())
    )
    assert api.delete(f"{FEEDS}/feeds/{done['feedId']}").status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"feedType": "POST_PRODUCT_DATA", "marketplaceIds": [US], "inputFeedDocumentId": "x"},
        {
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": [US],
            "inputFeedDocumentId": "missing",
        },
        {"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [], "inputFeedDocumentId": "x"},
        {"marketplaceIds": [US], "inputFeedDocumentId": "x"},
    ],
)
def test_create_feed_refusals(api, body):
    answer = api.post(f"{FEEDS}/feeds", json=body)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["code"] == "InvalidInput"


def test_five_listings_feeds_per_five_minutes(sim, api, clock):
    content = json.dumps(feed_document([patch_message(1, "SKU-0", 5)])).encode()
    for _ in range(5):
        submit(api, content)
    document = api.post(f"{FEEDS}/documents", json={"contentType": "application/json"}).json()
    body = {
        "feedType": "JSON_LISTINGS_FEED",
        "marketplaceIds": [US],
        "inputFeedDocumentId": document["feedDocumentId"],
    }
    refused = api.post(f"{FEEDS}/feeds", json=body)
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["code"] == "QuotaExceeded"
    clock.advance(timedelta(seconds=0.29))  # not yet five minutes, at a thousand times the speed
    assert api.post(f"{FEEDS}/feeds", json=body).status_code == 429
    clock.advance(timedelta(seconds=0.02))  # five minutes since the first five
    assert api.post(f"{FEEDS}/feeds", json=body).status_code == 202


def test_upload_urls_check_their_signature_and_content_type(api):
    document = api.post(f"{FEEDS}/documents", json={"contentType": "application/json"}).json()
    forged = document["url"].split("?")[0] + "?X-Amz-Signature=forged"
    assert (
        httpx.put(forged, content=b"{}", headers={"Content-Type": "application/json"}).status_code
        == 403
    )
    wrong_type = httpx.put(document["url"], content=b"{}", headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 403
    assert b"SignatureDoesNotMatch" in wrong_type.content
    assert httpx.get(document["url"]).status_code == 404  # nothing uploaded yet


def test_feeds_sandbox_cases(api):
    created = api.post(
        f"{FEEDS}/documents", json={"contentType": "text/tab-separated-values; charset=UTF-8"}
    )
    assert created.status_code == 201
    assert created.json()["feedDocumentId"] == "3d4e42b5-1d6e-44e8-a89c-2abfca0625bb"
    assert api.post(f"{FEEDS}/documents", json={}).status_code == 400
    static_feed = api.get(f"{FEEDS}/feeds/feedId1")
    assert static_feed.json()["processingStatus"] == "CANCELLED"
    assert api.get(f"{FEEDS}/feeds/99999").status_code == 404
