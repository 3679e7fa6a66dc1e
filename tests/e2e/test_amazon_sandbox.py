"""Issue 5 end to end: the hub against the Amazon simulator over real HTTP, next to a
`sandbox` marketplace (SQLite and PostgreSQL).

An Amazon order reserves stock in the hub and lowers the quantity pushed to the other
channel; 3,000 changed SKUs go out to Amazon as one JSON_LISTINGS_FEED, 100 as
patchListingsItem calls. The simulator runs Amazon's rate limits a hundred times
faster, processes feeds at once and lets getOrders read up to half a second before
now; the channel settles orders for half a second to match.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import bindparam, insert, update
from sqlmodel import Session, col, select

from omnisync.connectors.amazon.mapping import listing_from_item
from omnisync.core.availability import available_to_sell
from omnisync.core.catalog import location_by_code, sku_by_code, upsert_sku
from omnisync.core.channels import channel_by_name
from omnisync.core.clock import utcnow
from omnisync.core.db import transaction
from omnisync.core.ledger import count_stock
from omnisync.core.models import (
    Listing,
    Order,
    OrderLine,
    Reservation,
    Sku,
    StockLevel,
    StockMovement,
)
from omnisync.core.models.tables import table_of
from omnisync.core.outbox import mark_listings_dirty
from omnisync.core.types import MovementKind, OrderStatus, ReservationState
from omnisync.hub.bootstrap import Hub
from omnisync.sandbox.amazon import AmazonSimulator
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sync.engine import SyncEngine
from tests.support.e2e_runs import run_ok
from tests.support.hub_setup import (
    amazon_env,
    engine_for,
    open_test_hub,
    sandbox_channel,
    settling_amazon_channel,
    write_config,
)
from tests.support.simulators import served_fixtures

SANDBOX_TOKEN = "sb-amazon-e2e-token-7c2d"
ORDERS_LAG = timedelta(seconds=0.5)
RATE_SCALE = 100.0
ORDER_WAIT_S = 10.0
FEED_SKUS = 3000
PATCH_SKUS = 100


served_amazon, amazon = served_fixtures(
    "amazon",
    lambda: AmazonSimulator(rate_scale=RATE_SCALE, orders_lag=ORDERS_LAG, feed_delay=0.0),
)
served_marketplace, marketplace = served_fixtures(
    "marketplace",
    lambda: SandboxMarketplace(SANDBOX_TOKEN, rate=1000, burst=1000, name="sb"),
)


@pytest.fixture
def hub(
    tmp_path: Path,
    migrated_database_url: str,
    amazon: AmazonSimulator,
    marketplace: SandboxMarketplace,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Hub]:
    for name, value in {**amazon_env(amazon), "SB_KEY": SANDBOX_TOKEN}.items():
        monkeypatch.setenv(name, value)
    channels = {
        "amz": settling_amazon_channel(amazon, ORDERS_LAG),
        "sb": sandbox_channel(marketplace.url),
    }
    hub = open_test_hub(write_config(tmp_path / "config", channels), migrated_database_url)
    yield hub
    hub.engine.dispose()


@pytest.fixture
def sync(hub: Hub) -> Iterator[SyncEngine]:
    engine = engine_for(hub)
    yield engine
    engine.close()


def ats(hub: Hub, channel_name: str, codes: list[str]) -> dict[str, int]:
    """The hub's available-to-sell of `codes` on the channel."""
    with Session(hub.engine) as session:
        channel = channel_by_name(session, channel_name)
        ids = dict(session.exec(select(Sku.code, Sku.id).where(col(Sku.code).in_(codes))).all())
        available = available_to_sell(session, channel, [ids[code] or 0 for code in codes])
        return {code: available[ids[code] or 0] for code in codes}


def pull_until_created(sync: SyncEngine, channel: str, count: int) -> None:
    """Run the orders job until `count` orders came in: an order shows in getOrders only
    once it is older than the settle window."""
    created = 0
    deadline = time.monotonic() + ORDER_WAIT_S
    while created < count:
        assert time.monotonic() < deadline, f"{created} of {count} orders came in"
        created += run_ok(sync, channel, "orders").get("created", 0)
        if created < count:
            time.sleep(0.2)


# an order ---------------------------------------------------------------------------


