"""The ``woocommerce`` simulator: one WooCommerce shop's REST API v3 (and, optionally,
the Shipment Tracking extension's routes), on loopback.

Served under ``/wp-json/wc/v3`` at WooCommerce's own paths, answering with the keys and
JSON types of WooCommerce's documented examples (:mod:`sandbox.woocommerce.api`):
orders (list with WooCommerce's filters and WordPress paging headers, retrieve, update),
order notes, products and variations (list, retrieve, update, batch), webhooks (list,
retrieve, create). Refusals are WordPress's ``{"code", "message", "data": {"status"}}``.

Authentication is the API key pair, as HTTP Basic (``consumer_key:consumer_secret``) or
as the ``consumer_key`` / ``consumer_secret`` query parameters (WooCommerce takes both
over HTTPS). Without credentials a call answers 401 ``woocommerce_rest_cannot_view``
(``..._cannot_edit`` / ``..._cannot_create`` for writes), with a wrong key or secret 401
``woocommerce_rest_authentication_error``. An unknown route answers 404
``rest_no_route``, whoever asks (WordPress routes before it checks permissions).

Throttling is the framework's token bucket (20 a second, bursts of 40: a modest shared
host; core WooCommerce publishes no limit), on the simulator's clock: a throttled call
answers 429 ``rate_limit_exceeded`` (the wording of WooCommerce's Store API limiter)
with ``Retry-After``. Faults (:mod:`sandbox.faults`) are injected per operation name
(``listOrders``, ``batchProducts``, ... or ``"*"``); a 500 answers WordPress's
``internal_server_error`` ("critical error") body, a 503 its maintenance message.
Every API call is kept (:meth:`WooControls.requests`), the credentials masked.

Webhooks (:mod:`sandbox.woocommerce.webhooks`): order changes fire ``order.created`` /
``order.updated``, product saves (the owner's stock edits, the API's updates)
``product.updated``; ``duplicate_deliveries=N`` follows every ``order.created`` with N
more deliveries of the same payload (alternately ``order.created`` and
``order.updated``), as woocommerce/woocommerce#28329 reports.

Control: the in-process methods of :class:`sandbox.woocommerce.control.WooControls`,
``GET /_simulator/state`` and ``/_simulator/health``, and the ``/_control`` routes every
marketplace serves (:mod:`sandbox.control_api`, :mod:`sandbox.woocommerce.desk`). A
reset forgets products, orders, notes, webhooks, deliveries and the request log.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
from contextvars import ContextVar
from datetime import date, timedelta
from typing import Any, Final, Unpack

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp

from omnisync.sandbox.base import Serving, SimulatedMarketplace, serving_with
from omnisync.sandbox.clock import MonotonicStamper
from omnisync.sandbox.control_api import order_control_routes
from omnisync.sandbox.ratelimit import format_retry_after
from omnisync.sandbox.woocommerce.api import OPERATIONS, Call, Operation
from omnisync.sandbox.woocommerce.catalogue import Catalogue, StockItem
from omnisync.sandbox.woocommerce.control import WooControls
from omnisync.sandbox.woocommerce.desk import WooCommerceDesk
from omnisync.sandbox.woocommerce.model import JSON, IdSequence, SiteClock, WooApiError
from omnisync.sandbox.woocommerce.order_view import order_json
from omnisync.sandbox.woocommerce.orders import Order, OrderBook
from omnisync.sandbox.woocommerce.product_view import product_json
from omnisync.sandbox.woocommerce.webhooks import Webhook, WebhookSender

DEFAULT_CONSUMER_KEY: Final = "ck_omnisync_sandbox_0000000000000000000000"
DEFAULT_CONSUMER_SECRET: Final = "cs_omnisync_sandbox_0000000000000000000000"  # noqa: S105
DEFAULT_WEBHOOK_SECRET: Final = "omnisync-sandbox-webhook-secret"  # noqa: S105
CREDENTIAL_PARAMS: Final = ("consumer_key", "consumer_secret")
MASK: Final = "***"
FIRST_POST_ID: Final = 100
_ALL_METHODS: Final = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
CRITICAL_ERROR: Final = (
    "<p>There has been a critical error on this website.</p><p><a href="
    '"https://wordpress.org/documentation/article/faq-troubleshooting/">Learn more about '
    "troubleshooting WordPress.</a></p>"
)

_refusal: ContextVar[WooApiError | None] = ContextVar("woocommerce_refusal", default=None)
"""Why the request being served is not authenticated (None: it is)."""


class WooCommerceSimulator(WooControls, SimulatedMarketplace):
    """One WooCommerce shop, served over HTTP.

    ``consumer_key`` / ``consumer_secret``: the REST API key pair; ``webhook_secret``:
    what the webhooks :meth:`send_webhooks_to` creates are signed with;
    ``shipment_tracking``: serve the Shipment Tracking extension's routes;
    ``duplicate_deliveries``: extra deliveries after each ``order.created``;
    ``utc_offset``: the site's time zone (dates are shown in it and in GMT). The rest
    (:class:`~sandbox.base.Serving`): ``name`` (default ``"woocommerce"``), ``host`` /
    ``port``, and ``rate`` / ``burst`` / ``rate_scale`` on ``clock``.
    """

    type = "woocommerce"

    def __init__(
        self,
        *,
        consumer_key: str = DEFAULT_CONSUMER_KEY,
        consumer_secret: str = DEFAULT_CONSUMER_SECRET,
        webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
        shipment_tracking: bool = False,
        duplicate_deliveries: int = 0,
        currency: str = "USD",
        utc_offset: timedelta = timedelta(0),
        **serving: Unpack[Serving],
    ) -> None:
        super().__init__(**serving_with(serving, name="woocommerce", rate=20.0, burst=40))
        if duplicate_deliveries < 0:
            raise ValueError("duplicate_deliveries must be 0 or more")
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.webhook_secret = webhook_secret
        self.shipment_tracking = shipment_tracking
        self.duplicate_deliveries = duplicate_deliveries
        self.currency = currency
        self.site = SiteClock(utc_offset)
        self.webhooks = WebhookSender(source="http://127.0.0.1/")
        self._request_log: list[JSON] = []
        self._new_state()

    def __repr__(self) -> str:
        return f"WooCommerceSimulator(name={self.name!r})"

    def _new_state(self) -> None:
        ids = IdSequence(FIRST_POST_ID)
        self.catalogue = Catalogue(ids, self.stamper)
        self.book = OrderBook(
            self.stamper,
            self.catalogue,
            ids=ids,
            currency=self.currency,
            announce=self._order_changed,
        )

    def _reset_state(self) -> None:
        self.stamper = MonotonicStamper(self.clock)
        self._new_state()
        self.webhooks.remove_all()
        self.webhooks.clear()
        self._request_log.clear()

    def start(self) -> str:
        url = super().start()
        self.webhooks.source = f"{url}/"
        return url

    def stop(self) -> None:
        super().stop()
        self.webhooks.close()

    def site_today(self) -> date:
        """Today in the site's time zone."""
        return (self.clock.now() + self.site.utc_offset).date()

    # events -------------------------------------------------------------------------

    def _order_changed(self, event: str, order: Order) -> None:
        extras: tuple[str, ...] = ()
        if event == "created":
            extras = tuple(
                "order.created" if number % 2 == 0 else "order.updated"
                for number in range(self.duplicate_deliveries)
            )
        payload = order_json(order, self.site, self._base_url())
        self.webhooks.publish(f"order.{event}", payload, extras)

    def product_changed(self, item: StockItem, event: str = "updated") -> None:
        """A product or variation was saved (or created, or deleted): its webhook."""
        payload: JSON = (
            {"id": item.id}
            if event == "deleted"
            else product_json(item, self.catalogue, self.site, self._base_url())
        )
        self.webhooks.publish(f"product.{event}", payload)

    def new_webhook(
        self, topic: str, url: str, secret: str | None, *, name: str = "", status: str = "active"
    ) -> Webhook:
        """A webhook (pinged when active); WooCommerce makes up a secret when none is given."""
        now = self.stamper.stamp()
        hook = Webhook(
            id=self.webhooks.ids.next(),
            name=name or f"Webhook created on {self.site.local(now)}",
            topic=topic,
            delivery_url=url,
            secret=secret or secrets.token_urlsafe(32),
            created=now,
            modified=now,
            status=status,
        )
        return self.webhooks.create(hook)

    # HTTP ---------------------------------------------------------------------------

    def build_app(self) -> ASGIApp:
        routes = [
            *(self._route(operation) for operation in OPERATIONS),
            Route("/_simulator/health", self._health, methods=["GET"]),
            Route("/_simulator/state", self._state, methods=["GET"]),
            *order_control_routes(self.name, self.type, WooCommerceDesk(self)),
            Route("/{path:path}", self._not_found, methods=_ALL_METHODS),
        ]
        return Router(routes=routes, redirect_slashes=False)

    def _route(self, operation: Operation) -> Route:
        async def endpoint(request: Request) -> Response:
            if operation.extension and not self.shipment_tracking:
                return await self._not_found(request)
            return await self._serve(request, operation)

        return Route(operation.path, endpoint, methods=list(operation.methods))

    def is_authorised(self, request: Request) -> bool:
        return _refusal.get() is None

    async def _serve(self, request: Request, operation: Operation) -> Response:
        raw = await request.body()
        body, readable = _json_of(raw)
        context = _refusal.set(self._authenticate(request))
        try:
            response = await self.admit(request, operation.name)
        finally:
            _refusal.reset(context)
        if response is None:
            response = self._answer(request, operation, body, readable)
        self._record(operation.name, request, body, response.status_code)
        return response

    def _answer(
        self, request: Request, operation: Operation, body: Any, readable: bool
    ) -> Response:
        if not readable:
            return self._error(WooApiError(400, "rest_invalid_json", "Invalid JSON body passed."))
        base = str(request.base_url).rstrip("/")
        call = Call(
            path_params=dict(request.path_params),
            query=_without_credentials(request),
            body=body,
            base=base,
            url=f"{base}{request.url.path}",
        )
        try:
            with self._lock:
                answer = operation.handle(self, call)
        except WooApiError as error:
            return self._error(error)
        return self.json_response(answer.body, answer.status, answer.headers)

    def _authenticate(self, request: Request) -> WooApiError | None:
        """Why the request's credentials are refused, or None when they are good."""
        key, secret = _credentials(request)
        if key is None:
            return _no_credentials(request.method)
        if not hmac.compare_digest(key.encode(), self.consumer_key.encode()):
            return WooApiError(
                401, "woocommerce_rest_authentication_error", "Consumer key is invalid."
            )
        if not hmac.compare_digest((secret or "").encode(), self.consumer_secret.encode()):
            return WooApiError(
                401, "woocommerce_rest_authentication_error", "Consumer secret is invalid."
            )
        return None

    def _record(self, operation: str | None, request: Request, body: Any, status: int) -> None:
        query = {
            name: (MASK if name in CREDENTIAL_PARAMS else value)
            for name, value in request.query_params.items()
        }
        entry = {
            "operation": operation,
            "method": request.method,
            "path": request.url.path,
            "query": query,
            "body": body,
            "status": status,
        }
        with self._lock:
            self._request_log.append(entry)

    def _error(self, error: WooApiError) -> Response:
        return self.json_response(error.body(), error.status)

    # responses in WordPress's dialect -----------------------------------------------------

    def rate_limit_headers(self) -> dict[str, str]:
        return {}  # core WooCommerce's REST API sends no rate limit headers

    def unauthorised_response(self) -> Response:
        refusal = _refusal.get() or _no_credentials("GET")
        return self._error(refusal)

    def rate_limited_response(self, wait_s: float) -> Response:
        body = WooApiError(
            429, "rate_limit_exceeded", "Too many requests. Please wait and try again."
        )
        return self.json_response(body.body(), 429, {"Retry-After": format_retry_after(wait_s)})

    def server_error_response(self) -> Response:
        error = WooApiError(500, "internal_server_error", CRITICAL_ERROR)
        return self.json_response({**error.body(), "additional_errors": []}, 500)

    def service_unavailable_response(self) -> Response:
        error = WooApiError(
            503,
            "maintenance",
            "Briefly unavailable for scheduled maintenance. Check back in a minute.",
        )
        return self._error(error)

    async def _not_found(self, request: Request) -> Response:
        error = WooApiError(
            404, "rest_no_route", "No route was found matching the URL and request method."
        )
        if request.url.path.startswith("/wp-json/"):
            self._record(None, request, None, 404)
        return self._error(error)

    # inspection ---------------------------------------------------------------------

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"ok": True, "name": self.name, "type": self.type})

    async def _state(self, request: Request) -> Response:
        return JSONResponse(self.snapshot())

    def snapshot(self) -> JSON:
        """Everything, JSON-ready and detached from the live state (no secrets)."""
        with self._lock:
            body: JSON = {
                "name": self.name,
                "type": self.type,
                "shipment_tracking": self.shipment_tracking,
                "duplicate_deliveries": self.duplicate_deliveries,
                "products": [self._product_json(item) for item in self.catalogue.products()],
                "stock": self.catalogue.stock(),
                "orders": self.orders(),
                "webhooks": [
                    hook.to_json(self.site, self._base_url())
                    for hook in self.webhooks.webhooks.values()
                ],
                **self.traffic(),
            }
        body["deliveries"] = [
            {key: value for key, value in delivery.items() if key != "raw_body"}
            for delivery in self.deliveries()
        ]
        return body


def _credentials(request: Request) -> tuple[str | None, str | None]:
    """(key, secret) from HTTP Basic, else from the query; (None, None) when neither."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and encoded.strip():
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        basic_key, _, basic_secret = decoded.partition(":")
        return basic_key, basic_secret
    query_key = request.query_params.get("consumer_key")
    if query_key is not None:
        return query_key, request.query_params.get("consumer_secret")
    return None, None


def _no_credentials(method: str) -> WooApiError:
    """What WooCommerce's permission checks answer a request with no user."""
    if method == "GET":
        return WooApiError(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
    if method == "POST":
        return WooApiError(
            401, "woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."
        )
    return WooApiError(
        401, "woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."
    )


def _without_credentials(request: Request) -> dict[str, str]:
    return {
        name: value for name, value in request.query_params.items() if name not in CREDENTIAL_PARAMS
    }


def _json_of(raw: bytes) -> tuple[Any, bool]:
    """(the parsed JSON or None, whether ``raw`` was empty or JSON)."""
    if not raw.strip():
        return None, True
    try:
        return json.loads(raw), True
    except (ValueError, UnicodeDecodeError):
        return None, False
