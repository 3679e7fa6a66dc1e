"""Feeds API 2021-06-30 state: feed documents, feeds and their processing clock.

createFeedDocument hands out a document id and a presigned-style URL served by the
simulator itself (:mod:`sandbox.amazon.documents`: ``PUT`` uploads, ``GET``
downloads). A feed waits ``delay`` on the simulator's clock as
:mod:`sandbox.amazon.processing` moves it, then ends DONE or FATAL with a processing
report stored as a result document (gzipped, with ``compressionAlgorithm: GZIP``, when
``compress_reports``). :meth:`FeedDesk.advance` runs before every API answer and
control read.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from omnisync.sandbox.amazon import processing
from omnisync.sandbox.amazon.documents import DocumentStore, StoredDocument
from omnisync.sandbox.amazon.feed_report import FeedOutcome
from omnisync.sandbox.amazon.http import JSON, amazon_time_ms, invalid_input
from omnisync.sandbox.amazon.processing import FINISHED, IN_QUEUE

LISTINGS_FEED: Final = "JSON_LISTINGS_FEED"
DOCUMENTS_PATH: Final = "/_feed-documents"
REPORT_CONTENT_TYPE: Final = "application/json; charset=UTF-8"


@dataclass
class Feed:
    feed_id: str
    feed_type: str
    marketplace_ids: list[str]
    input_document_id: str
    created_at: datetime
    status: str = IN_QUEUE
    started_at: datetime | None = None
    ended_at: datetime | None = None
    result_document_id: str | None = None
    report: JSON | None = field(default=None, repr=False)


class FeedDesk:
    """Every feed document and feed of the seller."""

    def __init__(self, delay: timedelta, compress_reports: bool = False) -> None:
        self.delay = delay
        self.compress_reports = compress_reports
        self.documents = DocumentStore(DOCUMENTS_PATH)
        self.feeds: dict[str, Feed] = {}
        self._feed_numbers = itertools.count(1)

    # documents ----------------------------------------------------------------------

    def create_document(self, body: Any) -> StoredDocument:
        content_type = body.get("contentType") if isinstance(body, dict) else None
        if not isinstance(content_type, str) or not content_type.strip():
            raise invalid_input("Missing required parameter 'contentType'.")
        return self.documents.new(content_type)

    def document_json(self, base_url: str, document_id: str) -> JSON:
        """The getFeedDocument answer."""
        return self.documents.answer(base_url, document_id, "feedDocumentId", "Feed document")

    # feeds --------------------------------------------------------------------------

    def check_feed_request(
        self, body: Any, marketplaces: Collection[str]
    ) -> tuple[str, list[str], str]:
        """``(feedType, marketplaceIds, inputFeedDocumentId)`` of a valid createFeed body."""
        body, feed_type, markets = processing.check_create_request(
            body, "Feed", {LISTINGS_FEED}, marketplaces
        )
        document_id = body.get("inputFeedDocumentId")
        if not isinstance(document_id, str) or self.documents.get(document_id) is None:
            raise invalid_input(f"Invalid inputFeedDocumentId: {document_id!r}.")
        return feed_type, markets, document_id

    def add_feed(self, feed_type: str, markets: list[str], document_id: str, now: datetime) -> Feed:
        feed_id = str(50_000_000_000 + next(self._feed_numbers))
        feed = Feed(feed_id, feed_type, markets, document_id, now)
        self.feeds[feed_id] = feed
        return feed

    def feed(self, feed_id: str) -> Feed:
        return processing.find(self.feeds, feed_id, "Feed")

    def cancel(self, feed_id: str, now: datetime) -> None:
        processing.cancel(self.feed(feed_id), feed_id, "Feed", now)

    def advance(
        self, now: datetime, process: Callable[[Feed, bytes | None], FeedOutcome]
    ) -> list[Feed]:
        """Move feeds along the clock; process the ones whose time came. Those finished now."""
        return processing.advance(
            self.feeds.values(), now, self.delay, lambda feed: self.finish(feed, process, now)
        )

    def finish(
        self, feed: Feed, process: Callable[[Feed, bytes | None], FeedOutcome], now: datetime
    ) -> None:
        """Process ``feed`` now, whatever its delay (used by ``advance`` and by tests)."""
        if feed.status in FINISHED:
            return
        document = self.documents.get(feed.input_document_id)
        outcome = process(feed, None if document is None else document.content)
        feed.started_at = feed.started_at or now
        feed.status, feed.ended_at, feed.report = outcome.status, now, outcome.report
        content = json.dumps(outcome.report, ensure_ascii=False).encode("utf-8")
        result = self.documents.holding(
            content, REPORT_CONTENT_TYPE, compress=self.compress_reports
        )
        feed.result_document_id = result.document_id


def feed_json(feed: Feed) -> JSON:
    """The getFeed answer (``Feed``)."""
    body: JSON = {
        "feedId": feed.feed_id,
        "feedType": feed.feed_type,
        "marketplaceIds": feed.marketplace_ids,
        "createdTime": amazon_time_ms(feed.created_at),
        "processingStatus": feed.status,
        **processing.processing_times(feed, amazon_time_ms),
    }
    if feed.result_document_id is not None:
        body["resultFeedDocumentId"] = feed.result_document_id
    return body
