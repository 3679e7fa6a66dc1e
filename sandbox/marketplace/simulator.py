"""The ``sandbox`` marketplace: a simple JSON channel to test the hub end to end.

State lives in memory behind one lock: listings (channel-side stock with its
history), orders (with every earlier version, for stale-update faults),
fulfilments and a record of every inventory push. The HTTP API is in
:mod:`sandbox.marketplace.api`; this module is the state and the operations on it,
callable in-process (tests, the demo) or through the ``/_sandbox`` control routes.
"""

from __future__ import annotations

import asyncio
import copy
import hmac
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeGuard

from starlette.requests import Request
from starlette.types import ASGIApp

from omnisync.hub.http_server import DEFAULT_HOST
from omnisync.sandbox.base import JSON, PAUSE_SLICE_S, SimulatedMarketplace
from omnisync.sandbox.clock import Clock, as_utc, isoformat
from omnisync.sandbox.faults import ORDER_PAGE_FAULTS, FaultKind
from omnisync.sandbox.marketplace.api import build_sandbox_app
from omnisync.sandbox.marketplace.model import (
    CENT,
    DEFAULT_PRICE,
    DEFAULT_TOKEN,
    ORDER_STATUSES,
    ORDERS,
    ListingsPage,
    OrdersPage,
    SandboxError,
)

HistorySource = Literal["push", "sale", "cancel"]


@dataclass
class _HistoryEntry:
    time: datetime
    quantity: int
    source: HistorySource


@dataclass
class _Listing:
    number: int
    sku: str | None
    title: str
    quantity: int
    price: Decimal
    barcode: str | None = None
    locked: bool = False
    history: list[_HistoryEntry] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"LST-{self.number}"

    def set_quantity(self, quantity: int, moment: datetime, source: HistorySource) -> None:
        self.quantity = quantity
        self.history.append(_HistoryEntry(moment, quantity, source))

    def api_json(self) -> JSON:
        return {
            "id": self.id,
            "sku": self.sku,
            "title": self.title,
            "quantity": self.quantity,
            "barcode": self.barcode,
        }

    def state_json(self) -> JSON:
        return {
            **self.api_json(),
            "price": str(self.price),
            "locked": self.locked,
            "history": [
                {"time": isoformat(entry.time), "quantity": entry.quantity, "source": entry.source}
                for entry in self.history
            ],
        }


@dataclass
class _Line:
    id: str
    sku: str
    title: str
    quantity: int
    price: Decimal
    fulfilled_quantity: int = 0
    cancelled_quantity: int = 0

    @property
    def open_quantity(self) -> int:
        return self.quantity - self.fulfilled_quantity - self.cancelled_quantity

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "sku": self.sku,
            "title": self.title,
            "quantity": self.quantity,
            "price": str(self.price),
            "fulfilled_quantity": self.fulfilled_quantity,
            "cancelled_quantity": self.cancelled_quantity,
        }


@dataclass
class _Order:
    id: str
    status: str
    created_at: datetime
    updated_at: datetime
    customer: dict[str, str]
    shipping_address: dict[str, str]
    lines: list[_Line]
    currency: str = "USD"
    cancel_reason: str | None = None
    earlier_versions: list[JSON] = field(default_factory=list)

    @property
    def key(self) -> tuple[datetime, str]:
        return (self.updated_at, self.id)

    def total(self) -> Decimal:
        return sum((line.price * line.quantity for line in self.lines), Decimal("0")).quantize(CENT)

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "status": self.status,
            "created_at": isoformat(self.created_at),
            "updated_at": isoformat(self.updated_at),
            "currency": self.currency,
            "total": str(self.total()),
            "customer": dict(self.customer),
            "shipping_address": dict(self.shipping_address),
            "line_items": [line.to_json() for line in self.lines],
            "cancel_reason": self.cancel_reason,
        }

    def remember_version(self) -> None:
        """Keep the order as it is now, before a change (stale-update faults replay it)."""
        self.earlier_versions.append(self.to_json())


