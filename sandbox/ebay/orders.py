"""The seller's eBay orders: what buyers bought, their cancellation and its shipping.

An order is made by a buyer (control: all lines or none, from the listings' stock) and
then moves as eBay's do:

- ``orderFulfillmentStatus``: NOT_STARTED, IN_PROGRESS (some units shipped), FULFILLED
  (all); each line item has the same three in ``lineItemFulfillmentStatus``;
- ``cancelStatus.cancelState``: NONE_REQUESTED; IN_PROGRESS once the buyer asks to
  cancel (a ``cancelRequests`` entry, REQUESTED); CANCELED once the cancellation is done
  (the request COMPLETED, the units back on offer, a paid order FULLY_REFUNDED with a
  refund in ``paymentSummary.refunds``). Shipping an order the buyer asked to cancel
  rejects the request (REJECTED, back to NONE_REQUESTED); a shipped order cannot be
  cancelled;
- ``orderPaymentStatus``: PAID by default (PENDING, FAILED... on request).

Every change moves ``lastModifiedDate`` (stamped on the simulator's clock, strictly
increasing). eBay's getOrders never fills ``cancelStatus.cancelRequests`` (always an
empty array); getOrder does (:mod:`sandbox.ebay.order_view` renders both).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Final

from omnisync.sandbox.clock import MonotonicStamper
from omnisync.sandbox.ebay.inventory import Catalogue
from omnisync.sandbox.ebay.model import JSON, EbaySimulatorError, ebay_time
from omnisync.sandbox.order_book import SellerOrderBook

NOT_STARTED: Final = "NOT_STARTED"
IN_PROGRESS: Final = "IN_PROGRESS"
FULFILLED: Final = "FULFILLED"
NONE_REQUESTED: Final = "NONE_REQUESTED"
CANCELED: Final = "CANCELED"
REQUESTED: Final = "REQUESTED"
COMPLETED: Final = "COMPLETED"
REJECTED: Final = "REJECTED"
PAID: Final = "PAID"
FULLY_REFUNDED: Final = "FULLY_REFUNDED"
PAYMENT_STATUSES: Final = frozenset(
    {PAID, "PENDING", "FAILED", FULLY_REFUNDED, "PARTIALLY_REFUNDED"}
)
UNPAID: Final = frozenset({"PENDING", "FAILED"})
"""Order payment statuses whose payment is not received (eBay's PaymentStatusEnum)."""
DEFAULT_BUYER: Final = "buyer_1"
BUYER_REASON: Final = "BUYER_ASKED_CANCEL"
SELLER_REASON: Final = "OUT_OF_STOCK_OR_CANNOT_FULFILL"
ORDER_CONFIRMATION: Final = "ORDER_CONFIRMATION"
ITEM_MARKED_SHIPPED: Final = "ITEM_MARKED_SHIPPED"
FULFILLMENT_PATH: Final = "/sell/fulfillment/v1/order"

Publish = Callable[[str, JSON], object]
"""Sends a notification: (topic, data)."""


@dataclass
class LineItem:
    line_item_id: str
    legacy_item_id: str
    """The listing's id (eBay's legacy item id)."""
    offer_id: str
    sku: str
    title: str
    quantity: int
    unit_price: Decimal
    shipped: int = 0

    @property
    def unshipped(self) -> int:
        return self.quantity - self.shipped

    @property
    def status(self) -> str:
        return _fulfillment_status(self.shipped, self.quantity)


@dataclass
class CancelRequest:
    request_id: str
    initiator: str
    reason: str
    requested_at: datetime
    state: str = REQUESTED
    completed_at: datetime | None = None

    def to_json(self) -> JSON:
        body: JSON = {
            "cancelRequestId": self.request_id,
            "cancelInitiator": self.initiator,
            "cancelReason": self.reason,
            "cancelRequestedDate": ebay_time(self.requested_at),
            "cancelRequestState": self.state,
        }
        if self.completed_at is not None:
            body["cancelCompletedDate"] = ebay_time(self.completed_at)
        return body


@dataclass
class ShippingFulfillment:
    fulfillment_id: str
    order_id: str
    lines: list[tuple[str, int]]
    tracking_number: str | None
    carrier: str | None
    shipped_at: datetime

    def to_json(self) -> JSON:
        body: JSON = {
            "fulfillmentId": self.fulfillment_id,
            "lineItems": [{"lineItemId": line, "quantity": qty} for line, qty in self.lines],
            "shippedDate": ebay_time(self.shipped_at),
        }
        if self.tracking_number is not None and self.carrier is not None:
            body["shipmentTrackingNumber"] = self.tracking_number
            body["shippingCarrierCode"] = self.carrier
        return body


@dataclass
class Order:
    order_id: str
    buyer: str
    created_at: datetime
    modified_at: datetime
    marketplace_id: str
    currency: str
    lines: list[LineItem]
    ship_to: JSON
    payment_status: str = PAID
    cancel_state: str = NONE_REQUESTED
    cancel_requests: list[CancelRequest] = field(default_factory=list)
    cancelled_at: datetime | None = None
    refunded_at: datetime | None = None
    fulfillments: list[ShippingFulfillment] = field(default_factory=list)

    def total(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal(0))

    @property
    def fulfillment_status(self) -> str:
        return _fulfillment_status(
            sum(line.shipped for line in self.lines), sum(line.quantity for line in self.lines)
        )

    def line(self, line_item_id: str) -> LineItem | None:
        return next((line for line in self.lines if line.line_item_id == line_item_id), None)

    def pending_request(self) -> CancelRequest | None:
        return next((r for r in self.cancel_requests if r.state == REQUESTED), None)


def _fulfillment_status(shipped: int, quantity: int) -> str:
    if shipped <= 0:
        return NOT_STARTED
    return FULFILLED if shipped >= quantity else IN_PROGRESS


class OrderBook(SellerOrderBook[Order]):
    """Every order, in the order they were placed; changes publish notifications."""

    refusal = EbaySimulatorError

    def __init__(
        self,
        stamper: MonotonicStamper,
        *,
        marketplace_id: str,
        currency: str,
        seller_id: str,
        publish: Publish,
    ) -> None:
        super().__init__(stamper, marketplace_id, currency)
        self.seller_id = seller_id
        self.publish = publish
        self._numbers: dict[str, int] = {}

    def _next(self, kind: str) -> int:
        self._numbers[kind] = self._numbers.get(kind, 0) + 1
        return self._numbers[kind]

    # buyers -------------------------------------------------------------------------

    def place(
        self,
        catalogue: Catalogue,
        lines: Sequence[tuple[str, int]],
        *,
        buyer: str = DEFAULT_BUYER,
        payment_status: str = PAID,
        ship_to: JSON | None = None,
    ) -> Order:
        """A buyer's order of ``(sku, quantity)`` lines: all of them, or a refusal."""
        if not lines:
            raise EbaySimulatorError("an order needs at least one line")
        if payment_status not in PAYMENT_STATUSES:
            raise EbaySimulatorError(f"unknown payment status {payment_status!r}")
        wanted: dict[str, int] = {}
        for sku, quantity in lines:
            if quantity < 1:
                raise EbaySimulatorError(f"{sku}: quantity must be 1 or more")
            wanted[sku] = wanted.get(sku, 0) + quantity
        offers = {sku: catalogue.check_sellable(sku, qty) for sku, qty in wanted.items()}
        number = self._next("order")
        moment = self.stamper.stamp()
        items = []
        for sku, quantity in lines:
            offer = offers[sku]
            catalogue.sell(offer, quantity)
            items.append(
                LineItem(
                    line_item_id=str(10_000_000_000 + self._next("line")),
                    legacy_item_id=offer.listing_id,
                    offer_id=offer.offer_id,
                    sku=sku,
                    title=catalogue.item(sku).title,
                    quantity=quantity,
                    unit_price=offer.price,
                )
            )
        order = Order(
            order_id=f"12-{34567 + number // 100_000:05d}-{number % 100_000:05d}",
            buyer=buyer,
            created_at=moment,
            modified_at=moment,
            marketplace_id=self.marketplace_id,
            currency=self.currency,
            lines=items,
            ship_to=ship_to or default_ship_to(buyer),
            payment_status=payment_status,
        )
        self.orders[order.order_id] = order
        self.publish(ORDER_CONFIRMATION, {"orderId": order.order_id})
        return order

    def request_cancel(self, order_id: str, reason: str = BUYER_REASON) -> Order:
        """The buyer asks to cancel: cancelState IN_PROGRESS, a REQUESTED request."""
        order = self.order(order_id)
        self._check_cancellable(order)
        if order.pending_request() is not None:
            raise EbaySimulatorError(f"order {order_id} already has a cancel request")
        order.cancel_requests.append(self._request("BUYER", reason))
        order.cancel_state = IN_PROGRESS
        self._touch(order)
        return order

    def cancel(self, catalogue: Catalogue, order_id: str) -> Order:
        """The cancellation completes (the buyer's request, or the seller's own): the
        units go back on offer and a paid order is refunded in full."""
        order = self.order(order_id)
        self._check_cancellable(order)
        moment = self.stamper.stamp()
        request = order.pending_request() or self._request("SELLER", SELLER_REASON)
        if request not in order.cancel_requests:
            order.cancel_requests.append(request)
        request.state = COMPLETED
        request.completed_at = moment
        order.cancel_state = CANCELED
        order.cancelled_at = moment
        if order.payment_status == PAID:
            order.payment_status = FULLY_REFUNDED
            order.refunded_at = moment
        for line in order.lines:
            catalogue.give_back(line.offer_id, line.sku, line.quantity)
        order.modified_at = moment
        return order

    def _check_cancellable(self, order: Order) -> None:
        if order.cancel_state == CANCELED:
            raise EbaySimulatorError(f"order {order.order_id} is already cancelled")
        if any(line.shipped for line in order.lines):
            raise EbaySimulatorError(f"order {order.order_id} has shipped: no cancelling it")

    def _request(self, initiator: str, reason: str) -> CancelRequest:
        return CancelRequest(
            request_id=str(5_000_000_000 + self._next("cancel")),
            initiator=initiator,
            reason=reason,
            requested_at=self.stamper.stamp(),
        )

    def set_payment_status(self, order_id: str, status: str) -> Order:
        if status not in PAYMENT_STATUSES:
            raise EbaySimulatorError(f"unknown payment status {status!r}")
        order = self.order(order_id)
        order.payment_status = status
        self._touch(order)
        return order

    # the seller ships ---------------------------------------------------------------

    def ship(
        self,
        order: Order,
        lines: Sequence[tuple[LineItem, int]],
        tracking_number: str | None,
        carrier: str | None,
        shipped_at: datetime | None,
    ) -> ShippingFulfillment:
        """Record a shipping fulfilment of checked ``lines`` (see :mod:`sandbox.ebay.shipping`)."""
        moment = self.stamper.stamp()
        fulfillment = ShippingFulfillment(
            fulfillment_id=str(9_400_100_000_000_000_000_000 + self._next("fulfillment")),
            order_id=order.order_id,
            lines=[(line.line_item_id, quantity) for line, quantity in lines],
            tracking_number=tracking_number,
            carrier=carrier,
            shipped_at=shipped_at or moment,
        )
        for line, quantity in lines:
            line.shipped += quantity
        order.fulfillments.append(fulfillment)
        pending = order.pending_request()
        if pending is not None:  # shipping answers the buyer's request: no
            pending.state = REJECTED
            pending.completed_at = moment
            order.cancel_state = NONE_REQUESTED
        order.modified_at = moment
        self.publish(ITEM_MARKED_SHIPPED, {"orderId": order.order_id})
        return fulfillment

    def fulfillment(self, order_id: str, fulfillment_id: str) -> ShippingFulfillment | None:
        return next(
            (f for f in self.order(order_id).fulfillments if f.fulfillment_id == fulfillment_id),
            None,
        )

    def _touch(self, order: Order) -> None:
        order.modified_at = self.stamper.stamp()


def default_ship_to(buyer: str) -> JSON:
    """A made-up US shipping address for ``buyer``."""
    return {
        "fullName": f"{buyer.replace('_', ' ').title()} Simulated",
        "contactAddress": {
            "addressLine1": "2145 Hamilton Avenue",
            "city": "San Jose",
            "stateOrProvince": "CA",
            "postalCode": "95125",
            "countryCode": "US",
        },
        "primaryPhone": {"phoneNumber": "4085550100"},
        "email": f"{buyer}@buyers.sandbox.invalid",
    }
