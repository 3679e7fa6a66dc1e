"""Every table of the hub; importing this module registers them all on SQLModel.metadata."""

from core.models.catalog import BundleComponent, Location, Sku
from core.models.channels import Channel, Listing
from core.models.operations import (
    Alert,
    AlertDelivery,
    QuarantinedPayload,
    SyncCursor,
    SyncLease,
    SyncRun,
    WebhookReceipt,
)
from core.models.orders import Order, OrderLine
from core.models.shipments import Shipment, TrackingEvent
from core.models.stock import Reservation, StockLevel, StockMovement

__all__ = [
    "Alert",
    "AlertDelivery",
    "BundleComponent",
    "Channel",
    "Listing",
    "Location",
    "Order",
    "OrderLine",
    "QuarantinedPayload",
    "Reservation",
    "Shipment",
    "Sku",
    "StockLevel",
    "StockMovement",
    "SyncCursor",
    "SyncLease",
    "SyncRun",
    "TrackingEvent",
    "WebhookReceipt",
]
