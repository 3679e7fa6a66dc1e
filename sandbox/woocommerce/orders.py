"""The shop's orders: placing them, their status, the stock they take and give back, and
their notes.

Stock follows WooCommerce's order hooks: an order reduces the stock of its managed items
once, when it is (or becomes) ``processing``, ``on-hold`` or ``completed``
(``wc_maybe_reduce_stock_levels``); it gives the units back when it becomes
``cancelled`` or ``pending`` after that (``wc_maybe_increase_stock_levels``). Each move
and each status change leaves a system note, worded as WooCommerce words them. At
checkout a managed item that does not allow backorders refuses more units than it has;
a later status change reduces whatever is there (WooCommerce does not check again).
``completed`` stamps ``date_completed``; ``processing`` and ``completed`` stamp
``date_paid`` once.

Every change stamps ``date_modified`` and is announced (``created`` or ``updated``) to
the ``announce`` callback, which turns it into webhooks.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Final

from omnisync.sandbox.clock import MonotonicStamper
from omnisync.sandbox.order_book import SellerOrderBook
from omnisync.sandbox.woocommerce.catalogue import Catalogue, StockItem
from omnisync.sandbox.woocommerce.model import JSON, IdSequence, WooCommerceSimulatorError
from omnisync.sandbox.woocommerce.product_view import line_name

STATUS_LABELS: Final = {
    "pending": "Pending payment",
    "processing": "Processing",
    "on-hold": "On hold",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "refunded": "Refunded",
    "failed": "Failed",
    "checkout-draft": "Draft",
    "trash": "Trash",
}
STATUSES: Final = frozenset(STATUS_LABELS)
REDUCING: Final = frozenset({"processing", "on-hold", "completed"})
RESTORING: Final = frozenset({"cancelled", "pending"})
PAID: Final = frozenset({"processing", "completed"})
HIDDEN_FROM_ANY: Final = frozenset({"trash", "checkout-draft"})
"""What ``status=any`` leaves out of a listing, as WooCommerce does."""
SYSTEM_AUTHOR: Final = "system"
DEFAULT_BILLING: Final = {
    "first_name": "Sam",
    "last_name": "Buyer",
    "company": "",
    "address_1": "1 Loopback Lane",
    "address_2": "",
    "city": "San Francisco",
    "state": "CA",
    "postcode": "94103",
    "country": "US",
    "email": "sam.buyer@example.com",
    "phone": "(555) 555-0100",
}


@dataclass
class LineItem:
    id: int
    item_id: int
    """The product's or variation's id."""
    product_id: int
    variation_id: int
    name: str
    sku: str
    quantity: int
    price: Decimal
    option: str = ""

    @property
    def total(self) -> Decimal:
        return self.price * self.quantity


@dataclass
class Note:
    id: int
    note: str
    customer_note: bool
    author: str
    created: datetime


@dataclass
class Order:
    id: int
    order_key: str
    status: str
    currency: str
    created: datetime
    modified: datetime
    lines: list[LineItem]
    billing: JSON
    date_paid: datetime | None = None
    date_completed: datetime | None = None
    stock_reduced: bool = False
    notes: list[Note] = field(default_factory=list)
    trackings: list[JSON] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal(0))


class OrderBook(SellerOrderBook[Order]):
    """The shop's orders by id (as text), in the order they were placed."""

    refusal = WooCommerceSimulatorError

    def __init__(
        self,
        stamper: MonotonicStamper,
        catalogue: Catalogue,
        *,
        ids: IdSequence,
        currency: str,
        announce: Callable[[str, Order], None],
    ) -> None:
        super().__init__(stamper, "woocommerce", currency)
        self.catalogue = catalogue
        self.ids = ids
        self.note_ids = IdSequence(1)
        self.line_ids = IdSequence(1)
        self.announce = announce

    def find(self, order_id: int) -> Order | None:
        return self.orders.get(str(order_id))

    def get(self, order_id: int) -> Order:
        return self.order(str(order_id))

    def place(self, lines: Sequence[tuple[str, int]], status: str) -> Order:
        """A buyer checks out ``(sku, quantity)`` lines, all or none."""
        if status not in STATUSES or status == "trash":
            raise WooCommerceSimulatorError(f"not an order status: {status!r}")
        if not lines:
            raise WooCommerceSimulatorError("an order needs at least one line")
        wanted: dict[int, int] = {}
        items: list[tuple[StockItem, int]] = []
        for sku, quantity in lines:
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
                raise WooCommerceSimulatorError(f"{sku}: quantity must be 1 or more")
            item = self.catalogue.by_sku(sku)
            if not item.sellable:
                raise WooCommerceSimulatorError(f"{sku!r} is a variable product: buy a variation")
            wanted[item.id] = wanted.get(item.id, 0) + quantity
            items.append((item, quantity))
        if status in REDUCING:
            for item_id, quantity in wanted.items():
                item = self.catalogue.items[item_id]
                left = self.catalogue.available(item)
                if left is not None and left < quantity:
                    raise WooCommerceSimulatorError(
                        f"not enough units of {item.sku}: {left} in stock, {quantity} wanted"
                    )
        now = self.stamper.stamp()
        order = Order(
            id=self.ids.next(),
            order_key="wc_order_" + _random_key(13),
            status=status,
            currency=self.currency,
            created=now,
            modified=now,
            lines=[self._line(item, quantity) for item, quantity in items],
            billing=dict(DEFAULT_BILLING),
        )
        self.orders[str(order.id)] = order
        self._entered(order, status, now)
        self.announce("created", order)
        return order

    def set_status(self, order: Order, status: str) -> bool:
        """Move the order to ``status`` (stock and notes as WooCommerce); whether it moved.
        The order is saved (``date_modified``) and announced either way."""
        if status not in STATUSES:
            raise WooCommerceSimulatorError(f"not an order status: {status!r}")
        previous = order.status
        now = self.stamper.stamp()
        order.modified = now
        if status != previous:
            order.status = status
            self.add_note(
                order,
                f"Order status changed from {STATUS_LABELS[previous]} to {STATUS_LABELS[status]}.",
                announce=False,
            )
            self._entered(order, status, now)
        self.announce("updated", order)
        return status != previous

    def add_note(
        self,
        order: Order,
        text: str,
        *,
        customer_note: bool = False,
        author: str = SYSTEM_AUTHOR,
        announce: bool = False,
    ) -> Note:
        note = Note(self.note_ids.next(), text, customer_note, author, self.stamper.stamp())
        order.notes.append(note)
        if announce:
            self.announce("updated", order)
        return note

    def add_tracking(self, order: Order, item: JSON) -> None:
        """The Shipment Tracking extension saves a tracking item on the order (a save:
        ``date_modified`` and an update)."""
        order.trackings.append(item)
        order.modified = self.stamper.stamp()
        self.announce("updated", order)

    def _entered(self, order: Order, status: str, now: datetime) -> None:
        if status in PAID and order.date_paid is None:
            order.date_paid = now
        if status == "completed":
            order.date_completed = now
        if status in REDUCING and not order.stock_reduced:
            self._move_stock(order, -1, "Stock levels reduced")
            order.stock_reduced = True
        elif status in RESTORING and order.stock_reduced:
            self._move_stock(order, +1, "Stock levels increased")
            order.stock_reduced = False

    def _move_stock(self, order: Order, sign: int, wording: str) -> None:
        changes = []
        for line in order.lines:
            item = self.catalogue.get(line.item_id)
            if item is None:
                continue
            moved = self.catalogue.move(item, sign * line.quantity)
            if sign < 0:
                item.total_sales += line.quantity
            if moved is not None:
                changes.append(f"{line.name} ({line.sku}) {moved[0]}&rarr;{moved[1]}")
        if changes:
            self.add_note(order, f"{wording}: {', '.join(changes)}")

    def _line(self, item: StockItem, quantity: int) -> LineItem:
        variation = item.kind == "variation"
        return LineItem(
            id=self.line_ids.next(),
            item_id=item.id,
            product_id=item.parent_id if variation else item.id,
            variation_id=item.id if variation else 0,
            name=line_name(item, self.catalogue),
            sku=item.sku,
            quantity=quantity,
            price=item.price,
            option=item.option if variation else "",
        )


def _random_key(length: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))
