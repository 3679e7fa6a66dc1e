"""Pick lists: a batch of orders picked together at one location, and what the picker
did not find.

What a list takes (`create_pick_list`): the paid orders (accepted or partially
shipped; pending is unpaid) that hold stock at the location, not on hold, not
fulfilled by their channel and not oversold (an oversold order cannot ship whole:
it is counted as skipped). Where a line is picked is where its active reservation
holds it, which routing decided. An order line's units to pick at the location are
the units its reservations there hold now, in the stocked SKU's units (a bundle's
line: each component), minus the units already on live lists (open or picked) that
have not shipped since; so a unit is never on two live lists, and cancelling a list
makes its units pickable again. Orders with a ship-by date come first, earliest
first, then the others oldest first; `max_orders` caps the batch. Each list line
keeps the SKU's bin and sequence at the location as they were when the list was
made: the printed walk is the one the picker follows.

A short pick (`confirm_pick_list` with shorts): the missing units of a SKU are taken
from the list's orders newest first, so the oldest orders keep their stock. For each
order line shorted, the units leave on hand at the location (a `pick_short` movement,
invariant 1) and its reservation releases them in the same change (on hand and
reserved both drop, free stays as it was); the line is then settled again. A line
that still has units picked (on this list or another live one, not short and not
shipped) stays at the list's location: those units are in the tote, so it tops up
there or waits there, oversold (and core/reservations.py allocate_waiting leaves it
there too). Only a line shorted completely may take stock elsewhere: over the
locations its channel sells from as far as its route lets a waiting line go (not for
`split: never` or an order routed by hand), where any is free (the route then says
the line moved, and why). An order that finds too little is marked oversold (and
alerted). Every short raises the `pick_short` warning naming the list, SKU, bin,
units and orders, and the listings of the SKU are marked dirty in the same
transaction.

Locks, in the order order intake and shipping take them: the list's row (or, making
one, the location's row, so two lists made at once at one location never take the
same units), then the orders' rows, then stock levels by (SKU, location), then
reservations. Confirming takes the levels and reservations once, up front, for every
shorted line (core/locked_stock.py LockedStock: a bundle's components with it); its
callers run it in core.db.run_in_transaction, so a PostgreSQL deadlock victim is run
again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from omnisync.core.alerting import RULE_PICK_SHORT, current_alert, open_alert
from omnisync.core.bins import bins_at
from omnisync.core.catalog import location_by_code
from omnisync.core.channels import channel_by_name, selling_locations
from omnisync.core.clock import clock_of
from omnisync.core.errors import Conflict, InvalidRequest, NotFound
from omnisync.core.locked_stock import LockedStock, StockEffects
from omnisync.core.models import (
    Channel,
    Location,
    Order,
    OrderLine,
    PickList,
    PickListLine,
    Reservation,
    Shipment,
    Sku,
)
from omnisync.core.order_routing import may_take_waiting, moved_line, pinned_by_pick_lists
from omnisync.core.outbox import mark_touched_dirty
from omnisync.core.reservations import reallocate_freed, refresh_oversold
from omnisync.core.routing import RouteLocation
from omnisync.core.shipping import lock_order
from omnisync.core.types import (
    AlertSeverity,
    OrderStatus,
    PickListState,
    ReservationState,
)

LIVE_STATES = (PickListState.OPEN, PickListState.PICKED)
"""A list whose units are spoken for until they ship (a cancelled one frees them)."""
PAID_STATUSES = (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_SHIPPED)
MAX_ORDERS = 10_000
NOTED_SHORTS_KEPT = 50
"""Shorts the pick_short alert's details remember (the latest)."""


@dataclass(frozen=True)
class _Pickable:
    """Units of one order line's stocked SKU to take from the shelf."""

    order: Order
    line: OrderLine
    sku_id: int
    units: int


@dataclass
class NewPickList:
    """What `create_pick_list` made: the list (None: nothing to pick) and the orders it
    left out because they are oversold."""

    pick_list: PickList | None
    orders: int
    oversold_skipped: int


