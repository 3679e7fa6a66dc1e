"""Returns as the CLI prints them and the API serves them: the list, one return with its
lines, inspections, outbox and order, and how many of an order's units came back.

A list is newest requested first and pages by key (`before`: requested_at, id), as the
orders list does: a return arriving between two pages neither shifts nor repeats the
second. Unit counts are read for the whole page at once, one grouped query.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select as sa_select  # sqlmodel's select takes at most 4 columns
from sqlmodel import Session, col, func, select

from omnisync.core.clock import iso
from omnisync.core.models import (
    Channel,
    Location,
    Order,
    OrderLine,
    Return,
    ReturnInspection,
    ReturnLine,
    ReturnPush,
    Sku,
)
from omnisync.core.types import OrderReturnState, ReturnStatus
from omnisync.hub.views.orders import order_views
from omnisync.hub.views.paging import newest_first
from omnisync.hub.views.shapes import (
    ReturnDetailOut,
    ReturnInspectionOut,
    ReturnLineOut,
    ReturnOut,
    ReturnPushOut,
)

LIVE_ENDINGS = (ReturnStatus.DECLINED, ReturnStatus.CANCELLED)
"""A return ended this way brought nothing back and never will: it counts for nothing."""

_RETURN_STATE_WORDS = {
    OrderReturnState.REQUESTED: "return requested",
    OrderReturnState.PARTIALLY_RETURNED: "returned in part",
    OrderReturnState.RETURNED: "returned",
}


def return_list(
    session: Session,
    *,
    channel: str | None = None,
    status: ReturnStatus | None = None,
    limit: int = 100,
    offset: int = 0,
    before: tuple[datetime, int] | None = None,
) -> list[ReturnOut]:
    """Newest requested first; `before` (requested_at, id) pages by key."""
    query = (
        select(Return, Channel.name, Order)
        .join(Channel, col(Channel.id) == Return.channel_id)
        .join(Order, col(Order.id) == Return.order_id)
    )
    if channel is not None:
        query = query.where(Channel.name == channel)
    if status is not None:
        query = query.where(Return.status == status)
    query = newest_first(query, col(Return.requested_at), col(Return.id), before)
    rows = session.exec(query.offset(offset).limit(limit)).all()
    return return_views(session, [(ret, name, order) for ret, name, order in rows])


def return_views(session: Session, returns: Sequence[tuple[Return, str, Order]]) -> list[ReturnOut]:
    """The list shape of each (return, its channel's name, its order)."""
    units = _units_by_return(session, [ret.id for ret, _, _ in returns if ret.id is not None])
    views = []
    for ret, channel_name, order in returns:
        assert ret.id is not None
        requested, restocked, damaged, missing, not_returned = units.get(ret.id, (0, 0, 0, 0, 0))
        views.append(
            ReturnOut(
                id=ret.id,
                name=ret.name,
                channel=channel_name,
                external_id=ret.external_id,
                order_id=ret.order_id,
                order_external_id=order.external_id,
                order_name=order.display_name,
                status=ret.status,
                channel_status=ret.channel_status,
                reason=ret.reason,
                customer_note=ret.customer_note,
                tracking_number=ret.tracking_number,
                units_requested=requested,
                units_restocked=restocked,
                units_damaged=damaged,
                units_missing=missing,
                units_not_returned=not_returned,
                refund_state=ret.refund_state,
                refund_note=ret.refund_note,
                refund_error=ret.refund_error,
                requested_at=iso(ret.requested_at),
                status_changed_at=iso(ret.status_changed_at),
                received_at=iso(ret.received_at),
                closed_at=iso(ret.closed_at),
                updated_at=iso(ret.updated_at),
                created_by=ret.created_by,
            )
        )
    return views


def _units_by_return(
    session: Session, return_ids: Sequence[int]
) -> dict[int, tuple[int, int, int, int, int]]:
    """Per return: units requested, restocked, damaged, missing, not returned."""
    if not return_ids:
        return {}
    rows = session.execute(
        sa_select(
            col(ReturnLine.return_id),
            func.sum(ReturnLine.quantity),
            func.sum(ReturnLine.quantity_restocked),
            func.sum(ReturnLine.quantity_damaged),
            func.sum(ReturnLine.quantity_missing),
            func.sum(ReturnLine.quantity_not_returned),
        )
        .where(col(ReturnLine.return_id).in_(return_ids))
        .group_by(col(ReturnLine.return_id))
    ).all()
    return {
        return_id: (int(asked), int(restocked), int(damaged), int(missing), int(kept))
        for return_id, asked, restocked, damaged, missing, kept in rows
    }


def return_detail(session: Session, ret: Return) -> ReturnDetailOut:
    """`returns show --json`: the list shape plus lines, pushes and the order."""
    assert ret.id is not None
    order = session.get(Order, ret.order_id)
    channel = session.get(Channel, ret.channel_id)
    assert order is not None
    assert channel is not None
    (row,) = return_views(session, [(ret, channel.name, order)])
    (order_row,) = order_views(session, [(order, channel.name)])
    return ReturnDetailOut(
        **dict(row),
        lines=_line_views(session, ret.id),
        pushes=_push_views(session, ret.id),
        order=order_row,
    )


def _line_views(session: Session, return_id: int) -> list[ReturnLineOut]:
    rows = session.exec(
        select(ReturnLine, OrderLine.external_line_id, Sku.code)
        .join(OrderLine, col(OrderLine.id) == ReturnLine.order_line_id)
        .outerjoin(Sku, col(Sku.id) == OrderLine.sku_id)
        .where(ReturnLine.return_id == return_id)
        .order_by(col(ReturnLine.id))
    ).all()
    inspections: dict[int, list[ReturnInspectionOut]] = defaultdict(list)
    for inspection, location in session.exec(
        select(ReturnInspection, Location.code)
        .outerjoin(Location, col(Location.id) == ReturnInspection.location_id)
        .where(col(ReturnInspection.return_line_id).in_([line.id for line, _, _ in rows]))
        .order_by(col(ReturnInspection.at), col(ReturnInspection.id))
    ):
        inspections[inspection.return_line_id].append(
            ReturnInspectionOut(
                at=iso(inspection.at),
                disposition=inspection.disposition,
                quantity=inspection.quantity,
                location=location,
                by=inspection.by,
            )
        )
    views = []
    for line, order_line, code in rows:
        assert line.id is not None
        views.append(
            ReturnLineOut(
                id=line.id,
                external_line_id=line.external_line_id,
                order_line=order_line,
                channel_sku=line.channel_sku,
                sku=code,
                requested=line.quantity,
                restocked=line.quantity_restocked,
                damaged=line.quantity_damaged,
                missing=line.quantity_missing,
                not_returned=line.quantity_not_returned,
                left=line.open_quantity,
                reason=line.reason,
                customer_note=line.customer_note,
                inspections=inspections[line.id],
            )
        )
    return views


def _push_views(session: Session, return_id: int) -> list[ReturnPushOut]:
    pushes = session.exec(
        select(ReturnPush).where(ReturnPush.return_id == return_id).order_by(col(ReturnPush.id))
    )
    views = []
    for push in pushes:
        assert push.id is not None
        views.append(
            ReturnPushOut(
                id=push.id,
                action=push.action,
                refund=push.refund,
                reason=push.reason,
                state=push.push_state,
                attempts=push.push_attempts,
                error=push.push_error,
                created_at=iso(push.created_at),
                pushed_at=iso(push.pushed_at),
                next_attempt_at=iso(push.next_push_at),
            )
        )
    return views


def order_return_summary(session: Session, order_id: int, state: OrderReturnState) -> str | None:
    """How much of the order came back, in words ("returned in part: 1 of 3 units back"),
    over its returns not declined or cancelled; None for an order no return touches."""
    words = _RETURN_STATE_WORDS.get(state)
    if words is None:
        return None
    back = session.exec(
        select(
            func.coalesce(func.sum(ReturnLine.quantity_restocked + ReturnLine.quantity_damaged), 0)
        )
        .join(Return, col(Return.id) == ReturnLine.return_id)
        .where(Return.order_id == order_id, col(Return.status).notin_(LIVE_ENDINGS))
    ).one()
    shipped = session.exec(
        select(func.coalesce(func.sum(OrderLine.quantity_shipped), 0)).where(
            OrderLine.order_id == order_id
        )
    ).one()
    return f"{words}: {int(back)} of {int(shipped)} unit{'' if shipped == 1 else 's'} back"
