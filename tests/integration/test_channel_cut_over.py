"""Onboarding a channel: what the channel finished before the hub took it over is history.

A seller counts stock, then connects a channel whose backfill window holds orders the
channel already shipped or cancelled. Those are stored as the channel reports them and
move no stock; an order still open reserves; shipments the channel dates after the
cut-over (`Channel.live_since`) move stock as ever. Polling and webhooks alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import ClassVar

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from omnisync.connectors.base import Capability, Connector
from omnisync.connectors.registry import register
from omnisync.core.channels import channel_by_name, take_over_orders
from omnisync.core.clock import utcnow
from omnisync.core.db import transaction
from omnisync.core.dto import NormalisedOrder, OrderPage, WebhookEvents
from omnisync.core.models import Reservation, StockMovement
from omnisync.core.order_intake import intake_orders
from omnisync.core.types import MovementKind, OrderStatus, ReservationState
from omnisync.sync.calls import RetryPolicy
from omnisync.sync.channels import SyncChannel
from omnisync.sync.engine import SyncEngine
from omnisync.sync.jobs.counts import RunCount
from omnisync.sync.webhooks import accept_webhook
from tests.support.world import (
    build_world,
    check_ledger_invariants,
    level,
    make_order,
    order_row,
    set_count,
)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@register
class BackfillConnector(Connector):
    """A channel with history: serves `pages`; a webhook body is one order as JSON."""

    channel_type: ClassVar[str] = "backfill"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.ORDERS})
    pages: ClassVar[list[OrderPage]] = []

    def fetch_orders(self, since: datetime | None) -> Iterator[OrderPage]:
        yield from type(self).pages

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvents:
        return WebhookEvents(orders=(NormalisedOrder.model_validate_json(body),))

    def webhook_delivery(self, headers: Mapping[str, str], body: bytes) -> tuple[str | None, str]:
        return headers.get("delivery"), "orders/updated"


def sync_engine(engine: Engine) -> SyncEngine:
    channel = SyncChannel(
        "shop", BackfillConnector.channel_type, True, BackfillConnector.Settings()
    )
    return SyncEngine(engine, [channel], retry=RetryPolicy(attempts=1))


def dated(
    external_id: str,
    lines: Sequence[tuple[str, int]],
    at: datetime,
    status: OrderStatus = OrderStatus.ACCEPTED,
    shipped: Sequence[int | None] | None = None,
) -> NormalisedOrder:
    """An order the channel last changed at `at` (placed an hour before)."""
    order = make_order(external_id, lines, status=status, shipped=shipped)
    return order.model_copy(update={"placed_at": at - HOUR, "updated_at": at})


def counted_shop(engine: Engine) -> None:
    """The seller's fresh count, before the shop is connected."""
    build_world(engine, skus=("MUG-RED", "TEA-50"))
    set_count(engine, "MUG-RED", "main", 8)
    set_count(engine, "TEA-50", "main", 9)


def shipments(engine: Engine) -> list[tuple[str | None, int]]:
    with Session(engine) as session:
        rows = session.exec(
            select(StockMovement).where(StockMovement.kind == MovementKind.SHIPMENT)
        ).all()
        return sorted((row.reference, row.delta) for row in rows)


def live_since(engine: Engine) -> datetime | None:
    with Session(engine) as session:
        return channel_by_name(session, "shop").live_since


def test_a_backfill_keeps_a_fresh_count_and_reserves_only_for_open_orders(
    engine: Engine,
) -> None:
    counted_shop(engine)
    now = utcnow()
    BackfillConnector.pages = [
        OrderPage(
            orders=(
                dated("shipped", [("MUG-RED", 3)], now - 2 * DAY, OrderStatus.SHIPPED),
                dated("cancelled", [("TEA-50", 2)], now - DAY, OrderStatus.CANCELLED),
                dated(
                    "partial",
                    [("TEA-50", 3)],
                    now - 3 * HOUR,
                    OrderStatus.PARTIALLY_SHIPPED,
                    shipped=[1],
                ),
                dated("open", [("MUG-RED", 1), ("TEA-50", 4)], now - HOUR),
            ),
            cursor=now - HOUR,
        )
    ]
    sync = sync_engine(engine)
    outcome = sync.run("shop", "orders")
    assert outcome.status == "succeeded", outcome.error
    assert outcome.counts[RunCount.CREATED] == 4
    assert outcome.counts[RunCount.SHIPPED_BEFORE_CUT_OVER] == 3 + 1
    assert level(engine, "MUG-RED", "main") == (8, 1)
    assert level(engine, "TEA-50", "main") == (9, 2 + 4)
    assert shipments(engine) == []
    assert order_row(engine, "shop", "shipped").status == OrderStatus.SHIPPED
    assert order_row(engine, "shop", "cancelled").status == OrderStatus.CANCELLED
    taken_over = live_since(engine)
    assert taken_over is not None
    assert now <= taken_over <= utcnow()

    # After the cut-over the channel ships the open order: that one leaves our stock.
    BackfillConnector.pages = [
        OrderPage(
            orders=(
                dated(
                    "open",
                    [("MUG-RED", 1), ("TEA-50", 4)],
                    utcnow() + timedelta(seconds=1),
                    OrderStatus.SHIPPED,
                ),
            )
        )
    ]
    assert sync.run("shop", "orders").status == "succeeded"
    assert level(engine, "MUG-RED", "main") == (7, 0)
    assert level(engine, "TEA-50", "main") == (5, 2)
    assert shipments(engine) == [("shop:open", -4), ("shop:open", -1)]
    assert live_since(engine) == taken_over  # taken over once
    with Session(engine) as session:
        check_ledger_invariants(session)
    sync.close()


