"""An operator resolves an alert by hand (sync/alert_resolution.py), on SQLite and PostgreSQL.

The resolve records who and why, and says what the alert's rule does next. One whose
condition still holds opens again as a new row: on the alert pass (sync/alerts.py
evaluate_rules) for the alerts raised where the problem is found and auth_failure,
as the watching rules would anyway, on the tracking job's next run for
tracking_unknown. A carrier_exception stays resolved: a returned parcel is final, and
only a parcel that enters trouble afterwards opens a new alert, through the tracking
job. Notifiers hear `resolved` of the resolved row once and `open` of the new one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

import tests.support.fake_connector  # noqa: F401  (registers type "fake")
from omnisync.core.alerting import RULE_AUTH, RULE_OVERSOLD, RULE_QUARANTINE, quarantine_payload
from omnisync.core.catalog import upsert_sku
from omnisync.core.channels import channel_by_name, pause_channel
from omnisync.core.clock import utcnow
from omnisync.core.db import transaction
from omnisync.core.dto import TrackingInfo
from omnisync.core.errors import Conflict, NotFound
from omnisync.core.models import Alert
from omnisync.core.quarantine import resolve_payload
from omnisync.core.tracking import RULE_CARRIER_EXCEPTION, RULE_TRACKING_UNKNOWN
from omnisync.core.types import AlertState, OrderStatus, ShipmentStatus
from omnisync.hub.bootstrap import Hub
from omnisync.hub.shipping import ShipRequest, ship_order
from omnisync.sync.alert_resolution import HandResolution, resolve_by_hand
from omnisync.sync.alerts import RULE_CONSECUTIVE_FAILURES, AlertMonitor, AlertRules
from omnisync.sync.engine import SyncEngine
from omnisync.sync.notify import NotificationState
from tests.integration.test_alert_dispatch import Recorder, dispatcher
from tests.integration.test_alert_rules import evaluate
from tests.integration.test_tracking import ship, track, unknown
from tests.support.fake_carrier import FakeCarrier  # registers type "fake_carrier"
from tests.support.hub_setup import engine_for, open_test_hub, write_config
from tests.support.runs import add_runs
from tests.support.world import build_world, ingest, list_sku, make_order, set_count

STILL_OVERSOLD = (
    "its condition still holds (1 oversold order), "
    "so the running hub will open it again on its next evaluation"
)


def alerts(engine: Engine, rule: str) -> list[Alert]:
    with Session(engine) as session:
        return list(session.exec(select(Alert).where(Alert.rule == rule).order_by(col(Alert.id))))


def open_alert_id(engine: Engine, rule: str) -> int:
    (alert,) = [row for row in alerts(engine, rule) if row.state == AlertState.OPEN]
    assert alert.id is not None
    return alert.id


def resolve(
    engine: Engine, alert_id: int, *, by: str = "alice", note: str | None = None
) -> HandResolution:
    with transaction(engine) as session:
        return resolve_by_hand(session, alert_id, by=by, note=note)


def oversell(engine: Engine, external_id: str = "1") -> None:
    """Order `external_id` of shop wants 3 of A; 1 is on hand: oversold_order opens."""
    set_count(engine, "A", "main", 1)
    ingest(engine, "shop", make_order(external_id, [("A", 3)]))


def cancel(engine: Engine, external_id: str = "1") -> None:
    cancelled = make_order(external_id, [("A", 3)], status=OrderStatus.CANCELLED, minutes=5)
    ingest(engine, "shop", cancelled)


def test_an_alert_resolved_while_its_condition_holds_opens_again_as_a_new_alert(
    engine: Engine,
) -> None:
    build_world(engine)
    oversell(engine)
    first = open_alert_id(engine, RULE_OVERSOLD)

    resolution = resolve(engine, first, note="refunding the buyer")
    assert resolution.channel == "shop"
    assert resolution.outlook.opens_again is True
    assert resolution.outlook.says == STILL_OVERSOLD
    (resolved,) = alerts(engine, RULE_OVERSOLD)
    assert resolved.state == AlertState.RESOLVED
    assert (resolved.resolved_by, resolved.resolution_note) == ("alice", "refunding the buyer")
    assert resolved.resolved_at is not None

    assert evaluate(engine).opened == [(RULE_OVERSOLD, "shop")]
    old, new = alerts(engine, RULE_OVERSOLD)
    assert (old.id, old.state, old.resolved_by) == (first, AlertState.RESOLVED, "alice")
    assert new.state == AlertState.OPEN
    assert (new.message, new.details, new.count) == (old.message, old.details, 1)
    assert new.resolved_by is None
    assert evaluate(engine).opened == []  # once: the last row is open now
    assert len(alerts(engine, RULE_OVERSOLD)) == 2


def test_an_alert_resolved_once_its_condition_is_gone_stays_resolved(engine: Engine) -> None:
    build_world(engine)
    oversell(engine)
    alert_id = open_alert_id(engine, RULE_OVERSOLD)
    cancel(engine)

    outlook = resolve(engine, alert_id).outlook
    assert (outlook.opens_again, outlook.says) == (False, "its condition no longer holds")
    assert evaluate(engine).opened == []
    assert [row.state for row in alerts(engine, RULE_OVERSOLD)] == [AlertState.RESOLVED]


def test_a_new_oversell_after_a_resolve_opens_one_alert_not_two(engine: Engine) -> None:
    build_world(engine)
    oversell(engine, "1")
    resolve(engine, open_alert_id(engine, RULE_OVERSOLD))
    oversell(engine, "2")  # raised where it is found: the resolved row is not the last any more
    assert evaluate(engine).opened == []
    assert [row.state for row in alerts(engine, RULE_OVERSOLD)] == [
        AlertState.RESOLVED,
        AlertState.OPEN,
    ]


def test_an_unknown_id_or_an_alert_resolved_already_is_refused(engine: Engine) -> None:
    build_world(engine)
    oversell(engine)
    alert_id = open_alert_id(engine, RULE_OVERSOLD)
    resolve(engine, alert_id, by="alice")
    with pytest.raises(Conflict, match=f"alert {alert_id} was resolved by alice at "):
        resolve(engine, alert_id, by="bob")
    with pytest.raises(NotFound, match="no alert 987654"):
        resolve(engine, 987654)
    (row,) = alerts(engine, RULE_OVERSOLD)
    assert row.resolved_by == "alice"


def test_a_watching_rule_is_left_to_the_running_hubs_evaluation(engine: Engine) -> None:
    build_world(engine)
    add_runs(engine, "shop", "orders", ["failed"] * 3)
    evaluate(engine)
    outlook = resolve(engine, open_alert_id(engine, RULE_CONSECUTIVE_FAILURES)).outlook
    assert outlook.opens_again is None
    assert outlook.says.startswith("the running hub re-evaluates it")
    assert evaluate(engine).opened == [(RULE_CONSECUTIVE_FAILURES, "shop")]  # still failing


def test_a_quarantine_alert_opens_again_until_its_payloads_are_resolved(engine: Engine) -> None:
    build_world(engine)
    with transaction(engine) as session:
        shop = channel_by_name(session, "shop").id
        payload = quarantine_payload(session, shop, "order", "{}", "no line items")
    outlook = resolve(engine, open_alert_id(engine, RULE_QUARANTINE)).outlook
    assert outlook.opens_again is True
    assert "(1 quarantined payload not retried or dismissed)" in outlook.says
    assert evaluate(engine).opened == [(RULE_QUARANTINE, "shop")]
    with transaction(engine) as session:
        assert resolve_payload(session, payload.id or 0, by="bob").alert_resolved
    assert evaluate(engine).opened == []


def test_auth_failure_opens_again_while_the_channel_stays_paused(engine: Engine) -> None:
    build_world(engine)
    with transaction(engine) as session:
        pause_channel(session, channel_by_name(session, "shop"), "HTTP 401")
    outlook = resolve(engine, open_alert_id(engine, RULE_AUTH)).outlook
    assert outlook.opens_again is True
    assert "(the channel's jobs are still paused: HTTP 401)" in outlook.says
    assert evaluate(engine).opened == [(RULE_AUTH, "shop")]


def test_tracking_unknown_opens_again_on_the_next_tracking_answer(engine: Engine) -> None:
    build_world(engine, channels={"shop": None, "ups": None})
    set_count(engine, "A", "main", 5)
    list_sku(engine, "shop", "A")
    ingest(engine, "shop", make_order("1", [("A", 1)]))
    parcel = ship(engine, "1", tracking="1Z0001")
    later = utcnow() + timedelta(days=2)
    track(engine, parcel, unknown("1Z0001"), now=later)
    outlook = resolve(engine, open_alert_id(engine, RULE_TRACKING_UNKNOWN)).outlook
    assert outlook.opens_again is True
    assert outlook.says == (
        "its condition still holds (1 tracking number still unknown to the carrier), "
        "so the tracking job will open it again on its next run"
    )
    track(engine, parcel, unknown("1Z0001"), now=later + timedelta(hours=1))
    assert [row.state for row in alerts(engine, RULE_TRACKING_UNKNOWN)] == [
        AlertState.RESOLVED,
        AlertState.OPEN,
    ]


# The notifiers ------------------------------------------------------------------------


def test_notifiers_hear_the_resolve_once_and_the_reopened_alert_again(engine: Engine) -> None:
    build_world(engine)
    oversell(engine)
    chat = Recorder("chat")
    monitor = AlertMonitor(SyncEngine(engine, []), AlertRules(), dispatcher(engine, chat))
    OPEN, RESOLVED = NotificationState.OPEN, NotificationState.RESOLVED
    try:
        monitor.run_once()
        first = open_alert_id(engine, RULE_OVERSOLD)
        assert chat.states() == [(first, OPEN)]

        resolve(engine, first)
        monitor.run_once()  # sends the resolve, opens the alert again and announces it
        second = open_alert_id(engine, RULE_OVERSOLD)
        assert second != first
        assert chat.states()[1:] == [(first, RESOLVED), (second, OPEN)]

        monitor.run_once()
        assert len(chat.states()) == 3  # nothing twice

        cancel(engine)
        resolve(engine, second)
        monitor.run_once()
        monitor.run_once()
        assert chat.states()[3:] == [(second, RESOLVED)]  # condition gone: not opened again
    finally:
        monitor.dispatcher.close()
        monitor.sync.close()


# A returned parcel, through the tracking job ------------------------------------------

CARRIERS = {
    "shop": "type: fake\nenabled: false\nshop: demo\napi_key: not-a-secret-here\n",
    "ups": "type: fake_carrier\nlabel: UPS\n",
}


@pytest.fixture
def hub(tmp_path: Path, migrated_database_url: str) -> Iterator[Hub]:
    FakeCarrier.reset()
    hub = open_test_hub(write_config(tmp_path / "config", CARRIERS), migrated_database_url)
    with transaction(hub.engine) as session:
        upsert_sku(session, "A")
    set_count(hub.engine, "A", "main", 10)
    list_sku(hub.engine, "shop", "A")
    for order, tracking in (("1", "1Z0001"), ("2", "1Z0002")):
        ingest(hub.engine, "shop", make_order(order, [("A", 1)]))
        with transaction(hub.engine) as session:
            request = ShipRequest(order=order, carrier="ups", tracking_number=tracking)
            ship_order(session, hub.settings, request)
    yield hub
    FakeCarrier.reset()
    hub.engine.dispose()


def run_tracking(hub: Hub, **answers: ShipmentStatus) -> None:
    FakeCarrier.answers.update(
        {
            number: TrackingInfo(tracking_number=number, status=status)
            for number, status in answers.items()
        }
    )
    engine = engine_for(hub)
    try:
        assert engine.run("ups", "tracking").status == "succeeded"
    finally:
        engine.close()


def listed_parcels(alert: Alert) -> list[str]:
    return [item["tracking_number"] for item in (alert.details or {})["shipments"]]


def test_a_returned_parcels_carrier_exception_stays_resolved_across_tracking_runs(
    hub: Hub,
) -> None:
    run_tracking(
        hub, **{"1Z0001": ShipmentStatus.RETURNED_TO_SENDER, "1Z0002": ShipmentStatus.IN_TRANSIT}
    )
    (returned,) = alerts(hub.engine, RULE_CARRIER_EXCEPTION)
    assert listed_parcels(returned) == ["1Z0001"]

    outlook = resolve(hub.engine, returned.id or 0, note="parcel back on the shelf").outlook
    assert outlook.opens_again is False
    assert outlook.says.startswith("it stays resolved")
    run_tracking(hub)  # the carrier still says returned: the same parcel opens nothing
    (still,) = alerts(hub.engine, RULE_CARRIER_EXCEPTION)
    assert (still.state, still.resolved_by) == (AlertState.RESOLVED, "alice")

    run_tracking(hub, **{"1Z0002": ShipmentStatus.EXCEPTION})  # another parcel: a new alert
    old, new = alerts(hub.engine, RULE_CARRIER_EXCEPTION)
    assert (old.id, old.state) == (returned.id, AlertState.RESOLVED)
    assert new.state == AlertState.OPEN
    assert listed_parcels(new) == ["1Z0002"]
