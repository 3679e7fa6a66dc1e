"""Holds: an operator stops an order from shipping (a fraud review, a question to the
buyer) without giving up its stock.

A held order keeps its reservations, so no other channel sells its units meanwhile;
`record_shipment` refuses it (core/shipping.py) and the fulfilments job pushes none
of its shipments (sync/jobs/fulfilments.py) until it is released. The hold is the
hub's fact alone: order intake never touches it, whatever the channel reports.
"""

from __future__ import annotations

from sqlmodel import Session

from omnisync.core.clock import clock_of
from omnisync.core.errors import Conflict
from omnisync.core.models import Order
from omnisync.core.shipping import lock_order
from omnisync.core.types import OrderStatus

_NOT_HOLDABLE = {
    OrderStatus.CANCELLED: "is cancelled",
    OrderStatus.SHIPPED: "has shipped",
    OrderStatus.DELIVERED: "was delivered",
    OrderStatus.RETURNED: "was returned",
}


def hold_order(session: Session, order: Order, reason: str | None) -> Order:
    """Put the order on hold (in the caller's transaction); Conflict when it is on hold
    already or has nothing left to ship."""
    order = lock_order(session, order)
    if order.held_at is not None:
        raise Conflict(f"order {order.external_id} is on hold already ({describe_hold(order)})")
    finished = _NOT_HOLDABLE.get(order.status)
    if finished is not None:
        raise Conflict(f"order {order.external_id} {finished}: there is nothing left to hold")
    if order.fulfilled_by_channel:
        raise Conflict(
            f"order {order.external_id} is fulfilled by the channel: the hub ships nothing of it"
        )
    order.held_at = clock_of(session).now()
    order.hold_reason = (reason or "").strip() or None
    order.modified_at = order.held_at
    session.add(order)
    session.flush()
    return order


def release_order(session: Session, order: Order) -> Order:
    """Lift the order's hold (in the caller's transaction); Conflict when it is not held."""
    order = lock_order(session, order)
    if order.held_at is None:
        raise Conflict(f"order {order.external_id} is not on hold")
    order.held_at = None
    order.hold_reason = None
    order.modified_at = clock_of(session).now()
    session.add(order)
    session.flush()
    return order


def describe_hold(order: Order) -> str:
    """`since 2026-11-22 10:05 UTC: fraud review`, for messages."""
    if order.held_at is None:
        return "not on hold"
    since = f"since {order.held_at:%Y-%m-%d %H:%M} UTC"
    return f"{since}: {order.hold_reason}" if order.hold_reason else since
