"""Issue 17 end to end: the hub against the WooCommerce simulator over real HTTP, next to
the Shopify and eBay simulators (SQLite and PostgreSQL).

A WooCommerce order reserves stock and lowers Shopify's and eBay's quantities; the same
order delivered three times by webhook and once by polling is one order, reserved once;
a bad signature gets 401 and stores nothing; a stock change goes out in one batch call
per 100 changes; a shipment completes the order with a tracking note; a sale the hub has
not heard of when it raises a product's stock is not given back to the shop.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from omnisync.core.catalog import location_by_code, sku_by_code, upsert_sku
from omnisync.core.db import transaction
from omnisync.core.ledger import count_stock
from omnisync.core.models import Order, OrderLine, Reservation, WebhookReceipt
from omnisync.core.shipping import record_shipment
from omnisync.core.types import OrderStatus, ReservationState
from omnisync.hub.api import create_app
from omnisync.hub.bootstrap import Hub
from omnisync.hub.http_server import ServerRunner
from omnisync.sandbox.ebay import EbaySimulator
from omnisync.sandbox.shopify import ShopifySimulator
from omnisync.sandbox.woocommerce import WooCommerceSimulator
from omnisync.sync.engine import SyncEngine
from tests.support.e2e_runs import (
    listing_shop,
    open_stocked_hub,
    run_ok,
    stored_order,
    synced_engine,
)
from tests.support.hub_setup import (
    ebay_channel,
    ebay_env,
    shopify_channel,
    woocommerce_channel,
    woocommerce_env,
    write_config,
)
from tests.support.simulators import served_fixtures

SHOP_TOKEN = "shpat_woo_e2e_51c0"
SHOP_SECRET = "shpss_woo_e2e_a7d3"
CODES = ["MUG", "LID"]
LOCATION = "Main warehouse"
DELIVERY_WAIT_S = 10.0
MANY = 150
"""SKUs of the batch test: one and a half batches of WooCommerce's 100."""

served_woo, woo = served_fixtures(
    "woo", lambda: WooCommerceSimulator(name="woo", duplicate_deliveries=2)
)
served_ebay, ebay = served_fixtures("ebay", lambda: EbaySimulator(name="bay"))


@pytest.fixture
def shop() -> Iterator[ShopifySimulator]:
    with listing_shop(SHOP_TOKEN, SHOP_SECRET, CODES, LOCATION) as simulator:
        yield simulator


