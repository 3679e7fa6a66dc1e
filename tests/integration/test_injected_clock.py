"""The hub reads the time from the clock its engine was made with (SQLite and PostgreSQL).

With a manual clock stopped at a fixed past instant, the timestamps the hub writes as an
order comes in through a sync run, is reserved, held, released and cancelled are that
instant, and advancing the clock moves them: nothing reads the wall clock behind it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from omnisync.connectors.base import Capability, Connector
from omnisync.connectors.registry import register
from omnisync.core.cancellation import cancel_in_hub
from omnisync.core.catalog import location_by_code, sku_by_code
from omnisync.core.channels import channel_by_name
from omnisync.core.clock import ManualClock, clock_of, engine_clock
from omnisync.core.db import transaction
from omnisync.core.dto import OrderPage
from omnisync.core.holds import hold_order, release_order
from omnisync.core.models import StockLevel, StockMovement, SyncLease, SyncRun
from omnisync.core.types import SyncRunStatus
from omnisync.sync.calls import RetryPolicy
from omnisync.sync.channels import SyncChannel
from omnisync.sync.engine import SyncEngine
from tests.support.world import build_world, make_order, order_row, set_count

PAST = datetime(2020, 2, 29, 12, 0, tzinfo=UTC)
"""Long before any test runs: a timestamp equal to it came from the manual clock."""


@register
class ClockedConnector(Connector):
    """Serves the orders the test puts in `pages`."""

    channel_type: ClassVar[str] = "clocked"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.ORDERS})
    pages: ClassVar[list[OrderPage]] = []

    def fetch_orders(self, since: object) -> Iterator[OrderPage]:
        yield from type(self).pages


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(PAST)


def sync_engine(engine: Engine) -> SyncEngine:
    channel = SyncChannel("shop", ClockedConnector.channel_type, True, ClockedConnector.Settings())
    return SyncEngine(engine, [channel], retry=RetryPolicy(attempts=1))


def stock_updated_at(engine: Engine, sku: str) -> datetime:
    with Session(engine) as session:
        return session.exec(
            select(StockLevel.updated_at).where(
                StockLevel.sku_id == sku_by_code(session, sku).id,
                StockLevel.location_id == location_by_code(session, "main").id,
            )
        ).one()


def test_the_timestamps_the_hub_writes_follow_the_engines_clock(
    clocked: Engine, clock: ManualClock
) -> None:
    build_world(clocked, channels={"shop": None}, locations=("main",))
    set_count(clocked, "A", "main", 10)
    assert stock_updated_at(clocked, "A") == PAST
    with Session(clocked) as session:
        assert channel_by_name(session, "shop").created_at == PAST
        assert sku_by_code(session, "A").created_at == PAST
        assert session.exec(select(StockMovement.at)).one() == PAST  # the count

    clock.advance(timedelta(minutes=1))
    ClockedConnector.pages = [OrderPage(orders=(make_order("1001", [("A", 3)]),), cursor=None)]
    sync = sync_engine(clocked)
    assert sync.clock is clock
    outcome = sync.run("shop", "orders")
    assert outcome.completed, outcome.error
    ingested = PAST + timedelta(minutes=1)
    with Session(clocked) as session:
        run = session.exec(select(SyncRun).where(SyncRun.id == outcome.run_id)).one()
        assert run.status == SyncRunStatus.SUCCEEDED
        assert run.started_at == ingested
        assert run.finished_at == ingested
        lease = session.exec(select(SyncLease)).one()
        assert lease.acquired_at == ingested
        assert lease.expires_at == ingested
    order = order_row(clocked, "shop", "1001")
    assert order.ingested_at == ingested
    assert order.modified_at == ingested
    assert stock_updated_at(clocked, "A") == ingested  # the reservation

    held = clock.advance(timedelta(hours=1))
    with transaction(clocked) as session:
        hold_order(session, order_row(clocked, "shop", "1001"), "check the address")
    order = order_row(clocked, "shop", "1001")
    assert order.held_at == held
    assert order.modified_at == held

    released = clock.advance(timedelta(hours=1))
    with transaction(clocked) as session:
        release_order(session, order_row(clocked, "shop", "1001"))
    assert order_row(clocked, "shop", "1001").modified_at == released

    cancelled = clock.advance(timedelta(days=1))
    with transaction(clocked) as session:
        cancel_in_hub(session, order_row(clocked, "shop", "1001"), "customer asked")
    order = order_row(clocked, "shop", "1001")
    assert order.cancelled_by_hub_at == cancelled
    assert order.modified_at == cancelled
    assert stock_updated_at(clocked, "A") == cancelled  # the reservation released


def test_a_sync_engine_given_a_clock_uses_it_over_the_databases(
    clocked: Engine, clock: ManualClock
) -> None:
    build_world(clocked, channels={"shop": None}, locations=("main",))
    own = ManualClock(PAST - timedelta(days=365))
    channel = SyncChannel("shop", ClockedConnector.channel_type, True, ClockedConnector.Settings())
    ClockedConnector.pages = []
    sync = SyncEngine(clocked, [channel], retry=RetryPolicy(attempts=1), clock=own)
    outcome = sync.run("shop", "orders")
    assert outcome.completed, outcome.error
    with Session(clocked) as session:
        run = session.exec(select(SyncRun).where(SyncRun.id == outcome.run_id)).one()
    assert run.started_at == own.now()
    assert run.finished_at == own.now()
    assert engine_clock(clocked) is clock


def test_every_session_on_the_engine_knows_its_clock(clocked: Engine, clock: ManualClock) -> None:
    with transaction(clocked) as session:
        assert clock_of(session) is clock
    with transaction(clocked, read_only=True) as session:
        assert clock_of(session) is clock
    with Session(clocked) as session:  # a plain session on the engine, too
        assert clock_of(session) is clock
