"""Returns in the core: made in the hub or reported by a channel, received with
dispositions (only sellable units go back on the shelf, as return_restock movements in
the same transaction: invariant 1), the refund as its own step, and the outbox of what
the channel is told."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.dto import NormalisedReturn, NormalisedReturnLine
from omnisync.core.errors import Conflict, InvalidRequest
from omnisync.core.models import (
    Listing,
    Order,
    OrderLine,
    Return,
    ReturnInspection,
    ReturnLine,
    ReturnPush,
    StockMovement,
)
from omnisync.core.return_intake import UnmatchedReturn, intake_return
from omnisync.core.return_state import ChannelReturns
from omnisync.core.returns import (
    Receipt,
    approve_return,
    close_return,
    create_return,
    find_return,
    receive_return,
    refund_return,
)
from omnisync.core.types import (
    MovementKind,
    OrderReturnState,
    OrderStatus,
    PushState,
    RefundState,
    ReturnAction,
    ReturnDisposition,
    ReturnStatus,
)
from tests.support.world import (
    T0,
    build_world,
    check_ledger_invariants,
    ingest,
    level,
    list_sku,
    make_order,
    order_row,
    set_count,
)

TELLS_ALL = ChannelReturns(actions=frozenset(ReturnAction))
SELLER_CENTRAL = ChannelReturns(refund_hint="Refunds are issued in Seller Central")
RESTOCK, DAMAGED = ReturnDisposition.RESTOCK, ReturnDisposition.DAMAGED


@pytest.fixture
def world(engine: Engine) -> Engine:
    """Order o1 on `shop`: 3 of A, shipped in full from main (5 on hand before)."""
    build_world(engine)
    set_count(engine, "A", "main", 5)
    list_sku(engine, "shop", "A")
    list_sku(engine, "market", "A")
    ingest(engine, "shop", make_order("o1", [("A", 3)], status=OrderStatus.SHIPPED, minutes=1))
    return engine


def _order(session: Session, external_id: str = "o1") -> Order:
    return session.exec(select(Order).where(Order.external_id == external_id)).one()


def _clean_listings(engine: Engine) -> None:
    with transaction(engine) as session:
        for listing in session.exec(select(Listing)):
            listing.dirty = False
            session.add(listing)


def _reported(
    status: ReturnStatus, minutes: int, *, quantity: int = 2, order: str = "o1"
) -> NormalisedReturn:
    return NormalisedReturn(
        external_id="R-1",
        order_external_id=order,
        name="#o1-R1",
        status=status,
        channel_status=status.value.upper(),
        requested_at=T0 + timedelta(minutes=5),
        updated_at=T0 + timedelta(minutes=minutes),
        lines=(
            NormalisedReturnLine(
                external_line_id="RL-1",
                order_external_line_id="o1-0",
                quantity=quantity,
                reason="too small",
            ),
        ),
    )


def _take_in(engine: Engine, incoming: NormalisedReturn, taken: ChannelReturns = TELLS_ALL) -> None:
    with transaction(engine) as session:
        intake_return(session, channel_by_name(session, "shop"), incoming, taken)


def _return(engine: Engine) -> Return:
    with Session(engine) as session:
        return session.exec(select(Return)).one()


def _ret(session: Session) -> Return:
    return session.exec(select(Return)).one()


def _pushes(engine: Engine) -> list[ReturnPush]:
    with Session(engine) as session:
        return list(session.exec(select(ReturnPush).order_by(col(ReturnPush.id))))


def test_a_sellable_unit_goes_back_on_the_shelf_and_a_damaged_one_does_not(world: Engine) -> None:
    assert level(world, "A", "main") == (2, 0)
    _clean_listings(world)
    with transaction(world) as session:
        ret = create_return(
            session, _order(session), {"A": 2}, ChannelReturns(), reason="too small", by="ann"
        )
        receive_return(
            session, ret, [Receipt("A", 1, RESTOCK), Receipt("A", 1, DAMAGED)], ChannelReturns()
        )
    assert level(world, "A", "main") == (3, 0)  # exactly one unit back, where it shipped from
    with Session(world) as session:
        restocks = session.exec(
            select(StockMovement).where(StockMovement.kind == MovementKind.RETURN_RESTOCK)
        ).all()
        assert [(m.delta, m.reference) for m in restocks] == [(1, f"return:{_ret(session).id}")]
        # every channel selling A is owed the new quantity
        assert all(listing.dirty for listing in session.exec(select(Listing)))
        line = session.exec(select(ReturnLine)).one()
        assert (line.quantity_restocked, line.quantity_damaged, line.open_quantity) == (1, 1, 0)
        check_ledger_invariants(session)
    ret = _return(world)
    assert ret.status == ReturnStatus.RECEIVED
    assert ret.name == "o1-R1"
    assert ret.created_by == "ann"
    order = order_row(world, "shop", "o1")
    assert order.return_state == OrderReturnState.PARTIALLY_RETURNED
    assert order.status == OrderStatus.SHIPPED
    assert _pushes(world) == []  # a return made in the hub has nothing to tell the channel


def test_a_restock_goes_where_it_is_told(world: Engine) -> None:
    with transaction(world) as session:
        ret = create_return(session, _order(session), {"A": 1}, ChannelReturns(), reason="r")
        receive_return(session, ret, [Receipt("A", 1, RESTOCK, "backup")], ChannelReturns())
    assert level(world, "A", "backup") == (1, 0)
    assert level(world, "A", "main") == (2, 0)


def test_nothing_comes_back_beyond_what_shipped(world: Engine) -> None:
    with transaction(world) as session, pytest.raises(InvalidRequest, match="only 3 shipped"):
        create_return(session, _order(session), {"A": 4}, ChannelReturns(), reason="r")
    with transaction(world) as session:
        ret = create_return(session, _order(session), {"A": 2}, ChannelReturns(), reason="r")
        with pytest.raises(InvalidRequest, match="only 1 shipped and not already in a return"):
            create_return(session, _order(session), {"A": 2}, ChannelReturns(), reason="r")
        with pytest.raises(InvalidRequest, match="only 2 of the return left"):
            receive_return(session, ret, [Receipt("A", 3, RESTOCK)], ChannelReturns())
        with pytest.raises(InvalidRequest, match="no line of 'B'"):
            receive_return(session, ret, [Receipt("B", 1, RESTOCK)], ChannelReturns())
    assert level(world, "A", "main") == (2, 0)


def test_a_channel_return_is_taken_in_once_and_moves_forward_only(world: Engine) -> None:
    _take_in(world, _reported(ReturnStatus.REQUESTED, 10))
    _take_in(world, _reported(ReturnStatus.REQUESTED, 10))  # the same report again
    with Session(world) as session:
        assert len(session.exec(select(Return)).all()) == 1
        assert len(session.exec(select(ReturnLine)).all()) == 1
    assert order_row(world, "shop", "o1").return_state == OrderReturnState.REQUESTED
    _take_in(world, _reported(ReturnStatus.APPROVED, 12))
    _take_in(world, _reported(ReturnStatus.REQUESTED, 11))  # older: ignored
    _take_in(world, _reported(ReturnStatus.REQUESTED, 13))  # newer but backwards: ignored
    ret = _return(world)
    assert (ret.status, ret.channel_status) == (ReturnStatus.APPROVED, "REQUESTED")
    assert ret.refund_note is None


def test_a_report_of_the_same_time_that_says_something_else_is_taken_in(world: Engine) -> None:
    """Amazon's report has dates only: a status can change within one."""
    first = _reported(ReturnStatus.REQUESTED, 10).model_copy(update={"raw": {"s": "Pending"}})
    _take_in(world, first)
    _take_in(world, first.model_copy(update={"status": ReturnStatus.APPROVED, "raw": {"s": "A"}}))
    assert _return(world).status == ReturnStatus.APPROVED


