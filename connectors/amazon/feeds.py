"""JSON_LISTINGS_FEED: quantities for many SKUs in one submission.

Document: one PATCH message per SKU replacing /attributes/fulfillment_availability
(listings-feed-schema-v2), messageId = the update's position in push_stock + 1 so
the processing report maps back to it; at most 25,000 messages and 10 MiB per
document, more are split into several documents.

Submission (every step through SpApi.call, so throttled and retried):
createFeedDocument and the upload to its URL (the library's create_feed_document
does both), one of the five JSON_LISTINGS_FEED submissions per five minutes,
createFeed, getFeed until DONE, FATAL or CANCELLED or `timeout_seconds` (waiting as
waiting.py does, through the call policy), then getFeedDocument and the
download of the processing report (the library's get_feed_document, which
un-gzips when compressionAlgorithm says so).

Outcome per SKU: an ERROR issue of its message fails it with Amazon's words; the
others are acknowledged, unless the report says fewer messages were accepted than
that (then those fail too, to be pushed again). FATAL, CANCELLED, a timeout or a
report that cannot be read fail every SKU of the feed, retriably.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from omnisync.connectors.amazon.client import SpApi, payload_of, required_text
from omnisync.connectors.amazon.mapping import issue_text, quantity_patches
from omnisync.connectors.amazon.waiting import FINAL_STATUSES as FINAL_STATUSES
from omnisync.connectors.amazon.waiting import wait_until_processed
from omnisync.connectors.base import AuthError, ConnectorError, TransientError
from omnisync.core.dto import PushResult, StockUpdate

FEED_TYPE = "JSON_LISTINGS_FEED"
FEED_SUBMISSIONS = "JSON_LISTINGS_FEED submissions"
"""The rate-limit key of Amazon's 5 JSON_LISTINGS_FEED submissions per 5 minutes."""
CONTENT_TYPE = "application/json; charset=UTF-8"
FEED_VERSION = "2.0"
MAX_MESSAGES = 25_000
MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class FeedMessage:
    index: int
    """The update's position in the push_stock call (messageId - 1)."""
    update: StockUpdate
    product_type: str

    @property
    def message_id(self) -> int:
        return self.index + 1


@dataclass(frozen=True)
class FeedDocument:
    body: bytes
    messages: tuple[FeedMessage, ...]


def message_body(message: FeedMessage, channel_code: str) -> dict[str, Any]:
    return {
        "messageId": message.message_id,
        "sku": message.update.channel_sku,
        "operationType": "PATCH",
        "productType": message.product_type,
        "patches": quantity_patches(channel_code, message.update.quantity),
    }


def feed_documents(
    seller_id: str,
    messages: Sequence[FeedMessage],
    channel_code: str,
    *,
    max_messages: int = MAX_MESSAGES,
    max_bytes: int = MAX_BYTES,
) -> list[FeedDocument]:
    """The feed documents carrying `messages`, each within Amazon's count and size limits."""
    header = _encoded({"sellerId": seller_id, "version": FEED_VERSION})
    prefix, suffix = b'{"header":' + header + b',"messages":[', b"]}"
    documents: list[FeedDocument] = []
    parts: list[bytes] = []
    carried: list[FeedMessage] = []
    size = len(prefix) + len(suffix)
    for message in messages:
        encoded = _encoded(message_body(message, channel_code))
        separator = 1 if parts else 0
        if parts and (len(parts) >= max_messages or size + separator + len(encoded) > max_bytes):
            documents.append(FeedDocument(prefix + b",".join(parts) + suffix, tuple(carried)))
            parts, carried, size, separator = [], [], len(prefix) + len(suffix), 0
        parts.append(encoded)
        carried.append(message)
        size += separator + len(encoded)
    if parts:
        documents.append(FeedDocument(prefix + b",".join(parts) + suffix, tuple(carried)))
    return documents


