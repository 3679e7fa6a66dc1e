"""Invariants 3 and 6 at the engine's edges, with a scripted in-process connector."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import ClassVar

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from omnisync.connectors.base import Capability, Connector, TransientError
from omnisync.connectors.registry import register
from omnisync.core.catalog import location_by_code, sku_by_code
from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.dto import OrderPage, PushResult, StockUpdate
from omnisync.core.ledger import adjust_stock
from omnisync.core.models import Listing, Order, SyncCursor, SyncRun
from omnisync.core.types import SyncRunStatus
from omnisync.sync.calls import RetryPolicy
from omnisync.sync.channels import SyncChannel
from omnisync.sync.cursors import CursorStream, read_cursor
from omnisync.sync.engine import SyncEngine
from omnisync.sync.runs import ABANDONED
from tests.support.world import T0, build_world, list_sku, make_order, set_count


@register
class ScriptedConnector(Connector):
    """Does whatever the test scripts: `pages` to serve, `during_push` to run mid-push."""

    channel_type: ClassVar[str] = "scripted"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.ORDERS, Capability.STOCK})
    pages: ClassVar[list[OrderPage | Exception]] = []
    during_push: ClassVar[Callable[[], None] | None] = None
    pushed: ClassVar[list[list[StockUpdate]]] = []

    def fetch_orders(self, since: object) -> Iterator[OrderPage]:
        for page in self.pages:
            if isinstance(page, Exception):
                raise page
            yield page

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[PushResult]:
        type(self).pushed.append(list(updates))
        hook = type(self).during_push  # read on the class: a function, not a method
        if hook is not None:
            hook()
        return [PushResult(key=u.channel_sku, ok=True, quantity=u.quantity) for u in updates]


def scripted_engine(engine: Engine) -> SyncEngine:
    channel = SyncChannel(
        name="shop",
        type="scripted",
        enabled=True,
        settings=ScriptedConnector.Settings(),
        lag=timedelta(minutes=2),
    )
    return SyncEngine(engine, [channel], retry=RetryPolicy(attempts=1))


def test_the_cursor_never_passes_a_page_that_was_not_committed(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 100)
    first = [make_order(str(n), [("A", 1)], minutes=n) for n in range(3)]
    second = [make_order(str(n), [("A", 1)], minutes=n) for n in range(3, 6)]
    ScriptedConnector.pages = [
        OrderPage(orders=tuple(first), cursor=first[-1].updated_at),
        TransientError("the channel fell over before page 2 arrived"),
    ]
    sync = scripted_engine(engine)
    assert sync.run("shop", "orders").status == "failed"
    with Session(engine) as session:
        assert sorted(session.exec(select(Order.external_id)).all()) == ["0", "1", "2"]
        channel_id = channel_by_name(session, "shop").id or 0
        assert read_cursor(session, channel_id, CursorStream.ORDERS) == T0 + timedelta(minutes=2)
    ScriptedConnector.pages = [OrderPage(orders=tuple(second), cursor=second[-1].updated_at)]
    assert sync.run("shop", "orders").status == "succeeded"
    with Session(engine) as session:
        assert len(session.exec(select(Order)).all()) == 6
        cursor = session.exec(select(SyncCursor)).one()
        assert cursor.value == (T0 + timedelta(minutes=5)).isoformat()
    sync.close()


def test_a_sale_during_a_push_keeps_the_listing_dirty_until_its_quantity_is_pushed(
    engine: Engine,
) -> None:
    build_world(engine, channels={"shop": None})
    set_count(engine, "A", "main", 10)
    list_sku(engine, "shop", "A")
    with transaction(engine) as session:  # the listing is owed its first quantity
        adjust_stock(session, sku_by_code(session, "A"), location_by_code(session, "main"), -1)

    def sale_commits_meanwhile() -> None:
        with transaction(engine) as session:
            adjust_stock(session, sku_by_code(session, "A"), location_by_code(session, "main"), -4)
        ScriptedConnector.during_push = None

    ScriptedConnector.during_push = sale_commits_meanwhile
    ScriptedConnector.pushed = []
    sync = scripted_engine(engine)
    assert sync.run("shop", "stock").status == "succeeded"
    with Session(engine) as session:
        listing = session.exec(select(Listing)).one()
        assert listing.last_ack_quantity == 9  # what the channel acknowledged
        assert listing.dirty  # but the stock is 5 now: still owed
    assert sync.run("shop", "stock").status == "succeeded"
    with Session(engine) as session:
        listing = session.exec(select(Listing)).one()
        assert (listing.last_ack_quantity, listing.dirty) == (5, False)
    assert [[u.quantity for u in batch] for batch in ScriptedConnector.pushed] == [[9], [5]]
    sync.close()


def test_a_run_left_running_by_a_dead_process_is_closed_when_its_job_runs_again(
    engine: Engine,
) -> None:
    build_world(engine)
    with transaction(engine) as session:
        channel_id = channel_by_name(session, "shop").id
        session.add(SyncRun(channel_id=channel_id, job="orders", status=SyncRunStatus.RUNNING))
    ScriptedConnector.pages = []
    sync = scripted_engine(engine)
    assert sync.run("shop", "orders").status == "succeeded"
    with Session(engine) as session:
        runs = session.exec(select(SyncRun).order_by(col(SyncRun.id))).all()
    assert [(run.status, run.error) for run in runs] == [
        (SyncRunStatus.FAILED, ABANDONED),
        (SyncRunStatus.SUCCEEDED, None),
    ]
    sync.close()
