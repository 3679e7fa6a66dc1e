"""Feeds API 2021-06-30 state: feed documents, feeds and their processing clock.

createFeedDocument hands out a document id and a presigned-style URL served by the
simulator itself (``PUT`` uploads, ``GET`` downloads; the ``X-Amz-Signature`` query
value is the key). A feed waits ``delay`` on the simulator's clock: IN_QUEUE for the
first half, IN_PROGRESS for the second, then DONE or FATAL with a processing report
stored as a result document (gzipped, with ``compressionAlgorithm: GZIP``, when
``compress_reports``). Time is looked at lazily: :meth:`FeedDesk.advance` runs before
every API answer and control read, so a frozen test clock freezes feeds too.
"""

from __future__ import annotations

import gzip
import hmac
import itertools
import json
import secrets
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from omnisync.sandbox.amazon.feed_report import FeedOutcome
from omnisync.sandbox.amazon.http import JSON, amazon_time_ms, invalid_input, not_found

LISTINGS_FEED: Final = "JSON_LISTINGS_FEED"
IN_QUEUE: Final = "IN_QUEUE"
IN_PROGRESS: Final = "IN_PROGRESS"
CANCELLED: Final = "CANCELLED"
FINISHED: Final = frozenset({"DONE", "FATAL", CANCELLED})
DOCUMENTS_PATH: Final = "/_feed-documents"
REPORT_CONTENT_TYPE: Final = "application/json; charset=UTF-8"


@dataclass
class FeedDocument:
    document_id: str
    content_type: str
    key: str
    content: bytes | None = None
    compression: str | None = None
    uploads: int = 0


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
        self.documents: dict[str, FeedDocument] = {}
        self.feeds: dict[str, Feed] = {}
        self._feed_numbers = itertools.count(1)

    # documents ----------------------------------------------------------------------

    def create_document(self, body: Any) -> FeedDocument:
        content_type = body.get("contentType") if isinstance(body, dict) else None
        if not isinstance(content_type, str) or not content_type.strip():
            raise invalid_input("Missing required parameter 'contentType'.")
        document = FeedDocument(str(uuid.uuid4()), content_type, secrets.token_urlsafe(16))
        self.documents[document.document_id] = document
        return document

    def signed_document(self, document_id: str, key: str) -> FeedDocument | None:
        """The document a presigned URL names, when its signature is right."""
        document = self.documents.get(document_id)
        if document is None or not hmac.compare_digest(key.encode(), document.key.encode()):
            return None
        return document

    @staticmethod
    def document_url(base_url: str, document: FeedDocument) -> str:
        return f"{base_url}{DOCUMENTS_PATH}/{document.document_id}?X-Amz-Signature={document.key}"

    def document_json(self, base_url: str, document_id: str) -> JSON:
        """The getFeedDocument answer."""
        document = self.documents.get(document_id)
        if document is None:
            raise not_found(f"Feed document {document_id} was not found.")
        body: JSON = {"feedDocumentId": document_id, "url": self.document_url(base_url, document)}
        if document.compression:
            body["compressionAlgorithm"] = document.compression
        return body

    # feeds --------------------------------------------------------------------------

    def check_feed_request(
        self, body: Any, marketplaces: Collection[str]
    ) -> tuple[str, list[str], str]:
        """``(feedType, marketplaceIds, inputFeedDocumentId)`` of a valid createFeed body."""
        if not isinstance(body, dict):
            raise invalid_input("Request body is missing or is not a JSON object.")
        feed_type, markets, document_id = (
            body.get("feedType"),
            body.get("marketplaceIds"),
            body.get("inputFeedDocumentId"),
        )
        if not isinstance(feed_type, str) or not feed_type:
            raise invalid_input("Missing required parameter 'feedType'.")
        if feed_type != LISTINGS_FEED:
            raise invalid_input(
                f"Feed type {feed_type} is not supported here (only {LISTINGS_FEED})."
            )
        if (
            not isinstance(markets, list)
            or not 1 <= len(markets) <= 25
            or not all(isinstance(m, str) for m in markets)
        ):
            raise invalid_input("'marketplaceIds' must list 1 to 25 marketplace ids.")
        unknown = sorted(set(markets) - set(marketplaces))
        if unknown:
            raise invalid_input(f"Invalid marketplaceIds: {', '.join(unknown)}.")
        if not isinstance(document_id, str) or document_id not in self.documents:
            raise invalid_input(f"Invalid inputFeedDocumentId: {document_id!r}.")
        return feed_type, list(markets), document_id

    def add_feed(self, feed_type: str, markets: list[str], document_id: str, now: datetime) -> Feed:
        feed_id = str(50_000_000_000 + next(self._feed_numbers))
        feed = Feed(feed_id, feed_type, markets, document_id, now)
        self.feeds[feed_id] = feed
        return feed

    def feed(self, feed_id: str) -> Feed:
        feed = self.feeds.get(feed_id)
        if feed is None:
            raise not_found(f"Feed {feed_id} was not found.")
        return feed

    def cancel(self, feed_id: str, now: datetime) -> None:
        feed = self.feed(feed_id)
        if feed.status != IN_QUEUE:
            raise invalid_input(
                f"Feed {feed_id} is {feed.status}: only IN_QUEUE feeds can be cancelled."
            )
        feed.status = CANCELLED
        feed.ended_at = now

    def advance(
        self, now: datetime, process: Callable[[Feed, bytes | None], FeedOutcome]
    ) -> list[Feed]:
        """Move feeds along the clock; process the ones whose time came. Those finished now."""
        finished: list[Feed] = []
        for feed in self.feeds.values():
            if feed.status in FINISHED:
                continue
            start = feed.created_at + self.delay / 2
            if feed.status == IN_QUEUE and now >= start:
                feed.status, feed.started_at = IN_PROGRESS, start
            if feed.status == IN_PROGRESS and now >= feed.created_at + self.delay:
                self.finish(feed, process, now)
                finished.append(feed)
        return finished

    def finish(
        self, feed: Feed, process: Callable[[Feed, bytes | None], FeedOutcome], now: datetime
    ) -> None:
        """Process ``feed`` now, whatever its delay (used by ``advance`` and by tests)."""
        if feed.status in FINISHED:
            return
        outcome = process(feed, self.documents[feed.input_document_id].content)
        feed.started_at = feed.started_at or now
        feed.status, feed.ended_at, feed.report = outcome.status, now, outcome.report
        content = json.dumps(outcome.report, ensure_ascii=False).encode("utf-8")
        result = FeedDocument(str(uuid.uuid4()), REPORT_CONTENT_TYPE, secrets.token_urlsafe(16))
        if self.compress_reports:
            result.content, result.compression = gzip.compress(content), "GZIP"
        else:
            result.content = content
        self.documents[result.document_id] = result
        feed.result_document_id = result.document_id


def feed_json(feed: Feed) -> JSON:
    """The getFeed answer (``Feed``)."""
    body: JSON = {
        "feedId": feed.feed_id,
        "feedType": feed.feed_type,
        "marketplaceIds": feed.marketplace_ids,
        "createdTime": amazon_time_ms(feed.created_at),
        "processingStatus": feed.status,
    }
    if feed.started_at is not None:
        body["processingStartTime"] = amazon_time_ms(feed.started_at)
    if feed.ended_at is not None:
        body["processingEndTime"] = amazon_time_ms(feed.ended_at)
    if feed.result_document_id is not None:
        body["resultFeedDocumentId"] = feed.result_document_id
    return body