def _encoded(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def push_by_feed(
    api: SpApi,
    seller_id: str,
    messages: Sequence[FeedMessage],
    channel_code: str,
    *,
    poll_seconds: float,
    timeout_seconds: float,
    clock: Callable[[], float],
) -> dict[int, PushResult]:
    """Submit the quantities as feeds; {update index: result}."""
    results: dict[int, PushResult] = {}
    for document in feed_documents(seller_id, messages, channel_code):
        feed_id = _submit(api, document)
        feed = _wait_for(api, feed_id, poll_seconds, timeout_seconds, clock)
        results.update(_outcome(api, feed_id, feed, document.messages, timeout_seconds))
    return results


def _submit(api: SpApi, document: FeedDocument) -> str:
    def create_and_upload() -> Any:
        try:
            return api.feeds.create_feed_document(io.BytesIO(document.body), CONTENT_TYPE)
        except json.JSONDecodeError:
            # The library reads an upload refusal as JSON; S3 answers in XML.
            raise TransientError("createFeedDocument: the upload was refused") from None

    created = payload_of(api.call("createFeedDocument", create_and_upload))
    document_id = required_text(created, "feedDocumentId", "createFeedDocument")
    api.calls.call(FEED_SUBMISSIONS, lambda: None)  # books one submission slot
    answer = api.call(
        "createFeed",
        lambda: api.feeds.create_feed(FEED_TYPE, document_id, marketplaceIds=[api.marketplace_id]),
    )
    return required_text(payload_of(answer), "feedId", "createFeed")


def _wait_for(
    api: SpApi,
    feed_id: str,
    poll_seconds: float,
    timeout_seconds: float,
    clock: Callable[[], float],
) -> dict[str, Any]:
    return wait_until_processed(
        lambda: payload_of(api.call("getFeed", lambda: api.feeds.get_feed(feed_id))),
        pause=api.calls.pause,
        clock=clock,
        poll_seconds=poll_seconds,
        timeout_seconds=timeout_seconds,
    )


def _outcome(
    api: SpApi,
    feed_id: str,
    feed: Mapping[str, Any],
    messages: Sequence[FeedMessage],
    timeout_seconds: float,
) -> dict[int, PushResult]:
    status = str(feed.get("processingStatus"))
    if status not in FINAL_STATUSES:
        return failed_all(
            messages, f"feed {feed_id} still {status} after {timeout_seconds:g}s; pushed again"
        )
    try:
        report = _processing_report(api, feed)
    except AuthError:
        raise
    except ConnectorError as error:
        return failed_all(messages, f"feed {feed_id} {status}, its report unreadable: {error}")
    if status == "DONE":
        if report is None:
            return failed_all(messages, f"feed {feed_id} DONE without a processing report")
        return report_results(feed_id, report, messages)
    said = "; ".join(issue_text(issue) for issue in _issues(report)) if report else ""
    return failed_all(messages, f"feed {feed_id} {status}" + (f": {said}" if said else ""))


def _processing_report(api: SpApi, feed: Mapping[str, Any]) -> dict[str, Any] | None:
    document_id = feed.get("resultFeedDocumentId")
    if not document_id:
        return None
    text = api.call("getFeedDocument", lambda: api.feeds.get_feed_document(document_id))
    try:
        report = json.loads(text)
    except (TypeError, json.JSONDecodeError):
        raise TransientError("getFeedDocument: the processing report is not JSON") from None
    if not isinstance(report, dict):
        raise TransientError("getFeedDocument: the processing report is not an object")
    return report


def report_results(
    feed_id: str, report: Mapping[str, Any], messages: Sequence[FeedMessage]
) -> dict[int, PushResult]:
    """Each message's result from a processing report (listings-feed-processing-report v2)."""
    by_sku = {message.update.channel_sku: message.message_id for message in messages}
    refused: dict[int, list[Mapping[str, Any]]] = {}
    feed_level: list[Mapping[str, Any]] = []
    for issue in _issues(report):
        if issue.get("severity") != "ERROR":
            continue
        message_id = issue.get("messageId")
        if not isinstance(message_id, int):
            message_id = by_sku.get(str(issue.get("sku")))
        if message_id is None:
            feed_level.append(issue)
        else:
            refused.setdefault(message_id, []).append(issue)
    clean = [message for message in messages if message.message_id not in refused]
    accepted = (report.get("summary") or {}).get("messagesAccepted")
    short = isinstance(accepted, int) and accepted < len(clean)
    unexplained = ""
    if feed_level or short:
        said = "; ".join(issue_text(issue) for issue in feed_level)
        counted = f"Amazon accepted {accepted} of {len(messages)} messages" if short else ""
        unexplained = f"feed {feed_id}: " + "; ".join(part for part in (said, counted) if part)
    results: dict[int, PushResult] = {}
    for message in messages:
        update = message.update
        own = refused.get(message.message_id)
        if own:
            error = "; ".join(issue_text(issue) for issue in own)
            results[message.index] = PushResult(key=update.channel_sku, ok=False, error=error)
        elif unexplained:
            results[message.index] = PushResult(
                key=update.channel_sku, ok=False, error=unexplained, retriable=True
            )
        else:
            results[message.index] = PushResult(
                key=update.channel_sku, ok=True, quantity=update.quantity
            )
    return results


def failed_all(messages: Sequence[FeedMessage], reason: str) -> dict[int, PushResult]:
    return {
        message.index: PushResult(
            key=message.update.channel_sku, ok=False, error=reason, retriable=True
        )
        for message in messages
    }


def _issues(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [issue for issue in report.get("issues") or [] if isinstance(issue, dict)]
