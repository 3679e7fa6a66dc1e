"""Issue 18's Shopify acceptance end to end, over real HTTP against the Shopify and
WooCommerce simulators (SQLite and PostgreSQL), through the operator's commands.

A Shopify order of 3 units ships; the buyer asks to return 2; the hub approves it and
receives 1 sellable and 1 damaged with the refund: on hand rises by exactly 1 at the
chosen location, every channel's quantity rises by 1, Shopify holds RESTOCKED 1 and
NOT_RESTOCKED 1 with the refund, and the order reads returned in part. Shopify's own
restock of the unit does not leave it a unit ahead of the hub, and the refund, which
Shopify counts out of the line, does not unship it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from omnisync.core.db import transaction
from omnisync.core.models import Channel, Listing, OrderLine, Return
from omnisync.core.shipping import record_shipment
from omnisync.core.types import OrderReturnState, RefundState, ReturnStatus
from omnisync.hub.bootstrap import Hub
from omnisync.sandbox.shopify import ShopifySimulator
from omnisync.sandbox.woocommerce import WooCommerceSimulator
from omnisync.sync.engine import SyncEngine
from tests.support.cli_runner import CliResult, invoke_cli
from tests.support.e2e_runs import (
    listing_shop,
    open_stocked_hub,
    run_ok,
    stored_order,
    synced_engine,
)
from tests.support.hub_setup import (
    shopify_channel,
    woocommerce_channel,
    woocommerce_env,
    write_config,
)
from tests.support.simulators import served_fixtures
from tests.support.world import level

SHOP_TOKEN = "shpat_returns_e2e_4d2a"
SHOP_SECRET = "shpss_returns_e2e_8b1c"
CODES = ["MUG"]
LOCATION = "Main warehouse"

served_woo, woo = served_fixtures("woo", lambda: WooCommerceSimulator(name="woo"))


@pytest.fixture
def shop() -> Iterator[ShopifySimulator]:
    with listing_shop(SHOP_TOKEN, SHOP_SECRET, CODES, LOCATION) as simulator:
        yield simulator


@pytest.fixture
def config(tmp_path: Path, woo: WooCommerceSimulator, shop: ShopifySimulator) -> Path:
    woo.seed_products([{"sku": "MUG", "name": "MUG", "stock_quantity": 0, "manage_stock": True}])
    channels = {"shop": shopify_channel(shop.url), "woo": woocommerce_channel(woo)}
    return write_config(tmp_path / "config", channels)


@pytest.fixture
def environment(woo: WooCommerceSimulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {**woocommerce_env(woo), "SHOP_TOKEN": SHOP_TOKEN, "SHOP_SECRET": SHOP_SECRET}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def hub(config: Path, empty_database_url: str, environment: dict[str, str]) -> Iterator[Hub]:
    hub = open_stocked_hub(config, empty_database_url, CODES, 10)
    yield hub
    hub.engine.dispose()


@pytest.fixture
def sync(hub: Hub) -> Iterator[SyncEngine]:
    with synced_engine(hub, ("shop", "woo")) as engine:
        yield engine


def dirty_channels(hub: Hub) -> set[str]:
    with Session(hub.engine) as session:
        rows = session.exec(
            select(Channel.name)
            .join(Listing, col(Listing.channel_id) == Channel.id)
            .where(col(Listing.dirty).is_(True))
        )
        return set(rows)


def test_a_shopify_return_is_approved_received_restocked_and_refunded(
    hub: Hub,
    sync: SyncEngine,
    shop: ShopifySimulator,
    woo: WooCommerceSimulator,
    config: Path,
    empty_database_url: str,
    environment: dict[str, str],
) -> None:
    def omnisync(*args: str) -> CliResult:
        outcome = invoke_cli(
            config, empty_database_url, *args, env=environment, secrets=environment.values()
        )
        assert outcome.exit_code == 0, outcome
        return outcome

    placed = shop.buy("MUG", 3)
    assert placed is not None
    run_ok(sync, "shop", "orders")
    stored = stored_order(hub, placed["id"])
    assert stored is not None
    with transaction(hub.engine) as session:
        record_shipment(session, stored, None, carrier="UPS", tracking_number="1Z999AA10123456784")
    run_ok(sync, "shop", "fulfilments")
    for channel in ("shop", "woo"):
        run_ok(sync, channel, "stock")
    assert (shop.available("MUG", LOCATION), woo.stock()["MUG"]) == (7, 7)
    assert level(hub.engine, "MUG", "main") == (7, 0)

    asked = shop.request_return(placed["id"], [("MUG", 2)], reason="SIZE_TOO_SMALL")
    assert run_ok(sync, "shop", "returns")["created"] == 1
    listed = omnisync("returns", "list", "--json").json()
    (ret,) = listed if isinstance(listed, list) else listed["returns"]
    assert ret["status"] == ReturnStatus.REQUESTED

    omnisync("returns", "approve", str(ret["id"]))
    run_ok(sync, "shop", "returns")
    assert shop.get_return(asked["id"])["status"] == "OPEN"

    omnisync(
        "returns",
        "receive",
        str(ret["id"]),
        "--line",
        "MUG:1:restock",
        "--line",
        "MUG:1:damaged",
        "--location",
        "main",
        "--refund",
    )
    assert level(hub.engine, "MUG", "main") == (8, 0)  # exactly the sellable unit came back
    assert dirty_channels(hub) == {"shop", "woo"}  # every channel is owed the new figure
    for channel in ("shop", "woo"):
        run_ok(sync, channel, "stock")
    assert (shop.available("MUG", LOCATION), woo.stock()["MUG"]) == (8, 8)

    assert run_ok(sync, "shop", "returns")["pushed"] == 1
    on_shopify = shop.get_return(asked["id"])
    (line,) = on_shopify["lines"]
    assert sorted((d["type"], d["quantity"], d["location"]) for d in line["dispositions"]) == [
        ("NOT_RESTOCKED", 1, None),
        ("RESTOCKED", 1, LOCATION),
    ]
    assert len(on_shopify["refunds"]) == 1
    assert on_shopify["status"] == "CLOSED"
    # Shopify restocked the unit on its side too: the hub's figure goes out again.
    assert "shop" in dirty_channels(hub)
    run_ok(sync, "shop", "stock")
    assert shop.available("MUG", LOCATION) == 8

    with Session(hub.engine) as session:
        back = session.exec(select(Return)).one()
        # Shopify closed it once every unit was processed, and the hub read that back.
        assert (back.status, back.refund_state) == (ReturnStatus.CLOSED, RefundState.REFUNDED)
    order = stored_order(hub, placed["id"])
    assert order is not None
    assert order.return_state == OrderReturnState.PARTIALLY_RETURNED
    assert "returned in part" in omnisync("orders", "show", str(order.id)).stdout

    # Shopify now counts the refunded units out of the line: they stay shipped.
    run_ok(sync, "shop", "orders")
    with Session(hub.engine) as session:
        assert session.exec(select(OrderLine.quantity_shipped)).one() == 3
    assert level(hub.engine, "MUG", "main") == (8, 0)
