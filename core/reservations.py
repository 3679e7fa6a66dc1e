"""Reservations: stock held for open order lines (invariant 4).

Each open line of a holding order has exactly one active reservation per
stocked SKU (a bundle line: one per component). Its `quantity` is what is held
now; when stock is short the line is oversold and the reservation waits, and
new stock goes to waiting lines oldest order first. A line reserves at one
location: where the order's route puts it (core/routing.py decides when the order
comes in); an order without a route (taken in before routing existed) reserves at the
first of the channel's locations that has all of it, else the one with the most free
stock. A waiting line takes new stock where its route allows
(core/order_routing.py may_take_waiting).
"""

from __future__ import annotations

import logging

from sqlmodel import Session, col, select

from omnisync.core.alerting import RULE_OVERSOLD, keep_shipped_not_on_hand, open_alert
from omnisync.core.catalog import bundle_recipes
from omnisync.core.channels import selling_locations
from omnisync.core.clock import clock_of
from omnisync.core.levels import reserve_free, unreserve
from omnisync.core.locked_stock import LineState, LockedStock, OrderState
from omnisync.core.locked_stock import StockEffects as StockEffects
from omnisync.core.locked_stock import units_needed as units_needed
from omnisync.core.models import Channel, Order, OrderLine, Reservation
from omnisync.core.order_routing import may_take_waiting, moved_line, pinned_by_pick_lists
from omnisync.core.types import AlertSeverity, OrderStatus, ReservationState

log = logging.getLogger(__name__)

HOLDING_STATUSES = [status for status in OrderStatus if status.holds_stock]


def stocked_parts(session: Session, sku_id: int) -> list[tuple[int, int]]:
    """(stocked SKU, units per unit of `sku_id`): a bundle's components, else itself."""
    return bundle_recipes(session, [sku_id]).get(sku_id) or [(sku_id, 1)]


def settle_line(
    session: Session, order: OrderState, line: LineState, location_ids: list[int]
) -> StockEffects:
    """Bring the line's reservations to what it needs now: release excess, fill shortfall."""
    if line.sku_id is None or line.id is None:
        return StockEffects()
    stock = LockedStock.lock(session, [line.sku_id], [line.id])
    stock.settle(order, line, location_ids)
    return stock.write(session)


def release_line(session: Session, line: LineState) -> tuple[int, StockEffects]:
    """Free what the line holds of its SKU, before it is unbound from it (see
    LockedStock.release_line): the units freed, and what changed."""
    if line.sku_id is None or line.id is None:
        return 0, StockEffects()
    stock = LockedStock.lock(session, [line.sku_id], [line.id])
    freed = stock.release_line(line)
    return freed, stock.write(session)


def consume_shipped(
    session: Session,
    order: OrderState,
    line: LineState,
    shipped_units: int,
    location_ids: list[int],
    *,
    reference: str,
    channel_id: int,
) -> StockEffects:
    """Take `shipped_units` of the line out of stock (see LockedStock.consume_shipped)."""
    if shipped_units <= 0 or order.fulfilled_by_channel or line.sku_id is None or not line.id:
        return StockEffects()
    stock = LockedStock.lock(session, [line.sku_id], [line.id])
    stock.consume_shipped(
        order, line, shipped_units, location_ids, reference=reference, channel_id=channel_id
    )
    return stock.write(session)


def shortage_units(session: Session, order: Order) -> int:
    """Units the order's open lines need beyond what they hold."""
    lines = list(session.exec(select(OrderLine).where(OrderLine.order_id == order.id)))
    stock = LockedStock.lock(
        session,
        [line.sku_id for line in lines if line.sku_id is not None],
        [line.id for line in lines if line.id is not None],
        levels=False,
    )
    return stock.shortage(order, lines)


def refresh_oversold(session: Session, order: Order) -> int:
    """Recompute the order's oversold flag; a newly oversold order raises an alert."""
    short = shortage_units(session, order)
    newly = short > 0 and not order.oversold
    order.oversold = short > 0
    if newly:
        order.oversold_at = order.oversold_at or clock_of(session).now()
        alert_oversold(session, order.channel_id, order.id or 0, order.external_id, short)
    session.add(order)
    return short


