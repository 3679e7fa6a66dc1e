"""The simulated shop's records, and the small formats Shopify speaks about them.

Records are plain dataclasses kept by :class:`sandbox.shopify.state.ShopState`; ids
are numbers, shown to callers as gids (``gid://shopify/Order/1001``). Helpers here
format timestamps, money and opaque cursors, and parse the ``query`` search syntax
the ``orders`` connection takes.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, TypeVar

from graphql import GraphQLError

from omnisync.sandbox.clock import as_utc, parse_iso

JSON = dict[str, Any]
T = TypeVar("T")

GID_PREFIX: Final = "gid://shopify/"
CENT: Final = Decimal("0.01")
MAX_PAGE_SIZE: Final = 250

QUANTITY_NAMES: Final = (
    "available",
    "committed",
    "damaged",
    "incoming",
    "on_hand",
    "quality_control",
    "reserved",
    "safety_stock",
)
OPEN_FULFILLMENT_ORDER: Final = frozenset({"OPEN", "IN_PROGRESS"})


def gid(kind: str, number: int) -> str:
    return f"{GID_PREFIX}{kind}/{number}"


def gid_number(value: object, kind: str) -> int | None:
    """``gid://shopify/<kind>/<n>`` -> n; None for anything else (another kind included)."""
    if not isinstance(value, str):
        return None
    prefix = f"{GID_PREFIX}{kind}/"
    if not value.startswith(prefix):
        return None
    rest = value[len(prefix) :].split("?", 1)[0]
    return int(rest) if rest.isdigit() else None


def graphql_time(moment: datetime | None) -> str | None:
    """``2026-11-22T10:00:00Z``: the DateTime format of the GraphQL Admin API."""
    if moment is None:
        return None
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def rest_time(moment: datetime | None) -> str | None:
    """``2026-11-22T10:00:00+00:00``: the REST (and webhook) format, shop time in UTC."""
    if moment is None:
        return None
    return as_utc(moment).replace(microsecond=0).isoformat()


def money(amount: Decimal) -> str:
    return str(amount.quantize(CENT))


def money_bag(amount: Decimal, currency: str) -> JSON:
    value = {"amount": money(amount), "currencyCode": currency}
    return {"shopMoney": value, "presentmentMoney": dict(value)}


class ShopifySimulatorError(Exception):
    """A control operation the simulated shop refuses (unknown SKU, bad quantity, ...)."""


@dataclass(frozen=True)
class Event:
    """Something a webhook subscriber hears about."""

    topic: str
    order: int | None = None
    level: tuple[int, int] | None = None
    """(inventory item number, location number) for ``inventory_levels/update``."""
    return_number: int | None = None
    """The return a ``returns/*`` topic is about."""


# records ------------------------------------------------------------------------------


@dataclass
class Location:
    number: int
    name: str
    active: bool
    created_at: datetime

    @property
    def gid(self) -> str:
        return gid("Location", self.number)


@dataclass
class InventoryItem:
    number: int
    sku: str | None
    tracked: bool
    created_at: datetime
    updated_at: datetime
    levels: dict[int, int] = field(default_factory=dict)
    """Location number -> the "available" quantity there (stocked locations only)."""
    level_updated_at: dict[int, datetime] = field(default_factory=dict)
    locked: bool = False

    @property
    def gid(self) -> str:
        return gid("InventoryItem", self.number)


@dataclass
class Variant:
    number: int
    product_number: int
    product_title: str
    title: str
    sku: str | None
    price: Decimal
    item: InventoryItem
    created_at: datetime
    barcode: str | None = None
    """The product's GTIN/EAN/UPC/ISBN as the merchant typed it (None: none given)."""

    @property
    def gid(self) -> str:
        return gid("ProductVariant", self.number)

    @property
    def display_name(self) -> str:
        return f"{self.product_title} - {self.title}"


@dataclass
class Customer:
    number: int
    first_name: str
    last_name: str
    email: str

    @property
    def gid(self) -> str:
        return gid("Customer", self.number)

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email


@dataclass
class LineItem:
    number: int
    variant: Variant | None
    sku: str | None
    title: str
    quantity: int
    price: Decimal
    location_number: int
    removed: int = 0
    """Units cancelled or refunded before they were fulfilled: no longer part of the order."""
    fulfilled: int = 0
    refunded_fulfilled: int = 0
    """Fulfilled units refunded since (a return's refund): gone from ``currentQuantity``,
    which excludes every refunded unit, and still fulfilled."""

    @property
    def gid(self) -> str:
        return gid("LineItem", self.number)

    @property
    def current_quantity(self) -> int:
        return self.quantity - self.removed - self.refunded_fulfilled

    @property
    def unfulfilled_quantity(self) -> int:
        return max(self.quantity - self.removed - self.fulfilled, 0)


@dataclass
class FulfillmentOrderLine:
    number: int
    line: LineItem
    total: int
    remaining: int

    @property
    def gid(self) -> str:
        return gid("FulfillmentOrderLineItem", self.number)


@dataclass
class FulfillmentOrder:
    number: int
    order_number: int
    location: Location
    lines: list[FulfillmentOrderLine]
    created_at: datetime
    updated_at: datetime
    status: str = "OPEN"

    @property
    def gid(self) -> str:
        return gid("FulfillmentOrder", self.number)


