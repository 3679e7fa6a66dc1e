"""Reservations under concurrent writers: the last units go to exactly as many orders as exist."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from omnisync.core.channels import channel_by_name
from omnisync.core.db import run_in_transaction
from omnisync.core.models import Alert, Order
from omnisync.core.order_intake import IntakeResult, upsert_order
from omnisync.core.types import AlertState
from tests.support.world import build_world, check_ledger_invariants, level, make_order, set_count

BUYERS = 20
UNITS = 5


def test_twenty_buyers_race_for_the_last_five_units(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", UNITS)
    start = threading.Barrier(BUYERS)

    def buy(number: int) -> IntakeResult:
        order = make_order(f"race-{number}", [("A", 1)], minutes=number)
        start.wait()
        return run_in_transaction(
            engine, lambda session: upsert_order(session, channel_by_name(session, "shop"), order)
        )

    with ThreadPoolExecutor(BUYERS) as pool:
        results = list(pool.map(buy, range(BUYERS)))

    assert sorted(result.short_units for result in results) == [0] * UNITS + [1] * (BUYERS - UNITS)
    assert level(engine, "A", "main") == (UNITS, UNITS)
    with Session(engine) as session:
        orders = session.exec(select(Order)).all()
        assert len(orders) == BUYERS
        assert sum(1 for order in orders if order.oversold) == BUYERS - UNITS
        open_alerts = session.exec(select(Alert).where(col(Alert.state) == AlertState.OPEN)).all()
        assert len(open_alerts) == 1  # one alert per (rule, channel), counted
        assert open_alerts[0].count == BUYERS - UNITS
        check_ledger_invariants(session)
