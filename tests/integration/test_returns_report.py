"""`omnisync report returns`'s figures (hub/views/return_rates.py), SQLite and PostgreSQL,
on a world small enough to count by hand.

The clock reads T0 + 40 days and the period is 30 days, so orders placed from T0 + 10
days count. Shipped orders, and their returns:

    shop   o1  day 20  4 A, 2 B  return: 2 A (1 restocked, 1 damaged) and 1 B (asked only)
    shop   o2  day 25  6 A       return: 3 A declined (left out); return: 1 A restocked
    shop   o3  day 5   10 A      return: 5 A (before the period: left out)
    shop   o4  day 30  3 A       not shipped
    market m1  day 22  5 A and 2 GHOST (bound to no hub SKU)  return: 1 A missing

    shop   A      2 orders, 10 shipped, 3 returned, 3 back (2 restocked, 1 damaged)  0.3
    shop   B      1 order,   2 shipped, 1 returned, 0 back                           0.5
    shop          2 orders, 12 shipped, 4 returned, 3 back                  4/12 = 0.3333
    market A      1 order,   5 shipped, 1 returned, 0 back                           0.2
    market (none) 1 order,   2 shipped, 0 returned                                   0.0
    market        1 order,   7 shipped, 1 returned                           1/7 = 0.1429
    all           3 orders, 19 shipped, 5 returned, 3 back                  5/19 = 0.2632
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from omnisync.core.channels import channel_by_name
from omnisync.core.clock import ManualClock
from omnisync.core.db import transaction
from omnisync.core.dto import NormalisedReturn, NormalisedReturnLine
from omnisync.core.models import Order
from omnisync.core.return_intake import intake_return
from omnisync.core.return_state import ChannelReturns
from omnisync.core.returns import Receipt, create_return, receive_return
from omnisync.core.types import OrderStatus, ReturnDisposition, ReturnStatus
from omnisync.hub.views.return_rates import RATE_OF, returns_report
from tests.support.world import T0, build_world, ingest, list_sku, make_order, set_count

DAY = timedelta(days=1)
NOW = T0 + 40 * DAY
FIGURES = (
    "orders_shipped",
    "units_shipped",
    "units_returned",
    "units_received",
    "units_restocked",
    "units_damaged",
    "return_rate",
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


def shipped(external_id: str, day: int, lines: list[tuple[str, int]]) -> Any:
    return make_order(external_id, lines, status=OrderStatus.SHIPPED, placed_minutes=day * 24 * 60)


def made_in_hub(engine: Engine, order: str, units: dict[str, int], *receipts: Receipt) -> None:
    with transaction(engine) as session:
        target = session.exec(select(Order).where(Order.external_id == order)).one()
        ret = create_return(session, target, units, ChannelReturns(), reason="r")
        if receipts:
            receive_return(session, ret, receipts, ChannelReturns())


@pytest.fixture
def world(clocked: Engine) -> Engine:
    build_world(clocked)
    set_count(clocked, "A", "main", 50)
    set_count(clocked, "B", "main", 50)
    list_sku(clocked, "shop", "A", "B")
    list_sku(clocked, "market", "A", "B")
    ingest(clocked, "shop", shipped("o1", 20, [("A", 4), ("B", 2)]))
    ingest(clocked, "shop", shipped("o2", 25, [("A", 6)]))
    ingest(clocked, "shop", shipped("o3", 5, [("A", 10)]))
    ingest(
        clocked,
        "shop",
        make_order("o4", [("A", 3)], placed_minutes=30 * 24 * 60),
    )
    ingest(clocked, "market", shipped("m1", 22, [("A", 5), ("GHOST", 2)]))

    restock = ReturnDisposition.RESTOCK
    made_in_hub(
        clocked,
        "o1",
        {"A": 2, "B": 1},
        Receipt("A", 1, restock),
        Receipt("A", 1, ReturnDisposition.DAMAGED),
    )
    declined = NormalisedReturn(
        external_id="R-DECLINED",
        order_external_id="o2",
        status=ReturnStatus.DECLINED,
        requested_at=T0 + 26 * DAY,
        updated_at=T0 + 27 * DAY,
        lines=(
            NormalisedReturnLine(
                external_line_id="R-DECLINED-1", order_external_line_id="o2-0", quantity=3
            ),
        ),
    )
    with transaction(clocked) as session:
        intake_return(session, channel_by_name(session, "shop"), declined, ChannelReturns())
    made_in_hub(clocked, "o2", {"A": 1}, Receipt("A", 1, restock))
    made_in_hub(clocked, "o3", {"A": 5}, Receipt("A", 5, restock))
    made_in_hub(clocked, "m1", {"A": 1}, Receipt("A", 1, ReturnDisposition.MISSING))
    return clocked


def figures(row: Any) -> tuple[Any, ...]:
    return tuple(getattr(row, name) for name in FIGURES)


def test_the_figures_per_channel_and_sku_are_those_counted_by_hand(world: Engine) -> None:
    with Session(world) as session:
        report = returns_report(session, NOW - 30 * DAY, NOW)
    assert (report.since, report.until) == (
        (T0 + 10 * DAY).isoformat(),
        NOW.isoformat(),
    )
    assert report.rate_of == RATE_OF
    assert [(row.channel, row.sku, *figures(row)) for row in report.skus] == [
        ("market", "A", 1, 5, 1, 0, 0, 0, 0.2),
        ("market", None, 1, 2, 0, 0, 0, 0, 0.0),
        ("shop", "A", 2, 10, 3, 3, 2, 1, 0.3),
        ("shop", "B", 1, 2, 1, 0, 0, 0, 0.5),
    ]
    assert [(row.channel, row.sku, *figures(row)) for row in report.channels] == [
        ("market", None, 1, 7, 1, 0, 0, 0, 0.1429),
        ("shop", None, 2, 12, 4, 3, 2, 1, 0.3333),
    ]
    assert (report.total.channel, report.total.sku, *figures(report.total)) == (
        None,
        None,
        3,
        19,
        5,
        3,
        2,
        1,
        0.2632,
    )


def test_one_channel_and_a_longer_period(world: Engine) -> None:
    with Session(world) as session:
        market = returns_report(session, NOW - 30 * DAY, NOW, channel="market")
        longer = returns_report(session, NOW - 40 * DAY, NOW, channel="shop")
        empty = returns_report(session, NOW - DAY, NOW)
    assert [row.channel for row in market.channels] == ["market"]
    assert figures(market.total) == (1, 7, 1, 0, 0, 0, 0.1429)
    # o3 (placed on day 5) counts from 40 days back: 10 more shipped, 5 more returned
    assert figures(longer.total) == (3, 22, 9, 8, 7, 1, 0.4091)
    assert (empty.channels, empty.skus) == ([], [])
    assert figures(empty.total) == (0, 0, 0, 0, 0, 0, None)
