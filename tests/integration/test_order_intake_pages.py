"""Order intake a page at a time: a page ends as its orders would, one at a time.

`intake_orders` settles a whole page over stock locked once; these tests hold it
to the order-at-a-time outcome (upsert_order per order, a transaction each) on
random pages of new orders, updates of known ones, repeats, stale and unknown
lines, over scarce stock (property test, both backends), and check the page
shapes one by one: new and known orders mixed, the same order twice, a payload
that could not be mapped, through the orders job.
"""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from omnisync.connectors.base import Capability, Connector, ConnectorSettings
from omnisync.core.channels import channel_by_name
from omnisync.core.db import make_engine, transaction
from omnisync.core.dto import NormalisedOrder, OrderPage, RejectedPayload
from omnisync.core.models import (
    Alert,
    Channel,
    Listing,
    Location,
    Order,
    OrderLine,
    QuarantinedPayload,
    Reservation,
    Sku,
    StockLevel,
    StockMovement,
)
from omnisync.core.order_intake import intake_orders
from omnisync.core.types import OrderStatus
from omnisync.sync.calls import Cancelled
from omnisync.sync.channels import SyncChannel
from omnisync.sync.cursors import CursorStream, read_cursor
from omnisync.sync.jobs import orders as orders_job
from omnisync.sync.jobs.context import JobContext, LeaseLost
from omnisync.sync.jobs.counts import RunCount
from omnisync.sync.jobs.orders import pull_orders
from tests.support.databases import (
    POSTGRES_URL,
    fresh_engine,
    postgres_schema,
    postgres_schema_url,
    sqlite_url,
    truncate_all,
)
from tests.support.world import (
    T0,
    build_world,
    check_ledger_invariants,
    ingest,
    level,
    list_sku,
    make_order,
    order_row,
    set_count,
)

CHANNELS: dict[str, Sequence[str] | None] = {"shop": None, "market": ["backup"]}
SKUS = ["A", "B", "KIT", "MYSTERY"]
"""KIT is a bundle of 2 A and 1 B; MYSTERY is no SKU of ours (the line stays unbound)."""


# -- the property: a page ends as its orders one at a time ---------------------------


@dataclass
class Known:
    """What the channel says of one order now."""

    lines: list[tuple[str, int]]
    status: OrderStatus
    placed: int
    minutes: int
    shipped: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)

    def payload(self, external_id: str, minutes: int | None = None) -> NormalisedOrder:
        return make_order(
            external_id,
            self.lines,
            status=self.status,
            minutes=self.minutes if minutes is None else minutes,
            placed_minutes=self.placed,
            shipped=list(self.shipped),
            cancelled=list(self.cancelled),
        )

    def open_units(self, index: int) -> int:
        return self.lines[index][1] - self.shipped[index] - self.cancelled[index]


@dataclass(frozen=True)
class Scenario:
    stock: dict[tuple[str, str], int]
    history: list[tuple[str, NormalisedOrder]]
    """(channel, order) taken one at a time before the page, on both databases."""
    page: list[NormalisedOrder]
    """A page of the shop channel."""


_lines = st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 3)), min_size=1, max_size=3)
# Weighted towards what moves scarce stock between orders: sales and cancellations.
_EVENTS = ("new", "new", "cancel", "cancel", "ship", "cancel_part", "again", "stale")


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    clock = itertools.count(1)
    stock = {(sku, place): draw(st.integers(0, 4)) for sku in "AB" for place in ("main", "backup")}
    known: dict[tuple[str, str], Known] = {}
    history = []
    for number in range(draw(st.integers(1, 5))):
        channel = draw(st.sampled_from(sorted(CHANNELS)))
        lines = draw(_lines)
        at = next(clock)
        status = draw(st.sampled_from([OrderStatus.PENDING, OrderStatus.ACCEPTED]))
        order = Known(lines, status, at, at, [0] * len(lines), [0] * len(lines))
        known[(channel, f"h{number}")] = order
        history.append((channel, order.payload(f"h{number}")))
    page = []
    for number in range(draw(st.integers(1, 8))):
        shop = sorted(ext for channel, ext in known if channel == "shop")
        event = draw(st.sampled_from(_EVENTS)) if shop else "new"
        if event == "new":
            lines = draw(_lines)
            at = next(clock)
            order = Known(lines, OrderStatus.ACCEPTED, at, at, [0] * len(lines), [0] * len(lines))
            known[("shop", f"p{number}")] = order
            page.append(order.payload(f"p{number}"))
            continue
        external_id = draw(st.sampled_from(shop))
        order = known[("shop", external_id)]
        if event == "again":
            page.append(order.payload(external_id))
            continue
        if event == "stale":
            page.append(order.payload(external_id, minutes=order.minutes - 1))
            continue
        if order.status.holds_stock:
            _change(draw, order, event)
        order.minutes = next(clock)
        page.append(order.payload(external_id))
    return Scenario(stock, history, page)


