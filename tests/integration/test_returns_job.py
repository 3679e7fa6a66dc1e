"""The returns job: the outbox of what channels are told (once per push, failures kept on
the push and on the refund, retried after a backoff), and the channel's returns read by
cursor, one the hub cannot place quarantined while the rest of the page goes on."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import ClassVar

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from omnisync.connectors.base import Capability, Connector, ConnectorSettings
from omnisync.core.channels import channel_by_name
from omnisync.core.clock import ManualClock
from omnisync.core.db import transaction
from omnisync.core.dto import (
    QUARANTINED_UNMATCHED_RETURN,
    NormalisedReturn,
    NormalisedReturnLine,
    PushResult,
    ReturnPage,
    ReturnUpdate,
)
from omnisync.core.models import Channel, Listing, QuarantinedPayload, Return, ReturnPush
from omnisync.core.returns import Receipt, receive_return
from omnisync.core.types import (
    OrderStatus,
    PushState,
    RefundState,
    ReturnAction,
    ReturnDisposition,
    ReturnStatus,
)
from omnisync.sync.channels import SyncChannel
from omnisync.sync.cursors import CursorStream, read_cursor
from omnisync.sync.jobs.context import JobContext
from omnisync.sync.jobs.counts import RunCount
from omnisync.sync.jobs.returns import sync_returns
from omnisync.sync.returns import channel_returns
from tests.support.world import T0, build_world, ingest, list_sku, make_order, set_count


class _Returns(Connector):
    """A channel that reports the returns it is given and answers pushes as scripted."""

    channel_type: ClassVar[str] = "returns-test"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.RETURNS})
    return_actions: ClassVar[frozenset[ReturnAction]] = frozenset(ReturnAction)

    def __init__(self) -> None:
        super().__init__(ConnectorSettings())
        self.pages: list[ReturnPage] = []
        self.asked_since: list[datetime | None] = []
        self.told: list[ReturnUpdate] = []
        self.answers: list[PushResult] = []

    def fetch_returns(self, since: datetime | None) -> Iterator[ReturnPage]:
        self.asked_since.append(since)
        yield from self.pages

    def push_return(self, update: ReturnUpdate) -> PushResult:
        self.told.append(update)
        if self.answers:
            return self.answers.pop(0)
        return PushResult(key=update.return_external_id, ok=True)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0 + timedelta(days=1))


@pytest.fixture
def world(clocked: Engine) -> Engine:
    build_world(clocked)
    set_count(clocked, "A", "main", 5)
    ingest(clocked, "shop", make_order("o1", [("A", 3)], status=OrderStatus.SHIPPED, minutes=1))
    return clocked


def _reported(external_id: str, order: str, status: ReturnStatus, minutes: int) -> NormalisedReturn:
    return NormalisedReturn(
        external_id=external_id,
        order_external_id=order,
        status=status,
        requested_at=T0 + timedelta(minutes=minutes),
        updated_at=T0 + timedelta(minutes=minutes),
        lines=(
            NormalisedReturnLine(
                external_line_id=f"{external_id}-L", order_external_line_id=f"{order}-0", quantity=2
            ),
        ),
    )


def _run(engine: Engine, connector: _Returns, clock: ManualClock) -> JobContext:
    with Session(engine) as session:
        channel_id = channel_by_name(session, "shop").id or 0
    context = JobContext(
        engine,
        channel_id,
        SyncChannel("shop", _Returns.channel_type, True, ConnectorSettings()),
        connector,
        threading.Event(),
        threading.Event(),
        clock=clock,
    )
    sync_returns(context)
    return context


def _pushes(engine: Engine) -> list[ReturnPush]:
    with Session(engine) as session:
        return list(session.exec(select(ReturnPush).order_by(col(ReturnPush.id))))


def test_returns_are_read_by_cursor_and_an_unplaced_one_is_quarantined(
    world: Engine, clock: ManualClock
) -> None:
    connector = _Returns()
    connector.pages = [
        ReturnPage(
            returns=(
                _reported("R-9", "o9", ReturnStatus.REQUESTED, 10),  # order not in the hub
                _reported("R-1", "o1", ReturnStatus.REQUESTED, 11),
            ),
            cursor=T0 + timedelta(minutes=11),
        )
    ]
    first = _run(world, connector, clock)
    assert (first.counts[RunCount.CREATED], first.counts[RunCount.QUARANTINED]) == (1, 1)
    second = _run(world, connector, clock)  # the same page again: nothing new
    assert (second.counts[RunCount.STALE], second.counts[RunCount.QUARANTINED]) == (1, 0)
    assert connector.asked_since[0] is not None
    assert connector.asked_since[1] == T0 + timedelta(minutes=11) - timedelta(minutes=2)
    with Session(world) as session:
        assert [r.external_id for r in session.exec(select(Return))] == ["R-1"]
        kept = session.exec(select(QuarantinedPayload)).one()
        assert (kept.kind, kept.external_id) == (QUARANTINED_UNMATCHED_RETURN, "R-9")
        assert "order o9 is not in the hub" in kept.reason
        assert NormalisedReturn.model_validate_json(kept.raw).order_external_id == "o9"
        cursor = read_cursor(
            session, channel_by_name(session, "shop").id or 0, CursorStream.RETURNS
        )
        assert cursor == T0 + timedelta(minutes=11)


def test_the_channel_is_told_once_and_a_refused_refund_is_kept_and_retried(
    world: Engine, clock: ManualClock
) -> None:
    connector = _Returns()
    connector.pages = [ReturnPage(returns=(_reported("R-1", "o1", ReturnStatus.REQUESTED, 11),))]
    _run(world, connector, clock)
    taken = channel_returns(connector)
    with transaction(world) as session:
        ret = session.exec(select(Return)).one()
        receive_return(
            session,
            ret,
            [
                Receipt("A", 1, ReturnDisposition.RESTOCK),
                Receipt("A", 1, ReturnDisposition.DAMAGED),
            ],
            taken,
            refund=True,
        )
    connector.pages = []
    connector.answers = [
        PushResult(key="R-1", ok=True),
        PushResult(key="R-1", ok=False, error="Refund amount exceeds the order's balance"),
    ]
    run = _run(world, connector, clock)
    assert (run.counts[RunCount.PUSHED], run.counts[RunCount.FAILED]) == (1, 1)
    approve, process = connector.told
    assert approve.action == ReturnAction.APPROVE
    assert (process.action, process.refund, process.order_external_id) == (
        ReturnAction.PROCESS,
        True,
        "o1",
    )
    assert [(line.disposition, line.quantity, line.location) for line in process.lines] == [
        (ReturnDisposition.RESTOCK, 1, "main"),
        (ReturnDisposition.DAMAGED, 1, None),
    ]
    assert approve.idempotency_key != process.idempotency_key
    with Session(world) as session:
        ret = session.exec(select(Return)).one()
        assert ret.refund_state == RefundState.FAILED
        assert ret.refund_error == "Refund amount exceeds the order's balance"
    failed = _pushes(world)[1]
    assert (failed.push_state, failed.push_attempts) == (PushState.FAILED, 1)
    assert failed.next_push_at == clock.now() + timedelta(seconds=30)

    connector.told.clear()
    _run(world, connector, clock)  # not due yet: nothing is sent
    assert connector.told == []
    clock.advance(timedelta(seconds=30))
    _run(world, connector, clock)
    assert [update.idempotency_key for update in connector.told] == [process.idempotency_key]
    with Session(world) as session:
        assert session.exec(select(Return)).one().refund_state == RefundState.REFUNDED
    assert [push.push_state for push in _pushes(world)] == [PushState.PUSHED, PushState.PUSHED]


def test_a_restock_the_channel_took_sends_the_hubs_figure_to_it_again(
    world: Engine, clock: ManualClock
) -> None:
    """Shopify raises its own quantity for RESTOCKED units: the hub, which counted them
    at receipt, pushes its figure to that channel again."""
    list_sku(world, "shop", "A")
    list_sku(world, "market", "A")
    connector = _Returns()
    connector.pages = [ReturnPage(returns=(_reported("R-1", "o1", ReturnStatus.APPROVED, 11),))]
    _run(world, connector, clock)
    with transaction(world) as session:
        ret = session.exec(select(Return)).one()
        receive_return(
            session, ret, [Receipt("A", 1, ReturnDisposition.RESTOCK)], channel_returns(connector)
        )
    with transaction(world) as session:  # both channels took the receipt's figure
        for listing in session.exec(select(Listing)):
            listing.dirty = False
            session.add(listing)
    connector.pages = []
    _run(world, connector, clock)
    with Session(world) as session:
        dirty = {
            channel.name: listing.dirty
            for listing, channel in session.exec(
                select(Listing, Channel).join(Channel, col(Channel.id) == Listing.channel_id)
            )
        }
    assert dirty == {"shop": True, "market": False}
