"""Issue 16 end to end: the hub against the eBay simulator over real HTTP, next to the
Shopify and Amazon simulators (SQLite and PostgreSQL).

An eBay order reserves stock and lowers Shopify's and Amazon's quantities; a stock
change reaches eBay; a shipment with tracking reaches the eBay order; eBay's signed
notifications bring orders at once, a bad signature gets 412 and changes nothing, an
account deletion erases the buyer's data; a listing at its daily revision cap is held,
never refused for it, and catches up the next day.

Every exchange of every test here is checked against eBay's contracts at teardown
(`conforming_exchanges`): the connector's requests and the simulator's answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from omnisync.core.alerting import RULE_REVISION_CAP
from omnisync.core.catalog import location_by_code, sku_by_code, upsert_sku
from omnisync.core.clock import ManualClock
from omnisync.core.db import transaction
from omnisync.core.ledger import count_stock
from omnisync.core.models import Alert, Listing, Order, WebhookReceipt
from omnisync.core.shipping import record_shipment
from omnisync.core.types import AlertState, OrderStatus
from omnisync.hub.api import create_app
from omnisync.hub.bootstrap import Hub, bootstrap
from omnisync.hub.http_server import ServerRunner
from omnisync.sandbox.amazon import AmazonSimulator
from omnisync.sandbox.clock import ManualClock as SimulatorClock
from omnisync.sandbox.ebay import EbaySimulator
from omnisync.sandbox.shopify import ShopifySimulator
from omnisync.sync.engine import SyncEngine
from tests.support.e2e_runs import (
    listing_shop,
    open_stocked_hub,
    run_ok,
    stored_order,
    synced_engine,
)
from tests.support.ebay_contracts import check_request, check_response
from tests.support.hub_setup import (
    amazon_env,
    ebay_channel,
    ebay_env,
    settling_amazon_channel,
    shopify_channel,
    write_config,
)
from tests.support.simulators import served_fixtures

SHOP_TOKEN = "shpat_ebay_e2e_4d2a"
SHOP_SECRET = "shpss_ebay_e2e_8c1f"
CODES = ["MUG", "LID"]
VERIFICATION_TOKEN = "omnisync-e2e-verification-token-0123456789abcdef"
PUBLIC_ENDPOINT = "https://hub.example.com/webhooks/ebay/bay"
NOTIFICATION_WAIT_S = 10.0
LOCATION = "Main warehouse"

# The hub answers a notification after reading its order with getOrder, retries included:
# on a loaded machine that can outlast the simulator's usual 2 s, and the delivery would be
# recorded as unanswered rather than with the hub's answer.
served_ebay, ebay = served_fixtures(
    "ebay", lambda: EbaySimulator(name="bay", delivery_timeout_s=10.0)
)
served_amazon, amazon = served_fixtures(
    "amazon",
    lambda: AmazonSimulator(rate_scale=100.0, orders_lag=timedelta(seconds=0.5), feed_delay=0.0),
)


def assert_conforming(simulator: EbaySimulator) -> None:
    """Every request the connector sent and every answer the simulator gave conforms to
    eBay's contracts (the token endpoint is not in them)."""
    problems = []
    exchanges = [e for e in simulator.exchanges() if e.operation != "oauth2Token"]
    for exchange in exchanges:
        problems += check_request(
            exchange.operation,
            exchange.method,
            exchange.path,
            exchange.query,
            exchange.request_json,
        )
        problems += check_response(exchange.operation, exchange.status, exchange.response_json)
    assert exchanges, "the test made no eBay call"
    assert problems == []


@pytest.fixture
def conforming_exchanges(ebay: EbaySimulator) -> Iterator[EbaySimulator]:
    yield ebay
    assert_conforming(ebay)


@pytest.fixture
def shop() -> Iterator[ShopifySimulator]:
    with listing_shop(SHOP_TOKEN, SHOP_SECRET, CODES, LOCATION) as simulator:
        yield simulator


def notified_channel(simulator: EbaySimulator) -> str:
    return ebay_channel(
        simulator,
        extra=(
            "notification:\n"
            "  verification_token: ${EBAY_VERIFICATION_TOKEN}\n"
            f"  endpoint_url: {PUBLIC_ENDPOINT}\n"
        ),
    )


