"""Issue 6 end to end: orders from the Shopify and Amazon simulators shipped with
`omnisync orders ship`, their fulfilments pushed back, and the parcels tracked with
`omnisync sync tracking` against the carrier simulator (UPS, FedEx) over real HTTP,
on SQLite and PostgreSQL; and what happens when the carrier fails, refuses our
credentials, does not know a number, or stops a parcel.

The carrier simulator runs on a manual clock: a parcel moves one stage per minute of
it, and the test moves the clock (scans keep their times, as a real carrier's do).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from omnisync.core.alerting import RULE_AUTH
from omnisync.core.availability import available_to_sell
from omnisync.core.catalog import location_by_code, sku_by_code, upsert_sku
from omnisync.core.channels import channel_by_name
from omnisync.core.clock import utcnow
from omnisync.core.db import transaction
from omnisync.core.ledger import count_stock
from omnisync.core.models import Alert, Order, Shipment, StockLevel, SyncRun
from omnisync.core.tracking import RULE_CARRIER_EXCEPTION, RULE_TRACKING_UNKNOWN
from omnisync.core.types import (
    AlertSeverity,
    AlertState,
    OrderStatus,
    ShipmentStatus,
    SyncRunStatus,
)
from omnisync.hub.bootstrap import Hub
from omnisync.sandbox.amazon import AmazonSimulator
from omnisync.sandbox.carriers import CarrierSimulator
from omnisync.sandbox.clock import ManualClock
from omnisync.sandbox.shopify import ShopifySimulator
from omnisync.sync.engine import SyncEngine
from omnisync.sync.jobs.counts import RunCount
from tests.support.cli_runner import CliResult, invoke_cli
from tests.support.hub_setup import (
    FAST_RETRIES,
    amazon_channel,
    engine_for,
    open_test_hub,
    sandbox_channel,
    shopify_channel,
    write_config,
)

SHOP_TOKEN = "shpat_tracking_e2e_4d5e6f"
SHOP_SECRET = "shpss_tracking_e2e_7a8b"
SKUS = ("MUG", "LID")
STEP = timedelta(minutes=1)
"""The carrier simulator's time per stage (label, in transit, out for delivery, delivered)."""
ORDERS_LAG = timedelta(seconds=0.5)


def carrier_channel(provider: str, url: str, variable: str) -> str:
    """A carrier channel whose credentials come from `${VARIABLE_<FIELD>}` variables."""
    fields = {
        "ups": ("client_id", "client_secret"),
        "fedex": ("track_api_key", "track_secret_key"),
    }[provider]
    credentials = "".join(f"  {field}: ${{{variable}_{field.upper()}}}\n" for field in fields)
    return f"""\
type: carrier
provider: {provider}
endpoint: {url}
credentials:
{credentials}\
timeout_seconds: 5
sync: {{tracking_unknown_after: 1ms}}
"""


# A selling channel that is never called: only its available-to-sell is read.
IDLE_MARKET = sandbox_channel("http://127.0.0.1:9", key_var="IDLE_KEY")


@dataclass
class World:
    hub: Hub
    config_dir: Path
    database_url: str
    secrets: tuple[str, ...]
    carriers: CarrierSimulator
    clock: ManualClock

    def cli(self, *args: str) -> CliResult:
        return invoke_cli(self.config_dir, self.database_url, *args, secrets=self.secrets)

    def ok(self, *args: str) -> Any:
        return self.cli(*args, "--json").json()

    def engine(self) -> SyncEngine:
        return engine_for(self.hub)

    def move_parcels(self, steps: int) -> None:
        self.clock.advance(STEP * steps)

    def ats(self, channel: str, code: str) -> int:
        with Session(self.hub.engine) as session:
            sku_id = sku_by_code(session, code).id or 0
            return available_to_sell(session, channel_by_name(session, channel), [sku_id])[sku_id]

    def level(self, code: str) -> tuple[int, int]:
        with Session(self.hub.engine) as session:
            row = session.exec(
                select(StockLevel).where(StockLevel.sku_id == sku_by_code(session, code).id)
            ).one()
            return row.on_hand, row.reserved

    def order(self, external_id: str) -> Order:
        with Session(self.hub.engine) as session:
            return session.exec(select(Order).where(Order.external_id == external_id)).one()

    def alerts(self, rule: str) -> list[Alert]:
        with Session(self.hub.engine) as session:
            return list(session.exec(select(Alert).where(Alert.rule == rule)))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(utcnow() - timedelta(hours=1))