def test_an_amazon_order_reserves_stock_and_lowers_the_other_channels_quantity(
    hub: Hub, amazon: AmazonSimulator, marketplace: SandboxMarketplace, sync: SyncEngine
) -> None:
    codes = ["MUG", "LID"]
    amazon.set_listings([{"sku": "MUG", "productType": "DRINKING_CUP"}, {"sku": "LID"}])
    marketplace.set_listings([{"sku": code, "title": code, "quantity": 0} for code in codes])
    with transaction(hub.engine) as session:
        main = location_by_code(session, "main")
        for code in codes:
            count_stock(session, upsert_sku(session, code), main, 20)
    for channel in ("amz", "sb"):
        assert run_ok(sync, channel, "listings")["bound"] == 2
        run_ok(sync, channel, "stock")
    assert amazon.quantities() == {"MUG": 20, "LID": 20}
    assert marketplace.quantity("MUG") == 20

    placed = amazon.place_order([("MUG", 3)])
    order_id = str(placed["AmazonOrderId"])
    assert amazon.quantity("MUG") == 17  # Amazon takes the units off its own listing
    pull_until_created(sync, "amz", 1)

    with Session(hub.engine) as session:
        order = session.exec(select(Order)).one()
        assert (order.external_id, order.status) == (order_id, OrderStatus.ACCEPTED)
        (line,) = session.exec(select(OrderLine)).all()
        assert (line.channel_sku, line.quantity, line.unit_price) == ("MUG", 3, Decimal("10.00"))
        mug = sku_by_code(session, "MUG")
        assert line.sku_id == mug.id
        held = session.exec(
            select(Reservation).where(Reservation.state == ReservationState.ACTIVE)
        ).all()
        assert [(r.sku_id, r.quantity) for r in held] == [(mug.id, 3)]
        assert sum(level.reserved for level in session.exec(select(StockLevel))) == 3
    assert ats(hub, "sb", codes) == {"MUG": 17, "LID": 20}

    assert run_ok(sync, "sb", "stock")["acknowledged"] == 1
    assert marketplace.quantity("MUG") == 17
    assert marketplace.quantity("LID") == 20
    run_ok(sync, "amz", "stock")
    assert amazon.quantities() == ats(hub, "amz", codes) == {"MUG": 17, "LID": 20}


def test_a_pending_amazon_order_holds_stock_at_once_and_gets_its_prices_when_paid(
    hub: Hub, amazon: AmazonSimulator, sync: SyncEngine
) -> None:
    amazon.set_listings([{"sku": "MUG", "quantity": 20, "price": "12.50"}])
    with transaction(hub.engine) as session:
        count_stock(session, upsert_sku(session, "MUG"), location_by_code(session, "main"), 20)
    run_ok(sync, "amz", "listings")

    order_id = str(amazon.place_order([("MUG", 2)], status="Pending")["AmazonOrderId"])
    settled(amazon, order_id)
    assert run_ok(sync, "amz", "orders")["created"] == 1
    with Session(hub.engine) as session:
        assert session.exec(select(Order)).one().status == OrderStatus.PENDING
        assert [line.unit_price for line in session.exec(select(OrderLine))] == [None]
    assert ats(hub, "sb", ["MUG"]) == {"MUG": 18}

    amazon.authorise_payment(order_id)
    settled(amazon, order_id)
    assert run_ok(sync, "amz", "orders")["updated"] == 1
    with Session(hub.engine) as session:
        assert session.exec(select(Order)).one().status == OrderStatus.ACCEPTED
        assert [line.unit_price for line in session.exec(select(OrderLine))] == [Decimal("12.50")]
    assert ats(hub, "sb", ["MUG"]) == {"MUG": 18}  # the same reservation, not a second one


def settled(amazon: AmazonSimulator, order_id: str) -> None:
    """The order's last update moved back past the settle window, as if a few seconds
    had gone by (getOrders shows it at once)."""
    amazon.touch_order(order_id, at=utcnow() - 4 * ORDERS_LAG)


# feeds and patches ------------------------------------------------------------------