def create_pick_list(
    session: Session,
    location_code: str,
    *,
    channel: str | None = None,
    max_orders: int | None = None,
    by: str = "",
) -> NewPickList:
    """Make an open pick list at the location of every order ready to pick there (see
    the module), or nothing when none is."""
    if max_orders is not None and not 1 <= max_orders <= MAX_ORDERS:
        raise InvalidRequest(f"max orders must be between 1 and {MAX_ORDERS}, not {max_orders}")
    location = _locked_location(session, location_code)
    assert location.id is not None
    only = channel_by_name(session, channel) if channel is not None else None
    pickable = _pickable_units(session, location.id, only)
    by_order: dict[int, list[_Pickable]] = defaultdict(list)
    for item in pickable:
        by_order[item.order.id or 0].append(item)
    oversold = [items for items in by_order.values() if items[0].order.oversold]
    ready = sorted(
        (items for items in by_order.values() if not items[0].order.oversold),
        key=lambda items: _batch_key(items[0].order),
    )
    if max_orders is not None:
        ready = ready[:max_orders]
    if not ready:
        return NewPickList(None, 0, len(oversold))
    now = clock_of(session).now()
    pick_list = PickList(
        location_id=location.id,
        channel_id=only.id if only is not None else None,
        state=PickListState.OPEN,
        created_at=now,
        created_by=by[:100],
    )
    session.add(pick_list)
    session.flush()
    chosen = [item for items in ready for item in items]
    bins = bins_at(session, location.id, {item.sku_id for item in chosen})
    for item in chosen:
        shelf = bins.get(item.sku_id)
        session.add(
            PickListLine(
                pick_list_id=pick_list.id or 0,
                order_id=item.order.id or 0,
                order_line_id=item.line.id or 0,
                sku_id=item.sku_id,
                bin=shelf.bin if shelf else None,
                sequence=shelf.sequence if shelf else None,
                quantity=item.units,
            )
        )
    session.flush()
    return NewPickList(pick_list, len(ready), len(oversold))


