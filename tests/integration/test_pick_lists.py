"""Pick lists (core/picking.py) on SQLite and PostgreSQL: which orders a list takes, in
which order, how its walk is sorted, and what a short pick does to stock, reservations,
the order's oversold flag, the alert and the outbox."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import Engine, event, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from omnisync.core.alerting import RULE_PICK_SHORT
from omnisync.core.bins import set_bin
from omnisync.core.catalog import location_by_code, sku_by_code
from omnisync.core.channels import channel_by_name
from omnisync.core.clock import ManualClock
from omnisync.core.db import make_engine, transaction
from omnisync.core.errors import Conflict, InvalidRequest, NotFound
from omnisync.core.holds import hold_order
from omnisync.core.models import (
    Alert,
    Listing,
    Location,
    Order,
    OrderLine,
    PickListLine,
    Reservation,
    StockMovement,
)
from omnisync.core.picking import (
    Confirmation,
    NewPickList,
    cancel_pick_list,
    confirm_pick_list,
    create_pick_list,
    find_pick_list,
)
from omnisync.core.shipping import record_shipment
from omnisync.core.types import AlertSeverity, AlertState, MovementKind, OrderStatus, PickListState
from omnisync.hub.views.picking import pick_list_detail, pick_list_page
from omnisync.hub.views.shapes import PickListDetailOut
from omnisync.sync.alert_resolution import resolve_by_hand
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

FRUIT = ("APPLE", "BANANA", "CHERRY")
SHELVES = {"APPLE": ("Z-9", 3), "BANANA": ("A-1", 2), "CHERRY": ("M-5", 1)}
"""Bins whose picking sequence agrees neither with the SKU codes nor with the bin names:
the walk is CHERRY (1), BANANA (2), APPLE (3); by code it would be APPLE first, by bin
BANANA first."""


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0 + timedelta(days=1))


@pytest.fixture
def world(database_url: str, clock: ManualClock) -> Iterator[Engine]:
    """main and backup; "shop" and "market" sell from both; the fruit in their bins at
    main, 100 of each there, listed on shop."""
    engine = make_engine(database_url, clock=clock)
    build_world(engine, skus=(*FRUIT, "LOOSE"), bundles={"BOWL": {"APPLE": 2, "CHERRY": 1}})
    for code in FRUIT:
        set_count(engine, code, "main", 100)
    with transaction(engine) as session:
        main = location_by_code(session, "main")
        for code, (shelf, sequence) in SHELVES.items():
            set_bin(session, sku_by_code(session, code), main, shelf, sequence)
    list_sku(engine, "shop", *FRUIT)
    yield engine
    engine.dispose()


class _DeadlockVictim(Exception):
    """What psycopg raises for a transaction PostgreSQL aborted to break a deadlock."""

    sqlstate = "40P01"


def confirm_deadlocked_once(monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> list[int]:
    """Make `module`'s confirm_pick_list do all its work and then, the first time only,
    fail as a deadlock victim does; returns the list ids it was called with."""
    real: Callable[..., Confirmation] = module.confirm_pick_list
    calls: list[int] = []

    def confirm(session: Session, pick_list_id: int, shorts: Any = None) -> Confirmation:
        calls.append(pick_list_id)
        done = real(session, pick_list_id, shorts)
        if len(calls) == 1:
            raise OperationalError("SELECT ... FOR UPDATE", {}, _DeadlockVictim("deadlock"))
        return done

    monkeypatch.setattr(module, "confirm_pick_list", confirm)
    return calls


def create(engine: Engine, **options: Any) -> NewPickList:
    with transaction(engine) as session:
        return create_pick_list(session, options.pop("location", "main"), **options)


def walk(engine: Engine, pick_list_id: int) -> PickListDetailOut:
    with transaction(engine, read_only=True) as session:
        return pick_list_detail(session, find_pick_list(session, pick_list_id))


def listed_orders(engine: Engine, made: NewPickList) -> list[str]:
    """The orders on the list, in the order the list took them."""
    assert made.pick_list is not None
    with Session(engine) as session:
        rows = session.exec(
            select(Order.external_id)
            .join(PickListLine, col(PickListLine.order_id) == Order.id)
            .where(PickListLine.pick_list_id == made.pick_list.id)
            .order_by(col(PickListLine.id))
        ).all()
    return list(dict.fromkeys(rows))


def set_order(engine: Engine, external_id: str, **values: Any) -> None:
    with transaction(engine) as session:
        session.execute(update(Order).where(col(Order.external_id) == external_id).values(**values))


def test_a_pick_list_of_ten_orders_over_three_bins_walks_by_picking_sequence(
    world: Engine,
) -> None:
    wanted: dict[str, dict[str, int]] = {}
    for number in range(1, 11):
        lines = [(code, number % (index + 2) + 1) for index, code in enumerate(FRUIT)]
        ingest(world, "shop", make_order(f"10{number:02d}", lines, placed_minutes=number))
        wanted[f"10{number:02d}"] = dict(lines)

    made = create(world)

    assert made.pick_list is not None
    assert (made.orders, made.oversold_skipped) == (10, 0)
    detail = walk(world, made.pick_list.id or 0)
    assert [(row.sequence, row.bin, row.sku) for row in detail.rows] == [
        (1, "M-5", "CHERRY"),
        (2, "A-1", "BANANA"),
        (3, "Z-9", "APPLE"),
    ]
    for row in detail.rows:
        split = {item.order: item.units for item in row.orders}
        assert split == {order: units[row.sku] for order, units in wanted.items()}
        assert row.units == sum(split.values())
        assert [item.order for item in row.orders] == sorted(wanted)  # oldest first
    assert (detail.state, detail.orders, detail.location) == (PickListState.OPEN, 10, "main")
    assert detail.units == sum(sum(units.values()) for units in wanted.values())


def test_a_bundle_is_picked_as_its_components_from_their_bins(world: Engine) -> None:
    ingest(world, "shop", make_order("B1", [("BOWL", 3), ("BANANA", 1)]))

    made = create(world)

    assert made.pick_list is not None
    detail = walk(world, made.pick_list.id or 0)
    assert [(row.sku, row.bin, row.units) for row in detail.rows] == [
        ("CHERRY", "M-5", 3),
        ("BANANA", "A-1", 1),
        ("APPLE", "Z-9", 6),
    ]


def test_ship_by_dates_come_first_then_the_oldest_and_max_orders_caps_the_batch(
    world: Engine,
) -> None:
    for number in range(1, 6):
        ingest(world, "shop", make_order(f"O{number}", [("APPLE", 1)], placed_minutes=number))
    set_order(world, "O4", ship_by=T0 + timedelta(days=3))
    set_order(world, "O5", ship_by=T0 + timedelta(days=2))

    first = create(world, max_orders=3)

    assert listed_orders(world, first) == ["O5", "O4", "O1"]
    second = create(world, max_orders=3)
    assert listed_orders(world, second) == ["O2", "O3"]
    third = create(world)
    assert third.pick_list is None
    assert (third.orders, third.oversold_skipped) == (0, 0)


def test_a_list_for_one_channel_takes_only_its_orders(world: Engine) -> None:
    list_sku(world, "market", *FRUIT)
    ingest(world, "shop", make_order("S1", [("APPLE", 1)]))
    ingest(world, "market", make_order("M1", [("APPLE", 2)], placed_minutes=-5))

    made = create(world, channel="market")

    assert listed_orders(world, made) == ["M1"]
    assert made.pick_list is not None
    assert made.pick_list.channel_id is not None
    assert listed_orders(world, create(world)) == ["S1"]
    with pytest.raises(NotFound, match="unknown channel 'nowhere'"):
        create(world, channel="nowhere")
    with pytest.raises(NotFound, match="unknown location 'attic'"):
        create(world, location="attic")


def test_held_unpaid_oversold_and_channel_fulfilled_orders_are_left_out(
    world: Engine,
) -> None:
    set_count(world, "CHERRY", "main", 1)
    ingest(world, "shop", make_order("PAID", [("APPLE", 1)]))
    ingest(world, "shop", make_order("UNPAID", [("APPLE", 1)], status=OrderStatus.PENDING))
    ingest(world, "shop", make_order("HELD", [("APPLE", 1)]))
    ingest(world, "shop", make_order("FBA", [("APPLE", 1)], fulfilled_by_channel=True))
    ingest(world, "shop", make_order("SHORT", [("APPLE", 1), ("CHERRY", 2)]))
    with transaction(world) as session:
        hold_order(
            session,
            session.exec(select(Order).where(Order.external_id == "HELD")).one(),
            "fraud check",
        )
    assert order_row(world, "shop", "SHORT").oversold

    made = create(world)

    assert listed_orders(world, made) == ["PAID"]
    assert made.oversold_skipped == 1
    assert create(world).pick_list is None


def test_units_on_a_live_list_are_not_listed_again_until_it_is_cancelled(world: Engine) -> None:
    ingest(world, "shop", make_order("A1", [("APPLE", 2), ("BANANA", 1)]))
    first = create(world)
    assert first.pick_list is not None

    assert create(world).pick_list is None  # open: every unit is spoken for
    with transaction(world) as session:
        confirm_pick_list(session, first.pick_list.id or 0)
    assert create(world).pick_list is None  # picked, not shipped: still spoken for

    ingest(world, "shop", make_order("A2", [("APPLE", 1)], placed_minutes=5))
    assert listed_orders(world, second := create(world)) == ["A2"]

    with transaction(world) as session:
        cancelled = cancel_pick_list(session, first.pick_list.id or 0)
    assert cancelled.state == PickListState.CANCELLED
    again = create(world)
    assert listed_orders(world, again) == ["A1"]
    assert again.pick_list is not None
    assert walk(world, again.pick_list.id or 0).units == 3
    assert second.pick_list is not None
    with transaction(world) as session, pytest.raises(Conflict, match="cancelled already"):
        cancel_pick_list(session, first.pick_list.id or 0)


def test_units_short_or_shipped_since_a_list_are_not_counted_as_on_it(
    world: Engine, clock: ManualClock
) -> None:
    ingest(world, "shop", make_order("P1", [("APPLE", 4)]))
    first = create(world)
    assert first.pick_list is not None
    with transaction(world) as session:
        confirm_pick_list(session, first.pick_list.id or 0, {"APPLE": 2})
    assert held(world, "P1", "APPLE") == ("main", 4)  # the books had 2 more free at main

    second = create(world)  # the 2 units reserved again are picked
    assert second.pick_list is not None
    assert walk(world, second.pick_list.id or 0).units == 2
    assert create(world).pick_list is None

    clock.advance(timedelta(minutes=10))
    with transaction(world) as session:  # the 2 picked on the first list leave
        order = session.exec(select(Order).where(Order.external_id == "P1")).one()
        record_shipment(session, order, {"P1-0": 2}, carrier="ups", tracking_number="1Z1")
    assert create(world).pick_list is None  # the second list's 2 have not shipped yet

    with transaction(world) as session:
        cancel_pick_list(session, second.pick_list.id or 0)
    again = create(world)
    assert listed_orders(world, again) == ["P1"]
    assert again.pick_list is not None
    assert walk(world, again.pick_list.id or 0).units == 2


def test_nothing_to_pick_at_a_location_makes_no_list(world: Engine) -> None:
    ingest(world, "shop", make_order("X1", [("APPLE", 1)]))
    made = create(world, location="backup")
    assert made.pick_list is None
    with Session(world) as session:
        assert session.exec(select(PickListLine)).first() is None


def held(engine: Engine, external_id: str, sku: str) -> tuple[str, int]:
    """(location code, units) of the active reservation of the order's line of `sku`."""
    with Session(engine) as session:
        row = session.exec(
            select(Location.code, Reservation.quantity)
            .join(Reservation, col(Reservation.location_id) == Location.id)
            .join(OrderLine, col(OrderLine.id) == Reservation.order_line_id)
            .join(Order, col(Order.id) == OrderLine.order_id)
            .where(
                Order.external_id == external_id,
                Reservation.sku_id == sku_by_code(session, sku).id,
                Reservation.state == "active",
            )
        ).one()
        return row[0], row[1]


