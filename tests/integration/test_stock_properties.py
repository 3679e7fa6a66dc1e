"""Property tests: random sequences of stock and order events keep invariants 1, 4 and 5.

After every step: on_hand equals the sum of movements (1); reserved equals the
active reservations, never negative, one active reservation per open line and
stocked SKU (4), which DatabaseMachine checks (tests/support/machines.py);
availability is never negative nor above the free stock of the channel's
locations (5). Each example runs on an empty database, SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule
from sqlmodel import Session, select

from omnisync.core.availability import available_to_sell, free_by_sku
from omnisync.core.catalog import bundle_recipes, location_by_code, sku_by_code
from omnisync.core.channels import selling_location_ids
from omnisync.core.db import transaction
from omnisync.core.dto import NormalisedOrder
from omnisync.core.errors import InsufficientStock
from omnisync.core.ledger import adjust_stock, count_stock, receive_stock
from omnisync.core.models import Channel
from omnisync.core.types import OrderStatus
from tests.support.machines import DatabaseMachine, cases_per_backend
from tests.support.world import build_world, ingest, make_order

SKUS = ["A", "B", "KIT"]
STOCKED = ["A", "B"]
LOCATIONS = ["main", "backup"]
CHANNELS = ["shop", "market"]


@dataclass
class KnownOrder:
    channel: str
    lines: list[tuple[str, int]]
    status: OrderStatus
    shipped: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)


class StockMachine(DatabaseMachine):
    def __init__(self) -> None:
        super().__init__()
        build_world(
            self.engine,
            channels={"shop": None, "market": ["backup"]},
            rules={"market": {"allocation_percent": 80, "buffer": 1}},
            bundles={"KIT": {"A": 2, "B": 1}},
        )
        self.orders: dict[str, KnownOrder] = {}
        self.clock = 0
        with Session(self.engine) as session:  # the catalogue never changes after this
            self.sku_ids = {code: sku_by_code(session, code).id or 0 for code in SKUS}
            self.kit = bundle_recipes(session, [self.sku_ids["KIT"]])[self.sku_ids["KIT"]]

    def _tick(self) -> int:
        self.clock += 1
        return self.clock

    def _stock(self, action: str, sku: str, location: str, quantity: int) -> None:
        functions = {"receive": receive_stock, "adjust": adjust_stock, "count": count_stock}
        try:
            with transaction(self.engine) as session:
                functions[action](
                    session,
                    sku_by_code(session, sku),
                    location_by_code(session, location),
                    quantity,
                )
        except InsufficientStock:
            pass  # refused as a whole; the invariants must still hold

    @rule(
        sku=st.sampled_from(STOCKED),
        location=st.sampled_from(LOCATIONS),
        quantity=st.integers(1, 6),
    )
    def receive(self, sku: str, location: str, quantity: int) -> None:
        self._stock("receive", sku, location, quantity)

    @rule(
        sku=st.sampled_from(STOCKED),
        location=st.sampled_from(LOCATIONS),
        # Not integers(-6, 6).filter(bool): a filter that misses three times in a row
        # throws the whole example away, and a fifth of them went so.
        delta=st.one_of(st.integers(-6, -1), st.integers(1, 6)),
    )
    def adjust(self, sku: str, location: str, delta: int) -> None:
        self._stock("adjust", sku, location, delta)

    @rule(
        sku=st.sampled_from(STOCKED),
        location=st.sampled_from(LOCATIONS),
        quantity=st.integers(0, 8),
    )
    def count(self, sku: str, location: str, quantity: int) -> None:
        self._stock("count", sku, location, quantity)

    @rule(
        channel=st.sampled_from(CHANNELS),
        lines=st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 4)), min_size=1, max_size=3),
        pending=st.booleans(),
    )
    def place_order(self, channel: str, lines: list[tuple[str, int]], pending: bool) -> None:
        external_id = f"o{len(self.orders)}"
        status = OrderStatus.PENDING if pending else OrderStatus.ACCEPTED
        known = KnownOrder(channel, lines, status, [0] * len(lines), [0] * len(lines))
        self.orders[external_id] = known
        self._send(external_id, known)

    def _open(self) -> list[str]:
        return sorted(oid for oid, o in self.orders.items() if o.status.holds_stock)

    @precondition(lambda self: bool(self._open()))
    @rule(data=st.data())
    def cancel_order(self, data: st.DataObject) -> None:
        external_id = data.draw(st.sampled_from(self._open()))
        self.orders[external_id].status = OrderStatus.CANCELLED
        self._send(external_id, self.orders[external_id])

    @precondition(lambda self: bool(self._open()))
    @rule(data=st.data())
    def ship_some(self, data: st.DataObject) -> None:
        external_id = data.draw(st.sampled_from(self._open()))
        known = self.orders[external_id]
        for index, (_, quantity) in enumerate(known.lines):
            left = quantity - known.shipped[index] - known.cancelled[index]
            known.shipped[index] += data.draw(st.integers(0, left))
        done = all(
            s + c == q
            for s, c, (_, q) in zip(known.shipped, known.cancelled, known.lines, strict=True)
        )
        known.status = OrderStatus.SHIPPED if done else OrderStatus.PARTIALLY_SHIPPED
        self._send(external_id, known)

    @precondition(lambda self: bool(self._open()))
    @rule(data=st.data())
    def cancel_part_of_a_line(self, data: st.DataObject) -> None:
        external_id = data.draw(st.sampled_from(self._open()))
        known = self.orders[external_id]
        index = data.draw(st.integers(0, len(known.lines) - 1))
        left = known.lines[index][1] - known.shipped[index] - known.cancelled[index]
        known.cancelled[index] += data.draw(st.integers(0, left))
        self._send(external_id, known)

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        """A channel sends an order again, unchanged (webhook retry, page overlap)."""
        external_id = data.draw(st.sampled_from(sorted(self.orders)))
        known = self.orders[external_id]
        ingest(self.engine, known.channel, self._payload(external_id, known, self.clock))

    def _payload(self, external_id: str, known: KnownOrder, minutes: int) -> NormalisedOrder:
        return make_order(
            external_id,
            known.lines,
            status=known.status,
            minutes=minutes,
            placed_minutes=int(external_id[1:]),
            shipped=list(known.shipped),
            cancelled=list(known.cancelled),
        )

    def _send(self, external_id: str, known: KnownOrder) -> None:
        ingest(self.engine, known.channel, self._payload(external_id, known, self._tick()))

    @invariant()
    def availability_is_within_free_stock(self) -> None:
        ids, recipe = self.sku_ids, self.kit
        with Session(self.engine) as session:
            for channel in session.exec(select(Channel)):
                locations = selling_location_ids(session, channel)
                free = free_by_sku(session, ids.values(), locations)
                available = available_to_sell(session, channel, ids.values())
                for code, sku_id in ids.items():
                    assert available[sku_id] >= 0
                    if code == "KIT":
                        limit = min(max(free.get(c, 0), 0) // q for c, q in recipe)
                    else:
                        limit = max(free.get(sku_id, 0), 0)
                    assert available[sku_id] <= limit, (channel.name, code)


TestStockPropertiesSQLite, TestStockPropertiesPostgres = cases_per_backend(
    StockMachine, max_examples=20, steps=25
)
