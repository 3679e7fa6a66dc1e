"""createShippingFulfillment: the seller marks line items shipped, with a tracking number.

The body is eBay's ``{"lineItems": [{"lineItemId", "quantity"}], "shippedDate"?,
"shippingCarrierCode"?, "trackingNumber"?}``. Refusals are 400 with the Fulfillment
API's ids: an unknown order 32100, a line item not of the order 32200 (the same line
twice 32210), a carrier without a tracking number or the other way round 32300, a
shippedDate that is not an ISO date-time 32500, and anything else malformed (a quantity
that is not 1 or more, more units than are left to ship, a cancelled order) 32600.
A line item without a quantity ships all that is left of it. The merchant's control
ships through this same function (:meth:`sandbox.ebay.control.EbayControls.ship_order`).
"""

from __future__ import annotations

from typing import Any

from omnisync.sandbox.ebay.errors import (
    DUPLICATE_LINE_ITEM,
    FULFILLMENT,
    INVALID_INPUT,
    INVALID_LINE_ITEM,
    INVALID_ORDER_ID,
    INVALID_SHIPPED_DATE,
    INVALID_TRACKING,
    EbayApiError,
)
from omnisync.sandbox.ebay.model import parse_ebay_time
from omnisync.sandbox.ebay.orders import CANCELED, LineItem, Order, OrderBook, ShippingFulfillment


def create_shipping_fulfillment(book: OrderBook, order_id: str, body: Any) -> ShippingFulfillment:
    """Check ``body`` against the order and record the shipment; EbayApiError (400) else."""
    order = known_order(book, order_id, status=400)
    if not isinstance(body, dict):
        raise _invalid("The request body must be a JSON object.")
    lines = _lines(order, body.get("lineItems"))
    tracking = _optional_text(body, "trackingNumber")
    carrier = _optional_text(body, "shippingCarrierCode")
    if (tracking is None) != (carrier is None):
        raise EbayApiError(
            400,
            INVALID_TRACKING,
            FULFILLMENT.domain,
            "Invalid shipment tracking number or carrier",
            parameters=(("trackingNumber", str(tracking)), ("shippingCarrierCode", str(carrier))),
        )
    shipped_at = None
    if body.get("shippedDate") is not None:
        try:
            shipped_at = parse_ebay_time(str(body["shippedDate"]))
        except ValueError:
            raise EbayApiError(
                400,
                INVALID_SHIPPED_DATE,
                FULFILLMENT.domain,
                "Invalid shipped date",
                parameters=(("shippedDate", str(body["shippedDate"])),),
            ) from None
    if order.cancel_state == CANCELED:
        raise _invalid(f"Order {order.order_id} is cancelled.")
    return book.ship(order, lines, tracking, carrier, shipped_at)


def known_order(book: OrderBook, order_id: str, *, status: int) -> Order:
    """The order, or the Fulfillment API's 32100 with ``status``."""
    order = book.orders.get(order_id)
    if order is None:
        raise EbayApiError(
            status,
            INVALID_ORDER_ID,
            FULFILLMENT.domain,
            f"Invalid order ID: {order_id}",
            parameters=(("orderId", order_id),),
        )
    return order


def _lines(order: Order, raw: Any) -> list[tuple[LineItem, int]]:
    if not isinstance(raw, list) or not raw:
        raise _invalid("lineItems must be a non-empty array.")
    chosen: list[tuple[LineItem, int]] = []
    for entry in raw:
        line_item_id = entry.get("lineItemId") if isinstance(entry, dict) else None
        line = order.line(line_item_id) if isinstance(line_item_id, str) else None
        if line is None:
            raise EbayApiError(
                400,
                INVALID_LINE_ITEM,
                FULFILLMENT.domain,
                f"Invalid line item id: {line_item_id}",
                parameters=(("lineItemId", str(line_item_id)),),
            )
        if any(line is seen for seen, _ in chosen):
            raise EbayApiError(
                400,
                DUPLICATE_LINE_ITEM,
                FULFILLMENT.domain,
                "Duplicate line item in the request",
                parameters=(("lineItemId", line.line_item_id),),
            )
        assert isinstance(entry, dict)
        quantity = entry.get("quantity", line.unshipped)
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise _invalid(f"Line item {line.line_item_id}: quantity must be 1 or more.")
        if quantity > line.unshipped:
            raise _invalid(
                f"Line item {line.line_item_id}: {quantity} to ship, {line.unshipped} left."
            )
        chosen.append((line, quantity))
    return chosen


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise EbayApiError(
            400,
            INVALID_TRACKING,
            FULFILLMENT.domain,
            "Invalid shipment tracking number or carrier",
            parameters=((name, str(value)),),
        )
    return value


def _invalid(why: str) -> EbayApiError:
    return EbayApiError(400, INVALID_INPUT, FULFILLMENT.domain, f"Invalid input data. {why}")
