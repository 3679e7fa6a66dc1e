"""HTTP to a WooCommerce shop's REST API: the operations this connector uses, each
request through the engine's call policy, and WooCommerce's error body mapped once.

Every request carries the consumer key and secret as HTTP Basic. All of them count
against one bucket (`SHOP_BUCKET`): the shop is one host, whatever the endpoint;
`Operation.name` names the endpoint in messages.

WooCommerce answers an error with `{"code", "message", "data": {"status"}}`:
401/403 is an AuthError (the key was refused or lacks read/write permission), 429 a
RateLimited (Retry-After), 5xx, timeouts and bodies that are not JSON a TransientError,
any other 4xx a PermanentError with WooCommerce's code and message. The channel's
secrets are masked in every message.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack
from urllib.parse import quote

import httpx

from omnisync.connectors.base import (
    CallPolicy,
    ConnectorError,
    TransientError,
    redacted,
)
from omnisync.connectors.http import USER_AGENT, error_for_status, json_body, send, tls_context
from omnisync.connectors.http import error_detail as http_error_detail
from omnisync.connectors.woocommerce.settings import SHOP_BUCKET

REST = "/wp-json/wc/v3"
TRACKING = "/wp-json/wc-shipment-tracking/v3"
THROTTLED_WAIT = 5.0
"""Seconds to wait after a 429 that names no Retry-After (a host's own limiter)."""


@dataclass(frozen=True)
class Operation:
    name: str
    """The endpoint, for messages and logs."""
    method: str
    path: str
    """Under the shop's base URL; `{name}` parts are filled in, escaped."""


LIST_ORDERS = Operation("orders.list", "GET", f"{REST}/orders")
GET_ORDER = Operation("orders.get", "GET", f"{REST}/orders/{{order_id}}")
UPDATE_ORDER = Operation("orders.update", "PUT", f"{REST}/orders/{{order_id}}")
LIST_NOTES = Operation("orders.notes.list", "GET", f"{REST}/orders/{{order_id}}/notes")
CREATE_NOTE = Operation("orders.notes.create", "POST", f"{REST}/orders/{{order_id}}/notes")
LIST_PRODUCTS = Operation("products.list", "GET", f"{REST}/products")
BATCH_PRODUCTS = Operation("products.batch", "POST", f"{REST}/products/batch")
LIST_VARIATIONS = Operation(
    "products.variations.list", "GET", f"{REST}/products/{{product_id}}/variations"
)
BATCH_VARIATIONS = Operation(
    "products.variations.batch", "POST", f"{REST}/products/{{product_id}}/variations/batch"
)
LIST_TRACKINGS = Operation(
    "shipment_trackings.list", "GET", f"{TRACKING}/orders/{{order_id}}/shipment-trackings"
)
CREATE_TRACKING = Operation(
    "shipment_trackings.create", "POST", f"{TRACKING}/orders/{{order_id}}/shipment-trackings"
)


class RequestParts(TypedDict, total=False):
    """What a request says besides its operation (each may be left out)."""

    path: Mapping[str, str | int] | None
    """Fills the operation's `{name}` parts."""
    params: Mapping[str, str | int] | None
    body: Any
    """Sent as JSON."""
    allow: Collection[int]
    """Error statuses answered as they are, not raised."""


def make_http(
    base_url: str,
    consumer_key: str,
    consumer_secret: str,
    timeout_seconds: float,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    return httpx.Client(
        base_url=base_url,
        auth=httpx.BasicAuth(consumer_key, consumer_secret),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        timeout=httpx.Timeout(timeout_seconds, connect=min(5.0, timeout_seconds)),
        follow_redirects=False,
        transport=transport,
        verify=tls_context(),
    )


class WooCommerceApi:
    """One channel's requests to its shop."""

    def __init__(self, http: httpx.Client, calls: CallPolicy, secrets: Sequence[str]) -> None:
        self.http = http
        self.calls = calls
        self.secrets = list(secrets)

    def call(self, operation: Operation, **parts: Unpack[RequestParts]) -> httpx.Response:
        """Send one request (retried by the call policy); its response when the status is
        below 400 or in `allow`, else the connector error WooCommerce's answer stands for."""
        return self.call_with(operation, self.attempt(operation, **parts))

    def call_with(
        self, operation: Operation, attempt: Callable[[], httpx.Response]
    ) -> httpx.Response:
        """Run `attempt` (built with `attempt`, perhaps wrapped) through the call policy."""
        try:
            return self.calls.call(SHOP_BUCKET, attempt)
        except ConnectorError as error:
            raise redacted(error, self.secrets) from None

    def attempt(
        self, operation: Operation, **parts: Unpack[RequestParts]
    ) -> Callable[[], httpx.Response]:
        """One try of the request, raising the connector error of a refusal."""
        path, params = parts.get("path") or {}, parts.get("params") or {}
        body, allow = parts.get("body"), parts.get("allow", ())
        url = operation.path.format_map(
            {key: quote(str(value), safe="") for key, value in path.items()}
        )
        query = {key: str(value) for key, value in params.items()} or None

        def attempt() -> httpx.Response:
            response = send(
                lambda: self.http.request(operation.method, url, params=query, json=body)
            )
            if response.status_code < 400 or response.status_code in allow:
                return response
            raise error_for(operation.name, response)

        return attempt

    def json(self, operation: Operation, response: httpx.Response) -> Any:
        """The response's JSON; a body that is not JSON is a transient fault."""
        try:
            return json_body(response, operation.name)
        except ConnectorError as error:
            raise redacted(error, self.secrets) from None

    def json_object(self, operation: Operation, response: httpx.Response) -> dict[str, Any]:
        payload = self.json(operation, response)
        if not isinstance(payload, dict):
            raise TransientError(f"{operation.name}: the answer is not a JSON object")
        return payload

    def json_list(self, operation: Operation, response: httpx.Response) -> list[Any]:
        payload = self.json(operation, response)
        if not isinstance(payload, list):
            raise TransientError(f"{operation.name}: the answer is not a JSON list")
        return payload


def error_for(what: str, response: httpx.Response) -> ConnectorError:
    """The connector error a WooCommerce error answer stands for."""
    return error_for_status(
        what,
        response,
        error_detail(response),
        throttled_by="the shop",
        throttled_wait=THROTTLED_WAIT,
        auth_hint=(
            "the shop refused the consumer key, or the key lacks Read/Write permission: "
            "WooCommerce > Settings > Advanced > REST API"
        ),
    )


def error_detail(response: httpx.Response) -> str:
    """WooCommerce's error as `code: message`, else the start of the body."""
    return http_error_detail(
        response, lambda body: woo_error(body) if isinstance(body, dict) else ""
    )


def woo_error(error: Mapping[str, Any]) -> str:
    """`{"code", "message"}` in one line: `code: message`."""
    code = error.get("code")
    message = str(error.get("message") or "").strip()
    return f"{code}: {message}" if code else message
