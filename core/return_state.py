"""What every return path shares: the channel's part in returns, the outbox of what it
is told, how a return's status moves, and how much of its order came back.

A channel type says what it takes (`ChannelReturns`, from its connector's
`return_actions` and `refund_hint`): the hub writes a ReturnPush only for an action
the channel takes, in the transaction of the change, and the returns job pushes it
after commit (sync/jobs/returns.py), as shipments are pushed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from omnisync.core.clock import clock_of
from omnisync.core.models import Order, OrderLine, Return, ReturnLine, ReturnPush
from omnisync.core.outbox import note_channel_raised
from omnisync.core.types import (
    OrderReturnState,
    OrderStatus,
    PushState,
    RefundState,
    ReturnAction,
    ReturnDisposition,
    ReturnStatus,
)

_LIVE_ENDINGS = frozenset({ReturnStatus.DECLINED, ReturnStatus.CANCELLED})
"""A return in one of these brought nothing back and never will."""


@dataclass(frozen=True)
class ChannelReturns:
    """What a channel's type takes of returns (its connector's ClassVars)."""

    actions: frozenset[ReturnAction] = field(default_factory=frozenset)
    refund_hint: str = ""
    """Where the seller refunds when the channel takes no refund from the hub."""

    @property
    def refunds(self) -> bool:
        return ReturnAction.REFUND in self.actions


def queue_push(
    session: Session,
    ret: Return,
    channel: ChannelReturns,
    action: ReturnAction,
    *,
    lines: Iterable[dict[str, object]] = (),
    refund: bool = False,
    reason: str | None = None,
) -> ReturnPush | None:
    """Write what the channel is to be told, when it takes `action` and the return is
    the channel's (a return made in the hub has nothing to tell); None otherwise."""
    if ret.external_id is None or action not in channel.actions:
        return None
    assert ret.id is not None
    push = ReturnPush(
        return_id=ret.id,
        action=action,
        lines=[dict(line) for line in lines],
        refund=refund,
        reason=reason,
        push_state=PushState.PENDING,
        created_at=clock_of(session).now(),
    )
    session.add(push)
    return push


def set_status(ret: Return, status: ReturnStatus, now: datetime) -> None:
    """Move the return to `status`, noting when (the return_waiting alert measures it)."""
    if status != ret.status:
        ret.status = status
        ret.status_changed_at = now
        if status == ReturnStatus.CLOSED and ret.closed_at is None:
            ret.closed_at = now
    ret.updated_at = now


def receipt_status(lines: Iterable[ReturnLine]) -> ReturnStatus:
    """received when every unit of every line is inspected, else partially_received."""
    if all(line.open_quantity == 0 for line in lines):
        return ReturnStatus.RECEIVED
    return ReturnStatus.PARTIALLY_RECEIVED


def note_refund_outcome(ret: Return, ok: bool, error: str | None, now: datetime) -> None:
    """A push carrying a refund came back: the money is sent, or failed with words."""
    ret.refund_state = RefundState.REFUNDED if ok else RefundState.FAILED
    ret.refund_error = None if ok else (error or "refused")[:2000]
    ret.updated_at = now


def note_push_acknowledged(session: Session, push: ReturnPush) -> None:
    """The channel took `push`. A PROCESS that restocked units made the channel raise its
    own quantity of them as well (Shopify restocks what RESTOCKED names), though the hub
    counted them when they were received: the hub's figure goes out to that channel
    again (core/outbox.py note_channel_raised)."""
    restocked: dict[str, int] = {}
    for line in push.lines:
        if line.get("disposition") == ReturnDisposition.RESTOCK.value:
            key = str(line["external_line_id"])
            restocked[key] = restocked.get(key, 0) + int(str(line["quantity"]))
    if push.action != ReturnAction.PROCESS or not restocked:
        return
    ret = session.get(Return, push.return_id)
    assert ret is not None
    rows = session.exec(
        select(ReturnLine.external_line_id, OrderLine.sku_id)
        .join(OrderLine, col(OrderLine.id) == ReturnLine.order_line_id)
        .where(
            ReturnLine.return_id == push.return_id,
            col(ReturnLine.external_line_id).in_(sorted(restocked)),
        )
    ).all()
    raised: dict[int, int] = {}
    for external_line_id, sku_id in rows:
        if sku_id is not None:
            raised[sku_id] = raised.get(sku_id, 0) + restocked[external_line_id]
    note_channel_raised(session, ret.channel_id, raised)


def refresh_order_return_state(session: Session, order: Order) -> OrderReturnState:
    """Derive how much of `order` came back over its live returns; an order whose every
    shipped unit came back and that has nothing left to ship reads returned."""
    assert order.id is not None
    rows = session.exec(
        select(Return.status, ReturnLine)
        .join(ReturnLine, col(ReturnLine.return_id) == Return.id)
        .where(Return.order_id == order.id)
    ).all()
    live = [(status, line) for status, line in rows if ReturnStatus(status) not in _LIVE_ENDINGS]
    received = sum(line.quantity_received for _, line in live)
    order_lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all()
    shipped = sum(line.quantity_shipped for line in order_lines)
    if received == 0:
        any_open = any(ReturnStatus(status).is_open for status, _ in live)
        state = OrderReturnState.REQUESTED if any_open else OrderReturnState.NONE
    elif received >= shipped:
        state = OrderReturnState.RETURNED
    else:
        state = OrderReturnState.PARTIALLY_RETURNED
    if state != order.return_state:
        order.return_state = state
        order.modified_at = clock_of(session).now()
    if state == OrderReturnState.RETURNED and not any(line.open_quantity for line in order_lines):
        order.status = OrderStatus.RETURNED
    session.add(order)
    return state
