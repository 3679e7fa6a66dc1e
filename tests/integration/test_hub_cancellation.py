"""Cancelling an order in the hub, and holding it (SQLite and PostgreSQL).

A hub cancellation releases the order's stock through the path a channel's cancellation
takes, so availability rises and the listings go dirty; units that left stay shipped; a
later read of the channel (which was not told) never reserves for the order again. A
hold keeps the stock reserved and refuses shipping until it is released.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from omnisync.core.availability import available_to_sell
from omnisync.core.cancellation import cancel_in_hub
from omnisync.core.catalog import sku_by_code
from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.dto import NormalisedOrder
from omnisync.core.errors import Conflict
from omnisync.core.holds import hold_order, release_order
from omnisync.core.models import Listing, Order, Reservation
from omnisync.core.shipping import record_shipment
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
)


@pytest.fixture
def world(engine: Engine) -> Engine:
    build_world(engine, locations=("main",))
    set_count(engine, "A", "main", 10)
    set_count(engine, "B", "main", 4)
    list_sku(engine, "shop", "A", "B")
    list_sku(engine, "market", "A", "B")
    return engine


def available(engine: Engine, channel: str, sku: str) -> int:
    with Session(engine) as session:
        sku_id = sku_by_code(session, sku).id or 0
        return available_to_sell(session, channel_by_name(session, channel), [sku_id])[sku_id]


def clean_listings(engine: Engine) -> None:
    with transaction(engine) as session:
        for listing in session.exec(select(Listing)):
            listing.dirty = False
            session.add(listing)


def dirty(engine: Engine) -> set[tuple[int, str]]:
    with Session(engine) as session:
        return {
            (listing.channel_id, listing.channel_sku)
            for listing in session.exec(select(Listing).where(Listing.dirty))
        }


def cancel(engine: Engine, channel: str, external_id: str, reason: str | None = None) -> None:
    with transaction(engine) as session:
        cancel_in_hub(session, order_row(engine, channel, external_id), reason)


def test_cancelling_releases_the_reservations_and_offers_the_units_again(world: Engine) -> None:
    ingest(world, "shop", make_order("1001", [("A", 3), ("B", 1)]))
    assert level(world, "A", "main") == (10, 3)
    assert available(world, "market", "A") == 7
    clean_listings(world)

    with transaction(world) as session:
        done = cancel_in_hub(session, order_row(world, "shop", "1001"), "customer changed mind")
        assert (done.units_cancelled, done.units_shipped, done.already) == (4, 0, False)

    assert level(world, "A", "main") == (10, 0)
    assert level(world, "B", "main") == (4, 0)
    assert available(world, "market", "A") == available(world, "shop", "A") == 10
    assert {sku for _, sku in dirty(world)} == {"A", "B"}
    order = order_row(world, "shop", "1001")
    assert order.status == OrderStatus.CANCELLED
    assert order.cancelled_by_hub_at is not None
    assert order.hub_cancel_reason == "customer changed mind"
    with Session(world) as session:
        states = {row.state for row in session.exec(select(Reservation))}
        assert states == {ReservationState.RELEASED}
        check_ledger_invariants(session)


def test_a_later_read_of_the_channel_does_not_reserve_for_the_order_again(world: Engine) -> None:
    ingest(world, "shop", make_order("1001", [("A", 3)]))
    cancel(world, "shop", "1001")
    # The channel was not told: it still reports the order open, with a newer change.
    result = ingest(world, "shop", make_order("1001", [("A", 3)], minutes=5))
    assert result.applied
    assert level(world, "A", "main") == (10, 0)
    order = order_row(world, "shop", "1001")
    assert order.status == OrderStatus.CANCELLED
    assert result.short_units == 0
    assert not order.oversold
    with Session(world) as session:
        check_ledger_invariants(session)


def test_shipped_units_stay_shipped_and_only_the_rest_is_cancelled(world: Engine) -> None:
    ingest(world, "shop", make_order("1001", [("A", 3), ("B", 2)]))
    with transaction(world) as session:
        order = order_row(world, "shop", "1001")
        record_shipment(session, order, {"1001-0": 2}, carrier="UPS", tracking_number="1Z1")
    assert level(world, "A", "main") == (8, 1)

    with transaction(world) as session:
        done = cancel_in_hub(session, order_row(world, "shop", "1001"), None)
        lines = {line.external_line_id: (line.cancelled, line.shipped) for line in done.lines}
    assert lines == {"1001-0": (1, 2), "1001-1": (2, 0)}
    assert level(world, "A", "main") == (8, 0)
    assert level(world, "B", "main") == (4, 0)
    assert order_row(world, "shop", "1001").status == OrderStatus.SHIPPED


def test_cancelling_again_changes_nothing(world: Engine) -> None:
    ingest(world, "shop", make_order("1001", [("A", 3)]))
    cancel(world, "shop", "1001", "first")
    with transaction(world) as session:
        again = cancel_in_hub(session, order_row(world, "shop", "1001"), "second")
    assert again.already
    assert again.units_cancelled == 0
    assert order_row(world, "shop", "1001").hub_cancel_reason == "first"
    assert level(world, "A", "main") == (10, 0)


@pytest.mark.parametrize(
    ("order", "refusal"),
    [
        (make_order("7", [("A", 1)], status=OrderStatus.CANCELLED), "cancelled by the channel"),
        (make_order("7", [("A", 1)], status=OrderStatus.SHIPPED), "shipped units cannot"),
        (make_order("7", [("A", 1)], fulfilled_by_channel=True), "fulfilled by the channel"),
    ],
    ids=["channel-cancelled", "all-shipped", "channel-fulfilled"],
)
def test_what_cannot_be_cancelled_is_refused_and_unchanged(
    world: Engine, order: NormalisedOrder, refusal: str
) -> None:
    ingest(world, "shop", order)
    before = (order_row(world, "shop", "7").status, level(world, "A", "main"))
    with pytest.raises(Conflict, match=refusal), transaction(world) as session:
        cancel_in_hub(session, order_row(world, "shop", "7"), None)
    after = order_row(world, "shop", "7")
    assert (after.status, level(world, "A", "main")) == before
    assert after.cancelled_by_hub_at is None


def test_freed_units_go_to_an_order_waiting_for_them(world: Engine) -> None:
    ingest(world, "shop", make_order("1001", [("B", 4)]))
    ingest(world, "market", make_order("2002", [("B", 2)], minutes=1))
    assert order_row(world, "market", "2002").oversold
    cancel(world, "shop", "1001")
    assert level(world, "B", "main") == (4, 2)
    assert not order_row(world, "market", "2002").oversold
    with Session(world) as session:
        check_ledger_invariants(session)


def test_a_held_order_keeps_its_stock_and_cannot_ship_until_released(world: Engine) -> None:
    ingest(world, "shop", make_order("1001", [("A", 2)]))
    with transaction(world) as session:
        held = hold_order(session, order_row(world, "shop", "1001"), "fraud review")
        assert held.hold_reason == "fraud review"
    assert level(world, "A", "main") == (10, 2)

    with pytest.raises(Conflict, match="on hold \\(fraud review\\)"), transaction(world) as s:
        record_shipment(
            s, order_row(world, "shop", "1001"), None, carrier="UPS", tracking_number="1"
        )
    # The channel's next report leaves the hold as it is.
    ingest(world, "shop", make_order("1001", [("A", 2)], minutes=5))
    assert order_row(world, "shop", "1001").held_at is not None

    with transaction(world) as session:
        released = release_order(session, order_row(world, "shop", "1001"))
        record_shipment(session, released, None, carrier="UPS", tracking_number="1")
    assert order_row(world, "shop", "1001").status == OrderStatus.SHIPPED
    assert level(world, "A", "main") == (8, 0)


def test_holding_twice_releasing_what_is_not_held_and_holding_a_finished_order_conflict(
    world: Engine,
) -> None:
    ingest(world, "shop", make_order("1001", [("A", 1)]))
    with transaction(world) as session:
        hold_order(session, order_row(world, "shop", "1001"), None)
    with pytest.raises(Conflict, match="on hold already"), transaction(world) as session:
        hold_order(session, order_row(world, "shop", "1001"), None)
    with transaction(world) as session:
        release_order(session, order_row(world, "shop", "1001"))
    with pytest.raises(Conflict, match="not on hold"), transaction(world) as session:
        release_order(session, order_row(world, "shop", "1001"))
    cancel(world, "shop", "1001")
    with pytest.raises(Conflict, match="is cancelled"), transaction(world) as session:
        hold_order(session, order_row(world, "shop", "1001"), None)


def test_a_held_order_can_be_cancelled(world: Engine) -> None:
    ingest(world, "shop", make_order("1001", [("A", 2)]))
    with transaction(world) as session:
        hold_order(session, order_row(world, "shop", "1001"), "fraud review")
    cancel(world, "shop", "1001", "fraud confirmed")
    assert level(world, "A", "main") == (10, 0)
    with Session(world) as session:
        order = session.exec(select(Order)).one()
        assert order.status == OrderStatus.CANCELLED