def _change(draw: st.DrawFn, order: Known, event: str) -> None:
    """What a channel reports next: a cancellation, or units of one line shipped or
    cancelled (the order shipped or cancelled once nothing is left open)."""
    if event == "cancel":
        order.status = OrderStatus.CANCELLED
        return
    index = draw(st.integers(0, len(order.lines) - 1))
    progress = order.shipped if event == "ship" else order.cancelled
    progress[index] += draw(st.integers(0, order.open_units(index)))
    if all(order.open_units(i) == 0 for i in range(len(order.lines))):
        order.status = OrderStatus.SHIPPED if any(order.shipped) else OrderStatus.CANCELLED
    elif any(order.shipped):
        order.status = OrderStatus.PARTIALLY_SHIPPED


def _prepare(engine: Engine, scenario: Scenario) -> None:
    build_world(engine, channels=CHANNELS, bundles={"KIT": {"A": 2, "B": 1}})
    list_sku(engine, "shop", "A", "B", "KIT")
    list_sku(engine, "market", "A", "B", "KIT")
    for (sku, location), quantity in scenario.stock.items():
        set_count(engine, sku, location, quantity)
    for channel, order in scenario.history:
        ingest(engine, channel, order)


def state(engine: Engine) -> dict[str, Any]:
    """Everything intake decides, keyed by what the channels and the config name, not by
    row ids (the two paths insert in different orders)."""
    with Session(engine) as session:
        channels = {row.id: row.name for row in session.exec(select(Channel))}
        skus = {row.id: row.code for row in session.exec(select(Sku))}
        locations = {row.id: row.code for row in session.exec(select(Location))}
        orders = {row.id: row for row in session.exec(select(Order))}
        lines = {row.id: row for row in session.exec(select(OrderLine))}

        def line_key(line_id: int) -> tuple[str, str, str]:
            line = lines[line_id]
            order = orders[line.order_id]
            return (channels[order.channel_id], order.external_id, line.external_line_id)

        return {
            "orders": {
                (channels[o.channel_id], o.external_id): (o.status, o.oversold, o.total)
                for o in orders.values()
            },
            "lines": {
                line_key(line.id or 0): (
                    skus.get(line.sku_id or 0),
                    line.quantity,
                    line.quantity_shipped,
                    line.quantity_cancelled,
                )
                for line in lines.values()
            },
            "levels": {
                (skus[row.sku_id], locations[row.location_id]): (row.on_hand, row.reserved)
                for row in session.exec(select(StockLevel))
            },
            "reservations": sorted(
                (
                    line_key(row.order_line_id),
                    skus[row.sku_id],
                    locations[row.location_id],
                    row.quantity,
                    row.state,
                )
                for row in session.exec(select(Reservation))
            ),
            "movements": sorted(
                (skus[row.sku_id], locations[row.location_id], row.delta, row.kind, row.reference)
                for row in session.exec(select(StockMovement))
            ),
            "dirty": sorted(
                (channels[row.channel_id], row.channel_sku)
                for row in session.exec(select(Listing).where(col(Listing.dirty)))
            ),
            "alerts": sorted(
                (row.rule, row.channel_id and channels[row.channel_id], row.count, row.state)
                for row in session.exec(select(Alert))
            ),
        }


def _one_at_a_time(engine: Engine, page: list[NormalisedOrder]) -> list[tuple[bool, bool, int]]:
    results = [ingest(engine, "shop", order) for order in page]
    return [(r.created, r.applied, r.short_units) for r in results]


def _as_a_page(engine: Engine, page: list[NormalisedOrder]) -> list[tuple[bool, bool, int]]:
    with transaction(engine) as session:
        results = intake_orders(session, channel_by_name(session, "shop"), page)
    return [(r.created, r.applied, r.short_units) for r in results]


def check_page_matches_one_at_a_time(page_db: Engine, one_db: Engine, scenario: Scenario) -> None:
    _prepare(page_db, scenario)
    _prepare(one_db, scenario)
    assert _as_a_page(page_db, scenario.page) == _one_at_a_time(one_db, scenario.page)
    assert state(page_db) == state(one_db)
    with Session(page_db) as session:
        check_ledger_invariants(session)


PROPERTY = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# PostgreSQL empties two schemas per example: fewer examples there; SQLite covers breadth.
PROPERTY_POSTGRES = settings(PROPERTY, max_examples=12)
_folder = Path(tempfile.mkdtemp(prefix="omnisync-pages-"))
atexit.register(shutil.rmtree, _folder, ignore_errors=True)
_runs = itertools.count()


