"""A channel with a daily revision limit per listing (eBay: 250): the stock job counts
each listing's revisions per UTC day, coalesces its pushes near the limit, keeps the last
revisions for a sell-out, holds the listing at the limit (dirty, never sent to be
refused) and catches up with the latest quantity the next day. The limit here is 10:
coalescing from 8, one revision reserved for a sell-out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from omnisync.connectors.base import Capability, Connector
from omnisync.connectors.registry import register
from omnisync.core.alerting import RULE_REVISION_CAP
from omnisync.core.clock import ManualClock, engine_clock
from omnisync.core.dto import PushResult, StockUpdate
from omnisync.core.models import Alert, Listing
from omnisync.core.types import AlertSeverity, AlertState
from omnisync.sync.alerts import AlertRules, evaluate_rules
from omnisync.sync.calls import RetryPolicy
from omnisync.sync.channels import SyncChannel
from omnisync.sync.engine import SyncEngine
from omnisync.sync.jobs.counts import RunCount
from tests.support.recording_push import RecordingPushes
from tests.support.world import build_world, list_sku, set_count

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@register
class CappedConnector(RecordingPushes, Connector):
    """Takes every quantity, and remembers each; `refuse_for_limit` refuses them all as a
    channel whose listing was revised elsewhere too would."""

    channel_type: ClassVar[str] = "capped"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.STOCK})
    daily_revision_limit: ClassVar[int | None] = 10
    refuse_for_limit: ClassVar[bool] = False

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[PushResult]:
        if type(self).refuse_for_limit:
            return [
                PushResult(key=u.channel_sku, ok=False, error="limit", daily_limit_reached=True)
                for u in updates
            ]
        return super().push_stock(updates)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOON)


@pytest.fixture
def sync(clocked: Engine) -> SyncEngine:
    CappedConnector.pushed = []
    CappedConnector.refuse_for_limit = False
    build_world(clocked, channels={"bay": None}, skus=("MUG",))
    list_sku(clocked, "bay", "MUG")
    set_count(clocked, "MUG", "main", 100)
    channel = SyncChannel("bay", CappedConnector.channel_type, True, CappedConnector.Settings())
    return SyncEngine(clocked, [channel], retry=RetryPolicy(attempts=1))


def listing(engine: Engine) -> Listing:
    with Session(engine) as session:
        return session.exec(select(Listing).where(Listing.channel_sku == "MUG")).one()


def alert_state(engine: Engine) -> AlertState | None:
    with Session(engine) as session:
        rows = session.exec(
            select(Alert).where(Alert.rule == RULE_REVISION_CAP).order_by(Alert.id)  # type: ignore[arg-type]
        ).all()
        if not rows:
            return None
        assert rows[-1].severity == AlertSeverity.WARNING
        return rows[-1].state


def evaluate(engine: Engine, now: datetime) -> None:
    with Session(engine) as session, session.begin():
        evaluate_rules(session, AlertRules(), now, schedules={"bay": {}}, watching_since=now)


def change_and_push(sync: SyncEngine, engine: Engine, quantity: int) -> int:
    """Set the count to `quantity`, a second later run the stock job (a run's lease ends
    at the moment it finishes); how many listings it held."""
    set_count(engine, "MUG", "main", quantity)
    clock = engine_clock(engine)
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(seconds=1))
    outcome = sync.run("bay", "stock")
    assert outcome.status == "succeeded", outcome.error
    return outcome.counts.get(RunCount.HELD, 0)


def test_pushes_go_at_once_below_the_threshold_then_coalesce_and_keep_a_sell_out(
    sync: SyncEngine, clocked: Engine, clock: ManualClock
) -> None:
    for quantity in range(99, 91, -1):  # eight revisions: up to the threshold
        clock.advance(timedelta(seconds=5))
        assert change_and_push(sync, clocked, quantity) == 0
    assert [q for _, q in CappedConnector.pushed] == list(range(99, 91, -1))
    assert listing(clocked).revisions == 8
    assert listing(clocked).push_note is None
    assert alert_state(clocked) is None

    # The ninth change comes 5 s after the last push: coalesced, not sent, still dirty.
    clock.advance(timedelta(seconds=5))
    assert change_and_push(sync, clocked, 91) == 1
    held = listing(clocked)
    assert CappedConnector.pushed[-1] == ("MUG", 92)
    assert held.dirty
    assert held.held_until is not None
    assert held.held_until > clock.now()
    assert held.push_note is not None
    assert "coalescing: 8 of 10" in held.push_note
    assert alert_state(clocked) == AlertState.OPEN

    # A sell-out goes at once, from the reserve.
    clock.advance(timedelta(seconds=5))
    assert change_and_push(sync, clocked, 0) == 0
    assert CappedConnector.pushed[-1] == ("MUG", 0)
    assert listing(clocked).revisions == 9

    # Only the reserve is left: a restock waits for the next day, latest quantity then.
    clock.advance(timedelta(minutes=30))
    assert change_and_push(sync, clocked, 40) == 1
    assert change_and_push(sync, clocked, 35) == 1
    assert CappedConnector.pushed[-1] == ("MUG", 0)
    waiting = listing(clocked)
    assert waiting.held_until == datetime(2026, 3, 11, tzinfo=UTC)
    assert waiting.push_note is not None
    assert "9 of 10" in waiting.push_note

    clock.set(datetime(2026, 3, 11, 0, 0, 1, tzinfo=UTC))
    outcome = sync.run("bay", "stock")
    assert outcome.status == "succeeded"
    assert CappedConnector.pushed[-1] == ("MUG", 35)
    caught_up = listing(clocked)
    assert (caught_up.revisions, caught_up.revision_day) == (1, clock.now().date())
    assert caught_up.push_note is None
    assert caught_up.held_until is None
    assert not caught_up.dirty
    evaluate(clocked, clock.now())
    assert alert_state(clocked) == AlertState.RESOLVED


def test_a_coalesced_listing_goes_again_once_its_interval_has_passed(
    sync: SyncEngine, clocked: Engine, clock: ManualClock
) -> None:
    for quantity in range(99, 91, -1):
        assert change_and_push(sync, clocked, quantity) == 0
    last_push = listing(clocked).last_ack_at
    assert change_and_push(sync, clocked, 91) == 1
    held_until = listing(clocked).held_until
    assert held_until is not None
    assert last_push is not None
    # One revision left to spend before the reserve: the rest of the day in two slices.
    assert held_until == last_push + (datetime(2026, 3, 11, tzinfo=UTC) - last_push) / 2
    clock.set(held_until - timedelta(seconds=2))
    assert change_and_push(sync, clocked, 90) == 1  # still inside the interval
    assert CappedConnector.pushed[-1] == ("MUG", 92)
    clock.set(held_until)
    assert change_and_push(sync, clocked, 89) == 0  # the latest quantity, once
    assert CappedConnector.pushed[-1] == ("MUG", 89)
    assert len(CappedConnector.pushed) == 9


def test_a_refusal_for_the_limit_holds_until_the_next_day_and_is_no_failure(
    sync: SyncEngine, clocked: Engine, clock: ManualClock
) -> None:
    CappedConnector.refuse_for_limit = True
    set_count(clocked, "MUG", "main", 50)
    outcome = sync.run("bay", "stock")
    assert outcome.status == "succeeded"
    assert outcome.counts.get(RunCount.FAILED, 0) == 0
    refused = listing(clocked)
    assert refused.dirty
    assert refused.attempts == 0
    assert refused.held_until == datetime(2026, 3, 11, tzinfo=UTC)
    assert refused.revisions == 10
    assert alert_state(clocked) == AlertState.OPEN
    # Nothing more is tried today.
    CappedConnector.refuse_for_limit = False
    assert change_and_push(sync, clocked, 49) == 1
    assert CappedConnector.pushed == []
    clock.set(datetime(2026, 3, 11, 8, 0, tzinfo=UTC))
    assert sync.run("bay", "stock").status == "succeeded"
    assert CappedConnector.pushed == [("MUG", 49)]


def test_reconcile_pushes_every_listing_and_counts_no_revision_for_the_same_figure(
    sync: SyncEngine, clocked: Engine
) -> None:
    """The channel sold a unit itself (shows 59) and one came back elsewhere: the hub's
    figure is what it last pushed, and only a push puts it on the channel again."""
    assert change_and_push(sync, clocked, 60) == 0
    assert CappedConnector.pushed == [("MUG", 60)]
    engine_clock(clocked).advance(timedelta(seconds=1))  # type: ignore[attr-defined]
    assert sync.run("bay", "reconcile").status == "succeeded"
    assert CappedConnector.pushed == [("MUG", 60), ("MUG", 60)]
    assert listing(clocked).revisions == 1
