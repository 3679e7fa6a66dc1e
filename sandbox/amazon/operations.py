"""The SP-API operations of the Amazon simulator, over its state (the Notifications API's
are in :mod:`sandbox.amazon.notifier`).

A mixin of :class:`sandbox.amazon.AmazonSimulator`: each ``_<operation>`` method takes
the request's parameters (typed by :func:`sandbox.amazon.static.request_parameters`,
the body under ``"body"``), runs under the simulator's lock, and returns
``(status, body)`` or raises :class:`~sandbox.amazon.http.SpApiError`. The documents'
presigned URLs (feed documents up and down, report documents down; S3's XML errors)
are served here too.
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

from starlette.requests import Request
from starlette.responses import Response

from omnisync.sandbox.amazon.documents import DocumentStore
from omnisync.sandbox.amazon.feed_report import FeedOutcome, process_listings_feed
from omnisync.sandbox.amazon.feeds import LISTINGS_FEED, Feed, FeedDesk, feed_json
from omnisync.sandbox.amazon.http import (
    JSON,
    QUOTA_EXCEEDED,
    QUOTA_MESSAGE,
    PageTokens,
    SpApiError,
)
from omnisync.sandbox.amazon.limits import OperationLimits
from omnisync.sandbox.amazon.listings import Catalogue
from omnisync.sandbox.amazon.listings_api import (
    SearchPosition,
    check_seller,
    get_listing,
    patch_listing,
    search_listings,
)
from omnisync.sandbox.amazon.order_query import (
    ItemsPosition,
    OrdersPosition,
    order_items_page,
    order_payload,
    orders_page,
)
from omnisync.sandbox.amazon.order_search import OrderSearchPosition, get_order, search_orders
from omnisync.sandbox.amazon.orders import OrderBook
from omnisync.sandbox.amazon.reports import Report, ReportContent, ReportDesk, report_json
from omnisync.sandbox.amazon.returns import ReturnBook
from omnisync.sandbox.amazon.returns_report import CONTENT_TYPE, flat_file
from omnisync.sandbox.amazon.static import linked_order_case
from omnisync.sandbox.clock import Clock
from omnisync.sandbox.faults import HTTP_FAULTS, Fault

UPLOAD: Final = "feedDocumentUpload"
DOWNLOAD: Final = "feedDocumentDownload"
REPORT_DOWNLOAD: Final = "reportDocumentDownload"

Answer = tuple[int, Any]
"""(HTTP status, JSON body or None for no body)."""


class SpApiOperations:
    """Orders (v0 and 2026-01-01), Listings Items, Feeds and Reports operations of one
    seller's account."""

    if TYPE_CHECKING:
        _lock: threading.RLock
        _requests: Any
        clock: Clock
        url: str
        seller_id: str
        marketplace_id: str
        orders_lag: timedelta
        order_items_page_size: int
        limits: OperationLimits
        orders_book: OrderBook
        catalogue: Catalogue
        feed_desk: FeedDesk
        report_desk: ReportDesk
        returns_book: ReturnBook
        currency: str
        listing_patches_log: list[JSON]
        _order_tokens: PageTokens[OrdersPosition]
        _order_search_tokens: PageTokens[OrderSearchPosition]
        _item_tokens: PageTokens[ItemsPosition]
        _search_tokens: PageTokens[SearchPosition]
        faults: Any

        def _count_429(self) -> None: ...
        async def _apply_fault(self, operation: str, fault: Fault) -> Response | None: ...

    def _get_orders(self, params: dict[str, Any]) -> Answer:
        now = self.clock.now()
        return 200, orders_page(self.orders_book, params, self._order_tokens, now, self.orders_lag)

    def _get_order_v0(self, params: dict[str, Any]) -> Answer:
        linked = self._linked("getOrderV0", params["orderId"])
        return linked or (200, order_payload(self.orders_book, params["orderId"]))

    def _search_orders(self, params: dict[str, Any]) -> Answer:
        now = self.clock.now()
        tokens = self._order_search_tokens
        return 200, search_orders(self.orders_book, params, tokens, now, self.orders_lag)

    def _get_order(self, params: dict[str, Any]) -> Answer:
        """getOrder of the Orders API 2026-01-01 (v0's is :meth:`_get_order_v0`)."""
        linked = self._linked("getOrder", params["orderId"])
        return linked or (200, get_order(self.orders_book, params["orderId"], params))

    def _get_order_items(self, params: dict[str, Any]) -> Answer:
        order_id = params["orderId"]
        linked = self._linked("getOrderItems", order_id)
        if linked is not None:
            return linked
        page = order_items_page(
            self.orders_book, order_id, params, self._item_tokens, self.order_items_page_size
        )
        return 200, page

    def _linked(self, operation: str, order_id: str) -> Answer | None:
        if order_id in self.orders_book.orders:
            return None
        case = linked_order_case(operation, order_id)
        return None if case is None else (case.status, case.body)

    def _confirm_shipment(self, params: dict[str, Any]) -> Answer:
        self.orders_book.confirm_shipment(params["orderId"], params.get("body"), self.clock.now())
        return 204, None

    def _search_listings(self, params: dict[str, Any]) -> Answer:
        check_seller(self.catalogue, params["sellerId"], params, self.seller_id)
        return 200, search_listings(self.catalogue, params, self._search_tokens)

    def _get_listing(self, params: dict[str, Any]) -> Answer:
        check_seller(self.catalogue, params["sellerId"], params, self.seller_id)
        return 200, get_listing(self.catalogue, params["sku"], params)

    def _patch_listing(self, params: dict[str, Any]) -> Answer:
        check_seller(self.catalogue, params["sellerId"], params, self.seller_id)
        return 200, patch_listing(self.catalogue, params["sku"], params, self.listing_patches_log)

    def _create_document(self, params: dict[str, Any]) -> Answer:
        document = self.feed_desk.create_document(params.get("body"))
        url = self.feed_desk.documents.url(self.url, document)
        return 201, {"feedDocumentId": document.document_id, "url": url}

    def _get_document(self, params: dict[str, Any]) -> Answer:
        return 200, self.feed_desk.document_json(self.url, params["feedDocumentId"])

    def _create_feed(self, params: dict[str, Any]) -> Answer:
        feed_type, markets, document_id = self.feed_desk.check_feed_request(
            params.get("body"), [self.marketplace_id]
        )
        if feed_type == LISTINGS_FEED and self.limits.try_submit_listings_feed() is not None:
            self._count_429()
            raise SpApiError(429, QUOTA_EXCEEDED, QUOTA_MESSAGE)
        feed = self.feed_desk.add_feed(feed_type, markets, document_id, self.clock.now())
        return 202, {"feedId": feed.feed_id}

    def _get_feed(self, params: dict[str, Any]) -> Answer:
        return 200, feed_json(self.feed_desk.feed(params["feedId"]))

    def _cancel_feed(self, params: dict[str, Any]) -> Answer:
        self.feed_desk.cancel(params["feedId"], self.clock.now())
        return 200, None

    def _create_report(self, params: dict[str, Any]) -> Answer:
        now = self.clock.now()
        report_type, markets, start, end = self.report_desk.check_request(
            params.get("body"), [self.marketplace_id], now
        )
        report = self.report_desk.add(report_type, markets, start, end, now)
        return 202, {"reportId": report.report_id}

    def _get_report(self, params: dict[str, Any]) -> Answer:
        return 200, report_json(self.report_desk.report(params["reportId"]))

    def _cancel_report(self, params: dict[str, Any]) -> Answer:
        self.report_desk.cancel(params["reportId"], self.clock.now())
        return 200, None

    def _get_report_document(self, params: dict[str, Any]) -> Answer:
        return 200, self.report_desk.document_json(self.url, params["reportDocumentId"])

    # feeds and reports ---------------------------------------------------------------

    def _advance_processing(self) -> None:
        """Let due feeds and reports move on (called under the lock before answers and
        reads)."""
        now = self.clock.now()
        self.feed_desk.advance(now, self._process_feed)
        self.report_desk.advance(now, self._build_report)

    def _build_report(self, report: Report) -> ReportContent:
        """The returns report over the report's span, by request date; no returns, no data."""
        returns = self.returns_book.requested_between(report.data_start, report.data_end)
        if not returns:
            return ReportContent(None, CONTENT_TYPE)
        return ReportContent(flat_file(returns, self.currency), CONTENT_TYPE)

    def _process_feed(self, feed: Feed, content: bytes | None) -> FeedOutcome:
        return process_listings_feed(
            content, feed_id=feed.feed_id, seller_id=self.seller_id, catalogue=self.catalogue
        )

    def process_feeds(self) -> None:
        """Process every queued or running feed now, whatever the delay."""
        with self._lock:
            now = self.clock.now()
            for feed in self.feed_desk.feeds.values():
                self.feed_desk.finish(feed, self._process_feed, now)

    async def _feed_document_content(self, request: Request) -> Response:
        operation = UPLOAD if request.method == "PUT" else DOWNLOAD
        return await self._document_content(request, self.feed_desk.documents, operation)

    async def _report_document_content(self, request: Request) -> Response:
        return await self._document_content(request, self.report_desk.documents, REPORT_DOWNLOAD)

    async def _document_content(
        self, request: Request, store: DocumentStore, operation: str
    ) -> Response:
        """A presigned URL of ``store``: GET downloads, PUT uploads; ``operation`` names it
        for the counters and faults."""
        with self._lock:
            self._requests[operation] += 1
        fault = self.faults.take(operation, HTTP_FAULTS)
        if fault is not None:
            early = await self._apply_fault(operation, fault)
            if early is not None:
                return early
        key = request.query_params.get("X-Amz-Signature", "")
        content = await request.body() if request.method == "PUT" else b""
        with self._lock:
            document = store.signed(request.path_params["documentId"], key)
            if document is None:
                return s3_error(403, "AccessDenied", "Access Denied")
            if request.method == "GET":
                if document.content is None:
                    return s3_error(404, "NoSuchKey", "The specified key does not exist.")
                return Response(document.content, media_type=document.content_type)
            declared = document.content_type.split(";")[0].strip().lower()
            sent = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if sent != declared:
                message = (
                    "The request signature we calculated does not match the signature you provided."
                )
                return s3_error(403, "SignatureDoesNotMatch", message)
            document.content = content
            document.uploads += 1
        return Response(status_code=200)


def s3_error(status: int, code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
    )
    return Response(body, status_code=status, media_type="application/xml")