class SandboxMarketplace(SimulatedMarketplace):
    """The ``sandbox`` channel type, served over HTTP (see ``sandbox.marketplace.api``).

    ``rate`` requests per second with bursts of ``burst``, scaled by
    ``rate_scale`` (measured on ``clock``: a test passes a
    :class:`~sandbox.clock.ManualClock`); every ``/api/v1`` request needs
    ``Authorization: Bearer <token>``.
    """

    type = "sandbox"

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        name: str = "sandbox",
        rate: float = 10.0,
        burst: int = 20,
        rate_scale: float = 1.0,
        clock: Clock | None = None,
        host: str = DEFAULT_HOST,
        port: int = 0,
    ) -> None:
        super().__init__(
            name=name,
            rate=rate,
            burst=burst,
            rate_scale=rate_scale,
            clock=clock,
            host=host,
            port=port,
        )
        self.token = token
        # Inventory requests being served now, and the most ever at once (not state: a
        # reset while requests are in flight leaves them counted).
        self._inventory_in_flight = 0
        self._inventory_peak = 0
        self._inventory_open = threading.Event()
        self._inventory_open.set()
        self._init_state()

    def _init_state(self) -> None:
        self._listings: dict[int, _Listing] = {}
        self._listing_by_sku: dict[str, _Listing] = {}
        self._listing_counter = 0
        self._orders: dict[str, _Order] = {}
        self._order_counter = 0
        self._fulfilments: list[JSON] = []
        self._idempotent: dict[str, tuple[str, JSON]] = {}
        self._pushes: list[JSON] = []
        # Orders served by the orders listing, least recently served first.
        self._served: dict[str, None] = {}
        self._malformed_served = 0

    def _reset_state(self) -> None:
        self._init_state()

    def build_app(self) -> ASGIApp:
        return build_sandbox_app(self)

    def is_authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "bearer" or not credentials:
            return False
        return hmac.compare_digest(credentials.strip().encode(), self.token.encode())

    # catalogue ----------------------------------------------------------------

    def set_listings(self, listings: Iterable[Mapping[str, Any]]) -> list[JSON]:
        """Replace the catalogue. Each item: ``sku`` (str or None), ``title``,
        ``quantity`` (int >= 0), an optional ``price`` (decimal string) and an optional
        ``barcode`` (the product's GTIN/EAN/UPC, served as the listing's ``barcode``)."""
        built: list[_Listing] = []
        seen: set[str] = set()
        with self._lock:
            number = self._listing_counter
            for item in listings:
                sku = item.get("sku")
                if sku is not None and (not isinstance(sku, str) or not sku):
                    raise SandboxError(400, "invalid_request", f"bad sku {sku!r}")
                if sku is not None and sku in seen:
                    raise SandboxError(400, "invalid_request", f"sku {sku!r} listed twice")
                quantity = item.get("quantity", 0)
                if not _is_int(quantity) or quantity < 0:
                    raise SandboxError(400, "invalid_request", f"bad quantity {quantity!r}")
                title = item.get("title") or (sku or "Untitled listing")
                if not isinstance(title, str):
                    raise SandboxError(400, "invalid_request", f"bad title {title!r}")
                barcode = item.get("barcode")
                if barcode is not None and (not isinstance(barcode, str) or not barcode):
                    raise SandboxError(400, "invalid_request", f"bad barcode {barcode!r}")
                number += 1
                price = _money(item.get("price", DEFAULT_PRICE))
                built.append(_Listing(number, sku, title, quantity, price, barcode))
                if sku is not None:
                    seen.add(sku)
            self._listing_counter = number
            self._listings = {listing.number: listing for listing in built}
            self._listing_by_sku = {
                listing.sku: listing for listing in built if listing.sku is not None
            }
            return [listing.api_json() for listing in built]

    def lock_sku(self, sku: str, locked: bool = True) -> None:
        """A locked SKU refuses inventory updates with ``listing_locked``."""
        with self._lock:
            self._listing(sku).locked = locked

    def quantity(self, sku: str) -> int:
        """The channel-side quantity of ``sku`` now."""
        with self._lock:
            return self._listing(sku).quantity

    def _listing(self, sku: str) -> _Listing:
        listing = self._listing_by_sku.get(sku)
        if listing is None:
            raise SandboxError(404, "unknown_sku", f"no listing with sku {sku!r}")
        return listing

    # buyers -------------------------------------------------------------------

    def buy(
        self, sku: str, quantity: int = 1, customer: Mapping[str, str] | None = None
    ) -> JSON | None:
        """A buyer orders ``quantity`` of ``sku``: the order, or None when out of stock."""
        return self.buy_many([(sku, quantity)], customer)

    def buy_many(
        self, lines: Sequence[tuple[str, int]], customer: Mapping[str, str] | None = None
    ) -> JSON | None:
        """A multi-line order, all or nothing: the order, or None when a line is out of stock."""
        try:
            return self.place_order(lines, customer)
        except SandboxError as error:
            if error.code == "out_of_stock":
                return None
            raise

    def place_order(
        self, lines: Sequence[tuple[str, int]], customer: Mapping[str, str] | None = None
    ) -> JSON:
        """Like :meth:`buy_many`, but out of stock raises ``SandboxError(409, "out_of_stock")``
        with ``sku`` and ``available``."""
        if not lines:
            raise SandboxError(400, "invalid_request", "an order needs at least one line")
        wanted: dict[str, int] = {}
        for sku, quantity in lines:
            if not _is_int(quantity) or quantity < 1:
                raise SandboxError(400, "invalid_request", f"bad quantity {quantity!r}")
            wanted[sku] = wanted.get(sku, 0) + quantity
        with self._lock:
            listings = {sku: self._listing(sku) for sku in wanted}
            for sku, quantity in wanted.items():
                available = listings[sku].quantity
                if available < quantity:
                    raise SandboxError(
                        409,
                        "out_of_stock",
                        f"{sku!r}: {quantity} wanted, {available} available",
                        sku=sku,
                        available=available,
                    )
            moment = self.stamper.stamp()
            self._order_counter += 1
            order_id = f"SB-{self._order_counter:06d}"
            for sku, quantity in wanted.items():
                listing = listings[sku]
                listing.set_quantity(listing.quantity - quantity, moment, "sale")
            order = _Order(
                id=order_id,
                status="open",
                created_at=moment,
                updated_at=moment,
                customer=self._customer(customer),
                shipping_address={},
                lines=[
                    _Line(
                        id=f"{order_id}-{position}",
                        sku=sku,
                        title=listings[sku].title,
                        quantity=quantity,
                        price=listings[sku].price,
                    )
                    for position, (sku, quantity) in enumerate(lines, start=1)
                ],
            )
            order.shipping_address = self._address(order.customer["name"])
            self._orders[order_id] = order
            return order.to_json()

    def _customer(self, customer: Mapping[str, str] | None) -> dict[str, str]:
        number = self._order_counter
        chosen = {"name": f"Buyer {number}", "email": f"buyer{number}@example.com"}
        if customer:
            chosen.update({key: str(value) for key, value in customer.items()})
        return chosen

    def _address(self, name: str) -> dict[str, str]:
        number = self._order_counter
        return {
            "name": name,
            "address1": f"{number} Market Street",
            "city": "Springfield",
            "zip": f"{10000 + number % 90000:05d}",
            "country": "US",
        }

    # orders -------------------------------------------------------------------

    def get_order(self, order_id: str) -> JSON:
        with self._lock:
            return self._order(order_id).to_json()

    def cancel_order(self, order_id: str, reason: str | None = None) -> JSON:
        """Cancel what is not fulfilled yet and give those units back to the listings
        (``reason``: the seller's words, kept on the order).

        Cancelling a cancelled order changes nothing; a fulfilled one is refused (409).
        """
        with self._lock:
            order = self._order(order_id)
            if order.status == "cancelled":
                return order.to_json()
            if order.status == "fulfilled":
                raise SandboxError(409, "order_fulfilled", f"order {order_id} is fulfilled")
            order.remember_version()
            moment = self.stamper.stamp()
            for line in order.lines:
                restored = line.open_quantity
                line.cancelled_quantity += restored
                listing = self._listing_by_sku.get(line.sku)
                if restored and listing is not None:
                    listing.set_quantity(listing.quantity + restored, moment, "cancel")
            order.status = "cancelled"
            order.cancel_reason = reason
            order.updated_at = moment
            return order.to_json()

    def touch_order(
        self, order_id: str, updated_at: datetime | None = None, status: str | None = None
    ) -> JSON:
        """Change an order: a new ``status`` and/or an explicit ``updated_at`` (late
        updates); without ``updated_at`` the order is stamped now."""
        if status is not None and status not in ORDER_STATUSES:
            raise SandboxError(400, "invalid_request", f"unknown status {status!r}")
        with self._lock:
            order = self._order(order_id)
            order.remember_version()
            if status is not None:
                order.status = status
            if updated_at is None:
                order.updated_at = self.stamper.stamp()
            else:
                order.updated_at = as_utc(updated_at)
                self.stamper.observe(order.updated_at)
            return order.to_json()

    def _order(self, order_id: str) -> _Order:
        order = self._orders.get(order_id)
        if order is None:
            raise SandboxError(404, "not_found", f"no order {order_id!r}")
        return order

    # API operations (the HTTP layer parses, these act) -----------------------------

    def orders_page(
        self,
        updated_at_min: datetime | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> OrdersPage:
        """Orders with ``updated_at >= updated_at_min`` strictly after the key ``after``,
        ascending by (updated_at, id), with any queued order-page fault applied."""
        with self._lock:
            matching = sorted(
                (
                    order
                    for order in self._orders.values()
                    if (updated_at_min is None or order.updated_at >= updated_at_min)
                    and (after is None or order.key > after)
                ),
                key=lambda order: order.key,
            )
            page = matching[:limit]
            next_key = page[-1].key if len(matching) > limit else None
            served = [order.to_json() for order in page]
            previous_id = after[1] if after is not None else self._last_served()
            self._apply_page_fault(served, previous_id)
            for order in page:
                self._served.pop(order.id, None)
                self._served[order.id] = None
            return OrdersPage(served, next_key)

    def _last_served(self) -> str | None:
        return next(reversed(self._served), None)

    def _apply_page_fault(self, page: list[JSON], previous_id: str | None) -> None:
        applicable: set[FaultKind] = set()
        if page:
            applicable.add("malformed_order")
        if previous_id is not None and previous_id in self._orders:
            applicable.add("duplicate_across_pages")
        if self._served:
            applicable.add("stale_update")
        fault = self.faults.take(ORDERS, applicable & ORDER_PAGE_FAULTS)
        if fault is None:
            return
        self._faults_served[fault.kind] += 1
        if fault.kind == "malformed_order":
            self._break_order(page[0])
        elif fault.kind == "duplicate_across_pages" and previous_id is not None:
            page.insert(0, self._orders[previous_id].to_json())
        elif fault.kind == "stale_update":
            page.append(self._stale_version())

    def _break_order(self, order: JSON) -> None:
        # Alternate between the two breakages a parser must survive.
        if self._malformed_served % 2 == 0:
            order["line_items"] = "broken: line_items is not a list"
        else:
            order["updated_at"] = "not-a-date"
        self._malformed_served += 1

    def _stale_version(self) -> JSON:
        """An already-served order as it was before its last change (or made up older)."""
        for order_id in reversed(self._served):
            order = self._orders[order_id]
            older = [v for v in order.earlier_versions if v["status"] != order.status]
            if older:
                return copy.deepcopy(older[-1])
        order = self._orders[self._last_served() or ""]
        stale = order.to_json()
        stale["updated_at"] = isoformat(order.updated_at - timedelta(seconds=1))
        stale["status"] = "open"
        for line in stale["line_items"]:
            line["fulfilled_quantity"] = 0
            line["cancelled_quantity"] = 0
        return stale

    def listings_page(self, after: int | None, limit: int) -> ListingsPage:
        """Listings ordered by id, strictly after the listing number ``after``."""
        with self._lock:
            matching = [
                self._listings[number]
                for number in sorted(self._listings)
                if after is None or number > after
            ]
            page = matching[:limit]
            next_after = page[-1].number if len(matching) > limit else None
            return ListingsPage([listing.api_json() for listing in page], next_after)

    def apply_inventory_updates(self, updates: Sequence[Mapping[str, Any]]) -> list[JSON]:
        """Set listing quantities, one result per update, in order; a bad item fails
        alone. Each update needs a string ``sku`` (the HTTP layer checks the shape)."""
        results: list[JSON] = []
        with self._lock:
            for update in updates:
                sku = str(update["sku"])
                quantity = update.get("quantity")
                moment = self.stamper.stamp()
                listing = self._listing_by_sku.get(sku)
                if listing is None:
                    result = _item_error(sku, "unknown_sku", f"no listing with sku {sku!r}")
                elif not _is_int(quantity) or quantity < 0:
                    message = f"quantity must be a non-negative integer, not {quantity!r}"
                    result = _item_error(sku, "invalid_quantity", message)
                elif listing.locked:
                    result = _item_error(sku, "listing_locked", f"listing {listing.id} is locked")
                else:
                    listing.set_quantity(quantity, moment, "push")
                    result = {"sku": sku, "status": "ok", "quantity": quantity}
                results.append(result)
                self._pushes.append(
                    {
                        "time": isoformat(moment),
                        "sku": sku,
                        "quantity": quantity,
                        "status": result["status"],
                        "code": result.get("code"),
                    }
                )
        return results

    def create_fulfilment(
        self,
        order_id: str,
        lines: Sequence[tuple[str, int]],
        *,
        tracking_company: str | None = None,
        tracking_number: str | None = None,
        tracking_url: str | None = None,
        notify_customer: bool = False,
        idempotency_key: str | None = None,
    ) -> JSON:
        """Fulfil ``(line id, quantity)`` pairs of an order; the fulfilment.

        The same ``idempotency_key`` again returns the first fulfilment and changes
        nothing. Refusals: unknown order 404, cancelled order, unknown line or more
        than the open quantity 422.
        """
        with self._lock:
            if idempotency_key is not None and idempotency_key in self._idempotent:
                first_order, first = self._idempotent[idempotency_key]
                if first_order != order_id:
                    raise SandboxError(
                        422,
                        "idempotency_key_reused",
                        f"idempotency key already used for order {first_order}",
                    )
                return copy.deepcopy(first)
            order = self._order(order_id)
            if order.status == "cancelled":
                raise SandboxError(422, "order_cancelled", f"order {order_id} is cancelled")
            if not lines:
                raise SandboxError(400, "invalid_request", "line_items must not be empty")
            by_id = {line.id: line for line in order.lines}
            wanted: dict[str, int] = {}
            for line_id, quantity in lines:
                if line_id not in by_id:
                    raise SandboxError(
                        422, "unknown_line_item", f"order {order_id} has no line {line_id!r}"
                    )
                if not _is_int(quantity) or quantity < 1:
                    raise SandboxError(400, "invalid_request", f"bad quantity {quantity!r}")
                wanted[line_id] = wanted.get(line_id, 0) + quantity
            for line_id, quantity in wanted.items():
                open_quantity = by_id[line_id].open_quantity
                if quantity > open_quantity:
                    raise SandboxError(
                        422,
                        "over_fulfilment",
                        f"line {line_id}: {quantity} asked, {open_quantity} open",
                        line_item_id=line_id,
                        open_quantity=open_quantity,
                    )
            order.remember_version()
            moment = self.stamper.stamp()
            for line_id, quantity in wanted.items():
                by_id[line_id].fulfilled_quantity += quantity
            done = all(line.open_quantity == 0 for line in order.lines)
            order.status = "fulfilled" if done else "partially_fulfilled"
            order.updated_at = moment
            fulfilment: JSON = {
                "id": f"FUL-{len(self._fulfilments) + 1}",
                "order_id": order_id,
                "status": "success",
                "created_at": isoformat(moment),
                "line_items": [
                    {"id": line_id, "sku": by_id[line_id].sku, "quantity": quantity}
                    for line_id, quantity in wanted.items()
                ],
                "tracking_company": tracking_company,
                "tracking_number": tracking_number,
                "tracking_url": tracking_url,
                "notify_customer": notify_customer,
                "idempotency_key": idempotency_key,
            }
            self._fulfilments.append(fulfilment)
            if idempotency_key is not None:
                self._idempotent[idempotency_key] = (order_id, fulfilment)
            return copy.deepcopy(fulfilment)

    # inspection ----------------------------------------------------------------

    @contextmanager
    def inventory_request(self) -> Iterator[None]:
        """Count one inventory request in flight, from its arrival (before any fault's
        pause) until its answer."""
        with self._lock:
            self._inventory_in_flight += 1
            self._inventory_peak = max(self._inventory_peak, self._inventory_in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._inventory_in_flight -= 1

    def hold_inventory(self, held: bool = True) -> None:
        """While held, inventory requests arrive (counted, in flight, past any fault) but
        wait for `hold_inventory(False)` before they are applied."""
        if held:
            self._inventory_open.clear()
        else:
            self._inventory_open.set()

    async def inventory_gate(self) -> None:
        """Wait while inventory is held (or until the server stops)."""
        while not self._inventory_open.is_set() and not self._closing.is_set():
            await asyncio.sleep(PAUSE_SLICE_S)

    def inventory_in_flight(self) -> tuple[int, int]:
        """Inventory requests in flight now, and the most ever at once since the start
        or the last `reset_inventory_peak`."""
        with self._lock:
            return self._inventory_in_flight, self._inventory_peak

    def reset_inventory_peak(self) -> None:
        with self._lock:
            self._inventory_peak = self._inventory_in_flight

    def snapshot(self) -> JSON:
        """Everything, JSON-ready and detached from the live state."""
        with self._lock:
            return {
                "name": self.name,
                "type": self.type,
                "rate_limit": self.limiter.describe(),
                "listings": [
                    self._listings[number].state_json() for number in sorted(self._listings)
                ],
                "orders": [self._orders[key].to_json() for key in sorted(self._orders)],
                "fulfilments": copy.deepcopy(self._fulfilments),
                "inventory_pushes": copy.deepcopy(self._pushes),
                **self.traffic(),
            }


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _money(value: object) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise SandboxError(400, "invalid_request", f"bad price {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise SandboxError(400, "invalid_request", f"bad price {value!r}")
    return amount.quantize(CENT)


def _item_error(sku: str, code: str, message: str) -> JSON:
    return {"sku": sku, "status": "error", "code": code, "message": message}
