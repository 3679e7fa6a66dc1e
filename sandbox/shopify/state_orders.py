"""Orders of the simulated shop: buying, cancelling, refunding, fulfilling.

A mixin of :class:`sandbox.shopify.state.ShopState` (kept apart to keep both readable).
Each order takes its units from the first active location holding enough of a line,
and gets one fulfillment order per location it takes from, as Shopify routes orders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from omnisync.sandbox.clock import MonotonicStamper, as_utc, isoformat
from omnisync.sandbox.shopify.model import (
    JSON,
    OPEN_FULFILLMENT_ORDER,
    Customer,
    Event,
    Fulfillment,
    FulfillmentOrder,
    FulfillmentOrderLine,
    InventoryItem,
    LineItem,
    Location,
    Order,
    ShopifySimulatorError,
    Transaction,
    Variant,
    gid_number,
    money,
)

FINANCIAL_STATUSES: Final = frozenset(
    {
        "AUTHORIZED",
        "EXPIRED",
        "PAID",
        "PARTIALLY_PAID",
        "PARTIALLY_REFUNDED",
        "PENDING",
        "REFUNDED",
        "VOIDED",
    }
)
CANCEL_REASONS: Final = frozenset({"CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "OTHER", "STAFF"})
FIRST_ORDER_NUMBER: Final = 1001
PAYMENT_GATEWAY: Final = "bogus"
"""Shopify's test payment gateway: every paid order of the simulated shop went through it."""


