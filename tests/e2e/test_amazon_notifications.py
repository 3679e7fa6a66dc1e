"""Amazon orders in seconds, end to end: the Amazon simulator publishes ORDER_CHANGE
notifications to a queue on moto's SQS server, and the hub (SQLite and PostgreSQL)
hears them.

An order reaches the hub through its notification with no searchOrders call in
between, reserves, and lowers the other channel; a hub killed (SIGKILL) between
receiving a message and committing its order loses nothing (the message comes back);
a malformed message is quarantined while the next one goes on; an event the hub holds
the order for already is not fetched again; a message for a marketplace no channel
sells in is quarantined; a broken subscription opens `order_events_missing`, which
resolves once notifications flow again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from omnisync.core.alerting import RULE_QUARANTINE
from omnisync.core.catalog import location_by_code, upsert_sku
from omnisync.core.db import transaction
from omnisync.core.dto import QUARANTINED_NOTIFICATION
from omnisync.core.ledger import count_stock
from omnisync.core.models import (
    Alert,
    Channel,
    Order,
    QuarantinedPayload,
    Reservation,
    SyncRun,
)
from omnisync.core.order_events import RULE_EVENTS_MISSING
from omnisync.core.types import AlertSeverity, AlertState
from omnisync.hub.bootstrap import Hub
from omnisync.sandbox.amazon import AmazonSimulator
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sandbox.sqs import SqsServer
from omnisync.sync.engine import SyncEngine
from omnisync.sync.order_events import EventListeners, event_queues
from omnisync.sync.scheduler import Scheduler
from tests.support.hub_setup import (
    amazon_env,
    engine_for,
    open_test_hub,
    sandbox_channel,
    write_config,
)
from tests.support.queue_mode import hub_workers
from tests.support.simulators import served_fixtures
from tests.support.sqs import Queue, fresh_queue, waiting_messages

pytestmark = pytest.mark.slow

SANDBOX_TOKEN = "sb-notify-e2e-token-41be"
ORDERS_LAG = timedelta(seconds=0.5)
SKUS = ("NT-1", "NT-2", "NT-3")
STOCK = 5
WAIT_S = 30.0
"""A bound on waiting for what must happen, never a speed expectation."""
VISIBILITY_S = 2

served_amazon, amazon = served_fixtures(
    "amazon",
    lambda: AmazonSimulator(rate_scale=100.0, orders_lag=ORDERS_LAG, feed_delay=0.0),
)
served_marketplace, marketplace = served_fixtures(
    "marketplace",
    lambda: SandboxMarketplace(SANDBOX_TOKEN, rate=1000, burst=1000, name="sb"),
)


def amazon_channel_file(amazon: AmazonSimulator, sqs: SqsServer, queue: Queue) -> str:
    return (
        "type: amazon\n"
        "marketplace: US\n"
        f"seller_id: {amazon.seller_id}\n"
        f"endpoint: {amazon.endpoint}\n"
        f"lwa_endpoint: {amazon.lwa_url}\n"
        "credentials:\n"
        "  refresh_token: ${AMZ_REFRESH_TOKEN}\n"
        "  lwa_app_id: ${AMZ_APP_ID}\n"
        "  lwa_client_secret: ${AMZ_CLIENT_SECRET}\n"
        "timeout_seconds: 10\n"
        f"orders_settle_seconds: {ORDERS_LAG.total_seconds()}\n"
        "notifications:\n"
        f"  queue_url: {queue.url}\n"
        "  region: us-east-1\n"
        f"  endpoint: {sqs.endpoint}\n"
        "  access_key_id: ${AWS_KEY_ID}\n"
        "  secret_access_key: ${AWS_SECRET}\n"
        "  wait_seconds: 1\n"
        "  late_after_seconds: 0\n"
        # Polling only when a test runs it: these tests are about what notifications bring.
        "schedule: {orders: 24h, listings: 24h, stock: 24h, reconcile: 24h, fulfilments: 24h}\n"
        "sync: {lag: 2m, backfill: 1d}\n"
    )


@pytest.fixture
def queue(sqs_server: SqsServer, amazon: AmazonSimulator) -> Queue:
    made = fresh_queue(sqs_server, visibility_timeout=VISIBILITY_S)
    amazon.set_sqs_endpoint(sqs_server.endpoint)
    amazon.subscribe_queue(made.arn)
    return made


@pytest.fixture
def env(amazon: AmazonSimulator) -> dict[str, str]:
    return {
        **amazon_env(amazon),
        "SB_KEY": SANDBOX_TOKEN,
        "AWS_KEY_ID": "test-key-id-omnisync",
        "AWS_SECRET": "test-secret-omnisync-4f1",
    }


@pytest.fixture
def config(
    tmp_path: Path,
    amazon: AmazonSimulator,
    marketplace: SandboxMarketplace,
    sqs_server: SqsServer,
    queue: Queue,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    channels = {
        "amz": amazon_channel_file(amazon, sqs_server, queue),
        "sb": sandbox_channel(marketplace.url),
    }
    amazon.set_listings([{"sku": code, "title": code, "quantity": STOCK} for code in SKUS])
    marketplace.set_listings([{"sku": code, "title": code, "quantity": 0} for code in SKUS])
    return write_config(tmp_path / "config", channels)


@pytest.fixture
def hub(config: Path, migrated_database_url: str) -> Iterator[Hub]:
    hub = open_test_hub(config, migrated_database_url)
    with transaction(hub.engine) as session:
        main = location_by_code(session, "main")
        for code in SKUS:
            count_stock(session, upsert_sku(session, code), main, STOCK)
    yield hub
    hub.engine.dispose()


@pytest.fixture
def sync(hub: Hub) -> Iterator[SyncEngine]:
    engine = engine_for(hub)
    for name in ("amz", "sb"):
        assert engine.run(name, "listings").status == "succeeded"
    yield engine
    engine.stop.set()
    engine.close()


def wait_for(what: str, check: Callable[[], Any], timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def orders_in_hub(hub: Hub) -> list[Order]:
    with Session(hub.engine) as session:
        return list(session.exec(select(Order).order_by(col(Order.id))))


def orders_run_done(hub: Hub) -> bool:
    """The hub's first orders run of the Amazon channel has ended (it runs at start). The
    sandbox channel's run ends too, at its own pace: only the Amazon channel's counts."""
    with Session(hub.engine) as session:
        return bool(
            session.exec(
                select(SyncRun.id)
                .join(Channel, col(Channel.id) == SyncRun.channel_id)
                .where(
                    Channel.name == "amz",
                    SyncRun.job == "orders",
                    col(SyncRun.finished_at).is_not(None),
                )
            ).first()
        )


def requests(amazon: AmazonSimulator, operation: str) -> int:
    return int(amazon.snapshot()["requests"].get(operation, 0))


def quarantined(hub: Hub) -> list[QuarantinedPayload]:
    with Session(hub.engine) as session:
        return list(session.exec(select(QuarantinedPayload)))


@dataclass(frozen=True)
class Listening:
    """A hub whose order-event listener hears the Amazon channel's queue, and the
    simulator and queue it hears them from."""

    hub: Hub
    sync: SyncEngine
    amazon: AmazonSimulator
    sqs: SqsServer
    queue: Queue

    def wait_for_an_order(self) -> None:
        wait_for("the order in the hub", lambda: orders_in_hub(self.hub))

    def wait_until_the_queue_is_empty(self, what: str = "the queue emptied") -> None:
        wait_for(what, lambda: waiting_messages(self.sqs, self.queue) == 0)


@pytest.fixture
def listening(
    hub: Hub, sync: SyncEngine, amazon: AmazonSimulator, sqs_server: SqsServer, queue: Queue
) -> Iterator[Listening]:
    listeners = EventListeners(sync, wait_seconds=1)
    assert listeners.refresh() == [f"listening to {next(iter(event_queues(sync)))} for amz"]
    yield Listening(hub, sync, amazon, sqs_server, queue)
    listeners.stop()


def test_an_order_arrives_by_its_notification_reserves_and_lowers_the_other_channel(
    hub: Hub, sync: SyncEngine, amazon: AmazonSimulator, marketplace: SandboxMarketplace
) -> None:
    scheduler = Scheduler(sync, push_poll=0.05, debounce=0.01, event_wait=1)
    scheduler.start()
    try:
        wait_for("the first push", lambda: marketplace.quantity("NT-1") == STOCK)
        wait_for("the orders run at start", lambda: orders_run_done(hub))
        searches = requests(amazon, "searchOrders")
        order = amazon.buy("NT-1", 2)
        assert order is not None
        stored = wait_for("the order in the hub", lambda: orders_in_hub(hub))
        assert [o.external_id for o in stored] == [order["AmazonOrderId"]]
        with Session(hub.engine) as session:
            reserved = session.exec(select(Reservation.quantity)).all()
        assert sum(reserved) == 2
        wait_for("the sandbox lowered", lambda: marketplace.quantity("NT-1") == STOCK - 2)
        assert requests(amazon, "searchOrders") == searches  # no poll brought it
        assert requests(amazon, "getOrder") == 1
    finally:
        scheduler.stop()


def test_a_malformed_message_is_quarantined_and_the_next_order_still_comes_in(
    listening: Listening,
) -> None:
    amazon = listening.amazon
    amazon.publish_raw_notification('{"NotificationType": "ORDER_CHANGE", "Payload": ')
    assert amazon.wait_for_notifications()
    order = amazon.buy("NT-2", 1)
    assert order is not None
    listening.wait_for_an_order()
    kept = quarantined(listening.hub)
    with Session(listening.hub.engine) as session:
        alert = session.exec(select(Alert).where(Alert.rule == RULE_QUARANTINE)).one()
    assert [(p.kind, p.raw) for p in kept] == [
        (QUARANTINED_NOTIFICATION, '{"NotificationType": "ORDER_CHANGE", "Payload": ')
    ]
    assert "not JSON" in kept[0].reason
    assert alert.state == AlertState.OPEN
    listening.wait_until_the_queue_is_empty()


def notification_for(
    amazon: AmazonSimulator, order_id: str, marketplace_id: str, *, seller: str | None = None
) -> str:
    order = next(o for o in amazon.orders() if o["AmazonOrderId"] == order_id)
    return json.dumps(
        {
            "NotificationVersion": "1.0",
            "NotificationType": "ORDER_CHANGE",
            "PayloadVersion": "1.0",
            "EventTime": order["LastUpdateDate"],
            "Payload": {
                "OrderChangeNotification": {
                    "NotificationLevel": "OrderLevel",
                    "SellerId": seller or amazon.seller_id,
                    "AmazonOrderId": order_id,
                    "OrderChangeType": "OrderStatusChange",
                    "OrderChangeTrigger": {
                        "TimeOfOrderChange": order["LastUpdateDate"],
                        "ChangeReason": "Test",
                    },
                    "Summary": {"MarketplaceId": marketplace_id, "OrderStatus": "Unshipped"},
                }
            },
            "NotificationMetadata": {"NotificationId": "test-redelivery"},
        }
    )


def test_a_repeated_notification_is_not_fetched_again_nor_another_marketplace_or_seller_taken(
    listening: Listening,
) -> None:
    amazon = listening.amazon
    order = amazon.buy("NT-3", 1)
    assert order is not None
    order_id = order["AmazonOrderId"]
    listening.wait_for_an_order()
    listening.wait_until_the_queue_is_empty()
    fetched = requests(amazon, "getOrder")
    amazon.publish_raw_notification(notification_for(amazon, order_id, amazon.marketplace_id))
    # The seller's Canadian marketplace, which no channel sells in: left alone.
    amazon.publish_raw_notification(notification_for(amazon, order_id, "A2EUQ1WTGCTBG2"))
    # Another seller's notification on this queue (a queue shared by mistake): kept.
    amazon.publish_raw_notification(
        notification_for(amazon, order_id, amazon.marketplace_id, seller="A1OTHERSELLER")
    )
    assert amazon.wait_for_notifications()
    listening.wait_until_the_queue_is_empty("every message taken")
    assert requests(amazon, "getOrder") == fetched
    kept = quarantined(listening.hub)
    assert len(kept) == 1
    assert "A1OTHERSELLER" in kept[0].reason
    assert len(orders_in_hub(listening.hub)) == 1


def test_a_broken_subscription_opens_order_events_missing_until_notifications_flow_again(
    listening: Listening,
) -> None:
    hub, sync, amazon = listening.hub, listening.sync, listening.amazon
    amazon.pause_notifications()
    for code in ("NT-1", "NT-2"):
        assert amazon.buy(code, 1) is not None
    time.sleep(ORDERS_LAG.total_seconds() + 1.1)  # searchOrders sees settled orders only
    assert sync.run("amz", "orders").status == "succeeded"
    with Session(hub.engine) as session:
        alert = session.exec(select(Alert).where(Alert.rule == RULE_EVENTS_MISSING)).one()
    assert alert.state == AlertState.OPEN
    assert alert.severity == AlertSeverity.CRITICAL
    assert "polling took in 2 order changes that no ORDER_CHANGE notification brought" in (
        alert.message or ""
    )
    amazon.resume_notifications()
    assert amazon.buy("NT-3", 1) is not None
    wait_for("the notified order", lambda: len(orders_in_hub(hub)) == 3)
    assert sync.run("amz", "orders").status == "succeeded"
    with Session(hub.engine) as session:
        states = session.exec(select(Alert.state).where(Alert.rule == RULE_EVENTS_MISSING)).all()
    assert states == [AlertState.RESOLVED]


def test_a_hub_killed_before_committing_a_notified_order_loses_nothing(
    hub: Hub,
    config: Path,
    migrated_database_url: str,
    env: dict[str, str],
    amazon: AmazonSimulator,
    sqs_server: SqsServer,
    queue: Queue,
) -> None:
    with hub_workers(config, migrated_database_url, config.parent / "workers", env=env):
        amazon.inject("getOrder", "slow", count=1, seconds=20)
        process = subprocess.Popen(
            [sys.executable, "-m", "omnisync.hub.cli", "--config-dir", str(config), "run"],
            env={**os.environ, **env, "OMNISYNC_DATABASE_URL": migrated_database_url},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for("the orders run at start", lambda: orders_run_done(hub))
            order = amazon.buy("NT-1", 1)
            assert order is not None
            # The hub has the message (in flight on the queue) and waits on getOrder.
            wait_for("the hub reading the order", lambda: requests(amazon, "getOrder") == 1)
            assert waiting_messages(sqs_server, queue) == 1
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=WAIT_S)
    assert orders_in_hub(hub) == []
    engine = engine_for(hub)
    listeners = EventListeners(engine, wait_seconds=1)
    listeners.refresh()
    try:
        stored = wait_for("the order after the message came back", lambda: orders_in_hub(hub))
        assert [o.external_id for o in stored] == [order["AmazonOrderId"]]
        wait_for("the message deleted", lambda: waiting_messages(sqs_server, queue) == 0)
        assert requests(amazon, "getOrder") == 2
    finally:
        listeners.stop()
        engine.stop.set()
        engine.close()
