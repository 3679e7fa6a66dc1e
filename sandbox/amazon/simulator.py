"""The ``amazon`` simulator: Selling Partner API and Login with Amazon on loopback.

One seller (``seller_id``) in one marketplace (``marketplace_id``, default the US
store ATVPDKIKX0DER), authorised for one LWA application. Point
python-amazon-sp-api at it with the SP-API base URL :attr:`AmazonSimulator.endpoint`
and the token URL :attr:`AmazonSimulator.lwa_url`. Served, as Amazon's models
describe them (the project's copy, :mod:`sandbox.reference`):

- LWA ``POST /auth/o2/token`` (:mod:`sandbox.amazon.auth`); every SP-API call needs
  its token in ``x-amz-access-token``, else 403 Unauthorized.
- Orders v0: getOrders, getOrder, getOrderItems, confirmShipment
  (:mod:`sandbox.amazon.orders`, :mod:`sandbox.amazon.order_query`).
- Orders 2026-01-01: searchOrders, getOrder (:mod:`sandbox.amazon.order_search`,
  :mod:`sandbox.amazon.orders_2026`), over the same orders.
- Listings Items 2021-08-01: searchListingsItems, getListingsItem, patchListingsItem
  (:mod:`sandbox.amazon.listings`, :mod:`sandbox.amazon.listings_api`).
- Feeds 2021-06-30: createFeedDocument, createFeed, getFeed, cancelFeed,
  getFeedDocument, plus the documents' upload / download URLs
  (:mod:`sandbox.amazon.feeds`, :mod:`sandbox.amazon.feed_report`).
- Reports 2021-06-30: createReport, getReport, cancelReport, getReportDocument and the
  documents' download URLs, for GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE built from
  the returns of the seller's orders (:mod:`sandbox.amazon.reports`,
  :mod:`sandbox.amazon.returns`, :mod:`sandbox.amazon.returns_report`).
- Notifications v1: destinations (grantless) and subscriptions; with an ORDER_CHANGE
  subscription and an ``sqs_endpoint`` (moto's server, :mod:`sandbox.sqs`), every new
  or changed order is published to the subscription's SQS queue
  (:mod:`sandbox.amazon.notifier`).

A request that matches one of Amazon's own sandbox cases (``x-amzn-api-sandbox``,
e.g. getOrders ``CreatedAfter=TEST_CASE_200``) gets that case's status and body, read
from the model at run time (:mod:`sandbox.amazon.static`); everything else is answered
from the simulator's state. Each operation has its published rate limit
(:mod:`sandbox.amazon.limits`, scaled by ``rate_scale``); every SP-API answer carries
``x-amzn-RequestId`` and ``x-amzn-RateLimit-Limit``. Faults (:mod:`sandbox.faults`)
are injected per operation name (``"getOrders"``, ``"patchListingsItem"``, ...,
``"*"`` for all; ``"lwaToken"``, ``"feedDocumentUpload"``, ``"feedDocumentDownload"``,
``"reportDocumentDownload"`` for the non-SP-API routes). Orders v0 and 2026-01-01 both
name an operation ``getOrder``: here ``"getOrder"`` is the 2026-01-01 one (what the hub
calls it) and v0's is ``"getOrderV0"`` (:mod:`sandbox.amazon.static`).

Control: ``GET /_simulator/state`` and ``/_simulator/health``, the ``/_control``
routes every simulator serves (:mod:`sandbox.control_api`, :mod:`sandbox.amazon.desk`),
``/_control/notifications`` (:mod:`sandbox.amazon.notification_control`) and
``/_control/returns`` (:mod:`sandbox.amazon.return_control`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp

from omnisync.hub.http_server import DEFAULT_HOST
from omnisync.sandbox.amazon.auth import LwaCredentials, LwaIssuer
from omnisync.sandbox.amazon.control import SellerControls
from omnisync.sandbox.amazon.desk import AmazonDesk
from omnisync.sandbox.amazon.feeds import DOCUMENTS_PATH, FeedDesk
from omnisync.sandbox.amazon.http import (
    JSON,
    QUOTA_EXCEEDED,
    QUOTA_MESSAGE,
    UNAUTHORIZED,
    AmazonSimulatorError,
    PageTokens,
    SpApiError,
    error_body,
)
from omnisync.sandbox.amazon.limits import OperationLimits
from omnisync.sandbox.amazon.listings import Catalogue
from omnisync.sandbox.amazon.listings_api import (
    SearchPosition,
)
from omnisync.sandbox.amazon.notification_control import notification_control_routes
from omnisync.sandbox.amazon.notifications import NOTIFICATIONS_SCOPE
from omnisync.sandbox.amazon.notifier import ACCESS, DEFAULT_APPLICATION_ID, NotifierControls
from omnisync.sandbox.amazon.operations import Answer, SpApiOperations
from omnisync.sandbox.amazon.order_query import (
    ItemsPosition,
    OrdersPosition,
)
from omnisync.sandbox.amazon.order_search import OrderSearchPosition
from omnisync.sandbox.amazon.orders import OrderBook
from omnisync.sandbox.amazon.reports import DOCUMENTS_PATH as REPORT_DOCUMENTS_PATH
from omnisync.sandbox.amazon.reports import ReportDesk
from omnisync.sandbox.amazon.return_control import return_control_routes
from omnisync.sandbox.amazon.returns import ReturnBook, ReturnControls, return_json
from omnisync.sandbox.amazon.sqs_publisher import SqsPublisher
from omnisync.sandbox.amazon.static import match_static, request_parameters
from omnisync.sandbox.base import SimulatedMarketplace
from omnisync.sandbox.clock import Clock
from omnisync.sandbox.control_api import order_control_routes
from omnisync.sandbox.faults import HTTP_FAULTS, Fault
from omnisync.sandbox.oauth import token_form

__all__ = ["AmazonSimulator", "AmazonSimulatorError", "LwaCredentials"]

DEFAULT_SELLER_ID: Final = "A2OMNISYNCSIM01"
US_MARKETPLACE: Final = "ATVPDKIKX0DER"
LWA_PATH: Final = "/auth/o2/token"
LWA_OPERATION: Final = "lwaToken"
ORDERS_LAG: Final = timedelta(minutes=2)
_ALL_METHODS: Final = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class AmazonSimulator(
    SpApiOperations, SellerControls, ReturnControls, NotifierControls, SimulatedMarketplace
):
    """One seller's Amazon account, served over HTTP.

    ``rate_scale`` multiplies every operation's published rate (bursts stay);
    ``orders_lag`` is how far before now a getOrders ``*Before`` bound must be
    (Amazon: two minutes); ``feed_delay`` and ``report_delay`` are how long a feed and a
    report take to be processed, on ``clock``; ``compress_reports`` gzips feed
    processing reports and report documents; ``order_items_page_size`` pages
    getOrderItems. ``clock`` is also the time source of the rate limits and the
    feed quota (a test passes a :class:`~sandbox.clock.ManualClock` and steps it).
    ``sqs_endpoint`` is the base URL of the SQS (moto) that serves the queues an
    ORDER_CHANGE subscription names; without it nothing is published.
    """

    type = "amazon"

    def __init__(
        self,
        credentials: LwaCredentials | None = None,
        *,
        name: str = "amazon",
        seller_id: str = DEFAULT_SELLER_ID,
        marketplace_id: str = US_MARKETPLACE,
        currency: str = "USD",
        rate_scale: float = 1.0,
        orders_lag: timedelta = ORDERS_LAG,
        feed_delay: float = 1.0,
        report_delay: float = 1.0,
        compress_reports: bool = False,
        order_items_page_size: int = 100,
        sqs_endpoint: str | None = None,
        application_id: str = DEFAULT_APPLICATION_ID,
        clock: Clock | None = None,
        host: str = DEFAULT_HOST,
        port: int = 0,
    ) -> None:
        # The framework's single bucket stands unused: each operation has its own.
        super().__init__(
            name=name,
            rate=1.0,
            burst=1,
            rate_scale=rate_scale,
            clock=clock,
            host=host,
            port=port,
        )
        self.lwa = LwaIssuer(credentials or LwaCredentials())
        self.seller_id = seller_id
        self.marketplace_id = marketplace_id
        self.currency = currency
        self.orders_lag = orders_lag
        self.order_items_page_size = order_items_page_size
        self.limits = OperationLimits(rate_scale, monotonic=self.clock.monotonic)
        self._feed_delay = timedelta(seconds=feed_delay)
        self._report_delay = timedelta(seconds=report_delay)
        self._compress_reports = compress_reports
        self.sqs_endpoint = sqs_endpoint
        self.application_id = application_id
        self.publisher = SqsPublisher()
        self._new_state()

    def _new_state(self) -> None:
        self.orders_book = OrderBook(
            self.stamper, self.marketplace_id, self.currency, on_change=self._order_changed
        )
        self.catalogue = Catalogue(self.stamper, self.marketplace_id, self.currency)
        self.feed_desk = FeedDesk(self._feed_delay, self._compress_reports)
        self.report_desk = ReportDesk(self._report_delay, self._compress_reports)
        self.returns_book = ReturnBook()
        self.listing_patches_log: list[JSON] = []
        self._order_tokens: PageTokens[OrdersPosition] = PageTokens()
        self._order_search_tokens: PageTokens[OrderSearchPosition] = PageTokens()
        self._item_tokens: PageTokens[ItemsPosition] = PageTokens()
        self._search_tokens: PageTokens[SearchPosition] = PageTokens()
        self._new_notifications()

    def _reset_state(self) -> None:
        self._feed_delay = self.feed_desk.delay
        self._report_delay = self.report_desk.delay
        self._new_state()
        self.limits.refill()

    # addresses and credentials ---------------------------------------------------------

    @property
    def credentials(self) -> LwaCredentials:
        return self.lwa.credentials

    @property
    def endpoint(self) -> str:
        """The SP-API base URL (python-amazon-sp-api's ``endpoint``)."""
        return self.url

    @property
    def lwa_url(self) -> str:
        """The full LWA token URL."""
        return f"{self.url}{LWA_PATH}"

    def access_token(self) -> str:
        """A valid ``x-amz-access-token`` (what the token endpoint would hand out)."""
        return self.lwa.access_token()

    def grantless_token(self, scope: str = NOTIFICATIONS_SCOPE) -> str:
        """A valid grantless token for ``scope`` (``client_credentials`` would hand it out)."""
        return self.lwa.grantless_token(scope)

    def expire_access_tokens(self) -> None:
        """Every access token handed out so far answers 403 "expired" from now on."""
        self.lwa.expire_tokens()

    # limits --------------------------------------------------------------------------

    def set_rate_limit(
        self,
        *,
        rate: float | None = None,
        burst: int | None = None,
        scale: float | None = None,
        operation: str | None = None,
    ) -> None:
        """``scale`` rescales every operation; ``rate`` / ``burst`` change ``operation``'s plan."""
        if scale is not None:
            self.limits.set_scale(scale)
        if rate is not None or burst is not None:
            if operation is None:
                raise ValueError("say which operation's rate or burst to change")
            self.limits.configure(operation, rate=rate, burst=burst)

    def drain(self, operation: str) -> None:
        """Empty ``operation``'s bucket (its next call is throttled)."""
        self.limits.drain(operation)

    # HTTP ----------------------------------------------------------------------------

    def build_app(self) -> ASGIApp:
        listings = "/listings/2021-08-01/items/{sellerId}"
        routes = [
            Route(LWA_PATH, self._lwa_token, methods=["POST"]),
            self._route("/orders/v0/orders", "GET", "getOrders", self._get_orders),
            self._route("/orders/v0/orders/{orderId}", "GET", "getOrderV0", self._get_order_v0),
            self._route(
                "/orders/v0/orders/{orderId}/orderItems",
                "GET",
                "getOrderItems",
                self._get_order_items,
            ),
            self._route(
                "/orders/v0/orders/{orderId}/shipmentConfirmation",
                "POST",
                "confirmShipment",
                self._confirm_shipment,
            ),
            self._route("/orders/2026-01-01/orders", "GET", "searchOrders", self._search_orders),
            self._route("/orders/2026-01-01/orders/{orderId}", "GET", "getOrder", self._get_order),
            self._route(listings, "GET", "searchListingsItems", self._search_listings),
            self._route(listings + "/{sku:path}", "GET", "getListingsItem", self._get_listing),
            self._route(
                listings + "/{sku:path}", "PATCH", "patchListingsItem", self._patch_listing
            ),
            self._route(
                "/feeds/2021-06-30/documents", "POST", "createFeedDocument", self._create_document
            ),
            self._route(
                "/feeds/2021-06-30/documents/{feedDocumentId}",
                "GET",
                "getFeedDocument",
                self._get_document,
            ),
            self._route("/feeds/2021-06-30/feeds", "POST", "createFeed", self._create_feed),
            self._route("/feeds/2021-06-30/feeds/{feedId}", "GET", "getFeed", self._get_feed),
            self._route(
                "/feeds/2021-06-30/feeds/{feedId}", "DELETE", "cancelFeed", self._cancel_feed
            ),
            Route(
                DOCUMENTS_PATH + "/{documentId}",
                self._feed_document_content,
                methods=["GET", "PUT"],
            ),
            *self._report_routes(),
            *self._notification_routes(),
            Route("/_simulator/health", self._health, methods=["GET"]),
            Route("/_simulator/state", self._state, methods=["GET"]),
            *order_control_routes(self.name, self.type, AmazonDesk(self)),
            *notification_control_routes(self),
            *return_control_routes(self),
            Route("/{path:path}", self._not_found, methods=_ALL_METHODS),
        ]
        return Router(routes=routes, redirect_slashes=False)

    def _report_routes(self) -> list[Route]:
        """The Reports API 2021-06-30 (:mod:`sandbox.amazon.reports`) and its documents."""
        reports = "/reports/2021-06-30/reports"
        return [
            self._route(reports, "POST", "createReport", self._create_report),
            self._route(reports + "/{reportId}", "GET", "getReport", self._get_report),
            self._route(reports + "/{reportId}", "DELETE", "cancelReport", self._cancel_report),
            self._route(
                "/reports/2021-06-30/documents/{reportDocumentId}",
                "GET",
                "getReportDocument",
                self._get_report_document,
            ),
            Route(
                REPORT_DOCUMENTS_PATH + "/{documentId}",
                self._report_document_content,
                methods=["GET"],
            ),
        ]

    def _notification_routes(self) -> list[Route]:
        """The Notifications API v1 (:mod:`sandbox.amazon.notifier`)."""
        destinations = "/notifications/v1/destinations"
        subscriptions = "/notifications/v1/subscriptions"
        by_type = subscriptions + "/{notificationType}"
        by_id = by_type + "/{subscriptionId}"
        return [
            self._route(destinations, "POST", "createDestination", self._create_destination),
            self._route(destinations, "GET", "getDestinations", self._get_destinations),
            self._route(
                destinations + "/{destinationId}", "GET", "getDestination", self._get_destination
            ),
            self._route(
                destinations + "/{destinationId}",
                "DELETE",
                "deleteDestination",
                self._delete_destination,
            ),
            self._route(subscriptions, "GET", "getSubscriptions", self._get_subscriptions),
            self._route(by_type, "POST", "createSubscription", self._create_subscription),
            self._route(by_type, "GET", "getSubscription", self._get_subscription),
            self._route(by_id, "GET", "getSubscriptionById", self._get_subscription_by_id),
            self._route(by_id, "DELETE", "deleteSubscriptionById", self._delete_subscription_by_id),
        ]

    def _route(
        self, path: str, method: str, operation: str, answer: Callable[[dict[str, Any]], Answer]
    ) -> Route:
        async def endpoint(request: Request) -> Response:
            return await self._serve(request, operation, answer)

        return Route(path, endpoint, methods=[method])

    def is_authorised(self, request: Request) -> bool:
        return self.lwa.refusal(request.headers.get("x-amz-access-token")) is None

    async def _serve(
        self, request: Request, operation: str, answer: Callable[[dict[str, Any]], Answer]
    ) -> Response:
        """Count, authenticate (with the kind of token the operation takes, :data:`ACCESS`;
        any valid one elsewhere), throttle, fault, then a sandbox case or the state answers."""
        with self._lock:
            self._requests[operation] += 1
        refusal = self.lwa.refusal(request.headers.get("x-amz-access-token"), ACCESS.get(operation))
        if refusal is not None:
            return self._respond(operation, 403, error_body(UNAUTHORIZED, refusal))
        if self.limits.try_acquire(operation) is not None:
            self._count_429()
            return self._respond(operation, 429, error_body(QUOTA_EXCEEDED, QUOTA_MESSAGE))
        fault = self.faults.take(operation, HTTP_FAULTS)
        if fault is not None:
            early = await self._apply_fault(operation, fault)
            if early is not None:
                return early
        params = request_parameters(
            operation, request.path_params, request.query_params.multi_items(), await request.body()
        )
        case = match_static(operation, params)
        if case is not None:
            return self._respond(operation, case.status, case.body)
        try:
            with self._lock:
                self._advance_processing()
                status, body = answer(params)
        except SpApiError as error:
            return self._respond(operation, error.status, error.body())
        return self._respond(operation, status, body)

    async def _apply_fault(self, operation: str, fault: Fault) -> Response | None:
        with self._lock:
            self._faults_served[fault.kind] += 1
        if fault.kind == "429":
            self._count_429()
            return self._respond(operation, 429, error_body(QUOTA_EXCEEDED, QUOTA_MESSAGE))
        if fault.kind == "500":
            message = "We encountered an internal error. Please try again."
            return self._respond(operation, 500, error_body("InternalFailure", message))
        if fault.kind == "503":
            message = "Service temporarily unavailable. Please try again."
            return self._respond(operation, 503, error_body("ServiceUnavailable", message))
        if fault.kind == "malformed_json":
            return Response(
                b'{"payload": {"Orders": [{"AmazonOrderId": "1',
                200,
                self._headers(operation),
                media_type="application/json",
            )
        await self.pause(fault.seconds or 0.0)  # slow and timeout: late, then normal
        return None

    def _headers(self, operation: str) -> dict[str, str]:
        headers = {"x-amzn-RequestId": str(uuid.uuid4())}
        if self.limits.has_plan(operation):
            headers["x-amzn-RateLimit-Limit"] = self.limits.rate_header(operation)
        return headers

    def _respond(self, operation: str, status: int, body: Any) -> Response:
        headers = self._headers(operation)
        if body is None or (status == 204 and not body):
            return Response(status_code=status, headers=headers)
        return JSONResponse(body, status_code=status, headers=headers)

    def stop(self) -> None:
        """Stop serving; the notifications already queued are sent first (bounded)."""
        super().stop()
        self.publisher.close()

    # LWA -----------------------------------------------------------------------------

    async def _lwa_token(self, request: Request) -> Response:
        with self._lock:
            self._requests[LWA_OPERATION] += 1
        fault = self.faults.take(LWA_OPERATION, HTTP_FAULTS)
        if fault is not None:
            with self._lock:
                self._faults_served[fault.kind] += 1
            if fault.kind in ("429", "500", "503"):
                error = {
                    "error": "server_error",
                    "error_description": "Temporary failure, try again.",
                }
                return JSONResponse(error, status_code=int(fault.kind))
            if fault.kind == "malformed_json":
                return Response(b'{"access_token": "Atza|', 200, media_type="application/json")
            await self.pause(fault.seconds or 0.0)
        raw = await request.body()
        form = token_form(raw, request.headers.get("content-type", ""))
        status, body = self.lwa.exchange(form)
        return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

    # inspection ----------------------------------------------------------------------

    async def _not_found(self, request: Request) -> Response:
        body = error_body(
            "NotFound", f"No SP-API operation at {request.method} {request.url.path}."
        )
        return JSONResponse(body, status_code=404)

    async def _health(self, request: Request) -> Response:
        return JSONResponse(
            {"ok": True, "name": self.name, "type": self.type, "sellerId": self.seller_id}
        )

    async def _state(self, request: Request) -> Response:
        return JSONResponse(self.snapshot())

    def snapshot(self) -> JSON:
        """Everything, JSON-ready and detached from the live state (no secrets)."""
        with self._lock:
            return self._snapshot_locked()

    def _snapshot_locked(self) -> JSON:
        body: JSON = {
            "name": self.name,
            "type": self.type,
            "seller_id": self.seller_id,
            "marketplace_id": self.marketplace_id,
            "rate_limits": self.limits.describe(),
            "listings": [
                {
                    "sku": sku,
                    "asin": listing.asin,
                    "productType": listing.product_type,
                    "quantity": listing.quantity,
                    "status": listing.status,
                }
                for sku, listing in self.catalogue.listings.items()
            ],
            "orders": self.orders(),
            "shipment_confirmations": self.shipment_confirmations(),
            "listing_patches": self.listing_patches(),
            "feeds": self.feeds(),
            "reports": self.reports(),
            "returns": [
                return_json(ret, self.currency) for ret in self.returns_book.returns.values()
            ],
            "tokens_issued": self.lwa.issued,
            "notifications": self.notifications_state(),
            **self.traffic(),
        }
        return body
