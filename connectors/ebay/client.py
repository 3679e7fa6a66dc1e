"""HTTP to eBay's REST APIs: the operations this connector uses, each request through the
engine's call policy with a bearer token, and eBay's error envelope mapped once.

Every operation counts against the daily limit of its API (eBay publishes limits per
API, not per method), so `Operation.api` is what the call policy is given; its `name` is
eBay's operationId, for messages.

A 401 means eBay no longer takes the kept token (expired early, revoked): it is dropped
and the request is sent again once with a fresh one; a second 401 is an AuthError. A 403
is a missing scope (the seller's consent predates one): also an AuthError. eBay's error
body, `{"errors": [{"errorId", "message", ...}]}`, becomes the message as `errorId:
message`. Known secrets and tokens are masked in every message.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from omnisync.connectors.base import (
    AuthError,
    CallPolicy,
    ConnectorError,
    TransientError,
    redacted,
)
from omnisync.connectors.ebay.auth import THROTTLED_WAIT, EbayTokens, TokenKind
from omnisync.connectors.http import USER_AGENT, error_for_status, json_body, send, tls_context
from omnisync.connectors.http import error_detail as http_error_detail

SELL_INVENTORY = "sellInventoryApi"
SELL_FULFILLMENT = "sellFulfillmentApi"
COMMERCE_NOTIFICATION = "commerceNotificationApi"
"""The call-policy operations: one per API, as eBay's daily limits are."""


@dataclass(frozen=True)
class Operation:
    name: str
    """eBay's operationId."""
    api: str
    """The API whose daily limit the call counts against."""
    method: str
    path: str
    """Under the API base URL; `{name}` parts are filled in, escaped."""
    token: TokenKind = TokenKind.USER


GET_ORDERS = Operation("getOrders", SELL_FULFILLMENT, "GET", "/sell/fulfillment/v1/order")
GET_ORDER = Operation("getOrder", SELL_FULFILLMENT, "GET", "/sell/fulfillment/v1/order/{orderId}")
GET_SHIPPING_FULFILLMENTS = Operation(
    "getShippingFulfillments",
    SELL_FULFILLMENT,
    "GET",
    "/sell/fulfillment/v1/order/{orderId}/shipping_fulfillment",
)
CREATE_SHIPPING_FULFILLMENT = Operation(
    "createShippingFulfillment",
    SELL_FULFILLMENT,
    "POST",
    "/sell/fulfillment/v1/order/{orderId}/shipping_fulfillment",
)
GET_INVENTORY_ITEMS = Operation(
    "getInventoryItems", SELL_INVENTORY, "GET", "/sell/inventory/v1/inventory_item"
)
GET_OFFERS = Operation("getOffers", SELL_INVENTORY, "GET", "/sell/inventory/v1/offer")
BULK_UPDATE_PRICE_QUANTITY = Operation(
    "bulkUpdatePriceQuantity",
    SELL_INVENTORY,
    "POST",
    "/sell/inventory/v1/bulk_update_price_quantity",
)
GET_PUBLIC_KEY = Operation(
    "getPublicKey",
    COMMERCE_NOTIFICATION,
    "GET",
    "/commerce/notification/v1/public_key/{public_key_id}",
    TokenKind.APPLICATION,
)


def make_http(
    base_url: str, timeout_seconds: float, transport: httpx.BaseTransport | None
) -> httpx.Client:
    return httpx.Client(
        base_url=base_url,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        timeout=httpx.Timeout(timeout_seconds, connect=min(5.0, timeout_seconds)),
        follow_redirects=False,
        transport=transport,
        verify=tls_context(),
    )


class EbayApi:
    """One channel's requests to eBay's Sell and Commerce APIs."""

    def __init__(self, http: httpx.Client, tokens: EbayTokens, calls: CallPolicy) -> None:
        self.http = http
        self.tokens = tokens
        self.calls = calls

    def call(
        self,
        operation: Operation,
        *,
        path: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        allow: Collection[int] = (),
    ) -> httpx.Response:
        """Send one request; its response when the status is below 400 or in `allow`,
        else the connector error eBay's answer stands for."""
        url = operation.path.format_map({k: quote(v, safe="") for k, v in (path or {}).items()})
        headers = {"Content-Type": "application/json"} if body is not None else {}
        renewed = False
        try:
            while True:
                token = self.tokens.token(operation.token)
                response = self.calls.call(
                    operation.api,
                    self._attempt(operation, url, token, params, body, headers, allow),
                )
                if response.status_code != 401:
                    return response
                self.tokens.forget(operation.token, token)
                if renewed:
                    raise AuthError(
                        f"{operation.name}: eBay refused a fresh access token too "
                        f"({error_detail(response)})"
                    )
                renewed = True
        except ConnectorError as error:
            raise redacted(error, self.tokens.secrets()) from None

    def json(self, operation: Operation, response: httpx.Response) -> dict[str, Any]:
        """The response's JSON object; a body that is not one is a transient fault."""
        payload = json_body(response, operation.name)
        if not isinstance(payload, dict):
            raise TransientError(f"{operation.name}: the answer is not a JSON object")
        return payload

    def _attempt(
        self,
        operation: Operation,
        url: str,
        token: str,
        params: Mapping[str, str] | None,
        body: Any,
        headers: Mapping[str, str],
        allow: Collection[int],
    ) -> Callable[[], httpx.Response]:
        def attempt() -> httpx.Response:
            response = send(
                lambda: self.http.request(
                    operation.method,
                    url,
                    params=dict(params) if params else None,
                    json=body,
                    headers={**headers, "Authorization": f"Bearer {token}"},
                )
            )
            if response.status_code < 400 or response.status_code in (401, *allow):
                return response  # a 401 is renewed by `call`, outside the retries
            raise error_for(operation.name, response)

        return attempt


def error_for(what: str, response: httpx.Response) -> ConnectorError:
    """The connector error an eBay error answer stands for."""
    return error_for_status(
        what,
        response,
        error_detail(response),
        throttled_by="eBay",
        throttled_wait=THROTTLED_WAIT,
        auth_hint=(
            "the seller's consent may lack a scope: run "
            "`omnisync channels ebay-install` for this channel"
        ),
    )


def error_detail(response: httpx.Response) -> str:
    """eBay's errors as `errorId: message; ...`, else the start of the body."""
    return http_error_detail(
        response, lambda body: ebay_errors(body.get("errors") if isinstance(body, dict) else None)
    )


def ebay_errors(errors: Any) -> str:
    """An `errors` array of eBay's Error type in one line: `errorId: message; ...`."""
    if not isinstance(errors, list):
        return ""
    said = []
    for error in errors:
        if not isinstance(error, dict):
            continue
        message = error.get("message") or error.get("longMessage") or ""
        error_id = error.get("errorId")
        said.append(f"{error_id}: {message}" if error_id is not None else str(message))
    return "; ".join(part for part in said if part)
