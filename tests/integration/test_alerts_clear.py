"""Every alert the hub raises closes once its condition clears, whichever path clears it,
and `omnisync status` then exits 0 again: the status view it prints (sync.health
hub_health; exit code 1 while `open_alerts` is not 0) lists no alert. On SQLite and
PostgreSQL.

Rules the alert monitor resolves (consecutive_failures, stale, push_backlog,
oversold_order, buyer_cancel_request, unlinked_listings) clear on its next pass, as in a
running hub;
the others where their condition ends: auth_failure wherever the channel's pause
ends, quarantined_payload with the resolve or retry of the channel's last open
payload, carrier_exception and tracking_unknown with the tracking answer that
clears them; a parcel returned to the sender with an operator's resolve (`omnisync
alerts resolve`), after which it stays resolved.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, select

from omnisync.core.alerting import current_alert, note_buyer_cancel_request, quarantine_payload
from omnisync.core.catalog import upsert_sku
from omnisync.core.channels import channel_by_name
from omnisync.core.clock import utcnow
from omnisync.core.db import transaction
from omnisync.core.dto import NormalisedOrder
from omnisync.core.errors import Conflict, InvalidRequest
from omnisync.core.models import Channel, Listing, QuarantinedPayload, Shipment
from omnisync.core.quarantine import resolve_payload
from omnisync.core.tracking import RULE_CARRIER_EXCEPTION
from omnisync.core.types import OrderStatus, ShipmentStatus
from omnisync.hub.bootstrap import Hub, apply_config, engine_channels
from omnisync.hub.settings import load_settings
from omnisync.sync.alert_resolution import resolve_by_hand
from omnisync.sync.engine import SyncEngine
from omnisync.sync.health import hub_health
from omnisync.sync.jobs.counts import RunCount
from omnisync.sync.quarantine import retry_payload
from tests.integration.test_alert_rules import MINUTE, configured_long_ago, evaluate
from tests.integration.test_tracking import found, ship, track, unknown
from tests.support import keyed_connector
from tests.support.hub_setup import engine_for, open_test_hub, write_config
from tests.support.keyed_connector import GOOD_KEY, WRONG_KEY, channel_file
from tests.support.runs import add_runs
from tests.support.world import build_world, ingest, list_sku, make_order, order_row, set_count

SHOP_SCHEDULE = {"shop": {"orders": MINUTE, "stock": MINUTE}}


def status_alerts(engine: Engine) -> list[str]:
    """The rules of the open alerts `omnisync status` lists; it exits 0 only on []."""
    with Session(engine) as session:
        health = hub_health(session, utcnow())
    rules = [alert.rule for channel in health.channels for alert in channel.open_alerts]
    rules += [alert.rule for alert in health.hub_alerts]
    assert len(rules) == health.open_alerts
    return sorted(rules)


# Rules of the alert monitor ---------------------------------------------------------


def test_consecutive_failures_clear_with_a_successful_run(engine: Engine) -> None:
    build_world(engine)
    add_runs(engine, "shop", "orders", ["failed"] * 3)
    evaluate(engine)
    assert status_alerts(engine) == ["consecutive_failures"]
    add_runs(engine, "shop", "orders", ["succeeded"], ended=utcnow() + timedelta(seconds=1))
    evaluate(engine)
    assert status_alerts(engine) == []


def test_stale_clears_once_the_job_succeeds_again(engine: Engine) -> None:
    build_world(engine)
    configured_long_ago(engine)
    now = utcnow()
    add_runs(engine, "shop", "orders", ["succeeded"], ended=now - 10 * MINUTE)
    add_runs(engine, "shop", "stock", ["succeeded"], ended=now)
    long_ago = now - timedelta(hours=1)
    evaluate(engine, now, schedules=SHOP_SCHEDULE, watching_since=long_ago)
    assert status_alerts(engine) == ["stale"]
    add_runs(engine, "shop", "orders", ["succeeded"], ended=now)
    evaluate(engine, now, schedules=SHOP_SCHEDULE, watching_since=long_ago)
    assert status_alerts(engine) == []


def test_push_backlog_clears_once_the_listings_are_pushed(engine: Engine) -> None:
    build_world(engine)
    list_sku(engine, "shop", "A")
    now = utcnow()
    with transaction(engine) as session:
        session.execute(update(Listing).values(dirty=True, dirty_since=now - 11 * MINUTE))
    evaluate(engine, now, schedules=SHOP_SCHEDULE)
    assert status_alerts(engine) == ["push_backlog"]
    with transaction(engine) as session:
        session.execute(update(Listing).values(dirty=False, dirty_since=None))
    evaluate(engine, now, schedules=SHOP_SCHEDULE)
    assert status_alerts(engine) == []


def test_oversold_order_clears_once_no_order_is_oversold(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 1)
    ingest(engine, "shop", make_order("1", [("A", 3)]))
    assert status_alerts(engine) == ["oversold_order"]
    ingest(engine, "shop", make_order("1", [("A", 3)], status=OrderStatus.CANCELLED, minutes=5))
    evaluate(engine)
    assert status_alerts(engine) == []


def test_buyer_cancel_request_clears_once_the_order_holds_no_stock(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 5)
    ingest(engine, "shop", make_order("1", [("A", 1)]))
    with transaction(engine) as session:
        note_buyer_cancel_request(session, channel_by_name(session, "shop").id, "1", ["late"])
    evaluate(engine)
    assert status_alerts(engine) == ["buyer_cancel_request"]
    ingest(engine, "shop", make_order("1", [("A", 1)], status=OrderStatus.CANCELLED, minutes=5))
    evaluate(engine)
    assert status_alerts(engine) == []


def test_unlinked_listing_clears_once_no_open_line_is_unbound(engine: Engine) -> None:
    build_world(engine)
    ingest(engine, "shop", make_order("1", [("NOT-A-HUB-SKU", 1)]))
    assert status_alerts(engine) == ["unlinked_listings"]
    cancelled = make_order("1", [("NOT-A-HUB-SKU", 1)], status=OrderStatus.CANCELLED, minutes=5)
    ingest(engine, "shop", cancelled)
    evaluate(engine)
    assert status_alerts(engine) == []


# Rules resolved where their condition ends ------------------------------------------


@pytest.fixture
def parcel(engine: Engine) -> Shipment:
    """Order 1 of shop, shipped with the carrier channel ups as 1Z0001."""
    build_world(engine, channels={"shop": None, "ups": None})
    set_count(engine, "A", "main", 5)
    list_sku(engine, "shop", "A")
    ingest(engine, "shop", make_order("1", [("A", 1)]))
    return ship(engine, "1", tracking="1Z0001")


def test_carrier_exception_clears_when_the_parcel_moves_on(
    engine: Engine, parcel: Shipment
) -> None:
    track(engine, parcel, found("1Z0001", ShipmentStatus.EXCEPTION, message="No access"))
    assert status_alerts(engine) == ["carrier_exception"]
    track(engine, parcel, found("1Z0001", ShipmentStatus.IN_TRANSIT))
    assert status_alerts(engine) == []


def test_a_returned_parcels_carrier_exception_clears_with_an_operators_resolve(
    engine: Engine, parcel: Shipment
) -> None:
    track(engine, parcel, found("1Z0001", ShipmentStatus.RETURNED_TO_SENDER))
    assert status_alerts(engine) == ["carrier_exception"]
    with transaction(engine) as session:
        alert = current_alert(session, RULE_CARRIER_EXCEPTION, parcel.carrier_channel_id)
        assert alert is not None
        resolve_by_hand(session, alert.id or 0, by="alice", note="back on the shelf")
    evaluate(engine)
    track(engine, parcel, found("1Z0001", ShipmentStatus.RETURNED_TO_SENDER))
    assert status_alerts(engine) == []


def test_tracking_unknown_clears_when_the_carrier_knows_the_number(
    engine: Engine, parcel: Shipment
) -> None:
    track(engine, parcel, unknown("1Z0001"), now=utcnow() + timedelta(days=2))
    assert status_alerts(engine) == ["tracking_unknown"]
    track(engine, parcel, found("1Z0001", ShipmentStatus.IN_TRANSIT))
    assert status_alerts(engine) == []


def test_quarantined_payload_clears_when_the_last_open_payload_is_resolved(
    engine: Engine,
) -> None:
    build_world(engine)
    with transaction(engine) as session:
        shop = channel_by_name(session, "shop").id
        first = quarantine_payload(session, shop, "webhook", '{"id": 1}', "no created_at")
        second = quarantine_payload(session, shop, "webhook", '{"id": 2}', "no created_at")
    assert status_alerts(engine) == ["quarantined_payload"]

    with transaction(engine) as session:
        dismissed = resolve_payload(session, first.id or 0, by="alice", note="test order")
    assert (dismissed.channel, dismissed.alert_resolved) == ("shop", False)
    assert status_alerts(engine) == ["quarantined_payload"]  # the second one is still open

    with transaction(engine) as session:
        last = resolve_payload(session, second.id or 0, by="alice")
    assert last.alert_resolved is True
    assert status_alerts(engine) == []  # at once: no monitor pass needed
    with Session(engine) as session:
        row = session.get(QuarantinedPayload, first.id)
        assert row is not None
        assert row.resolved_at is not None
        assert (row.resolved_by, row.resolution_note) == ("alice", "test order")
        assert row.raw == '{"id": 1}'  # kept, body and all

    with transaction(engine) as session, pytest.raises(Conflict, match="resolved by alice"):
        resolve_payload(session, first.id or 0, by="bob")


# Through a sync engine: auth_failure, and retrying a quarantined payload ------------


@pytest.fixture
def keyed_hub(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Hub, SyncEngine]]:
    """A hub whose channel shop (type keyed) is configured with a wrong API key."""
    monkeypatch.setenv("KEYED_API_KEY", WRONG_KEY)
    config = write_config(tmp_path / "config", {"shop": channel_file()})
    hub = open_test_hub(config, migrated_database_url)
    sync = engine_for(hub)
    yield hub, sync
    sync.close()
    hub.engine.dispose()


def pause_for_the_wrong_key(hub: Hub, sync: SyncEngine) -> None:
    assert sync.run("shop", "orders").status == "failed"
    assert _paused_reason(hub) is not None
    assert status_alerts(hub.engine) == ["auth_failure"]


def restore_the_key(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator fixes the channel's credential: the hub reads its config again."""
    monkeypatch.setenv("KEYED_API_KEY", GOOD_KEY)
    apply_config(hub.engine, load_settings(hub.settings.config_dir))


