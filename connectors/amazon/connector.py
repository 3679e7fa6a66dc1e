"""The Amazon connector: ORDERS, LISTINGS, STOCK, FULFILMENT, ORDER_EVENTS and RETURNS over
the Selling Partner API."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Unpack

import httpx

from omnisync.connectors.amazon.client import SpApi, sp_api_time
from omnisync.connectors.amazon.feeds import (
    FEED_SUBMISSIONS,
    MAX_MESSAGES,
    FeedMessage,
    push_by_feed,
)
from omnisync.connectors.amazon.mapping import (
    fulfilled_elsewhere,
    listing_from_item,
    order_from_payload,
    patch_result,
    product_type,
    quantity_patch_body,
    shipment_confirmation,
)
from omnisync.connectors.amazon.notifications import (
    SqsQueue,
    audience,
    order_change,
    order_event,
)
from omnisync.connectors.amazon.reports import read_report
from omnisync.connectors.amazon.returns_report import (
    RETURNS_REPORT,
    ReturnsReport,
    kept_return,
    returns_from_report,
)
from omnisync.connectors.amazon.settings import AmazonSettings
from omnisync.connectors.base import (
    MARKETPLACE,
    Capability,
    Connector,
    ConnectorError,
    ConnectorOptions,
    PayloadError,
    PermanentError,
    RateLimit,
    TransientError,
)
from omnisync.connectors.pagination import walk_pages
from omnisync.connectors.parsing import kept_json, order_page
from omnisync.connectors.registry import register
from omnisync.core.dto import (
    QUARANTINED_NOTIFICATION,
    QUARANTINED_RETURN,
    ChannelListing,
    Fulfilment,
    NormalisedOrder,
    OrderEvent,
    OrderPage,
    PushResult,
    ReturnPage,
    StockUpdate,
    WebhookEvents,
)
from omnisync.core.types import ReturnAction

ORDERS_PER_PAGE = 100
INCLUDED_DATA = ["BUYER", "RECIPIENT", "PROCEEDS", "CANCELLATION", "FULFILLMENT"]
"""The datasets every order is read with: its status and shipped quantities
(FULFILLMENT), the buyer's cancel requests (CANCELLATION), totals (PROCEEDS), buyer and
ship-to (BUYER, RECIPIENT). The items come with every order."""
LISTINGS_PER_PAGE = 20
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LISTING_DATA = "summaries,attributes,fulfillmentAvailability"
"""`attributes` for the barcode (mapping.PRODUCT_IDENTIFIER); it carries every listing
attribute, so a page is larger, but no second call per listing is needed."""

PUBLISHED_LIMITS: dict[str, RateLimit] = {
    "searchOrders": RateLimit(0.0056, 20),
    "getOrder": RateLimit(0.5, 30),
    "searchListingsItems": RateLimit(5.0, 5),
    "patchListingsItem": RateLimit(5.0, 5),
    "createFeedDocument": RateLimit(0.5, 15),
    "createFeed": RateLimit(0.0083, 15),
    FEED_SUBMISSIONS: RateLimit(5 / 300, 5),
    "getFeed": RateLimit(2.0, 15),
    "getFeedDocument": RateLimit(0.0222, 10),
    "confirmShipment": RateLimit(2.0, 10),
    "createDestination": RateLimit(1.0, 5),
    "getDestinations": RateLimit(1.0, 5),
    "createSubscription": RateLimit(1.0, 5),
    "getSubscription": RateLimit(1.0, 5),
    "createReport": RateLimit(0.0167, 15),
    "getReport": RateLimit(2.0, 15),
    "getReportDocument": RateLimit(0.0167, 15),
}
"""Amazon's default usage plans; `x-amzn-RateLimit-Limit` answers refine them."""
REPORT_SPAN = timedelta(days=60)
"""The most days of data one returns report may cover (Amazon's Returns reports page)."""


