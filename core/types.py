"""Column types and enumerations shared by the tables.

Money is exact (Decimal) on every backend and times are timezone-aware UTC on
every backend: SQLite has neither natively, so these types make up for it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import DateTime, Dialect, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine

from omnisync.core.clock import ensure_utc

MONEY_SCALE = 4
E = TypeVar("E", bound=StrEnum)


def normalise_money(value: Decimal) -> Decimal:
    """Two decimals unless more are significant, so both backends print alike."""
    value = Decimal(value)
    cents = value.quantize(Decimal("0.01"))
    return cents if cents == value else value.normalize()


class Money(TypeDecorator[Decimal]):
    """Decimal money: NUMERIC on PostgreSQL, exact text on SQLite."""

    impl = Numeric(18, MONEY_SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(18, MONEY_SCALE, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = Decimal(value)
        if not amount.is_finite():
            raise ValueError(f"money amount {value!r} is not finite")
        amount = amount.quantize(Decimal(1).scaleb(-MONEY_SCALE))
        return str(amount) if dialect.name == "sqlite" else amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return normalise_money(Decimal(value))


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes; naive values are refused on the way in."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        aware = ensure_utc(value)
        # SQLite stores text without an offset; everything stored is UTC.
        return aware.replace(tzinfo=None) if dialect.name == "sqlite" else aware

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


class EnumText(TypeDecorator[E]):
    """A StrEnum stored as plain text (no database enum types to migrate)."""

    impl = String(32)
    cache_ok = True

    def __init__(self, enum_type: type[E]) -> None:
        super().__init__()
        self.enum_type = enum_type

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.enum_type(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        return None if value is None else self.enum_type(value)


class LocationKind(StrEnum):
    WAREHOUSE = "warehouse"
    THIRD_PARTY = "third_party"
    CHANNEL_MANAGED = "channel_managed"


class LinkMethod(StrEnum):
    """How a listing came to be linked to its hub SKU (core/listing_links.py)."""

    SKU = "sku"
    """The channel SKU equals the hub SKU's code."""
    BARCODE = "barcode"
    """The listing's barcode equals the hub SKU's, and each is the only one with it."""
    MANUAL = "manual"
    """An operator linked it (`listings link`, the API, a links CSV)."""
    IMPORT = "import"
    """`catalog import` made the hub SKU from the listing."""


class LinkAction(StrEnum):
    LINK = "link"
    UNLINK = "unlink"


class MovementKind(StrEnum):
    RECEIPT = "receipt"
    ADJUSTMENT = "adjustment"
    COUNT = "count"
    SHIPMENT = "shipment"
    SHIPMENT_SHORTFALL = "shipment_shortfall"
    """Units shipped that were not on hand: a movement of 0 whose reason says so, because
    on hand stops at zero and must stay the sum of the movements (invariant 1)."""
    RETURN_RESTOCK = "return_restock"
    PICK_SHORT = "pick_short"
    """Units a picker did not find on the shelf (`pick confirm --short`): they leave on
    hand and the reservation that held them."""


class ReservationState(StrEnum):
    ACTIVE = "active"
    CONSUMED = "consumed"
    RELEASED = "released"


class OrderStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"

    @property
    def holds_stock(self) -> bool:
        """Whether unshipped lines of an order in this status keep stock reserved."""
        return self in _HOLDING_STATUSES


_HOLDING_STATUSES = frozenset(
    {OrderStatus.PENDING, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_SHIPPED}
)


class SyncRunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELLED = "cancelled"


class AlertState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class AlertSeverity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class ShipmentStatus(StrEnum):
    """Where a parcel is, normalised over every carrier."""

    LABEL_CREATED = "label_created"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNED_TO_SENDER = "returned_to_sender"
    UNKNOWN = "unknown"


class ReturnStatus(StrEnum):
    """Where a return is: asked for, agreed, on its way back, in the warehouse, done.

    requested -> approved -> in_transit -> partially_received / received -> closed;
    declined (the seller said no) and cancelled (the buyer or the channel withdrew it)
    end a return nothing of which was received."""

    REQUESTED = "requested"
    APPROVED = "approved"
    IN_TRANSIT = "in_transit"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CLOSED = "closed"
    DECLINED = "declined"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        """Whether the return may still change (receipts, refunds, a close)."""
        return self not in _ENDED_RETURNS

    @property
    def progress(self) -> int:
        """How far along the way the status is (an ended status is furthest)."""
        return _RETURN_PROGRESS[self]


_ENDED_RETURNS = frozenset({ReturnStatus.CLOSED, ReturnStatus.DECLINED, ReturnStatus.CANCELLED})
_RETURN_PROGRESS = {status: rank for rank, status in enumerate(ReturnStatus)}


class ReturnDisposition(StrEnum):
    """What the warehouse found of one returned unit."""

    RESTOCK = "restock"
    """Sellable: back on the shelf at a chosen location, a return_restock movement."""
    DAMAGED = "damaged"
    """Came back unsellable: recorded, no stock change."""
    MISSING = "missing"
    """Should have been in the parcel and was not."""
    NOT_RETURNED = "not_returned"
    """The buyer kept it (a return settled without the goods)."""

    @property
    def received(self) -> bool:
        """Whether the unit physically came back."""
        return self in (ReturnDisposition.RESTOCK, ReturnDisposition.DAMAGED)


class RefundState(StrEnum):
    """The money side of a return, a step of its own: receiving never waits on it."""

    NONE = "none"
    PENDING = "pending"
    REFUNDED = "refunded"
    FAILED = "failed"


class ReturnAction(StrEnum):
    """What the hub tells a channel of a return (connectors declare those they take)."""

    APPROVE = "approve"
    DECLINE = "decline"
    PROCESS = "process"
    """The inspected units with their dispositions, and the refund when one is asked."""
    REFUND = "refund"
    """A refund asked for after the units were processed."""


class OrderReturnState(StrEnum):
    """How much of an order came back, over its returns that were not declined or
    cancelled (core/returns.py keeps it)."""

    NONE = "none"
    REQUESTED = "requested"
    """A return is open and nothing of it has come back yet."""
    PARTIALLY_RETURNED = "partially_returned"
    RETURNED = "returned"
    """Every shipped unit came back."""


class PushState(StrEnum):
    """Whether the channel the order came from has been told of a shipment."""

    PENDING = "pending"
    PUSHED = "pushed"
    FAILED = "failed"


class SplitPolicy(StrEnum):
    """Whether an order may ship from several locations (hub.yaml `routing:`)."""

    NEVER = "never"
    """The whole order ships from one location, oversold there for what it lacks."""
    WHEN_NEEDED = "when_needed"
    """Split over locations when no single one can ship it all."""


class RouteSource(StrEnum):
    AUTO = "auto"
    """Routed by the rules when the order came in."""
    OPERATOR = "operator"
    """Routed by hand (`orders route`)."""


class PickListState(StrEnum):
    OPEN = "open"
    PICKED = "picked"
    CANCELLED = "cancelled"


class UserRole(StrEnum):
    """What a user of the console and the API may do; each role may do what the ones
    before it may."""

    VIEWER = "viewer"
    """Reads everything, changes nothing."""
    OPERATOR = "operator"
    """Also changes stock, links, picks, packs, shipments and returns."""
    ADMIN = "admin"
    """Also manages users and pauses, resumes or syncs channels."""

    @property
    def rank(self) -> int:
        return list(UserRole).index(self)

    def may(self, needed: UserRole) -> bool:
        """Whether this role may do what `needed` may."""
        return self.rank >= needed.rank
