"""An order as the Fulfillment API answers it: getOrder (``detailed``) and getOrders.

Only what eBay's ``Order`` schema names is written, with its value sets
(``orderFulfillmentStatus``, ``orderPaymentStatus``, ``cancelState``...), amounts as
``{"value", "currency"}`` and dates with milliseconds. getOrders never fills
``cancelStatus.cancelRequests`` (eBay returns it, always empty); getOrder does. A paid
order cancelled is refunded in full: ``paymentSummary.refunds`` and each line's
``refunds`` say so, and nothing is due to the seller any more.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from omnisync.sandbox.ebay.inventory import FIXED_PRICE
from omnisync.sandbox.ebay.model import JSON, amount, ebay_time
from omnisync.sandbox.ebay.orders import FULFILLMENT_PATH, PAID, UNPAID, LineItem, Order


def order_json(order: Order, seller_id: str, base_url: str, *, detailed: bool) -> JSON:
    total = amount(order.total(), order.currency)
    cancel_status: JSON = {
        "cancelState": order.cancel_state,
        "cancelRequests": [r.to_json() for r in order.cancel_requests] if detailed else [],
    }
    if order.cancelled_at is not None:
        cancel_status["cancelledDate"] = ebay_time(order.cancelled_at)
    return {
        "orderId": order.order_id,
        "creationDate": ebay_time(order.created_at),
        "lastModifiedDate": ebay_time(order.modified_at),
        "orderFulfillmentStatus": order.fulfillment_status,
        "orderPaymentStatus": order.payment_status,
        "sellerId": seller_id,
        "buyer": {"username": order.buyer},
        "pricingSummary": {
            "priceSubtotal": total,
            "deliveryCost": amount(Decimal(0), order.currency),
            "total": total,
        },
        "cancelStatus": cancel_status,
        "paymentSummary": _payment_summary(order),
        "fulfillmentStartInstructions": [
            {
                "fulfillmentInstructionsType": "SHIP_TO",
                "ebaySupportedFulfillment": False,
                "minEstimatedDeliveryDate": ebay_time(order.created_at + timedelta(days=3)),
                "maxEstimatedDeliveryDate": ebay_time(order.created_at + timedelta(days=7)),
                "shippingStep": {
                    "shipTo": order.ship_to,
                    "shippingCarrierCode": "USPS",
                    "shippingServiceCode": "USPSPriority",
                },
            }
        ],
        "fulfillmentHrefs": [
            f"{base_url}{FULFILLMENT_PATH}/{order.order_id}/shipping_fulfillment/"
            f"{fulfillment.fulfillment_id}"
            for fulfillment in order.fulfillments
        ],
        "lineItems": [_line_json(order, line) for line in order.lines],
    }


def _payment_summary(order: Order) -> JSON:
    total = amount(order.total(), order.currency)
    unpaid = order.payment_status in UNPAID
    payment: JSON = {
        "paymentMethod": "EBAY",
        "paymentStatus": order.payment_status if unpaid else PAID,
        "amount": total,
    }
    if not unpaid:
        payment["paymentDate"] = ebay_time(order.created_at)
    refunds: list[JSON] = []
    if order.refunded_at is not None:
        refunds.append(
            {
                "refundId": f"R{order.order_id.replace('-', '')}",
                "refundStatus": "REFUNDED",
                "amount": total,
                "refundDate": ebay_time(order.refunded_at),
            }
        )
    due = Decimal(0) if order.refunded_at is not None else order.total()
    return {
        "payments": [payment],
        "refunds": refunds,
        "totalDueSeller": amount(due, order.currency),
    }


HANDLING_TIME = timedelta(days=3)
"""The simulated seller's handling time: each line's shipByDate after the order."""


def _line_json(order: Order, line: LineItem) -> JSON:
    cost = amount(line.unit_price * line.quantity, order.currency)
    refunds: list[JSON] = []
    if order.refunded_at is not None:
        refunds.append({"amount": cost, "refundDate": ebay_time(order.refunded_at)})
    return {
        "lineItemId": line.line_item_id,
        "legacyItemId": line.legacy_item_id,
        "sku": line.sku,
        "title": line.title,
        "quantity": line.quantity,
        "lineItemCost": cost,
        "total": cost,
        "deliveryCost": {"shippingCost": amount(Decimal(0), order.currency)},
        "lineItemFulfillmentStatus": line.status,
        "lineItemFulfillmentInstructions": {
            "shipByDate": ebay_time(order.created_at + HANDLING_TIME),
            "guaranteedDelivery": False,
        },
        "soldFormat": FIXED_PRICE,
        "listingMarketplaceId": order.marketplace_id,
        "purchaseMarketplaceId": order.marketplace_id,
        "appliedPromotions": [],
        "taxes": [],
        "refunds": refunds,
    }
