"""The engine against the sandbox marketplace over real HTTP (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from omnisync.core.catalog import location_by_code, sku_by_code, upsert_sku
from omnisync.core.db import transaction
from omnisync.core.ledger import count_stock
from omnisync.core.models import (
    Alert,
    Channel,
    Listing,
    Order,
    OrderLine,
    QuarantinedPayload,
    StockLevel,
    SyncCursor,
    SyncRun,
)
from omnisync.core.types import OrderStatus, SyncRunStatus
from omnisync.hub.bootstrap import Hub
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sync.engine import SyncEngine
from omnisync.sync.jobs.counts import RunCount
from tests.support.world import check_ledger_invariants

SKUS = [f"SKU-{n:03d}" for n in range(6)]


def seed(hub: Hub, marketplace: SandboxMarketplace, quantity: int = 50) -> None:
    """Hub SKUs with stock at main; the same SKUs listed on the marketplace, plus strangers."""
    with transaction(hub.engine) as session:
        main = location_by_code(session, "main")
        for code in SKUS:
            count_stock(session, upsert_sku(session, code), main, quantity)
    marketplace.set_listings(
        [{"sku": code, "title": code, "quantity": quantity} for code in SKUS]
        + [
            {"sku": "NOT-IN-HUB", "title": "stranger", "quantity": 3},
            {"sku": None, "title": "no sku", "quantity": 1},
        ]
    )


def orders_in_hub(hub: Hub) -> dict[str, Order]:
    with Session(hub.engine) as session:
        return {order.external_id: order for order in session.exec(select(Order))}


def levels(hub: Hub) -> dict[tuple[int, int], tuple[int, int]]:
    with Session(hub.engine) as session:
        return {
            (level.sku_id, level.location_id): (level.on_hand, level.reserved)
            for level in session.exec(select(StockLevel))
        }


def test_listings_bind_by_sku_and_strangers_are_reported(
    hub: Hub, marketplace: SandboxMarketplace, sync_engine: SyncEngine
) -> None:
    seed(hub, marketplace)
    outcome = sync_engine.run("sb", "listings")
    assert outcome.status == "succeeded"
    assert outcome.counts[RunCount.BOUND] == len(SKUS)
    assert outcome.counts[RunCount.UNKNOWN_SKU] == 1
    assert outcome.counts[RunCount.WITHOUT_SKU] == 1
    assert any("NOT-IN-HUB" in note for note in outcome.notes)
    with Session(hub.engine) as session:
        listings = {row.channel_sku: row for row in session.exec(select(Listing))}
    assert listings["NOT-IN-HUB"].sku_id is None
    assert all(listings[code].sku_id is not None for code in SKUS)


def test_orders_come_in_across_pages_reserve_stock_and_move_the_cursor(
    hub: Hub, marketplace: SandboxMarketplace, sync_engine: SyncEngine
) -> None:
    seed(hub, marketplace)
    for number in range(120):
        assert marketplace.buy(SKUS[number % len(SKUS)]) is not None
    outcome = sync_engine.run("sb", "orders")
    assert outcome.status == "succeeded", outcome.error
    assert outcome.counts[RunCount.PAGES] == 3
    assert outcome.counts[RunCount.CREATED] == 120
    orders = orders_in_hub(hub)
    assert len(orders) == 120
    with Session(hub.engine) as session:
        reserved = session.exec(select(func.sum(StockLevel.reserved))).one()
        assert reserved == 120
        cursor = session.exec(select(SyncCursor)).one()
        newest = max(order.updated_at for order in orders.values())
        assert cursor.value == newest.isoformat()
        check_ledger_invariants(session)


def test_importing_the_same_orders_again_changes_nothing(
    hub: Hub, marketplace: SandboxMarketplace, sync_engine: SyncEngine
) -> None:
    seed(hub, marketplace)
    for number in range(30):
        marketplace.buy(SKUS[number % len(SKUS)], 2)
    sync_engine.run("sb", "orders")
    before = (orders_in_hub(hub).keys(), levels(hub))
    marketplace.inject("orders", "duplicate_across_pages")
    again = sync_engine.run("sb", "orders")  # the lag window reads them all again
    assert again.status == "succeeded"
    assert again.counts[RunCount.CREATED] == 0
    assert (orders_in_hub(hub).keys(), levels(hub)) == before


def test_a_late_update_inside_the_lag_window_is_picked_up(
    hub: Hub, marketplace: SandboxMarketplace, sync_engine: SyncEngine
) -> None:
    seed(hub, marketplace)
    first = marketplace.buy(SKUS[0])
    assert first is not None
    placed = datetime.fromisoformat(first["updated_at"])
    marketplace.touch_order(first["id"], updated_at=placed - timedelta(minutes=10))
    for _ in range(5):
        marketplace.buy(SKUS[1])
    sync_engine.run("sb", "orders")
    cursor_time = max(order.updated_at for order in orders_in_hub(hub).values())
    # The channel records a cancellation stamped before our cursor (it arrived late).
    marketplace.touch_order(
        first["id"], status="cancelled", updated_at=cursor_time - timedelta(seconds=30)
    )
    sync_engine.run("sb", "orders")
    assert orders_in_hub(hub)[first["id"]].status == OrderStatus.CANCELLED
    with Session(hub.engine) as session:
        level = session.exec(
            select(StockLevel).where(StockLevel.sku_id == sku_by_code(session, SKUS[0]).id)
        ).one()
        assert level.reserved == 0


def test_a_malformed_order_is_quarantined_and_the_rest_imported(
    hub: Hub, marketplace: SandboxMarketplace, sync_engine: SyncEngine
) -> None:
    seed(hub, marketplace)
    for number in range(10):
        marketplace.buy(SKUS[number % 3])
    marketplace.inject("orders", "malformed_order")
    outcome = sync_engine.run("sb", "orders")
    assert outcome.status == "succeeded"
    assert outcome.counts[RunCount.QUARANTINED] == 1
    assert outcome.counts[RunCount.CREATED] == 9
    with Session(hub.engine) as session:
        (payload,) = session.exec(select(QuarantinedPayload)).all()
        assert payload.raw
        assert payload.reason
        alert = session.exec(select(Alert).where(Alert.rule == "quarantined_payload")).one()
        assert alert.channel_id == payload.channel_id
    # The next run reads it again (lag window): still one quarantined copy.
    sync_engine.run("sb", "orders")
    with Session(hub.engine) as session:
        assert len(session.exec(select(QuarantinedPayload)).all()) == 1


def test_stock_changes_reach_the_marketplace_and_one_bad_item_does_not_block_the_batch(
    hub: Hub, marketplace: SandboxMarketplace, sync_engine: SyncEngine
) -> None:
    seed(hub, marketplace, quantity=10)
    sync_engine.run("sb", "listings")
    marketplace.lock_sku(SKUS[2])
    with transaction(hub.engine) as session:
        main = location_by_code(session, "main")
        for code in SKUS:
            count_stock(session, sku_by_code(session, code), main, 4)
    outcome = sync_engine.run("sb", "stock")
    assert outcome.status == "partial"
    assert outcome.counts[RunCount.ACKNOWLEDGED] == len(SKUS) - 1
    assert outcome.counts[RunCount.FAILED] == 1
    for code in SKUS:
        assert marketplace.quantity(code) == (10 if code == SKUS[2] else 4)
    with Session(hub.engine) as session:
        listings = {row.channel_sku: row for row in session.exec(select(Listing))}
    locked = listings[SKUS[2]]
    assert locked.dirty
    assert locked.attempts == 1
    assert locked.last_error
    assert locked.next_attempt_at is not None
    assert all(not listings[code].dirty for code in SKUS if code != SKUS[2])
    # Backed off: the next push leaves it alone, and pushes nothing else.
    again = sync_engine.run("sb", "stock")
    assert again.counts[RunCount.ACKNOWLEDGED] == 0
    assert again.counts[RunCount.FAILED] == 0


def test_throttling_errors_and_timeouts_are_retried(
    hub: Hub, marketplace: SandboxMarketplace, sync_engine: SyncEngine
) -> None:
    seed(hub, marketplace)
    sync_engine.run("sb", "listings")
    for _ in range(6):
        marketplace.buy(SKUS[0])
    # Three failures in a row; the fourth attempt gets through.
    marketplace.inject("orders", 429, count=2, seconds=0.05)
    marketplace.inject("orders", "timeout", seconds=2)  # the client gives up after 1 s
    outcome = sync_engine.run("sb", "orders")
    assert outcome.status == "succeeded", outcome.error
    assert outcome.counts[RunCount.CREATED] == 6
    marketplace.inject("inventory", "malformed_json")
    marketplace.inject("inventory", 500)
    assert sync_engine.run("sb", "stock").status == "succeeded"
    assert marketplace.quantity(SKUS[0]) == 50 - 6


def test_a_channel_that_keeps_failing_records_a_failed_run_and_loses_nothing(
    hub: Hub, marketplace: SandboxMarketplace, sync_engine: SyncEngine
) -> None:
    seed(hub, marketplace)
    sync_engine.run("sb", "listings")
    with transaction(hub.engine) as session:
        count_stock(session, sku_by_code(session, SKUS[0]), location_by_code(session, "main"), 7)
    marketplace.inject("inventory", 500, count=10)
    outcome = sync_engine.run("sb", "stock")
    assert outcome.status == "failed"
    assert "500" in (outcome.error or "")
    with Session(hub.engine) as session:
        run = session.get(SyncRun, outcome.run_id)
        assert run is not None
        assert run.status == SyncRunStatus.FAILED
        assert run.error
        listing = session.exec(select(Listing).where(Listing.channel_sku == SKUS[0])).one()
        assert listing.dirty  # still owed to the channel
    marketplace.faults.clear()  # the channel recovers
    assert sync_engine.run("sb", "stock").status == "succeeded"
    assert marketplace.quantity(SKUS[0]) == 7


def test_refused_credentials_pause_the_channel_and_raise_an_alert(
    hub: Hub, marketplace: SandboxMarketplace, sync_engine: SyncEngine
) -> None:
    marketplace.token = "rotated-by-the-marketplace"
    outcome = sync_engine.run("sb", "orders")
    assert outcome.status == "failed"
    assert "AuthError" in (outcome.error or "")
    with Session(hub.engine) as session:
        channel = session.exec(select(Channel)).one()
        assert channel.paused_reason
        alert = session.exec(select(Alert).where(Alert.rule == "auth_failure")).one()
        assert alert.severity == "critical"
    assert sync_engine.run("sb", "listings").status == "skipped"
    marketplace.token = "sb-test-token-5f1c9a"
    assert sync_engine.run("sb", "orders", force=True).status == "succeeded"
    with Session(hub.engine) as session:
        assert session.exec(select(Channel)).one().paused_reason is None
        assert session.exec(select(Alert)).one().state == "resolved"


def test_lines_of_listings_bound_later_get_their_stock_reserved(
    hub: Hub, marketplace: SandboxMarketplace, sync_engine: SyncEngine
) -> None:
    seed(hub, marketplace)
    marketplace.set_listings([{"sku": "LATE", "title": "late", "quantity": 5}])
    marketplace.buy("LATE", 2)
    sync_engine.run("sb", "orders")
    with Session(hub.engine) as session:
        line = session.exec(select(OrderLine).where(OrderLine.channel_sku == "LATE")).one()
        assert line.sku_id is None
    with transaction(hub.engine) as session:
        count_stock(session, upsert_sku(session, "LATE"), location_by_code(session, "main"), 9)
    sync_engine.run("sb", "listings")
    with Session(hub.engine) as session:
        line = session.exec(select(OrderLine).where(OrderLine.channel_sku == "LATE")).one()
        assert line.sku_id is not None
        level = session.exec(select(StockLevel).where(StockLevel.sku_id == line.sku_id)).one()
        assert (level.on_hand, level.reserved) == (9, 2)
        assert (
            session.exec(select(func.count()).select_from(Listing).where(col(Listing.dirty))).one()
            >= 1
        )


def test_an_update_served_again_with_an_older_timestamp_changes_nothing(
    hub: Hub, marketplace: SandboxMarketplace, sync_engine: SyncEngine
) -> None:
    seed(hub, marketplace)
    order = marketplace.buy(SKUS[0], 2)
    assert order is not None
    sync_engine.run("sb", "orders")
    marketplace.cancel_order(order["id"])
    sync_engine.run("sb", "orders")
    assert orders_in_hub(hub)[order["id"]].status == OrderStatus.CANCELLED
    before = levels(hub)
    marketplace.inject("orders", "stale_update")  # the open version, older, served again
    outcome = sync_engine.run("sb", "orders")
    assert outcome.counts[RunCount.STALE] >= 1
    assert orders_in_hub(hub)[order["id"]].status == OrderStatus.CANCELLED
    assert levels(hub) == before