@register
class AmazonConnector(Connector[AmazonSettings]):
    channel_type: ClassVar[str] = "amazon"
    capabilities: ClassVar[frozenset[Capability]] = MARKETPLACE | {
        Capability.ORDER_EVENTS,
        Capability.RETURNS,
    }
    published_limits = PUBLISHED_LIMITS
    stock_batch_size: ClassVar[int] = MAX_MESSAGES
    """A whole feed's worth: below `feed_threshold` the batch goes out as patches."""
    order_event_name: ClassVar[str] = "ORDER_CHANGE notification"
    manual_cancel_hint: ClassVar[str] = (
        "Amazon's Orders API gives a seller no way to cancel a merchant-fulfilled "
        "order: cancel it in Seller Central (Orders > Manage Orders > Cancel order)"
    )
    return_actions: ClassVar[frozenset[ReturnAction]] = frozenset()
    """Amazon's API takes nothing of a merchant-fulfilled return: no approval, no receipt,
    no refund. Returns are read from the returns report only."""
    refund_hint: ClassVar[str] = (
        "Amazon has no refund call for merchant-fulfilled orders: issue the refund in "
        "Seller Central (Orders > Manage Returns)"
    )

    def __init__(
        self,
        settings: AmazonSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        **options: Unpack[ConnectorOptions],
    ) -> None:
        """`transport`: where SP-API and LWA requests go instead of the network (tests,
        tools); the library's feed-document upload and download always use the network."""
        super().__init__(settings, **options)
        self.api = SpApi(settings, self.calls, self.rate_limits, transport=transport)
        notifications = settings.notifications
        self.queue = None if notifications is None else SqsQueue(notifications)

    def close(self) -> None:
        self.api.close()
        if self.queue is not None:
            self.queue.close()

    def check(self) -> list[str]:
        try:
            self.api.access_token()
        except ConnectorError as error:
            return [f"{type(error).__name__}: {error}"]
        try:
            self._search_listings(page_size=1, token=None)
        except ConnectorError as error:
            return [f"the seller's listings cannot be read: {type(error).__name__}: {error}"]
        if self.queue is not None:
            try:
                self.queue.arn()
            except ConnectorError as error:
                return [f"notifications.queue_url cannot be read: {type(error).__name__}: {error}"]
        return []

    # orders -------------------------------------------------------------------------

    def fetch_orders(self, since: datetime | None) -> Iterator[OrderPage]:
        """Orders updated in [since, now - `orders_settle_seconds`], oldest first (Amazon's
        order), a page per searchOrders answer with the items in it (INCLUDED_DATA), so no
        call per order. Amazon wants lastUpdatedBefore at least two minutes in the past;
        the engine's lag window reads across the edge again next time."""
        after = (since or EARLIEST).astimezone(UTC)
        before = datetime.now(UTC) - timedelta(seconds=self.settings.orders_settle_seconds)
        if after >= before:
            return
        query = {
            "lastUpdatedAfter": sp_api_time(after),
            "lastUpdatedBefore": sp_api_time(before),
            "marketplaceIds": [self.api.marketplace_id],
            "maxResultsPerPage": ORDERS_PER_PAGE,
            "includedData": INCLUDED_DATA,
        }

        def orders_after(token: str | None) -> Any:
            more = {"paginationToken": token} if token else {}
            return self.api.call(
                "searchOrders", functools.partial(self.api.orders.search_orders, **query, **more)
            )

        for answer in walk_pages("searchOrders", orders_after, _next_token):
            orders = (answer.payload or {}).get("orders")
            if not isinstance(orders, list):
                raise TransientError("searchOrders: the answer has no orders list")
            yield order_page(orders, order_from_payload)

    def fetch_order(self, external_id: str) -> NormalisedOrder:
        """One order by getOrder (what a notification names). PayloadError when Amazon
        does not know it or it cannot be mapped: it is quarantined."""
        try:
            answer = self.api.call(
                "getOrder",
                functools.partial(
                    self.api.orders.get_order, external_id, includedData=INCLUDED_DATA
                ),
            )
        except PermanentError as error:
            raise PayloadError(f"order {external_id}: {error}", external_id, external_id) from None
        order = (answer.payload or {}).get("order")
        if not isinstance(order, dict):
            raise TransientError("getOrder: the answer has no order")
        return order_from_payload(order)

    def map_quarantined(self, kind: str, raw: str) -> WebhookEvents:
        """A searchOrders Order kept when its mapping failed; an ORDER_CHANGE notification
        kept when its order could not be read (it is read again); an RMA's rows of the
        returns report (TSV with its header) kept when they could not be read."""
        if kind == QUARANTINED_RETURN:
            return WebhookEvents(returns=(kept_return(raw),))
        if kind == QUARANTINED_NOTIFICATION:
            try:
                change = order_change(raw)
            except ValueError as error:
                raise PayloadError(str(error), raw) from None
            said = audience(change.seller_id, change.marketplace_id)
            if said != self.event_audience():
                raise PayloadError(
                    f"a notification for {said}: this channel is {self.event_audience()}",
                    raw,
                    change.order_id,
                )
            return WebhookEvents(orders=(self.fetch_order(change.order_id),))
        return WebhookEvents(orders=(order_from_payload(kept_json(raw)),))

    # returns ------------------------------------------------------------------------

    def fetch_returns(self, since: datetime | None) -> Iterator[ReturnPage]:
        """The returns report (GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE) of the return
        requests made from `since`, and always of the last `returns_window_days` (a
        return changes after its request date, and the report is by request date), up
        to now: a page per report, one report per 60 days at most (Amazon's limit), its
        cursor the report's end. A report Amazon cancels for want of data is a page
        with no returns."""
        now = datetime.now(UTC).replace(microsecond=0)  # SP-API times are to the second
        start = now - timedelta(days=self.settings.returns_window_days)
        if since is not None:
            start = min(start, since.astimezone(UTC).replace(microsecond=0))
        while start < now:
            end = min(start + REPORT_SPAN, now)
            text = read_report(
                self.api,
                RETURNS_REPORT,
                start,
                end,
                poll_seconds=self.settings.report_poll_seconds,
                timeout_seconds=self.settings.report_timeout_seconds,
                clock=self.clock,
            )
            report = ReturnsReport() if text is None else returns_from_report(text)
            yield ReturnPage(returns=report.returns, rejected=report.rejected, cursor=end)
            start = end

    # order events -------------------------------------------------------------------

    def event_queue(self) -> str | None:
        return None if self.queue is None else self.queue.url

    def event_wait_seconds(self) -> float:
        notifications = self.settings.notifications
        return 20.0 if notifications is None else float(notifications.wait_seconds)

    def event_late_after(self) -> timedelta:
        notifications = self.settings.notifications
        return timedelta(seconds=60 if notifications is None else notifications.late_after_seconds)

    def event_audience(self) -> str:
        return audience(self.settings.seller_id, self.api.marketplace_id)

    def receive_order_events(self, wait_seconds: float) -> list[OrderEvent]:
        """The ORDER_CHANGE notifications waiting on the queue (SQS long polling)."""
        if self.queue is None:
            raise PermanentError("the channel file names no notifications queue")
        return [order_event(message) for message in self.queue.receive(wait_seconds)]

    def acknowledge_order_events(self, receipts: Sequence[str]) -> None:
        if self.queue is not None and receipts:
            self.queue.delete(receipts)

    # listings -----------------------------------------------------------------------

    def fetch_listings(self) -> Iterator[ChannelListing]:

        def listings_after(token: str | None) -> Any:
            return self._search_listings(page_size=LISTINGS_PER_PAGE, token=token)

        for answer in walk_pages("searchListingsItems", listings_after, _next_token):
            items = (answer.payload or {}).get("items")
            if not isinstance(items, list):
                raise TransientError("searchListingsItems: the answer has no items list")
            for item in items:
                if isinstance(item, dict):
                    yield listing_from_item(
                        item, self.api.marketplace_id, self.settings.fulfillment_channel_code
                    )

    def _search_listings(self, *, page_size: int, token: str | None) -> Any:
        query: dict[str, Any] = {
            "marketplaceIds": self.api.marketplace_id,
            "includedData": LISTING_DATA,
            "pageSize": page_size,
        }
        if token:
            query["pageToken"] = token
        return self.api.call(
            "searchListingsItems",
            lambda: self.api.listings.search_listings_items(self.settings.seller_id, **query),
        )

    # stock --------------------------------------------------------------------------

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[PushResult]:
        """Below `feed_threshold` updates one patchListingsItem each, from it one feed."""
        results: dict[int, PushResult] = {}
        code = self.settings.fulfillment_channel_code
        messages: list[FeedMessage] = []
        for index, update in enumerate(updates):
            refusal = fulfilled_elsewhere(update, code)
            if refusal is not None:
                results[index] = PushResult(key=update.channel_sku, ok=False, error=refusal)
            else:
                kind = product_type(update, self.settings.default_product_type)
                messages.append(FeedMessage(index, update, kind))
        if len(updates) >= self.settings.feed_threshold:
            results.update(
                push_by_feed(
                    self.api,
                    self.settings.seller_id,
                    messages,
                    code,
                    poll_seconds=self.settings.feed_poll_seconds,
                    timeout_seconds=self.settings.feed_timeout_seconds,
                    clock=self.clock,
                )
            )
        else:
            results.update(self._patch_each(messages, alone=len(messages) == len(updates)))
        return [results[index] for index in range(len(updates))]

    def _patch_each(self, messages: Sequence[FeedMessage], *, alone: bool) -> dict[int, PushResult]:
        results: dict[int, PushResult] = {}
        refusals: list[PermanentError] = []
        for message in messages:
            update = message.update
            body = quantity_patch_body(
                message.product_type, self.settings.fulfillment_channel_code, update.quantity
            )
            try:
                answer = self.api.call(
                    "patchListingsItem",
                    functools.partial(
                        self.api.listings.patch_listings_item,
                        self.settings.seller_id,
                        update.channel_sku,
                        marketplaceIds=self.api.marketplace_id,
                        body=body,
                    ),
                )
            except PermanentError as error:
                refusals.append(error)
                results[message.index] = PushResult(
                    key=update.channel_sku, ok=False, error=str(error)
                )
                continue
            results[message.index] = patch_result(update, answer.payload or {})
        same_words = len({str(error) for error in refusals}) == 1
        if alone and same_words and len(refusals) == len(messages):
            # Every SKU refused in the same words: the request itself is wrong, not a SKU.
            raise refusals[0]
        return results

    # fulfilment ---------------------------------------------------------------------

    def push_fulfilment(self, fulfilment: Fulfilment) -> PushResult:
        """confirmShipment for a merchant-fulfilled order. The package reference comes
        from the shipment's idempotency key, so a repeated push names the same package."""
        body = shipment_confirmation(fulfilment, self.api.marketplace_id, datetime.now(UTC))
        try:
            self.api.call(
                "confirmShipment",
                lambda: self.api.shipments.confirm_shipment(fulfilment.order_external_id, **body),
            )
        except PermanentError as error:
            return PushResult(key=fulfilment.order_external_id, ok=False, error=str(error))
        return PushResult(key=fulfilment.order_external_id, ok=True)


def _next_token(answer: Any) -> str | None:
    """The nextToken (pagination.nextToken, pageToken...) of an answer; None on the last page."""
    token = getattr(answer, "next_token", None) or None
    return None if token is None else str(token)
