"""The console benchmark's catalogue: a hub's database filled as a busy seller's would be,
in bulk (SQLAlchemy Core executemany, 10,000 rows a statement, a few transactions), so
100,000 SKUs take seconds to write rather than the minutes the one-row paths would.

What `fill_console_world` writes, for `skus` SKUs (sizes scale with it; the figures are
those of 100,000):
- SKUs with titles made of a few words, a barcode each, safety stock or a low-stock
  threshold on some; stock levels at two locations, each explained by its movements
  (a receipt, then the shipments of the orders below, and a few adjustments and counts);
  a bin for every SKU at the first location, packaging barcodes for some.
- Every SKU listed on the first two channels (acknowledged, a push backlog of dirty
  listings), and thousands of unlinked listings on the third (half of them carrying a
  hub SKU's barcode, so auto-link has work).
- 10,000 orders over 90 days, 1 to 3 lines each, most lines of a few thousand top SKUs:
  old ones shipped or delivered (shipments, tracking events on the recent ones), recent
  ones open and reserved at the first location, some late, some oversold (their SKUs'
  free stock exhausted), some cancelled; returns of some delivered orders; pick lists
  (most picked, some open); a week of runs of every job of every channel at its default
  interval (the second channel failing of late, the third paused by hand); open and resolved
  alerts; three users (one admin) and their recorded actions.

The rows keep the ledger's invariants: on hand is the sum of the movements, reserved the
sum of the active reservations. `ConsoleWorld` names the rows whose ids or codes fill the
console's paths and queries.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, update
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.types import TypeEngine
from sqlmodel import SQLModel, col, select

from bench.fixtures import movement_row
from omnisync.core.clock import utcnow
from omnisync.core.db import transaction
from omnisync.core.models import (
    Alert,
    Channel,
    Listing,
    Location,
    Order,
    OrderLine,
    PackagingBarcode,
    PickList,
    PickListLine,
    Reservation,
    Return,
    ReturnLine,
    Shipment,
    Sku,
    SkuBin,
    StockLevel,
    StockMovement,
    SyncRun,
    TrackingEvent,
    User,
    UserAction,
)
from omnisync.core.types import (
    AlertSeverity,
    AlertState,
    LinkMethod,
    MovementKind,
    OrderReturnState,
    OrderStatus,
    PickListState,
    PushState,
    ReservationState,
    ReturnStatus,
    ShipmentStatus,
    SyncRunStatus,
    UserRole,
)
from omnisync.sync.jobs.registry import JOBS

CHUNK = 10_000
"""Rows per statement: far below SQLite's and PostgreSQL's parameter limits."""
DAYS = 90
CHANNELS = ("shop", "market", "outlet")
"""Listed everywhere, listed everywhere and failing of late, unlinked and paused."""
LOCATIONS = ("main", "backup")
USERS = {"ada": UserRole.ADMIN, "otto": UserRole.OPERATOR, "vera": UserRole.VIEWER}
ADMIN = "ada"

COLOURS = (
    "Blue", "Red", "Green", "Black", "White", "Grey", "Yellow", "Orange", "Purple", "Pink",
    "Teal", "Navy",
)  # fmt: skip
MATERIALS = (
    "ceramic", "steel", "oak", "glass", "cotton", "linen", "bamboo", "copper", "wool",
    "leather",
)  # fmt: skip
NOUNS = (
    "mug", "lantern", "teapot", "bowl", "vase", "candle", "basket", "blanket", "cushion",
    "tray", "jug", "plate", "clock", "mirror", "lamp", "stool", "shelf", "rug", "towel",
    "apron", "kettle", "planter", "frame", "hook", "box",
)  # fmt: skip
TITLE_WORD = "lantern"
"""In one title of 25: a search that finds a page at once."""
RARE_WORD = "heirloom"
"""In one title of 20,000: a search that must read the whole catalogue to fill a page."""
RARE_EVERY = 20_000
RUN_DAYS = 7
"""Days of runs at the jobs' default intervals (a hub keeps every run: after 90 days it
holds thirteen times as many)."""


@dataclass
class ConsoleWorld:
    """What the benchmark fills the console's paths and queries with."""

    skus: int
    sku_code: str
    """A top seller: many movements, order lines, listings, a bin."""
    sku_id: int
    barcode: str
    title_word: str
    rare_word: str
    order_id: int
    """A delivered order with lines, a shipment with tracking events, and a return."""
    order_name: str
    """That order's external id."""
    open_order_id: int
    """An open, reserved order not oversold: one to pick and pack."""
    oversold_order_id: int
    channel: str
    channel_id: int
    listing_id: int
    unlinked_listing: str
    """The channel SKU of an unlinked listing of the third channel."""
    unlinked_listing_id: int
    return_id: int
    pick_list_id: int
    """An open pick list."""
    shipment_id: int
    alert_id: int
    run_id: int
    location: str
    location_id: int
    user: str
    user_id: int
    rows: dict[str, int] = field(default_factory=dict)
    """Rows written per table."""


