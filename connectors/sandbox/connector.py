"""The sandbox marketplace connector: ORDERS, LISTINGS, STOCK, FULFILMENT, ORDER_CANCEL over
its JSON API."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, ClassVar, Unpack
from urllib.parse import quote

import httpx

from omnisync.connectors.base import (
    Capability,
    Connector,
    ConnectorError,
    ConnectorOptions,
    PermanentError,
    TransientError,
)
from omnisync.connectors.http import check_status, json_body, make_client, send
from omnisync.connectors.pagination import walk_pages
from omnisync.connectors.parsing import kept_json, order_page
from omnisync.connectors.registry import register
from omnisync.connectors.sandbox.mapping import listing_from_json, order_from_json
from omnisync.connectors.sandbox.settings import SandboxSettings
from omnisync.core.dto import (
    ChannelListing,
    Fulfilment,
    OrderPage,
    PushResult,
    StockUpdate,
    WebhookEvents,
)


@register
class SandboxConnector(Connector[SandboxSettings]):
    channel_type: ClassVar[str] = "sandbox"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.ORDERS,
            Capability.LISTINGS,
            Capability.STOCK,
            Capability.FULFILMENT,
            Capability.ORDER_CANCEL,
        }
    )
    stock_batch_size: ClassVar[int] = 100
    refund_hint: ClassVar[str] = (
        "the sandbox marketplace takes no refunds: it is issued outside the hub"
    )

    def __init__(self, settings: SandboxSettings, **options: Unpack[ConnectorOptions]) -> None:
        super().__init__(settings, **options)
        self.client = make_client(
            str(settings.endpoint).rstrip("/"),
            headers={"Authorization": f"Bearer {settings.api_key.get_secret_value()}"},
            timeout=httpx.Timeout(
                settings.timeout_seconds, connect=min(5.0, settings.timeout_seconds)
            ),
        )

    def close(self) -> None:
        self.client.close()

    def _call(self, what: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One API call, throttled and retried by the engine; the decoded JSON object."""

        def attempt() -> dict[str, Any]:
            response = send(lambda: self.client.request(method, path, **kwargs))
            check_status(response, what)
            body = json_body(response, what)
            if not isinstance(body, dict):
                raise TransientError(f"{what}: the response is not an object")
            return body

        return self.calls.call("api", attempt)

    def check(self) -> list[str]:
        try:
            self._call("listings", "GET", "/api/v1/listings", params={"limit": 1})
        except ConnectorError as error:
            return [f"{type(error).__name__}: {error}"]
        return []

    def fetch_orders(self, since: datetime | None) -> Iterator[OrderPage]:
        params: dict[str, Any] = {"limit": self.settings.page_size}
        if since is not None:
            params["updated_at_min"] = since.isoformat()

        def orders_after(token: str | None) -> dict[str, Any]:
            page_params = {**params, "page_token": token} if token else params
            return self._call("orders", "GET", "/api/v1/orders", params=page_params)

        for body in walk_pages("orders", orders_after, _next_page_token):
            yield _order_page(body.get("orders"))

    def map_quarantined(self, kind: str, raw: str) -> WebhookEvents:
        """The sandbox quarantines orders of its pages only: `raw` is one order's JSON."""
        return WebhookEvents(orders=(order_from_json(kept_json(raw)),))

    def fetch_listings(self) -> Iterator[ChannelListing]:

        def listings_after(token: str | None) -> dict[str, Any]:
            params: dict[str, Any] = {"limit": self.settings.page_size}
            if token:
                params["page_token"] = token
            return self._call("listings", "GET", "/api/v1/listings", params=params)

        for body in walk_pages("listings", listings_after, _next_page_token):
            items = body.get("listings")
            if not isinstance(items, list):
                raise TransientError("listings: the response has no listings list")
            for item in items:
                yield listing_from_json(item)

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[PushResult]:
        payload = {"updates": [{"sku": u.channel_sku, "quantity": u.quantity} for u in updates]}
        results = self._call("inventory", "POST", "/api/v1/inventory", json=payload).get("results")
        if not isinstance(results, list) or len(results) != len(updates):
            raise TransientError("inventory: the response does not have one result per update")
        return [
            _push_result(update, result) for update, result in zip(updates, results, strict=True)
        ]

    def push_fulfilment(self, fulfilment: Fulfilment) -> PushResult:
        payload = {
            "line_items": [
                {"id": line.external_line_id, "quantity": line.quantity}
                for line in fulfilment.lines
            ],
            "tracking_company": fulfilment.carrier,
            "tracking_number": fulfilment.tracking_number,
            "tracking_url": fulfilment.tracking_url,
            "notify_customer": fulfilment.notify_customer and self.settings.notify_customer,
        }
        path = f"/api/v1/orders/{fulfilment.order_external_id}/fulfilments"
        try:
            self._call(
                "fulfilment",
                "POST",
                path,
                json=payload,
                headers={"Idempotency-Key": fulfilment.idempotency_key},
            )
        except PermanentError as error:
            return PushResult(key=fulfilment.order_external_id, ok=False, error=str(error))
        return PushResult(key=fulfilment.order_external_id, ok=True)

    def cancel_order(self, external_id: str, reason: str | None) -> PushResult:
        """POST /api/v1/orders/{id}/cancel: what is not fulfilled is cancelled; a cancelled
        order stays as it is, a fulfilled one is refused (409)."""
        path = f"/api/v1/orders/{quote(external_id, safe='')}/cancel"
        try:
            self._call("cancel", "POST", path, json={"reason": reason})
        except PermanentError as error:
            return PushResult(key=external_id, ok=False, error=str(error))
        return PushResult(key=external_id, ok=True)


def _next_page_token(body: dict[str, Any]) -> str | None:
    token = body.get("next_page_token")
    return str(token) if token else None


def _order_page(items: Any) -> OrderPage:
    if not isinstance(items, list):
        raise TransientError("orders: the response has no orders list")
    return order_page(items, order_from_json)


def _push_result(update: StockUpdate, result: Any) -> PushResult:
    if isinstance(result, dict) and result.get("status") == "ok":
        return PushResult(key=update.channel_sku, ok=True, quantity=result.get("quantity"))
    message = result.get("message") or result.get("code") if isinstance(result, dict) else None
    return PushResult(key=update.channel_sku, ok=False, error=str(message or "refused"))