@pytest.mark.slow
@PROPERTY
@given(scenario=scenarios())
def test_a_page_ends_as_its_orders_one_at_a_time_sqlite(scenario: Scenario) -> None:
    run = next(_runs)
    engines = []
    for side in ("page", "one"):
        folder = _folder / f"{run}-{side}"
        folder.mkdir()
        engines.append(fresh_engine(sqlite_url(folder)))
    try:
        check_page_matches_one_at_a_time(engines[0], engines[1], scenario)
    finally:
        for engine in engines:
            engine.dispose()


@pytest.fixture(scope="module")
def postgres_pair() -> Iterator[tuple[str, str]]:
    if not POSTGRES_URL:
        pytest.skip("OMNISYNC_TEST_POSTGRES_URL is not set")
    with postgres_schema() as page_schema, postgres_schema() as one_schema:
        urls = (postgres_schema_url(page_schema), postgres_schema_url(one_schema))
        for url in urls:
            fresh_engine(url).dispose()
        yield urls


@pytest.mark.slow
@pytest.mark.postgres
@PROPERTY_POSTGRES
@given(scenario=scenarios())
def test_a_page_ends_as_its_orders_one_at_a_time_postgres(
    postgres_pair: tuple[str, str], scenario: Scenario
) -> None:
    engines = [make_engine(url) for url in postgres_pair]
    try:
        for engine in engines:
            truncate_all(engine)
        check_page_matches_one_at_a_time(engines[0], engines[1], scenario)
    finally:
        for engine in engines:
            engine.dispose()


# -- page shapes, one by one ------------------------------------------------------------


def test_a_page_mixing_new_known_and_stale_orders(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 10)
    ingest(engine, "shop", make_order("1", [("A", 2)], minutes=1))
    ingest(engine, "shop", make_order("2", [("A", 3)], minutes=5))
    page = [
        make_order("3", [("A", 1), ("B", 1)], minutes=6),  # new; B has no stock
        make_order("1", [("A", 2)], status=OrderStatus.CANCELLED, minutes=7),  # known
        make_order("2", [("A", 3)], status=OrderStatus.CANCELLED, minutes=4),  # stale
        make_order("4", [("A", 4)], minutes=8),  # new, takes what "1" released
    ]
    with transaction(engine) as session:
        results = intake_orders(session, channel_by_name(session, "shop"), page)
    assert [(r.external_id, r.created, r.applied, r.short_units) for r in results] == [
        ("3", True, True, 1),
        ("1", False, True, 0),
        ("2", False, False, 0),
        ("4", True, True, 0),
    ]
    assert order_row(engine, "shop", "1").status == OrderStatus.CANCELLED
    assert order_row(engine, "shop", "2").status == OrderStatus.ACCEPTED
    assert order_row(engine, "shop", "3").oversold
    assert level(engine, "A", "main") == (10, 3 + 1 + 4)
    with Session(engine) as session:
        check_ledger_invariants(session)


def test_the_same_order_twice_in_a_page_ends_as_the_later_payload(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 10)
    page = [
        make_order("1", [("A", 4)], minutes=1),
        make_order("1", [("A", 4)], status=OrderStatus.SHIPPED, minutes=2, shipped=[4]),
        make_order("1", [("A", 4)], minutes=1),  # an older read of it, later in the page
    ]
    with transaction(engine) as session:
        results = intake_orders(session, channel_by_name(session, "shop"), page)
    assert [(r.created, r.applied) for r in results] == [
        (True, True),
        (False, True),
        (False, False),
    ]
    assert len({r.order_id for r in results}) == 1
    assert order_row(engine, "shop", "1").status == OrderStatus.SHIPPED
    assert level(engine, "A", "main") == (6, 0)
    with Session(engine) as session:
        (movement,) = session.exec(
            select(StockMovement).where(StockMovement.reference == "shop:1")
        ).all()
        assert movement.delta == -4
        check_ledger_invariants(session)


def test_stock_freed_in_a_page_goes_to_an_older_waiting_order_before_a_later_one(
    engine: Engine,
) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 2)
    ingest(engine, "shop", make_order("holder", [("A", 2)], minutes=1))
    ingest(engine, "market", make_order("waiting", [("A", 2)], minutes=2))
    assert order_row(engine, "market", "waiting").oversold
    page = [
        make_order("holder", [("A", 2)], status=OrderStatus.CANCELLED, minutes=3),
        make_order("late", [("A", 2)], minutes=4),
    ]
    with transaction(engine) as session:
        results = intake_orders(session, channel_by_name(session, "shop"), page)
    assert [r.short_units for r in results] == [0, 2]
    assert not order_row(engine, "market", "waiting").oversold
    assert order_row(engine, "shop", "late").oversold
    with Session(engine) as session:
        check_ledger_invariants(session)


