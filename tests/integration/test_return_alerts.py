"""The return alerts of sync/alerts.py (SQLite and PostgreSQL), on a manual clock:
`return_waiting` (a return in transit or received and not closed past
`alert_rules.return_open_after`), `refund_failed` and `return_push_failed`, one per
channel, each resolved by the running hub's evaluation once nothing is left."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from omnisync.core.channels import channel_by_name
from omnisync.core.clock import ManualClock
from omnisync.core.db import transaction
from omnisync.core.dto import NormalisedReturn, NormalisedReturnLine
from omnisync.core.models import Alert, Order, Return, ReturnPush
from omnisync.core.return_intake import intake_return
from omnisync.core.return_state import ChannelReturns, note_refund_outcome
from omnisync.core.returns import (
    Receipt,
    close_return,
    create_return,
    receive_return,
    refund_return,
)
from omnisync.core.types import (
    AlertSeverity,
    AlertState,
    OrderStatus,
    PushState,
    RefundState,
    ReturnAction,
    ReturnDisposition,
    ReturnStatus,
)
from omnisync.hub.alerts import alert_rules
from omnisync.hub.settings import AlertRulesConfig
from omnisync.sync.alerts import (
    RULE_REFUND_FAILED,
    RULE_RETURN_PUSH_FAILED,
    RULE_RETURN_WAITING,
    AlertRules,
    Evaluation,
    evaluate_rules,
)
from tests.support.world import T0, build_world, ingest, list_sku, make_order, set_count

DAY = timedelta(days=1)
TELLS_ALL = ChannelReturns(actions=frozenset(ReturnAction))
RULES = AlertRules(return_open_after=7 * DAY)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0 + 30 * DAY)


@pytest.fixture
def world(clocked: Engine) -> Engine:
    """A (10) at main; shipped orders o1 (2 of A) and o2 (1 of A) on shop, m1 (1 of A)
    on market."""
    build_world(clocked)
    set_count(clocked, "A", "main", 10)
    list_sku(clocked, "shop", "A")
    list_sku(clocked, "market", "A")
    ingest(clocked, "shop", make_order("o1", [("A", 2)], status=OrderStatus.SHIPPED))
    ingest(clocked, "shop", make_order("o2", [("A", 1)], status=OrderStatus.SHIPPED))
    ingest(clocked, "market", make_order("m1", [("A", 1)], status=OrderStatus.SHIPPED))
    return clocked


def evaluate(engine: Engine, clock: ManualClock, secrets: tuple[str, ...] = ()) -> Evaluation:
    """The running hub's alert pass, at the clock's now."""
    now = clock.now()
    with transaction(engine) as session:
        return evaluate_rules(
            session, RULES, now, schedules={}, watching_since=now, secrets=secrets
        )


def alerts(engine: Engine, rule: str) -> list[Alert]:
    with Session(engine) as session:
        return list(session.exec(select(Alert).where(Alert.rule == rule).order_by(col(Alert.id))))


def take_in(
    engine: Engine, channel: str, order: str, external_id: str, status: ReturnStatus
) -> None:
    """The channel reports a return of one unit of the order's first line."""
    reported = NormalisedReturn(
        external_id=external_id,
        order_external_id=order,
        name=f"#{external_id}",
        status=status,
        requested_at=T0,
        updated_at=T0 + timedelta(days=1),
        lines=(
            NormalisedReturnLine(
                external_line_id=f"{external_id}-1",
                order_external_line_id=f"{order}-0",
                quantity=1,
            ),
        ),
    )
    with transaction(engine) as session:
        intake_return(session, channel_by_name(session, channel), reported, TELLS_ALL)


def made_in_hub(engine: Engine, order: str, units: int) -> None:
    with transaction(engine) as session:
        target = session.exec(select(Order).where(Order.external_id == order)).one()
        create_return(session, target, {"A": units}, ChannelReturns(), reason="too small")


def receive_one(engine: Engine, name: str) -> None:
    with transaction(engine) as session:
        ret = session.exec(select(Return).where(Return.name == name)).one()
        receipt = Receipt("A", 1, ReturnDisposition.RESTOCK)
        receive_return(session, ret, [receipt], ChannelReturns())


def close(engine: Engine, name: str) -> None:
    with transaction(engine) as session:
        close_return(session, session.exec(select(Return).where(Return.name == name)).one())


