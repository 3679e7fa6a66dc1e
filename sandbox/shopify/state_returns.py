"""Returns of the simulated shop, with Shopify's rules: requesting, approving, declining,
processing, and the refunds that go with them.

A mixin of :class:`sandbox.shopify.state.ShopState` (kept apart, as the orders are).
The rules kept: only fulfilled units can be returned, and no unit twice while a return
holds it (a declined or cancelled return holds none); a request waits for the merchant
(REQUESTED), approving it opens a reverse fulfillment order (OPEN); ``returnProcess``
takes no more units of a line than are left to process, every disposition names a
line of the return's reverse fulfillment order and a restock names an active location,
all or nothing; a return whose every unit is processed is closed, as Shopify closes it.
A restocked unit goes back into the location's available quantity. Refunds are
checked against the payment they name (never more than is left of it) and the units
against what is left of the line; a refunded fulfilled unit leaves the line's
``currentQuantity``, as Shopify counts it. ``refundCreate`` is replayed by its
idempotency key; a refund it makes is the order's, not a return's (only ``returnProcess``
refunds belong to a return). Mutation refusals come back as Shopify's userErrors,
control refusals raise :class:`~sandbox.shopify.model.ShopifySimulatorError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final

from omnisync.sandbox.clock import MonotonicStamper, isoformat
from omnisync.sandbox.shopify.model import (
    JSON,
    Event,
    Fulfillment,
    InventoryItem,
    LineItem,
    Location,
    Order,
    ShopifySimulatorError,
    Transaction,
    gid_number,
    money,
)
from omnisync.sandbox.shopify.return_records import (
    CANCELED,
    CLOSED,
    DECLINED,
    OPEN,
    REQUESTED,
    Disposition,
    Refund,
    ReturnLine,
    ReturnRecord,
    ReverseDelivery,
    ReverseLine,
    ReverseOrder,
    return_reason,
)

DELIVERY_TOPIC: Final = "reverse_deliveries/attach_deliverable"
PAYMENTS: Final = frozenset({"SALE", "CAPTURE"})
"""The transactions a refund may name as its parent."""
NO_UNITS: Final = Decimal("0")


def return_error(code: str, field: list[str] | None, message: str) -> JSON:
    """A ReturnUserError."""
    return {"code": code, "field": field, "message": message}


@dataclass(frozen=True)
class RefundAsked:
    """One refund transaction a mutation asks for: where in the input, the payment it
    names, the amount, and whether the rest of it fits (currency, kind)."""

    path: list[str]
    parent: Any
    amount: Decimal | None
    acceptable: bool


class ReturnOperations:
    """Return operations over the state of :class:`~sandbox.shopify.state.ShopState`."""

    if TYPE_CHECKING:
        stamper: MonotonicStamper
        currency: str
        locations: dict[int, Location]
        orders: dict[int, Order]
        fulfillments: dict[int, Fulfillment]
        transactions: list[Transaction]
        returns: dict[int, ReturnRecord]
        refunds: dict[int, Refund]
        events: list[Event]

        def next_id(self, kind: str, start: int = 1) -> int: ...
        def order(self, ref: str | int) -> Order: ...
        def change_level(self, item: InventoryItem, location: int, available: int) -> None: ...
        def _remove(self, line: LineItem, quantity: int, restock: bool) -> None: ...
        def once(
            self,
            key: str,
            request: Mapping[str, Any],
            run: Callable[[], tuple[JSON, bool]],
            refusal: Callable[[str, str], JSON],
        ) -> JSON: ...

    # the buyer ----------------------------------------------------------------------

    def request_return(
        self,
        order_ref: str | int,
        lines: Sequence[tuple[str, int]],
        reason: str = "UNWANTED",
        note: str = "",
        customer_note: str | None = None,
    ) -> ReturnRecord:
        """The buyer asks to send back ``quantity`` units of each ``(line, quantity)``: the
        line named by its LineItem gid, SKU or variant gid. Only fulfilled units not held
        by another return may go; the return waits for the merchant (REQUESTED)."""
        order = self.order(order_ref)
        if not lines:
            raise ShopifySimulatorError("a return needs at least one line")
        why = return_reason(reason)
        held = self._held_units()
        taken: list[tuple[Fulfillment, int, int]] = []
        for ref, quantity in lines:
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                raise ShopifySimulatorError(f"bad quantity {quantity!r} for {ref!r}")
            taken.extend(self._returnable(order, self._line_of(order, ref), quantity, held))
        moment = self.stamper.stamp()
        number = self.next_id("Return")
        count = sum(1 for record in self.returns.values() if record.order_number == order.number)
        record = ReturnRecord(
            number=number,
            order_number=order.number,
            name=f"{order.name}-R{count + 1}",
            lines=[
                ReturnLine(
                    self.next_id("ReturnLineItem"),
                    fulfillment,
                    position,
                    quantity,
                    why,
                    note,
                    customer_note,
                )
                for fulfillment, position, quantity in taken
            ],
            created_at=moment,
        )
        self.returns[number] = record
        self._return_changed(record, ("returns/request",), moment)
        return record

    def _line_of(self, order: Order, ref: str) -> LineItem:
        for line in order.lines:
            variant = line.variant.gid if line.variant else None
            if ref in (line.gid, variant) or (line.sku and line.sku == ref):
                return line
        raise ShopifySimulatorError(f"order {order.name} has no line {ref!r}")

    def _held_units(self) -> dict[tuple[int, int], int]:
        """(fulfillment, line position) -> units that returns hold now."""
        held: dict[tuple[int, int], int] = {}
        for record in self.returns.values():
            if record.holds_units:
                for line in record.lines:
                    key = (line.fulfillment.number, line.position)
                    held[key] = held.get(key, 0) + line.quantity
        return held

    def _returnable(
        self, order: Order, line: LineItem, quantity: int, held: dict[tuple[int, int], int]
    ) -> list[tuple[Fulfillment, int, int]]:
        """(fulfillment, position, units) covering ``quantity`` of ``line``, oldest first."""
        wanted = quantity
        found: list[tuple[Fulfillment, int, int]] = []
        for fulfillment in order.fulfillments:
            for position, (entry, shipped) in enumerate(fulfillment.lines):
                if entry.line is not line or wanted == 0:
                    continue
                key = (fulfillment.number, position)
                take = min(shipped - held.get(key, 0), wanted)
                if take > 0:
                    found.append((fulfillment, position, take))
                    held[key] = held.get(key, 0) + take
                    wanted -= take
        if wanted:
            raise ShopifySimulatorError(
                f"order {order.name} has {quantity - wanted} returnable unit(s) of "
                f"{line.sku or line.gid}, not {quantity}"
            )
        return found

    def cancel_return(self, ref: str | int) -> ReturnRecord:
        """The buyer withdraws a return nothing of which was processed yet."""
        record = self.return_record(ref)
        if record.status not in (REQUESTED, OPEN) or any(line.processed for line in record.lines):
            raise ShopifySimulatorError(f"return {record.name} cannot be cancelled now")
        record.status = CANCELED
        if record.reverse is not None:
            record.reverse.status = CANCELED
        self._return_changed(record, ("returns/cancel",))
        return record

    def ship_return(
        self, ref: str | int, tracking_number: str, carrier: str | None = None
    ) -> ReturnRecord:
        """The parcel goes back: a reverse delivery with its tracking on the return's
        reverse fulfillment order (an approved return only)."""
        record = self.return_record(ref)
        if record.status != OPEN or record.reverse is None:
            raise ShopifySimulatorError(f"return {record.name} is not open")
        delivery = ReverseDelivery(self.next_id("ReverseDelivery"), tracking_number, carrier)
        record.reverse.deliveries.append(delivery)
        self._return_changed(record, (DELIVERY_TOPIC,))
        return record

    # the merchant -------------------------------------------------------------------

    def return_record(self, ref: str | int) -> ReturnRecord:
        """A return by gid or number."""
        number = gid_number(ref, "Return")
        if number is None and str(ref).isdigit():
            number = int(ref)
        record = self.returns.get(number or 0)
        if record is None:
            raise ShopifySimulatorError(f"no return {ref!r}")
        return record

    def _requested(self, ref: Any) -> tuple[ReturnRecord | None, list[JSON]]:
        number = gid_number(ref, "Return")
        record = self.returns.get(number or 0)
        if record is None:
            return None, [return_error("NOT_FOUND", ["input", "id"], "Return does not exist.")]
        if record.status != REQUESTED:
            message = f"Return is {record.status.lower()}: only a requested return can be."
            return None, [return_error("INVALID_STATE", ["input", "id"], message)]
        return record, []

    def approve_return(self, request: Mapping[str, Any]) -> tuple[ReturnRecord | None, list[JSON]]:
        """``returnApproveRequest``: REQUESTED -> OPEN, with its reverse fulfillment order."""
        record, errors = self._requested(request.get("id"))
        if record is None:
            return None, errors
        moment = self.stamper.stamp()
        record.status = OPEN
        record.approved_at = moment
        record.reverse = ReverseOrder(
            self.next_id("ReverseFulfillmentOrder"),
            [
                ReverseLine(self.next_id("ReverseFulfillmentOrderLineItem"), line)
                for line in record.lines
            ],
        )
        record.notices.append(("approve", bool(request.get("notifyCustomer"))))
        self._return_changed(record, ("returns/approve",), moment)
        return record, []

    def decline_return(self, request: Mapping[str, Any]) -> tuple[ReturnRecord | None, list[JSON]]:
        """``returnDeclineRequest``: REQUESTED -> DECLINED; its units may be returned again."""
        record, errors = self._requested(request.get("id"))
        if record is None:
            return None, errors
        note = request.get("declineNote")
        if note is not None and len(str(note)) > 500:
            message = "Decline note is too long (maximum is 500 characters)."
            return None, [return_error("TOO_LONG", ["input", "declineNote"], message)]
        record.status = DECLINED
        record.decline = (str(request["declineReason"]), note)
        record.notices.append(("decline", bool(request.get("notifyCustomer"))))
        self._return_changed(record, ("returns/decline",))
        return record, []

    def process_return(self, request: Mapping[str, Any]) -> tuple[ReturnRecord | None, list[JSON]]:
        """``returnProcess``: the units confirmed with their dispositions, and the refund
        when ``financialTransfer.issueRefund`` asks for one; all or nothing."""
        record = self.returns.get(gid_number(request.get("returnId"), "Return") or 0)
        if record is None:
            message = "Return does not exist."
            return None, [return_error("NOT_FOUND", ["input", "returnId"], message)]
        if record.status != OPEN or record.reverse is None:
            message = f"Return is {record.status.lower()}: only an open return can be processed."
            return None, [return_error("INVALID_STATE", ["input", "returnId"], message)]
        errors: list[JSON] = []
        if request.get("exchangeLineItems"):
            message = "The simulated shop processes no exchanges."
            errors.append(return_error("INVALID", ["input", "exchangeLineItems"], message))
        units, disposals = self._units_to_process(record, request, errors)
        refund = (request.get("financialTransfer") or {}).get("issueRefund")
        payments = self._refund_payments(record.order_number, refund, errors) if refund else []
        if not units and not payments and not errors:
            message = "Nothing to process: give return line items or a refund."
            errors.append(return_error("BLANK", ["input", "returnLineItems"], message))
        if errors:
            return None, errors
        moment = self.stamper.stamp()
        for line, quantity in units.items():
            line.processed += quantity
        for reverse_line, disposition in disposals:
            reverse_line.dispositions.append(disposition)
            if disposition.type == "RESTOCKED" and disposition.location is not None:
                self._restock(reverse_line.return_line.line_item, disposition)
        if payments:
            refunded = [(line.line_item, quantity) for line, quantity in units.items()]
            made = self._refund(record.order_number, refunded, payments, moment)
            made.return_number = record.number
            made.notify_customer = bool(request.get("notifyCustomer"))
            record.refunds.append(made)
            for line, quantity in units.items():
                line.refunded += quantity
        record.notices.append(("process", bool(request.get("notifyCustomer"))))
        topics = ["returns/process"]
        if all(line.processable == 0 for line in record.lines):
            record.status = CLOSED
            record.closed_at = moment
            record.reverse.status = CLOSED
            topics.append("returns/close")
        self._return_changed(record, topics, moment)
        return record, []

    def _units_to_process(
        self, record: ReturnRecord, request: Mapping[str, Any], errors: list[JSON]
    ) -> tuple[dict[ReturnLine, int], list[tuple[ReverseLine, Disposition]]]:
        units: dict[ReturnLine, int] = {}
        disposals: list[tuple[ReverseLine, Disposition]] = []
        undisposed: dict[int, int] = {}
        for index, item in enumerate(request.get("returnLineItems") or []):
            path = ["input", "returnLineItems", str(index)]
            line = record.line(item.get("id"))
            if line is None:
                errors.append(
                    return_error("NOT_FOUND", [*path, "id"], "Return line item not found.")
                )
                continue
            quantity = int(item["quantity"])
            if quantity < 1 or units.get(line, 0) + quantity > line.processable:
                message = (
                    f"Quantity must be between 1 and {line.processable}, the units left to process."
                )
                errors.append(return_error("INVALID", [*path, "quantity"], message))
                continue
            units[line] = units.get(line, 0) + quantity
            dispositions = item.get("dispositions")
            if dispositions is None:
                continue
            if sum(int(d["quantity"]) for d in dispositions) != quantity:
                message = "The dispositions must account for every unit processed."
                errors.append(return_error("INVALID", [*path, "dispositions"], message))
                continue
            for position, wanted in enumerate(dispositions):
                at = [*path, "dispositions", str(position)]
                made = self._disposition(record, line, wanted, at, undisposed, errors)
                if made is not None:
                    disposals.append(made)
        return units, disposals

    def _disposition(
        self,
        record: ReturnRecord,
        line: ReturnLine,
        wanted: Mapping[str, Any],
        path: list[str],
        undisposed: dict[int, int],
        errors: list[JSON],
    ) -> tuple[ReverseLine, Disposition] | None:
        reverse_line = record.reverse_line(wanted.get("reverseFulfillmentOrderLineItemId"))
        if reverse_line is None or reverse_line.return_line is not line:
            message = "Reverse fulfillment order line item not found for this return line item."
            errors.append(
                return_error("NOT_FOUND", [*path, "reverseFulfillmentOrderLineItemId"], message)
            )
            return None
        quantity = int(wanted["quantity"])
        left = undisposed.setdefault(reverse_line.number, reverse_line.undisposed)
        if quantity < 1 or quantity > left:
            message = f"Quantity must be between 1 and {left}, the units left to dispose."
            errors.append(return_error("INVALID", [*path, "quantity"], message))
            return None
        undisposed[reverse_line.number] = left - quantity
        kind = str(wanted["dispositionType"])
        location: Location | None = None
        if wanted.get("locationId") is not None:
            location = self.locations.get(gid_number(wanted["locationId"], "Location") or 0)
            if location is None or not location.active:
                message = "Location not found."
                errors.append(return_error("NOT_FOUND", [*path, "locationId"], message))
                return None
        if kind == "RESTOCKED" and location is None:
            message = "A location is required to restock."
            errors.append(return_error("BLANK", [*path, "locationId"], message))
            return None
        number = self.next_id("ReverseFulfillmentOrderDisposition")
        return reverse_line, Disposition(number, kind, quantity, location, self.stamper.stamp())

    def _restock(self, line: LineItem, disposition: Disposition) -> None:
        item = line.variant.item if line.variant is not None else None
        if item is None or not item.tracked or disposition.location is None:
            return
        place = disposition.location.number
        self.change_level(item, place, item.levels.get(place, 0) + disposition.quantity)

    def _return_changed(
        self, record: ReturnRecord, topics: Sequence[str], moment: datetime | None = None
    ) -> None:
        """The return changed, and so did its order (``updatedAt`` now): the webhooks of
        ``topics`` and ``orders/updated`` go out."""
        order = self.orders[record.order_number]
        order.updated_at = moment or self.stamper.stamp()
        self.events.extend(Event(topic, return_number=record.number) for topic in topics)
        self.events.append(Event("orders/updated", order=order.number))

    # money --------------------------------------------------------------------------

    def payments_of(self, order: Order) -> list[Transaction]:
        return [
            t for t in self.transactions if t.order_number == order.number and t.kind in PAYMENTS
        ]

    def refundable(self, payment: Transaction) -> Decimal:
        """What is left of a payment to refund."""
        refunded = sum(
            (t.amount for t in self.transactions if t.parent is payment and t.kind == "REFUND"),
            NO_UNITS,
        )
        return payment.amount - refunded

    def refund_allocation(self, order: Order, amount: Decimal) -> list[tuple[Transaction, Decimal]]:
        """How ``amount`` would be refunded: against the order's payments, oldest first."""
        left = amount
        allocation: list[tuple[Transaction, Decimal]] = []
        for payment in self.payments_of(order):
            take = min(self.refundable(payment), left)
            if take > 0:
                allocation.append((payment, take))
                left -= take
        return allocation

    def _refund_payments(
        self, order_number: int, refund: Mapping[str, Any], errors: list[JSON]
    ) -> list[tuple[Transaction, Decimal]]:
        """The (payment, amount) pairs of returnProcess's ``issueRefund``."""
        order = self.orders[order_number]
        base = ["input", "financialTransfer", "issueRefund", "orderTransactions"]
        asked = [
            RefundAsked(
                [*base, str(index)],
                entry.get("parentId"),
                _amount((entry.get("transactionAmount") or {}).get("amount")),
                (entry.get("transactionAmount") or {}).get("currencyCode") == order.currency,
            )
            for index, entry in enumerate(refund.get("orderTransactions") or [])
        ]
        over = bool(refund.get("allowOverRefunding"))
        return self._payments_refunded(order, asked, over, errors, return_error)

    def _payments_refunded(
        self,
        order: Order,
        asked: Iterable[RefundAsked],
        over: bool,
        errors: list[JSON],
        error: Callable[[str, list[str], str], JSON],
    ) -> list[tuple[Transaction, Decimal]]:
        """(payment, amount) for each refund asked; an ``error(code, field, message)`` for
        one that names no payment of the order, a bad amount, or more than is left of the
        payment (unless over-refunding is allowed)."""
        taken: list[tuple[Transaction, Decimal]] = []
        left: dict[int, Decimal] = {}
        for wanted in asked:
            payment = self._payment(order, wanted.parent)
            if payment is None or not wanted.acceptable:
                message = f"Refunds name a payment of the order, in {order.currency}."
                errors.append(error("NOT_FOUND", [*wanted.path, "parentId"], message))
                continue
            amount = wanted.amount
            if amount is None or amount <= 0:
                message = "The amount must be positive."
                errors.append(error("INVALID", [*wanted.path, "amount"], message))
                continue
            remaining = left.setdefault(payment.number, self.refundable(payment))
            if amount > remaining and not over:
                message = f"The amount exceeds the {money(remaining)} left of the payment."
                errors.append(error("INVALID", [*wanted.path, "amount"], message))
                continue
            left[payment.number] = remaining - amount
            taken.append((payment, amount))
        return taken

    def _payment(self, order: Order, ref: Any) -> Transaction | None:
        return next((t for t in self.payments_of(order) if t.gid == ref), None)

    def _refund(
        self,
        order_number: int,
        lines: Iterable[tuple[LineItem, int]],
        payments: Sequence[tuple[Transaction, Decimal]],
        moment: datetime,
    ) -> Refund:
        """Record a refund of fulfilled units (not restocked) and its transactions."""
        order = self.orders[order_number]
        refunds = [
            Transaction(
                self.next_id("OrderTransaction"),
                order.number,
                "REFUND",
                amount,
                payment.gateway,
                moment,
                payment,
            )
            for payment, amount in payments
        ]
        self.transactions.extend(refunds)
        kept = [(line, quantity) for line, quantity in lines if quantity > 0]
        for line, quantity in kept:
            line.refunded_fulfilled += quantity
        made = Refund(self.next_id("Refund"), order.number, kept, refunds, moment)
        self.refunds[made.number] = made
        paid = sum((p.amount for p in self.payments_of(order)), NO_UNITS)
        left = sum((self.refundable(p) for p in self.payments_of(order)), NO_UNITS)
        if paid > 0 and refunds:
            order.financial_status = "REFUNDED" if left <= 0 else "PARTIALLY_REFUNDED"
        return made

    # refundCreate -------------------------------------------------------------------

    def create_refund(self, request: Mapping[str, Any], key: str) -> JSON:
        """``refundCreate``: ``{"refund": its number or None, "userErrors"}``; replayed by
        ``key``."""
        return self.once(
            key, {"refundCreate": request}, lambda: self._create_refund(request), _refund_refusal
        )

    def _create_refund(self, request: Mapping[str, Any]) -> tuple[JSON, bool]:
        order = self.orders.get(gid_number(request.get("orderId"), "Order") or 0)
        if order is None:
            return _refund_refusal("NOT_FOUND", "Order does not exist.", ["orderId"]), True
        errors: list[JSON] = []
        units = self._refund_units(order, request.get("refundLineItems") or [], errors)
        payments = self._refund_transactions(order, request, errors)
        if not units and not payments and not errors:
            errors.append(_user_error("BLANK", ["refundLineItems"], "Nothing to refund."))
        if errors:
            return {"refund": None, "userErrors": errors}, True
        moment = self.stamper.stamp()
        fulfilled: list[tuple[LineItem, int]] = []
        for line, quantity, restock_type, location in units:
            from_fulfilled = (
                0 if restock_type == "CANCEL" else min(quantity, _refundable_fulfilled(line))
            )
            fulfilled.append((line, from_fulfilled))
            self._remove(line, quantity - from_fulfilled, restock=restock_type == "CANCEL")
            if restock_type == "RETURN" and location is not None and line.variant is not None:
                item = line.variant.item
                if item.tracked:
                    level = item.levels.get(location.number, 0)
                    self.change_level(item, location.number, level + from_fulfilled)
        made = self._refund(order.number, fulfilled, payments, moment)
        made.lines = [(line, quantity) for line, quantity, _, _ in units]
        made.note = request.get("note")
        made.notify_customer = bool(request.get("notify"))
        order.updated_at = moment
        self.events.append(Event("orders/updated", order=order.number))
        return {"refund": made.number, "userErrors": []}, False

    def _refund_units(
        self, order: Order, items: Sequence[Mapping[str, Any]], errors: list[JSON]
    ) -> list[tuple[LineItem, int, str, Location | None]]:
        units: list[tuple[LineItem, int, str, Location | None]] = []
        taken: dict[int, int] = {}
        for index, item in enumerate(items):
            path = ["refundLineItems", str(index)]
            line = next((li for li in order.lines if li.gid == item.get("lineItemId")), None)
            if line is None:
                errors.append(
                    {"field": [*path, "lineItemId"], "message": "Line item does not exist."}
                )
                continue
            quantity = int(item["quantity"])
            restock_type = str(item.get("restockType") or "NO_RESTOCK")
            left = (
                line.unfulfilled_quantity if restock_type == "CANCEL" else line.current_quantity
            ) - taken.get(line.number, 0)
            if quantity < 1 or quantity > left:
                message = f"Quantity cannot refund more than the {left} refundable unit(s)."
                errors.append(_user_error("INVALID", [*path, "quantity"], message))
                continue
            location = self.locations.get(line.location_number)
            if item.get("locationId") is not None:
                location = self.locations.get(gid_number(item["locationId"], "Location") or 0)
                if location is None:
                    errors.append(
                        {"field": [*path, "locationId"], "message": "Location not found."}
                    )
                    continue
            taken[line.number] = taken.get(line.number, 0) + quantity
            units.append((line, quantity, restock_type, location))
        return units

    def _refund_transactions(
        self, order: Order, request: Mapping[str, Any], errors: list[JSON]
    ) -> list[tuple[Transaction, Decimal]]:
        """The (payment, amount) pairs of refundCreate's REFUND ``transactions``."""
        asked = [
            RefundAsked(
                ["transactions", str(index)],
                entry.get("parentId"),
                _amount(entry.get("amount")),
                entry.get("kind") == "REFUND",
            )
            for index, entry in enumerate(request.get("transactions") or [])
        ]
        over = bool(request.get("allowOverRefunding"))
        return self._payments_refunded(order, asked, over, errors, _user_error)

    # views --------------------------------------------------------------------------

    def returns_of(self, order: Order) -> list[ReturnRecord]:
        return [r for r in self.returns.values() if r.order_number == order.number]

    def return_json(self, record: ReturnRecord) -> JSON:
        """A return as control calls and the snapshot show it: status, lines with their
        dispositions, refunds and what the buyer was to be told."""
        dispositions: dict[int, list[JSON]] = {}
        for reverse_line in record.reverse.lines if record.reverse else []:
            dispositions[reverse_line.return_line.number] = [
                {
                    "type": d.type,
                    "quantity": d.quantity,
                    "location_id": d.location.gid if d.location else None,
                    "location": d.location.name if d.location else None,
                }
                for d in reverse_line.dispositions
            ]
        order = self.orders[record.order_number]
        return {
            "id": record.gid,
            "name": record.name,
            "order_id": order.gid,
            "status": record.status,
            "created_at": isoformat(record.created_at),
            "closed_at": isoformat(record.closed_at) if record.closed_at else None,
            "decline": (
                {"reason": record.decline[0], "note": record.decline[1]} if record.decline else None
            ),
            "reverse_fulfillment_order_id": record.reverse.gid if record.reverse else None,
            "tracking_numbers": [
                d.tracking_number for d in (record.reverse.deliveries if record.reverse else [])
            ],
            "lines": [
                {
                    "id": line.gid,
                    "line_item_id": line.line_item.gid,
                    "fulfillment_line_item_id": line.fulfillment_line_gid,
                    "sku": line.line_item.sku,
                    "quantity": line.quantity,
                    "reason": line.reason,
                    "processed_quantity": line.processed,
                    "refunded_quantity": line.refunded,
                    "dispositions": dispositions.get(line.number, []),
                }
                for line in record.lines
            ],
            "refunds": [refund_json(refund) for refund in record.refunds],
            "notices": [
                {"action": action, "notify_customer": notify} for action, notify in record.notices
            ],
        }


def refund_json(refund: Refund) -> JSON:
    return {
        "id": refund.gid,
        "amount": money(refund.total),
        "notify_customer": refund.notify_customer,
        "note": refund.note,
        "lines": [
            {"line_item_id": line.gid, "sku": line.sku, "quantity": quantity}
            for line, quantity in refund.lines
        ],
        "transactions": [
            {
                "id": t.gid,
                "kind": t.kind,
                "amount": money(t.amount),
                "parent_id": t.parent.gid if t.parent else None,
            }
            for t in refund.transactions
        ],
    }


def _user_error(code: str, field: list[str], message: str) -> JSON:
    """A UserError (refundCreate's, which have no code)."""
    return {"field": field, "message": message}


def _refundable_fulfilled(line: LineItem) -> int:
    return max(line.fulfilled - line.refunded_fulfilled, 0)


def _amount(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def _refund_refusal(code: str, message: str, field: list[str] | None = None) -> JSON:
    """A refundCreate payload refusing the request (UserError has no code: ``code`` is
    only the reason's name here)."""
    return {"refund": None, "userErrors": [{"field": field, "message": message}]}
