"""Channel health and the alert rules, on real SQLite and PostgreSQL databases."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, event, update
from sqlmodel import Session, col, select

from omnisync.core.alerting import (
    RULE_AUTH,
    RULE_BUYER_CANCEL,
    RULE_OVERSOLD,
    RULE_QUARANTINE,
    RULE_UNLINKED,
    note_buyer_cancel_request,
    open_alert,
    quarantine_payload,
)
from omnisync.core.channels import channel_by_name
from omnisync.core.clock import utcnow
from omnisync.core.db import transaction
from omnisync.core.models import Alert, Channel, Listing, Order, QuarantinedPayload, Return, Sku
from omnisync.core.types import AlertState, OrderStatus, RefundState, ReturnStatus
from omnisync.hub.views.channels import status_view
from omnisync.hub.views.shapes import json_data
from omnisync.sync.alerts import (
    RULE_CONSECUTIVE_FAILURES,
    RULE_PUSH_BACKLOG,
    RULE_REFUND_FAILED,
    RULE_STALE,
    AlertRules,
    Evaluation,
    evaluate_rules,
)
from omnisync.sync.health import channel_health, hub_health
from tests.support.runs import add_runs
from tests.support.world import build_world, ingest, list_sku, make_order, set_count

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
SCHEDULES = {"shop": {"orders": MINUTE, "stock": MINUTE}, "market": {"orders": MINUTE}}
RULES = AlertRules(consecutive_failures=3, stale_after=5, push_backlog_age=10 * MINUTE)
SECRET = "hunter2-secret-value"


def evaluate(
    engine: Engine,
    now: datetime | None = None,
    *,
    schedules: dict[str, dict[str, timedelta]] | None = None,
    watching_since: datetime | None = None,
) -> Evaluation:
    now = now or utcnow()
    with transaction(engine) as session:
        return evaluate_rules(
            session,
            RULES,
            now,
            schedules=SCHEDULES if schedules is None else schedules,
            watching_since=watching_since or now,
            secrets=[SECRET],
        )


def open_alerts(engine: Engine) -> dict[tuple[str, str | None], Alert]:
    with Session(engine) as session:
        rows = session.exec(
            select(Alert, Channel.name)
            .outerjoin(Channel, col(Channel.id) == Alert.channel_id)
            .where(Alert.state == AlertState.OPEN)
        ).all()
        return {(alert.rule, name): alert for alert, name in rows}


def channel_id(engine: Engine, name: str) -> int:
    with Session(engine) as session:
        found = channel_by_name(session, name).id
        assert found is not None
        return found


def configured_long_ago(engine: Engine) -> None:
    with transaction(engine) as session:
        session.execute(update(Channel).values(updated_at=utcnow() - timedelta(days=1)))


def test_channel_health_reads_runs_backlog_and_alerts_in_one_view(engine: Engine) -> None:
    build_world(engine)
    list_sku(engine, "shop", "A", "B")
    now = utcnow()
    add_runs(engine, "shop", "orders", ["failed", "succeeded", "failed", "cancelled", "failed"])
    add_runs(engine, "shop", "stock", ["failed", "partial", "failed"], error="HTTP 500")
    with transaction(engine) as session:
        session.execute(
            update(Listing)
            .where(col(Listing.channel_sku) == "A")
            .values(dirty=True, dirty_since=now - 3 * MINUTE)
        )
        session.execute(
            update(Listing)
            .where(col(Listing.channel_sku) == "B")
            .values(dirty=True, dirty_since=now - MINUTE)
        )
        shop = channel_by_name(session, "shop").id
        open_alert(session, "quarantined_payload", shop, "shop: a bad order")
        open_alert(session, "hub_rule", None, "something of the whole hub")

    with Session(engine) as session:
        health = hub_health(
            session, now, schedules={"shop": {"orders": MINUTE, "listings": 60 * MINUTE}}
        )
    market, shop_health = health.channels
    assert market.name == "market"
    assert market.jobs == ()
    assert market.dirty_listings == 0
    assert market.oldest_dirty_age is None
    assert market.consecutive_failures == 0
    assert shop_health.dirty_listings == 2
    assert shop_health.oldest_dirty_age == 3 * MINUTE
    orders, listings, stock = shop_health.jobs
    assert (orders.job, listings.job, stock.job) == ("orders", "listings", "stock")
    assert orders.consecutive_failures == 2  # the cancelled run neither counts nor resets
    assert orders.last_error == "TransientError: connection failed"
    assert orders.last_failure is not None
    assert orders.last_success is not None
    assert orders.last_success < orders.last_failure
    assert orders.interval == MINUTE
    assert listings.last_success is None
    assert listings.consecutive_failures == 0
    assert listings.interval == 60 * MINUTE
    assert stock.consecutive_failures == 1  # partial is a success: the channel answered
    assert stock.last_error == "HTTP 500"
    assert stock.interval is None  # not in the schedules given
    assert shop_health.consecutive_failures == 2
    assert [alert.rule for alert in shop_health.open_alerts] == ["quarantined_payload"]
    assert [alert.rule for alert in health.hub_alerts] == ["hub_rule"]
    assert health.open_alerts == 2

    view = json_data(status_view(health))
    assert view["open_alerts"] == 2
    assert [alert["rule"] for alert in view["alerts"]] == ["hub_rule"]
    shop_view = view["channels"][1]
    assert shop_view["jobs"]["orders"]["consecutive_failures"] == 2
    assert shop_view["jobs"]["listings"] == {
        "last_success": None,
        "last_failure": None,
        "last_error": None,
        "consecutive_failures": 0,
        "interval_seconds": 3600.0,
    }
    assert shop_view["oldest_dirty_age_seconds"] == 180.0
    assert shop_view["open_alerts"][0]["message"] == "shop: a bad order"

    with Session(engine) as session:
        (only,) = channel_health(session, now, names=["market"])
    assert only.name == "market"


def test_consecutive_failures_open_once_count_new_failures_and_resolve_on_success(
    engine: Engine,
) -> None:
    build_world(engine)
    add_runs(engine, "shop", "orders", ["succeeded", "failed", "failed"])
    assert evaluate(engine).opened == []

    add_runs(engine, "shop", "orders", ["failed"], error=f"AuthError: key {SECRET} refused")
    assert evaluate(engine).opened == [(RULE_CONSECUTIVE_FAILURES, "shop")]
    alert = open_alerts(engine)[(RULE_CONSECUTIVE_FAILURES, "shop")]
    assert alert.count == 1
    assert alert.message == "shop: orders failed 3 runs in a row: AuthError: key *** refused"
    assert alert.details is not None
    assert alert.details["jobs"]["orders"]["consecutive_failures"] == 3
    assert alert.details["jobs"]["orders"]["last_error"] == "AuthError: key *** refused"

    assert evaluate(engine).opened == []  # the same evidence again: not one more occurrence
    assert open_alerts(engine)[(RULE_CONSECUTIVE_FAILURES, "shop")].count == 1
    add_runs(engine, "shop", "orders", ["failed"])
    evaluate(engine)
    again = open_alerts(engine)[(RULE_CONSECUTIVE_FAILURES, "shop")]
    assert (again.id, again.count) == (alert.id, 2)

    add_runs(engine, "shop", "orders", ["succeeded"])
    assert evaluate(engine).resolved == [(RULE_CONSECUTIVE_FAILURES, "shop")]
    assert open_alerts(engine) == {}


def test_a_job_without_success_for_five_intervals_is_stale_unless_it_is_failing(
    engine: Engine,
) -> None:
    build_world(engine)
    configured_long_ago(engine)
    now = utcnow()
    add_runs(engine, "shop", "orders", ["succeeded"], ended=now - 4 * MINUTE)
    add_runs(engine, "shop", "stock", ["succeeded"], ended=now)
    add_runs(engine, "market", "orders", ["succeeded"], ended=now)
    long_ago = now - timedelta(hours=1)
    assert evaluate(engine, now, watching_since=long_ago).opened == []

    later = now + 2 * MINUTE  # six minutes since the last success of shop's orders
    assert evaluate(engine, later, watching_since=long_ago).opened == [(RULE_STALE, "shop")]
    alert = open_alerts(engine)[(RULE_STALE, "shop")]
    assert alert.message == "shop: no successful orders run for 6m (it runs every 1m)"
    assert alert.details == {
        "jobs": {
            "orders": {
                "last_success": (now - 4 * MINUTE).isoformat(),
                "interval_seconds": 60.0,
            }
        }
    }

    add_runs(engine, "shop", "orders", ["succeeded"], ended=later)
    assert evaluate(engine, later, watching_since=long_ago).resolved == [(RULE_STALE, "shop")]

    # A hub that started watching a minute ago gives every job its five intervals first.
    much_later = later + 30 * MINUTE
    assert evaluate(engine, much_later, watching_since=much_later - MINUTE).opened == []

    # A job that runs and fails is failing, not stale: consecutive_failures says so.
    add_runs(engine, "market", "orders", ["failed"], ended=much_later)
    result = evaluate(engine, much_later, watching_since=long_ago)
    assert result.opened == [(RULE_STALE, "shop")]
    add_runs(engine, "market", "orders", ["failed"] * 2, ended=much_later)
    result = evaluate(engine, much_later, watching_since=long_ago)
    assert result.opened == [(RULE_CONSECUTIVE_FAILURES, "market")]


def test_a_push_backlog_older_than_the_limit_raises_an_alert_until_pushed(engine: Engine) -> None:
    build_world(engine)
    list_sku(engine, "shop", "A")
    now = utcnow()
    with transaction(engine) as session:
        session.execute(update(Listing).values(dirty=True, dirty_since=now - 9 * MINUTE))
    assert evaluate(engine, now).opened == []
    assert evaluate(engine, now + 2 * MINUTE).opened == [(RULE_PUSH_BACKLOG, "shop")]
    alert = open_alerts(engine)[(RULE_PUSH_BACKLOG, "shop")]
    assert alert.message == "shop: 1 listing(s) wait for a stock push, the oldest for 11m"
    assert alert.details is not None
    assert alert.details["dirty_listings"] == 1
    with transaction(engine) as session:
        session.execute(update(Listing).values(dirty=False, dirty_since=None))
    assert evaluate(engine, now + 3 * MINUTE).resolved == [(RULE_PUSH_BACKLOG, "shop")]


def test_paused_disabled_and_removed_channels_are_not_watched(engine: Engine) -> None:
    build_world(engine)
    add_runs(engine, "shop", "orders", ["failed"] * 3)
    add_runs(engine, "market", "orders", ["failed"] * 3)
    evaluate(engine)
    assert set(open_alerts(engine)) == {
        (RULE_CONSECUTIVE_FAILURES, "shop"),
        (RULE_CONSECUTIVE_FAILURES, "market"),
    }
    with transaction(engine) as session:
        shop = channel_by_name(session, "shop")
        shop.paused_reason = "AuthError: refused"
        session.add(shop)
        open_alert(session, RULE_AUTH, shop.id, "shop: credentials refused")
        open_alert(session, RULE_AUTH, channel_by_name(session, "market").id, "market: refused")
    result = evaluate(engine, schedules={"shop": SCHEDULES["shop"]})  # market left the config
    assert sorted(result.resolved) == [
        (RULE_AUTH, "market"),
        (RULE_CONSECUTIVE_FAILURES, "market"),
        (RULE_CONSECUTIVE_FAILURES, "shop"),
    ]
    assert set(open_alerts(engine)) == {(RULE_AUTH, "shop")}  # the engine resolves it on success


def test_alerts_raised_elsewhere_resolve_once_their_condition_is_gone(engine: Engine) -> None:
    build_world(engine)
    shop = channel_id(engine, "shop")
    set_count(engine, "A", "main", 1)
    ingest(engine, "shop", make_order("1", [("A", 3)]))  # oversold by 2
    ingest(engine, "shop", make_order("2", [("A", 1)], placed_minutes=1, minutes=1))
    with transaction(engine) as session:
        payload = quarantine_payload(session, shop, "order", "{not json", "invalid JSON")
        note_buyer_cancel_request(session, shop, "2", ["changed my mind"])
    assert set(open_alerts(engine)) == {
        (RULE_OVERSOLD, "shop"),
        (RULE_QUARANTINE, "shop"),
        (RULE_BUYER_CANCEL, "shop"),
    }
    assert evaluate(engine).resolved == []

    ingest(engine, "shop", make_order("1", [("A", 3)], status=OrderStatus.CANCELLED, minutes=5))
    assert evaluate(engine).resolved == [(RULE_OVERSOLD, "shop")]

    with transaction(engine) as session:
        row = session.get(QuarantinedPayload, payload.id)
        assert row is not None
        row.resolved_at = utcnow()
        session.add(row)
    assert evaluate(engine).resolved == [(RULE_QUARANTINE, "shop")]

    ingest(engine, "shop", make_order("2", [("A", 1)], status=OrderStatus.CANCELLED, minutes=6))
    assert evaluate(engine).resolved == [(RULE_BUYER_CANCEL, "shop")]
    assert open_alerts(engine) == {}


def add_channels(engine: Engine, names: list[str]) -> dict[str, int]:
    """Channel rows of these names, configured a day ago; their ids by name."""
    with transaction(engine) as session:
        channels = [
            Channel(name=name, type="shopify", updated_at=utcnow() - timedelta(days=1))
            for name in names
        ]
        session.add_all(channels)
        session.flush()
        return {channel.name: channel.id for channel in channels if channel.id is not None}


def statements_of_a_pass(engine: Engine, schedules: dict[str, dict[str, timedelta]]) -> int:
    """How many statements one alert pass sends to the database."""
    statements: list[str] = []

    def note(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        evaluate(engine, schedules=schedules)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return len(statements)


def test_a_pass_sends_as_many_statements_for_fifty_channels_as_for_five(engine: Engine) -> None:
    names = [f"shop{number:02d}" for number in range(50)]
    add_channels(engine, names[:5])
    few = statements_of_a_pass(engine, {name: {"orders": MINUTE} for name in names[:4]})
    add_channels(engine, names[5:])
    many = statements_of_a_pass(engine, {name: {"orders": MINUTE} for name in names[:40]})
    assert many == few  # watched and unconfigured channels alike, nothing to alert


def test_the_alerts_of_one_channel_among_many_open_and_resolve_on_their_own(
    engine: Engine,
) -> None:
    ids = add_channels(engine, [f"shop{number:02d}" for number in range(20)])
    schedules = {name: {"orders": MINUTE} for name in ids}
    now = utcnow()
    add_runs(engine, "shop03", "orders", ["failed"] * 3)
    with transaction(engine) as session:
        sku = Sku(code="A")
        session.add(sku)
        session.flush()
        session.add(
            Listing(
                channel_id=ids["shop07"],
                sku_id=sku.id,
                channel_sku="A",
                dirty=True,
                dirty_since=now - 20 * MINUTE,
            )
        )
        session.add(Listing(channel_id=ids["shop13"], channel_sku="B", unlinked_since=now - DAY))
        order = Order(
            channel_id=ids["shop17"],
            external_id="1",
            status=OrderStatus.SHIPPED,
            placed_at=now - DAY,
            updated_at=now - DAY,
        )
        session.add(order)
        session.flush()
        session.add(
            Return(
                order_id=order.id or 0,
                channel_id=ids["shop17"],
                external_id="R-1",
                status=ReturnStatus.CLOSED,
                refund_state=RefundState.FAILED,
                refund_error="declined",
                requested_at=now - DAY,
                status_changed_at=now - DAY,
            )
        )
    raised = [
        (RULE_CONSECUTIVE_FAILURES, "shop03"),
        (RULE_PUSH_BACKLOG, "shop07"),
        (RULE_UNLINKED, "shop13"),
        (RULE_REFUND_FAILED, "shop17"),
    ]
    assert evaluate(engine, now, schedules=schedules).opened == raised
    assert evaluate(engine, now, schedules=schedules) == Evaluation()

    with transaction(engine) as session:
        session.execute(update(Listing).where(col(Listing.channel_sku) == "A").values(dirty=False))
    result = evaluate(engine, now, schedules=schedules)
    assert result == Evaluation(resolved=[(RULE_PUSH_BACKLOG, "shop07")])
    assert sorted(open_alerts(engine)) == sorted(set(raised) - set(result.resolved))

    add_runs(engine, "shop03", "orders", ["succeeded"])
    with transaction(engine) as session:
        session.execute(update(Listing).values(sku_id=sku.id, unlinked_since=None))
        session.execute(update(Return).values(refund_state=RefundState.REFUNDED))
    assert evaluate(engine, now, schedules=schedules).resolved == [
        rule for rule in raised if rule != (RULE_PUSH_BACKLOG, "shop07")
    ]
    assert open_alerts(engine) == {}
