"""Reservations: stock held for open order lines (invariant 4).

Each open line of a holding order has exactly one active reservation per
stocked SKU (a bundle line: one per component). Its `quantity` is what is held
now; when stock is short the line is oversold and the reservation waits, and
new stock goes to waiting lines oldest order first. A line reserves at one
location: the first of the channel's locations that has all of it, else the one
with the most free stock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from core.alerting import RULE_OVERSOLD, open_alert
from core.catalog import bundle_recipes
from core.channels import selling_location_ids
from core.clock import utcnow
from core.levels import ensure_level, lock_level, move_stock, reserve_free, unreserve
from core.models import Channel, Order, OrderLine, Reservation, StockLevel
from core.types import AlertSeverity, MovementKind, OrderStatus, ReservationState

log = logging.getLogger(__name__)

HOLDING_STATUSES = [status for status in OrderStatus if status.holds_stock]


@dataclass
class StockEffects:
    """What a transaction did to stock levels, for the outbox and for re-allocation."""

    touched: set[tuple[int, int]] = field(default_factory=set)
    """(sku, location) pairs whose on_hand or reserved changed."""
    freed: set[tuple[int, int]] = field(default_factory=set)
    """(sku, location) pairs where reserved went down (free stock appeared)."""

    def merge(self, other: StockEffects) -> None:
        self.touched |= other.touched
        self.freed |= other.freed


def stocked_parts(session: Session, sku_id: int) -> list[tuple[int, int]]:
    """(stocked SKU, units per unit of `sku_id`): a bundle's components, else itself."""
    return bundle_recipes(session, [sku_id]).get(sku_id) or [(sku_id, 1)]


def units_needed(order: Order, line: OrderLine) -> int:
    """Units of the line that must be held now (0 once shipped, cancelled or channel-fulfilled)."""
    if order.fulfilled_by_channel or not order.status.holds_stock or line.sku_id is None:
        return 0
    return line.open_quantity