@pytest.fixture
def hub(
    tmp_path: Path,
    migrated_database_url: str,
    conforming_exchanges: EbaySimulator,
    amazon: AmazonSimulator,
    shop: ShopifySimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Hub]:
    ebay = conforming_exchanges
    environment = {
        **ebay_env(ebay),
        **amazon_env(amazon),
        "SHOP_TOKEN": SHOP_TOKEN,
        "SHOP_SECRET": SHOP_SECRET,
        "EBAY_VERIFICATION_TOKEN": VERIFICATION_TOKEN,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    ebay.seed_listings([{"sku": code, "title": code, "quantity": 0} for code in CODES])
    amazon.set_listings([{"sku": code} for code in CODES])
    channels = {
        "bay": notified_channel(ebay),
        "shop": shopify_channel(shop.url),
        "amz": settling_amazon_channel(amazon, timedelta(seconds=0.5)),
    }
    hub = open_stocked_hub(
        write_config(tmp_path / "config", channels), migrated_database_url, CODES, 10
    )
    yield hub
    hub.engine.dispose()


@pytest.fixture
def sync(hub: Hub) -> Iterator[SyncEngine]:
    with synced_engine(hub, ("bay", "shop", "amz")) as engine:
        yield engine


def test_an_ebay_order_reserves_stock_and_lowers_shopify_and_amazon(
    hub: Hub,
    sync: SyncEngine,
    ebay: EbaySimulator,
    shop: ShopifySimulator,
    amazon: AmazonSimulator,
) -> None:
    assert ebay.stock() == {"MUG": 10, "LID": 10}
    assert shop.available("MUG", LOCATION) == 10
    assert amazon.quantities()["MUG"] == 10

    order = ebay.buy("MUG", 3, buyer_username="jane_doe")
    assert run_ok(sync, "bay", "orders")["created"] == 1
    stored = stored_order(hub, order["orderId"])
    assert stored is not None
    assert stored.status == OrderStatus.ACCEPTED
    assert stored.buyer_ref == "jane_doe"

    run_ok(sync, "shop", "stock")
    run_ok(sync, "amz", "stock")
    run_ok(sync, "bay", "stock")
    assert shop.available("MUG", LOCATION) == 7
    assert amazon.quantities()["MUG"] == 7
    assert ebay.stock()["MUG"] == 7
    assert shop.available("LID", LOCATION) == 10


def test_a_stock_change_and_a_shipment_reach_ebay(
    hub: Hub, sync: SyncEngine, ebay: EbaySimulator
) -> None:
    with transaction(hub.engine) as session:
        count_stock(session, sku_by_code(session, "LID"), location_by_code(session, "main"), 25)
    run_ok(sync, "bay", "stock")
    assert ebay.stock()["LID"] == 25

    order = ebay.buy("LID", 2)
    run_ok(sync, "bay", "orders")
    with transaction(hub.engine) as session:
        row = session.exec(select(Order).where(Order.external_id == order["orderId"])).one()
        record_shipment(session, row, None, carrier="USPS", tracking_number="9400111899223344")
    assert run_ok(sync, "bay", "fulfilments")["pushed"] == 1
    (fulfilment,) = ebay.fulfillments(order["orderId"])
    assert fulfilment["shipmentTrackingNumber"] == "9400111899223344"
    assert fulfilment["shippingCarrierCode"] == "USPS"
    assert ebay.order(order["orderId"])["orderFulfillmentStatus"] == "FULFILLED"
    run_ok(sync, "bay", "orders")
    shipped = stored_order(hub, order["orderId"])
    assert shipped is not None
    assert shipped.status == OrderStatus.SHIPPED


def test_notifications_bring_orders_refuse_bad_signatures_and_erase_buyers(
    hub: Hub, sync: SyncEngine, ebay: EbaySimulator
) -> None:
    with ServerRunner(create_app(sync)) as server:
        endpoint = f"{server.url}/webhooks/ebay/bay"
        # eBay's check of the endpoint: right with our token and public URL, and only so.
        assert ebay.challenge(endpoint, VERIFICATION_TOKEN, PUBLIC_ENDPOINT)
        assert not ebay.challenge(endpoint, "another-token-" + "x" * 32, PUBLIC_ENDPOINT)

        ebay.send_notifications_to(endpoint)
        first = ebay.buy("MUG", 1, buyer_username="jane_doe")
        assert ebay.wait_for_notifications(NOTIFICATION_WAIT_S)
        taken = stored_order(hub, first["orderId"])  # no orders run: the notification
        assert taken is not None
        assert taken.customer is not None

        ebay.tamper_next()
        forged = ebay.buy("LID", 1)
        assert ebay.wait_for_notifications(NOTIFICATION_WAIT_S)
        assert stored_order(hub, forged["orderId"]) is None
        with Session(hub.engine) as session:
            receipts = session.exec(select(WebhookReceipt)).all()
        assert len(receipts) == 1  # the forged delivery left nothing behind

        confirmation = next(
            n for n in ebay.notifications() if n["data"].get("orderId") == first["orderId"]
        )
        ebay.redeliver(confirmation["notification_id"])
        ebay.delete_account("jane_doe")
        assert ebay.wait_for_notifications(NOTIFICATION_WAIT_S)

    statuses = [n["status_code"] for n in ebay.notifications()]
    assert statuses == [204, 412, 204]  # the forged one was refused
    attempts = [a["status_code"] for n in ebay.notifications() for a in n["attempts"]]
    assert attempts == [204, 204, 412, 204]  # the first and its redelivery (a duplicate)
    with Session(hub.engine) as session:
        assert len(session.exec(select(Order)).all()) == 1
    erased = stored_order(hub, first["orderId"])
    assert erased is not None
    assert (erased.customer, erased.ship_to, erased.buyer_ref) == (None, None, None)
    assert erased.personal_data_erased_at is not None
    # Polling, the backstop, then finds the forged one's order as it is.
    assert run_ok(sync, "bay", "orders")["created"] == 1


def test_a_notification_whose_order_ebay_cannot_give_is_answered_503_and_delivered_again(
    hub: Hub, sync: SyncEngine, ebay: EbaySimulator
) -> None:
    """getOrder fails (eBay answers 500, through every retry): nothing is stored, eBay
    hears 503 and delivers again, and the next delivery takes the order in."""
    with ServerRunner(create_app(sync)) as server:
        ebay.send_notifications_to(f"{server.url}/webhooks/ebay/bay")
        ebay.inject("getOrder", 500, count=20)
        order = ebay.buy("MUG", 1)
        assert ebay.wait_for_notifications(NOTIFICATION_WAIT_S)
        assert stored_order(hub, order["orderId"]) is None
        (notification,) = ebay.notifications()
        assert notification["status_code"] == 503
        ebay.faults.clear()
        ebay.redeliver(notification["notification_id"])
        assert ebay.wait_for_notifications(NOTIFICATION_WAIT_S)
    assert [a["status_code"] for a in ebay.notifications()[0]["attempts"]] == [503, 204]
    assert stored_order(hub, order["orderId"]) is not None


# the daily revision cap ---------------------------------------------------------------

START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Capped:
    simulator: EbaySimulator
    hub: Hub
    sync: SyncEngine
    hub_clock: ManualClock
    ebay_clock: SimulatorClock

    def both_at(self, moment: datetime) -> None:
        self.hub_clock.set(moment)
        self.ebay_clock.set(moment)


@pytest.fixture
def capped(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Capped]:
    """An eBay account and a hub alone, both on manual clocks at START, the account's one
    listing linked and showing the hub's 10."""
    hub_clock, ebay_clock = ManualClock(START), SimulatorClock(START)
    with EbaySimulator(name="bay", clock=ebay_clock) as simulator:
        for name, value in ebay_env(simulator).items():
            monkeypatch.setenv(name, value)
        simulator.seed_listings([{"sku": "MUG", "title": "Mug", "quantity": 0}])
        config = write_config(tmp_path / "config", {"bay": ebay_channel(simulator)})
        hub = bootstrap(config, database_url=migrated_database_url, create=True, clock=hub_clock)
        with transaction(hub.engine) as session:
            count_stock(session, upsert_sku(session, "MUG"), location_by_code(session, "main"), 10)
        with synced_engine(hub, ("bay",)) as sync:
            assert simulator.stock() == {"MUG": 10}
            yield Capped(simulator, hub, sync, hub_clock, ebay_clock)
        assert_conforming(simulator)
        hub.engine.dispose()


def set_count(hub: Hub, clock: ManualClock, quantity: int) -> None:
    clock.advance(timedelta(seconds=1))  # a run's lease ends at the moment it finishes
    with transaction(hub.engine) as session:
        count_stock(
            session, sku_by_code(session, "MUG"), location_by_code(session, "main"), quantity
        )


def bulk_calls(simulator: EbaySimulator) -> list[int]:
    """The status of each bulkUpdatePriceQuantity answer so far."""
    return [e.status for e in simulator.exchanges() if e.operation == "bulkUpdatePriceQuantity"]


def mug(hub: Hub) -> Listing:
    with Session(hub.engine) as session:
        return session.exec(select(Listing).where(Listing.channel_sku == "MUG")).one()


def cap_alert(hub: Hub) -> AlertState | None:
    with Session(hub.engine) as session:
        alert = session.exec(
            select(Alert).where(Alert.rule == RULE_REVISION_CAP).order_by(col(Alert.id).desc())
        ).first()
        return alert.state if alert is not None else None


def test_near_its_cap_a_listing_is_coalesced_never_refused_and_catches_up_tomorrow(
    capped: Capped,
) -> None:
    simulator, hub, sync, hub_clock, ebay_clock = (
        capped.simulator,
        capped.hub,
        capped.sync,
        capped.hub_clock,
        capped.ebay_clock,
    )
    # 239 revisions today already, counted by the hub and by eBay alike.
    simulator.set_revisions("MUG", 239)
    with transaction(hub.engine) as session:
        session.execute(
            update(Listing).where(col(Listing.channel_sku) == "MUG").values(revisions=239)
        )
    set_count(hub, hub_clock, 9)  # coalesced: one revision left before the reserve
    assert run_ok(sync, "bay", "stock")["held"] == 1
    coalesced = mug(hub)
    assert coalesced.held_until is not None
    assert coalesced.push_note is not None
    assert coalesced.push_note.startswith("coalescing: 239 of 250")
    assert simulator.stock() == {"MUG": 10}
    wait = coalesced.held_until - hub_clock.now()
    hub_clock.advance(wait)
    ebay_clock.advance(wait)
    run_ok(sync, "bay", "stock")  # its slice has come: the 240th revision
    assert simulator.stock() == {"MUG": 9}
    set_count(hub, hub_clock, 8)  # only the reserve is left: held until tomorrow
    assert run_ok(sync, "bay", "stock")["held"] == 1
    held = mug(hub)
    assert held.dirty
    assert held.held_until == datetime(2026, 6, 2, tzinfo=UTC)
    assert cap_alert(hub) == AlertState.OPEN
    set_count(hub, hub_clock, 0)  # a sell-out spends the reserve at once
    run_ok(sync, "bay", "stock")
    assert simulator.stock() == {"MUG": 0}
    set_count(hub, hub_clock, 12)
    run_ok(sync, "bay", "stock")
    assert simulator.stock() == {"MUG": 0}
    # eBay refused nothing (a 401 is the two-hour user token expiring while the clocks
    # moved hours on: the connector took a fresh one and sent the same call again).
    assert set(bulk_calls(simulator)) <= {200, 401}
    assert 200 in bulk_calls(simulator)
    assert simulator.revisions("MUG") == 241

    capped.both_at(datetime(2026, 6, 2, 0, 1, tzinfo=UTC))
    run_ok(sync, "bay", "stock")
    assert simulator.stock() == {"MUG": 12}
    caught_up = mug(hub)
    assert (caught_up.revisions, caught_up.push_note, caught_up.dirty) == (1, None, False)


def test_a_listing_revised_elsewhere_up_to_the_cap_is_held_not_retried(capped: Capped) -> None:
    simulator, hub, sync, hub_clock = capped.simulator, capped.hub, capped.sync, capped.hub_clock
    simulator.set_revisions("MUG", 250)  # the seller revised it in Seller Hub all day
    set_count(hub, hub_clock, 7)
    outcome = run_ok(sync, "bay", "stock")
    assert outcome.get("failed", 0) == 0
    assert bulk_calls(simulator)[-1] == 207  # refused once, for the cap
    refused = mug(hub)
    assert refused.held_until == datetime(2026, 6, 2, tzinfo=UTC)
    assert refused.push_note is not None
    assert "revision limit" in refused.push_note
    calls = len(bulk_calls(simulator))
    set_count(hub, hub_clock, 6)
    run_ok(sync, "bay", "stock")
    assert len(bulk_calls(simulator)) == calls  # not asked again today

    capped.both_at(datetime(2026, 6, 2, 6, 0, tzinfo=UTC))
    run_ok(sync, "bay", "stock")
    assert simulator.stock() == {"MUG": 6}
