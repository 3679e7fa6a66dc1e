"""The parcels an order is packed in, as packing (core/packing.py), shipping
(core/shipping.py) and labels (hub/labels.py) all see them.

A line ships from the location of its active reservation (a line reserves at one
location: core/reservations.py), whatever it holds there now: a line still waiting
for stock belongs to the parcel of the location it waits at. So an order has one
parcel per location its open lines are reserved at, and a packer may also pack the
whole order as one parcel.

The units scanned and not shipped yet (PackScan rows without a shipment) are what the
parcels hold. A parcel is packed when every open unit of its lines is scanned, none too
many. `Order.packed_at` is one time for the whole order: since when some parcel of the
order is packed. It is set by the scan that packs a parcel while none was, kept while
any parcel stays packed (the other location's, once one ships), and cleared when none
is (a reset, the packed parcel shipped).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from omnisync.core.models import Location, Order, OrderLine, PackScan, Reservation
from omnisync.core.types import ReservationState


def line_locations(session: Session, line_ids: Iterable[int]) -> dict[int, frozenset[str]]:
    """Order line id -> the codes of the locations holding its active reservations
    (whatever they hold now; one location per line as lines reserve); a line with none
    (unbound, or its order holds no stock) is left out."""
    wanted = list(line_ids)
    found: dict[int, set[str]] = defaultdict(set)
    if not wanted:
        return {}
    for line_id, code in session.exec(
        select(Reservation.order_line_id, Location.code)
        .join(Location, col(Location.id) == Reservation.location_id)
        .where(
            col(Reservation.order_line_id).in_(wanted),
            Reservation.state == ReservationState.ACTIVE,
        )
    ):
        found[line_id].add(code)
    return {line_id: frozenset(codes) for line_id, codes in found.items()}


def scanned_units(session: Session, order_id: int) -> dict[int, int]:
    """Order line id -> units scanned into the order's parcels and not shipped yet."""
    units: dict[int, int] = defaultdict(int)
    for line_id, count in session.exec(
        select(PackScan.order_line_id, PackScan.units).where(
            PackScan.order_id == order_id, col(PackScan.shipment_id).is_(None)
        )
    ):
        units[line_id] += count
    return dict(units)


def refresh_packed(session: Session, order: Order, now: datetime) -> None:
    """`order.packed_at` as the scans left make it (see the module): kept (or set to
    `now`) while a parcel of the order is packed, else cleared. Call it after scans were
    dropped or shipped; the caller holds the order's lock."""
    assert order.id is not None
    order.packed_at = (order.packed_at or now) if _some_parcel_packed(session, order.id) else None
    session.add(order)


def _some_parcel_packed(session: Session, order_id: int) -> bool:
    scanned = scanned_units(session, order_id)
    if not scanned:
        return False
    lines = [
        line
        for line in session.exec(select(OrderLine).where(OrderLine.order_id == order_id))
        if line.open_quantity or scanned.get(line.id or 0)
    ]
    if _packed(lines, scanned):
        return True
    where = line_locations(session, [line.id for line in lines if line.id is not None])
    codes = {code for held in where.values() for code in held}
    return any(
        _packed([line for line in lines if code in where.get(line.id or 0, ())], scanned)
        for code in codes
    )


def _packed(lines: Sequence[OrderLine], scanned: dict[int, int]) -> bool:
    return bool(lines) and all(scanned.get(line.id or 0, 0) == line.open_quantity for line in lines)
