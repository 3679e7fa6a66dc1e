"""Routing an order by hand (`omnisync orders route ID --location L`).

Every open line moves to L in one transaction: what the order held elsewhere is released
(and goes to orders waiting there, oldest first), then it takes what it needs at L, and
is oversold there for what L lacks. The route records that an operator chose it; such an
order then waits for stock at L only (core/order_routing.py may_take_waiting).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from omnisync.core.channels import selling_locations
from omnisync.core.clock import clock_of
from omnisync.core.errors import Conflict, InvalidRequest
from omnisync.core.locked_stock import LockedStock, units_needed
from omnisync.core.models import Channel, Order, OrderLine, PickList, PickListLine
from omnisync.core.outbox import mark_touched_dirty
from omnisync.core.reservations import reallocate_freed, refresh_oversold
from omnisync.core.routing import RouteDecision, RoutingRules
from omnisync.core.shipping import check_shippable, lock_order
from omnisync.core.types import PickListState, RouteSource


@dataclass(frozen=True)
class Rerouted:
    order: Order
    route: dict[str, Any]
    short_units: int
    """Units the new location lacks: the order is oversold by as many."""


def reroute_order(session: Session, order: Order, location_code: str, *, actor: str) -> Rerouted:
    """Move the order's open lines to `location_code` (in the caller's transaction).

    InvalidRequest when the order cannot ship or the channel does not sell from that
    location; Conflict when it is on hold or its open lines are on a live pick list
    (open or picked: cancel it first).
    """
    order = lock_order(session, order)
    check_shippable(order)
    channel = session.get(Channel, order.channel_id)
    assert channel is not None
    allowed = selling_locations(session, channel)
    target = next((location for location in allowed if location.code == location_code), None)
    if target is None:
        codes = ", ".join(location.code for location in allowed) or "none"
        raise InvalidRequest(
            f"channel {channel.name} does not sell from {location_code!r} (its locations: {codes})"
        )
    lines = [
        line
        for line in session.exec(
            select(OrderLine)
            .where(OrderLine.order_id == order.id)
            .order_by(col(OrderLine.sku_id), col(OrderLine.id))
            .execution_options(populate_existing=True)
        )
        if line.sku_id is not None and units_needed(order, line)
    ]
    if not lines:
        raise InvalidRequest(f"order {order.external_id} has nothing left to route")
    picking = _live_pick_list(session, [line.id for line in lines if line.id is not None])
    if picking is not None:
        raise Conflict(
            f"order {order.external_id} is on pick list {picking}, whose units are picked at "
            f"its location: cancel it (`omnisync pick cancel {picking}`) before routing the "
            "order again"
        )
    stock = LockedStock.lock(
        session,
        [line.sku_id for line in lines if line.sku_id],
        [line.id for line in lines if line.id],
    )
    for line in lines:
        stock.move_line(order, line, target.id)
    short = stock.shortage(order, lines)
    effects = stock.write(session)
    now = clock_of(session).now()
    reason = f"routed by hand to {target.code} by {actor}"
    if short:
        reason += f" ({short} unit(s) oversold there)"
    decision = RouteDecision(
        lines={line.external_line_id: target for line in lines},
        reason=reason,
        split=RoutingRules.from_mapping(channel.routing).split,
        short_units=short,
        locations=[target],
    )
    order.route = decision.as_route(RouteSource.OPERATOR, now)
    order.routed_at = now
    order.modified_at = now
    session.add(order)
    effects.merge(reallocate_freed(session, effects))
    refresh_oversold(session, order)
    mark_touched_dirty(session, effects.touched)
    session.flush()
    return Rerouted(order, order.route, short)


def _live_pick_list(session: Session, line_ids: list[int]) -> int | None:
    """A live (open or picked) pick list with units of these lines on it, if any."""
    return session.exec(
        select(PickList.id)
        .join(PickListLine, col(PickListLine.pick_list_id) == PickList.id)
        .where(
            col(PickListLine.order_line_id).in_(line_ids),
            col(PickList.state).in_([PickListState.OPEN, PickListState.PICKED]),
            PickListLine.quantity > PickListLine.short,
        )
    ).first()
