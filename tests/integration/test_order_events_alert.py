"""`order_events_missing` (core/order_events.py), on SQLite and PostgreSQL: polling that
keeps taking in order changes no event brought, with no event since, opens it; one lost
event among events that keep coming does not; an event after the unheard changes lets
the next refresh resolve it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from omnisync.core.channels import channel_by_name
from omnisync.core.clock import ManualClock
from omnisync.core.db import transaction
from omnisync.core.models import Alert, OrderEventIntake
from omnisync.core.order_events import (
    RULE_EVENTS_MISSING,
    event_taken,
    note_unheard,
    refresh_unheard_alert,
)
from omnisync.core.types import AlertState
from tests.support.world import build_world

START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
WORDS = "ORDER_CHANGE notification"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def world(clocked: Engine) -> Engine:
    build_world(clocked, channels={"amz": None}, skus=())
    return clocked


def poll(engine: Engine, *orders: str) -> None:
    """An orders run that took in `orders` unheard, then refreshed the alert."""
    with transaction(engine) as session:
        channel_id = channel_by_name(session, "amz").id
        assert channel_id is not None
        note_unheard(session, channel_id, [(order, START) for order in orders])
        refresh_unheard_alert(session, channel_id, event_words=WORDS)


def hear(engine: Engine) -> None:
    with transaction(engine) as session:
        channel_id = channel_by_name(session, "amz").id
        assert channel_id is not None
        event_taken(session, channel_id)


def alerts(engine: Engine) -> list[tuple[AlertState, str]]:
    with transaction(engine, read_only=True) as session:
        rows = session.exec(select(Alert).where(Alert.rule == RULE_EVENTS_MISSING)).all()
        return [(row.state, row.message or "") for row in rows]


def test_polling_that_keeps_finding_unheard_orders_opens_the_alert_until_an_event_comes(
    world: Engine, clock: ManualClock
) -> None:
    poll(world, "111-1")
    assert alerts(world) == []  # one change alone may be one lost message
    clock.advance(timedelta(minutes=3))
    poll(world, "111-2")
    ((state, message),) = alerts(world)
    assert state == AlertState.OPEN
    assert message.startswith(
        f"polling took in 2 order changes that no {WORDS} brought (latest: order 111-2); "
        f"last {WORDS} taken: never."
    )
    clock.advance(timedelta(minutes=1))
    hear(world)
    poll(world)
    assert [state for state, _ in alerts(world)] == [AlertState.RESOLVED]
    with transaction(world, read_only=True) as session:
        intake = session.exec(select(OrderEventIntake)).one()
    assert intake.unheard == 0
    assert intake.events_taken == 1


def test_one_lost_event_among_events_that_keep_coming_opens_nothing(
    world: Engine, clock: ManualClock
) -> None:
    for minute in range(5):
        hear(world)
        clock.advance(timedelta(minutes=1))
        poll(world, f"111-{minute}")
        clock.advance(timedelta(minutes=1))
    assert alerts(world) == []
