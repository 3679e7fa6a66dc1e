"""Cancelling an order in the hub: an operator undoes a sale the channel still shows.

`cancel_in_hub` works in the caller's transaction. Every unit of the order that has
not left is cancelled on its line; the lines are then settled through the path a
channel's cancellation takes in order intake (core/locked_stock.py `settle`: a line
needing nothing releases what it holds), the freed stock goes to waiting lines, and
the listings whose availability rose are marked dirty (invariants 4 and 6). Units
already shipped stay shipped: the order ends cancelled when nothing had left, else
shipped. The cancellation is a hub fact: no later report of the channel undoes it
(core/order_status.py), so a re-read never reserves for the order again.

Telling the channel is a separate step, after commit (hub/order_actions.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from omnisync.core.channels import selling_location_ids
from omnisync.core.clock import clock_of
from omnisync.core.errors import Conflict
from omnisync.core.models import Channel, Order, OrderLine
from omnisync.core.order_status import rederive_order_status
from omnisync.core.outbox import mark_touched_dirty
from omnisync.core.reservations import StockEffects, reallocate_freed, refresh_oversold, settle_line
from omnisync.core.shipping import lock_order
from omnisync.core.types import OrderStatus


@dataclass(frozen=True)
class CancelledLine:
    external_line_id: str
    channel_sku: str
    cancelled: int
    """Units this cancellation took off the line."""
    shipped: int
    """Units of the line that had left: they stay shipped."""


@dataclass(frozen=True)
class HubCancellation:
    order: Order
    lines: tuple[CancelledLine, ...]
    already: bool = False
    """The hub had cancelled the order before: nothing changed now."""

    @property
    def units_cancelled(self) -> int:
        return sum(line.cancelled for line in self.lines)

    @property
    def units_shipped(self) -> int:
        return sum(line.shipped for line in self.lines)


def cancel_in_hub(session: Session, order: Order, reason: str | None) -> HubCancellation:
    """Cancel every unit of `order` that has not left; Conflict, having changed nothing,
    when the channel cancelled or fulfils it, or nothing is left to cancel. Cancelling
    an order the hub cancelled before changes nothing (`already`)."""
    order = lock_order(session, order)
    lines = _lines(session, order)
    if order.cancelled_by_hub_at is not None:
        return HubCancellation(order, _untouched(lines), already=True)
    _check_cancellable(order, lines)
    cancelled = tuple(
        CancelledLine(
            line.external_line_id, line.channel_sku, line.open_quantity, line.quantity_shipped
        )
        for line in lines
    )
    order.cancelled_by_hub_at = clock_of(session).now()
    order.hub_cancel_reason = (reason or "").strip() or None
    for line in lines:
        line.quantity_cancelled += line.open_quantity
        session.add(line)
    session.flush()
    rederive_order_status(session, order)
    _release_stock(session, order, lines)
    order.modified_at = clock_of(session).now()  # updated_at stays the channel's own change time
    session.add(order)
    refresh_oversold(session, order)
    session.flush()
    return HubCancellation(order, cancelled)


def _lines(session: Session, order: Order) -> list[OrderLine]:
    return list(
        session.exec(
            select(OrderLine)
            .where(OrderLine.order_id == order.id)
            .order_by(col(OrderLine.id))
            .execution_options(populate_existing=True)
        )
    )


def _untouched(lines: list[OrderLine]) -> tuple[CancelledLine, ...]:
    return tuple(
        CancelledLine(line.external_line_id, line.channel_sku, 0, line.quantity_shipped)
        for line in lines
    )


def _check_cancellable(order: Order, lines: list[OrderLine]) -> None:
    name = f"order {order.external_id}"
    if order.status == OrderStatus.CANCELLED:
        raise Conflict(f"{name} was cancelled by the channel already: nothing to cancel")
    if order.status in (OrderStatus.DELIVERED, OrderStatus.RETURNED):
        raise Conflict(f"{name} was {order.status.value}: nothing to cancel")
    if order.fulfilled_by_channel:
        raise Conflict(f"{name} is fulfilled by the channel: cancel it on the channel")
    if not any(line.open_quantity for line in lines):
        shipped = sum(line.quantity_shipped for line in lines)
        raise Conflict(
            f"{name}: nothing left to cancel ({shipped} unit(s) shipped, the rest cancelled); "
            "shipped units cannot be cancelled"
        )


def _release_stock(session: Session, order: Order, lines: list[OrderLine]) -> None:
    """Settle every line as intake settles a cancelled order's: what they hold is freed."""
    channel = session.get(Channel, order.channel_id)
    assert channel is not None
    location_ids = selling_location_ids(session, channel)
    effects = StockEffects()
    # The same lock order as intake and shipping (by SKU, then line): no deadlock.
    for line in sorted(lines, key=lambda line: (line.sku_id or 0, line.id or 0)):
        effects.merge(settle_line(session, order, line, location_ids))
    effects.merge(reallocate_freed(session, effects))
    mark_touched_dirty(session, effects.touched)