@dataclass
class Fulfillment:
    number: int
    order_number: int
    location: Location
    lines: list[tuple[FulfillmentOrderLine, int]]
    created_at: datetime
    tracking_company: str | None
    tracking_number: str | None
    tracking_url: str | None
    notify_customer: bool
    status: str = "SUCCESS"
    line_numbers: list[int] = field(default_factory=list)
    """The number of each line's FulfillmentLineItem (what a return line names)."""

    @property
    def gid(self) -> str:
        return gid("Fulfillment", self.number)


@dataclass
class Transaction:
    """Money moving on an order: the buyer's payment (SALE) or a refund of it (REFUND)."""

    number: int
    order_number: int
    kind: str
    amount: Decimal
    gateway: str
    created_at: datetime
    parent: Transaction | None = None

    @property
    def gid(self) -> str:
        return gid("OrderTransaction", self.number)


@dataclass
class Order:
    number: int
    name: str
    created_at: datetime
    updated_at: datetime
    customer: Customer
    shipping_address: JSON
    currency: str
    financial_status: str
    lines: list[LineItem]
    fulfillment_orders: list[FulfillmentOrder] = field(default_factory=list)
    fulfillments: list[Fulfillment] = field(default_factory=list)
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None

    @property
    def gid(self) -> str:
        return gid("Order", self.number)

    @property
    def fulfillment_status(self) -> str:
        fulfilled = sum(line.fulfilled for line in self.lines)
        if fulfilled == 0:
            return "UNFULFILLED"
        if all(line.unfulfilled_quantity == 0 for line in self.lines):
            return "FULFILLED"
        return "PARTIALLY_FULFILLED"

    def total(self) -> Decimal:
        return sum((line.price * line.quantity for line in self.lines), Decimal("0"))

    def current_total(self) -> Decimal:
        return sum((line.price * line.current_quantity for line in self.lines), Decimal("0"))


# pagination ---------------------------------------------------------------------------


def encode_cursor(sort: str, key: Sequence[Any]) -> str:
    """An opaque cursor: the sort and the position of the last node served."""
    raw = json.dumps({"sort": sort, "last": list(key)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor}") from None
    if not isinstance(position, dict) or position.get("sort") != sort:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor}")
    last = position.get("last")
    if not isinstance(last, list):
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor}")
    return last


def connection(
    items: Sequence[T],
    to_node: Callable[[T], JSON],
    key: Callable[[T], list[Any]],
    arguments: JSON,
    sort: str = "ID",
) -> JSON:
    """One page of a Relay connection (``nodes``, ``edges``, ``pageInfo``) over ``items``,
    which are already in ``sort`` order; ``reverse`` serves them backwards.

    Forward pagination only (``first`` / ``after``), as the hub uses it.
    """
    first, after = arguments.get("first"), arguments.get("after")
    if arguments.get("last") is not None or arguments.get("before") is not None:
        raise GraphQLError("The simulator serves forward pagination only (first / after).")
    if first is None:
        raise GraphQLError("you must provide one of first or last")
    if first < 0 or first > MAX_PAGE_SIZE:
        raise GraphQLError(f"The 'first' argument must be between 0 and {MAX_PAGE_SIZE}.")
    ordered = list(reversed(items)) if arguments.get("reverse") else list(items)
    if after is not None:
        last = decode_cursor(after, sort)
        if arguments.get("reverse"):
            ordered = [item for item in ordered if key(item) < last]
        else:
            ordered = [item for item in ordered if key(item) > last]
    page = ordered[:first]
    cursors = [encode_cursor(sort, key(item)) for item in page]
    nodes = [to_node(item) for item in page]
    return {
        "nodes": nodes,
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, nodes, strict=True)],
        "pageInfo": {
            "hasNextPage": len(ordered) > first,
            "hasPreviousPage": after is not None,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


# search syntax ------------------------------------------------------------------------

_TERM = re.compile(
    r"""(?P<field>[a-z_]+):(?P<op><=|>=|<|>|=)?(?P<value>'[^']*'|"[^"]*"|\S+)""", re.IGNORECASE
)
_COMPARE: Final[dict[str, Callable[[datetime, datetime], bool]]] = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    "=": lambda a, b: a == b,
}


@dataclass(frozen=True)
class TimeFilter:
    field: str
    op: str
    moment: datetime

    def matches(self, value: datetime) -> bool:
        return _COMPARE[self.op](value, self.moment)


def time_filters(query: str | None, fields: Sequence[str]) -> list[TimeFilter]:
    """The ``field:>=value`` terms of a search query over the timestamp ``fields``
    (quotes optional). Other terms and unparseable times are ignored, as Shopify
    ignores filters it does not know."""
    filters: list[TimeFilter] = []
    for match in _TERM.finditer(query or ""):
        name = match.group("field").lower()
        if name not in fields:
            continue
        raw = match.group("value").strip("'\"")
        try:
            moment = parse_iso(raw.replace("Z", "+00:00"))
        except ValueError:
            continue
        filters.append(TimeFilter(name, match.group("op") or "=", moment))
    return filters


def term_values(query: str | None, name: str) -> list[str]:
    """The values of ``name:value`` terms (quotes removed)."""
    return [
        match.group("value").strip("'\"")
        for match in _TERM.finditer(query or "")
        if match.group("field").lower() == name and not match.group("op")
    ]