class _Pages(Connector):
    """Serves the pages it is given (the orders job's view of a channel), and tells
    `before_page` each time the job asks for the next one."""

    channel_type: ClassVar[str] = "pages"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.ORDERS})

    def __init__(self, pages: list[OrderPage], before_page: Callable[[int], None]) -> None:
        super().__init__(ConnectorSettings())
        self.pages = pages
        self.before_page = before_page

    def fetch_orders(self, since: object) -> Iterator[OrderPage]:
        for number, page in enumerate(self.pages):
            self.before_page(number)
            yield page


def _context(
    engine: Engine,
    pages: list[OrderPage],
    before_page: Callable[[JobContext, int], None] = lambda context, number: None,
) -> JobContext:
    with Session(engine) as session:
        channel_id = channel_by_name(session, "shop").id or 0
    context = JobContext(
        engine,
        channel_id,
        SyncChannel("shop", _Pages.channel_type, True, ConnectorSettings()),
        _Pages(pages, lambda number: before_page(context, number)),
        threading.Event(),
        threading.Event(),
    )
    return context


def _pull(engine: Engine, pages: list[OrderPage]) -> JobContext:
    context = _context(engine, pages)
    pull_orders(context)
    return context


def _pages_of(count: int, size: int) -> list[OrderPage]:
    pages = []
    for number in range(count):
        orders = tuple(
            make_order(f"{number}-{index}", [("A", 1)], minutes=number) for index in range(size)
        )
        pages.append(OrderPage(orders=orders, cursor=orders[-1].updated_at))
    return pages


def _committed(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Order)).one()


def _cursor(engine: Engine) -> datetime | None:
    with Session(engine) as session:
        return read_cursor(session, channel_by_name(session, "shop").id or 0, CursorStream.ORDERS)


def test_pages_that_come_back_to_back_are_committed_together(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 100)
    monkeypatch.setattr(orders_job, "BATCH_ORDERS", 30)
    monkeypatch.setattr(orders_job, "BATCH_SECONDS", 60.0)
    committed_when_asked: list[int] = []
    context = _context(
        engine, _pages_of(7, 10), lambda _, number: committed_when_asked.append(_committed(engine))
    )
    pull_orders(context)
    assert committed_when_asked == [0, 0, 0, 30, 30, 30, 60]
    assert (context.counts[RunCount.PAGES], context.counts[RunCount.CREATED]) == (7, 70)
    assert _cursor(engine) == T0 + timedelta(minutes=6)
    assert level(engine, "A", "main") == (100, 70)


def test_pages_that_come_slowly_are_committed_one_by_one(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 100)
    monkeypatch.setattr(orders_job, "BATCH_SECONDS", 0.0)
    committed_when_asked: list[int] = []
    context = _context(
        engine, _pages_of(4, 10), lambda _, number: committed_when_asked.append(_committed(engine))
    )
    pull_orders(context)
    assert committed_when_asked == [0, 10, 20, 30]
    assert _committed(engine) == 40


def test_a_lease_lost_while_pages_come_commits_none_of_them(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 100)

    def lose_the_lease(context: JobContext, number: int) -> None:
        if number == 2:
            context.lease_lost.set()

    with pytest.raises(LeaseLost):
        pull_orders(_context(engine, _pages_of(5, 10), lose_the_lease))
    assert _committed(engine) == 0
    assert _cursor(engine) is None
    assert level(engine, "A", "main") == (100, 0)


def test_a_stop_while_pages_come_commits_the_pages_in_hand(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 100)

    def stop(context: JobContext, number: int) -> None:
        if number == 2:
            context.stop.set()

    with pytest.raises(Cancelled):
        pull_orders(_context(engine, _pages_of(5, 10), stop))
    assert _committed(engine) == 30
    assert _cursor(engine) == T0 + timedelta(minutes=2)


def test_a_page_with_a_payload_that_could_not_be_mapped_goes_on(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 5)
    ingest(engine, "shop", make_order("1", [("A", 1)], minutes=1))
    orders = (
        make_order("1", [("A", 1)], status=OrderStatus.CANCELLED, minutes=2),
        make_order("2", [("A", 2)], minutes=3),
    )
    bad = RejectedPayload(raw='{"id": "3", "line_items": "?"}', reason="no lines", external_id="3")
    page = OrderPage(orders=orders, rejected=(bad,), cursor=orders[-1].updated_at)
    context = _pull(engine, [page, page])  # the lag window reads it again
    assert context.counts[RunCount.CREATED] == 1
    assert context.counts[RunCount.UPDATED] == 1
    assert context.counts[RunCount.DUPLICATES] == 2
    assert context.counts[RunCount.QUARANTINED] == 1
    assert level(engine, "A", "main") == (5, 2)
    with Session(engine) as session:
        (kept,) = session.exec(select(QuarantinedPayload)).all()
        assert kept.external_id == "3"
        assert session.exec(select(func.count()).select_from(Order)).one() == 2
        check_ledger_invariants(session)
