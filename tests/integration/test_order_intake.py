"""Order intake: idempotence (invariant 2), reservations (invariant 4), oversold (invariant 7)."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from omnisync.core.models import Alert, Listing, Order, OrderLine, Reservation, StockMovement
from omnisync.core.types import OrderStatus, ReservationState
from tests.support.world import (
    build_world,
    check_ledger_invariants,
    ingest,
    level,
    list_sku,
    make_order,
    order_row,
    set_count,
    snapshot,
)


def test_importing_the_same_order_twice_changes_nothing(engine: Engine) -> None:
    build_world(engine)
    list_sku(engine, "market", "A", "B")
    set_count(engine, "A", "main", 5)
    set_count(engine, "B", "main", 1)
    order = make_order("1001", [("A", 2), ("B", 3)])  # B is short: oversold
    first = ingest(engine, "shop", order)
    assert first.created
    assert first.applied
    assert first.short_units == 2
    before = snapshot(engine)
    again = ingest(engine, "shop", order)
    assert not again.created
    assert again.applied
    assert snapshot(engine) == before
    with Session(engine) as session:
        assert len(session.exec(select(Order)).all()) == 1
        check_ledger_invariants(session)


def test_a_page_imported_twice_changes_nothing(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 10)
    page = [make_order(str(n), [("A", 1)], minutes=n) for n in range(5)]
    for order in page:
        ingest(engine, "shop", order)
    before = snapshot(engine)
    for order in page:
        ingest(engine, "shop", order)
    assert snapshot(engine) == before
    assert level(engine, "A", "main") == (10, 5)


def test_an_older_update_never_overwrites_a_newer_one(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 5)
    ingest(engine, "shop", make_order("7", [("A", 2)], status=OrderStatus.CANCELLED, minutes=10))
    late = ingest(
        engine, "shop", make_order("7", [("A", 2)], status=OrderStatus.ACCEPTED, minutes=5)
    )
    assert not late.applied
    assert order_row(engine, "shop", "7").status == OrderStatus.CANCELLED
    assert level(engine, "A", "main") == (5, 0)


def test_same_external_id_on_two_channels_is_two_orders(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 5)
    ingest(engine, "shop", make_order("1", [("A", 1)]))
    ingest(engine, "market", make_order("1", [("A", 1)]))
    assert level(engine, "A", "main") == (5, 2)


def test_new_lines_reserve_cancellation_releases_and_shipping_consumes(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 10)
    ingest(engine, "shop", make_order("1", [("A", 3)], status=OrderStatus.PENDING))
    assert level(engine, "A", "main") == (10, 3)
    ingest(engine, "shop", make_order("2", [("A", 4)]))
    assert level(engine, "A", "main") == (10, 7)
    ingest(engine, "shop", make_order("1", [("A", 3)], status=OrderStatus.CANCELLED, minutes=1))
    assert level(engine, "A", "main") == (10, 4)
    ingest(engine, "shop", make_order("2", [("A", 4)], status=OrderStatus.SHIPPED, minutes=1))
    assert level(engine, "A", "main") == (6, 0)
    with Session(engine) as session:
        states = sorted(r.state for r in session.exec(select(Reservation)))
        assert states == [ReservationState.CONSUMED, ReservationState.RELEASED]
        shipment = session.exec(
            select(StockMovement).where(StockMovement.reference == "shop:2")
        ).one()
        assert shipment.delta == -4
        check_ledger_invariants(session)


def test_partial_shipment_and_partial_cancellation_of_a_line(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 10)
    ingest(engine, "shop", make_order("1", [("A", 5)]))
    ingest(
        engine,
        "shop",
        make_order("1", [("A", 5)], status=OrderStatus.PARTIALLY_SHIPPED, minutes=1, shipped=[2]),
    )
    assert level(engine, "A", "main") == (8, 3)
    ingest(
        engine,
        "shop",
        make_order(
            "1",
            [("A", 5)],
            status=OrderStatus.PARTIALLY_SHIPPED,
            minutes=2,
            shipped=[2],
            cancelled=[1],
        ),
    )
    assert level(engine, "A", "main") == (8, 2)
    ingest(
        engine,
        "shop",
        make_order("1", [("A", 5)], status=OrderStatus.SHIPPED, minutes=3, cancelled=[1]),
    )
    assert level(engine, "A", "main") == (6, 0)
    with Session(engine) as session:
        check_ledger_invariants(session)


def test_a_bundle_line_reserves_each_component(engine: Engine) -> None:
    build_world(engine, bundles={"KIT": {"A": 2, "B": 1}})
    set_count(engine, "A", "main", 10)
    set_count(engine, "B", "main", 10)
    ingest(engine, "shop", make_order("1", [("KIT", 3)]))
    assert level(engine, "A", "main") == (10, 6)
    assert level(engine, "B", "main") == (10, 3)
    ingest(engine, "shop", make_order("1", [("KIT", 3)], status=OrderStatus.SHIPPED, minutes=1))
    assert level(engine, "A", "main") == (4, 0)
    assert level(engine, "B", "main") == (7, 0)


def test_an_order_that_cannot_be_fully_reserved_is_kept_marked_oversold_and_alerted(
    engine: Engine,
) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 1)
    result = ingest(engine, "shop", make_order("9", [("A", 3)]))
    assert result.short_units == 2
    order = order_row(engine, "shop", "9")
    assert order.oversold
    assert order.oversold_at is not None
    assert level(engine, "A", "main") == (1, 1)
    with Session(engine) as session:
        (alert,) = session.exec(select(Alert)).all()
        assert alert.rule == "oversold_order"
        assert alert.channel_id == order.channel_id
        assert "9" in alert.message
        check_ledger_invariants(session)


def test_new_stock_goes_to_waiting_oversold_lines_oldest_first(engine: Engine) -> None:
    build_world(engine)
    ingest(engine, "shop", make_order("new", [("A", 2)], placed_minutes=5, minutes=5))
    ingest(engine, "market", make_order("old", [("A", 2)], placed_minutes=1, minutes=6))
    assert order_row(engine, "shop", "new").oversold
    set_count(engine, "A", "main", 3)
    assert not order_row(engine, "market", "old").oversold
    assert order_row(engine, "shop", "new").oversold
    assert level(engine, "A", "main") == (3, 3)
    set_count(engine, "A", "main", 4)
    assert not order_row(engine, "shop", "new").oversold
    with Session(engine) as session:
        check_ledger_invariants(session)


def test_stock_freed_by_a_cancellation_goes_to_a_waiting_line(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 2)
    ingest(engine, "shop", make_order("1", [("A", 2)], minutes=1))
    ingest(engine, "shop", make_order("2", [("A", 2)], minutes=2))
    assert order_row(engine, "shop", "2").oversold
    ingest(engine, "shop", make_order("1", [("A", 2)], status=OrderStatus.CANCELLED, minutes=3))
    assert not order_row(engine, "shop", "2").oversold
    assert level(engine, "A", "main") == (2, 2)


def test_reservation_prefers_the_first_location_that_has_all_of_the_line(engine: Engine) -> None:
    build_world(engine, channels={"shop": ["main", "backup"]})
    set_count(engine, "A", "main", 1)
    set_count(engine, "A", "backup", 5)
    ingest(engine, "shop", make_order("1", [("A", 1)]))
    ingest(engine, "shop", make_order("2", [("A", 3)]))
    assert level(engine, "A", "main") == (1, 1)
    assert level(engine, "A", "backup") == (5, 3)


def test_channel_fulfilled_orders_are_recorded_but_reserve_nothing(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 5)
    ingest(engine, "shop", make_order("fba", [("A", 2)], fulfilled_by_channel=True))
    ingest(
        engine,
        "shop",
        make_order(
            "fba", [("A", 2)], status=OrderStatus.SHIPPED, minutes=1, fulfilled_by_channel=True
        ),
    )
    assert level(engine, "A", "main") == (5, 0)
    assert order_row(engine, "shop", "fba").status == OrderStatus.SHIPPED


def test_unmapped_lines_are_kept_without_reservation_and_listings_map_channel_skus(
    engine: Engine,
) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 5)
    with Session(engine) as session:
        from omnisync.core.catalog import sku_by_code
        from omnisync.core.channels import channel_by_name

        session.add(
            Listing(
                channel_id=channel_by_name(session, "shop").id or 0,
                sku_id=sku_by_code(session, "A").id,
                channel_sku="SHOP-A",
            )
        )
        session.commit()
    ingest(engine, "shop", make_order("1", [("SHOP-A", 1), ("MYSTERY", 4)]))
    with Session(engine) as session:
        lines = {
            line.channel_sku: line.sku_id
            for line in session.exec(select(OrderLine).order_by(col(OrderLine.id)))
        }
    assert lines["SHOP-A"] is not None
    assert lines["MYSTERY"] is None
    assert level(engine, "A", "main") == (5, 1)
    assert not order_row(engine, "shop", "1").oversold


def test_pending_orders_without_prices_keep_prices_learned_later(engine: Engine) -> None:
    build_world(engine)
    ingest(engine, "shop", make_order("1", [("A", 1)], status=OrderStatus.PENDING, total=None))
    assert order_row(engine, "shop", "1").total is None
    ingest(engine, "shop", make_order("1", [("A", 1)], minutes=1, total="12.50"))
    assert str(order_row(engine, "shop", "1").total) == "12.50"
    ingest(engine, "shop", make_order("1", [("A", 1)], minutes=2, total=None))
    assert str(order_row(engine, "shop", "1").total) == "12.50"


def test_a_reservation_change_marks_listings_dirty(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 5)
    list_sku(engine, "market", "A")
    ingest(engine, "shop", make_order("1", [("A", 1)]))
    with Session(engine) as session:
        (listing,) = session.exec(select(Listing)).all()
        assert listing.dirty