def test_a_return_waiting_past_the_threshold_is_named_and_resolved_once_closed(
    world: Engine, clock: ManualClock
) -> None:
    take_in(world, "shop", "o1", "R-1", ReturnStatus.IN_TRANSIT)  # in transit from now
    take_in(world, "shop", "o2", "R-2", ReturnStatus.REQUESTED)  # never alerted: not sent yet
    clock.advance(DAY)
    made_in_hub(world, "m1", 1)
    receive_one(world, "m1-R1")  # received in whole on market a day later
    clock.advance(6 * DAY)
    assert evaluate(world, clock).opened == []  # R-1 waited exactly 7 days: not longer

    clock.advance(timedelta(seconds=1))
    assert evaluate(world, clock).opened == [(RULE_RETURN_WAITING, "shop")]
    (alert,) = alerts(world, RULE_RETURN_WAITING)
    assert alert.message == (
        "shop: 1 return in transit or received and not closed for more than 7d; the oldest, "
        "#R-1, in_transit for 7d 1s: #R-1"
    )
    assert alert.details is not None
    assert [(item["name"], item["status"]) for item in alert.details["returns"]] == [
        ("#R-1", "in_transit")
    ]

    clock.advance(DAY)
    evaluation = evaluate(world, clock)
    assert evaluation.opened == [(RULE_RETURN_WAITING, "market")]  # counted from its receipt
    market = [a for a in alerts(world, RULE_RETURN_WAITING) if a.message.startswith("market")]
    assert "the oldest, m1-R1, received for 7d 1s: m1-R1" in market[0].message

    close(world, "#R-1")
    evaluation = evaluate(world, clock)
    assert (RULE_RETURN_WAITING, "shop") in evaluation.resolved
    assert (RULE_RETURN_WAITING, "market") not in evaluation.resolved
    close(world, "m1-R1")
    assert evaluate(world, clock).resolved == [(RULE_RETURN_WAITING, "market")]
    assert {alert.state for alert in alerts(world, RULE_RETURN_WAITING)} == {AlertState.RESOLVED}


def test_more_waiting_returns_count_as_new_evidence_and_the_oldest_few_are_named(
    world: Engine, clock: ManualClock
) -> None:
    set_count(world, "A", "main", 20)
    ingest(world, "shop", make_order("o3", [("A", 8)], status=OrderStatus.SHIPPED))
    for index in range(7):
        take_in(world, "shop", "o3", f"T-{index}", ReturnStatus.IN_TRANSIT)
        clock.advance(timedelta(hours=1))
    clock.advance(7 * DAY)
    evaluate(world, clock)
    (alert,) = alerts(world, RULE_RETURN_WAITING)
    assert alert.count == 1
    assert alert.message.endswith(": #T-0, #T-1, #T-2, #T-3, #T-4 and 2 more")
    assert alert.details is not None
    assert alert.details["count"] == 7

    evaluate(world, clock)  # the same returns: no new occurrence
    take_in(world, "shop", "o3", "T-7", ReturnStatus.IN_TRANSIT)
    clock.advance(8 * DAY)
    evaluate(world, clock)
    (alert,) = alerts(world, RULE_RETURN_WAITING)
    assert alert.count == 2
    assert "8 returns in transit or received" in alert.message


def test_the_threshold_comes_from_hub_yaml() -> None:
    assert alert_rules(AlertRulesConfig()).return_open_after == 7 * DAY
    config = AlertRulesConfig.model_validate({"return_open_after": "2d12h"})
    assert alert_rules(config).return_open_after == timedelta(days=2, hours=12)


def test_a_failed_refund_is_alerted_with_the_channels_words_until_asked_again(
    world: Engine, clock: ManualClock
) -> None:
    take_in(world, "shop", "o1", "R-1", ReturnStatus.REQUESTED)
    with transaction(world) as session:
        ret = session.exec(select(Return)).one()
        note_refund_outcome(
            ret, False, "Refund exceeds the captured amount (token s3cr3t-t0k3n)", clock.now()
        )
        session.add(ret)
    assert evaluate(world, clock, secrets=("s3cr3t-t0k3n",)).opened == [
        (RULE_REFUND_FAILED, "shop")
    ]
    (alert,) = alerts(world, RULE_REFUND_FAILED)
    assert alert.severity == AlertSeverity.CRITICAL
    assert alert.message == (
        "shop: the refund of 1 return failed: #R-1: Refund exceeds the captured amount (token ***)"
    )
    assert "s3cr3t" not in str(alert.details)

    with transaction(world) as session:  # the operator asks again: pending, not failed
        ret = refund_return(session, session.exec(select(Return)).one(), TELLS_ALL)
        assert ret.refund_state == RefundState.PENDING
    assert evaluate(world, clock).resolved == [(RULE_REFUND_FAILED, "shop")]


def test_a_refused_return_update_is_alerted_until_the_channel_takes_it(
    world: Engine, clock: ManualClock
) -> None:
    take_in(world, "shop", "o1", "R-1", ReturnStatus.REQUESTED)
    with transaction(world) as session:
        ret = session.exec(select(Return)).one()
        for action, error in (
            (ReturnAction.APPROVE, "Return is not requested"),
            (ReturnAction.PROCESS, "Location not found"),
        ):
            session.add(
                ReturnPush(
                    return_id=ret.id or 0,
                    action=action,
                    push_state=PushState.FAILED,
                    push_attempts=2,
                    push_error=error,
                    created_at=clock.now(),
                )
            )
    assert evaluate(world, clock).opened == [(RULE_RETURN_PUSH_FAILED, "shop")]
    (alert,) = alerts(world, RULE_RETURN_PUSH_FAILED)
    assert alert.message == (
        "shop refused 2 return updates: #R-1 approve: Return is not requested; "
        "#R-1 process: Location not found"
    )
    assert alert.details is not None
    assert [(item["action"], item["attempts"]) for item in alert.details["pushes"]] == [
        ("approve", 2),
        ("process", 2),
    ]

    with transaction(world) as session:
        for push in session.exec(select(ReturnPush)):
            push.push_state = PushState.PUSHED
            session.add(push)
    assert evaluate(world, clock).resolved == [(RULE_RETURN_PUSH_FAILED, "shop")]
    assert evaluate(world, clock).opened == []
