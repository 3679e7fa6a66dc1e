"""The poll_tracking job and ship_order, against a carrier whose answers the test sets
(tests/support/fake_carrier.py): batches, counts, failures, scheduling, SKU lines."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

import tests.support.fake_connector  # noqa: F401  (registers type "fake")
from omnisync.connectors.base import AuthError, TransientError
from omnisync.core.alerting import RULE_AUTH
from omnisync.core.catalog import sku_by_code, upsert_sku
from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.dto import TrackingInfo
from omnisync.core.errors import InvalidRequest, NotFound
from omnisync.core.models import Alert, Channel, Listing, Shipment, SyncRun
from omnisync.core.tracking import RULE_TRACKING_UNKNOWN
from omnisync.core.types import AlertSeverity, OrderStatus, ShipmentStatus, SyncRunStatus
from omnisync.hub.bootstrap import Hub
from omnisync.hub.shipping import ShipRequest, UnknownCarrier, ship_order
from omnisync.sync.jobs.counts import RunCount
from omnisync.sync.scheduler import Scheduler
from tests.support.fake_carrier import FakeCarrier  # registers type "fake_carrier"
from tests.support.hub_setup import FAST_RETRIES, engine_for, open_test_hub, write_config
from tests.support.polling import eventually
from tests.support.world import ingest, level, list_sku, make_order, order_row, set_count

SHOP = """\
type: fake
enabled: false
shop: demo
api_key: not-a-secret-here
"""
UPS = """\
type: fake_carrier
label: UPS
batch_size: 2
schedule: {tracking: 1s}
sync: {tracking_unknown_after: 1ms}
"""
POST = """\
type: fake_carrier
label: Post
"""


@pytest.fixture
def hub(tmp_path: Path, migrated_database_url: str) -> Iterator[Hub]:
    FakeCarrier.reset()
    config = write_config(tmp_path / "config", {"shop": SHOP, "ups": UPS, "post": POST})
    hub = open_test_hub(config, migrated_database_url)
    with transaction(hub.engine) as session:
        for code in ("A", "B"):
            upsert_sku(session, code)
    for code in ("A", "B"):
        set_count(hub.engine, code, "main", 10)
    list_sku(hub.engine, "shop", "A", "B")
    yield hub
    FakeCarrier.reset()
    hub.engine.dispose()


def ship(hub: Hub, order: str, tracking: str, **fields: Any) -> Shipment:
    with transaction(hub.engine) as session:
        request = ShipRequest(order=order, carrier="ups", tracking_number=tracking)
        return ship_order(session, hub.settings, _with(request, fields))


def _with(request: ShipRequest, fields: dict[str, Any]) -> ShipRequest:
    return dataclasses.replace(request, **fields)


def shipments(hub: Hub) -> dict[str, Shipment]:
    with Session(hub.engine) as session:
        return {row.tracking_number: row for row in session.exec(select(Shipment))}


def runs(hub: Hub, job: str) -> list[tuple[str, SyncRunStatus]]:
    with Session(hub.engine) as session:
        return [
            (name, run.status)
            for run, name in session.exec(
                select(SyncRun, Channel.name)
                .join(Channel, col(Channel.id) == SyncRun.channel_id)
                .where(SyncRun.job == job)
                .order_by(col(SyncRun.id))
            )
        ]


def test_poll_tracking_asks_in_batches_and_applies_the_answers(hub: Hub) -> None:
    for number in ("1", "2", "3"):
        ingest(hub.engine, "shop", make_order(number, [("A", 1)]))
        ship(hub, number, f"1Z000{number}")
    FakeCarrier.answers.update(
        {
            "1Z0001": TrackingInfo(tracking_number="1z 0001", status=ShipmentStatus.DELIVERED),
            "1Z0002": TrackingInfo(tracking_number="1Z0002", status=ShipmentStatus.IN_TRANSIT),
        }
    )
    engine = engine_for(hub)
    try:
        first = engine.run("ups", "tracking")
        second = engine.run("ups", "tracking")
    finally:
        engine.close()

    assert first.status == "succeeded", first
    assert dict(first.counts) == {
        "tracked": 3,
        "events": 0,
        "delivered": 1,
        "orders_delivered": 1,
        "exceptions": 0,
        "unknown": 1,
    }
    assert first.notes == ["tracking numbers unknown to the carrier: 1Z0003"]
    # Two per call (the connector's batch size), delivered parcels not asked again.
    assert FakeCarrier.asked == [["1Z0001", "1Z0002"], ["1Z0003"], ["1Z0002", "1Z0003"]]
    assert second.counts[RunCount.TRACKED] == 2
    rows = shipments(hub)
    assert {number: row.status for number, row in rows.items()} == {
        "1Z0001": ShipmentStatus.DELIVERED,
        "1Z0002": ShipmentStatus.IN_TRANSIT,
        "1Z0003": ShipmentStatus.LABEL_CREATED,
    }
    assert order_row(hub.engine, "shop", "1").status == OrderStatus.DELIVERED
    assert order_row(hub.engine, "shop", "2").status == OrderStatus.SHIPPED
    # The unknown number is past the channel's 1ms tracking_unknown_after: an alert says so.
    with Session(hub.engine) as session:
        (alert,) = session.exec(select(Alert).where(Alert.rule == RULE_TRACKING_UNKNOWN)).all()
        assert alert.channel_id == channel_by_name(session, "ups").id
        assert alert.details is not None
        assert alert.details["tracking_number"] == "1Z0003"
        assert alert.count == 1  # the second run did not count it again


def test_a_carrier_that_keeps_failing_fails_the_run_after_retries(hub: Hub) -> None:
    ingest(hub.engine, "shop", make_order("1", [("A", 1)]))
    ship(hub, "1", "1Z0001")
    FakeCarrier.failure = TransientError("UPS answered 500")
    engine = engine_for(hub)
    try:
        outcome = engine.run("ups", "tracking")
    finally:
        engine.close()

    assert outcome.status == "failed"
    assert outcome.error is not None
    assert "UPS answered 500" in outcome.error
    assert len(FakeCarrier.asked) == FAST_RETRIES.attempts
    assert runs(hub, "tracking") == [("ups", SyncRunStatus.FAILED)]
    assert shipments(hub)["1Z0001"].tracked_at is None


def test_refused_carrier_credentials_pause_the_channel_with_an_alert(hub: Hub) -> None:
    ingest(hub.engine, "shop", make_order("1", [("A", 1)]))
    ship(hub, "1", "1Z0001")
    FakeCarrier.failure = AuthError("UPS refused the client credentials")
    engine = engine_for(hub)
    try:
        outcome = engine.run("ups", "tracking")
    finally:
        engine.close()

    assert outcome.status == "failed"
    assert len(FakeCarrier.asked) == 1  # never retried
    with Session(hub.engine) as session:
        assert channel_by_name(session, "ups").paused_reason is not None
        (alert,) = session.exec(select(Alert).where(Alert.rule == RULE_AUTH)).all()
        assert alert.severity == AlertSeverity.CRITICAL


def test_the_scheduler_polls_each_carrier_channel_on_its_tracking_interval(hub: Hub) -> None:
    ingest(hub.engine, "shop", make_order("1", [("A", 1)]))
    ship(hub, "1", "1Z0001")
    FakeCarrier.answers["1Z0001"] = TrackingInfo(
        tracking_number="1Z0001", status=ShipmentStatus.DELIVERED
    )
    scheduler = Scheduler(engine_for(hub))
    scheduler.start()
    try:
        delivered = eventually(
            lambda: order_row(hub.engine, "shop", "1").status == OrderStatus.DELIVERED
        )
    finally:
        scheduler.stop()
        scheduler.sync.close()
    assert delivered, runs(hub, "tracking")
    tracked_channels = {name for name, _ in runs(hub, "tracking")}
    assert "ups" in tracked_channels
    assert "shop" not in tracked_channels  # no tracking capability, no tracking job


def test_ship_order_maps_skus_to_lines_and_links_the_carrier_channel(hub: Hub) -> None:
    ingest(hub.engine, "shop", make_order("1", [("A", 2), ("B", 3), ("A", 1)]))

    shipment = ship(hub, "1", "1Z0001", lines={"A": 3, "B": 1}, service="ground")

    assert shipment.lines == [
        {"external_line_id": "1-0", "quantity": 2},
        {"external_line_id": "1-1", "quantity": 1},
        {"external_line_id": "1-2", "quantity": 1},
    ]
    assert (shipment.carrier, shipment.service) == ("UPS", "ground")
    with Session(hub.engine) as session:
        assert shipment.carrier_channel_id == channel_by_name(session, "ups").id
    assert order_row(hub.engine, "shop", "1").status == OrderStatus.PARTIALLY_SHIPPED
    assert level(hub.engine, "A", "main") == (7, 0)
    assert level(hub.engine, "B", "main") == (9, 2)

    rest = ship(hub, "1", "1Z0002")  # no lines: every open unit
    assert rest.lines == [{"external_line_id": "1-1", "quantity": 2}]
    assert order_row(hub.engine, "shop", "1").status == OrderStatus.SHIPPED


@pytest.mark.parametrize(
    ("order", "fields", "error", "message"),
    [
        ("1", {"carrier": "dhl"}, UnknownCarrier, "no channel 'dhl'.*carriers: post, ups"),
        ("1", {"carrier": "shop"}, UnknownCarrier, "'shop' \\(fake\\) is not a carrier channel"),
        ("9", {}, NotFound, "no order with id or channel order id '9'"),
        ("1", {"lines": {"Z": 1}}, InvalidRequest, "no line with SKU 'Z' \\(its SKUs: A\\)"),
        ("1", {"lines": {"A": 3}}, InvalidRequest, "3 of SKU 'A' to ship but only 2 open"),
        ("1", {"lines": {"A": 0}}, InvalidRequest, "at least 1"),
        ("1", {"lines": {}}, InvalidRequest, "at least one line"),
        ("1", {"tracking_number": "  "}, InvalidRequest, "needs a tracking number"),
    ],
)
def test_ship_order_refuses_doubtful_requests_and_changes_nothing(
    hub: Hub, order: str, fields: dict[str, Any], error: type[Exception], message: str
) -> None:
    ingest(hub.engine, "shop", make_order("1", [("A", 2)]))
    request = _with(ShipRequest(order=order, carrier="ups", tracking_number="1Z0001"), fields)
    with pytest.raises(error, match=message), transaction(hub.engine) as session:
        ship_order(session, hub.settings, request)
    assert shipments(hub) == {}
    assert level(hub.engine, "A", "main") == (10, 2)


def test_ship_order_takes_the_channels_sku_or_the_hubs(hub: Hub) -> None:
    with transaction(hub.engine) as session:
        session.add(
            Listing(
                channel_id=channel_by_name(session, "shop").id or 0,
                sku_id=sku_by_code(session, "A").id,
                channel_sku="SHOP-MUG-RED",
            )
        )
    ingest(hub.engine, "shop", make_order("1", [("SHOP-MUG-RED", 3)]))

    by_channel_sku = ship(hub, "1", "1Z0001", lines={"SHOP-MUG-RED": 1})
    by_hub_sku = ship(hub, "1", "1Z0002", lines={"A": 2})

    assert by_channel_sku.lines == [{"external_line_id": "1-0", "quantity": 1}]
    assert by_hub_sku.lines == [{"external_line_id": "1-0", "quantity": 2}]
    assert order_row(hub.engine, "shop", "1").status == OrderStatus.SHIPPED
    assert level(hub.engine, "A", "main") == (7, 0)
