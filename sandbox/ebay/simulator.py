"""The ``ebay`` simulator: eBay's Sell Inventory, Sell Fulfillment and Commerce
Notification APIs and its OAuth token endpoint, for one seller, on loopback.

Everything is served under one base URL, at eBay's own paths, answering as eBay's
OpenAPI contracts describe (field names, types, enumeration values, the ``Error``
envelope ``{"errors": [{"errorId", "domain", "category", "message", "parameters"}]}``):

- OAuth (:mod:`sandbox.ebay.auth`): ``POST /identity/v1/oauth2/token`` (refresh token,
  client credentials and authorization code grants) and the consent page
  ``GET /oauth2/authorize``. Every API call needs ``Authorization: Bearer <token>``: a
  User token with the operation's scope for ``/sell/*``, any valid token for
  getPublicKey. An unknown or expired token answers 401 (errorId 1001); a token without
  the scope, or an Application token on a Sell API, 403 (1100).
- Sell Inventory ``/sell/inventory/v1``: getInventoryItems, getInventoryItem, getOffers,
  getOffer, bulkUpdatePriceQuantity with the daily cap of 250 revisions per listing
  (:mod:`sandbox.ebay.inventory`, :mod:`sandbox.ebay.bulk_update`).
- Sell Fulfillment ``/sell/fulfillment/v1``: getOrders (filters, offset paging),
  getOrder, getShippingFulfillments, getShippingFulfillment, createShippingFulfillment
  (:mod:`sandbox.ebay.orders`, :mod:`sandbox.ebay.order_query`, :mod:`sandbox.ebay.shipping`).
- Commerce Notification: getPublicKey, and signed deliveries of ORDER_CONFIRMATION,
  ITEM_MARKED_SHIPPED and MARKETPLACE_ACCOUNT_DELETION to ``notification_url``
  (:mod:`sandbox.ebay.notifications`).

Throttling is the framework's token bucket (``rate`` requests a second, ``burst``), on
the simulator's clock: a throttled call answers 429 with errorId 2001 (domain ACCESS) and
``Retry-After``. Faults (:mod:`sandbox.faults`) are injected per operationId
(``getOrders``, ``bulkUpdatePriceQuantity``, ... or ``"*"``; ``oauth2Token`` for the token
endpoint); a 500 or 503 answers the API's system error (25001, 30500, 195000). The
order-page faults apply to ``getOrders``. Every exchange with an eBay operation is kept
(:meth:`EbaySimulator.exchanges`, :mod:`sandbox.ebay.exchanges`).

Control: the in-process methods of :class:`sandbox.ebay.control.EbayControls`,
``GET /_simulator/state`` and ``/_simulator/health``, and the ``/_control`` routes every
marketplace serves (:mod:`sandbox.control_api`, :mod:`sandbox.ebay.desk`). A reset
forgets listings, orders, notifications and exchanges, brings a revoked refresh token
back and forgets consent codes, but keeps the access tokens handed out (a client's
cached token stays good until it expires), the notification URL, the key pair and the
clock.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any, Final, Unpack
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp

from omnisync.sandbox.base import Serving, SimulatedMarketplace, serving_with
from omnisync.sandbox.clock import MonotonicStamper
from omnisync.sandbox.control_api import order_control_routes
from omnisync.sandbox.ebay.api import OPERATIONS, Call, EbayOperations, Operation
from omnisync.sandbox.ebay.auth import (
    CONSENT_SCOPES,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    DEFAULT_RU_NAME,
    USER,
    EbayCredentials,
    TokenIssuer,
)
from omnisync.sandbox.ebay.control import EbayControls
from omnisync.sandbox.ebay.desk import EbayDesk
from omnisync.sandbox.ebay.errors import (
    ACCESS_DOMAIN,
    APPLICATION,
    INSUFFICIENT_PERMISSIONS,
    INVALID_ACCESS_TOKEN,
    INVENTORY,
    OAUTH_DOMAIN,
    TOO_MANY_REQUESTS,
    Api,
    EbayApiError,
    error_body,
    error_detail,
)
from omnisync.sandbox.ebay.exchanges import Exchange, ExchangeLog, masked
from omnisync.sandbox.ebay.inventory import Catalogue
from omnisync.sandbox.ebay.model import JSON
from omnisync.sandbox.ebay.notifications import (
    DELIVERY_TIMEOUT_S,
    NotificationSender,
    SigningKey,
)
from omnisync.sandbox.ebay.order_query import OrderFeed
from omnisync.sandbox.ebay.order_view import order_json
from omnisync.sandbox.ebay.orders import OrderBook
from omnisync.sandbox.faults import HTTP_FAULTS
from omnisync.sandbox.oauth import token_form
from omnisync.sandbox.ratelimit import format_retry_after

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_REFRESH_TOKEN",
    "DEFAULT_RU_NAME",
    "EbaySimulator",
]

TOKEN_PATH: Final = "/identity/v1/oauth2/token"  # noqa: S105 (a path)
AUTHORIZE_PATH: Final = "/oauth2/authorize"
TOKEN_OPERATION: Final = "oauth2Token"  # noqa: S105 (an operation name)
DEFAULT_MARKETPLACE: Final = "EBAY_US"
DEFAULT_SELLER: Final = "omnisync_sim_seller"
CURRENCIES: Final = {
    "EBAY_US": "USD",
    "EBAY_MOTORS_US": "USD",
    "EBAY_CA": "CAD",
    "EBAY_GB": "GBP",
    "EBAY_AU": "AUD",
    "EBAY_DE": "EUR",
    "EBAY_FR": "EUR",
    "EBAY_IT": "EUR",
    "EBAY_ES": "EUR",
    "EBAY_NL": "EUR",
    "EBAY_IE": "EUR",
    "EBAY_AT": "EUR",
    "EBAY_BE": "EUR",
    "EBAY_CH": "CHF",
    "EBAY_PL": "PLN",
}
_ALL_METHODS: Final = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

_current_api: ContextVar[Api] = ContextVar("ebay_api", default=INVENTORY)
"""The API of the request being served (its 500/503 answers name its domain)."""


class EbaySimulator(EbayOperations, EbayControls, SimulatedMarketplace):
    """One eBay seller account (and the app it authorised), served over HTTP.

    ``client_id`` / ``client_secret``: the app's keyset (the token endpoint's Basic
    auth); ``refresh_token``: the seller's consent, good until revoked; ``ru_name``: the
    app's redirect name. ``marketplace_id``: where the seeded offers are published (its
    currency unless ``currency`` says otherwise). ``notification_url``: where signed
    notifications go (none by default). The rest (:class:`~sandbox.base.Serving`): ``name``
    (default ``"ebay"``), ``host`` / ``port``, and ``rate`` / ``burst`` / ``rate_scale``:
    the token bucket (50 a second, bursts of 100), on ``clock`` (a test passes a
    :class:`~sandbox.clock.ManualClock`, which also expires tokens and turns the
    revision day).
    """

    type = "ebay"

    def __init__(
        self,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        refresh_token: str = DEFAULT_REFRESH_TOKEN,
        ru_name: str = DEFAULT_RU_NAME,
        marketplace_id: str = DEFAULT_MARKETPLACE,
        currency: str | None = None,
        seller_id: str = DEFAULT_SELLER,
        notification_url: str | None = None,
        delivery_timeout_s: float = DELIVERY_TIMEOUT_S,
        **serving: Unpack[Serving],
    ) -> None:
        """`delivery_timeout_s`: how long a notification's delivery waits for the receiver
        (tests whose receiver retries a failing eBay call on a loaded machine need longer)."""
        super().__init__(**serving_with(serving, name="ebay", rate=50.0, burst=100))
        self.credentials = EbayCredentials(client_id, client_secret, refresh_token, ru_name)
        self.marketplace_id = marketplace_id
        self.currency = currency or CURRENCIES.get(marketplace_id, "USD")
        self.seller_id = seller_id
        self.signing_key = SigningKey()
        self.sender = NotificationSender(
            self.signing_key, self.clock, notification_url, timeout_s=delivery_timeout_s
        )
        self.exchange_log = ExchangeLog()
        self.issuer = TokenIssuer(self.credentials, self.clock)
        self._new_state()

    def _new_state(self) -> None:
        self.catalogue = Catalogue(self.clock, self.marketplace_id, self.currency)
        self.book = OrderBook(
            self.stamper,
            marketplace_id=self.marketplace_id,
            currency=self.currency,
            seller_id=self.seller_id,
            publish=self.sender.publish,
        )
        self.order_feed = OrderFeed(self.book, self.faults, self._fault_served)

    def _reset_state(self) -> None:
        # No order outlives a reset, so stamps may start again from the clock (which a
        # test may have set back).
        self.stamper = MonotonicStamper(self.clock)
        self._new_state()
        self.issuer.reset_grants()
        self.sender.clear()
        self.exchange_log.clear()

    def stop(self) -> None:
        super().stop()
        self.sender.close()

    @property
    def token_url(self) -> str:
        return f"{self.url}{TOKEN_PATH}"

    def consent_url(self, scopes: str = "", state: str = "") -> str:
        """The consent page's URL for this app (what ``ebay-install`` prints)."""
        query = {
            "client_id": self.credentials.client_id,
            "redirect_uri": self.credentials.ru_name,
            "response_type": "code",
            "scope": scopes or " ".join(CONSENT_SCOPES),
        }
        if state:
            query["state"] = state
        return f"{self.url}{AUTHORIZE_PATH}?{urlencode(query)}"

    # HTTP ---------------------------------------------------------------------------

    def build_app(self) -> ASGIApp:
        routes = [
            Route(TOKEN_PATH, self._token, methods=["POST"]),
            Route(AUTHORIZE_PATH, self._authorize, methods=["GET"]),
            *(self._route(operation) for operation in OPERATIONS),
            Route("/_simulator/health", self._health, methods=["GET"]),
            Route("/_simulator/state", self._state, methods=["GET"]),
            *order_control_routes(self.name, self.type, EbayDesk(self)),
            Route("/{path:path}", self._not_found, methods=_ALL_METHODS),
        ]
        return Router(routes=routes, redirect_slashes=False)

    def _route(self, operation: Operation) -> Route:
        async def endpoint(request: Request) -> Response:
            return await self._serve(request, operation)

        return Route(operation.path, endpoint, methods=[operation.method])

    def is_authorised(self, request: Request) -> bool:
        return self.issuer.lookup(_bearer(request)) is not None

    async def _serve(self, request: Request, operation: Operation) -> Response:
        """Authenticate, throttle and fault (:meth:`admit`), check the token's scope,
        answer from the state, and keep the exchange."""
        request_json, readable = _json_of(await request.body())
        query = dict(request.query_params)
        context = _current_api.set(operation.api)
        try:
            response = await self.admit(request, operation.name)
            if response is None:
                response = self._answer(request, operation, query, request_json, readable)
        finally:
            _current_api.reset(context)
        self._record(operation.name, request, query, request_json, response)
        return response

    def _answer(
        self,
        request: Request,
        operation: Operation,
        query: dict[str, str],
        request_json: Any,
        readable: bool,
    ) -> Response:
        access = self.issuer.lookup(_bearer(request))
        if access is None:  # expired since admit() looked
            return self.unauthorised_response()
        if operation.scopes is not None and (
            access.kind != USER or not access.scopes & operation.scopes
        ):
            return self._error(
                EbayApiError(
                    403,
                    INSUFFICIENT_PERMISSIONS,
                    ACCESS_DOMAIN,
                    "Insufficient permissions to fulfill the request.",
                )
            )
        if operation.method == "POST" and not readable:
            return self._error(
                EbayApiError(
                    400,
                    operation.api.invalid_input,
                    operation.api.domain,
                    "Invalid input data. The request body is not valid JSON.",
                )
            )
        call = Call(
            path_params=dict(request.path_params),
            query=query,
            body=request_json,
            base_url=str(request.base_url).rstrip("/"),
        )
        try:
            with self._lock:
                answer = operation.handle(self, call)
        except EbayApiError as error:
            return self._error(error)
        if answer.body is None:
            return Response(status_code=answer.status, headers=answer.headers)
        return self.json_response(answer.body, answer.status, answer.headers)

    def _error(self, error: EbayApiError) -> Response:
        return self.json_response(error.body(), error.status)

    def _record(
        self,
        operation: str,
        request: Request,
        query: dict[str, str],
        request_json: Any,
        response: Response,
        *,
        hide_tokens: bool = False,
    ) -> None:
        response_json, _ = _json_of(bytes(response.body))
        self.exchange_log.add(
            Exchange(
                operation=operation,
                method=request.method,
                path=request.url.path,
                query=query,
                request_json=request_json,
                status=response.status_code,
                response_json=masked(response_json) if hide_tokens else response_json,
            )
        )

    def _fault_served(self, kind: str) -> None:
        with self._lock:
            self._faults_served[kind] += 1

    # OAuth ----------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        with self._lock:
            self._requests[TOKEN_OPERATION] += 1
        response = await self._token_fault()
        if response is None:
            form = token_form(await request.body(), request.headers.get("content-type", ""))
            status, body = self.issuer.exchange(form, request.headers.get("authorization"))
            response = JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})
        query = dict(request.query_params)
        self._record(TOKEN_OPERATION, request, query, None, response, hide_tokens=True)
        return response

    async def _token_fault(self) -> Response | None:
        fault = self.faults.take(TOKEN_OPERATION, HTTP_FAULTS)
        if fault is None:
            return None
        self._fault_served(fault.kind)
        if fault.kind in ("429", "500", "503"):
            body = {"error": "server_error", "error_description": "Temporary failure, try again."}
            headers = {"Retry-After": format_retry_after(fault.seconds or 1.0)}
            return JSONResponse(body, status_code=int(fault.kind), headers=headers)
        if fault.kind == "malformed_json":
            return Response(b'{"access_token": "v^1.1#', 200, media_type="application/json")
        await self.pause(fault.seconds or 0.0)  # slow and timeout: late, then normal
        return None

    async def _authorize(self, request: Request) -> Response:
        status, answer = self.issuer.authorize(dict(request.query_params))
        if isinstance(answer, str):
            return RedirectResponse(answer, status_code=status)
        return JSONResponse(answer, status_code=status)

    # eBay's error answers ---------------------------------------------------------------

    def rate_limit_headers(self) -> dict[str, str]:
        return {}  # eBay publishes call limits per day, not per response

    def unauthorised_response(self) -> Response:
        detail = error_detail(INVALID_ACCESS_TOKEN, OAUTH_DOMAIN, "Invalid access token")
        detail["longMessage"] = (
            "Invalid access token. Check the value of the Authorization HTTP request header."
        )
        return self.json_response({"errors": [detail]}, 401)

    def rate_limited_response(self, wait_s: float) -> Response:
        body = error_body(
            TOO_MANY_REQUESTS,
            ACCESS_DOMAIN,
            "Too many requests. The request limit has been reached for the resource.",
        )
        return self.json_response(body, 429, {"Retry-After": format_retry_after(wait_s)})

    def server_error_response(self) -> Response:
        api = _current_api.get()
        body = error_body(api.system_error, api.domain, "A system error has occurred.", APPLICATION)
        return self.json_response(body, 500)

    def service_unavailable_response(self) -> Response:
        api = _current_api.get()
        message = "The service is temporarily unavailable. Try again later."
        return self.json_response(
            error_body(api.system_error, api.domain, message, APPLICATION), 503
        )

    async def _not_found(self, request: Request) -> Response:
        message = f"No eBay resource at {request.method} {request.url.path}."
        return JSONResponse(error_body(2002, ACCESS_DOMAIN, message), status_code=404)

    # inspection ---------------------------------------------------------------------

    async def _health(self, request: Request) -> Response:
        return JSONResponse(
            {
                "ok": True,
                "name": self.name,
                "type": self.type,
                "marketplace_id": self.marketplace_id,
            }
        )

    async def _state(self, request: Request) -> Response:
        return JSONResponse(self.snapshot())

    def snapshot(self) -> JSON:
        """Everything, JSON-ready and detached from the live state (no secrets)."""
        base = self._base_url()
        with self._lock:
            body: JSON = {
                "name": self.name,
                "type": self.type,
                "marketplace_id": self.marketplace_id,
                "seller_id": self.seller_id,
                "public_key_id": self.signing_key.key_id,
                "notification_url": self.sender.url,
                "listings": self._listings_state(),
                "orders": [
                    order_json(order, self.seller_id, base, detailed=True)
                    for order in self.book.orders.values()
                ],
                "shipping_fulfillments": [
                    fulfillment.to_json() | {"orderId": order.order_id}
                    for order in self.book.orders.values()
                    for fulfillment in order.fulfillments
                ],
                "tokens_issued": self.issuer.issued,
                **self.traffic(),
            }
        body["notifications"] = self.sender.notifications()
        return body

    def _listings_state(self) -> list[JSON]:
        return [
            {
                "sku": item.sku,
                "title": item.title,
                "quantity": item.quantity,
                "offers": [
                    {
                        "offerId": offer.offer_id,
                        "listingId": offer.listing_id,
                        "availableQuantity": offer.available_quantity,
                        "price": str(offer.price),
                        "visible": self.catalogue.visible(offer),
                        "revisions_today": self.catalogue.revisions_today(offer.offer_id),
                    }
                    for offer in self.catalogue.offers_of(item.sku)
                ],
            }
            for item in self.catalogue.items.values()
        ]


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _json_of(raw: bytes) -> tuple[Any, bool]:
    """(the parsed JSON or None, whether ``raw`` was empty or JSON)."""
    if not raw.strip():
        return None, True
    try:
        return json.loads(raw), True
    except (ValueError, UnicodeDecodeError):
        return None, False
