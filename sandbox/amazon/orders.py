"""Orders of the simulated seller and how the Orders API v0 shows them.

An order keeps its lines, status and fulfilment channel; every change stamps
``LastUpdateDate`` from the simulator's :class:`~sandbox.clock.MonotonicStamper`.
As on Amazon, a Pending (or PendingAvailability) order shows no ``OrderTotal`` and
its items no prices; they appear once payment is authorised (Unshipped). The query
rules of getOrders live in :mod:`sandbox.amazon.order_query`; the Orders API
2026-01-01's view of an order in :mod:`sandbox.amazon.orders_2026`.

Every new order and every change (:meth:`OrderBook.touch`) is told to ``on_change``
with an :class:`OrderChange` saying why, under the simulator's lock and after the
change is made: that is where ORDER_CHANGE notifications start
(:mod:`sandbox.amazon.notifier`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from omnisync.sandbox.amazon.http import (
    JSON,
    AmazonSimulatorError,
    amazon_time,
    invalid_input,
    money,
    not_found,
    parse_amazon_time,
    parse_price,
)
from omnisync.sandbox.clock import MonotonicStamper
from omnisync.sandbox.order_book import SellerOrderBook

PENDING: Final = "Pending"
PENDING_AVAILABILITY: Final = "PendingAvailability"
UNSHIPPED: Final = "Unshipped"
PARTIALLY_SHIPPED: Final = "PartiallyShipped"
SHIPPED: Final = "Shipped"
CANCELED: Final = "Canceled"
UNFULFILLABLE: Final = "Unfulfillable"
INVOICE_UNCONFIRMED: Final = "InvoiceUnconfirmed"
ORDER_STATUSES: Final = (
    PENDING_AVAILABILITY,
    PENDING,
    UNSHIPPED,
    PARTIALLY_SHIPPED,
    SHIPPED,
    INVOICE_UNCONFIRMED,
    CANCELED,
    UNFULFILLABLE,
)
UNPRICED: Final = frozenset({PENDING, PENDING_AVAILABILITY})
ADDRESSED: Final = frozenset({UNSHIPPED, PARTIALLY_SHIPPED, SHIPPED, INVOICE_UNCONFIRMED})
"""Statuses in which Amazon shows where the order goes."""
FULFILLMENT_CHANNELS: Final = ("MFN", "AFN")
# Moves a test or the demo may make by hand; shipping MFN orders goes through
# confirmShipment (or ship_order), which sets PartiallyShipped / Shipped itself.
TRANSITIONS: Final[Mapping[str, frozenset[str]]] = {
    PENDING_AVAILABILITY: frozenset({PENDING, UNSHIPPED, CANCELED}),
    PENDING: frozenset({UNSHIPPED, CANCELED}),
    UNSHIPPED: frozenset({CANCELED, UNFULFILLABLE, SHIPPED}),
    PARTIALLY_SHIPPED: frozenset({SHIPPED, CANCELED}),
    SHIPPED: frozenset({INVOICE_UNCONFIRMED}),
    INVOICE_UNCONFIRMED: frozenset({SHIPPED}),
    CANCELED: frozenset(),
    UNFULFILLABLE: frozenset(),
}


@dataclass(frozen=True)
class ShipTo:
    """Where every order of the simulator goes: the coarse address Amazon shows without a
    restricted data token."""

    city: str = "SEATTLE"
    state_or_region: str = "WA"
    postal_code: str = "98121-2778"
    country_code: str = "US"


SHIP_TO: Final = ShipTo()


@dataclass(frozen=True)
class OrderChange:
    """Why an order changed, in the words of an ORDER_CHANGE notification."""

    change_type: str
    """``OrderChangeType``: ``OrderStatusChange`` or ``BuyerRequestedChange``."""
    reason: str
    """``OrderChangeTrigger.ChangeReason``."""


NEW_ORDER: Final = OrderChange("OrderStatusChange", "NewOrder")
STATUS_CHANGE: Final = OrderChange("OrderStatusChange", "OrderStatusChange")
BUYER_CANCEL_REQUEST: Final = OrderChange("BuyerRequestedChange", "Buyer Requested Cancel")
ORDER_UPDATED: Final = OrderChange("OrderStatusChange", "OrderUpdated")


@dataclass
class OrderLine:
    item_id: str
    sku: str
    asin: str
    title: str
    quantity: int
    unit_price: Decimal
    tax: Decimal
    shipped: int = 0
    cancel_reason: str | None = None
    """Set when the buyer asked to cancel (``BuyerRequestedCancel``)."""

    @property
    def unshipped(self) -> int:
        return self.quantity - self.shipped


@dataclass
class AmazonOrder:
    order_id: str
    marketplace_id: str
    currency: str
    status: str
    fulfillment_channel: str
    purchased_at: datetime
    updated_at: datetime
    lines: list[OrderLine]
    seller_order_id: str | None = None
    priced: bool = False
    """Payment was authorised once: prices show from then on (Canceled included)."""
    shipments: list[JSON] = field(default_factory=list)

    def line(self, item_id: str) -> OrderLine | None:
        return next((line for line in self.lines if line.item_id == item_id), None)

    @property
    def shows_prices(self) -> bool:
        return self.priced and self.status not in UNPRICED


OnChange = Callable[["AmazonOrder", OrderChange], None]


class OrderBook(SellerOrderBook[AmazonOrder]):
    """Every order of the seller, by AmazonOrderId."""

    refusal = AmazonSimulatorError

    def __init__(
        self,
        stamper: MonotonicStamper,
        marketplace_id: str,
        currency: str,
        on_change: OnChange | None = None,
    ) -> None:
        super().__init__(stamper, marketplace_id, currency)
        self.on_change = on_change
        self._order_numbers = itertools.count(1)
        self._item_numbers = itertools.count(1)

    def place(
        self,
        lines: Sequence[Mapping[str, Any]],
        *,
        status: str,
        fulfillment_channel: str,
        purchased_at: datetime | None,
        seller_order_id: str | None,
    ) -> AmazonOrder:
        """A new order; ``lines`` are ``{sku, asin, title, quantity, price, tax?}``."""
        if status not in ORDER_STATUSES:
            raise AmazonSimulatorError(f"unknown order status {status!r}")
        if status not in (PENDING, PENDING_AVAILABILITY, UNSHIPPED):
            raise AmazonSimulatorError("a new order is Pending, PendingAvailability or Unshipped")
        if fulfillment_channel not in FULFILLMENT_CHANNELS:
            raise AmazonSimulatorError(
                f"fulfillment channel must be MFN or AFN, not {fulfillment_channel!r}"
            )
        if not lines:
            raise AmazonSimulatorError("an order needs at least one line")
        number = next(self._order_numbers)
        order_id = f"{111 + number % 800:03d}-{(number * 7919) % 10_000_000:07d}-{number:07d}"
        order_lines = [self._line(line) for line in lines]
        stamp = self.stamper.stamp()
        order = AmazonOrder(
            order_id=order_id,
            marketplace_id=self.marketplace_id,
            currency=self.currency,
            status=status,
            fulfillment_channel=fulfillment_channel,
            purchased_at=purchased_at or stamp,
            updated_at=stamp,
            lines=order_lines,
            seller_order_id=seller_order_id,
            priced=status not in UNPRICED,
        )
        self.orders[order_id] = order
        self._changed(order, NEW_ORDER)
        return order

    def _line(self, line: Mapping[str, Any]) -> OrderLine:
        quantity = int(line.get("quantity", 1))
        if quantity < 1:
            raise AmazonSimulatorError("a line's quantity must be at least 1")
        sku = str(line["sku"])
        return OrderLine(
            item_id=f"{50_000_000_000_000 + next(self._item_numbers) * 7_919:014d}",
            sku=sku,
            asin=str(line.get("asin") or ""),
            title=str(line.get("title") or sku),
            quantity=quantity,
            unit_price=parse_price(line.get("price", "0")),
            tax=parse_price(line.get("tax", "0")),
        )

    def touch(
        self, order: AmazonOrder, at: datetime | None = None, change: OrderChange = ORDER_UPDATED
    ) -> None:
        """Stamp a change now, or at ``at`` (a late update, for cursor tests), and tell it."""
        if at is None:
            order.updated_at = self.stamper.stamp()
        else:
            order.updated_at = at
            self.stamper.observe(at)
        self._changed(order, change)

    def _changed(self, order: AmazonOrder, change: OrderChange) -> None:
        if self.on_change is not None:
            self.on_change(order, change)

    def set_status(self, order_id: str, status: str) -> AmazonOrder:
        order = self.order(order_id)
        if status not in TRANSITIONS.get(order.status, frozenset()):
            raise AmazonSimulatorError(
                f"order {order_id} cannot go from {order.status} to {status}"
            )
        if status in (SHIPPED, INVOICE_UNCONFIRMED):
            for line in order.lines:
                line.shipped = line.quantity
        order.status = status
        if status not in UNPRICED and status != CANCELED:
            order.priced = True
        self.touch(order, change=STATUS_CHANGE)
        return order

    def request_cancel(self, order_id: str, sku: str | None, reason: str) -> AmazonOrder:
        order = self.order(order_id)
        chosen = [line for line in order.lines if sku is None or line.sku == sku]
        if not chosen:
            raise AmazonSimulatorError(f"order {order_id} has no line for SKU {sku!r}")
        for line in chosen:
            line.cancel_reason = reason
        self.touch(order, change=BUYER_CANCEL_REQUEST)
        return order

    # confirmShipment --------------------------------------------------------------

    def confirm_shipment(self, order_id: str, body: Any, received_at: datetime) -> AmazonOrder:
        """Apply a confirmShipment request body, or raise the SP-API error it earns."""
        order = self.orders.get(order_id)
        if order is None:
            raise not_found(f"Order {order_id} was not found.")
        if not isinstance(body, dict):
            raise invalid_input("Request body is missing or is not a JSON object.")
        if body.get("marketplaceId") != order.marketplace_id:
            raise invalid_input("Marketplace ID is not defined or does not match the order.")
        package = body.get("packageDetail")
        if not isinstance(package, dict):
            raise invalid_input("Missing required parameter: packageDetail.")
        for name in ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate"):
            if not isinstance(package.get(name), str) or not package[name].strip():
                raise invalid_input(f"Missing required parameter: packageDetail.{name}.")
        if package["carrierCode"] == "Other" and not package.get("carrierName"):
            raise invalid_input("carrierName is required when carrierCode is Other.")
        try:
            parse_amazon_time(package["shipDate"])
        except ValueError:
            raise invalid_input(
                f"Invalid shipDate {package['shipDate']!r}: use ISO 8601."
            ) from None
        if order.fulfillment_channel != "MFN":
            raise invalid_input(f"Order {order_id} is fulfilled by Amazon (AFN).")
        if order.status not in (UNSHIPPED, PARTIALLY_SHIPPED):
            raise invalid_input(f"Order {order_id} is {order.status} and cannot be shipped.")
        shipped = self._shipped_quantities(order, package.get("orderItems"))
        for line, quantity in shipped:
            line.shipped += quantity
        done = all(line.unshipped == 0 for line in order.lines)
        order.status = SHIPPED if done else PARTIALLY_SHIPPED
        order.shipments.append(
            {
                "orderId": order_id,
                "marketplaceId": body["marketplaceId"],
                "packageDetail": package,
                "receivedAt": amazon_time(received_at),
            }
        )
        self.touch(order, change=STATUS_CHANGE)
        return order

    @staticmethod
    def _shipped_quantities(order: AmazonOrder, items: Any) -> list[tuple[OrderLine, int]]:
        if not isinstance(items, list) or not items:
            raise invalid_input("Missing required parameter: packageDetail.orderItems.")
        wanted: dict[str, int] = {}
        for item in items:
            item_id = item.get("orderItemId") if isinstance(item, dict) else None
            quantity = item.get("quantity") if isinstance(item, dict) else None
            if not isinstance(item_id, str) or not isinstance(quantity, int) or quantity < 1:
                raise invalid_input(
                    "Each order item needs an orderItemId and a quantity of 1 or more."
                )
            wanted[item_id] = wanted.get(item_id, 0) + quantity
        out: list[tuple[OrderLine, int]] = []
        for item_id, quantity in wanted.items():
            line = order.line(item_id)
            if line is None:
                raise invalid_input(f"Order item {item_id} is not part of order {order.order_id}.")
            if quantity > line.unshipped:
                raise invalid_input(
                    f"Quantity {quantity} for order item {item_id} exceeds the "
                    f"{line.unshipped} left to ship."
                )
            out.append((line, quantity))
        return out


# rendering ------------------------------------------------------------------------


def order_json(order: AmazonOrder) -> JSON:
    """The ``Order`` object of the Orders API v0."""
    body: JSON = {
        "AmazonOrderId": order.order_id,
        "PurchaseDate": amazon_time(order.purchased_at),
        "LastUpdateDate": amazon_time(order.updated_at),
        "OrderStatus": order.status,
        "FulfillmentChannel": order.fulfillment_channel,
        "SalesChannel": "Amazon.com",
        "ShipServiceLevel": "Std US D2D Dom",
    }
    if order.seller_order_id:
        body["SellerOrderId"] = order.seller_order_id
    if order.shows_prices:
        total = sum(
            (line.unit_price * line.quantity + line.tax for line in order.lines), Decimal(0)
        )
        body["OrderTotal"] = money(total, order.currency)
    shipped = sum(line.shipped for line in order.lines)
    unshipped = (
        0
        if order.status in (*UNPRICED, CANCELED, UNFULFILLABLE)
        else sum(line.unshipped for line in order.lines)
    )
    body.update(
        {
            "NumberOfItemsShipped": shipped,
            "NumberOfItemsUnshipped": unshipped,
            "PaymentMethod": "Other",
            "PaymentMethodDetails": ["Standard"],
            "IsReplacementOrder": False,
            "MarketplaceId": order.marketplace_id,
            "ShipmentServiceLevelCategory": "Standard",
            "OrderType": "Preorder" if order.status == PENDING_AVAILABILITY else "StandardOrder",
            "EarliestShipDate": amazon_time(order.purchased_at + timedelta(days=1)),
            "LatestShipDate": amazon_time(order.purchased_at + timedelta(days=3)),
            "IsBusinessOrder": False,
            "IsPrime": False,
            "IsPremiumOrder": False,
            "IsGlobalExpressEnabled": False,
            "IsSoldByAB": False,
            "IsIBA": False,
            "IsISPU": False,
            "IsAccessPointOrder": False,
        }
    )
    if order.status in ADDRESSED:
        # Without a restricted data token Amazon shows only the coarse address.
        body["ShippingAddress"] = {
            "City": SHIP_TO.city,
            "StateOrRegion": SHIP_TO.state_or_region,
            "PostalCode": SHIP_TO.postal_code,
            "CountryCode": SHIP_TO.country_code,
            "AddressType": "Residential",
        }
    return body


def order_item_json(order: AmazonOrder, line: OrderLine) -> JSON:
    """The ``OrderItem`` object of the Orders API v0."""
    body: JSON = {
        "ASIN": line.asin,
        "SellerSKU": line.sku,
        "OrderItemId": line.item_id,
        "Title": line.title,
        "QuantityOrdered": line.quantity,
        "QuantityShipped": line.shipped,
        "ProductInfo": {"NumberOfItems": "1"},
    }
    if order.shows_prices:
        body["ItemPrice"] = money(line.unit_price * line.quantity, order.currency)
        body["ItemTax"] = money(line.tax, order.currency)
        body["PromotionDiscount"] = money(Decimal(0), order.currency)
        body["IsGift"] = "false"
    body.update(
        {
            "ConditionId": "New",
            "ConditionSubtypeId": "New",
            "IsTransparency": False,
            "SerialNumberRequired": False,
        }
    )
    if line.cancel_reason is not None:
        body["BuyerRequestedCancel"] = {
            "IsBuyerRequestedCancel": "true",
            "BuyerCancelReason": line.cancel_reason,
        }
    return body