def alert_oversold(
    session: Session, channel_id: int, order_id: int, external_id: str, short: int
) -> None:
    open_alert(
        session,
        RULE_OVERSOLD,
        channel_id,
        f"order {external_id} is oversold by {short} unit(s)",
        severity=AlertSeverity.CRITICAL,
        details=keep_shipped_not_on_hand(
            session, channel_id, {"order_id": order_id, "external_id": external_id, "short": short}
        ),
    )


def allocate_waiting(session: Session, sku_id: int, location_id: int) -> StockEffects:
    """Give free stock at (sku, location) to waiting oversold lines, oldest order first."""
    effects = StockEffects()
    need = (
        OrderLine.quantity - OrderLine.quantity_shipped - OrderLine.quantity_cancelled
    ) * Reservation.per_unit
    waiting = session.exec(
        select(Reservation, OrderLine, Order)
        .join(OrderLine, col(OrderLine.id) == Reservation.order_line_id)
        .join(Order, col(Order.id) == OrderLine.order_id)
        .where(
            Reservation.sku_id == sku_id,
            Reservation.state == ReservationState.ACTIVE,
            col(Order.status).in_(HOLDING_STATUSES),
            need > Reservation.quantity,
        )
        .order_by(col(Order.placed_at), col(Order.id), col(OrderLine.id))
        .with_for_update(of=Reservation)
        .execution_options(populate_existing=True)
    ).all()
    channels: dict[int, dict[int, str]] = {}
    changed_orders: dict[int, Order] = {}
    pinned = pinned_by_pick_lists(
        session,
        sku_id,
        [
            (line.id, line.quantity_shipped * reservation.per_unit)
            for reservation, line, _ in waiting
            if line.id is not None and reservation.location_id != location_id
        ],
    )
    for reservation, line, order in waiting:
        if order.channel_id not in channels:
            channel = session.get(Channel, order.channel_id)
            selling = selling_locations(session, channel) if channel else []
            channels[order.channel_id] = {place.id: place.code for place in selling}
        code = channels[order.channel_id].get(location_id)
        if code is None:
            continue
        if not may_take_waiting(order.route, line.external_line_id, code):
            continue  # routed elsewhere: only its own location's stock goes to it
        if line.id in pinned:
            continue  # units of it are picked at its location: the line stays there
        short = units_needed(order, line) * reservation.per_unit - reservation.quantity
        if short <= 0:
            continue
        taken = _take_for_waiting(session, reservation, location_id, short, effects)
        if taken:
            changed_orders[order.id or 0] = order
            routed = (order.route or {}).get("lines", {}).get(line.external_line_id)
            if order.route and routed != code:
                order.route = moved_line(order.route, line.external_line_id, line.channel_sku, code)
        if taken < short:
            break  # the location has no free units left for anyone after this line
    for order in changed_orders.values():
        refresh_oversold(session, order)
    session.flush()
    return effects


def _take_for_waiting(
    session: Session,
    reservation: Reservation,
    location_id: int,
    short: int,
    effects: StockEffects,
) -> int:
    sku_id = reservation.sku_id
    if reservation.location_id == location_id or reservation.quantity == 0:
        taken = reserve_free(session, sku_id, location_id, short, partial=True)
        if taken:
            reservation.location_id = location_id
    else:
        # Held partly elsewhere: move the whole line here only if it fits at once.
        whole = reservation.quantity + short
        if not reserve_free(session, sku_id, location_id, whole, partial=False):
            return 0
        unreserve(session, sku_id, reservation.location_id, reservation.quantity)
        effects.touched.add((sku_id, reservation.location_id))
        effects.freed.add((sku_id, reservation.location_id))
        reservation.location_id, taken = location_id, short
    if taken:
        reservation.quantity += taken
        reservation.updated_at = clock_of(session).now()
        session.add(reservation)
        effects.touched.add((sku_id, location_id))
    return taken


def reallocate_freed(session: Session, effects: StockEffects) -> StockEffects:
    """Run allocate_waiting for every freed (sku, location) until nothing more frees up."""
    total = StockEffects()
    pending = set(effects.freed)
    seen: set[tuple[int, int]] = set()
    while pending:
        pair = pending.pop()
        seen.add(pair)
        more = allocate_waiting(session, *pair)
        total.merge(more)
        pending |= more.freed - seen
    return total