def short_world(engine: Engine) -> int:
    """Three orders of APPLE at main (main has exactly their 6 units), on one list."""
    set_count(engine, "APPLE", "main", 6)
    ingest(engine, "shop", make_order("OLD", [("APPLE", 2)], placed_minutes=1))
    ingest(engine, "shop", make_order("MID", [("APPLE", 2)], placed_minutes=2))
    ingest(engine, "shop", make_order("NEW", [("APPLE", 2), ("BANANA", 1)], placed_minutes=3))
    with transaction(engine) as session:  # the listings are pushed: clean again
        session.execute(update(Listing).values(dirty=False))
    made = create(engine)
    assert made.pick_list is not None
    return made.pick_list.id or 0


def dirty_listings(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return set(session.exec(select(Listing.channel_sku).where(col(Listing.dirty))).all())


def test_a_short_pick_releases_exactly_the_missing_units_and_alerts(world: Engine) -> None:
    pick_list_id = short_world(world)

    with transaction(world) as session:
        done = confirm_pick_list(session, pick_list_id, {"APPLE": 3})

    # 3 units were not there: NEW loses its 2, MID 1; OLD keeps its stock.
    assert level(world, "APPLE", "main") == (3, 3)
    assert held(world, "OLD", "APPLE") == ("main", 2)
    assert held(world, "MID", "APPLE") == ("main", 1)
    assert held(world, "NEW", "APPLE") == ("main", 0)
    assert [order_row(world, "shop", name).oversold for name in ("OLD", "MID", "NEW")] == [
        False,
        True,
        True,
    ]
    with Session(world) as session:
        check_ledger_invariants(session)
        movements = session.exec(
            select(StockMovement)
            .where(StockMovement.kind == MovementKind.PICK_SHORT)
            .order_by(col(StockMovement.id))
        ).all()
        shorts = {
            order: short
            for order, short in session.exec(
                select(Order.external_id, PickListLine.short)
                .join(Order, col(Order.id) == PickListLine.order_id)
                .where(PickListLine.sku_id == sku_by_code(session, "APPLE").id)
            )
        }
        alert = session.exec(select(Alert).where(Alert.rule == RULE_PICK_SHORT)).one()
    assert [(movement.delta, movement.reason) for movement in movements] == [
        (-2, f"not on the shelf when pick list {pick_list_id} was picked (bin Z-9, order NEW)"),
        (-1, f"not on the shelf when pick list {pick_list_id} was picked (bin Z-9, order MID)"),
    ]
    assert {movement.reference for movement in movements} == {f"pick-list:{pick_list_id}"}
    assert shorts == {"OLD": 0, "MID": 1, "NEW": 2}
    assert (alert.state, alert.severity, alert.channel_id) == (
        AlertState.OPEN,
        AlertSeverity.WARNING,
        None,
    )
    assert alert.message == (
        f"pick list {pick_list_id}: 3 unit(s) of APPLE not found in bin Z-9; "
        "orders NEW (2), MID (1)"
    )
    assert alert.details is not None
    assert (alert.details["pick_list"], alert.details["sku"], alert.details["bin"]) == (
        pick_list_id,
        "APPLE",
        "Z-9",
    )
    assert [item["order"] for item in alert.details["orders"]] == ["NEW", "MID"]
    assert dirty_listings(world) == {"APPLE"}
    assert [(short.sku, short.units) for short in done.shorts] == [("APPLE", 3)]
    assert done.pick_list.state == PickListState.PICKED
    assert done.pick_list.note == "3 of APPLE short; left oversold: NEW, MID"
    detail = walk(world, pick_list_id)
    (apple,) = [row for row in detail.rows if row.sku == "APPLE"]
    assert (apple.units, apple.short) == (6, 3)
    assert (detail.short, detail.state) == (3, PickListState.PICKED)


def test_a_short_order_takes_free_stock_at_another_location_its_channel_sells_from(
    world: Engine,
) -> None:
    pick_list_id = short_world(world)
    set_count(world, "APPLE", "backup", 5)
    with transaction(world) as session:  # the count marked them: clean again
        session.execute(update(Listing).values(dirty=False))

    with transaction(world) as session:
        done = confirm_pick_list(session, pick_list_id, {"APPLE": 2})

    assert held(world, "NEW", "APPLE") == ("backup", 2)
    new = order_row(world, "shop", "NEW")
    assert not new.oversold
    assert new.route is not None
    assert new.route["lines"] == {"NEW-0": "backup", "NEW-1": "main"}
    assert new.route["reason"].endswith(
        f"; APPLE moved to backup: short at main on pick list {pick_list_id}"
    )
    assert level(world, "APPLE", "main") == (4, 4)
    assert level(world, "APPLE", "backup") == (5, 2)
    assert [item.oversold for item in done.shorts[0].orders] == [False]
    assert dirty_listings(world) == {"APPLE"}
    with Session(world) as session:
        check_ledger_invariants(session)
        assert session.exec(select(Alert).where(Alert.rule == RULE_PICK_SHORT)).one()


def test_a_short_order_whose_route_keeps_it_whole_waits_where_it_is(world: Engine) -> None:
    pick_list_id = short_world(world)
    set_count(world, "APPLE", "backup", 5)
    route = order_row(world, "shop", "NEW").route
    assert route is not None
    set_order(world, "NEW", route={**route, "split": "never"})

    with transaction(world) as session:
        confirm_pick_list(session, pick_list_id, {"APPLE": 2})

    assert held(world, "NEW", "APPLE") == ("main", 0)
    assert order_row(world, "shop", "NEW").oversold
    assert level(world, "APPLE", "backup") == (5, 0)
    with Session(world) as session:
        check_ledger_invariants(session)


def test_a_short_beyond_the_list_or_of_a_sku_not_on_it_changes_nothing(world: Engine) -> None:
    pick_list_id = short_world(world)

    with transaction(world) as session, pytest.raises(InvalidRequest) as refused:
        confirm_pick_list(session, pick_list_id, {"APPLE": 7, "CHERRY": 1})

    assert str(refused.value) == (
        f"pick list {pick_list_id} has 6 unit(s) of APPLE: a short of 7 is more than that; "
        f"SKU 'CHERRY' is not on pick list {pick_list_id}"
    )
    assert level(world, "APPLE", "main") == (6, 6)
    assert walk(world, pick_list_id).state == PickListState.OPEN
    with transaction(world) as session:
        confirm_pick_list(session, pick_list_id, {"BANANA": 1})
    with transaction(world) as session, pytest.raises(Conflict, match="is picked"):
        confirm_pick_list(session, pick_list_id)
    with transaction(world) as session, pytest.raises(NotFound, match="no pick list 999"):
        confirm_pick_list(session, 999)


def test_shorts_on_a_channels_list_alert_on_that_channel(world: Engine) -> None:
    ingest(world, "shop", make_order("C1", [("CHERRY", 2)]))
    made = create(world, channel="shop")
    assert made.pick_list is not None

    with transaction(world) as session:
        confirm_pick_list(session, made.pick_list.id or 0, {"CHERRY": 1})

    with Session(world) as session:
        alert = session.exec(select(Alert).where(Alert.rule == RULE_PICK_SHORT)).one()
        assert alert.channel_id == channel_by_name(session, "shop").id
    assert held(world, "C1", "CHERRY") == ("main", 2)  # main had 99 more in the books


def test_the_printable_page_lists_the_walk_and_escapes_what_it_shows(world: Engine) -> None:
    with transaction(world) as session:
        sku_by_code(session, "BANANA").title = "<script>alert(1)</script> & co"
    ingest(world, "shop", make_order("<b>1</b>", [("BANANA", 1), ("APPLE", 2)]))
    made = create(world)
    assert made.pick_list is not None

    page = pick_list_page(walk(world, made.pick_list.id or 0))

    assert page.index(">BANANA<") < page.index(">APPLE<")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert "&lt;b&gt;1&lt;/b&gt; (shop): 1" in page
    assert "<script" not in page


def test_a_resolved_short_pick_alert_stays_resolved(world: Engine) -> None:
    pick_list_id = short_world(world)
    with transaction(world) as session:
        confirm_pick_list(session, pick_list_id, {"APPLE": 1})
    with transaction(world) as session:
        alert = session.exec(select(Alert).where(Alert.rule == RULE_PICK_SHORT)).one()
        resolved = resolve_by_hand(session, alert.id or 0, by="cli", note="counted the bin")
    assert resolved.outlook.opens_again is False
    assert resolved.outlook.says.startswith("it stays resolved: a short pick is a past event")


def test_units_picked_into_the_tote_stay_reserved_where_they_were_picked(world: Engine) -> None:
    pick_list_id = short_world(world)
    with transaction(world) as session:  # NEW loses its 2 (all), MID 1 of its 2
        confirm_pick_list(session, pick_list_id, {"APPLE": 3})
    assert held(world, "MID", "APPLE") == ("main", 1)

    set_count(world, "APPLE", "backup", 5)  # stock arrives where the channel sells too

    # MID's picked unit is in the tote at main: MID is not moved to backup (which would
    # free that unit at main to be sold again); it waits there for its missing unit.
    assert held(world, "MID", "APPLE") == ("main", 1)
    assert order_row(world, "shop", "MID").oversold
    assert held(world, "NEW", "APPLE") == ("backup", 2)  # shorted completely: it may move
    assert not order_row(world, "shop", "NEW").oversold
    assert level(world, "APPLE", "main") == (3, 3)
    assert level(world, "APPLE", "backup") == (5, 2)
    with Session(world) as session:
        check_ledger_invariants(session)


def test_a_bundle_line_with_components_in_the_tote_waits_where_they_were_picked(
    world: Engine,
) -> None:
    set_count(world, "CHERRY", "main", 1)
    set_count(world, "CHERRY", "backup", 5)
    ingest(world, "shop", make_order("B1", [("BOWL", 1)]))
    made = create(world)
    assert made.pick_list is not None
    assert held(world, "B1", "CHERRY") == ("main", 1)

    with transaction(world) as session:
        done = confirm_pick_list(session, made.pick_list.id or 0, {"CHERRY": 1})

    # Its 2 APPLE are in the tote at main: the bowl is not split between two locations.
    assert held(world, "B1", "APPLE") == ("main", 2)
    assert held(world, "B1", "CHERRY") == ("main", 0)
    assert level(world, "CHERRY", "backup") == (5, 0)
    assert [item.oversold for item in done.shorts[0].orders] == [True]
    route = order_row(world, "shop", "B1").route
    assert route is not None
    assert route["lines"] == {"B1-0": "main"}
    with Session(world) as session:
        check_ledger_invariants(session)


def test_confirming_locks_the_stock_once_after_the_orders(world: Engine, database_url: str) -> None:
    """On PostgreSQL, the row locks confirming takes: the list, the orders by id, then the
    levels of every shorted line's stock (a bundle's components with them) in one
    statement, then reservations; never a level after a reservation (order intake's
    order, so the two never deadlock)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite takes no row locks (BEGIN IMMEDIATE locks the database)")
    set_count(world, "CHERRY", "main", 2)
    ingest(world, "shop", make_order("K1", [("BOWL", 1)], placed_minutes=1))
    ingest(world, "shop", make_order("K2", [("BOWL", 1), ("BANANA", 1)], placed_minutes=2))
    made = create(world)
    assert made.pick_list is not None
    locks: list[str] = []

    def note_lock(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FOR UPDATE" in statement:
            locks.append(re.findall(r"\bFROM\s+(\w+)", statement)[0])

    event.listen(world, "before_cursor_execute", note_lock)
    try:
        with transaction(world) as session:
            confirm_pick_list(session, made.pick_list.id or 0, {"CHERRY": 2, "BANANA": 1})
    finally:
        event.remove(world, "before_cursor_execute", note_lock)

    assert locks[:5] == ["pick_lists", "orders", "orders", "stock_levels", "reservations"]
    assert {"pick_lists", "orders", "stock_levels"}.isdisjoint(locks[5:])  # the alerts follow
    assert held(world, "K1", "CHERRY") == ("main", 0)
    assert held(world, "K2", "BANANA") == ("main", 1)  # main had 99 more BANANA
    with Session(world) as session:
        check_ledger_invariants(session)