def test_what_the_warehouse_recorded_stands_until_the_channel_closes_it(world: Engine) -> None:
    _take_in(world, _reported(ReturnStatus.APPROVED, 10))
    with transaction(world) as session:
        receive_return(session, _ret(session), [Receipt("A", 1, RESTOCK)], TELLS_ALL)
    _take_in(world, _reported(ReturnStatus.IN_TRANSIT, 11))
    assert _return(world).status == ReturnStatus.PARTIALLY_RECEIVED
    _take_in(world, _reported(ReturnStatus.CLOSED, 12))
    assert _return(world).status == ReturnStatus.CLOSED


def test_a_return_of_an_order_the_hub_lacks_is_not_taken_in(world: Engine) -> None:
    with pytest.raises(UnmatchedReturn, match="order o9 is not in the hub"):
        _take_in(world, _reported(ReturnStatus.REQUESTED, 10, order="o9"))
    with Session(world) as session:
        assert session.exec(select(Return)).all() == []


def test_receiving_tells_the_channel_the_dispositions_and_the_refund(world: Engine) -> None:
    _take_in(world, _reported(ReturnStatus.REQUESTED, 10))
    with transaction(world) as session:
        receive_return(
            session,
            _ret(session),
            [Receipt("RL-1", 1, RESTOCK), Receipt("A", 1, DAMAGED)],
            TELLS_ALL,
            refund=True,
        )
    approve, process = _pushes(world)
    assert approve.action == ReturnAction.APPROVE  # never approved: the channel hears first
    assert process.action == ReturnAction.PROCESS
    assert process.refund
    assert process.push_state == PushState.PENDING
    assert process.lines == [
        {"external_line_id": "RL-1", "quantity": 1, "disposition": "restock", "location": "main"},
        {"external_line_id": "RL-1", "quantity": 1, "disposition": "damaged", "location": None},
    ]
    assert _return(world).refund_state == RefundState.PENDING
    with transaction(world) as session, pytest.raises(Conflict, match="pending already"):
        refund_return(session, _ret(session), TELLS_ALL)


