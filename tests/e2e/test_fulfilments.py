"""Shipments pushed to the sandbox marketplace over real HTTP (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from omnisync.core.catalog import location_by_code, upsert_sku
from omnisync.core.clock import utcnow
from omnisync.core.db import transaction
from omnisync.core.ledger import count_stock
from omnisync.core.models import Order, Shipment, StockLevel
from omnisync.core.shipping import record_shipment
from omnisync.core.types import OrderStatus, PushState
from omnisync.hub.bootstrap import Hub
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sync.engine import SyncEngine
from omnisync.sync.jobs.counts import RunCount
from tests.support.cli_runner import invoke_cli
from tests.support.world import check_ledger_invariants

SKUS = ("SHIP-A", "SHIP-B")
ITEM_BACKOFF = timedelta(seconds=30)  # sandbox_channel's sync.item_backoff


def seed(hub: Hub, marketplace: SandboxMarketplace, quantity: int = 20) -> None:
    with transaction(hub.engine) as session:
        main = location_by_code(session, "main")
        for code in SKUS:
            count_stock(session, upsert_sku(session, code), main, quantity)
    marketplace.set_listings([{"sku": code, "title": code, "quantity": quantity} for code in SKUS])


def buy(marketplace: SandboxMarketplace, *lines: tuple[str, int]) -> dict[str, Any]:
    order = marketplace.buy_many(list(lines))
    assert order is not None
    return order


def ship(
    hub: Hub,
    external_id: str,
    lines: Mapping[str, int] | None = None,
    *,
    tracking: str = "1Z999AA10123456784",
) -> Shipment:
    with transaction(hub.engine) as session:
        order = session.exec(select(Order).where(Order.external_id == external_id)).one()
        return record_shipment(
            session,
            order,
            lines,
            carrier="ups",
            tracking_number=tracking,
            tracking_url=f"https://www.ups.com/track?tracknum={tracking}",
        )


def shipment_row(hub: Hub, shipment_id: int | None) -> Shipment:
    with Session(hub.engine) as session:
        row = session.get(Shipment, shipment_id)
        assert row is not None
        return row


def levels(hub: Hub) -> dict[int, tuple[int, int]]:
    with Session(hub.engine) as session:
        return {row.sku_id: (row.on_hand, row.reserved) for row in session.exec(select(StockLevel))}


def fulfilments(marketplace: SandboxMarketplace) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = marketplace.snapshot()["fulfilments"]
    return found


def test_a_shipment_becomes_one_fulfilment_on_the_marketplace(
    hub: Hub, marketplace: SandboxMarketplace, sync_engine: SyncEngine
) -> None:
    seed(hub, marketplace)
    bought = buy(marketplace, (SKUS[0], 2), (SKUS[1], 1))
    assert sync_engine.run("sb", "orders").status == "succeeded"
    shipment = ship(hub, bought["id"])
    after_shipping = levels(hub)
    assert sorted(after_shipping.values()) == [(18, 0), (19, 0)]

    outcome = sync_engine.run("sb", "fulfilments")
    assert outcome.status == "succeeded", outcome.error
    assert outcome.counts[RunCount.PUSHED] == 1
    order = marketplace.get_order(bought["id"])
    assert order["status"] == "fulfilled"
    assert [line["fulfilled_quantity"] for line in order["line_items"]] == [2, 1]
    (fulfilment,) = fulfilments(marketplace)
    assert fulfilment["order_id"] == bought["id"]
    assert fulfilment["tracking_company"] == "ups"
    assert fulfilment["tracking_number"] == "1Z999AA10123456784"
    assert fulfilment["tracking_url"] == "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    assert fulfilment["idempotency_key"] == f"omnisync-shipment-{shipment.id}"
    assert {(line["id"], line["quantity"]) for line in fulfilment["line_items"]} == {
        (f"{bought['id']}-1", 2),
        (f"{bought['id']}-2", 1),
    }
    pushed = shipment_row(hub, shipment.id)
    assert pushed.push_state == PushState.PUSHED
    assert pushed.pushed_at is not None
    assert pushed.push_error is None

    again = sync_engine.run("sb", "fulfilments")
    assert again.status == "succeeded"
    assert again.counts[RunCount.PUSHED] == 0
    assert len(fulfilments(marketplace)) == 1

    # The marketplace now reports the order fulfilled: the stock does not leave twice.
    assert sync_engine.run("sb", "orders").status == "succeeded"
    assert levels(hub) == after_shipping
    with Session(hub.engine) as session:
        assert session.exec(select(Order)).one().status == OrderStatus.SHIPPED
        check_ledger_invariants(session)


def test_partial_shipments_are_pushed_oldest_first(
    hub: Hub, marketplace: SandboxMarketplace, sync_engine: SyncEngine
) -> None:
    seed(hub, marketplace)
    bought = buy(marketplace, (SKUS[0], 3))
    line_id = bought["line_items"][0]["id"]
    sync_engine.run("sb", "orders")
    first = ship(hub, bought["id"], {line_id: 1}, tracking="1ZFIRST")
    second = ship(hub, bought["id"], {line_id: 2}, tracking="1ZSECOND")

    outcome = sync_engine.run("sb", "fulfilments")
    assert outcome.counts[RunCount.PUSHED] == 2
    assert [
        (f["tracking_number"], f["line_items"][0]["quantity"]) for f in fulfilments(marketplace)
    ] == [("1ZFIRST", 1), ("1ZSECOND", 2)]
    assert [f["idempotency_key"] for f in fulfilments(marketplace)] == [
        f"omnisync-shipment-{first.id}",
        f"omnisync-shipment-{second.id}",
    ]
    assert marketplace.get_order(bought["id"])["status"] == "fulfilled"


def test_a_refused_fulfilment_is_marked_failed_backs_off_and_blocks_nothing(
    hub: Hub, marketplace: SandboxMarketplace, sync_engine: SyncEngine
) -> None:
    seed(hub, marketplace)
    taken = buy(marketplace, (SKUS[0], 1))
    cancelled = buy(marketplace, (SKUS[1], 1))
    fine = buy(marketplace, (SKUS[1], 2))
    sync_engine.run("sb", "orders")
    refused = ship(hub, taken["id"])
    gone = ship(hub, cancelled["id"])
    good = ship(hub, fine["id"])
    # Before our push lands, someone fulfils one order in the marketplace's own
    # back office and the buyer cancels another.
    marketplace.create_fulfilment(taken["id"], [(taken["line_items"][0]["id"], 1)])
    marketplace.cancel_order(cancelled["id"])

    started = utcnow()
    outcome = sync_engine.run("sb", "fulfilments")
    assert outcome.status == "partial"
    assert (outcome.counts[RunCount.PUSHED], outcome.counts[RunCount.FAILED]) == (1, 2)
    assert shipment_row(hub, good.id).push_state == PushState.PUSHED
    assert marketplace.get_order(fine["id"])["status"] == "fulfilled"
    for shipment, code in ((refused, "over_fulfilment"), (gone, "order_cancelled")):
        row = shipment_row(hub, shipment.id)
        assert row.push_state == PushState.FAILED
        assert row.push_attempts == 1
        assert code in (row.push_error or "")
        assert row.pushed_at is None
        assert row.next_push_at is not None
        assert started + ITEM_BACKOFF <= row.next_push_at <= utcnow() + ITEM_BACKOFF
    assert "over_fulfilment" in (shipment_row(hub, refused.id).push_error or "")
    assert "1 asked, 0 open" in (shipment_row(hub, refused.id).push_error or "")

    # Backed off: the next run leaves them alone.
    quiet = sync_engine.run("sb", "fulfilments")
    assert quiet.status == "succeeded"
    assert (quiet.counts[RunCount.PUSHED], quiet.counts[RunCount.FAILED]) == (0, 0)

    # Once due they are tried again, and the wait doubles.
    with transaction(hub.engine) as session:
        session.execute(
            update(Shipment)
            .where(col(Shipment.push_state) == PushState.FAILED)
            .values(next_push_at=utcnow() - timedelta(seconds=1))
        )
    retried = utcnow()
    again = sync_engine.run("sb", "fulfilments")
    assert again.status == "partial"
    assert again.counts[RunCount.FAILED] == 2
    row = shipment_row(hub, refused.id)
    assert row.push_attempts == 2
    assert row.next_push_at is not None
    assert row.next_push_at >= retried + 2 * ITEM_BACKOFF
    assert len(fulfilments(marketplace)) == 2  # the back-office one and ours for `fine`


def test_a_server_error_is_retried_and_never_doubles_the_fulfilment(
    hub: Hub, marketplace: SandboxMarketplace, sync_engine: SyncEngine
) -> None:
    seed(hub, marketplace)
    bought = buy(marketplace, (SKUS[0], 1))
    sync_engine.run("sb", "orders")
    shipment = ship(hub, bought["id"])
    marketplace.inject("fulfilments", 500)
    outcome = sync_engine.run("sb", "fulfilments")
    assert outcome.status == "succeeded", outcome.error
    assert outcome.counts[RunCount.PUSHED] == 1
    assert len(fulfilments(marketplace)) == 1
    assert shipment_row(hub, shipment.id).push_state == PushState.PUSHED


def test_a_marketplace_that_keeps_failing_leaves_the_shipment_pending(
    hub: Hub, marketplace: SandboxMarketplace, sync_engine: SyncEngine
) -> None:
    seed(hub, marketplace)
    bought = buy(marketplace, (SKUS[0], 1))
    sync_engine.run("sb", "orders")
    shipment = ship(hub, bought["id"])
    marketplace.inject("fulfilments", 500, count=20)
    outcome = sync_engine.run("sb", "fulfilments")
    assert outcome.status == "failed"
    assert "500" in (outcome.error or "")
    row = shipment_row(hub, shipment.id)
    assert row.push_state == PushState.PENDING  # an outage is not the shipment's fault
    assert row.push_attempts == 0
    assert fulfilments(marketplace) == []

    marketplace.faults.clear()
    assert sync_engine.run("sb", "fulfilments").counts[RunCount.PUSHED] == 1
    assert len(fulfilments(marketplace)) == 1


def test_a_push_whose_answer_was_lost_is_not_repeated_on_the_marketplace(
    hub: Hub, marketplace: SandboxMarketplace, sync_engine: SyncEngine
) -> None:
    seed(hub, marketplace)
    bought = buy(marketplace, (SKUS[0], 2))
    sync_engine.run("sb", "orders")
    shipment = ship(hub, bought["id"])
    # The marketplace took an earlier push of this shipment, but the hub never heard back.
    marketplace.create_fulfilment(
        bought["id"],
        [(bought["line_items"][0]["id"], 2)],
        tracking_company="ups",
        tracking_number=shipment.tracking_number,
        idempotency_key=f"omnisync-shipment-{shipment.id}",
    )
    outcome = sync_engine.run("sb", "fulfilments")
    assert outcome.status == "succeeded", outcome.error
    assert outcome.counts[RunCount.PUSHED] == 1
    assert len(fulfilments(marketplace)) == 1
    assert shipment_row(hub, shipment.id).push_state == PushState.PUSHED


@pytest.mark.slow
def test_omnisync_sync_fulfilments_pushes_from_the_command_line(
    hub: Hub,
    marketplace: SandboxMarketplace,
    sync_engine: SyncEngine,
    tmp_path: Path,
    migrated_database_url: str,
) -> None:
    seed(hub, marketplace)
    bought = buy(marketplace, (SKUS[1], 1))
    sync_engine.run("sb", "orders")
    ship(hub, bought["id"])
    # In this process (the command's exit code and output as from its own process).
    result = invoke_cli(tmp_path / "config", migrated_database_url, "sync", "fulfilments", "--json")
    assert result.exit_code == 0, result.stderr
    (run,) = json.loads(result.stdout)
    assert (run["channel"], run["job"], run["status"]) == ("sb", "fulfilments", "succeeded")
    assert run["counts"] == {"pushed": 1}
    assert marketplace.get_order(bought["id"])["status"] == "fulfilled"
