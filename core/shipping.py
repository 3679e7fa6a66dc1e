"""Shipping an order from here: the stock leaves, and the channel is owed a fulfilment.

`record_shipment` does it all in the caller's transaction: the reservations are
consumed (on_hand and reserved both drop by the shipped units, so what other
channels may sell does not move), the lines' shipped quantities rise, a Shipment
row is written with its push pending, and the order's status is derived again with
the new parcel among its own (core/order_status.py: shipped or partially_shipped;
delivered stays delivered when the channel said so), and the scans of the units shipped
(core/packing.py) become the shipment's. The fulfilment push reads that
row after commit (sync/), so a crash between the two loses nothing.

An order on hold (core/holds.py) is refused with Conflict until it is released: the
hold keeps its stock reserved and lets nothing leave.

When the channel later reports the same units shipped, order intake keeps the
larger of the two shipped quantities and consumes only the difference: the
stock never leaves twice.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlmodel import Session, col, select

from omnisync.core.channels import selling_location_ids
from omnisync.core.clock import clock_of
from omnisync.core.errors import Conflict, InvalidRequest
from omnisync.core.models import Channel, Order, OrderLine, PackScan, Shipment, Sku
from omnisync.core.order_status import rederive_order_status
from omnisync.core.outbox import mark_touched_dirty
from omnisync.core.parcels import refresh_packed
from omnisync.core.reservations import (
    StockEffects,
    consume_shipped,
    reallocate_freed,
    refresh_oversold,
    settle_line,
)
from omnisync.core.types import OrderStatus, PushState, ShipmentStatus

_NOT_SHIPPABLE = {
    OrderStatus.CANCELLED: "is cancelled",
    OrderStatus.RETURNED: "was returned",
}


def record_shipment(
    session: Session,
    order: Order,
    lines: Mapping[str, int] | None,
    *,
    carrier: str,
    tracking_number: str,
    tracking_url: str | None = None,
    service: str | None = None,
    carrier_channel_id: int | None = None,
) -> Shipment:
    """Ship `lines` (the channel's line id -> units; None: every open unit) of `order`.

    `carrier_channel_id` names the carrier channel that tracks the parcel (None: the
    carrier is only a name and nothing polls it).

    Raises InvalidRequest, having changed nothing, when the order cannot be
    shipped, a line is unknown or not bound to a hub SKU, or a quantity is not
    between 1 and what is still open on the line; Conflict when the order is on hold.
    """
    carrier, tracking_number = carrier.strip(), tracking_number.strip()
    if not carrier:
        raise InvalidRequest("a shipment needs a carrier")
    if not tracking_number:
        raise InvalidRequest("a shipment needs a tracking number")
    order = lock_order(session, order)
    check_shippable(order)
    order_lines = list(
        session.exec(
            select(OrderLine)
            .where(OrderLine.order_id == order.id)
            .order_by(col(OrderLine.id))
            # The caller may hold copies loaded before the order was locked.
            .execution_options(populate_existing=True)
        )
    )
    shipping = _units_to_ship(order, order_lines, lines)

    channel = session.get(Channel, order.channel_id)
    assert channel is not None
    location_ids = selling_location_ids(session, channel)
    reference = f"{channel.name}:{order.external_id}"
    effects = StockEffects()
    # The same lock order as order intake (by SKU, then line), so the two never deadlock.
    for line, units in sorted(shipping, key=lambda pair: (pair[0].sku_id or 0, pair[0].id or 0)):
        effects.merge(
            consume_shipped(
                session,
                order,
                line,
                units,
                location_ids,
                reference=reference,
                channel_id=order.channel_id,
            )
        )
        line.quantity_shipped += units
        session.add(line)
        session.flush()
        effects.merge(settle_line(session, order, line, location_ids))
    effects.merge(reallocate_freed(session, effects))

    now = clock_of(session).now()
    shipment = Shipment(
        order_id=order.id or 0,
        lines=[
            {"external_line_id": line.external_line_id, "quantity": units}
            for line, units in shipping
        ],
        carrier=carrier,
        service=service,
        tracking_number=tracking_number,
        tracking_url=tracking_url,
        status=ShipmentStatus.LABEL_CREATED,
        push_state=PushState.PENDING,
        carrier_channel_id=carrier_channel_id,
        shipped_at=now,
        created_at=now,
    )
    session.add(shipment)
    session.flush()
    _claim_pack_scans(session, order, shipment, shipping)
    rederive_order_status(session, order)  # with the new parcel among the order's parcels
    # order.updated_at stays the channel's own change time: order intake compares it
    # with the channel's next report, which must not look stale because of us.
    order.modified_at = now
    session.add(order)
    refresh_oversold(session, order)
    mark_touched_dirty(session, effects.touched)
    session.flush()
    return shipment


def _claim_pack_scans(
    session: Session, order: Order, shipment: Shipment, shipping: list[tuple[OrderLine, int]]
) -> None:
    """The scans of the units leaving (core/packing.py) become this shipment's: per line
    shipped, its scans not shipped yet, oldest first, up to the units it ships (a scan of
    more units than are left to claim is split, its rest staying unshipped). The scans of
    other lines stay where they are, another location's parcel among them, and
    `packed_at` is what they make of it (core/parcels.py)."""
    left = {line.id: units for line, units in shipping}
    scans = session.exec(
        select(PackScan)
        .where(
            PackScan.order_id == order.id,
            col(PackScan.shipment_id).is_(None),
            col(PackScan.order_line_id).in_(list(left)),
        )
        .order_by(col(PackScan.id))
    ).all()
    for scan in scans:
        units = left[scan.order_line_id]
        if not units:
            continue
        claimed = scan if scan.units <= units else _split_off(scan, units)
        claimed.shipment_id = shipment.id
        left[scan.order_line_id] = units - claimed.units
        session.add(claimed)
    session.flush()
    refresh_packed(session, order, clock_of(session).now())


def _split_off(scan: PackScan, units: int) -> PackScan:
    """`units` of the scan as a scan of their own; the scan keeps the rest."""
    scan.units -= units
    return PackScan(
        order_id=scan.order_id,
        order_line_id=scan.order_line_id,
        sku_id=scan.sku_id,
        barcode=scan.barcode,
        units=units,
        actor=scan.actor,
        scanned_at=scan.scanned_at,
    )


def units_to_ship(
    session: Session, order: Order, lines: Mapping[str, int] | None
) -> list[tuple[OrderLine, int]]:
    """The (line, units) pairs `record_shipment` would ship, refused as it refuses them
    (InvalidRequest, Conflict for a hold), without locking or changing anything: for
    work done before the shipment is recorded, such as buying its label."""
    check_shippable(order)
    order_lines = list(
        session.exec(
            select(OrderLine).where(OrderLine.order_id == order.id).order_by(col(OrderLine.id))
        )
    )
    return _units_to_ship(order, order_lines, lines)


def lines_with_sku_codes(session: Session, order_id: int) -> list[tuple[OrderLine, str | None]]:
    """The order's lines in line order, each with its hub SKU's code (None: unbound)."""
    return list(
        session.exec(
            select(OrderLine, Sku.code)
            .join(Sku, col(Sku.id) == OrderLine.sku_id, isouter=True)
            .where(OrderLine.order_id == order_id)
            .order_by(col(OrderLine.id))
        ).all()
    )


def lock_order(session: Session, order: Order) -> Order:
    """The order's row, locked and current: order intake of the same order waits for us."""
    if order.id is None:
        raise InvalidRequest("the order is not stored yet")
    locked = session.exec(
        select(Order)
        .where(Order.id == order.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if locked is None:
        raise InvalidRequest(f"order {order.id} does not exist")
    return locked


def check_shippable(order: Order) -> None:
    """Raise InvalidRequest (cancelled, returned, fulfilled by the channel) or Conflict (on
    hold) when nothing of the order may leave: shipping, packing and labels all ask."""
    reason = _NOT_SHIPPABLE.get(order.status)
    if reason is not None:
        raise InvalidRequest(f"order {order.external_id} {reason}: it cannot be shipped")
    if order.fulfilled_by_channel:
        raise InvalidRequest(
            f"order {order.external_id} is fulfilled by the channel: it is not ours to ship"
        )
    if order.held_at is not None:
        reason = f" ({order.hold_reason})" if order.hold_reason else ""
        raise Conflict(
            f"order {order.external_id} is on hold{reason} since {order.held_at:%Y-%m-%d %H:%M} "
            "UTC: release the hold before shipping it"
        )


def _units_to_ship(
    order: Order, order_lines: list[OrderLine], wanted: Mapping[str, int] | None
) -> list[tuple[OrderLine, int]]:
    """(line, units) pairs to ship, in the order's line order; refuses anything doubtful."""
    by_id = {line.external_line_id: line for line in order_lines}
    if wanted is None:
        shipping = [(line, line.open_quantity) for line in order_lines if line.open_quantity]
        if not shipping:
            raise InvalidRequest(f"order {order.external_id} has nothing left to ship")
    else:
        if not wanted:
            raise InvalidRequest("name at least one line to ship")
        unknown = sorted(set(wanted) - by_id.keys())
        if unknown:
            raise InvalidRequest(
                f"order {order.external_id} has no line {', '.join(map(repr, unknown))} "
                f"(its lines: {', '.join(map(repr, by_id)) or 'none'})"
            )
        shipping = []
        for line in order_lines:
            if line.external_line_id not in wanted:
                continue
            units = wanted[line.external_line_id]
            if isinstance(units, bool) or not isinstance(units, int) or units < 1:
                raise InvalidRequest(
                    f"line {line.external_line_id!r}: quantity must be a whole number "
                    f"of at least 1, not {units!r}"
                )
            if units > line.open_quantity:
                raise InvalidRequest(
                    f"line {line.external_line_id!r} ({line.channel_sku}): {units} to ship "
                    f"but only {line.open_quantity} open (of {line.quantity}: "
                    f"{line.quantity_shipped} shipped, {line.quantity_cancelled} cancelled)"
                )
            shipping.append((line, units))
    for line, _ in shipping:
        if line.sku_id is None:
            # Nothing would leave the books now, and binding the line later reserves
            # only its open units: the shipped units would stay on hand for ever.
            raise InvalidRequest(
                f"line {line.external_line_id!r}: channel SKU {line.channel_sku!r} is not "
                "bound to a hub SKU; bind its listing or create the SKU before shipping it"
            )
    return shipping