def scale(skus: int, at_100k: int, least: int) -> int:
    """A size that is `at_100k` for 100,000 SKUs, in proportion below, never under `least`."""
    return max(least, round(at_100k * skus / 100_000))


def sku_code(number: int) -> str:
    return f"SKU-{number:06d}"


def sku_barcode(number: int) -> str:
    return f"40{number:011d}"


def sku_title(number: int) -> str:
    colour = COLOURS[number % len(COLOURS)]
    material = MATERIALS[(number // len(COLOURS)) % len(MATERIALS)]
    noun = NOUNS[(number // 7) % len(NOUNS)]
    rare = f" {RARE_WORD}" if number % RARE_EVERY == RARE_EVERY - 1 else ""
    return f"{colour} {material}{rare} {noun} {number:06d}"


def chunks(rows: Sequence[dict[str, Any]], size: int = CHUNK) -> Iterator[Sequence[dict[str, Any]]]:
    for first in range(0, len(rows), size):
        yield rows[first : first + size]


@dataclass
class _Line:
    id: int
    order_id: int
    external_id: str
    sku_id: int | None
    quantity: int
    status: OrderStatus
    placed_at: datetime


class _Builder:
    """Rows of every table, made in memory, then written table by table."""

    def __init__(self, engine: Engine, skus: int, seed: int, password_hash: str) -> None:
        self.engine = engine
        self.count = skus
        self.random = random.Random(seed)  # noqa: S311 (reproducible data, not secrets)
        self.password_hash = password_hash
        self.now = utcnow().replace(microsecond=0)
        self.start = self.now - timedelta(days=DAYS)
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        with transaction(engine, read_only=True) as session:
            locations = dict(session.exec(select(Location.code, Location.id)).all())
            channels = dict(session.exec(select(Channel.name, Channel.id)).all())
        missing = [
            name for name in (*LOCATIONS, *CHANNELS) if name not in {**locations, **channels}
        ]
        if missing:
            raise ValueError(f"the hub lacks {', '.join(missing)}: configure them first")
        self.locations: dict[str, int] = {code: int(locations[code] or 0) for code in LOCATIONS}
        self.channels: dict[str, int] = {name: int(channels[name] or 0) for name in CHANNELS}
        self.main = self.locations[LOCATIONS[0]]
        self.top = max(20, skus // 100)
        """Top sellers: the first `top` SKUs take most order lines."""
        self.reserved: dict[int, int] = {}
        """Units reserved per SKU at the first location."""
        self.exhausted: set[int] = set()
        """SKUs of oversold lines: no free stock at the first location."""

    # -- catalogue -------------------------------------------------------------------

    def catalogue(self) -> None:
        rnd = self.random
        for number in range(self.count):
            sku_id = number + 1
            low = rnd.random()
            self.rows["skus"].append(
                {
                    "id": sku_id,
                    "code": sku_code(number),
                    "title": sku_title(number),
                    "barcode": sku_barcode(number),
                    "safety_stock": 2 if low < 0.1 else 0,
                    "low_stock_below": 10 if 0.1 <= low < 0.2 else None,
                    "created_at": self.start,
                }
            )
            aisle, rest = divmod(number, 2_000)
            self.rows["sku_bins"].append(
                {
                    "sku_id": sku_id,
                    "location_id": self.main,
                    "bin": f"{aisle:02d}-{rest // 100:02d}-{rest % 100:02d}",
                    "sequence": number,
                    "updated_at": self.start,
                }
            )
            if number % 50 == 0:
                self.rows["packaging_barcodes"].append(
                    {
                        "sku_id": sku_id,
                        "barcode": f"9{sku_barcode(number)}",
                        "quantity": 6,
                        "name": "case",
                        "created_at": self.start,
                    }
                )

    # -- orders ----------------------------------------------------------------------

    def orders(self) -> list[_Line]:
        rnd = self.random
        total = scale(self.count, 10_000, 60)
        lines: list[_Line] = []
        line_id = 0
        weights = (0.47, 0.47, 0.06)
        for index in range(total):
            order_id = index + 1
            channel = rnd.choices(CHANNELS, weights)[0]
            age = timedelta(seconds=rnd.uniform(0, DAYS * 86_400))
            placed = (self.now - age).replace(microsecond=0)
            status = self._status(age.days)
            self.rows["orders"].append(
                {
                    "id": order_id,
                    "channel_id": self.channels[channel],
                    "external_id": f"{channel[0].upper()}{100_000 + order_id}",
                    "display_name": f"#{100_000 + order_id}",
                    "status": status,
                    "channel_status": status.value,
                    "placed_at": placed,
                    "updated_at": placed,
                    "currency": "EUR",
                    "total": Decimal("0.00"),
                    "customer": {"name": f"Buyer {order_id}", "email": f"b{order_id}@example.test"},
                    "ship_to": {"name": f"Buyer {order_id}", "city": "Lyon", "country": "FR"},
                    "ingested_at": placed,
                    "modified_at": placed,
                    "ship_by": placed + timedelta(days=2),
                    "return_state": OrderReturnState.NONE,
                    "oversold": False,
                    "oversold_at": None,
                    "route": None,
                    "routed_at": None,
                }
            )
            total_price = Decimal("0.00")
            for _ in range(rnd.choice((1, 1, 2, 2, 3))):
                line_id += 1
                unbound = channel == CHANNELS[2]
                sku_number = (
                    rnd.randrange(self.top) if rnd.random() < 0.7 else rnd.randrange(self.count)
                )
                quantity = rnd.choice((1, 1, 1, 2, 3))
                price = Decimal(rnd.randrange(500, 9_000)) / 100
                total_price += price * quantity
                shipped = quantity if status in _SHIPPED else 0
                self.rows["order_lines"].append(
                    {
                        "id": line_id,
                        "order_id": order_id,
                        "external_line_id": f"L{line_id}",
                        "channel_sku": f"X-{sku_number}" if unbound else sku_code(sku_number),
                        "sku_id": None if unbound else sku_number + 1,
                        "title": sku_title(sku_number),
                        "quantity": quantity,
                        "unit_price": price,
                        "quantity_shipped": shipped,
                        "quantity_cancelled": quantity if status is OrderStatus.CANCELLED else 0,
                    }
                )
                lines.append(
                    _Line(
                        line_id,
                        order_id,
                        f"L{line_id}",
                        None if unbound else sku_number + 1,
                        quantity,
                        status,
                        placed,
                    )
                )
            self.rows["orders"][-1]["total"] = total_price
        return lines

    def _status(self, age_days: int) -> OrderStatus:
        draw = self.random.random()
        if age_days <= 2:
            return (
                OrderStatus.ACCEPTED
                if draw < 0.85
                else (OrderStatus.PENDING if draw < 0.9 else OrderStatus.SHIPPED)
            )
        if age_days <= 10:
            if draw < 0.6:
                return OrderStatus.SHIPPED
            if draw < 0.85:
                return OrderStatus.ACCEPTED  # late: past its ship-by
            return OrderStatus.CANCELLED if draw < 0.93 else OrderStatus.DELIVERED
        if draw < 0.75:
            return OrderStatus.DELIVERED
        if draw < 0.92:
            return OrderStatus.SHIPPED
        return OrderStatus.CANCELLED if draw < 0.99 else OrderStatus.ACCEPTED

    def reserve(self, lines: list[_Line]) -> set[int]:
        """Active reservations for the open lines at the first location; one open order in
        twenty is oversold (its reservation short, its SKUs' free stock made 0). Returns
        the oversold orders."""
        rnd = self.random
        open_orders = sorted(
            {line.order_id for line in lines if line.status in _OPEN and line.sku_id is not None}
        )
        oversold = set(rnd.sample(open_orders, max(1, round(len(open_orders) / 20))))
        reserved: dict[int, int] = defaultdict(int)
        exhausted: set[int] = set()
        for line in lines:
            if line.status not in _OPEN or line.sku_id is None:
                continue
            held = line.quantity
            if line.order_id in oversold:
                held = line.quantity - 1 if line.quantity > 1 else 0
                exhausted.add(line.sku_id)
            reserved[line.sku_id] += held
            self.rows["reservations"].append(
                {
                    "order_line_id": line.id,
                    "sku_id": line.sku_id,
                    "location_id": self.main,
                    "quantity": held,
                    "per_unit": 1,
                    "state": ReservationState.ACTIVE,
                    "created_at": line.placed_at,
                    "updated_at": line.placed_at,
                }
            )
        for row in self.rows["orders"]:
            if row["status"] in _OPEN:
                row["route"] = {
                    "locations": [LOCATIONS[0]],
                    "lines": {},
                    "reason": "every line in stock at main",
                    "split": "when_needed",
                    "source": "auto",
                    "at": row["placed_at"].isoformat(),
                }
                row["routed_at"] = row["placed_at"]
            if row["id"] in oversold:
                row["oversold"] = True
                row["oversold_at"] = row["placed_at"]
        self.reserved = reserved
        self.exhausted = exhausted
        return oversold

    # -- stock -----------------------------------------------------------------------

    def stock(self, lines: list[_Line]) -> None:
        """Levels at both locations and the movements that explain them."""
        rnd = self.random
        shipped: dict[int, list[tuple[int, datetime, int]]] = defaultdict(list)
        for line in lines:
            if line.status in _SHIPPED and line.sku_id is not None:
                at = line.placed_at + timedelta(days=1)
                shipped[line.sku_id].append((line.quantity, at, line.order_id))
        for sku_id in range(1, self.count + 1):
            reserved = self.reserved.get(sku_id, 0)
            if sku_id in self.exhausted:
                on_hand = reserved
            else:
                on_hand = reserved + (0 if rnd.random() < 0.08 else rnd.randrange(1, 200))
            moves = shipped.get(sku_id, [])
            adjustments = []
            if sku_id <= self.top and on_hand > 5:
                adjustments = [(-1, MovementKind.ADJUSTMENT), (1, MovementKind.COUNT)]
            received = on_hand + sum(quantity for quantity, _, _ in moves)
            received -= sum(delta for delta, _ in adjustments)
            self.rows["stock_levels"].append(
                {
                    "sku_id": sku_id,
                    "location_id": self.main,
                    "on_hand": on_hand,
                    "reserved": reserved,
                    "updated_at": self.now,
                }
            )
            movements = self.rows["stock_movements"]
            if received:
                movements.append(
                    movement_row(sku_id, self.main, received, MovementKind.RECEIPT, self.start)
                )
            for quantity, at, order_id in moves:
                movement = movement_row(sku_id, self.main, -quantity, MovementKind.SHIPMENT, at)
                movement["reference"] = f"order {order_id}"
                movements.append(movement)
            for number, (delta, kind) in enumerate(adjustments):
                at = self.now - timedelta(days=3 - number)
                movements.append(movement_row(sku_id, self.main, delta, kind, at))
            backup = rnd.randrange(0, 40)
            self.rows["stock_levels"].append(
                {
                    "sku_id": sku_id,
                    "location_id": self.locations[LOCATIONS[1]],
                    "on_hand": backup,
                    "reserved": 0,
                    "updated_at": self.now,
                }
            )
            if backup:
                movements.append(
                    movement_row(
                        sku_id,
                        self.locations[LOCATIONS[1]],
                        backup,
                        MovementKind.RECEIPT,
                        self.start,
                    )
                )

    # -- listings --------------------------------------------------------------------

    def listings(self) -> None:
        rnd = self.random
        backlog = scale(self.count, 500, 5)
        for name in CHANNELS[:2]:
            channel_id = self.channels[name]
            dirty = set(rnd.sample(range(self.count), min(backlog, self.count)))
            for number in range(self.count):
                is_dirty = number in dirty
                self.rows["listings"].append(
                    {
                        "channel_id": channel_id,
                        "sku_id": number + 1,
                        "channel_sku": sku_code(number),
                        "title": sku_title(number),
                        "barcode": sku_barcode(number),
                        "last_ack_quantity": rnd.randrange(0, 100),
                        "last_ack_at": self.now - timedelta(hours=1),
                        "dirty": is_dirty,
                        "dirty_since": self.now - timedelta(minutes=30) if is_dirty else None,
                        "link_method": LinkMethod.SKU,
                        "linked_at": self.start,
                        "created_at": self.start,
                        "updated_at": self.now,
                    }
                )
        unlinked = scale(self.count, 3_000, 20)
        for index in range(unlinked):
            number = rnd.randrange(self.count)
            self.rows["listings"].append(
                {
                    "channel_id": self.channels[CHANNELS[2]],
                    "sku_id": None,
                    "channel_sku": f"OUT-{index:05d}",
                    "title": sku_title(number),
                    "barcode": sku_barcode(number) if index % 2 == 0 else None,
                    "seen_quantity": rnd.randrange(0, 20),
                    "seen_at": self.now - timedelta(hours=2),
                    "unlinked_since": self.start + timedelta(minutes=index),
                    "created_at": self.start + timedelta(minutes=index),
                    "updated_at": self.now,
                }
            )

    # -- shipments, returns, pick lists ---------------------------------------------

    def shipments(self, lines: list[_Line]) -> None:
        by_order: dict[int, list[_Line]] = defaultdict(list)
        for line in lines:
            by_order[line.order_id].append(line)
        shipment_id = 0
        for order_id, order_lines in by_order.items():
            status = order_lines[0].status
            if status not in _SHIPPED:
                continue
            shipment_id += 1
            placed = order_lines[0].placed_at
            shipped_at = placed + timedelta(days=1)
            delivered = status is OrderStatus.DELIVERED
            recent = self.now - placed < timedelta(days=10)
            self.rows["shipments"].append(
                {
                    "id": shipment_id,
                    "order_id": order_id,
                    "lines": [
                        {"external_line_id": line.external_id, "quantity": line.quantity}
                        for line in order_lines
                    ],
                    "carrier": "UPS" if order_id % 2 else "DHL",
                    "service": "standard",
                    "tracking_number": f"1Z{order_id:010d}",
                    "status": ShipmentStatus.DELIVERED if delivered else ShipmentStatus.IN_TRANSIT,
                    "shipped_at": shipped_at,
                    "delivered_at": shipped_at + timedelta(days=2) if delivered else None,
                    "push_state": PushState.PUSHED
                    if not recent or order_id % 5
                    else PushState.PENDING,
                    "pushed_at": shipped_at,
                    "created_at": shipped_at,
                }
            )
            if recent or (delivered and order_id % 10 == 0):
                for step, (code, state) in enumerate(_TRACKING):
                    self.rows["tracking_events"].append(
                        {
                            "shipment_id": shipment_id,
                            "at": shipped_at + timedelta(hours=6 * step),
                            "code": code,
                            "description": code.replace("_", " "),
                            "location": "Lyon hub",
                            "status": state,
                            "recorded_at": shipped_at + timedelta(hours=6 * step),
                        }
                    )

    def returns(self, lines: list[_Line]) -> int:
        """Returns of one delivered order in thirty; returns the order with the richest page
        (lines, a shipment with tracking, a return)."""
        by_order: dict[int, list[_Line]] = defaultdict(list)
        for line in lines:
            by_order[line.order_id].append(line)
        channel_of = {row["id"]: row["channel_id"] for row in self.rows["orders"]}
        orders = {row["id"]: row for row in self.rows["orders"]}
        statuses = (
            ReturnStatus.REQUESTED,
            ReturnStatus.IN_TRANSIT,
            ReturnStatus.RECEIVED,
            ReturnStatus.CLOSED,
            ReturnStatus.CLOSED,
        )
        sample = 0
        return_id = 0
        for order_id, order_lines in by_order.items():
            if order_lines[0].status is not OrderStatus.DELIVERED or order_id % 30 != 0:
                continue
            return_id += 1
            status = statuses[return_id % len(statuses)]
            requested = order_lines[0].placed_at + timedelta(days=5)
            line = order_lines[0]
            self.rows["returns"].append(
                {
                    "id": return_id,
                    "order_id": order_id,
                    "channel_id": channel_of[order_id],
                    "external_id": f"R{return_id}",
                    "name": f"R{return_id}",
                    "status": status,
                    "channel_status": status.value,
                    "reason": "does not fit",
                    "requested_at": requested,
                    "status_changed_at": requested + timedelta(days=1),
                    "received_at": requested + timedelta(days=3)
                    if status in (ReturnStatus.RECEIVED, ReturnStatus.CLOSED)
                    else None,
                    "closed_at": requested + timedelta(days=4)
                    if status is ReturnStatus.CLOSED
                    else None,
                    "created_at": requested,
                    "updated_at": requested + timedelta(days=1),
                }
            )
            closed = status is ReturnStatus.CLOSED
            self.rows["return_lines"].append(
                {
                    "return_id": return_id,
                    "order_line_id": line.id,
                    "external_line_id": line.external_id,
                    "channel_sku": sku_code((line.sku_id or 1) - 1),
                    "quantity": line.quantity,
                    "reason": "does not fit",
                    "quantity_restocked": line.quantity if closed else 0,
                }
            )
            orders[order_id]["return_state"] = (
                OrderReturnState.RETURNED
                if closed and len(order_lines) == 1
                else OrderReturnState.PARTIALLY_RETURNED
                if closed
                else OrderReturnState.REQUESTED
            )
            if not sample and len(order_lines) > 1 and order_id % 10 == 0:
                sample = order_id  # a delivered order with tracking events and a return
        if not sample:
            sample = self.rows["returns"][0]["order_id"] if self.rows["returns"] else 1
        return sample

    def pick_lists(self, lines: list[_Line], oversold: set[int]) -> int:
        """Picked lists of shipped orders and open lists of open ones; returns an open one."""
        rnd = self.random
        bins = {row["sku_id"]: row for row in self.rows["sku_bins"]}
        shipped = [line for line in lines if line.status in _SHIPPED and line.sku_id]
        waiting = [
            line
            for line in lines
            if line.status is OrderStatus.ACCEPTED and line.sku_id and line.order_id not in oversold
        ]
        lists = scale(self.count, 60, 4)
        open_lists = max(2, lists // 10)
        open_orders = sorted({line.order_id for line in waiting})
        picked_orders = sorted({line.order_id for line in shipped})
        per_list = 20
        first_open = 0
        for index in range(lists):
            pick_id = index + 1
            is_open = index >= lists - open_lists
            pool, source = (open_orders, waiting) if is_open else (picked_orders, shipped)
            if not pool:
                continue
            chosen = set(rnd.sample(pool, min(per_list, len(pool))))
            if is_open:
                open_orders = [order_id for order_id in open_orders if order_id not in chosen]
                first_open = first_open or pick_id
            created = (
                self.now - timedelta(hours=2) if is_open else self.start + timedelta(days=index)
            )
            self.rows["pick_lists"].append(
                {
                    "id": pick_id,
                    "location_id": self.main,
                    "state": PickListState.OPEN if is_open else PickListState.PICKED,
                    "created_at": created,
                    "created_by": ADMIN,
                    "picked_at": None if is_open else created + timedelta(hours=1),
                }
            )
            for line in source:
                if line.order_id in chosen and line.sku_id is not None:
                    place = bins[line.sku_id]
                    self.rows["pick_list_lines"].append(
                        {
                            "pick_list_id": pick_id,
                            "order_id": line.order_id,
                            "order_line_id": line.id,
                            "sku_id": line.sku_id,
                            "bin": place["bin"],
                            "sequence": place["sequence"],
                            "quantity": line.quantity,
                        }
                    )
        return first_open or 1

    # -- the hub's own records -------------------------------------------------------

    def runs(self) -> None:
        """Every job of every channel at its default interval (sync/jobs/registry.py) for
        RUN_DAYS, in the order they started: about 100,000 runs at 100,000 SKUs (fewer
        days of them for a smaller catalogue). The second channel's runs of the last six
        hours failed."""
        failing = self.channels[CHANNELS[1]]
        hours = scale(self.count, RUN_DAYS * 24, 6)
        since = self.now - timedelta(hours=hours)
        failing_since = self.now - timedelta(hours=6)
        runs: list[dict[str, Any]] = []
        for channel_id in self.channels.values():
            for offset, (job, spec) in enumerate(JOBS.items()):
                every = spec.default_interval
                started = since + timedelta(seconds=offset)
                while started < self.now:
                    fails = channel_id == failing and started >= failing_since
                    runs.append(
                        {
                            "channel_id": channel_id,
                            "job": job.value,
                            "status": SyncRunStatus.FAILED if fails else SyncRunStatus.SUCCEEDED,
                            "started_at": started,
                            "finished_at": started + timedelta(seconds=2),
                            "counts": {"fetched": len(runs) % 7},
                            "error": "connection refused (127.0.0.1:9)" if fails else None,
                        }
                    )
                    started += every
        runs.sort(key=lambda run: run["started_at"])
        self.rows["sync_runs"] = runs

    def alerts(self, oversold: set[int]) -> None:
        shop, market, outlet = (self.channels[name] for name in CHANNELS)
        opened = [
            ("oversold_order", shop, AlertSeverity.CRITICAL, f"{len(oversold)} orders oversold"),
            ("oversold_order", market, AlertSeverity.CRITICAL, "orders oversold"),
            ("unlinked_listings", outlet, AlertSeverity.WARNING, "listings unlinked"),
            ("channel_failing", market, AlertSeverity.WARNING, "orders job failing for 6 hours"),
        ]
        for rule, channel_id, severity, message in opened:
            self.rows["alerts"].append(
                {
                    "rule": rule,
                    "channel_id": channel_id,
                    "severity": severity,
                    "state": AlertState.OPEN,
                    "message": message,
                    "first_seen": self.now - timedelta(hours=6),
                    "last_seen": self.now,
                    "count": 6,
                }
            )
        for index in range(scale(self.count, 400, 10)):
            seen = self.start + timedelta(hours=5 * index)
            self.rows["alerts"].append(
                {
                    "rule": ("oversold_order", "pick_short", "unlinked_listings")[index % 3],
                    "channel_id": (shop, market, outlet)[index % 3],
                    "severity": AlertSeverity.WARNING,
                    "state": AlertState.RESOLVED,
                    "message": "resolved in time",
                    "first_seen": seen,
                    "last_seen": seen + timedelta(hours=1),
                    "resolved_at": seen + timedelta(hours=1),
                    "resolved_by": ADMIN if index % 2 else None,
                }
            )

    def users(self) -> None:
        for index, (name, role) in enumerate(USERS.items()):
            self.rows["users"].append(
                {
                    "id": index + 1,
                    "name": name,
                    "role": role,
                    "password_hash": self.password_hash,
                    "created_at": self.start,
                }
            )
        for index in range(scale(self.count, 3_000, 20)):
            self.rows["user_actions"].append(
                {
                    "at": self.start + timedelta(minutes=43 * index),
                    "user_name": tuple(USERS)[index % 2],
                    "via": "console",
                    "action": ("stock.adjust", "listing.link", "order.ship")[index % 3],
                    "target": f"{sku_code(index % self.count)} at main",
                    "detail": {"delta": 1},
                }
            )

    # -- writing ---------------------------------------------------------------------

    def write(self) -> dict[str, int]:
        """Every table in dependency order, a few tables per transaction."""
        order: tuple[tuple[type[SQLModel], ...], ...] = (
            (User, UserAction, Sku, SkuBin, PackagingBarcode),
            (StockLevel, StockMovement),
            (Listing,),
            (Order, OrderLine, Reservation, Shipment, TrackingEvent, Return, ReturnLine),
            (PickList, PickListLine, SyncRun, Alert),
        )
        written: dict[str, int] = {}
        for models in order:
            with transaction(self.engine) as session:
                for model in models:
                    name = str(model.__tablename__)
                    rows = self.rows.pop(name, [])
                    if rows:
                        _insert(session.connection(), model, rows)
                    written[name] = len(rows)
        with transaction(self.engine) as session:
            session.execute(
                update(Channel)
                .where(col(Channel.id) == self.channels[CHANNELS[2]])
                .values(paused_reason="stocktake at the outlet", paused_by=ADMIN)
            )
        return written


_OPEN = (OrderStatus.PENDING, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_SHIPPED)
_SHIPPED = (OrderStatus.SHIPPED, OrderStatus.DELIVERED)
_TRACKING = (
    ("picked_up", ShipmentStatus.IN_TRANSIT),
    ("arrived_at_hub", ShipmentStatus.IN_TRANSIT),
    ("out_for_delivery", ShipmentStatus.OUT_FOR_DELIVERY),
)


def _insert(connection: Connection, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    """The rows into the model's table, CHUNK rows an executemany.

    The values are converted as the table's column types convert them (UTC datetimes,
    enums, JSON, money), each distinct value once: the same few timestamps fill most of
    the 200,000 listings and levels, and converting every value of a million rows one by
    one took most of the set-up. The INSERT is then sent as the driver's executemany
    (SQLAlchemy's per-row parameter work would take as long again)."""
    table = SQLModel.metadata.tables[str(model.__tablename__)]
    uniform = _uniform(model, rows)
    keys = list(uniform[0])
    converters = [
        (key, convert)
        for key in keys
        if (convert := _converter(table.c[key].type, connection.dialect)) is not None
    ]
    for row in uniform:
        for key, convert in converters:
            row[key] = convert(row[key])
    statement = sql_table(table.name, *(sql_column(key) for key in keys)).insert()
    compiled = statement.compile(dialect=connection.dialect)
    order = list(compiled.positiontup or ()) if compiled.positional else []
    for part in chunks(uniform):
        values: Any = [tuple(row[key] for key in order) for row in part] if order else list(part)
        connection.exec_driver_sql(str(compiled), values)


def _converter(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """The column type's bind conversion for `dialect` (None: it converts nothing),
    remembering hashable values."""
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return None
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        if value is None or isinstance(value, dict | list):
            return process(value)
        try:
            return seen[value]
        except KeyError:
            seen[value] = converted = process(value)
            return converted

    return convert


def _uniform(model: type[SQLModel], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with the same keys (an executemany binds the first row's keys): every key
    any row has, and every column the model gives a default but the table does not (the
    enum, time and JSON columns); a row lacking one gets the model's default, else None."""
    table = SQLModel.metadata.tables[str(model.__tablename__)]
    fill: dict[str, Any] = {}
    for column in table.columns:
        if column.primary_key or column.server_default is not None:
            continue
        declared = model.model_fields.get(column.name)
        if declared is not None and declared.default_factory is not None:
            fill[column.name] = declared.default_factory()  # type: ignore[call-arg]
        elif declared is not None and not declared.is_required():
            fill[column.name] = declared.default
    for key in {key for row in rows for key in row}:
        fill.setdefault(key, None)
    return [{**fill, **row} for row in rows]


def fill_console_world(
    engine: Engine, skus: int, password_hash: str, seed: int = 6
) -> ConsoleWorld:
    """Fill a migrated hub database whose config has LOCATIONS and CHANNELS (and nothing
    else yet) with the world described above; the users' password is `password_hash`'s."""
    if skus < 20:
        raise ValueError("the console's world needs at least 20 SKUs")
    builder = _Builder(engine, skus, seed, password_hash)
    builder.catalogue()
    lines = builder.orders()
    oversold = builder.reserve(lines)
    builder.stock(lines)
    builder.listings()
    builder.shipments(lines)
    order_id = builder.returns(lines)
    pick_list_id = builder.pick_lists(lines, oversold)
    builder.runs()
    builder.alerts(oversold)
    builder.users()
    open_order = next(
        row["id"]
        for row in builder.rows["orders"]
        if row["status"] is OrderStatus.ACCEPTED and row["id"] not in oversold
    )
    order_name = next(row["external_id"] for row in builder.rows["orders"] if row["id"] == order_id)
    rows = builder.write()
    return _world(engine, builder, rows, order_id, order_name, open_order, oversold, pick_list_id)


def _world(
    engine: Engine,
    builder: _Builder,
    rows: dict[str, int],
    order_id: int,
    order_name: str,
    open_order: int,
    oversold: set[int],
    pick_list_id: int,
) -> ConsoleWorld:
    shop = builder.channels[CHANNELS[0]]
    outlet = builder.channels[CHANNELS[2]]
    with transaction(engine, read_only=True) as session:
        listing_id = session.exec(
            select(Listing.id).where(Listing.channel_id == shop, Listing.sku_id == 1)
        ).one()
        unlinked_id, unlinked_key = session.exec(
            select(Listing.id, Listing.channel_sku)
            .where(Listing.channel_id == outlet)
            .order_by(col(Listing.id))
            .limit(1)
        ).one()
        return_id = session.exec(
            select(Return.id).where(Return.order_id == order_id).limit(1)
        ).first()
        shipment_id = session.exec(
            select(Shipment.id).where(Shipment.order_id == order_id).limit(1)
        ).first()
        alert_id = session.exec(
            select(Alert.id).where(Alert.state == AlertState.OPEN).order_by(col(Alert.id))
        ).first()
        run_id = session.exec(select(SyncRun.id).order_by(col(SyncRun.id).desc()).limit(1)).one()
        user_id = session.exec(select(User.id).where(User.name == ADMIN)).one()
    return ConsoleWorld(
        skus=builder.count,
        sku_code=sku_code(0),
        sku_id=1,
        barcode=sku_barcode(0),
        title_word=TITLE_WORD,
        rare_word=RARE_WORD,
        order_id=order_id,
        order_name=order_name,
        open_order_id=open_order,
        oversold_order_id=min(oversold) if oversold else open_order,
        channel=CHANNELS[0],
        channel_id=shop,
        listing_id=int(listing_id or 0),
        unlinked_listing=unlinked_key,
        unlinked_listing_id=int(unlinked_id or 0),
        return_id=int(return_id or 0),
        pick_list_id=pick_list_id,
        shipment_id=int(shipment_id or 0),
        alert_id=int(alert_id or 0),
        run_id=int(run_id or 0),
        location=LOCATIONS[0],
        location_id=builder.main,
        user=ADMIN,
        user_id=int(user_id or 0),
        rows=rows,
    )