def _locked_location(session: Session, code: str) -> Location:
    location = location_by_code(session, code)
    locked = session.exec(
        select(Location)
        .where(Location.id == location.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return locked


def _batch_key(order: Order) -> tuple[bool, datetime, datetime, int]:
    """Orders with a ship-by date first, earliest first; then the others oldest first."""
    return (
        order.ship_by is None,
        order.ship_by or order.placed_at,
        order.placed_at,
        order.id or 0,
    )


def _pickable_units(session: Session, location_id: int, channel: Channel | None) -> list[_Pickable]:
    """Units of every paid, unheld order's lines held at the location and on no live
    list yet; and, with 0 units, the lines of oversold orders waiting for stock there
    (the caller counts those orders as skipped)."""
    query = (
        select(Reservation, OrderLine, Order)
        .join(OrderLine, col(OrderLine.id) == Reservation.order_line_id)
        .join(Order, col(Order.id) == OrderLine.order_id)
        .where(
            Reservation.state == ReservationState.ACTIVE,
            Reservation.location_id == location_id,
            col(Order.status).in_(PAID_STATUSES),
            col(Order.held_at).is_(None),
            col(Order.fulfilled_by_channel).is_(False),
        )
        .order_by(col(Order.id), col(OrderLine.id), col(Reservation.sku_id))
    )
    if channel is not None:
        query = query.where(Order.channel_id == channel.id)
    rows = session.exec(query).all()
    listed = _listed_not_shipped(session, [(reservation, line) for reservation, line, _ in rows])
    pickable = []
    for reservation, line, order in rows:
        pending = listed.get((line.id or 0, reservation.sku_id), 0)
        units = reservation.quantity - pending
        if units > 0 or (order.oversold and reservation.quantity == 0):
            pickable.append(_Pickable(order, line, reservation.sku_id, max(units, 0)))
    return pickable


def _listed_not_shipped(
    session: Session, held: Sequence[tuple[Reservation, OrderLine]]
) -> dict[tuple[int, int], int]:
    """Units of each held (order line, stocked SKU) on live lists that have not shipped
    since.

    A list line counts its units not found short. What shipped of the order line after
    its earliest live list was made takes those units off (in the SKU's units: a
    bundle's line ships whole bundles).
    """
    per_unit = {
        (line.id or 0, reservation.sku_id): reservation.per_unit for reservation, line in held
    }
    lines = {line.id or 0: line for _, line in held}
    if not lines:
        return {}
    listed: dict[tuple[int, int], int] = defaultdict(int)
    since: dict[int, datetime] = {}
    for entry, made_at in session.exec(
        select(PickListLine, PickList.created_at)
        .join(PickList, col(PickList.id) == PickListLine.pick_list_id)
        .where(
            col(PickListLine.order_line_id).in_(sorted(lines)),
            col(PickList.state).in_(LIVE_STATES),
        )
    ):
        listed[(entry.order_line_id, entry.sku_id)] += entry.quantity - entry.short
        if entry.order_line_id not in since or made_at < since[entry.order_line_id]:
            since[entry.order_line_id] = made_at
    if not listed:
        return {}
    shipped = _shipped_since(session, [lines[line_id] for line_id in since], since)
    return {
        key: max(units - shipped.get(key[0], 0) * per_unit.get(key, 1), 0)
        for key, units in listed.items()
    }


def _shipped_since(
    session: Session, lines: Sequence[OrderLine], since: Mapping[int, datetime]
) -> dict[int, int]:
    """Units of each order line in the hub's parcels recorded at or after `since[line]`."""
    wanted = {(line.order_id, line.external_line_id): line.id or 0 for line in lines}
    shipped: dict[int, int] = defaultdict(int)
    order_ids = sorted({order_id for order_id, _ in wanted})
    for parcel in session.exec(select(Shipment).where(col(Shipment.order_id).in_(order_ids))):
        for entry in parcel.lines:
            line_id = wanted.get((parcel.order_id, str(entry.get("external_line_id"))))
            if line_id is not None and parcel.created_at >= since[line_id]:
                shipped[line_id] += int(entry.get("quantity") or 0)
    return shipped


# Confirming and cancelling


@dataclass
class ShortOrder:
    """Units one order of the list lost to a short."""

    order_id: int
    order: str
    """The order as the hub names it (its display name, else the channel's id)."""
    units: int
    oversold: bool
    """Oversold once settled again: no other stock its channel sells could take it."""


@dataclass
class Short:
    """Units of one SKU the picker did not find."""

    sku: str
    bin: str | None
    units: int
    orders: list[ShortOrder] = field(default_factory=list)


@dataclass
class Confirmation:
    pick_list: PickList
    shorts: list[Short]


def find_pick_list(session: Session, pick_list_id: int, *, lock: bool = False) -> PickList:
    query = select(PickList).where(PickList.id == pick_list_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    pick_list = session.exec(query).first()
    if pick_list is None:
        raise NotFound(f"no pick list {pick_list_id}")
    return pick_list


def confirm_pick_list(
    session: Session, pick_list_id: int, shorts: Mapping[str, int] | None = None
) -> Confirmation:
    """Mark the open list picked; `shorts` (SKU code -> units) were not on the shelf.

    Conflict for a list that is not open; InvalidRequest, having changed nothing, for a
    short of a SKU the list does not have or of more units than it has of it.
    """
    pick_list = find_pick_list(session, pick_list_id, lock=True)
    if pick_list.state != PickListState.OPEN:
        raise Conflict(
            f"pick list {pick_list_id} is {pick_list.state.value}: only an open list is confirmed"
        )
    lines = list(
        session.exec(
            select(PickListLine)
            .where(PickListLine.pick_list_id == pick_list_id)
            .order_by(col(PickListLine.id))
        )
    )
    wanted = _shorts_by_sku(session, pick_list_id, lines, shorts or {})
    done = _apply_shorts(session, pick_list, lines, wanted) if wanted else []
    pick_list.state = PickListState.PICKED
    pick_list.picked_at = clock_of(session).now()
    pick_list.note = _note(done)
    session.add(pick_list)
    session.flush()
    return Confirmation(pick_list, done)


def _shorts_by_sku(
    session: Session, pick_list_id: int, lines: Sequence[PickListLine], shorts: Mapping[str, int]
) -> dict[int, tuple[Sku, int]]:
    """The shorts by SKU id, each checked against what the list has of the SKU."""
    on_list: dict[int, int] = defaultdict(int)
    for line in lines:
        on_list[line.sku_id] += line.quantity - line.short
    wanted: dict[int, tuple[Sku, int]] = {}
    problems = []
    for code, units in shorts.items():
        sku = session.exec(select(Sku).where(Sku.code == code.strip())).first()
        if sku is None or sku.id is None or sku.id not in on_list:
            problems.append(f"SKU {code!r} is not on pick list {pick_list_id}")
            continue
        if units < 1:
            problems.append(f"a short of {code} must be at least 1 unit, not {units}")
        elif units > on_list[sku.id]:
            problems.append(
                f"pick list {pick_list_id} has {on_list[sku.id]} unit(s) of {sku.code}: "
                f"a short of {units} is more than that"
            )
        else:
            wanted[sku.id] = (sku, units)
    if problems:
        raise InvalidRequest("; ".join(problems))
    return wanted


def _apply_shorts(
    session: Session,
    pick_list: PickList,
    lines: Sequence[PickListLine],
    wanted: Mapping[int, tuple[Sku, int]],
) -> list[Short]:
    orders = {
        order.id or 0: order
        for order in session.exec(
            select(Order).where(col(Order.id).in_({line.order_id for line in lines}))
        )
    }
    taking = _newest_first(lines, orders, wanted)
    # Each lock once, in the module's order: the orders by id, then one LockedStock over
    # every shorted line (levels by (SKU, location), a bundle's components included,
    # then the lines' reservations).
    locked = {
        order_id: lock_order(session, orders[order_id])
        for order_id in sorted({entry.order_id for entry, _ in taking})
    }
    shorted = {
        line.id or 0: line
        for line in session.exec(
            select(OrderLine).where(
                col(OrderLine.id).in_({entry.order_line_id for entry, _ in taking})
            )
        )
    }
    for entry, units in taking:
        entry.short += units
        session.add(entry)
    stock = LockedStock.lock(
        session,
        {entry.sku_id for entry, _ in taking}
        | {line.sku_id for line in shorted.values() if line.sku_id is not None},
        shorted.keys(),
    )
    shorts = {sku_id: Short(sku.code, None, units) for sku_id, (sku, units) in wanted.items()}
    for entry, units in taking:
        order = locked[entry.order_id]
        name = order.display_name or order.external_id
        shelf = f"bin {entry.bin}" if entry.bin else "no bin"
        stock.write_off(
            shorted[entry.order_line_id],
            entry.sku_id,
            units,
            pick_list.location_id,
            reason=f"not on the shelf when pick list {pick_list.id} was picked "
            f"({shelf}, order {name})",
            reference=f"pick-list:{pick_list.id}",
        )
        shorts[entry.sku_id].bin = entry.bin
        shorts[entry.sku_id].orders.append(ShortOrder(order.id or 0, name, units, False))
    effects = _settle_shorted(session, stock, pick_list, taking, locked, shorted)
    effects.merge(reallocate_freed(session, effects))
    for order in locked.values():
        refresh_oversold(session, order)
    for short in shorts.values():
        for item in short.orders:
            item.oversold = locked[item.order_id].oversold
    mark_touched_dirty(session, effects.touched)
    done = sorted(shorts.values(), key=lambda short: short.sku)
    for short in done:
        _alert_short(session, pick_list, short)
    session.flush()
    return done


def _newest_first(
    lines: Sequence[PickListLine],
    orders: Mapping[int, Order],
    wanted: Mapping[int, tuple[Sku, int]],
) -> list[tuple[PickListLine, int]]:
    """The list lines that lose units to the shorts, and how many: newest order first,
    so the oldest orders keep their stock."""
    newest_first = sorted(
        (line for line in lines if line.sku_id in wanted),
        key=lambda line: (orders[line.order_id].placed_at, line.order_id, line.id or 0),
        reverse=True,
    )
    taking: list[tuple[PickListLine, int]] = []
    left = {sku_id: units for sku_id, (_, units) in wanted.items()}
    for line in newest_first:
        units = min(left[line.sku_id], line.quantity - line.short)
        if units > 0:
            taking.append((line, units))
            left[line.sku_id] -= units
    return taking


def _settle_shorted(
    session: Session,
    stock: LockedStock,
    pick_list: PickList,
    taking: Sequence[tuple[PickListLine, int]],
    orders: Mapping[int, Order],
    shorted: Mapping[int, OrderLine],
) -> StockEffects:
    """Settle each shorted order line again on the locked stock (see the module: a line
    with units in a tote stays at the list's location), write it all, and note in each
    route a line that moved."""
    selling = _selling_locations(session, orders.values())
    in_totes = _in_totes(session, stock, shorted.values())
    for line_id in dict.fromkeys(entry.order_line_id for entry, _ in taking):
        line = shorted[line_id]
        order = orders[line.order_id]
        if line_id in in_totes:
            stock.settle(order, line, [pick_list.location_id])
        else:
            stock.settle(order, line, _locations_allowed(selling[order.channel_id], order, line))
    effects = stock.write(session)
    codes = {place.id: place.code for places in selling.values() for place in places}
    for line_id, sku_id in dict.fromkeys(
        (entry.order_line_id, entry.sku_id) for entry, _ in taking
    ):
        line = shorted[line_id]
        _note_move(session, pick_list, orders[line.order_id], line, sku_id, codes)
    return effects


def _selling_locations(session: Session, orders: Iterable[Order]) -> dict[int, list[RouteLocation]]:
    """The locations each of the orders' channels sells from, by channel id."""
    selling: dict[int, list[RouteLocation]] = {}
    for order in orders:
        if order.channel_id not in selling:
            channel = session.get(Channel, order.channel_id)
            selling[order.channel_id] = selling_locations(session, channel) if channel else []
    return selling


def _in_totes(session: Session, stock: LockedStock, lines: Iterable[OrderLine]) -> set[int]:
    """The shorted lines that still have units picked on a live list (the list's own
    units not short, or another list's not shipped yet): those units are in a tote at
    the list's location, so the line stays there."""
    by_sku: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for line in lines:
        if line.sku_id is None or line.id is None:
            continue
        for sku_id, per_unit in stock.parts(line.sku_id):
            by_sku[sku_id].append((line.id, line.quantity_shipped * per_unit))
    pinned: set[int] = set()
    for sku_id, shipped in by_sku.items():
        pinned |= pinned_by_pick_lists(session, sku_id, shipped)
    return pinned


def _locations_allowed(
    selling: Sequence[RouteLocation], order: Order, line: OrderLine
) -> list[int]:
    """Where a line shorted completely may take stock again: its channel's locations, in
    the channel's order, as far as its route lets a waiting line go (a `split: never`
    order or one routed by hand stays where it is)."""
    return [
        place.id
        for place in selling
        if may_take_waiting(order.route, line.external_line_id, place.code)
    ]


def _note_move(
    session: Session,
    pick_list: PickList,
    order: Order,
    line: OrderLine,
    sku_id: int,
    codes: Mapping[int, str],
) -> None:
    """A routed line that took stock at another location: its route says so, and why."""
    if not order.route:
        return
    now_at = session.exec(
        select(Reservation.location_id).where(
            Reservation.order_line_id == line.id,
            Reservation.sku_id == sku_id,
            Reservation.state == ReservationState.ACTIVE,
            Reservation.quantity > 0,
        )
    ).first()
    if now_at is None or now_at == pick_list.location_id or now_at not in codes:
        return
    location = session.get(Location, pick_list.location_id)
    short_at = location.code if location else str(pick_list.location_id)
    moved = moved_line(order.route, line.external_line_id, line.channel_sku, codes[now_at])
    reason = (
        f"{order.route.get('reason', '')}; {line.channel_sku} moved to {codes[now_at]}: "
        f"short at {short_at} on pick list {pick_list.id}"
    )
    order.route = {**moved, "reason": reason.lstrip("; ")}
    session.add(order)


def _note(shorts: Sequence[Short]) -> str | None:
    """What confirming did, for the list's `note`."""
    if not shorts:
        return None
    parts = []
    for short in shorts:
        left = [item.order for item in short.orders if item.oversold]
        oversold = f"; left oversold: {', '.join(left)}" if left else ""
        parts.append(f"{short.units} of {short.sku} short{oversold}")
    return "; ".join(parts)


def _alert_short(session: Session, pick_list: PickList, short: Short) -> None:
    """The pick_short warning, on the list's channel (None: a list of every channel)."""
    where = f"bin {short.bin}" if short.bin else "no bin"
    orders = ", ".join(f"{item.order} ({item.units})" for item in short.orders)
    location = session.get(Location, pick_list.location_id)
    entry: dict[str, Any] = {
        "pick_list": pick_list.id,
        "location": location.code if location else None,
        "sku": short.sku,
        "bin": short.bin,
        "units": short.units,
        "orders": [
            {"order_id": item.order_id, "order": item.order, "units": item.units,
             "oversold": item.oversold}
            for item in short.orders
        ],
    }  # fmt: skip
    alert = current_alert(session, RULE_PICK_SHORT, pick_list.channel_id)
    noted = list((alert.details or {}).get("shorts") or []) if alert else []
    open_alert(
        session,
        RULE_PICK_SHORT,
        pick_list.channel_id,
        f"pick list {pick_list.id}: {short.units} unit(s) of {short.sku} not found in "
        f"{where}; orders {orders}",
        severity=AlertSeverity.WARNING,
        details={**entry, "shorts": [*noted, entry][-NOTED_SHORTS_KEPT:]},
    )


def cancel_pick_list(session: Session, pick_list_id: int) -> PickList:
    """Cancel an open or picked list: its units become pickable again. Conflict for one
    cancelled already."""
    pick_list = find_pick_list(session, pick_list_id, lock=True)
    if pick_list.state == PickListState.CANCELLED:
        raise Conflict(f"pick list {pick_list_id} is cancelled already")
    pick_list.state = PickListState.CANCELLED
    pick_list.cancelled_at = clock_of(session).now()
    session.add(pick_list)
    session.flush()
    return pick_list