def _active_reservation(session: Session, line_id: int, sku_id: int) -> Reservation | None:
    return session.exec(
        select(Reservation)
        .where(
            Reservation.order_line_id == line_id,
            Reservation.sku_id == sku_id,
            Reservation.state == ReservationState.ACTIVE,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _location_with_most_free(session: Session, sku_id: int, location_ids: list[int]) -> int | None:
    free = col(StockLevel.on_hand) - col(StockLevel.reserved)
    row = session.exec(
        select(StockLevel.location_id)
        .where(StockLevel.sku_id == sku_id, col(StockLevel.location_id).in_(location_ids), free > 0)
        .order_by(free.desc(), col(StockLevel.location_id))
    ).first()
    return row


def _fill(
    session: Session,
    reservation: Reservation,
    need: int,
    location_ids: list[int],
    effects: StockEffects,
) -> None:
    """Top the reservation up towards `need` units, as far as free stock allows."""
    sku_id = reservation.sku_id
    if reservation.quantity == 0:
        for location_id in location_ids:
            if reserve_free(session, sku_id, location_id, need, partial=False):
                reservation.location_id, reservation.quantity = location_id, need
                effects.touched.add((sku_id, location_id))
                return
        best = _location_with_most_free(session, sku_id, location_ids)
        if best is None:
            return
        reservation.location_id = best
    taken = reserve_free(
        session, sku_id, reservation.location_id, need - reservation.quantity, partial=True
    )
    if taken:
        reservation.quantity += taken
        effects.touched.add((sku_id, reservation.location_id))


def settle_line(
    session: Session, order: Order, line: OrderLine, location_ids: list[int]
) -> StockEffects:
    """Bring the line's reservations to what it needs now: release excess, fill shortfall."""
    effects = StockEffects()
    if line.sku_id is None or line.id is None:
        return effects
    target = units_needed(order, line)
    for sku_id, per_unit in stocked_parts(session, line.sku_id):
        need = target * per_unit
        reservation = _active_reservation(session, line.id, sku_id)
        if reservation is None:
            if need == 0 or not location_ids:
                continue
            reservation = Reservation(
                order_line_id=line.id,
                sku_id=sku_id,
                location_id=location_ids[0],
                quantity=0,
                per_unit=per_unit,
            )
        if reservation.quantity > need:
            excess = reservation.quantity - need
            unreserve(session, sku_id, reservation.location_id, excess)
            reservation.quantity = need
            effects.touched.add((sku_id, reservation.location_id))
            effects.freed.add((sku_id, reservation.location_id))
        elif reservation.quantity < need:
            _fill(session, reservation, need, location_ids, effects)
        if need == 0:
            reservation.state = (
                ReservationState.CONSUMED if line.quantity_shipped else ReservationState.RELEASED
            )
        reservation.updated_at = utcnow()
        session.add(reservation)
    session.flush()
    return effects


def consume_shipped(
    session: Session,
    order: Order,
    line: OrderLine,
    shipped_units: int,
    location_ids: list[int],
    *,
    reference: str,
) -> StockEffects:
    """Take `shipped_units` of the line out of stock, from its reservation first.

    Units shipped beyond what was reserved come out of free stock at the same
    location when there is some. The channel's word that units left is final:
    the reservation is consumed even when a count has since taken on hand below
    it, on hand stops at zero, and what our books did not hold is logged.
    """
    effects = StockEffects()
    if shipped_units <= 0 or order.fulfilled_by_channel or line.sku_id is None or not line.id:
        return effects
    for sku_id, per_unit in stocked_parts(session, line.sku_id):
        units = shipped_units * per_unit
        reservation = _active_reservation(session, line.id, sku_id)
        if reservation is None and not location_ids:
            log.warning(
                "order %s: shipped sku %d from no known location", order.external_id, sku_id
            )
            continue
        location_id = reservation.location_id if reservation else location_ids[0]
        ensure_level(session, sku_id, location_id)
        level = lock_level(session, sku_id, location_id)
        assert level is not None
        from_reservation = min(units, reservation.quantity) if reservation else 0
        from_free = reserve_free(
            session, sku_id, location_id, units - from_reservation, partial=True
        )
        leaving = min(from_reservation + from_free, level.on_hand)
        if units > leaving:
            log.warning(
                "order %s line %s shipped %d unit(s) of sku %d that were not on hand",
                order.external_id,
                line.external_line_id,
                units - leaving,
                sku_id,
            )
        if from_reservation + from_free:
            move_stock(
                session,
                sku_id,
                location_id,
                -leaving,
                MovementKind.SHIPMENT,
                reason="shipped",
                reference=reference,
                consumed_reservation=from_reservation + from_free,
            )
            effects.touched.add((sku_id, location_id))
        if reservation is not None and from_reservation:
            reservation.quantity -= from_reservation
            reservation.updated_at = utcnow()
            session.add(reservation)
    session.flush()
    return effects


def shortage_units(session: Session, order: Order) -> int:
    """Units the order's open lines need beyond what they hold."""
    short = 0
    for line in session.exec(select(OrderLine).where(OrderLine.order_id == order.id)):
        target = units_needed(order, line)
        if not target or line.sku_id is None or line.id is None:
            continue
        for sku_id, per_unit in stocked_parts(session, line.sku_id):
            reservation = _active_reservation(session, line.id, sku_id)
            held = reservation.quantity if reservation else 0
            short += max(target * per_unit - held, 0)
    return short


def refresh_oversold(session: Session, order: Order) -> int:
    """Recompute the order's oversold flag; a newly oversold order raises an alert."""
    short = shortage_units(session, order)
    newly = short > 0 and not order.oversold
    order.oversold = short > 0
    if newly:
        order.oversold_at = order.oversold_at or utcnow()
        open_alert(
            session,
            RULE_OVERSOLD,
            order.channel_id,
            f"order {order.external_id} is oversold by {short} unit(s)",
            severity=AlertSeverity.CRITICAL,
            details={"order_id": order.id, "external_id": order.external_id, "short": short},
        )
    session.add(order)
    return short


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
    channels: dict[int, list[int]] = {}
    changed_orders: dict[int, Order] = {}
    for reservation, line, order in waiting:
        if order.channel_id not in channels:
            channel = session.get(Channel, order.channel_id)
            channels[order.channel_id] = selling_location_ids(session, channel) if channel else []
        if location_id not in channels[order.channel_id]:
            continue
        short = units_needed(order, line) * reservation.per_unit - reservation.quantity
        if short <= 0:
            continue
        taken = _take_for_waiting(session, reservation, location_id, short, effects)
        if taken:
            changed_orders[order.id or 0] = order
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
        reservation.updated_at = utcnow()
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
