"""HTTP for the ``sandbox`` marketplace: the ``/api/v1`` API and ``/_sandbox`` control.

``/api/v1`` (bearer token, rate limited, faults applied first):

- ``GET  /api/v1/orders?updated_at_min=&page_token=&limit=``
- ``GET  /api/v1/listings?page_token=&limit=``: ``{id, sku, title, quantity, barcode}``
  each (``sku`` and ``barcode`` may be null)
- ``POST /api/v1/inventory``
- ``POST /api/v1/orders/{id}/fulfilments``
- ``POST /api/v1/orders/{id}/cancel`` (``{"reason": ...}`` optional): the seller cancels
  what is not fulfilled; a cancelled order stays as it is, a fulfilled one is 409

``/_sandbox`` (no auth, not rate limited): ``POST listings``, ``POST buy``,
``POST orders/{id}/cancel``, ``POST orders/{id}/touch``, ``POST locks``,
``POST faults``, ``POST rate``, ``POST reset``, ``GET state``, ``GET health``.

``/_control`` (no auth, not rate limited): the routes every simulator shares, for
``python -m omnisync.sandbox control`` (:mod:`sandbox.control_api`,
:mod:`sandbox.marketplace.desk`).

Page tokens are opaque base64 of the keyset position, so a page is always
"strictly after what was served", whatever changed in between.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from omnisync.sandbox.base import JSON
from omnisync.sandbox.clock import isoformat, parse_iso
from omnisync.sandbox.control_api import order_control_routes
from omnisync.sandbox.marketplace.desk import MarketplaceDesk
from omnisync.sandbox.marketplace.model import (
    CANCELLATIONS,
    FULFILMENTS,
    INVENTORY,
    LISTINGS,
    MAX_INVENTORY_UPDATES,
    ORDERS,
    SandboxError,
)

if TYPE_CHECKING:
    from omnisync.sandbox.marketplace.simulator import SandboxMarketplace

DEFAULT_LIMIT = 50
MAX_LIMIT = 100

Handler = Callable[[Request], Awaitable[Response]]


def build_sandbox_app(market: SandboxMarketplace) -> Starlette:
    api = _Api(market)
    control = _Control(market)
    return Starlette(
        routes=[
            Route("/api/v1/orders", api.orders, methods=["GET"]),
            Route("/api/v1/listings", api.listings, methods=["GET"]),
            Route("/api/v1/inventory", api.inventory, methods=["POST"]),
            Route("/api/v1/orders/{order_id}/fulfilments", api.fulfilments, methods=["POST"]),
            Route("/api/v1/orders/{order_id}/cancel", api.cancel, methods=["POST"]),
            Route("/_sandbox/health", control.health, methods=["GET"]),
            Route("/_sandbox/state", control.state, methods=["GET"]),
            Route("/_sandbox/listings", control.listings, methods=["POST"]),
            Route("/_sandbox/buy", control.buy, methods=["POST"]),
            Route("/_sandbox/orders/{order_id}/cancel", control.cancel, methods=["POST"]),
            Route("/_sandbox/orders/{order_id}/touch", control.touch, methods=["POST"]),
            Route("/_sandbox/locks", control.lock, methods=["POST"]),
            Route("/_sandbox/faults", control.faults, methods=["POST"]),
            Route("/_sandbox/rate", control.rate, methods=["POST"]),
            Route("/_sandbox/reset", control.reset, methods=["POST"]),
            *order_control_routes(market.name, market.type, MarketplaceDesk(market)),
        ]
    )


class _BadRequest(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Api:
    def __init__(self, market: SandboxMarketplace) -> None:
        self.market = market

    async def orders(self, request: Request) -> Response:
        return await self._handle(request, ORDERS, self._orders)

    async def listings(self, request: Request) -> Response:
        return await self._handle(request, LISTINGS, self._listings)

    async def inventory(self, request: Request) -> Response:
        with self.market.inventory_request():
            return await self._handle(request, INVENTORY, self._inventory)

    async def fulfilments(self, request: Request) -> Response:
        return await self._handle(request, FULFILMENTS, self._fulfilments)

    async def cancel(self, request: Request) -> Response:
        return await self._handle(request, CANCELLATIONS, self._cancel)

    async def _handle(self, request: Request, endpoint: str, handler: Handler) -> Response:
        early = await self.market.admit(request, endpoint)
        if early is not None:
            return early
        try:
            return await handler(request)
        except _BadRequest as error:
            return self.market.json_response({"error": error.code, "message": error.message}, 400)
        except SandboxError as error:
            return self.market.json_response(error.body(), error.status)

    async def _orders(self, request: Request) -> Response:
        params = request.query_params
        limit = _limit(params.get("limit"))
        updated_at_min = _optional_time(params.get("updated_at_min"), "invalid_updated_at_min")
        after: tuple[datetime, str] | None = None
        token = params.get("page_token")
        if token:
            position = _decode_token(token)
            try:
                after = (parse_iso(str(position["u"])), str(position["id"]))
            except (KeyError, ValueError):
                raise _BadRequest("invalid_page_token", "page_token is not valid") from None
            if updated_at_min is None and position.get("min"):
                updated_at_min = _optional_time(str(position["min"]), "invalid_page_token")
        page = self.market.orders_page(updated_at_min, after, limit)
        next_token = None
        if page.next_key is not None:
            moment, order_id = page.next_key
            next_token = _encode_token(
                {
                    "u": isoformat(moment),
                    "id": order_id,
                    "min": isoformat(updated_at_min) if updated_at_min else None,
                }
            )
        return self.market.json_response({"orders": page.orders, "next_page_token": next_token})

    async def _listings(self, request: Request) -> Response:
        params = request.query_params
        limit = _limit(params.get("limit"))
        after: int | None = None
        token = params.get("page_token")
        if token:
            after = _decode_token(token).get("after")
            if not isinstance(after, int):
                raise _BadRequest("invalid_page_token", "page_token is not valid")
        page = self.market.listings_page(after, limit)
        next_token = None if page.next_after is None else _encode_token({"after": page.next_after})
        return self.market.json_response({"listings": page.listings, "next_page_token": next_token})

    async def _inventory(self, request: Request) -> Response:
        await self.market.inventory_gate()
        body = await _json_body(request)
        updates = body.get("updates")
        if not isinstance(updates, list):
            raise _BadRequest("invalid_request", "body must be {'updates': [...]}")
        if len(updates) > MAX_INVENTORY_UPDATES:
            raise _BadRequest(
                "too_many_updates", f"at most {MAX_INVENTORY_UPDATES} updates per request"
            )
        for update in updates:
            if not isinstance(update, dict) or not isinstance(update.get("sku"), str):
                raise _BadRequest("invalid_request", "each update needs a string 'sku'")
            if "quantity" not in update:
                raise _BadRequest("invalid_request", "each update needs a 'quantity'")
        results = self.market.apply_inventory_updates(updates)
        return self.market.json_response({"results": results})

    async def _fulfilments(self, request: Request) -> Response:
        order_id = request.path_params["order_id"]
        body = await _json_body(request)
        raw_lines = body.get("line_items")
        if not isinstance(raw_lines, list) or not raw_lines:
            raise _BadRequest("invalid_request", "line_items must be a non-empty list")
        lines: list[tuple[str, int]] = []
        for raw in raw_lines:
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
                raise _BadRequest("invalid_request", "each line item needs a string 'id'")
            quantity = raw.get("quantity")
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
                raise _BadRequest("invalid_request", "each line item needs a quantity >= 1")
            lines.append((raw["id"], quantity))
        tracking = {
            name: _optional_str(body, name)
            for name in ("tracking_company", "tracking_number", "tracking_url")
        }
        notify = body.get("notify_customer", False)
        if not isinstance(notify, bool):
            raise _BadRequest("invalid_request", "notify_customer must be a boolean")
        fulfilment = self.market.create_fulfilment(
            order_id,
            lines,
            tracking_company=tracking["tracking_company"],
            tracking_number=tracking["tracking_number"],
            tracking_url=tracking["tracking_url"],
            notify_customer=notify,
            idempotency_key=request.headers.get("idempotency-key") or None,
        )
        return self.market.json_response({"fulfilment": fulfilment}, 201)

    async def _cancel(self, request: Request) -> Response:
        body = await _json_body(request, allow_empty=True)
        order = self.market.cancel_order(
            request.path_params["order_id"], reason=_optional_str(body, "reason")
        )
        return self.market.json_response({"order": order})


class _Control:
    def __init__(self, market: SandboxMarketplace) -> None:
        self.market = market

    async def health(self, request: Request) -> Response:
        return JSONResponse({"ok": True, "name": self.market.name, "type": self.market.type})

    async def state(self, request: Request) -> Response:
        return JSONResponse(self.market.snapshot())

    async def listings(self, request: Request) -> Response:
        async def act() -> Response:
            body = await _json_body(request)
            items = body.get("listings")
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise _BadRequest("invalid_request", "body must be {'listings': [{...}]}")
            return JSONResponse({"listings": self.market.set_listings(items)})

        return await _control(act)

    async def buy(self, request: Request) -> Response:
        async def act() -> Response:
            body = await _json_body(request)
            raw_lines = body.get("lines")
            if raw_lines is None:
                raw_lines = [{"sku": body.get("sku"), "quantity": body.get("quantity", 1)}]
            if not isinstance(raw_lines, list) or not all(isinstance(i, dict) for i in raw_lines):
                raise _BadRequest("invalid_request", "lines must be a list of {sku, quantity}")
            lines: list[tuple[str, int]] = []
            for item in raw_lines:
                sku, quantity = item.get("sku"), item.get("quantity", 1)
                if not isinstance(sku, str) or not isinstance(quantity, int):
                    raise _BadRequest(
                        "invalid_request", "each line needs a string sku, an int quantity"
                    )
                lines.append((sku, quantity))
            customer = body.get("customer")
            if customer is not None and not isinstance(customer, dict):
                raise _BadRequest("invalid_request", "customer must be an object")
            order = self.market.place_order(lines, customer)
            return JSONResponse({"order": order}, status_code=201)

        return await _control(act)

    async def cancel(self, request: Request) -> Response:
        async def act() -> Response:
            order = self.market.cancel_order(request.path_params["order_id"])
            return JSONResponse({"order": order})

        return await _control(act)

    async def touch(self, request: Request) -> Response:
        async def act() -> Response:
            body = await _json_body(request, allow_empty=True)
            updated_at = _optional_time(_optional_str(body, "updated_at"), "invalid_updated_at")
            order = self.market.touch_order(
                request.path_params["order_id"],
                updated_at=updated_at,
                status=_optional_str(body, "status"),
            )
            return JSONResponse({"order": order})

        return await _control(act)

    async def lock(self, request: Request) -> Response:
        async def act() -> Response:
            body = await _json_body(request)
            sku, locked = body.get("sku"), body.get("locked", True)
            if not isinstance(sku, str) or not isinstance(locked, bool):
                raise _BadRequest("invalid_request", "body must be {'sku': str, 'locked': bool}")
            self.market.lock_sku(sku, locked)
            return JSONResponse({"sku": sku, "locked": locked})

        return await _control(act)

    async def faults(self, request: Request) -> Response:
        async def act() -> Response:
            body = await _json_body(request)
            endpoint, kind = body.get("endpoint", "*"), body.get("kind")
            count, seconds = body.get("count", 1), body.get("seconds")
            if not isinstance(endpoint, str) or not isinstance(kind, str | int):
                raise _BadRequest("invalid_request", "body needs 'endpoint' and 'kind'")
            if not isinstance(count, int) or not (seconds is None or _is_number(seconds)):
                raise _BadRequest("invalid_request", "count must be an int, seconds a number")
            try:
                self.market.inject(endpoint, kind, count, seconds)
            except ValueError as error:
                raise _BadRequest("invalid_fault", str(error)) from None
            return JSONResponse({"faults_pending": self.market.faults.pending()}, status_code=201)

        return await _control(act)

    async def rate(self, request: Request) -> Response:
        async def act() -> Response:
            body = await _json_body(request)
            rate, burst, scale = body.get("rate"), body.get("burst"), body.get("scale")
            if not all(v is None or _is_number(v) for v in (rate, burst, scale)):
                raise _BadRequest("invalid_request", "rate, burst and scale must be numbers")
            if burst is not None and not isinstance(burst, int):
                raise _BadRequest("invalid_request", "burst must be an integer")
            try:
                self.market.set_rate_limit(rate=rate, burst=burst, scale=scale)
            except ValueError as error:
                raise _BadRequest("invalid_request", str(error)) from None
            return JSONResponse({"rate_limit": self.market.limiter.describe()})

        return await _control(act)

    async def reset(self, request: Request) -> Response:
        self.market.reset()
        return JSONResponse({"ok": True})


async def _control(act: Callable[[], Awaitable[Response]]) -> Response:
    try:
        return await act()
    except _BadRequest as error:
        return JSONResponse({"error": error.code, "message": error.message}, status_code=400)
    except SandboxError as error:
        return JSONResponse(error.body(), status_code=error.status)


async def _json_body(request: Request, *, allow_empty: bool = False) -> JSON:
    raw = await request.body()
    if not raw.strip() and allow_empty:
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _BadRequest("invalid_json", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise _BadRequest("invalid_request", "the body must be a JSON object")
    return body


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise _BadRequest("invalid_limit", "limit must be an integer") from None
    if limit < 1:
        raise _BadRequest("invalid_limit", "limit must be at least 1")
    return min(limit, MAX_LIMIT)


def _optional_time(raw: str | None, code: str) -> datetime | None:
    if raw is None or raw == "":
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        raise _BadRequest(code, f"{raw!r} is not an ISO 8601 timestamp") from None


def _optional_str(body: JSON, name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise _BadRequest("invalid_request", f"{name} must be a string")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _encode_token(position: JSON) -> str:
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> JSON:
    try:
        padded = token + "=" * (-len(token) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _BadRequest("invalid_page_token", "page_token is not valid") from None
    if not isinstance(position, dict):
        raise _BadRequest("invalid_page_token", "page_token is not valid")
    return position
