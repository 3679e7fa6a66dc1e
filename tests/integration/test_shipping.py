"""Shipping from the hub: reservations consumed (invariant 4), once, and nothing else moves."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from omnisync.core.availability import available_to_sell
from omnisync.core.catalog import sku_by_code
from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.errors import InvalidRequest
from omnisync.core.models import Listing, Order, OrderLine, Reservation, Shipment, StockMovement
from omnisync.core.shipping import record_shipment
from omnisync.core.types import (
    MovementKind,
    OrderStatus,
    PushState,
    ReservationState,
    ShipmentStatus,
)
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


def ship(
    engine: Engine,
    external_id: str,
    lines: Mapping[str, int] | None = None,
    *,
    channel: str = "shop",
    tracking: str = "1Z999AA10123456784",
) -> Shipment:
    with transaction(engine) as session:
        order = session.exec(
            select(Order).where(
                Order.external_id == external_id,
                Order.channel_id == channel_by_name(session, channel).id,
            )
        ).one()
        return record_shipment(
            session,
            order,
            lines,
            carrier="ups",
            tracking_number=tracking,
            tracking_url=f"https://www.ups.com/track?tracknum={tracking}",
            service="ground",
        )


def shipped_quantities(engine: Engine, external_id: str) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.exec(
            select(OrderLine)
            .join(Order, col(Order.id) == OrderLine.order_id)
            .where(Order.external_id == external_id)
        )
        return {line.external_line_id: line.quantity_shipped for line in rows}


def movements(engine: Engine) -> list[tuple[int, int, MovementKind]]:
    with Session(engine) as session:
        return [
            (row.sku_id, row.delta, row.kind)
            for row in session.exec(select(StockMovement).order_by(col(StockMovement.id)))
        ]


def availability(engine: Engine, channel: str, *skus: str) -> dict[str, int]:
    with Session(engine) as session:
        ids = {code: sku_by_code(session, code).id or 0 for code in skus}
        available = available_to_sell(session, channel_by_name(session, channel), ids.values())
        return {code: available[sku_id] for code, sku_id in ids.items()}


def check_invariants(engine: Engine) -> None:
    with Session(engine) as session:
        check_ledger_invariants(session)


def test_shipping_consumes_the_reservation(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 10)
    set_count(engine, "B", "main", 4)
    ingest(engine, "shop", make_order("1", [("A", 3), ("B", 1)]))
    assert level(engine, "A", "main") == (10, 3)
    assert level(engine, "B", "main") == (4, 1)

    shipment = ship(engine, "1")

    assert level(engine, "A", "main") == (7, 0)
    assert level(engine, "B", "main") == (3, 0)
    assert order_row(engine, "shop", "1").status == OrderStatus.SHIPPED
    assert shipped_quantities(engine, "1") == {"1-0": 3, "1-1": 1}
    assert shipment.lines == [
        {"external_line_id": "1-0", "quantity": 3},
        {"external_line_id": "1-1", "quantity": 1},
    ]
    with Session(engine) as session:
        stored = session.get(Shipment, shipment.id)
        assert stored is not None
        assert stored.push_state == PushState.PENDING
        assert stored.push_attempts == 0
        assert stored.pushed_at is None
        assert stored.status == ShipmentStatus.LABEL_CREATED
        assert (stored.carrier, stored.service) == ("ups", "ground")
        assert stored.tracking_number == "1Z999AA10123456784"
        assert stored.shipped_at is not None
        states = {row.state for row in session.exec(select(Reservation))}
        assert states == {ReservationState.CONSUMED}
    shipped = [(delta, kind) for _, delta, kind in movements(engine) if kind == "shipment"]
    assert sorted(shipped) == [(-3, MovementKind.SHIPMENT), (-1, MovementKind.SHIPMENT)]
    check_invariants(engine)


def test_a_partial_shipment_then_the_rest(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 10)
    set_count(engine, "B", "main", 10)
    ingest(engine, "shop", make_order("2", [("A", 3), ("B", 2)]))

    ship(engine, "2", {"2-0": 1})
    assert order_row(engine, "shop", "2").status == OrderStatus.PARTIALLY_SHIPPED
    assert level(engine, "A", "main") == (9, 2)
    assert level(engine, "B", "main") == (10, 2)
    check_invariants(engine)

    ship(engine, "2", {"2-0": 2, "2-1": 1}, tracking="1Z2")
    assert order_row(engine, "shop", "2").status == OrderStatus.PARTIALLY_SHIPPED
    assert level(engine, "A", "main") == (7, 0)
    assert level(engine, "B", "main") == (9, 1)
    check_invariants(engine)

    last = ship(engine, "2", tracking="1Z3")  # None: whatever is still open
    assert last.lines == [{"external_line_id": "2-1", "quantity": 1}]
    assert order_row(engine, "shop", "2").status == OrderStatus.SHIPPED
    assert level(engine, "A", "main") == (7, 0)
    assert level(engine, "B", "main") == (8, 0)
    assert shipped_quantities(engine, "2") == {"2-0": 3, "2-1": 2}
    with Session(engine) as session:
        assert len(session.exec(select(Shipment)).all()) == 3
    check_invariants(engine)


def test_the_channel_reporting_our_shipment_consumes_nothing_more(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 10)
    ingest(engine, "shop", make_order("3", [("A", 3)]))
    ship(engine, "3", {"3-0": 1})
    assert level(engine, "A", "main") == (9, 2)
    before = movements(engine)

    # The channel's pre-shipment version read again (lag window): no change to stock.
    ingest(engine, "shop", make_order("3", [("A", 3)]))
    assert level(engine, "A", "main") == (9, 2)
    # The channel learns of our partial shipment.
    ingest(
        engine,
        "shop",
        make_order("3", [("A", 3)], status=OrderStatus.PARTIALLY_SHIPPED, minutes=1, shipped=[1]),
    )
    assert level(engine, "A", "main") == (9, 2)
    assert order_row(engine, "shop", "3").status == OrderStatus.PARTIALLY_SHIPPED

    ship(engine, "3", tracking="1Z2")
    assert level(engine, "A", "main") == (7, 0)
    after_ours = movements(engine)
    assert len(after_ours) == len(before) + 1
    # The channel reports the whole order shipped, with and without line quantities.
    ingest(
        engine,
        "shop",
        make_order("3", [("A", 3)], status=OrderStatus.SHIPPED, minutes=2, shipped=[3]),
    )
    ingest(engine, "shop", make_order("3", [("A", 3)], status=OrderStatus.SHIPPED, minutes=3))
    assert level(engine, "A", "main") == (7, 0)
    assert movements(engine) == after_ours
    assert shipped_quantities(engine, "3") == {"3-0": 3}
    assert order_row(engine, "shop", "3").status == OrderStatus.SHIPPED
    check_invariants(engine)


def test_units_the_channel_shipped_beyond_ours_are_consumed_once(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 10)
    ingest(engine, "shop", make_order("4", [("A", 4)]))
    ship(engine, "4", {"4-0": 1})
    ingest(
        engine,
        "shop",
        make_order("4", [("A", 4)], status=OrderStatus.PARTIALLY_SHIPPED, minutes=1, shipped=[3]),
    )
    assert level(engine, "A", "main") == (7, 1)
    assert shipped_quantities(engine, "4") == {"4-0": 3}
    with pytest.raises(InvalidRequest, match="only 1 open"):
        ship(engine, "4", {"4-0": 2})
    ship(engine, "4", {"4-0": 1})
    assert level(engine, "A", "main") == (6, 0)
    assert order_row(engine, "shop", "4").status == OrderStatus.SHIPPED
    check_invariants(engine)


@pytest.mark.parametrize(
    ("external_id", "lines", "message"),
    [
        ("open", {"nope": 1}, "has no line 'nope'"),
        ("open", {"open-0": 3}, "3 to ship but only 2 open"),
        ("open", {"open-0": 0}, "at least 1"),
        ("open", {"open-0": -1}, "at least 1"),
        ("open", {}, "at least one line"),
        ("cancelled", None, "is cancelled"),
        ("cancelled", {"cancelled-0": 1}, "is cancelled"),
        ("done", None, "nothing left to ship"),
        ("done", {"done-0": 1}, "only 0 open"),
        ("fba", None, "fulfilled by the channel"),
        ("unbound", None, "not bound to a hub SKU"),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(
    engine: Engine, external_id: str, lines: dict[str, int] | None, message: str
) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 10)
    ingest(engine, "shop", make_order("open", [("A", 2)]))
    ingest(engine, "shop", make_order("cancelled", [("A", 1)], status=OrderStatus.CANCELLED))
    ingest(engine, "shop", make_order("done", [("A", 1)], status=OrderStatus.SHIPPED))
    ingest(engine, "shop", make_order("fba", [("A", 1)], fulfilled_by_channel=True))
    ingest(engine, "shop", make_order("unbound", [("A", 1), ("MYSTERY", 1)]))
    before = snapshot(engine)
    with transaction(engine) as session:  # commits: whatever was written before refusing stays
        order = session.exec(select(Order).where(Order.external_id == external_id)).one()
        with pytest.raises(InvalidRequest, match=message):
            record_shipment(session, order, lines, carrier="ups", tracking_number="1Z")
    assert snapshot(engine) == before


@pytest.mark.parametrize(("carrier", "tracking"), [("", "1Z"), ("ups", " ")])
def test_a_shipment_needs_a_carrier_and_a_tracking_number(
    engine: Engine, carrier: str, tracking: str
) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 10)
    ingest(engine, "shop", make_order("5", [("A", 1)]))
    with transaction(engine) as session:
        order = session.exec(select(Order)).one()
        with pytest.raises(InvalidRequest, match=r"carrier|tracking number"):
            record_shipment(session, order, None, carrier=carrier, tracking_number=tracking)
    assert level(engine, "A", "main") == (10, 1)


def test_no_other_channel_sells_less_or_more_because_of_shipping(engine: Engine) -> None:
    build_world(engine, rules={"market": {"buffer": 1}})
    list_sku(engine, "shop", "A", "B")
    list_sku(engine, "market", "A", "B")
    set_count(engine, "A", "main", 10)
    set_count(engine, "A", "backup", 5)
    set_count(engine, "B", "main", 3)
    ingest(engine, "shop", make_order("6", [("A", 4), ("B", 1)]))
    before = {name: availability(engine, name, "A", "B") for name in ("shop", "market")}
    assert before == {"shop": {"A": 11, "B": 2}, "market": {"A": 10, "B": 1}}
    with transaction(engine) as session:
        session.execute(update(Listing).values(dirty=False, dirty_since=None))

    ship(engine, "6", {"6-0": 3})
    assert {name: availability(engine, name, "A", "B") for name in ("shop", "market")} == before
    ship(engine, "6", tracking="1Z2")
    assert {name: availability(engine, name, "A", "B") for name in ("shop", "market")} == before
    assert level(engine, "A", "main") == (6, 0)
    assert level(engine, "A", "backup") == (5, 0)
    # The levels changed, so every listing is owed a look (the push finds nothing new).
    with Session(engine) as session:
        assert all(listing.dirty for listing in session.exec(select(Listing)))
    check_invariants(engine)


def test_shipping_a_bundle_consumes_its_components(engine: Engine) -> None:
    build_world(engine, skus=("A", "B"), bundles={"KIT": {"A": 2, "B": 1}})
    set_count(engine, "A", "main", 10)
    set_count(engine, "B", "main", 10)
    ingest(engine, "shop", make_order("7", [("KIT", 2), ("A", 1)]))
    assert level(engine, "A", "main") == (10, 5)
    assert level(engine, "B", "main") == (10, 2)
    ship(engine, "7", {"7-0": 1})
    assert level(engine, "A", "main") == (8, 3)
    assert level(engine, "B", "main") == (9, 1)
    ship(engine, "7", tracking="1Z2")
    assert level(engine, "A", "main") == (5, 0)
    assert level(engine, "B", "main") == (8, 0)
    check_invariants(engine)


def test_shipping_an_oversold_line_takes_what_is_on_hand(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 2)
    result = ingest(engine, "shop", make_order("8", [("A", 5)]))
    assert result.short_units == 3
    assert order_row(engine, "shop", "8").oversold

    ship(engine, "8", {"8-0": 2})
    assert level(engine, "A", "main") == (0, 0)
    assert order_row(engine, "shop", "8").oversold  # three units still wait for stock
    set_count(engine, "A", "main", 1)
    assert level(engine, "A", "main") == (1, 1)
    check_invariants(engine)

    # The operator's word that units left is final, even beyond the books.
    ship(engine, "8", tracking="1Z2")
    assert level(engine, "A", "main") == (0, 0)
    row = order_row(engine, "shop", "8")
    assert row.status == OrderStatus.SHIPPED
    assert not row.oversold
    check_invariants(engine)


def test_a_delivered_order_stays_delivered(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 10)
    ingest(
        engine,
        "shop",
        make_order("9", [("A", 3)], status=OrderStatus.DELIVERED, shipped=[1]),
    )
    ship(engine, "9")
    assert order_row(engine, "shop", "9").status == OrderStatus.DELIVERED
    assert shipped_quantities(engine, "9") == {"9-0": 3}
    assert level(engine, "A", "main") == (7, 0)
    check_invariants(engine)


def test_shipping_reads_the_order_as_committed_not_as_the_caller_loaded_it(
    engine: Engine,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite writers never overlap: the second one waits for the first")
    build_world(engine)
    set_count(engine, "A", "main", 10)
    ingest(engine, "shop", make_order("10", [("A", 2)]))
    with transaction(engine) as session:
        stale = session.exec(select(Order)).one()
        stale_lines = session.exec(select(OrderLine)).all()  # held: they stay in the session
        assert [line.quantity_shipped for line in stale_lines] == [0]
        # Meanwhile the channel reports the order shipped, in another transaction.
        ingest(engine, "shop", make_order("10", [("A", 2)], status=OrderStatus.SHIPPED, minutes=1))
        with pytest.raises(InvalidRequest, match="nothing left to ship"):
            record_shipment(session, stale, None, carrier="ups", tracking_number="1Z")
    assert level(engine, "A", "main") == (8, 0)
    check_invariants(engine)


def test_a_channel_reread_made_before_our_shipment_does_not_undo_the_shipped_status(
    engine: Engine,
) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 5)
    order = make_order("re-read", [("A", 2)])
    ingest(engine, "shop", order)
    with transaction(engine) as session:
        row = session.exec(select(Order).where(Order.external_id == "re-read")).one()
        record_shipment(session, row, None, carrier="ups", tracking_number="1Z-REREAD")
    ingest(engine, "shop", order)  # the lag window reads the pre-shipment version again
    assert order_row(engine, "shop", "re-read").status == OrderStatus.SHIPPED
    assert level(engine, "A", "main") == (3, 0)
