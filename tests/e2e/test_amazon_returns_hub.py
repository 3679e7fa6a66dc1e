"""Issue 18's Amazon acceptance end to end: the hub's returns job against the Amazon
simulator over real HTTP. A return asked for on Amazon comes in from the returns report
once however often the report is read, receiving it restocks, its refund is said to be
issued in Seller Central, and Amazon's refund shows once the report says so.

The simulator builds reports at once (no report delay) and runs Amazon's limits a hundred
times faster; the channel settles orders for half a second, as in test_amazon_sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from omnisync.connectors.amazon.connector import AmazonConnector
from omnisync.core.catalog import location_by_code, sku_by_code, upsert_sku
from omnisync.core.clock import utcnow
from omnisync.core.db import transaction
from omnisync.core.ledger import count_stock
from omnisync.core.models import Order, Return, ReturnLine, StockLevel
from omnisync.core.returns import Receipt, receive_return
from omnisync.core.types import OrderStatus, RefundState, ReturnDisposition, ReturnStatus
from omnisync.hub.bootstrap import Hub
from omnisync.sandbox.amazon import AmazonSimulator
from omnisync.sync.engine import SyncEngine
from omnisync.sync.returns import channel_returns
from tests.support.e2e_runs import run_ok
from tests.support.hub_setup import (
    amazon_env,
    engine_for,
    open_test_hub,
    settling_amazon_channel,
    write_config,
)
from tests.support.simulators import served_fixtures

ORDERS_LAG = timedelta(seconds=0.5)

served_amazon, amazon = served_fixtures(
    "amazon",
    lambda: AmazonSimulator(
        rate_scale=100.0, orders_lag=ORDERS_LAG, feed_delay=0.0, report_delay=0.0
    ),
)


@pytest.fixture
def hub(
    tmp_path: Path,
    empty_database_url: str,
    amazon: AmazonSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Hub]:
    for name, value in amazon_env(amazon).items():
        monkeypatch.setenv(name, value)
    channels = {"amz": settling_amazon_channel(amazon, ORDERS_LAG)}
    hub = open_test_hub(write_config(tmp_path / "config", channels), empty_database_url)
    yield hub
    hub.engine.dispose()


@pytest.fixture
def sync(hub: Hub) -> Iterator[SyncEngine]:
    engine = engine_for(hub)
    yield engine
    engine.close()


def settled(amazon: AmazonSimulator, order_id: str) -> None:
    """The order's last update moved back past the settle window (getOrders shows it)."""
    amazon.touch_order(order_id, at=utcnow() - 4 * ORDERS_LAG)


def on_hand(hub: Hub, code: str) -> int:
    with Session(hub.engine) as session:
        sku = sku_by_code(session, code)
        return sum(
            level.on_hand for level in session.exec(select(StockLevel)) if level.sku_id == sku.id
        )


def test_an_amazon_return_comes_in_once_restocks_when_received_and_says_seller_central(
    hub: Hub, amazon: AmazonSimulator, sync: SyncEngine
) -> None:
    amazon.set_listings([{"sku": "MUG", "quantity": 20, "price": "12.00"}])
    with transaction(hub.engine) as session:
        count_stock(session, upsert_sku(session, "MUG"), location_by_code(session, "main"), 20)
    run_ok(sync, "amz", "listings")
    order_id = str(amazon.place_order([("MUG", 2)])["AmazonOrderId"])
    amazon.ship_order(order_id)
    settled(amazon, order_id)
    assert run_ok(sync, "amz", "orders")["created"] == 1
    with Session(hub.engine) as session:
        assert session.exec(select(Order)).one().status == OrderStatus.SHIPPED
    shipped = on_hand(hub, "MUG")
    # A minute ago: a report ends at the second it is asked for, never later.
    asked_at = utcnow() - timedelta(minutes=1)
    rma = amazon.create_return(order_id, [("MUG", 1)], requested_at=asked_at)["rma_id"]

    first = run_ok(sync, "amz", "returns")
    again = run_ok(sync, "amz", "returns")

    assert first["created"] == 1
    assert again.get("created", 0) == 0
    assert again["stale"] == 1
    with Session(hub.engine) as session:
        ret = session.exec(select(Return)).one()
        assert (ret.external_id, ret.status) == (rma, ReturnStatus.APPROVED)
        assert "Seller Central" in (ret.refund_note or "")
        (line,) = session.exec(select(ReturnLine)).all()
        assert (line.channel_sku, line.quantity) == ("MUG", 1)

    with transaction(hub.engine) as session:
        ret = session.exec(select(Return)).one()
        receive_return(
            session,
            ret,
            [Receipt("MUG", 1, ReturnDisposition.RESTOCK)],
            channel_returns(AmazonConnector),
        )
    assert on_hand(hub, "MUG") == shipped + 1

    amazon.advance_return(rma)  # Completed: delivered and refunded on Amazon
    assert run_ok(sync, "amz", "returns")["updated"] == 1
    with Session(hub.engine) as session:
        ret = session.exec(select(Return)).one()
        assert ret.refund_state == RefundState.REFUNDED
        assert ret.channel_status == "Completed"
        assert ret.status == ReturnStatus.RECEIVED
    assert on_hand(hub, "MUG") == shipped + 1