class OrderOperations:
    """Order operations over the state of :class:`~sandbox.shopify.state.ShopState`."""

    if TYPE_CHECKING:
        stamper: MonotonicStamper
        currency: str
        locations: dict[int, Location]
        customers: dict[str, Customer]
        orders: dict[int, Order]
        fulfillment_orders: dict[int, FulfillmentOrder]
        fulfillment_order_lines: dict[int, FulfillmentOrderLine]
        fulfillments: dict[int, Fulfillment]
        transactions: list[Transaction]
        events: list[Event]

        def next_id(self, kind: str, start: int = 1) -> int: ...
        def variant(self, sku: str) -> Variant: ...
        def change_level(self, item: InventoryItem, location: int, available: int) -> None: ...

    # buying ---------------------------------------------------------------------------

    def place_order(
        self,
        lines: Sequence[tuple[str, int]],
        customer: Mapping[str, str] | None = None,
        financial_status: str = "PAID",
    ) -> Order | None:
        """A buyer's order, or None when a line finds no location with enough units. Each
        line names its variant by SKU, or by gid for a variant without SKU (its line item
        then carries that variant and the variant's empty SKU, as Shopify's do)."""
        if not lines:
            raise ShopifySimulatorError("an order needs at least one line")
        if financial_status not in FINANCIAL_STATUSES:
            raise ShopifySimulatorError(f"unknown financial status {financial_status!r}")
        wanted: list[tuple[Variant, int]] = []
        for sku, quantity in lines:
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                raise ShopifySimulatorError(f"bad quantity {quantity!r} for {sku!r}")
            wanted.append((self.variant(sku), quantity))
        allocation = self._allocate(wanted)
        if allocation is None:
            return None
        for (variant, quantity), location in zip(wanted, allocation, strict=True):
            item = variant.item
            if item.tracked:
                self.change_level(item, location, item.levels[location] - quantity)
        moment = self.stamper.stamp()
        number = self.next_id("Order", FIRST_ORDER_NUMBER)
        order = Order(
            number=number,
            name=f"#{number}",
            created_at=moment,
            updated_at=moment,
            customer=self._customer(customer, number),
            shipping_address={},
            currency=self.currency,
            financial_status=financial_status,
            lines=[
                LineItem(
                    self.next_id("LineItem"),
                    variant,
                    variant.sku,
                    variant.product_title,
                    quantity,
                    variant.price,
                    location,
                )
                for (variant, quantity), location in zip(wanted, allocation, strict=True)
            ],
        )
        order.shipping_address = _address(order.customer, number)
        for location in dict.fromkeys(allocation):
            self._open_fulfillment_order(order, location, moment)
        self.orders[number] = order
        if financial_status == "PAID":
            self.record_payment(order)
        self.events.append(Event("orders/create", order=number))
        return order

    def record_payment(self, order: Order) -> None:
        """The buyer paid the whole order: one SALE transaction (refunds name it as parent)."""
        if any(t.order_number == order.number and t.kind == "SALE" for t in self.transactions):
            return
        number = self.next_id("OrderTransaction")
        moment = self.stamper.stamp()
        sale = Transaction(number, order.number, "SALE", order.total(), PAYMENT_GATEWAY, moment)
        self.transactions.append(sale)

    def _allocate(self, wanted: Sequence[tuple[Variant, int]]) -> list[int] | None:
        """The location number each line takes its units from, or None (out of stock)."""
        active = [location for location in self.locations.values() if location.active]
        if not active:
            raise ShopifySimulatorError("the shop has no active location")
        left: dict[tuple[int, int], int] = {}
        chosen: list[int] = []
        for variant, quantity in wanted:
            item = variant.item
            stocked = [location for location in active if location.number in item.levels]
            if not item.tracked:
                chosen.append((stocked or active)[0].number)
                continue
            for location in stocked:
                key = (item.number, location.number)
                free = left.setdefault(key, item.levels[location.number])
                if free >= quantity:
                    left[key] = free - quantity
                    chosen.append(location.number)
                    break
            else:
                return None
        return chosen

    def _open_fulfillment_order(self, order: Order, location: int, moment: datetime) -> None:
        fulfillment_order = FulfillmentOrder(
            number=self.next_id("FulfillmentOrder"),
            order_number=order.number,
            location=self.locations[location],
            lines=[],
            created_at=moment,
            updated_at=moment,
        )
        for line in order.lines:
            if line.location_number == location:
                entry = FulfillmentOrderLine(
                    self.next_id("FulfillmentOrderLineItem"), line, line.quantity, line.quantity
                )
                fulfillment_order.lines.append(entry)
                self.fulfillment_order_lines[entry.number] = entry
        order.fulfillment_orders.append(fulfillment_order)
        self.fulfillment_orders[fulfillment_order.number] = fulfillment_order

    def _customer(self, given: Mapping[str, str] | None, number: int) -> Customer:
        details = {key: str(value) for key, value in (given or {}).items()}
        first, _, last = details.get("name", f"Buyer {number}").partition(" ")
        email = details.get("email", f"buyer{number}@example.com")
        if email in self.customers:
            return self.customers[email]
        customer = Customer(
            self.next_id("Customer"),
            details.get("first_name", first),
            details.get("last_name", last),
            email,
        )
        self.customers[email] = customer
        return customer

    # changes to orders ----------------------------------------------------------------

    def order(self, ref: str | int) -> Order:
        """An order by gid, number or name (``gid://shopify/Order/1001``, ``1001``, ``#1001``)."""
        text = str(ref).lstrip("#")
        number = gid_number(text, "Order")
        if number is None and text.isdigit():
            number = int(text)
        order = self.orders.get(number or 0)
        if order is None:
            raise ShopifySimulatorError(f"no order {ref!r}")
        return order

    def cancel_order(
        self, ref: str | int, reason: str = "CUSTOMER", restock: bool = True, *, refund: bool = True
    ) -> Order:
        """Cancel what is not fulfilled; its units go back to their locations (``restock``)
        and, with ``refund``, the buyer's payment for them back to the buyer.

        Cancelling a cancelled order changes nothing; a fulfilled order is refused.
        """
        if reason not in CANCEL_REASONS:
            raise ShopifySimulatorError(f"unknown cancel reason {reason!r}")
        order = self.order(ref)
        if order.cancelled_at is not None:
            return order
        if order.fulfillment_status == "FULFILLED":
            raise ShopifySimulatorError(f"order {order.name} is fulfilled")
        for line in order.lines:
            self._remove(line, line.unfulfilled_quantity, restock)
        shipped = any(line.fulfilled for line in order.lines)
        if refund and order.financial_status in ("PAID", "PARTIALLY_PAID"):
            order.financial_status = "PARTIALLY_REFUNDED" if shipped else "REFUNDED"
        elif order.financial_status in ("PENDING", "AUTHORIZED"):
            order.financial_status = "VOIDED"
        order.cancelled_at = order.updated_at = self.stamper.stamp()
        order.cancel_reason = reason
        self.events.append(Event("orders/cancelled", order=order.number))
        self.events.append(Event("orders/updated", order=order.number))
        return order

    def refund(self, ref: str | int, sku: str, quantity: int = 1, restock: bool = True) -> Order:
        """Refund (and remove) ``quantity`` unfulfilled units of the line with ``sku`` (or,
        for a variant without SKU, with the variant's gid)."""
        order = self.order(ref)
        candidates = [
            line
            for line in order.lines
            if (line.sku and line.sku == sku) or (line.variant and line.variant.gid == sku)
        ]
        line = next((c for c in candidates if c.unfulfilled_quantity >= quantity), None)
        if line is None or quantity < 1:
            raise ShopifySimulatorError(f"order {order.name} has no {quantity} unfulfilled {sku!r}")
        self._remove(line, quantity, restock)
        gone = all(line.current_quantity == 0 for line in order.lines)
        order.financial_status = "REFUNDED" if gone else "PARTIALLY_REFUNDED"
        order.updated_at = self.stamper.stamp()
        self.events.append(Event("orders/updated", order=order.number))
        return order

    def _remove(self, line: LineItem, quantity: int, restock: bool) -> None:
        """Take ``quantity`` unfulfilled units off ``line`` (and off its fulfillment order)."""
        if quantity <= 0:
            return
        line.removed += quantity
        for entry in self.fulfillment_order_lines.values():
            if entry.line is line:
                entry.remaining -= min(quantity, entry.remaining)
        for fulfillment_order in self.fulfillment_orders.values():
            lines = fulfillment_order.lines
            still_open = fulfillment_order.status in OPEN_FULFILLMENT_ORDER
            if still_open and lines and all(entry.remaining == 0 for entry in lines):
                shipped = any(entry.line.fulfilled for entry in lines)
                fulfillment_order.status = "CLOSED" if shipped else "CANCELLED"
        item = line.variant.item if line.variant is not None else None
        if restock and item is not None and item.tracked and line.location_number in item.levels:
            self.change_level(
                item, line.location_number, item.levels[line.location_number] + quantity
            )

    def set_financial_status(self, ref: str | int, status: str) -> Order:
        if status not in FINANCIAL_STATUSES:
            raise ShopifySimulatorError(f"unknown financial status {status!r}")
        order = self.order(ref)
        order.financial_status = status
        if status == "PAID":
            self.record_payment(order)
        order.updated_at = self.stamper.stamp()
        self.events.append(Event("orders/updated", order=order.number))
        return order

    def touch_order(self, ref: str | int, updated_at: datetime | None = None) -> Order:
        """Stamp the order as updated now, or at ``updated_at`` (a late update)."""
        order = self.order(ref)
        if updated_at is None:
            order.updated_at = self.stamper.stamp()
        else:
            order.updated_at = as_utc(updated_at)
            self.stamper.observe(order.updated_at)
        self.events.append(Event("orders/updated", order=order.number))
        return order

    # fulfillmentCreate ----------------------------------------------------------------

    def create_fulfillment(
        self, request: Mapping[str, Any]
    ) -> tuple[Fulfillment | None, list[JSON]]:
        """Fulfil fulfillment order line items: the fulfilment, or Shopify's userErrors."""
        groups = request.get("lineItemsByFulfillmentOrder") or []
        errors: list[JSON] = []
        taken: dict[int, int] = {}
        orders: set[int] = set()
        places: set[int] = set()
        base = ["fulfillment", "lineItemsByFulfillmentOrder"]
        if not groups:
            errors.append(_error([*base], "Line items by fulfillment order can't be blank."))
        for index, group in enumerate(groups):
            path = [*base, str(index)]
            number = gid_number(group.get("fulfillmentOrderId"), "FulfillmentOrder")
            fulfillment_order = self.fulfillment_orders.get(number or 0)
            if fulfillment_order is None:
                errors.append(
                    _error([*path, "fulfillmentOrderId"], "Fulfillment order does not exist.")
                )
                continue
            if fulfillment_order.status not in OPEN_FULFILLMENT_ORDER:
                status = fulfillment_order.status.lower()
                message = (
                    f"Fulfillment order {fulfillment_order.gid} has an unfulfillable "
                    f"status= {status}."
                )
                errors.append(_error([*path, "fulfillmentOrderId"], message))
                continue
            orders.add(fulfillment_order.order_number)
            places.add(fulfillment_order.location.number)
            errors.extend(self._take_lines(fulfillment_order, group, path, taken))
        if len(orders) > 1:
            errors.append(_error(base, "All fulfillment orders must belong to the same order."))
        if len(places) > 1:
            message = "All fulfillment orders must be assigned to the same location."
            errors.append(_error(base, message))
        if not errors and not taken:
            errors.append(_error(base, "There are no line items left to fulfill."))
        if errors:
            return None, errors
        return self._fulfil(taken, request), []

    def _take_lines(
        self,
        fulfillment_order: FulfillmentOrder,
        group: Mapping[str, Any],
        path: list[str],
        taken: dict[int, int],
    ) -> list[JSON]:
        requested = group.get("fulfillmentOrderLineItems")
        if requested is None:  # no line items: everything left on the fulfillment order
            for entry in fulfillment_order.lines:
                if entry.remaining > taken.get(entry.number, 0):
                    taken[entry.number] = entry.remaining
            return []
        errors: list[JSON] = []
        own = {entry.number: entry for entry in fulfillment_order.lines}
        for index, wanted in enumerate(requested):
            at = [*path, "fulfillmentOrderLineItems", str(index)]
            found = own.get(gid_number(wanted.get("id"), "FulfillmentOrderLineItem") or 0)
            if found is None:
                errors.append(_error([*at, "id"], "Fulfillment order line item does not exist."))
                continue
            quantity = int(wanted.get("quantity", 0))
            total = taken.get(found.number, 0) + quantity
            if quantity < 1 or total > found.remaining:
                message = "Invalid fulfillment order line item quantity requested."
                errors.append(_error([*at, "quantity"], message))
                continue
            taken[found.number] = total
        return errors

    def _fulfil(self, taken: Mapping[int, int], request: Mapping[str, Any]) -> Fulfillment:
        moment = self.stamper.stamp()
        entries = [(self.fulfillment_order_lines[number], q) for number, q in taken.items()]
        owners = {
            fulfillment_order.number: fulfillment_order
            for fulfillment_order in self.fulfillment_orders.values()
            if any(entry in fulfillment_order.lines for entry, _ in entries)
        }
        for entry, quantity in entries:
            entry.remaining -= quantity
            entry.line.fulfilled += quantity
        for fulfillment_order in owners.values():
            done = all(entry.remaining == 0 for entry in fulfillment_order.lines)
            fulfillment_order.status = "CLOSED" if done else "IN_PROGRESS"
            fulfillment_order.updated_at = moment
        first = next(iter(owners.values()))
        tracking = request.get("trackingInfo") or {}
        numbers = tracking.get("numbers") or []
        urls = tracking.get("urls") or []
        fulfillment = Fulfillment(
            number=self.next_id("Fulfillment"),
            order_number=first.order_number,
            location=first.location,
            lines=entries,
            created_at=moment,
            tracking_company=tracking.get("company"),
            tracking_number=tracking.get("number") or (numbers[0] if numbers else None),
            tracking_url=tracking.get("url") or (urls[0] if urls else None),
            notify_customer=bool(request.get("notifyCustomer")),
            line_numbers=[self.next_id("FulfillmentLineItem") for _ in entries],
        )
        self.fulfillments[fulfillment.number] = fulfillment
        order = self.orders[first.order_number]
        order.fulfillments.append(fulfillment)
        order.updated_at = moment
        self.events.append(Event("orders/updated", order=order.number))
        return fulfillment

    # JSON views -------------------------------------------------------------------------

    def order_json(self, order: Order) -> JSON:
        """The order as control calls and the snapshot show it."""
        return {
            "id": order.gid,
            "legacy_id": order.number,
            "name": order.name,
            "created_at": isoformat(order.created_at),
            "updated_at": isoformat(order.updated_at),
            "cancelled_at": isoformat(order.cancelled_at) if order.cancelled_at else None,
            "cancel_reason": order.cancel_reason,
            "financial_status": order.financial_status,
            "fulfillment_status": order.fulfillment_status,
            "currency": order.currency,
            "total": money(order.total()),
            "customer": {"id": order.customer.gid, "email": order.customer.email},
            "line_items": [
                {
                    "id": line.gid,
                    "sku": line.sku,
                    "title": line.title,
                    "quantity": line.quantity,
                    "current_quantity": line.current_quantity,
                    "unfulfilled_quantity": line.unfulfilled_quantity,
                    "price": money(line.price),
                    "location_id": self.locations[line.location_number].gid,
                    "variant_id": line.variant.gid if line.variant else None,
                    "inventory_item_id": line.variant.item.gid if line.variant else None,
                }
                for line in order.lines
            ],
            "fulfillment_orders": [
                {
                    "id": fulfillment_order.gid,
                    "status": fulfillment_order.status,
                    "location_id": fulfillment_order.location.gid,
                    "line_items": [
                        {
                            "id": entry.gid,
                            "line_item_id": entry.line.gid,
                            "total_quantity": entry.total,
                            "remaining_quantity": entry.remaining,
                        }
                        for entry in fulfillment_order.lines
                    ],
                }
                for fulfillment_order in order.fulfillment_orders
            ],
            "fulfillments": [fulfillment_json(f) for f in order.fulfillments],
        }


