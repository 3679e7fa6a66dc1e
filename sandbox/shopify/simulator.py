"""The ``shopify`` simulator: Shopify's Admin GraphQL API (2026-10) on loopback.

``POST /admin/api/2026-10/graphql.json`` with ``{"query", "variables",
"operationName"}`` and the ``X-Shopify-Access-Token`` header. Every document is
parsed and validated against Shopify's official schema (:mod:`sandbox.shopify.schema`)
and executed by graphql-core over the simulated shop (:mod:`sandbox.shopify.graph`,
:mod:`sandbox.shopify.state`). What the hub's connector sends is supported in full:
``shop``, ``locations``, ``orders`` (``updated_at``/``created_at`` filters, sort keys
UPDATED_AT, CREATED_AT, ID), ``order`` with ``lineItems`` and ``fulfillmentOrders``,
``productVariants`` with inventory levels, ``inventoryItem.inventoryLevel``,
``inventorySetQuantities``, ``fulfillmentCreate`` and ``orderCancel``; for returns,
``Order.returns`` and ``return`` with their line items, reverse fulfillment orders
(dispositions, reverse deliveries) and refunds, ``Return.suggestedFinancialOutcome``,
``Order.suggestedRefund``, ``returnApproveRequest``, ``returnDeclineRequest``,
``returnProcess`` and ``refundCreate`` (:mod:`sandbox.shopify.state_returns` has the rules).

Rate limiting is Shopify's: a leaky bucket of query cost (1000 points, 100 restored
per second by default). The requested cost of a document comes from Shopify's
documented calculator (:class:`sandbox.shopify.schema.CostCalculator`: scalars and
enums 0, objects 1, connections 2 + ``first`` x one node, each mutation field 10); it
is charged before execution and the difference to the actual cost (computed over
the result: the nodes really returned) is refunded after. A document whose requested
cost exceeds what the bucket holds gets ``THROTTLED`` and runs nothing; one above
``max_query_cost`` (1000, as Shopify) gets ``MAX_COST_EXCEEDED``. Every GraphQL
answer carries ``extensions.cost``. The framework's per-request token bucket is not
used.

Faults (:mod:`sandbox.faults`): HTTP faults for endpoint ``"graphql"`` (any document)
or an operation name (``"SetQuantities"``); ``malformed_order`` and
``duplicate_across_pages`` for endpoint ``"orders"`` (the ``orders`` connection).

Control: ``GET /_simulator/state`` and ``/_simulator/health``, the ``/_control``
routes every simulator serves (:mod:`sandbox.control_api`, :mod:`sandbox.shopify.desk`),
and ``/_control/returns`` for the buyer's returns.

Webhooks (:mod:`sandbox.shopify.webhooks`): with ``webhook_url`` set, order changes
post signed ``orders/create``, ``orders/updated`` and ``orders/cancelled`` deliveries,
and returns their ``returns/*`` topics (each with ``orders/updated``: a return changes
its order's ``updatedAt``) and ``reverse_deliveries/attach_deliverable`` (add
``inventory_levels/update`` to ``webhook_topics`` for level changes).
"""

from __future__ import annotations

import hmac
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, TypeVar

from graphql import GraphQLError, OperationType, execute_sync, get_operation_ast, parse
from graphql.execution.values import get_variable_values
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp

from omnisync.hub.http_server import DEFAULT_HOST
from omnisync.sandbox.base import SimulatedMarketplace
from omnisync.sandbox.clock import Clock
from omnisync.sandbox.control_api import order_control_routes
from omnisync.sandbox.faults import HTTP_FAULTS
from omnisync.sandbox.shopify.control import ShopControls
from omnisync.sandbox.shopify.cost import CostBucket, CostCalculator
from omnisync.sandbox.shopify.desk import ShopifyDesk, return_control_routes
from omnisync.sandbox.shopify.graph import ALL_SCOPES, ShopGraph, granted_scopes
from omnisync.sandbox.shopify.model import JSON, Event, ShopifySimulatorError
from omnisync.sandbox.shopify.schema import format_error, load_schema, validation_errors
from omnisync.sandbox.shopify.state import ShopState
from omnisync.sandbox.shopify.state_orders import fulfillment_json
from omnisync.sandbox.shopify.webhooks import (
    API_VERSION,
    WebhookSender,
    level_payload,
    order_payload,
    return_payload,
)

