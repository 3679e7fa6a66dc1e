"""Applying what a carrier reports (core/tracking.py), on SQLite and PostgreSQL: events
stored once, statuses that never reopen, delivered orders, and the tracking alerts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.dto import TrackingEvent as ReportedEvent
from omnisync.core.dto import TrackingInfo
from omnisync.core.errors import NotFound
from omnisync.core.models import Alert, Order, Shipment, TrackingEvent
from omnisync.core.shipping import record_shipment
from omnisync.core.tracking import (
    RULE_CARRIER_EXCEPTION,
    RULE_TRACKING_UNKNOWN,
    TrackingResult,
    apply_tracking,
    shipments_to_track,
)
from omnisync.core.types import AlertSeverity, AlertState, OrderStatus, ShipmentStatus
from tests.support.world import T0, build_world, ingest, list_sku, make_order, order_row, set_count

DAY = timedelta(hours=24)
S = ShipmentStatus


@pytest.fixture
def world(engine: Engine) -> Engine:
    build_world(engine, channels={"shop": None, "ups": None})
    for sku in ("A", "B"):
        set_count(engine, sku, "main", 20)
    list_sku(engine, "shop", "A", "B")
    return engine


def ship(
    engine: Engine,
    external_id: str,
    lines: Mapping[str, int] | None = None,
    *,
    tracking: str = "1Z0001",
    carrier_channel: str | None = "ups",
) -> Shipment:
    with transaction(engine) as session:
        order = session.exec(select(Order).where(Order.external_id == external_id)).one()
        carrier_id = channel_by_name(session, carrier_channel).id if carrier_channel else None
        return record_shipment(
            session,
            order,
            lines,
            carrier="UPS",
            tracking_number=tracking,
            carrier_channel_id=carrier_id,
        )


def event(
    minutes: int, code: str, status: ShipmentStatus, where: str | None = None
) -> ReportedEvent:
    return ReportedEvent(
        at=T0 + timedelta(minutes=minutes),
        code=code,
        description=f"{status.value} scan",
        location=where,
        status=status,
    )


def found(
    number: str, status: ShipmentStatus, *events: ReportedEvent, **extra: object
) -> TrackingInfo:
    return TrackingInfo(tracking_number=number, status=status, events=events, **extra)


def unknown(number: str) -> TrackingInfo:
    return TrackingInfo(tracking_number=number, found=False, message="No tracking information")


def track(
    engine: Engine,
    shipment: Shipment,
    info: TrackingInfo,
    *,
    now: datetime | None = None,
    unknown_after: timedelta = DAY,
) -> TrackingResult:
    with transaction(engine) as session:
        return apply_tracking(session, shipment.id or 0, info, unknown_after=unknown_after, now=now)


def stored(engine: Engine, shipment: Shipment) -> tuple[Shipment, list[TrackingEvent]]:
    with Session(engine) as session:
        row = session.get(Shipment, shipment.id)
        assert row is not None
        events = list(
            session.exec(
                select(TrackingEvent)
                .where(TrackingEvent.shipment_id == shipment.id)
                .order_by(col(TrackingEvent.at))
            )
        )
        return row, events


def alerts(engine: Engine, rule: str) -> list[Alert]:
    with Session(engine) as session:
        return list(session.exec(select(Alert).where(Alert.rule == rule).order_by(col(Alert.id))))


def test_events_are_stored_once_however_often_the_carrier_resends_them(world: Engine) -> None:
    ingest(world, "shop", make_order("1", [("A", 2)]))
    shipment = ship(world, "1")
    first = (event(0, "MP", S.LABEL_CREATED), event(60, "OR", S.IN_TRANSIT, "Louisville, KY"))

    result = track(world, shipment, found("1Z0001", S.IN_TRANSIT, *first))
    again = track(world, shipment, found("1Z0001", S.IN_TRANSIT, *first))
    # The carrier resends the history with one more scan, and a duplicate within the answer.
    later = (*first, event(120, "DP", S.IN_TRANSIT), event(120, "DP", S.IN_TRANSIT))
    more = track(world, shipment, found("1Z0001", S.IN_TRANSIT, *later))

    assert (result.new_events, again.new_events, more.new_events) == (2, 0, 1)
    row, events = stored(world, shipment)
    assert [(e.code, e.at, e.location, e.status) for e in events] == [
        ("MP", T0, None, S.LABEL_CREATED),
        ("OR", T0 + timedelta(minutes=60), "Louisville, KY", S.IN_TRANSIT),
        ("DP", T0 + timedelta(minutes=120), None, S.IN_TRANSIT),
    ]
    assert row.status == S.IN_TRANSIT
    assert row.tracked_at is not None


def test_the_same_moment_in_another_timezone_is_the_same_event(world: Engine) -> None:
    ingest(world, "shop", make_order("1", [("A", 1)]))
    shipment = ship(world, "1")
    utc = event(30, "OR", S.IN_TRANSIT)
    shifted = utc.model_copy(update={"at": utc.at.astimezone(timezone(timedelta(hours=2)))})
    assert shifted.at.utcoffset() == timedelta(hours=2)
    track(world, shipment, found("1Z0001", S.IN_TRANSIT, utc))
    assert track(world, shipment, found("1Z0001", S.IN_TRANSIT, shifted)).new_events == 0


def test_status_follows_the_carrier_but_delivered_is_final(world: Engine) -> None:
    ingest(world, "shop", make_order("1", [("A", 1)]))
    shipment = ship(world, "1")
    steps = [
        (S.LABEL_CREATED, S.LABEL_CREATED),
        (S.IN_TRANSIT, S.IN_TRANSIT),
        (S.LABEL_CREATED, S.IN_TRANSIT),  # a parcel seen moving never goes back to a label
        (S.UNKNOWN, S.IN_TRANSIT),  # no status said: nothing learned
        (S.OUT_FOR_DELIVERY, S.OUT_FOR_DELIVERY),
        (S.IN_TRANSIT, S.IN_TRANSIT),  # a failed attempt: back on the truck, that is real
        (S.DELIVERED, S.DELIVERED),
        (S.IN_TRANSIT, S.DELIVERED),
        (S.EXCEPTION, S.DELIVERED),
    ]
    seen = []
    for reported, _ in steps:
        seen.append(track(world, shipment, found("1Z0001", reported)).status)
    assert seen == [expected for _, expected in steps]


def test_the_latest_event_speaks_when_the_answer_has_no_overall_status(world: Engine) -> None:
    ingest(world, "shop", make_order("1", [("A", 1)]))
    shipment = ship(world, "1")
    events = (event(90, "OT", S.OUT_FOR_DELIVERY), event(10, "OR", S.IN_TRANSIT))
    assert track(world, shipment, found("1Z0001", S.UNKNOWN, *events)).status == S.OUT_FOR_DELIVERY


def test_delivery_delivers_a_fully_shipped_order(world: Engine) -> None:
    ingest(world, "shop", make_order("1", [("A", 2), ("B", 1)]))
    shipment = ship(world, "1")
    delivered_at = T0 + timedelta(days=2)

    result = track(
        world,
        shipment,
        found("1Z0001", S.DELIVERED, event(10, "OR", S.IN_TRANSIT), delivered_at=delivered_at),
    )

    assert (result.delivered, result.order_delivered) == (True, True)
    row, _ = stored(world, shipment)
    assert (row.status, row.delivered_at) == (S.DELIVERED, delivered_at)
    order = order_row(world, "shop", "1")
    assert order.status == OrderStatus.DELIVERED
    assert order.updated_at == T0  # still the channel's own change time
    # Nothing more to ask the carrier about this parcel.
    with Session(world) as session:
        assert shipments_to_track(session, channel_by_name(session, "ups").id or 0) == []
    assert track(world, shipment, found("1Z0001", S.DELIVERED)).delivered is False


def test_delivered_at_is_the_delivery_scan_when_the_carrier_gives_no_date(world: Engine) -> None:
    ingest(world, "shop", make_order("1", [("A", 1)]))
    shipment = ship(world, "1")
    scans = (event(10, "OR", S.IN_TRANSIT), event(300, "KB", S.DELIVERED))
    track(world, shipment, found("1Z0001", S.DELIVERED, *scans))
    assert stored(world, shipment)[0].delivered_at == T0 + timedelta(minutes=300)


def test_a_partly_shipped_order_is_delivered_only_once_all_of_it_left_and_arrived(
    world: Engine,
) -> None:
    ingest(world, "shop", make_order("1", [("A", 2), ("B", 1)]))
    first = ship(world, "1", {"1-0": 2}, tracking="1Z0001")

    result = track(world, first, found("1Z0001", S.DELIVERED))
    assert (result.delivered, result.order_delivered) == (True, False)
    assert order_row(world, "shop", "1").status == OrderStatus.PARTIALLY_SHIPPED

    second = ship(world, "1", {"1-1": 1}, tracking="1Z0002")
    assert order_row(world, "shop", "1").status == OrderStatus.SHIPPED
    assert track(world, second, found("1Z0002", S.IN_TRANSIT)).order_delivered is False
    assert order_row(world, "shop", "1").status == OrderStatus.SHIPPED
    assert track(world, second, found("1Z0002", S.DELIVERED)).order_delivered is True
    assert order_row(world, "shop", "1").status == OrderStatus.DELIVERED


def test_an_exception_raises_an_alert_that_resolves_when_the_parcel_moves_on(world: Engine) -> None:
    ingest(world, "shop", make_order("1", [("A", 1)]))
    ingest(world, "shop", make_order("2", [("B", 1)]))
    one, two = ship(world, "1", tracking="1Z0001"), ship(world, "2", tracking="1Z0002")

    trouble = track(world, one, found("1Z0001", S.EXCEPTION, message="Address incomplete"))
    track(world, one, found("1Z0001", S.EXCEPTION, message="Address incomplete"))  # still

    assert trouble.trouble is True
    (alert,) = alerts(world, RULE_CARRIER_EXCEPTION)
    assert (alert.state, alert.severity, alert.count) == (AlertState.OPEN, AlertSeverity.WARNING, 1)
    assert alert.details is not None
    assert (alert.details["order"], alert.details["tracking_number"]) == ("shop:1", "1Z0001")
    assert "1Z0001" in alert.message
    assert "Address incomplete" in alert.message

    track(world, two, found("1Z0002", S.RETURNED_TO_SENDER))
    (alert,) = alerts(world, RULE_CARRIER_EXCEPTION)
    assert (alert.severity, alert.count) == (AlertSeverity.CRITICAL, 2)
    assert alert.details is not None
    assert [item["tracking_number"] for item in alert.details["shipments"]] == ["1Z0001", "1Z0002"]

    # The first parcel is on its way again: it leaves the list; the returned one stays.
    track(world, one, found("1Z0001", S.IN_TRANSIT))
    (alert,) = alerts(world, RULE_CARRIER_EXCEPTION)
    assert alert.state == AlertState.OPEN
    assert alert.details is not None
    assert [item["tracking_number"] for item in alert.details["shipments"]] == ["1Z0002"]
    # Returned to sender is final: that parcel is no longer asked about.
    with Session(world) as session:
        tracked = shipments_to_track(session, channel_by_name(session, "ups").id or 0)
        assert [row.tracking_number for row in tracked] == ["1Z0001"]


def test_the_exception_alert_resolves_once_no_parcel_is_in_trouble(world: Engine) -> None:
    ingest(world, "shop", make_order("1", [("A", 1)]))
    shipment = ship(world, "1")
    track(world, shipment, found("1Z0001", S.EXCEPTION))
    track(world, shipment, found("1Z0001", S.DELIVERED))
    (alert,) = alerts(world, RULE_CARRIER_EXCEPTION)
    assert alert.state == AlertState.RESOLVED
    assert order_row(world, "shop", "1").status == OrderStatus.DELIVERED


def test_an_unknown_number_raises_an_alert_only_after_the_configured_time(world: Engine) -> None:
    ingest(world, "shop", make_order("1", [("A", 1)]))
    shipment = ship(world, "1")
    shipped_at = stored(world, shipment)[0].shipped_at

    early = track(world, shipment, unknown("1Z0001"), now=shipped_at + timedelta(hours=1))
    assert (early.unknown, early.unknown_alerted) == (True, False)
    assert alerts(world, RULE_TRACKING_UNKNOWN) == []
    row, _ = stored(world, shipment)
    # Never known: unknown since the label was made, not since the first ask.
    assert (row.unknown_since, row.tracking_message) == (shipped_at, "No tracking information")

    late = track(world, shipment, unknown("1Z0001"), now=shipped_at + DAY)
    later = track(world, shipment, unknown("1Z0001"), now=shipped_at + DAY + timedelta(hours=1))
    assert (late.unknown_alerted, later.unknown_alerted) == (True, False)
    (alert,) = alerts(world, RULE_TRACKING_UNKNOWN)
    assert (alert.state, alert.count) == (AlertState.OPEN, 1)
    assert alert.details is not None
    assert (alert.details["order"], alert.details["tracking_number"]) == ("shop:1", "1Z0001")
    assert "1Z0001" in alert.message
    assert stored(world, shipment)[0].status == S.LABEL_CREATED

    track(world, shipment, found("1Z0001", S.IN_TRANSIT))
    (alert,) = alerts(world, RULE_TRACKING_UNKNOWN)
    assert alert.state == AlertState.RESOLVED
    assert stored(world, shipment)[0].unknown_since is None


def test_a_number_the_carrier_forgets_counts_from_the_last_answer_knowing_it(
    world: Engine,
) -> None:
    ingest(world, "shop", make_order("1", [("A", 1)]))
    shipment = ship(world, "1")
    shipped_at = stored(world, shipment)[0].shipped_at
    track(world, shipment, found("1Z0001", S.IN_TRANSIT), now=shipped_at + timedelta(hours=1))
    forgotten = shipped_at + DAY * 3

    result = track(world, shipment, unknown("1Z0001"), now=forgotten)

    assert (result.unknown, result.unknown_alerted) == (True, False)
    assert stored(world, shipment)[0].unknown_since == forgotten
    assert stored(world, shipment)[0].status == S.IN_TRANSIT


def test_alerts_are_kept_per_carrier_channel(world: Engine) -> None:
    ingest(world, "shop", make_order("1", [("A", 1)]))
    shipment = ship(world, "1")
    track(world, shipment, found("1Z0001", S.EXCEPTION))
    with Session(world) as session:
        ups = channel_by_name(session, "ups").id
    (alert,) = alerts(world, RULE_CARRIER_EXCEPTION)
    assert alert.channel_id == ups


def test_only_the_carrier_channels_own_open_shipments_are_tracked(world: Engine) -> None:
    for number in ("1", "2", "3"):
        ingest(world, "shop", make_order(number, [("A", 1)]))
    first = ship(world, "1", tracking="1Z0001")
    ship(world, "2", tracking="FREE-TEXT", carrier_channel=None)
    third = ship(world, "3", tracking="1Z0003")
    with Session(world) as session:
        ups = channel_by_name(session, "ups").id or 0
        page = shipments_to_track(session, ups, limit=1)
        rest = shipments_to_track(session, ups, after_id=page[-1].id or 0, limit=5)
    assert [row.id for row in page + rest] == [first.id, third.id]


def test_an_unknown_shipment_is_refused(world: Engine) -> None:
    with pytest.raises(NotFound, match="shipment 999"):
        track(world, Shipment(id=999, order_id=0, carrier="x", tracking_number="x"), unknown("x"))