def test_a_refund_after_the_receipt_is_a_push_of_its_own(world: Engine) -> None:
    _take_in(world, _reported(ReturnStatus.REQUESTED, 10))
    with transaction(world) as session:
        approve_return(session, _ret(session), TELLS_ALL)
        receive_return(session, _ret(session), [Receipt("A", 2, RESTOCK)], TELLS_ALL)
        refund_return(session, _ret(session), TELLS_ALL)
    actions = [(push.action, push.refund) for push in _pushes(world)]
    assert actions == [
        (ReturnAction.APPROVE, False),
        (ReturnAction.PROCESS, False),
        (ReturnAction.REFUND, True),
    ]


def test_a_channel_without_refunds_says_where_the_seller_refunds(world: Engine) -> None:
    _take_in(world, _reported(ReturnStatus.APPROVED, 10), SELLER_CENTRAL)
    assert _return(world).refund_note == "Refunds are issued in Seller Central"
    with transaction(world) as session:
        receive_return(session, _ret(session), [Receipt("A", 2, RESTOCK)], SELLER_CENTRAL)
        refund_return(session, _ret(session), SELLER_CENTRAL, by="ann")
    ret = _return(world)
    assert ret.refund_state == RefundState.REFUNDED
    assert ret.refund_note is not None
    assert ret.refund_note.startswith("Refunds are issued in Seller Central")
    assert "The hub sent no money" in ret.refund_note
    assert "by ann" in ret.refund_note
    assert _pushes(world) == []


def test_every_unit_back_makes_the_order_returned(world: Engine) -> None:
    with transaction(world) as session:
        ret = create_return(session, _order(session), {"A": 3}, ChannelReturns(), reason="r")
        receive_return(
            session, ret, [Receipt("A", 2, RESTOCK), Receipt("A", 1, DAMAGED)], ChannelReturns()
        )
    order = order_row(world, "shop", "o1")
    assert (order.status, order.return_state) == (OrderStatus.RETURNED, OrderReturnState.RETURNED)


def test_missing_units_change_no_stock_and_a_closed_return_takes_nothing_more(
    world: Engine,
) -> None:
    with transaction(world) as session:
        ret = create_return(session, _order(session), {"A": 2}, ChannelReturns(), reason="r")
        receive_return(session, ret, [Receipt("A", 1, ReturnDisposition.MISSING)], ChannelReturns())
        close_return(session, ret)
        with pytest.raises(Conflict, match="closed"):
            receive_return(session, ret, [Receipt("A", 1, RESTOCK)], ChannelReturns())
    assert level(world, "A", "main") == (2, 0)
    with Session(world) as session:
        inspection = session.exec(select(ReturnInspection)).one()
        assert (inspection.disposition, inspection.location_id) == (ReturnDisposition.MISSING, None)
    assert order_row(world, "shop", "o1").return_state == OrderReturnState.NONE


def test_a_returned_bundle_restocks_its_components(engine: Engine) -> None:
    build_world(engine, bundles={"KIT": {"A": 2, "B": 1}})
    set_count(engine, "A", "main", 4)
    set_count(engine, "B", "main", 2)
    ingest(engine, "shop", make_order("k1", [("KIT", 1)], status=OrderStatus.SHIPPED, minutes=1))
    assert (level(engine, "A", "main"), level(engine, "B", "main")) == ((2, 0), (1, 0))
    with transaction(engine) as session:
        ret = create_return(
            session, _order(session, "k1"), {"KIT": 1}, ChannelReturns(), reason="r"
        )
        receive_return(session, ret, [Receipt("KIT", 1, RESTOCK)], ChannelReturns())
    assert (level(engine, "A", "main"), level(engine, "B", "main")) == ((4, 0), (2, 0))


def test_a_restocked_unit_goes_to_an_oversold_order_first(world: Engine) -> None:
    ingest(world, "shop", make_order("o2", [("A", 3)], minutes=2))  # 2 free: oversold by 1
    assert order_row(world, "shop", "o2").oversold
    with transaction(world) as session:
        ret = create_return(session, _order(session), {"A": 1}, ChannelReturns(), reason="r")
        receive_return(session, ret, [Receipt("A", 1, RESTOCK)], ChannelReturns())
    assert level(world, "A", "main") == (3, 3)
    assert not order_row(world, "shop", "o2").oversold


def test_a_return_is_found_by_id_name_or_channel_id(world: Engine) -> None:
    _take_in(world, _reported(ReturnStatus.REQUESTED, 10))
    with Session(world) as session:
        ret = session.exec(select(Return)).one()
        assert find_return(session, str(ret.id)).id == ret.id
        assert find_return(session, "#o1-R1").id == ret.id
        assert find_return(session, "R-1").id == ret.id


def test_refunded_units_a_channel_counts_out_of_a_line_do_not_unship_it(world: Engine) -> None:
    """Shopify leaves refunded units out of a line's current quantity, which maps to
    cancelled units: units that left stay shipped, and nothing goes back on the shelf."""
    ingest(
        world,
        "shop",
        make_order(
            "o1", [("A", 3)], status=OrderStatus.SHIPPED, minutes=2, shipped=[1], cancelled=[2]
        ),
    )
    with Session(world) as session:
        line = session.exec(select(OrderLine)).one()
        assert (line.quantity_shipped, line.quantity_cancelled) == (3, 0)
        check_ledger_invariants(session)
    assert level(world, "A", "main") == (2, 0)