def test_an_order_open_then_shipped_before_the_cut_over_releases_what_it_held(
    engine: Engine,
) -> None:
    counted_shop(engine)
    cut_over = utcnow()
    page = [
        dated("7", [("MUG-RED", 2)], cut_over - DAY),
        dated("7", [("MUG-RED", 2)], cut_over - HOUR, OrderStatus.SHIPPED),
        dated("8", [("MUG-RED", 5)], cut_over - HOUR),
    ]
    with transaction(engine) as session:
        shop = channel_by_name(session, "shop")
        take_over_orders(session, shop, cut_over)
        results = intake_orders(session, shop, page)
    assert [(result.created, result.shipped_before_cut_over) for result in results] == [
        (True, 0),
        (False, 2),
        (True, 0),
    ]
    assert level(engine, "MUG-RED", "main") == (8, 5)
    assert shipments(engine) == []
    with Session(engine) as session:
        (held,) = session.exec(
            select(Reservation).where(col(Reservation.state) != ReservationState.ACTIVE)
        ).all()
        assert held.quantity == 0
        check_ledger_invariants(session)


def test_without_a_cut_over_every_shipment_moves_stock(engine: Engine) -> None:
    """A channel no orders run or webhook took over yet (tests, tools): nothing is history."""
    counted_shop(engine)
    with transaction(engine) as session:
        shop = channel_by_name(session, "shop")
        intake_orders(session, shop, [dated("1", [("MUG-RED", 3)], utcnow(), OrderStatus.SHIPPED)])
        assert shop.live_since is None
    assert level(engine, "MUG-RED", "main") == (5, 0)


def deliver(sync: SyncEngine, delivery: str, order: NormalisedOrder) -> str:
    body = json.dumps(order.model_dump(mode="json")).encode()
    return accept_webhook(sync, "shop", {"delivery": delivery}, body).status


def test_a_webhook_takes_the_channel_over_at_the_change_it_reports(engine: Engine) -> None:
    counted_shop(engine)
    sync = sync_engine(engine)
    fulfilled_at = utcnow() - timedelta(seconds=5)
    order = dated("w1", [("MUG-RED", 3)], fulfilled_at, OrderStatus.SHIPPED)
    assert deliver(sync, "d-1", order) == "accepted"
    assert live_since(engine) == fulfilled_at  # the hub heard of this change: it is live
    assert level(engine, "MUG-RED", "main") == (5, 0)

    # A late retry of a delivery from before the cut-over, for an order never seen.
    old = dated("w0", [("TEA-50", 2)], fulfilled_at - DAY, OrderStatus.SHIPPED)
    assert deliver(sync, "d-0", old) == "accepted"
    assert order_row(engine, "shop", "w0").status == OrderStatus.SHIPPED
    assert level(engine, "TEA-50", "main") == (9, 0)
    assert live_since(engine) == fulfilled_at
    sync.close()


def test_after_an_orders_run_a_webhook_keeps_the_cut_over_of_the_run(engine: Engine) -> None:
    counted_shop(engine)
    BackfillConnector.pages = []
    sync = sync_engine(engine)
    assert sync.run("shop", "orders").status == "succeeded"
    taken_over = live_since(engine)
    assert taken_over is not None
    backfilled = dated("w2", [("MUG-RED", 2)], taken_over - DAY, OrderStatus.SHIPPED)
    assert deliver(sync, "d-2", backfilled) == "accepted"
    assert level(engine, "MUG-RED", "main") == (8, 0)
    live = dated("w3", [("MUG-RED", 1)], utcnow() + timedelta(seconds=1), OrderStatus.SHIPPED)
    assert deliver(sync, "d-3", live) == "accepted"
    assert level(engine, "MUG-RED", "main") == (7, 0)
    assert live_since(engine) == taken_over
    sync.close()