def resumed_elsewhere(hub: Hub) -> None:
    """A channel resumed while its alert stayed open: the state the hub used to leave
    after a config change, still in databases of hubs that ran it."""
    with transaction(hub.engine) as session:
        session.execute(update(Channel).values(paused_reason=None))


@contextmanager
def engine_with_the_key_fixed(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> Iterator[SyncEngine]:
    """A sync engine that sends the right key; the database is left as it is."""
    monkeypatch.setenv("KEYED_API_KEY", GOOD_KEY)
    sync = SyncEngine(hub.engine, engine_channels(load_settings(hub.settings.config_dir)))
    try:
        yield sync
    finally:
        sync.close()


@contextmanager
def keyed_engine(hub: Hub) -> Iterator[SyncEngine]:
    sync = engine_for(hub)
    try:
        yield sync
    finally:
        sync.close()
        hub.engine.dispose()


def _paused_reason(hub: Hub) -> str | None:
    with Session(hub.engine) as session:
        return channel_by_name(session, "shop").paused_reason


def test_auth_failure_clears_when_a_config_change_resumes_the_channel(
    keyed_hub: tuple[Hub, SyncEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub, sync = keyed_hub
    pause_for_the_wrong_key(hub, sync)
    restore_the_key(hub, monkeypatch)
    assert _paused_reason(hub) is None
    assert status_alerts(hub.engine) == []


def test_auth_failure_clears_with_a_successful_manual_run(
    keyed_hub: tuple[Hub, SyncEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub, sync = keyed_hub
    pause_for_the_wrong_key(hub, sync)
    resumed_elsewhere(hub)
    with engine_with_the_key_fixed(hub, monkeypatch) as fixed:
        outcome = fixed.run("shop", "orders", force=True)  # `omnisync sync orders --channel`
    assert outcome.status == "succeeded", outcome.error
    assert status_alerts(hub.engine) == []


def test_auth_failure_clears_with_a_successful_scheduled_run(
    keyed_hub: tuple[Hub, SyncEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub, sync = keyed_hub
    pause_for_the_wrong_key(hub, sync)
    resumed_elsewhere(hub)
    with engine_with_the_key_fixed(hub, monkeypatch) as fixed:
        outcome = fixed.run("shop", "orders")  # as the scheduler runs it
    assert outcome.status == "succeeded", outcome.error
    assert status_alerts(hub.engine) == []


def mapping_with_a_default_date(item: Any) -> NormalisedOrder:
    """The keyed mapping, fixed: an order without created_at was placed when updated."""
    fixed = {"created_at": "2026-01-01T00:00:00Z", **item} if isinstance(item, dict) else item
    return keyed_connector_mapping(fixed)


keyed_connector_mapping = keyed_connector.order_from_item


def test_a_retried_payload_that_maps_now_goes_in_and_clears_the_alert(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEYED_API_KEY", GOOD_KEY)
    bad = {"id": "K1", "lines": [{"sku": "A", "quantity": 2}]}  # no created_at
    config = write_config(tmp_path / "config", {"shop": channel_file(orders=[bad])})
    hub = open_test_hub(config, migrated_database_url)
    with transaction(hub.engine) as session:
        upsert_sku(session, "A")
    set_count(hub.engine, "A", "main", 5)  # the order binds and is not oversold
    with keyed_engine(hub) as sync:
        assert sync.run("shop", "orders").counts[RunCount.QUARANTINED] == 1
        assert status_alerts(hub.engine) == ["quarantined_payload"]
        with Session(hub.engine) as session:
            (payload,) = session.exec(select(QuarantinedPayload)).all()
        with pytest.raises(InvalidRequest, match=r"still does not map .*created_at"):
            retry_payload(sync, payload.id or 0, by="alice")
        assert status_alerts(hub.engine) == ["quarantined_payload"]

        monkeypatch.setattr(keyed_connector, "order_from_item", mapping_with_a_default_date)
        retried = retry_payload(sync, payload.id or 0, by="alice")
        assert (retried.orders, retried.alert_resolved) == (("K1",), True)
        assert retried.payload.resolution_note == "retried: took in order K1"
        assert order_row(hub.engine, "shop", "K1").status == OrderStatus.ACCEPTED
        assert status_alerts(hub.engine) == []


def test_a_dismissed_payload_read_again_is_not_quarantined_again(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEYED_API_KEY", GOOD_KEY)
    bad = {"id": "K2", "lines": []}
    config = write_config(tmp_path / "config", {"shop": channel_file(orders=[bad])})
    hub = open_test_hub(config, migrated_database_url)
    with keyed_engine(hub) as sync:
        sync.run("shop", "orders")
        with transaction(hub.engine) as session:
            (payload,) = session.exec(select(QuarantinedPayload)).all()
            resolve_payload(session, payload.id or 0, by="alice", note="a test order")
        assert sync.run("shop", "orders").counts[RunCount.QUARANTINED] == 0  # the lag window
        assert status_alerts(hub.engine) == []