def fulfillment_json(fulfillment: Fulfillment) -> JSON:
    return {
        "id": fulfillment.gid,
        "order_id": f"gid://shopify/Order/{fulfillment.order_number}",
        "status": fulfillment.status,
        "created_at": isoformat(fulfillment.created_at),
        "location_id": fulfillment.location.gid,
        "tracking_company": fulfillment.tracking_company,
        "tracking_number": fulfillment.tracking_number,
        "tracking_url": fulfillment.tracking_url,
        "notify_customer": fulfillment.notify_customer,
        "line_items": [
            {
                "fulfillment_order_line_item_id": entry.gid,
                "line_item_id": entry.line.gid,
                "sku": entry.line.sku,
                "quantity": quantity,
            }
            for entry, quantity in fulfillment.lines
        ],
    }


def _error(field: list[str], message: str) -> JSON:
    return {"field": field, "message": message}


def _address(customer: Customer, number: int) -> JSON:
    return {
        "firstName": customer.first_name,
        "lastName": customer.last_name,
        "name": f"{customer.first_name} {customer.last_name}".strip(),
        "address1": f"{number} Market Street",
        "address2": None,
        "city": "Springfield",
        "province": "Illinois",
        "provinceCode": "IL",
        "zip": f"{62700 + number % 100:05d}",
        "country": "United States",
        "countryCodeV2": "US",
        "phone": None,
    }