@pytest.fixture
def hub(
    tmp_path: Path,
    migrated_database_url: str,
    woo: WooCommerceSimulator,
    ebay: EbaySimulator,
    shop: ShopifySimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Hub]:
    environment = {
        **woocommerce_env(woo),
        **ebay_env(ebay),
        "SHOP_TOKEN": SHOP_TOKEN,
        "SHOP_SECRET": SHOP_SECRET,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    woo.seed_products(
        [{"sku": code, "name": code, "stock_quantity": 0, "manage_stock": True} for code in CODES]
    )
    ebay.seed_listings([{"sku": code, "title": code, "quantity": 0} for code in CODES])
    channels = {
        "woo": woocommerce_channel(woo),
        "bay": ebay_channel(ebay),
        "shop": shopify_channel(shop.url),
    }
    hub = open_stocked_hub(
        write_config(tmp_path / "config", channels), migrated_database_url, CODES, 10
    )
    yield hub
    hub.engine.dispose()


@pytest.fixture
def sync(hub: Hub) -> Iterator[SyncEngine]:
    with synced_engine(hub, ("woo", "bay", "shop")) as engine:
        yield engine


def reserved_units(hub: Hub, external_id: str) -> int:
    with Session(hub.engine) as session:
        total = session.exec(
            select(func.coalesce(func.sum(Reservation.quantity), 0))
            .join(OrderLine, col(OrderLine.id) == Reservation.order_line_id)
            .join(Order, col(Order.id) == OrderLine.order_id)
            .where(Order.external_id == external_id, Reservation.state == ReservationState.ACTIVE)
        ).one()
    return int(total)


def calls(simulator: WooCommerceSimulator, operation: str) -> int:
    return sum(1 for request in simulator.requests() if request["operation"] == operation)


def test_a_woocommerce_order_reserves_stock_and_lowers_shopify_and_ebay(
    hub: Hub,
    sync: SyncEngine,
    woo: WooCommerceSimulator,
    ebay: EbaySimulator,
    shop: ShopifySimulator,
) -> None:
    assert woo.stock() == {"MUG": 10, "LID": 10}
    assert shop.available("MUG", LOCATION) == 10
    assert ebay.stock()["MUG"] == 10

    order = woo.buy("MUG", 3)
    assert woo.stock()["MUG"] == 7  # WooCommerce takes the units itself
    assert run_ok(sync, "woo", "orders")["created"] == 1
    stored = stored_order(hub, str(order["id"]))
    assert stored is not None
    assert stored.status == OrderStatus.ACCEPTED
    assert stored.display_name == f"#{order['number']}"
    assert reserved_units(hub, str(order["id"])) == 3

    run_ok(sync, "shop", "stock")
    run_ok(sync, "bay", "stock")
    run_ok(sync, "woo", "stock")
    assert shop.available("MUG", LOCATION) == 7
    assert ebay.stock()["MUG"] == 7
    assert woo.stock() == {"MUG": 7, "LID": 10}


def test_three_webhook_deliveries_and_a_poll_of_one_order_make_one_order_and_a_forgery_401(
    hub: Hub, sync: SyncEngine, woo: WooCommerceSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ServerRunner(create_app(sync)) as server:
        woo.send_webhooks_to(f"{server.url}/webhooks/woocommerce/woo")
        assert woo.wait_for_deliveries(DELIVERY_WAIT_S)
        order = woo.buy("LID", 2)  # order.created, then two more deliveries of it
        assert woo.wait_for_deliveries(DELIVERY_WAIT_S)
        taken = stored_order(hub, str(order["id"]))  # no orders run: the webhooks
        assert taken is not None

        monkeypatch.setattr(woo, "duplicate_deliveries", 0)  # the forgery comes once
        woo.tamper_next()
        forged = woo.buy("MUG", 1)
        assert woo.wait_for_deliveries(DELIVERY_WAIT_S)

    deliveries = [d for d in woo.deliveries() if d["topic"] != "ping"]
    ours = [d for d in deliveries if d["body"].get("id") == order["id"]]
    assert len(ours) >= 3
    assert {d["status_code"] for d in ours} == {200}
    assert len({d["delivery_id"] for d in ours}) == len(ours)
    refused = [d for d in deliveries if d["body"].get("id") == forged["id"]]
    assert refused[0]["status_code"] == 401
    assert stored_order(hub, str(forged["id"])) is None
    with Session(hub.engine) as session:
        receipts = session.exec(select(WebhookReceipt)).all()
        orders = session.exec(select(Order)).all()
    assert len(orders) == 1
    # The forged delivery left nothing behind, not even its receipt.
    assert len(receipts) == len(ours)
    assert all(receipt.delivery_id != refused[0]["delivery_id"] for receipt in receipts)

    # Polling reads the order again: still one, reserved once; the forged one's order
    # comes in by polling, as it is.
    assert run_ok(sync, "woo", "orders")["created"] == 1
    with Session(hub.engine) as session:
        assert len(session.exec(select(Order)).all()) == 2
    assert reserved_units(hub, str(order["id"])) == 2


def test_a_stock_change_goes_out_in_one_batch_call_per_100_changes(
    hub: Hub, sync: SyncEngine, woo: WooCommerceSimulator
) -> None:
    codes = [f"BULK-{n:03d}" for n in range(MANY)]
    woo.seed_products(
        [{"sku": code, "name": code, "stock_quantity": 0, "manage_stock": True} for code in codes]
    )
    with transaction(hub.engine) as session:
        main = location_by_code(session, "main")
        for code in codes:
            upsert_sku(session, code)
    run_ok(sync, "woo", "listings")
    run_ok(sync, "woo", "stock")
    before = calls(woo, "batchProducts")
    with transaction(hub.engine) as session:
        main = location_by_code(session, "main")
        for number, code in enumerate(codes):
            count_stock(session, sku_by_code(session, code), main, number + 1)
    counts = run_ok(sync, "woo", "stock")
    assert counts["acknowledged"] == MANY
    assert calls(woo, "batchProducts") - before == 2  # 100, then 50
    stock = woo.stock()
    assert all(stock[code] == number + 1 for number, code in enumerate(codes))


def test_a_shipment_completes_the_order_with_a_tracking_note(
    hub: Hub, sync: SyncEngine, woo: WooCommerceSimulator
) -> None:
    order = woo.buy("LID", 2)
    run_ok(sync, "woo", "orders")
    with transaction(hub.engine) as session:
        row = session.exec(select(Order).where(Order.external_id == str(order["id"]))).one()
        record_shipment(session, row, None, carrier="UPS", tracking_number="1Z999AA10123456784")
    assert run_ok(sync, "woo", "fulfilments")["pushed"] == 1
    assert woo.order(order["id"])["status"] == "completed"
    notes = [note["note"] for note in woo.notes(order["id"])]
    assert any("1Z999AA10123456784" in note and "UPS" in note for note in notes)
    run_ok(sync, "woo", "orders")
    shipped = stored_order(hub, str(order["id"]))
    assert shipped is not None
    assert shipped.status == OrderStatus.SHIPPED


def test_a_sale_the_hub_has_not_heard_of_is_not_given_back_when_stock_rises(
    hub: Hub, sync: SyncEngine, woo: WooCommerceSimulator
) -> None:
    """WooCommerce has no compare-and-set: the hub reads before it writes. A unit sold in
    the shop after the hub's last push, and not yet in the hub, stays sold when the hub
    raises the quantity; once the order is in, the figures agree."""
    order = woo.buy("MUG", 1)  # the shop now holds 9; the hub has not heard
    with transaction(hub.engine) as session:
        count_stock(session, sku_by_code(session, "MUG"), location_by_code(session, "main"), 15)
    run_ok(sync, "woo", "stock")
    assert woo.stock()["MUG"] == 14  # 15, less the unit the shop sold

    run_ok(sync, "woo", "orders")
    assert reserved_units(hub, str(order["id"])) == 1
    run_ok(sync, "woo", "stock")
    run_ok(sync, "woo", "reconcile")
    assert woo.stock()["MUG"] == 14  # the hub's 15 less the order's reserved unit