def bound_catalogue(hub: Hub, amazon: AmazonSimulator, count: int) -> list[str]:
    """`count` SKUs without stock, listed on Amazon at 0 and bound in the hub, so that
    nothing is left to push. Written in bulk: the per-SKU API and the listings job
    (150 pages for 3,000 listings) take seconds at this size and are not what is tested
    here; the listings carry what the connector's own mapping makes of Amazon's items."""
    codes = [f"AMZ-{number:05d}" for number in range(count)]
    items = amazon.set_listings([{"sku": code, "quantity": 0} for code in codes])
    now = utcnow()
    with transaction(hub.engine) as session:
        session.execute(
            insert(Sku), [{"code": code, "title": code, "created_at": now} for code in codes]
        )
        sku_ids = dict(session.exec(select(Sku.code, Sku.id)).all())
        main = location_by_code(session, "main")
        session.execute(
            insert(StockLevel),
            [
                {"sku_id": sku_id, "location_id": main.id, "updated_at": now}
                for sku_id in sku_ids.values()
            ],
        )
        channel = channel_by_name(session, "amz")
        listings = [listing_from_item(item, amazon.marketplace_id, "DEFAULT") for item in items]
        session.execute(
            insert(Listing),
            [
                {
                    "channel_id": channel.id,
                    "sku_id": sku_ids[listing.channel_sku or ""],
                    "channel_sku": listing.channel_sku,
                    "channel_ids": listing.channel_ids,
                    "last_ack_quantity": listing.quantity,
                    "created_at": now,
                    "updated_at": now,
                }
                for listing in listings
            ],
        )
    assert dirty_count(hub) == 0
    return codes


def receive_in_bulk(hub: Hub, quantities: dict[str, int]) -> None:
    """A receipt per SKU at `main` in one transaction, as the ledger records one: the
    movement, the level, the affected listings dirty."""
    now = utcnow()
    with transaction(hub.engine) as session:
        main = location_by_code(session, "main")
        ids = dict(
            session.exec(select(Sku.code, Sku.id).where(col(Sku.code).in_(quantities))).all()
        )
        session.execute(
            insert(StockMovement),
            [
                {
                    "sku_id": ids[code],
                    "location_id": main.id,
                    "delta": quantity,
                    "kind": MovementKind.RECEIPT,
                    "at": now,
                }
                for code, quantity in quantities.items()
            ],
        )
        levels = table_of(StockLevel)
        session.execute(
            update(levels)
            .where(
                levels.c.sku_id == bindparam("level_sku"),
                levels.c.location_id == bindparam("level_location"),
            )
            .values(on_hand=levels.c.on_hand + bindparam("received"), updated_at=now),
            [
                {"level_sku": ids[code], "level_location": main.id, "received": quantity}
                for code, quantity in quantities.items()
            ],
        )
        assert mark_listings_dirty(session, [ids[code] or 0 for code in quantities]) == len(
            quantities
        )


def dirty_count(hub: Hub) -> int:
    with Session(hub.engine) as session:
        return len(session.exec(select(Listing.id).where(col(Listing.dirty))).all())


@pytest.mark.slow
def test_three_thousand_changed_skus_go_to_amazon_as_one_feed(
    hub: Hub, amazon: AmazonSimulator, sync: SyncEngine
) -> None:
    codes = bound_catalogue(hub, amazon, FEED_SKUS)
    receive_in_bulk(hub, {code: 1 + number % 40 for number, code in enumerate(codes)})

    counts = run_ok(sync, "amz", "stock")

    assert counts["acknowledged"] == FEED_SKUS
    (feed,) = amazon.feeds()
    assert (feed["feedType"], feed["processingStatus"]) == ("JSON_LISTINGS_FEED", "DONE")
    summary = feed["report"]["summary"]
    assert (summary["messagesProcessed"], summary["messagesAccepted"]) == (FEED_SKUS, FEED_SKUS)
    assert amazon.listing_patches() == []
    assert amazon.quantities() == ats(hub, "amz", codes)
    assert set(amazon.quantities().values()) == set(range(1, 41))
    assert dirty_count(hub) == 0


def test_a_hundred_changed_skus_go_to_amazon_as_a_hundred_patches(
    hub: Hub, amazon: AmazonSimulator, sync: SyncEngine
) -> None:
    codes = bound_catalogue(hub, amazon, 3 * PATCH_SKUS)
    changed = codes[::3]
    receive_in_bulk(hub, {code: 5 for code in changed})

    counts = run_ok(sync, "amz", "stock")

    assert counts["acknowledged"] == PATCH_SKUS
    patches = amazon.listing_patches()
    assert sorted(patch["sku"] for patch in patches) == changed
    assert amazon.feeds() == []
    expected = {code: 5 if code in changed else 0 for code in codes}
    assert amazon.quantities() == ats(hub, "amz", codes) == expected
    assert dirty_count(hub) == 0