__all__ = [
    "ALL_SCOPES",
    "API_VERSION",
    "RETURN_TOPICS",
    "ShopifySimulator",
    "ShopifySimulatorError",
]

DEFAULT_ACCESS_TOKEN: Final = "shpat_simulator_token"  # noqa: S105 (a loopback test server's default)
DEFAULT_CLIENT_SECRET: Final = "shpss_simulator_secret"  # noqa: S105
DEFAULT_SHOP: Final = "omnisync-demo.myshopify.com"
ORDER_TOPICS: Final = ("orders/create", "orders/updated", "orders/cancelled")
RETURN_TOPICS: Final = (
    "returns/request",
    "returns/approve",
    "returns/decline",
    "returns/cancel",
    "returns/close",
    "returns/process",
    "reverse_deliveries/attach_deliverable",
)
GRAPHQL: Final = "graphql"
GRAPHQL_PATH: Final = f"/admin/api/{API_VERSION}/graphql.json"
MAX_QUERY_COST: Final = 1000
UNAUTHORISED: Final = "[API] Invalid API key or access token (unrecognized login or wrong password)"
RATE_LIMITS_DOC: Final = "https://shopify.dev/api/usage/rate-limits"
_ALL_METHODS: Final = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

T = TypeVar("T")


class ShopifySimulator(ShopControls, SimulatedMarketplace):
    """One Shopify shop (and one app installed on it), served over HTTP.

    ``access_token``: what ``X-Shopify-Access-Token`` must carry. ``scopes``: the
    access scopes granted to the app (default :data:`ALL_SCOPES`; a write scope
    implies its read scope). ``bucket_size`` / ``restore_rate`` / ``rate_scale``: the
    leaky bucket of query cost. ``max_query_cost``: the single-query limit (None
    lifts it; a document dearer than the whole bucket is then charged the whole
    bucket). ``webhook_url`` / ``client_secret`` / ``webhook_topics``: where signed
    webhooks go, the key they are signed with, and which topics are sent. ``clock``:
    the shop's time, which the cost bucket also restores on (a test passes a
    :class:`~sandbox.clock.ManualClock` and steps it).
    """

    type = "shopify"

    def __init__(
        self,
        access_token: str = DEFAULT_ACCESS_TOKEN,
        *,
        name: str = "shopify",
        shop: str = DEFAULT_SHOP,
        shop_name: str = "Omnisync Demo",
        scopes: Iterable[str] | None = None,
        bucket_size: float = 1000.0,
        restore_rate: float = 100.0,
        rate_scale: float = 1.0,
        max_query_cost: int | None = MAX_QUERY_COST,
        webhook_url: str | None = None,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        webhook_topics: Iterable[str] = ORDER_TOPICS + RETURN_TOPICS,
        currency: str = "USD",
        clock: Clock | None = None,
        host: str = DEFAULT_HOST,
        port: int = 0,
    ) -> None:
        super().__init__(
            name=name,
            rate=restore_rate,
            burst=max(1, int(bucket_size)),
            rate_scale=rate_scale,
            clock=clock,
            host=host,
            port=port,
        )
        self.access_token = access_token
        self.shop = shop
        self.shop_name = shop_name
        self.currency = currency
        self.max_query_cost = max_query_cost
        self.bucket = CostBucket(
            bucket_size, restore_rate, scale=rate_scale, monotonic=self.clock.monotonic
        )
        self.webhook_topics = frozenset(webhook_topics)
        self.webhooks = WebhookSender(webhook_url, client_secret, shop)
        self._scopes = granted_scopes(ALL_SCOPES if scopes is None else scopes)
        self._throttled = 0
        self.state = ShopState(self.stamper, currency=currency)

    def _reset_state(self) -> None:
        self.state = ShopState(self.stamper, currency=self.currency)
        self.bucket.set_available(self.bucket.maximum)
        self.webhooks.clear()
        self._throttled = 0

    @property
    def graphql_url(self) -> str:
        """``http://127.0.0.1:PORT/admin/api/2026-10/graphql.json``."""
        return f"{self.url}{GRAPHQL_PATH}"

    def stop(self) -> None:
        super().stop()
        self.webhooks.close()

    # HTTP ---------------------------------------------------------------------------

    def build_app(self) -> ASGIApp:
        # Exact paths only, as documented: no redirect from ".../graphql.json/".
        return Router(
            routes=[
                Route("/admin/api/{version}/graphql.json", self._graphql, methods=["POST"]),
                Route("/_simulator/health", self._health, methods=["GET"]),
                Route("/_simulator/state", self._state, methods=["GET"]),
                *order_control_routes(self.name, self.type, ShopifyDesk(self)),
                *return_control_routes(self),
                Route("/{path:path}", self._not_found, methods=_ALL_METHODS),
            ],
            redirect_slashes=False,
        )

    async def _not_found(self, request: Request) -> Response:
        return JSONResponse({"errors": "Not Found"}, status_code=404)

    def is_authorised(self, request: Request) -> bool:
        token = request.headers.get("x-shopify-access-token", "")
        return bool(token) and hmac.compare_digest(token.encode(), self.access_token.encode())

    async def _graphql(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            body = None
        name = body.get("operationName") if isinstance(body, dict) else None
        endpoint = name if isinstance(name, str) and name else GRAPHQL
        with self._lock:
            self._requests[endpoint] += 1
        if not self.is_authorised(request):
            return self.unauthorised_response()
        if request.path_params["version"] != API_VERSION:
            return self.json_response({"errors": "Not Found"}, 404)
        fault = self.faults.take(endpoint, HTTP_FAULTS) if endpoint != GRAPHQL else None
        fault = fault or self.faults.take(GRAPHQL, HTTP_FAULTS)
        if fault is not None:
            with self._lock:
                self._faults_served[fault.kind] += 1
            early = await self.apply_http_fault(fault)
            if early is not None:
                return early
        query = body.get("query") if isinstance(body, dict) else None
        variables = (body.get("variables") if isinstance(body, dict) else None) or {}
        if not isinstance(query, str) or not isinstance(variables, dict):
            bad = {"errors": {"query": "Required parameter missing or invalid"}}
            return self.json_response(bad, 400)
        return self.json_response(
            self.execute(query, variables, name if endpoint != GRAPHQL else None)
        )

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"ok": True, "name": self.name, "type": self.type, "shop": self.shop})

    async def _state(self, request: Request) -> Response:
        return JSONResponse(self.snapshot())

    def rate_limit_headers(self) -> dict[str, str]:
        return {}  # Shopify's GraphQL API reports its bucket in extensions.cost instead

    def unauthorised_response(self) -> Response:
        return self.json_response({"errors": UNAUTHORISED}, 401)

    def rate_limited_response(self, wait_s: float) -> Response:
        body = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}
        return self.json_response(body, 429, {"Retry-After": f"{max(wait_s, 0.001):g}"})

    def server_error_response(self) -> Response:
        request_id = str(uuid.uuid4())
        message = (
            "Internal error. Looks like something went wrong on our end.\n"
            f"Request ID: {request_id} (include this in support requests)."
        )
        extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
        return self.json_response({"errors": [{"message": message, "extensions": extensions}]}, 500)

    # GraphQL ------------------------------------------------------------------------

    def execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> JSON:
        """Run one document the way the endpoint does (cost charged), without HTTP."""
        schema = load_schema()
        try:
            document = parse(query)
        except GraphQLError as error:
            return self._refused([format_error(error, "PARSE_ERROR")])
        invalid = validation_errors(schema, document)
        if invalid:
            return self._refused(invalid)
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation == OperationType.SUBSCRIPTION:
            wanted = (
                f'named "{operation_name}"' if operation_name else "to run (give operationName)"
            )
            missing = {
                "message": f"No operation {wanted}.",
                "extensions": {"code": "OPERATION_NOT_FOUND"},
            }
            return self._refused([missing])
        coerced = get_variable_values(
            schema, operation.variable_definitions or [], dict(variables or {})
        )
        if isinstance(coerced, list):
            return self._refused([format_error(error, "INVALID_VARIABLE") for error in coerced])
        calculator = CostCalculator(schema, document, operation, coerced)
        requested = calculator.requested()
        if self.max_query_cost is not None and requested > self.max_query_cost:
            return self._refused([self._too_costly(requested, self.max_query_cost)], requested)
        charge = (
            requested if self.max_query_cost is not None else min(requested, self.bucket.maximum)
        )
        if not self.bucket.try_charge(charge):
            with self._lock:
                self._throttled += 1
            throttled = {
                "message": "Throttled",
                "extensions": {"code": "THROTTLED", "documentation": RATE_LIMITS_DOC},
            }
            return self._refused([throttled], requested)
        with self._lock:
            graph = ShopGraph(
                self.state,
                scopes=self._scopes,
                shop_name=self.shop_name,
                domain=self.shop,
                faults=self.faults,
                on_fault=self._fault_served,
            )
            result = execute_sync(
                schema,
                document,
                root_value=graph.root(operation.operation),
                variable_values=dict(variables or {}),
                operation_name=operation_name,
            )
            deliveries = self._deliveries(self.state.take_events())
        self._send(deliveries)
        data = result.data
        if data is None and result.errors:
            data = dict.fromkeys(calculator.root_response_keys())
        actual = min(calculator.actual(data), requested)
        self.bucket.refund(charge - min(actual, charge))
        body: JSON = {}
        if result.errors:
            body["errors"] = [format_error(error) for error in result.errors]
        body["data"] = data
        body["extensions"] = {"cost": self._cost(requested, actual)}
        return body

    def _refused(self, errors: list[JSON], requested: int = 0) -> JSON:
        """Errors and nothing run: no data, the cost extension all the same."""
        return {"errors": errors, "extensions": {"cost": self._cost(requested, None)}}

    def _cost(self, requested: int, actual: int | None) -> JSON:
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": self.bucket.status(),
        }

    @staticmethod
    def _too_costly(requested: int, limit: int) -> JSON:
        message = (
            f"Query cost is {requested}, which exceeds the single query max cost limit "
            f"({limit}).\n\nSee https://shopify.dev/concepts/about-apis/rate-limits for more "
            "information on how the\ncost of a query is calculated.\n\nTo query larger amounts "
            "of data with fewer limits, bulk operations should be used instead.\nSee "
            "https://shopify.dev/api/usage/bulk-operations/queries for usage details.\n"
        )
        extensions = {
            "code": "MAX_COST_EXCEEDED",
            "cost": requested,
            "maxCost": limit,
            "documentation": RATE_LIMITS_DOC,
        }
        return {"message": message, "extensions": extensions}

    def _fault_served(self, kind: str) -> None:
        self._faults_served[kind] += 1  # called from a resolver, under the lock

    # webhooks -----------------------------------------------------------------------

    def _deliveries(self, events: Sequence[Event]) -> list[tuple[str, JSON]]:
        """(topic, payload) for the events subscribers hear about (under the lock)."""
        out: list[tuple[str, JSON]] = []
        for event in events:
            if event.topic not in self.webhook_topics:
                continue
            if event.return_number is not None:
                record = self.state.returns[event.return_number]
                order = self.state.orders[record.order_number]
                out.append((event.topic, return_payload(event.topic, record, order)))
            elif event.order is not None:
                out.append((event.topic, order_payload(self.state.orders[event.order], self.shop)))
            elif event.level is not None:
                item, location = event.level
                if item in self.state.items:
                    out.append((event.topic, level_payload(self.state.items[item], location)))
        return out

    def _send(self, deliveries: Sequence[tuple[str, JSON]]) -> None:
        if not deliveries:
            return
        event_id = str(uuid.uuid4())  # one merchant action, one event id
        moment = self.clock.now()
        for topic, payload in deliveries:
            self.webhooks.send(topic, payload, event_id, moment)

    def _change(self, action: Callable[[ShopState], T]) -> T:
        """Run a control operation under the lock, then deliver what it triggered."""
        with self._lock:
            result = action(self.state)
            deliveries = self._deliveries(self.state.take_events())
        self._send(deliveries)
        return result

    def set_webhook_url(self, url: str | None) -> None:
        self.webhooks.url = url

    def webhook_deliveries(self) -> list[JSON]:
        """Every delivery: topic, webhook id, attempts with their status codes."""
        return self.webhooks.deliveries()

    def redeliver(self, webhook_id: str) -> None:
        """Send a delivery again, same webhook id and body (for deduplication tests)."""
        self.webhooks.redeliver(webhook_id)

    def wait_for_webhooks(self, timeout: float = 5.0) -> bool:
        """Wait until every queued delivery was attempted; False on timeout."""
        return self.webhooks.wait(timeout)

    # control: access and limits -------------------------------------------------------

    def set_scopes(self, scopes: Iterable[str]) -> None:
        """The access scopes granted to the app from now on."""
        with self._lock:
            self._scopes = granted_scopes(scopes)

    @property
    def scopes(self) -> frozenset[str]:
        return self._scopes

    def set_cost_limits(
        self,
        *,
        bucket_size: float | None = None,
        restore_rate: float | None = None,
        scale: float | None = None,
    ) -> None:
        self.bucket.configure(maximum=bucket_size, restore_rate=restore_rate, scale=scale)

    def set_rate_limit(
        self, *, rate: float | None = None, burst: int | None = None, scale: float | None = None
    ) -> None:
        """The framework's knob, mapped onto the cost bucket (burst: size, rate: restore)."""
        self.set_cost_limits(bucket_size=burst, restore_rate=rate, scale=scale)

    def throttle_status(self) -> JSON:
        return self.bucket.status()

    @property
    def throttled_count(self) -> int:
        """Calls answered THROTTLED since the last reset."""
        return self._throttled

    def drain_bucket(self, to: float = 0.0) -> None:
        self.bucket.set_available(to)

    def refill_bucket(self) -> None:
        self.bucket.set_available(self.bucket.maximum)

    # inspection -----------------------------------------------------------------------

    def snapshot(self) -> JSON:
        """Everything, JSON-ready and detached from the live state."""
        with self._lock:
            state = self.state
            body: JSON = {
                "name": self.name,
                "type": self.type,
                "shop": self.shop,
                "api_version": API_VERSION,
                "scopes": sorted(self._scopes),
                "throttle_status": self.bucket.status(),
                "max_query_cost": self.max_query_cost,
                "throttled": self._throttled,
                "locations": [state.location_json(loc) for loc in state.locations.values()],
                "products": [state.variant_json(v) for v in state.variants.values()],
                "orders": [state.order_json(state.orders[n]) for n in sorted(state.orders)],
                "fulfillments": [fulfillment_json(f) for f in state.fulfillments.values()],
                "returns": [state.return_json(r) for r in state.returns.values()],
                "inventory_pushes": json.loads(json.dumps(state.adjustments)),
                **self.traffic(),
            }
        body["webhooks"] = self.webhooks.deliveries()
        return body
