"""JSON_LISTINGS_FEED: every document validates against Amazon's schema, documents split
at Amazon's limits, the threshold switch, the submission and its processing report."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import httpx
import pytest
import respx
from jsonschema import Draft7Validator

from omnisync.connectors.amazon.feeds import (
    FEED_SUBMISSIONS,
    MAX_MESSAGES,
    FeedMessage,
    feed_documents,
    report_results,
)
from omnisync.connectors.base import TransientError
from omnisync.core.dto import StockUpdate
from tests.support.reference import REFERENCE_DIR
from tests.unit.test_amazon_connector import (
    LISTINGS,
    LWA,
    SELLER,
    SP,
    US,
    RecordingCalls,
    make_connector,
    token_answer,
)

DOCUMENTS = f"{SP}/feeds/2021-06-30/documents"
FEEDS = f"{SP}/feeds/2021-06-30/feeds"
UPLOAD = "https://uploads.unit.test/feed-doc-1?X-Amz-Signature=abc"
DOWNLOAD = "https://downloads.unit.test/report-1"


@cache
def feed_schema() -> Draft7Validator:
    path = REFERENCE_DIR / "amazon" / "schemas" / "listings-feed-schema-v2.json"
    schema = json.loads(path.read_text())
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def assert_valid_feed(body: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(body)
    errors = sorted(feed_schema().iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    return document


def messages(count: int, *, product_type: str = "PRODUCT") -> list[FeedMessage]:
    return [
        FeedMessage(i, StockUpdate(channel_sku=f"SKU-{i:05d}", quantity=i % 7), product_type)
        for i in range(count)
    ]


# documents ----------------------------------------------------------------------------


def test_every_feed_document_validates_against_amazons_schema() -> None:
    built = [
        *feed_documents(SELLER, messages(1), "DEFAULT"),
        *feed_documents(SELLER, messages(40, product_type="LUGGAGE"), "DEFAULT", max_bytes=2_000),
        *feed_documents(
            SELLER,
            [FeedMessage(0, StockUpdate(channel_sku="Tasse-ö", quantity=0), "DRINKING_CUP")],
            "DEFAULT",
        ),
    ]

    for document in built:
        body = assert_valid_feed(document.body)
        assert body["header"] == {"sellerId": SELLER, "version": "2.0"}
        assert [m["messageId"] for m in body["messages"]] == [
            m.message_id for m in document.messages
        ]
    first = json.loads(built[0].body)["messages"][0]
    assert first == {
        "messageId": 1,
        "sku": "SKU-00000",
        "operationType": "PATCH",
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}],
            }
        ],
    }


def test_documents_split_at_the_size_limit_and_keep_message_ids() -> None:
    documents = feed_documents(SELLER, messages(40), "DEFAULT", max_bytes=2_000)

    assert len(documents) > 1
    assert all(len(document.body) <= 2_000 for document in documents)
    ids = [m.message_id for document in documents for m in document.messages]
    assert ids == list(range(1, 41))


def test_documents_split_at_25000_messages() -> None:
    documents = feed_documents(SELLER, messages(MAX_MESSAGES + 1), "DEFAULT")

    assert [len(document.messages) for document in documents] == [MAX_MESSAGES, 1]
    assert all(len(document.body) <= 10 * 1024 * 1024 for document in documents)
    assert len(json.loads(documents[0].body)["messages"]) == MAX_MESSAGES  # the schema's maxItems
    assert_valid_feed(documents[1].body)


# the processing report ----------------------------------------------------------------


def test_a_processing_report_fails_only_the_messages_with_errors() -> None:
    sent = messages(4)
    report = {
        "header": {"sellerId": SELLER, "version": "2.0", "feedId": "F1"},
        "issues": [
            {"messageId": 2, "sku": "SKU-00001", "code": "90220", "severity": "ERROR",
             "message": "'[batteries_required]' is required but not supplied."},
            {"messageId": 3, "sku": "SKU-00002", "code": "18448", "severity": "WARNING",
             "message": "Images are missing."},
            {"sku": "SKU-00003", "code": "99022", "severity": "ERROR",
             "message": "Not enough values.", "attributeName": "purchasable_offer"},
        ],
        "summary": {"errors": 2, "warnings": 1, "messagesProcessed": 4,
                    "messagesAccepted": 2, "messagesInvalid": 2},
    }  # fmt: skip

    results = report_results("F1", report, sent)

    assert [results[i].ok for i in range(4)] == [True, False, True, False]
    assert results[1].error == "90220: '[batteries_required]' is required but not supplied."
    assert results[3].error == "99022: Not enough values. [purchasable_offer]"
    assert results[0].quantity == 0
    assert not results[1].retriable


def test_messages_amazon_did_not_accept_without_saying_why_fail_retriably() -> None:
    report = {
        "issues": [{"severity": "ERROR", "code": "FEED_ERR", "message": "Malformed feed"}],
        "summary": {"messagesProcessed": 0, "messagesAccepted": 0},
    }

    results = report_results("F1", report, messages(2))

    assert all(not r.ok and r.retriable for r in results.values())
    assert "Malformed feed" in (results[0].error or "")


# submission ---------------------------------------------------------------------------


@pytest.fixture
def amazon() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.post(LWA).mock(return_value=token_answer())
        yield router


def report_body(feed_id: str, issues: list[dict[str, Any]], accepted: int) -> bytes:
    return gzip.compress(
        json.dumps(
            {
                "header": {"sellerId": SELLER, "version": "2.0", "feedId": feed_id},
                "issues": issues,
                "summary": {"messagesAccepted": accepted},
            }
        ).encode()
    )


def feed_routes(
    router: respx.MockRouter, statuses: list[dict[str, Any]], report: bytes | None
) -> dict[str, respx.Route]:
    routes = {
        "document": router.post(DOCUMENTS).respond(
            json={"feedDocumentId": "feed-doc-1", "url": UPLOAD}
        ),
        "upload": router.put(UPLOAD).respond(200),
        "feed": router.post(FEEDS).respond(202, json={"feedId": "F1"}),
        "status": router.get(f"{FEEDS}/F1"),
        "report": router.get(f"{DOCUMENTS}/report-1").respond(
            json={"feedDocumentId": "report-1", "url": DOWNLOAD, "compressionAlgorithm": "GZIP"}
        ),
        "download": router.get(DOWNLOAD).respond(content=report or b""),
        "patch": router.patch(url__startswith=f"{LISTINGS}/"),
    }
    routes["status"].side_effect = [
        httpx.Response(200, json={"feedId": "F1", "feedType": "JSON_LISTINGS_FEED", **status})
        for status in statuses
    ]
    return routes


def updates(count: int) -> list[StockUpdate]:
    return [StockUpdate(channel_sku=f"SKU-{i}", quantity=i) for i in range(count)]


def test_from_the_threshold_one_feed_goes_out_and_its_report_decides(
    amazon: respx.MockRouter,
) -> None:
    error = {"messageId": 2, "sku": "SKU-1", "code": "90220", "severity": "ERROR",
             "message": "'fulfillment_availability' is invalid."}  # fmt: skip
    routes = feed_routes(
        amazon,
        [
            {"processingStatus": "IN_QUEUE"},
            {"processingStatus": "IN_PROGRESS"},
            {"processingStatus": "DONE", "resultFeedDocumentId": "report-1"},
        ],
        report_body("F1", [error], accepted=2),
    )
    calls = RecordingCalls()
    connector = make_connector(calls, feed_threshold=3, feed_poll_seconds=5)

    results = connector.push_stock(updates(3))

    assert [(r.key, r.ok) for r in results] == [("SKU-0", True), ("SKU-1", False), ("SKU-2", True)]
    assert results[1].error == "90220: 'fulfillment_availability' is invalid."
    assert routes["patch"].call_count == 0
    assert routes["feed"].call_count == 1
    uploaded = routes["upload"].calls.last.request
    assert uploaded.headers["Content-Type"] == "application/json; charset=UTF-8"
    document = assert_valid_feed(uploaded.content)
    assert [m["sku"] for m in document["messages"]] == ["SKU-0", "SKU-1", "SKU-2"]
    created = json.loads(routes["feed"].calls.last.request.content)
    assert created["feedType"] == "JSON_LISTINGS_FEED"
    assert created["inputFeedDocumentId"] == "feed-doc-1"
    assert created["marketplaceIds"] == [US]
    assert calls.operations == [
        "createFeedDocument",
        FEED_SUBMISSIONS,
        "createFeed",
        "getFeed",
        "getFeed",
        "getFeed",
        "getFeedDocument",
    ]
    assert calls.pauses == [1.0, 1.0]


def test_below_the_threshold_no_feed_goes_out(amazon: respx.MockRouter) -> None:
    routes = feed_routes(amazon, [], None)
    routes["patch"].mock(
        side_effect=lambda request: httpx.Response(
            200,
            json={"sku": request.url.path.rsplit("/", 1)[-1], "status": "ACCEPTED",
                  "submissionId": "s", "issues": []},
        )
    )  # fmt: skip

    results = make_connector(feed_threshold=3).push_stock(updates(2))

    assert all(r.ok for r in results)
    assert routes["patch"].call_count == 2
    assert routes["document"].call_count == 0
    assert routes["feed"].call_count == 0


@pytest.mark.parametrize("status", ["FATAL", "CANCELLED"])
def test_a_feed_that_ends_badly_fails_every_sku_retriably(
    amazon: respx.MockRouter, status: str
) -> None:
    fatal = {"severity": "ERROR", "code": "4000", "message": "The feed could not be parsed."}
    feed_routes(
        amazon,
        [{"processingStatus": status, "resultFeedDocumentId": "report-1"}],
        report_body("F1", [fatal], accepted=0),
    )

    results = make_connector(feed_threshold=2).push_stock(updates(2))

    assert all(not r.ok and r.retriable for r in results)
    assert all(f"feed F1 {status}" in (r.error or "") for r in results)
    assert "The feed could not be parsed." in (results[0].error or "")


def test_a_feed_that_does_not_finish_in_time_fails_retriably(amazon: respx.MockRouter) -> None:
    feed_routes(amazon, [{"processingStatus": "IN_PROGRESS"}] * 3, None)
    calls = RecordingCalls()
    moments = iter([0.0, 0.0, 5.0, 10.0])
    connector = make_connector(
        calls,
        clock=lambda: next(moments),
        feed_threshold=1,
        feed_timeout_seconds=10,
        feed_poll_seconds=5,
    )

    (result,) = connector.push_stock(updates(1))

    assert calls.pauses == [1.0, 1.0]
    assert not result.ok
    assert result.retriable
    assert result.error == "feed F1 still IN_PROGRESS after 10s; pushed again"


def test_the_poll_wait_grows_with_the_time_waited_up_to_the_setting(
    amazon: respx.MockRouter,
) -> None:
    feed_routes(amazon, [{"processingStatus": "IN_PROGRESS"}] * 5, None)
    calls = RecordingCalls()
    moments = iter([0.0, 0.5, 30.0, 100.0, 400.0, 1000.0])
    connector = make_connector(
        calls,
        clock=lambda: next(moments),
        feed_threshold=1,
        feed_timeout_seconds=1000,
        feed_poll_seconds=15,
    )

    connector.push_stock(updates(1))

    assert calls.pauses == [1.0, 3.0, 10.0, 15.0]


def test_a_report_that_cannot_be_read_fails_retriably(amazon: respx.MockRouter) -> None:
    routes = feed_routes(
        amazon, [{"processingStatus": "DONE", "resultFeedDocumentId": "report-1"}], None
    )
    routes["report"].respond(json={"feedDocumentId": "report-1", "url": DOWNLOAD})
    routes["download"].respond(content=b"<Error><Code>AccessDenied</Code></Error>")

    (result,) = make_connector(feed_threshold=1).push_stock(updates(1))

    assert not result.ok
    assert result.retriable
    assert "processing report is not JSON" in (result.error or "")


def test_an_upload_refused_is_transient(amazon: respx.MockRouter) -> None:
    routes = feed_routes(amazon, [], None)
    routes["upload"].respond(403, content=b"<Error><Code>SignatureDoesNotMatch</Code></Error>")

    with pytest.raises(TransientError, match="upload was refused"):
        make_connector(feed_threshold=1).push_stock(updates(1))
    assert routes["feed"].call_count == 0
