"""Property tests: any sequence of orders, shipments, returns, receipts and dispositions
keeps invariants 1 and 4 (checked by DatabaseMachine after every step), invariant 5, and
never takes back more units than were shipped.

Steps the core refuses (a return of more than is left, a receipt beyond what is open)
must change nothing; the invariants are checked after them too.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule
from sqlalchemy import func
from sqlmodel import Session, col, select

from omnisync.core.availability import available_to_sell, free_by_sku
from omnisync.core.catalog import location_by_code, sku_by_code
from omnisync.core.channels import selling_location_ids
from omnisync.core.db import transaction
from omnisync.core.errors import DomainError
from omnisync.core.ledger import receive_stock
from omnisync.core.models import Channel, Order, OrderLine, Return, ReturnLine, StockMovement
from omnisync.core.return_state import ChannelReturns
from omnisync.core.returns import Receipt, close_return, create_return, receive_return
from omnisync.core.shipping import record_shipment
from omnisync.core.types import MovementKind, ReturnDisposition
from tests.support.machines import DatabaseMachine, cases_per_backend
from tests.support.world import build_world, ingest, make_order

SKUS = ["A", "B", "KIT"]
LOCATIONS = ["main", "backup"]
HUB_ONLY = ChannelReturns()


class ReturnsMachine(DatabaseMachine):
    def __init__(self) -> None:
        super().__init__()
        build_world(
            self.engine,
            channels={"shop": None, "market": ["backup"]},
            bundles={"KIT": {"A": 2, "B": 1}},
        )
        self.orders: list[str] = []
        self.returns = 0

    @rule(sku=st.sampled_from(["A", "B"]), location=st.sampled_from(LOCATIONS), n=st.integers(1, 6))
    def receive_stock(self, sku: str, location: str, n: int) -> None:
        with transaction(self.engine) as session:
            receive_stock(
                session, sku_by_code(session, sku), location_by_code(session, location), n
            )

    @rule(
        channel=st.sampled_from(["shop", "market"]),
        lines=st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 3)), min_size=1, max_size=2),
    )
    def place_order(self, channel: str, lines: list[tuple[str, int]]) -> None:
        external_id = f"o{len(self.orders)}"
        self.orders.append(external_id)
        ingest(self.engine, channel, make_order(external_id, lines, minutes=len(self.orders)))

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data())
    def ship(self, data: st.DataObject) -> None:
        external_id = data.draw(st.sampled_from(self.orders))
        with transaction(self.engine) as session:
            order = self._order(session, external_id)
            lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all()
            wanted = {
                line.external_line_id: data.draw(st.integers(1, line.open_quantity))
                for line in lines
                if line.open_quantity
            }
            if wanted:
                self._refused(
                    session,
                    lambda: record_shipment(
                        session, order, wanted, carrier="ups", tracking_number="1Z1"
                    ),
                )

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data())
    def create_return(self, data: st.DataObject) -> None:
        external_id = data.draw(st.sampled_from(self.orders))
        sku = data.draw(st.sampled_from(SKUS))
        units = data.draw(st.integers(1, 3))
        with transaction(self.engine) as session:
            order = self._order(session, external_id)
            if not self._refused(
                session, lambda: create_return(session, order, {sku: units}, HUB_ONLY, reason="r")
            ):
                self.returns += 1

    @precondition(lambda self: self.returns > 0)
    @rule(
        data=st.data(),
        sku=st.sampled_from(SKUS),
        units=st.integers(1, 3),
        disposition=st.sampled_from(ReturnDisposition),
        location=st.sampled_from([None, *LOCATIONS]),
    )
    def receive(
        self,
        data: st.DataObject,
        sku: str,
        units: int,
        disposition: ReturnDisposition,
        location: str | None,
    ) -> None:
        with transaction(self.engine) as session:
            ret = self._a_return(session, data)
            where = location if disposition == ReturnDisposition.RESTOCK else None
            self._refused(
                session,
                lambda: receive_return(
                    session, ret, [Receipt(sku, units, disposition, where)], HUB_ONLY
                ),
            )

    @precondition(lambda self: self.returns > 0)
    @rule(data=st.data())
    def close(self, data: st.DataObject) -> None:
        with transaction(self.engine) as session:
            ret = self._a_return(session, data)
            self._refused(session, lambda: close_return(session, ret))

    def _order(self, session: Session, external_id: str) -> Order:
        return session.exec(select(Order).where(Order.external_id == external_id)).one()

    def _a_return(self, session: Session, data: st.DataObject) -> Return:
        ids = list(session.exec(select(Return.id).order_by(col(Return.id))))
        chosen = data.draw(st.sampled_from(ids))
        ret = session.get(Return, chosen)
        assert ret is not None
        return ret

    @staticmethod
    def _refused(session: Session, step: Callable[[], object]) -> bool:
        """Run the step in a savepoint, as a command runs in its transaction: a refusal
        rolls it back whole (and the invariants must hold after it). True if refused."""
        savepoint = session.begin_nested()
        try:
            step()
        except DomainError:
            savepoint.rollback()
            return True
        savepoint.commit()
        return False

    @invariant()
    def nothing_comes_back_beyond_what_shipped(self) -> None:
        with Session(self.engine) as session:
            back: dict[int, int] = {}
            for returned in session.exec(select(ReturnLine)):
                back[returned.order_line_id] = (
                    back.get(returned.order_line_id, 0) + returned.quantity_received
                )
                assert returned.quantity_inspected <= returned.quantity
            for line in session.exec(select(OrderLine)):
                assert back.get(line.id or 0, 0) <= line.quantity_shipped, line.external_line_id
            restocked = session.exec(
                select(func.coalesce(func.sum(StockMovement.delta), 0)).where(
                    StockMovement.kind == MovementKind.RETURN_RESTOCK
                )
            ).one()
            shipped_out = -session.exec(
                select(func.coalesce(func.sum(StockMovement.delta), 0)).where(
                    StockMovement.kind == MovementKind.SHIPMENT
                )
            ).one()
            assert 0 <= restocked <= shipped_out

    @invariant()
    def availability_is_within_free_stock(self) -> None:
        with Session(self.engine) as session:
            ids = [sku_by_code(session, code).id or 0 for code in ("A", "B")]
            for channel in session.exec(select(Channel)):
                free = free_by_sku(session, ids, selling_location_ids(session, channel))
                available = available_to_sell(session, channel, ids)
                for sku_id in ids:
                    assert 0 <= available[sku_id] <= max(free.get(sku_id, 0), 0)


TestReturnPropertiesSQLite, TestReturnPropertiesPostgres = cases_per_backend(
    ReturnsMachine, max_examples=10, steps=25
)
