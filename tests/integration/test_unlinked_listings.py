"""Lines and listings bound to no hub SKU: stored, and named by the `unlinked_listings`
alert until they bind or stop mattering (the alert then resolves by itself).

Open lines are named at once; listings once unlinked for `unlinked_after` (the grace is
tested in test_listing_links.py: here the engine names them at once)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import ClassVar

from sqlalchemy import Engine
from sqlmodel import Session, select

from omnisync.connectors.base import Capability, Connector
from omnisync.connectors.registry import register
from omnisync.core.alerting import RULE_UNLINKED
from omnisync.core.catalog import upsert_sku
from omnisync.core.db import transaction
from omnisync.core.dto import ChannelListing, OrderPage
from omnisync.core.models import Alert, Listing, OrderLine
from omnisync.core.types import AlertState, OrderStatus
from omnisync.sync.alerts import AlertRules, evaluate_rules
from omnisync.sync.calls import RetryPolicy
from omnisync.sync.channels import SyncChannel
from omnisync.sync.engine import SyncEngine
from omnisync.sync.health import hub_health
from omnisync.sync.jobs.counts import RunCount
from tests.support.world import build_world, ingest, level, make_order, set_count

VARIANT_KEY = "shop:variant/9"
"""What the channel calls its variant 9, which has no SKU: its order lines carry it too."""


@register
class CatalogueConnector(Connector):
    """Serves `listings` and order `pages` as the test sets them."""

    channel_type: ClassVar[str] = "catalogue"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.LISTINGS, Capability.ORDERS}
    )
    listings: ClassVar[list[ChannelListing]] = []
    pages: ClassVar[list[OrderPage]] = []

    def fetch_listings(self) -> Iterator[ChannelListing]:
        yield from type(self).listings

    def fetch_orders(self, since: datetime | None) -> Iterator[OrderPage]:
        yield from type(self).pages


def sync_engine(engine: Engine, *, unlinked_after: timedelta | None = None) -> SyncEngine:
    channel = SyncChannel(
        "shop", CatalogueConnector.channel_type, True, CatalogueConnector.Settings()
    )
    if unlinked_after is None:
        return SyncEngine(engine, [channel], retry=RetryPolicy(attempts=1))
    return SyncEngine(
        engine, [channel], retry=RetryPolicy(attempts=1), unlinked_after=unlinked_after
    )


def listing(sku: str | None, variant: int) -> ChannelListing:
    return ChannelListing(
        channel_sku=sku, own_key=f"shop:variant/{variant}", channel_ids={"variant_id": variant}
    )


def unlinked_alerts(engine: Engine) -> list[Alert]:
    with Session(engine) as session:
        return list(session.exec(select(Alert).where(Alert.rule == RULE_UNLINKED)))


def open_unlinked(engine: Engine) -> Alert | None:
    found = [alert for alert in unlinked_alerts(engine) if alert.state == AlertState.OPEN]
    assert len(found) <= 1
    return found[0] if found else None


def open_alert_count(engine: Engine) -> int:
    with Session(engine) as session:
        return hub_health(session, datetime.now().astimezone(), schedules={}).open_alerts


def test_a_line_of_an_unknown_channel_sku_is_alerted_until_a_sku_binds_it(
    engine: Engine,
) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 5)
    ingest(engine, "shop", make_order("1001", [("A", 1), ("GHOST-1", 2)]))
    alert = open_unlinked(engine)
    assert alert is not None
    assert alert.details is not None
    assert alert.details["lines"] == [{"order": "1001", "channel_sku": "GHOST-1"}]
    assert "1001" in alert.message
    assert "GHOST-1" in alert.message
    assert open_alert_count(engine) == 1  # `omnisync status` exits 1
    ingest(engine, "shop", make_order("1001", [("A", 1), ("GHOST-1", 2)], minutes=1))
    again = open_unlinked(engine)
    assert again is not None
    assert again.count == 1

    with transaction(engine) as session:
        upsert_sku(session, "GHOST-1")
    set_count(engine, "GHOST-1", "main", 5)
    CatalogueConnector.listings = [listing("A", 1)]  # GHOST-1 is not even listed
    sync = sync_engine(engine)
    outcome = sync.run("shop", "listings")
    assert outcome.status == "succeeded", outcome.error
    assert outcome.counts[RunCount.LINES_MAPPED] == 1
    assert level(engine, "GHOST-1", "main") == (5, 2)
    assert open_unlinked(engine) is None
    assert [alert.state for alert in unlinked_alerts(engine)] == [AlertState.RESOLVED]
    sync.close()


def test_the_alert_resolves_once_the_order_is_no_longer_active(engine: Engine) -> None:
    build_world(engine)
    ingest(engine, "shop", make_order("1", [("GHOST", 1)]))
    ingest(engine, "market", make_order("2", [("GHOST", 1)]))
    assert [alert.state for alert in unlinked_alerts(engine)] == [AlertState.OPEN] * 2
    cancelled = make_order("1", [("GHOST", 1)], status=OrderStatus.CANCELLED, minutes=1)
    CatalogueConnector.pages = [OrderPage(orders=(cancelled,))]
    sync = sync_engine(engine)
    assert sync.run("shop", "orders").status == "succeeded"  # the run looks again
    by_channel = {alert.channel_id: alert.state for alert in unlinked_alerts(engine)}
    assert sorted(by_channel.values()) == [AlertState.OPEN, AlertState.RESOLVED]

    ingest(engine, "market", make_order("2", [("GHOST", 1)], status=OrderStatus.SHIPPED, minutes=1))
    now = datetime.now().astimezone()
    with transaction(engine) as session:  # the running hub's alert pass
        evaluation = evaluate_rules(
            session, AlertRules(), now, schedules={}, watching_since=now, secrets=()
        )
    assert (RULE_UNLINKED, "market") in evaluation.resolved
    assert open_unlinked(engine) is None
    sync.close()


def test_listings_without_a_hub_sku_are_stored_alerted_and_forgotten_once_gone(
    engine: Engine,
) -> None:
    build_world(engine)
    set_count(engine, "B", "main", 4)
    ingest(engine, "shop", make_order("1", [(VARIANT_KEY, 1)]))
    CatalogueConnector.listings = [listing("A", 1), listing(None, 9), listing("STRANGER", 3)]
    sync = sync_engine(engine, unlinked_after=timedelta(0))  # listings named at once
    outcome = sync.run("shop", "listings")
    assert outcome.status == "succeeded", outcome.error
    assert (outcome.counts[RunCount.FETCHED], outcome.counts[RunCount.NEW]) == (3, 3)
    assert (outcome.counts[RunCount.WITHOUT_SKU], outcome.counts[RunCount.UNKNOWN_SKU]) == (1, 1)
    with Session(engine) as session:
        stored = {row.channel_sku: row for row in session.exec(select(Listing))}
    assert set(stored) == {"A", VARIANT_KEY, "STRANGER"}
    assert stored[VARIANT_KEY].sku_id is None
    assert stored[VARIANT_KEY].channel_ids == {"variant_id": 9}
    alert = open_unlinked(engine)
    assert alert is not None
    assert alert.details is not None
    assert alert.details["listings"] == ["STRANGER", VARIANT_KEY]
    assert alert.details["lines"] == [{"order": "1", "channel_sku": VARIANT_KEY}]
    assert "STRANGER" in alert.message

    # The seller gives variant 9 the SKU B on the channel and deletes STRANGER there.
    CatalogueConnector.listings = [listing("A", 1), listing("B", 9)]
    outcome = sync.run("shop", "listings")
    assert outcome.status == "succeeded", outcome.error
    assert outcome.counts[RunCount.NEW] == 0
    with Session(engine) as session:
        stored = {row.channel_sku: row for row in session.exec(select(Listing))}
        (line,) = session.exec(select(OrderLine)).all()
    assert set(stored) == {"A", "B"}
    assert stored["B"].sku_id is not None
    assert stored["B"].channel_ids == {"variant_id": 9}
    assert line.sku_id == stored["B"].sku_id  # the variant's order line binds with it
    assert level(engine, "B", "main") == (4, 1)
    assert open_unlinked(engine) is None
    sync.close()
