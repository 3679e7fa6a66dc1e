"""Every table of the hub; importing this module registers them all on SQLModel.metadata."""

from omnisync.core.models.catalog import BundleComponent, Location, Sku
from omnisync.core.models.channels import Channel, Listing, ListingLinkEvent
from omnisync.core.models.operations import (
    Alert,
    AlertDelivery,
    JobSchedule,
    OrderEventIntake,
    QuarantinedPayload,
    SyncCursor,
    SyncLease,
    SyncRun,
    WebhookReceipt,
)
from omnisync.core.models.orders import Order, OrderLine
from omnisync.core.models.returns import Return, ReturnInspection, ReturnLine, ReturnPush
from omnisync.core.models.shipments import Shipment, TrackingEvent
from omnisync.core.models.stock import Reservation, StockLevel, StockMovement
from omnisync.core.models.users import (
    ApiToken,
    ConsoleSession,
    LoginAttempt,
    SigningKey,
    User,
    UserAction,
)
from omnisync.core.models.warehouse import (
    PackagingBarcode,
    PackScan,
    PickList,
    PickListLine,
    SkuBin,
)

__all__ = [
    "Alert",
    "AlertDelivery",
    "ApiToken",
    "BundleComponent",
    "Channel",
    "ConsoleSession",
    "JobSchedule",
    "Listing",
    "ListingLinkEvent",
    "Location",
    "LoginAttempt",
    "Order",
    "OrderEventIntake",
    "OrderLine",
    "PackScan",
    "PackagingBarcode",
    "PickList",
    "PickListLine",
    "QuarantinedPayload",
    "Reservation",
    "Return",
    "ReturnInspection",
    "ReturnLine",
    "ReturnPush",
    "Shipment",
    "SigningKey",
    "Sku",
    "SkuBin",
    "StockLevel",
    "StockMovement",
    "SyncCursor",
    "SyncLease",
    "SyncRun",
    "TrackingEvent",
    "User",
    "UserAction",
    "WebhookReceipt",
]
