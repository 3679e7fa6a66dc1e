"""How the Orders API 2026-01-01 shows an order of the simulator (``definitions.Order``).

The same order as v0 shows it (:mod:`sandbox.amazon.orders`), in the new model's words:
always ``orderId``, ``createdTime``, ``lastUpdatedTime``, ``salesChannel``,
``orderAliases`` (the seller's own order id, when there is one) and ``orderItems`` with
their ``product``; the other sections only when the request's ``includedData`` names
them (:data:`SECTIONS`; EXPENSE, PROMOTION, TAX, PAYMENT and FULFILLMENT_ORDERS are
accepted and show nothing). Money is ``{"amount": "12.50", "currencyCode": "USD"}``.

Two differences from v0 a client must not miss: ``product.price.unitPrice`` is the
price of one unit (v0's ``ItemPrice`` is the line's), and the status is a
``fulfillment.fulfillmentStatus`` (:data:`FULFILLMENT_STATUS`: InvoiceUnconfirmed is
SHIPPED, Canceled is CANCELLED). As in v0, prices and proceeds are left out while the
order is not priced (Pending), and the delivery address while Amazon would not show it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from omnisync.sandbox.amazon.http import CENT, JSON, amazon_time, parse_amazon_time
from omnisync.sandbox.amazon.orders import (
    ADDRESSED,
    CANCELED,
    INVOICE_UNCONFIRMED,
    PARTIALLY_SHIPPED,
    PENDING,
    PENDING_AVAILABILITY,
    SHIP_TO,
    SHIPPED,
    UNFULFILLABLE,
    UNSHIPPED,
    AmazonOrder,
    OrderLine,
)

SECTIONS: Final = (
    "BUYER",
    "RECIPIENT",
    "PROCEEDS",
    "EXPENSE",
    "PROMOTION",
    "CANCELLATION",
    "FULFILLMENT",
    "PACKAGES",
    "TAX",
    "PAYMENT",
    "FULFILLMENT_ORDERS",
)
"""The ``includedData`` values the model allows."""
FULFILLMENT_STATUS: Final[Mapping[str, str]] = {
    PENDING_AVAILABILITY: "PENDING_AVAILABILITY",
    PENDING: "PENDING",
    UNSHIPPED: "UNSHIPPED",
    PARTIALLY_SHIPPED: "PARTIALLY_SHIPPED",
    SHIPPED: "SHIPPED",
    INVOICE_UNCONFIRMED: "SHIPPED",
    CANCELED: "CANCELLED",
    UNFULFILLABLE: "UNFULFILLABLE",
}
"""v0 ``OrderStatus`` -> 2026-01-01 ``FulfillmentStatus``."""
FULFILLED_BY: Final[Mapping[str, str]] = {"MFN": "MERCHANT", "AFN": "AMAZON"}
"""v0 ``FulfillmentChannel`` -> 2026-01-01 ``fulfilledBy``."""
MARKETPLACE_NAMES: Final[Mapping[str, str]] = {
    "ATVPDKIKX0DER": "Amazon.com",
    "A2EUQ1WTGCTBG2": "Amazon.ca",
    "A1AM78C64UM0Y8": "Amazon.com.mx",
    "A2Q3Y263D00KWC": "Amazon.com.br",
    "A1F83G8C2ARO7P": "Amazon.co.uk",
    "A1PA6795UKMFR9": "Amazon.de",
    "A13V1IB3VIYZZH": "Amazon.fr",
    "APJ6JRA9NG5V4": "Amazon.it",
    "A1RKKUPIHCS9HS": "Amazon.es",
    "A1VC38T7YXB528": "Amazon.co.jp",
}
CLOSED: Final = frozenset({CANCELED, UNFULFILLABLE})
"""Statuses in which no unit is left to fulfil."""


SHIP_WITHIN = timedelta(days=2)
"""The simulated seller's handling time: the end of `shipByWindow` after the purchase."""


def money_2026(amount: Decimal, currency: str) -> JSON:
    return {"amount": str(amount.quantize(CENT, ROUND_HALF_UP)), "currencyCode": currency}