@pytest.fixture
def carriers(clock: ManualClock) -> Iterator[CarrierSimulator]:
    with CarrierSimulator(seconds_per_step=STEP.total_seconds(), clock=clock) as simulator:
        yield simulator


@pytest.fixture
def shop() -> Iterator[ShopifySimulator]:
    with ShopifySimulator(SHOP_TOKEN, client_secret=SHOP_SECRET) as simulator:
        simulator.add_location("Main warehouse")
        simulator.set_catalogue([{"sku": code, "title": code, "quantity": 20} for code in SKUS])
        yield simulator


@pytest.fixture
def amazon() -> Iterator[AmazonSimulator]:
    with AmazonSimulator(rate_scale=100.0, orders_lag=ORDERS_LAG, feed_delay=0.0) as simulator:
        simulator.set_listings([{"sku": code, "quantity": 20} for code in SKUS])
        yield simulator


def carrier_env(carriers: CarrierSimulator, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Sets UPS_* and FEDEX_* to the credentials the simulator lets in; returns them."""
    values = []
    for provider in ("ups", "fedex"):
        for field, value in carriers.credentials(provider).items():
            monkeypatch.setenv(f"{provider.upper()}_{field.upper()}", value)
            values.append(value)
    return values


def make_world(
    tmp_path: Path,
    database_url: str,
    channels: dict[str, str],
    carriers: CarrierSimulator,
    clock: ManualClock,
    secrets: list[str],
) -> World:
    config_dir = write_config(tmp_path / "config", channels, locations=("main",))
    hub = open_test_hub(config_dir, database_url)
    with transaction(hub.engine) as session:
        main = location_by_code(session, "main")
        for code in SKUS:
            count_stock(session, upsert_sku(session, code), main, 20)
    return World(hub, config_dir, database_url, tuple(secrets), carriers, clock)


@pytest.fixture
def shop_world(
    tmp_path: Path,
    migrated_database_url: str,
    shop: ShopifySimulator,
    carriers: CarrierSimulator,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    monkeypatch.setenv("SHOP_TOKEN", SHOP_TOKEN)
    monkeypatch.setenv("SHOP_SECRET", SHOP_SECRET)
    monkeypatch.setenv("IDLE_KEY", "idle-market-key")
    monkeypatch.setenv("BAD_CLIENT_ID", carriers.credentials("ups")["client_id"])
    monkeypatch.setenv("BAD_CLIENT_SECRET", "not-the-ups-client-secret-93a1")
    secrets = [SHOP_TOKEN, SHOP_SECRET, "not-the-ups-client-secret-93a1"]
    secrets += carrier_env(carriers, monkeypatch)
    channels = {
        "shop": shopify_channel(shop.url),
        "market": IDLE_MARKET,
        "ups": carrier_channel("ups", carriers.url, "UPS"),
        "ups-bad": carrier_channel("ups", carriers.url, "BAD"),
    }
    world = make_world(tmp_path, migrated_database_url, channels, carriers, clock, secrets)
    yield world
    world.hub.engine.dispose()


def shopify_order(world: World, shop: ShopifySimulator, *lines: tuple[str, int]) -> str:
    """Place an order on Shopify and pull it into the hub; its channel order id."""
    placed = shop.buy_many(list(lines))
    assert placed is not None
    engine = world.engine()
    try:
        assert engine.run("shop", "orders").counts[RunCount.CREATED] == 1
    finally:
        engine.close()
    with Session(world.hub.engine) as session:
        order = session.exec(select(Order).order_by(col(Order.id).desc())).first()
        assert order is not None
        return order.external_id


def test_a_shopify_order_shipped_with_ups_is_fulfilled_then_delivered(
    shop_world: World, shop: ShopifySimulator, carriers: CarrierSimulator
) -> None:
    world = shop_world
    order_id = shopify_order(world, shop, ("MUG", 2), ("LID", 1))
    assert world.level("MUG") == (20, 2)
    market_before = {code: world.ats("market", code) for code in SKUS}
    number = carriers.create_shipment(provider="ups")

    shipped = world.ok("orders", "ship", order_id, "--carrier", "ups", "--tracking", number)

    assert shipped["order"]["status"] == "shipped"
    assert shipped["shipment"]["carrier_channel"] == "ups"
    # What the marketplace is told: the carrier's name (the provider's, without a label).
    assert shipped["shipment"]["carrier"] == "UPS"
    # Stock after shipping: on hand and reserved both drop by the units shipped, and no
    # other channel's available-to-sell moves because of it.
    assert (world.level("MUG"), world.level("LID")) == ((18, 0), (19, 0))
    assert {code: world.ats("market", code) for code in SKUS} == market_before

    (pushed,) = world.ok("sync", "fulfilments", "--channel", "shop")
    assert (pushed["status"], pushed["counts"]["pushed"]) == ("succeeded", 1)
    (fulfillment,) = shop.fulfillments(order_id)
    assert fulfillment["tracking_number"] == number
    assert fulfillment["tracking_company"] == shipped["shipment"]["carrier"]
    assert sorted((line["sku"], line["quantity"]) for line in fulfillment["line_items"]) == [
        ("LID", 1),
        ("MUG", 2),
    ]

    (first,) = world.ok("sync", "tracking", "--channel", "ups")
    assert (first["status"], first["counts"]["tracked"], first["counts"]["events"]) == (
        "succeeded",
        1,
        1,
    )
    assert world.order(order_id).status == OrderStatus.SHIPPED

    world.move_parcels(3)
    (second,) = world.ok("sync", "tracking", "--channel", "ups")
    assert second["status"] == "succeeded"
    assert {key: second["counts"][key] for key in ("events", "delivered", "orders_delivered")} == {
        "events": 3,
        "delivered": 1,
        "orders_delivered": 1,
    }
    assert world.order(order_id).status == OrderStatus.DELIVERED
    shown = world.ok("orders", "show", order_id)
    (shipment,) = shown["shipments"]
    assert shipment["status"] == "delivered"
    assert shipment["delivered_at"] is not None
    assert number in shipment["tracking_url"]  # the carrier's own page, learned by tracking
    assert [event["code"] for event in shipment["events"]] == ["MP", "DP", "OT", "KB"]
    assert all(
        set(event) == {"at", "code", "description", "location"} for event in shipment["events"]
    )

    # Delivered parcels are not asked about again.
    (third,) = world.ok("sync", "tracking", "--channel", "ups")
    assert third["counts"].get("tracked", 0) == 0


@pytest.fixture
def amazon_world(
    tmp_path: Path,
    migrated_database_url: str,
    amazon: AmazonSimulator,
    carriers: CarrierSimulator,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    credentials = amazon.credentials
    monkeypatch.setenv("AMZ_REFRESH_TOKEN", credentials.refresh_token)
    monkeypatch.setenv("AMZ_APP_ID", credentials.client_id)
    monkeypatch.setenv("AMZ_CLIENT_SECRET", credentials.client_secret)
    monkeypatch.setenv("IDLE_KEY", "idle-market-key")
    secrets = [credentials.refresh_token, credentials.client_secret]
    secrets += carrier_env(carriers, monkeypatch)
    channels = {
        "amz": amazon_channel(
            amazon,
            extra=f"timeout_seconds: 10\norders_settle_seconds: {ORDERS_LAG.total_seconds()}\n"
            "sync: {lag: 2m, backfill: 1d}\n",
        ),
        "market": IDLE_MARKET,
        "fedex": carrier_channel("fedex", carriers.url, "FEDEX"),
    }
    world = make_world(tmp_path, migrated_database_url, channels, carriers, clock, secrets)
    yield world
    world.hub.engine.dispose()


def test_an_amazon_order_shipped_with_fedex_is_confirmed_then_delivered(
    amazon_world: World, amazon: AmazonSimulator, carriers: CarrierSimulator
) -> None:
    world = amazon_world
    order_id = str(amazon.place_order([("MUG", 3)])["AmazonOrderId"])
    # Its last update moved back past the settle window, as if a few seconds had gone by.
    amazon.touch_order(order_id, at=utcnow() - 4 * ORDERS_LAG)
    (pulled,) = world.ok("sync", "orders", "--channel", "amz")
    assert pulled["counts"]["created"] == 1, pulled
    assert world.level("MUG") == (20, 3)
    market_before = world.ats("market", "MUG")
    number = carriers.create_shipment(provider="fedex")

    shipped = world.ok(
        "orders", "ship", order_id, "--carrier", "fedex", "--tracking", number,
        "--line", "MUG:3", "--service", "FEDEX_GROUND",
    )  # fmt: skip

    assert shipped["order"]["status"] == "shipped"
    assert world.level("MUG") == (17, 0)
    assert world.ats("market", "MUG") == market_before
    (pushed,) = world.ok("sync", "fulfilments", "--channel", "amz")
    assert (pushed["status"], pushed["counts"]["pushed"]) == ("succeeded", 1)
    (confirmation,) = amazon.shipment_confirmations(order_id)
    package = confirmation["packageDetail"]
    assert (package["carrierCode"], package["trackingNumber"]) == ("FedEx", number)
    assert package["shippingMethod"] == "FEDEX_GROUND"

    world.move_parcels(1)
    (moving,) = world.ok("sync", "tracking", "--channel", "fedex")
    assert (moving["status"], moving["counts"]["events"]) == ("succeeded", 2)
    assert world.ok("orders", "show", order_id)["shipments"][0]["status"] == "in_transit"

    world.move_parcels(2)
    (arrived,) = world.ok("sync", "tracking", "--channel", "fedex")
    assert (arrived["counts"]["delivered"], arrived["counts"]["orders_delivered"]) == (1, 1)
    assert world.order(order_id).status == OrderStatus.DELIVERED
    (shipment,) = world.ok("orders", "show", order_id)["shipments"]
    assert shipment["status"] == "delivered"
    assert [event["code"] for event in shipment["events"]] == ["OC", "IT", "OD", "DL"]


def test_a_carrier_answering_500_is_retried_and_the_run_fails_when_it_keeps_failing(
    shop_world: World, shop: ShopifySimulator, carriers: CarrierSimulator
) -> None:
    world = shop_world
    order_id = shopify_order(world, shop, ("MUG", 1))
    number = carriers.create_shipment(provider="ups")
    world.ok("orders", "ship", order_id, "--carrier", "ups", "--tracking", number)
    engine = world.engine()
    try:
        carriers.inject("ups.track", 500, count=2)
        recovered = engine.run("ups", "tracking")
        asked = carriers.traffic()["requests"].get("ups.track", 0)
        carriers.inject("ups.track", 500, count=100)
        failed = engine.run("ups", "tracking")
    finally:
        engine.close()

    assert recovered.status == "succeeded", recovered.error
    assert asked == 3  # two 500s, then the answer
    assert failed.status == "failed"
    assert failed.error is not None
    assert "500" in failed.error
    track_calls = carriers.traffic()["requests"]["ups.track"] - asked
    assert track_calls == FAST_RETRIES.attempts
    with Session(world.hub.engine) as session:
        statuses = [
            run.status
            for run in session.exec(
                select(SyncRun).where(SyncRun.job == "tracking").order_by(col(SyncRun.id))
            )
        ]
        assert statuses == [SyncRunStatus.SUCCEEDED, SyncRunStatus.FAILED]
        (shipment,) = session.exec(select(Shipment)).all()
        assert shipment.status == ShipmentStatus.LABEL_CREATED


def test_refused_carrier_credentials_raise_an_auth_alert(
    shop_world: World, shop: ShopifySimulator, carriers: CarrierSimulator
) -> None:
    world = shop_world
    order_id = shopify_order(world, shop, ("MUG", 1))
    number = carriers.create_shipment(provider="ups")
    world.ok("orders", "ship", order_id, "--carrier", "ups-bad", "--tracking", number)

    refused = world.cli("sync", "tracking", "--channel", "ups-bad", "--json")

    assert refused.exit_code == 1, refused
    (outcome,) = json.loads(refused.stdout)
    assert (outcome["status"], outcome["error"].split(":")[0]) == ("failed", "AuthError")
    (alert,) = world.alerts(RULE_AUTH)
    assert (alert.state, alert.severity) == (AlertState.OPEN, AlertSeverity.CRITICAL)
    with Session(world.hub.engine) as session:
        paused = channel_by_name(session, "ups-bad").paused_reason
        assert paused is not None
        assert alert.channel_id == channel_by_name(session, "ups-bad").id
    assert "not-the-ups-client-secret-93a1" not in paused + alert.message


def test_unknown_numbers_are_reported_and_stopped_parcels_raise_alerts(
    shop_world: World, shop: ShopifySimulator, carriers: CarrierSimulator
) -> None:
    world = shop_world
    orders = [shopify_order(world, shop, ("MUG", 1)) for _ in range(3)]
    stuck, back = (carriers.create_shipment(provider="ups") for _ in range(2))
    for order_id, number in zip(orders, (stuck, back, "1ZNOSUCHPARCEL0001"), strict=True):
        world.ok("orders", "ship", order_id, "--carrier", "ups", "--tracking", number)
    world.move_parcels(1)
    carriers.set_outcome(stuck, "exception")
    carriers.set_outcome(back, "returned_to_sender")

    (outcome,) = world.ok("sync", "tracking", "--channel", "ups")

    assert outcome["status"] == "succeeded"
    assert (outcome["counts"]["unknown"], outcome["counts"]["exceptions"]) == (1, 2)
    assert outcome["notes"] == ["tracking numbers unknown to the carrier: 1ZNOSUCHPARCEL0001"]
    (unknown,) = world.alerts(RULE_TRACKING_UNKNOWN)  # past the channel's 1ms
    assert unknown.details is not None
    assert unknown.details["tracking_number"] == "1ZNOSUCHPARCEL0001"
    assert unknown.details["order"] == f"shop:{orders[2]}"
    (trouble,) = world.alerts(RULE_CARRIER_EXCEPTION)
    assert (trouble.state, trouble.severity, trouble.count) == (
        AlertState.OPEN,
        AlertSeverity.CRITICAL,
        2,
    )
    assert trouble.details is not None
    listed = {item["tracking_number"]: item["status"] for item in trouble.details["shipments"]}
    assert listed == {stuck: "exception", back: "returned_to_sender"}
    stuck_order, back_order = (world.ok("orders", "show", order_id) for order_id in orders[:2])
    assert stuck_order["shipments"][0]["status"] == "exception"
    assert back_order["shipments"][0]["status"] == "returned_to_sender"
    assert back_order["status"] == "shipped"  # back with the shipper: not delivered


def test_a_delivered_order_stays_delivered_while_shopify_lags_behind(
    shop_world: World, shop: ShopifySimulator, carriers: CarrierSimulator
) -> None:
    """Both parcels arrive before the second fulfilment reaches Shopify: the next polls,
    which still say partially fulfilled, do not take the order back to shipped."""
    world = shop_world
    order_id = shopify_order(world, shop, ("MUG", 2), ("LID", 1))
    first, second = (carriers.create_shipment(provider="ups") for _ in range(2))
    world.ok("orders", "ship", order_id, "--carrier", "ups", "--tracking", first, "--line", "MUG:2")
    (pushed,) = world.ok("sync", "fulfilments", "--channel", "shop")
    assert pushed["counts"]["pushed"] == 1
    (pulled,) = world.ok("sync", "orders", "--channel", "shop")
    assert pulled["status"] == "succeeded", pulled
    assert world.order(order_id).status == OrderStatus.PARTIALLY_SHIPPED
    world.ok("orders", "ship", order_id, "--carrier", "ups", "--tracking", second)

    world.move_parcels(3)
    (tracked,) = world.ok("sync", "tracking", "--channel", "ups")

    assert (tracked["counts"]["delivered"], tracked["counts"]["orders_delivered"]) == (2, 1)
    assert world.order(order_id).status == OrderStatus.DELIVERED
    shop.touch_order(order_id)  # changed on Shopify, which has not heard of the second parcel
    (lagging,) = world.ok("sync", "orders", "--channel", "shop")
    assert lagging["counts"]["updated"] >= 1, lagging
    assert world.order(order_id).channel_status == "PARTIALLY_FULFILLED"
    assert world.order(order_id).status == OrderStatus.DELIVERED
    # The second fulfilment reaches Shopify at last: fulfilled, and still delivered.
    world.ok("sync", "fulfilments", "--channel", "shop")
    world.ok("sync", "orders", "--channel", "shop")
    assert world.order(order_id).channel_status == "FULFILLED"
    assert world.order(order_id).status == OrderStatus.DELIVERED
    assert world.ok("orders", "show", order_id)["status"] == "delivered"
