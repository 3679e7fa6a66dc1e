"""The simulated shop's returns: what a buyer sends back, and what became of it.

Records compare by identity (``eq=False``), as rows do: one line of one return is one
key wherever units are counted per line.

A return names units of fulfillment line items (only what was fulfilled can come back).
Approving it opens one reverse fulfillment order with a line per return line: the
dispositions returnProcess records (restocked at a location, not restocked, missing)
hang from those lines, and a reverse delivery carries the parcel's tracking. Refunds
record the money handed back, each against the payment it refunds. Records only: the
rules are :mod:`sandbox.shopify.state_returns`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Final

from omnisync.sandbox.shopify.model import (
    Fulfillment,
    LineItem,
    Location,
    ShopifySimulatorError,
    Transaction,
    gid,
)

REQUESTED: Final = "REQUESTED"
OPEN: Final = "OPEN"
CLOSED: Final = "CLOSED"
DECLINED: Final = "DECLINED"
CANCELED: Final = "CANCELED"
ENDED_WITHOUT_GOODS: Final = frozenset({DECLINED, CANCELED})
"""A return in these states holds no units: they may be returned again."""

RETURN_REASONS: Final = {
    "COLOR": "Color",
    "DEFECTIVE": "Damaged or defective",
    "NOT_AS_DESCRIBED": "Item not as described",
    "OTHER": "Other",
    "SIZE_TOO_LARGE": "Size was too large",
    "SIZE_TOO_SMALL": "Size was too small",
    "STYLE": "Style",
    "UNKNOWN": "Unknown",
    "UNWANTED": "Changed my mind",
    "WRONG_ITEM": "Received the wrong item",
}
"""Shopify's ReturnReason values and the name of the reason definition each stands for."""


def return_reason(given: str) -> str:
    """The ReturnReason a buyer's reason names: the enum value, or a reason definition's
    handle (``size-too-small``)."""
    value = given.strip().upper().replace("-", "_")
    if value not in RETURN_REASONS:
        known = ", ".join(sorted(RETURN_REASONS))
        raise ShopifySimulatorError(f"unknown return reason {given!r} (one of {known})")
    return value


def reason_handle(reason: str) -> str:
    """The reason definition's handle: SIZE_TOO_SMALL -> size-too-small."""
    return reason.lower().replace("_", "-")


@dataclass(eq=False)
class ReturnLine:
    """Units of one fulfillment line item the buyer sends back."""

    number: int
    fulfillment: Fulfillment
    position: int
    """Which line of the fulfillment (its FulfillmentLineItem)."""
    quantity: int
    reason: str
    reason_note: str = ""
    customer_note: str | None = None
    processed: int = 0
    refunded: int = 0

    @property
    def gid(self) -> str:
        return gid("ReturnLineItem", self.number)

    @property
    def line_item(self) -> LineItem:
        return self.fulfillment.lines[self.position][0].line

    @property
    def fulfillment_line_gid(self) -> str:
        return gid("FulfillmentLineItem", self.fulfillment.line_numbers[self.position])

    @property
    def processable(self) -> int:
        return self.quantity - self.processed


@dataclass(eq=False)
class Disposition:
    number: int
    type: str
    quantity: int
    location: Location | None
    created_at: datetime

    @property
    def gid(self) -> str:
        return gid("ReverseFulfillmentOrderDisposition", self.number)


@dataclass(eq=False)
class ReverseLine:
    """The work one return line asks for: its units, and what was done with them."""

    number: int
    return_line: ReturnLine
    dispositions: list[Disposition] = field(default_factory=list)

    @property
    def gid(self) -> str:
        return gid("ReverseFulfillmentOrderLineItem", self.number)

    @property
    def undisposed(self) -> int:
        return self.return_line.quantity - sum(d.quantity for d in self.dispositions)


@dataclass(eq=False)
class ReverseDelivery:
    """The parcel on its way back."""

    number: int
    tracking_number: str | None
    carrier: str | None

    @property
    def gid(self) -> str:
        return gid("ReverseDelivery", self.number)


@dataclass(eq=False)
class ReverseOrder:
    """A reverse fulfillment order: opened when the return is approved."""

    number: int
    lines: list[ReverseLine]
    deliveries: list[ReverseDelivery] = field(default_factory=list)
    status: str = OPEN

    @property
    def gid(self) -> str:
        return gid("ReverseFulfillmentOrder", self.number)


@dataclass(eq=False)
class Refund:
    """Money handed back: units of line items (not restocked) and the transactions."""

    number: int
    order_number: int
    lines: list[tuple[LineItem, int]]
    transactions: list[Transaction]
    created_at: datetime
    note: str | None = None
    notify_customer: bool = False
    return_number: int | None = None

    @property
    def gid(self) -> str:
        return gid("Refund", self.number)

    @property
    def total(self) -> Decimal:
        return sum((t.amount for t in self.transactions), Decimal("0"))


@dataclass(eq=False)
class ReturnRecord:
    number: int
    order_number: int
    name: str
    lines: list[ReturnLine]
    created_at: datetime
    status: str = REQUESTED
    approved_at: datetime | None = None
    closed_at: datetime | None = None
    decline: tuple[str, str | None] | None = None
    """(ReturnDeclineReason, the note to the buyer) once declined."""
    reverse: ReverseOrder | None = None
    refunds: list[Refund] = field(default_factory=list)
    notices: list[tuple[str, bool]] = field(default_factory=list)
    """(what was done, whether the buyer was to be told) for each merchant action."""

    @property
    def gid(self) -> str:
        return gid("Return", self.number)

    @property
    def holds_units(self) -> bool:
        return self.status not in ENDED_WITHOUT_GOODS

    def line(self, ref: object) -> ReturnLine | None:
        return next((line for line in self.lines if line.gid == ref), None)

    def reverse_line(self, ref: object) -> ReverseLine | None:
        if self.reverse is None:
            return None
        return next((line for line in self.reverse.lines if line.gid == ref), None)