def order_2026_json(order: AmazonOrder, included: Collection[str] = ()) -> JSON:
    """``definitions.Order`` of the 2026-01-01 model, with the ``included`` sections."""
    sales_channel: JSON = {"channelName": "AMAZON", "marketplaceId": order.marketplace_id}
    if order.marketplace_id in MARKETPLACE_NAMES:
        sales_channel["marketplaceName"] = MARKETPLACE_NAMES[order.marketplace_id]
    body: JSON = {
        "orderId": order.order_id,
        "createdTime": amazon_time(order.purchased_at),
        "lastUpdatedTime": amazon_time(order.updated_at),
        "salesChannel": sales_channel,
    }
    if order.seller_order_id:
        body["orderAliases"] = [{"aliasId": order.seller_order_id, "aliasType": "SELLER_ORDER_ID"}]
    if "BUYER" in included:
        body["buyer"] = _buyer(order)
    if "RECIPIENT" in included and order.status in ADDRESSED:
        body["recipient"] = {"deliveryAddress": _delivery_address()}
    if "PROCEEDS" in included and order.shows_prices:
        total = sum((_line_proceeds(line) for line in order.lines), Decimal(0))
        body["proceeds"] = {"grandTotal": money_2026(total, order.currency)}
    if "FULFILLMENT" in included:
        body["fulfillment"] = {
            "fulfillmentStatus": FULFILLMENT_STATUS[order.status],
            "fulfilledBy": FULFILLED_BY[order.fulfillment_channel],
            "fulfillmentServiceLevel": "STANDARD",
            "shipByWindow": {
                "earliestDateTime": amazon_time(order.purchased_at),
                "latestDateTime": amazon_time(order.purchased_at + SHIP_WITHIN),
            },
        }
    body["orderItems"] = [_item(order, line, included) for line in order.lines]
    if "PACKAGES" in included:
        body["packages"] = [_package(shipment) for shipment in order.shipments]
    return body


def _buyer(order: AmazonOrder) -> JSON:
    handle = order.order_id.replace("-", "")
    return {
        "buyerName": "Simulated Buyer",
        "buyerEmail": f"{handle}@marketplace.amazon.com",
    }


def _delivery_address() -> JSON:
    return {
        "city": SHIP_TO.city,
        "stateOrRegion": SHIP_TO.state_or_region,
        "postalCode": SHIP_TO.postal_code,
        "countryCode": SHIP_TO.country_code,
        "addressType": "RESIDENTIAL",
    }


def _line_proceeds(line: OrderLine) -> Decimal:
    return line.unit_price * line.quantity + line.tax


def _item(order: AmazonOrder, line: OrderLine, included: Collection[str]) -> JSON:
    product: JSON = {
        "asin": line.asin,
        "title": line.title,
        "sellerSku": line.sku,
        "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
    }
    if order.shows_prices:
        product["price"] = {"unitPrice": money_2026(line.unit_price, order.currency)}
    item: JSON = {
        "orderItemId": line.item_id,
        "quantityOrdered": line.quantity,
        "product": product,
    }
    if "PROCEEDS" in included and order.shows_prices:
        breakdowns = [
            {
                "type": "ITEM",
                "subtotal": money_2026(line.unit_price * line.quantity, order.currency),
            }
        ]
        if line.tax:
            breakdowns.append({"type": "TAX", "subtotal": money_2026(line.tax, order.currency)})
        item["proceeds"] = {
            "proceedsTotal": money_2026(_line_proceeds(line), order.currency),
            "breakdowns": breakdowns,
        }
    if "CANCELLATION" in included and line.cancel_reason is not None:
        item["cancellation"] = {
            "cancellationRequest": {"requester": "BUYER", "cancelReason": line.cancel_reason}
        }
    if "FULFILLMENT" in included:
        item["fulfillment"] = {
            "quantityFulfilled": line.shipped,
            "quantityUnfulfilled": 0 if order.status in CLOSED else line.unshipped,
        }
    return item


def _package(shipment: JSON) -> JSON:
    """A confirmed shipment (a confirmShipment body, accepted) as an ``OrderPackage``."""
    detail = shipment["packageDetail"]
    carrier = detail.get("carrierName") if detail["carrierCode"] == "Other" else None
    package: JSON = {
        "packageReferenceId": str(detail["packageReferenceId"]),
        "createdTime": shipment["receivedAt"],
        "packageStatus": {"status": "SHIPPED"},
        "carrier": str(carrier or detail["carrierCode"]),
        "shipTime": amazon_time(parse_amazon_time(detail["shipDate"])),
        "trackingNumber": str(detail["trackingNumber"]),
        "packageItems": [
            {"orderItemId": item["orderItemId"], "quantity": item["quantity"]}
            for item in detail["orderItems"]
        ],
    }
    if detail.get("shippingMethod"):
        package["shippingService"] = str(detail["shippingMethod"])
    return package
