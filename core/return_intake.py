"""Returns as the channels report them, taken in once however often they are read.

A return is keyed by (channel, the channel's return id). A report older than the one
the hub holds (by the channel's change time), or the same one again, changes nothing,
so reading a returns report again and again imports each return once (invariant 2). A
newer report moves the status forward only, and never undoes what the warehouse recorded: once units
are inspected, the hub's receipt status stands until the channel closes the return.
Lines are matched to the order's lines by the channel's order line id, else by SKU;
a line the channel adds later is added, and a line's quantity never drops below
what was inspected of it.

The channel's word on the money (Amazon's resolution column) is taken when it says
refunded; a channel that takes no refunds from the hub gets its return's
`refund_note` saying where the seller refunds.

A return whose order the hub does not hold, or whose lines match none of the order's,
raises UnmatchedReturn: the caller quarantines it with its raw payload and goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from omnisync.core.clock import clock_of
from omnisync.core.dto import NormalisedReturn, NormalisedReturnLine
from omnisync.core.errors import InvalidRequest
from omnisync.core.models import Channel, Order, OrderLine, Return, ReturnLine
from omnisync.core.return_state import ChannelReturns, refresh_order_return_state, set_status
from omnisync.core.shipping import lock_order
from omnisync.core.types import RefundState, ReturnStatus


class UnmatchedReturn(InvalidRequest):
    """The return names an order, or order lines, the hub does not hold."""


@dataclass(frozen=True)
class ReturnIntake:
    created: bool = False
    updated: bool = False
    """False for both: the hub held this version already (or a newer one)."""


def intake_return(
    session: Session, channel: Channel, incoming: NormalisedReturn, returns: ChannelReturns
) -> ReturnIntake:
    """Take one reported return in (see the module's words), in the caller's transaction."""
    order = session.exec(
        select(Order).where(
            Order.channel_id == channel.id, Order.external_id == incoming.order_external_id
        )
    ).first()
    if order is None:
        raise UnmatchedReturn(
            f"return {incoming.external_id}: order {incoming.order_external_id} is not in the hub"
        )
    order = lock_order(session, order)
    ret = session.exec(
        select(Return)
        .where(Return.channel_id == channel.id, Return.external_id == incoming.external_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    now = clock_of(session).now()
    created = ret is None
    if ret is None:
        ret = Return(
            order_id=order.id or 0,
            channel_id=channel.id or 0,
            external_id=incoming.external_id,
            status=incoming.status,
            requested_at=incoming.requested_at,
            status_changed_at=now,
            created_at=now,
            refund_note=None if returns.refunds else returns.refund_hint or None,
        )
        session.add(ret)
        session.flush()
    elif _not_news(ret, incoming):
        return ReturnIntake()
    lines = list(session.exec(select(ReturnLine).where(ReturnLine.return_id == ret.id)))
    _merge_lines(session, ret, order, lines, incoming.lines)
    if not created:
        set_status(ret, _merged_status(ret.status, incoming.status, lines), now)
    ret.name = incoming.name or ret.name
    ret.channel_status = incoming.channel_status[:64]
    ret.reason = incoming.reason or ret.reason
    ret.customer_note = incoming.customer_note or ret.customer_note
    ret.tracking_number = incoming.tracking_number or ret.tracking_number
    if incoming.refund_state == RefundState.REFUNDED:
        ret.refund_state = RefundState.REFUNDED
        ret.refund_error = None
    ret.channel_updated_at = incoming.updated_at
    ret.raw = incoming.raw
    ret.updated_at = now
    session.add(ret)
    session.flush()
    refresh_order_return_state(session, order)
    return ReturnIntake(created=created, updated=not created)


def _not_news(ret: Return, incoming: NormalisedReturn) -> bool:
    """An older report, or the same one again. A report of the same change time that
    says something else is news: a channel whose times are dates only (Amazon's
    report) changes a return's status within one."""
    if ret.channel_updated_at is None:
        return False
    if incoming.updated_at != ret.channel_updated_at:
        return incoming.updated_at < ret.channel_updated_at
    return incoming.raw == ret.raw


def _merged_status(
    held: ReturnStatus, reported: ReturnStatus, lines: Sequence[ReturnLine]
) -> ReturnStatus:
    """The channel moves a return forward, never back; what the warehouse recorded
    stands until the channel closes the return, and an ended return stays ended."""
    if not held.is_open:
        return held
    inspected = any(line.quantity_inspected for line in lines)
    if inspected:
        return ReturnStatus.CLOSED if reported == ReturnStatus.CLOSED else held
    if not reported.is_open:
        return reported
    return reported if reported.progress > held.progress else held


def _merge_lines(
    session: Session,
    ret: Return,
    order: Order,
    held: list[ReturnLine],
    reported: Sequence[NormalisedReturnLine],
) -> None:
    if not reported and not held:
        raise UnmatchedReturn(f"return {ret.external_id} has no lines")
    by_id = {line.external_line_id: line for line in held}
    order_lines = list(
        session.exec(
            select(OrderLine).where(OrderLine.order_id == order.id).order_by(col(OrderLine.id))
        )
    )
    for incoming in reported:
        line = by_id.get(incoming.external_line_id)
        if line is None:
            order_line = _order_line(order, order_lines, incoming)
            line = ReturnLine(
                return_id=ret.id or 0,
                order_line_id=order_line.id or 0,
                external_line_id=incoming.external_line_id,
                channel_sku=incoming.channel_sku or order_line.channel_sku,
                quantity=incoming.quantity,
            )
            held.append(line)
        else:
            line.quantity = max(incoming.quantity, line.quantity_inspected)
        line.reason = incoming.reason or line.reason
        line.customer_note = incoming.customer_note or line.customer_note
        session.add(line)
    session.flush()


def _order_line(
    order: Order, order_lines: Sequence[OrderLine], incoming: NormalisedReturnLine
) -> OrderLine:
    for line in order_lines:
        if incoming.order_external_line_id is not None:
            if line.external_line_id == incoming.order_external_line_id:
                return line
        elif line.channel_sku == incoming.channel_sku:
            return line
    named = incoming.order_external_line_id or incoming.channel_sku
    raise UnmatchedReturn(
        f"return line {incoming.external_line_id}: order {order.external_id} has no line {named!r}"
    )
