"""The ORDER_CHANGE notification of one change to an order, as Amazon sends it to SQS.

The body follows ``schemas/OrderChangeNotification.json`` and its example: version
"1.0" throughout, ``EventTime`` when it was published, and an order-level payload
naming the seller, the order, why it changed (:class:`~sandbox.amazon.orders.OrderChange`:
``OrderStatusChange``, or ``BuyerRequestedChange`` for a buyer's cancel request) and
when (``TimeOfOrderChange``: the order's new ``lastUpdatedTime``, the instant getOrder
shows), with a summary of the order in v0's words (as getOrders counts them: nothing is
left to ship on a Pending, Canceled or Unfulfillable order). Times are written with
milliseconds (``2026-11-22T10:00:00.123Z``), as Amazon's are. A notification says that
an order changed, not all it is now: a client reads the order itself (getOrder).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from omnisync.sandbox.amazon.http import JSON, amazon_time_ms
from omnisync.sandbox.amazon.notifications import ORDER_CHANGE, PAYLOAD_VERSION
from omnisync.sandbox.amazon.orders import (
    ADDRESSED,
    CANCELED,
    PENDING_AVAILABILITY,
    SHIP_TO,
    UNFULFILLABLE,
    UNPRICED,
    AmazonOrder,
    OrderChange,
    OrderLine,
)


def order_change_notification(
    order: AmazonOrder,
    change: OrderChange,
    *,
    seller_id: str,
    application_id: str,
    subscription_id: str,
    now: datetime,
) -> JSON:
    """The notification of ``change`` to ``order`` (its state after the change)."""
    shipped = sum(line.shipped for line in order.lines)
    open_order = order.status not in (*UNPRICED, CANCELED, UNFULFILLABLE)
    summary: JSON = {
        "MarketplaceId": order.marketplace_id,
        "OrderStatus": order.status,
        "PurchaseDate": amazon_time_ms(order.purchased_at),
        "DestinationPostalCode": SHIP_TO.postal_code if order.status in ADDRESSED else None,
        "FulfillmentType": order.fulfillment_channel,
        "OrderType": "Preorder" if order.status == PENDING_AVAILABILITY else "StandardOrder",
        "NumberOfItemsShipped": shipped,
        "NumberOfItemsUnshipped": sum(line.unshipped for line in order.lines) if open_order else 0,
        "OrderItems": [_item(line) for line in order.lines],
    }
    return {
        "NotificationVersion": "1.0",
        "NotificationType": ORDER_CHANGE,
        "PayloadVersion": PAYLOAD_VERSION,
        "EventTime": amazon_time_ms(now),
        "Payload": {
            "OrderChangeNotification": {
                "NotificationLevel": "OrderLevel",
                "SellerId": seller_id,
                "AmazonOrderId": order.order_id,
                "OrderChangeType": change.change_type,
                "OrderChangeTrigger": {
                    # The instant getOrder shows as lastUpdatedTime (whole seconds), so a
                    # client comparing the two sees the order it reads is this change.
                    "TimeOfOrderChange": amazon_time_ms(order.updated_at.replace(microsecond=0)),
                    "ChangeReason": change.reason,
                },
                "Summary": summary,
            }
        },
        "NotificationMetadata": {
            "ApplicationId": application_id,
            "SubscriptionId": subscription_id,
            "PublishTime": amazon_time_ms(now),
            "NotificationId": str(uuid.uuid4()),
        },
    }


def _item(line: OrderLine) -> JSON:
    return {
        "OrderItemId": line.item_id,
        "SellerSKU": line.sku,
        "SupplySourceId": None,
        "OrderItemStatus": "Shipped" if line.unshipped == 0 else "Unshipped",
        "Quantity": line.quantity,
        "QuantityShipped": line.shipped,
        "IsBuyerRequestedCancel": line.cancel_reason is not None,
    }
