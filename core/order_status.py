"""An order's status, derived from what is known of the order, by one rule for every path.

Four paths learn something of an order and each re-derives its status from the same
facts with `derive_order_status`, so the status does not depend on which came last:
order intake (the channel's report, read again on every poll and webhook), a shipment
recorded by the hub (core/shipping.py), a carrier's answer on a parcel
(core/tracking.py), and an operator's cancellation in the hub (core/cancellation.py).
The facts:

- the channel's report: the status it gave in its latest change (intake keeps the
  latest by the channel's own change time);
- the lines: units ordered, shipped (the hub's count or the channel's, the larger),
  cancelled;
- the hub's parcels: where each of its shipments is;
- whether an operator cancelled the order in the hub.

Precedence, the first that holds:

1. returned: an order known to be returned stays returned; nothing read later undoes
   a return.
2. delivered by our parcels: all of the order has left (see 6) and every parcel of
   the hub is delivered. Delivered parcels are final and nothing is left to leave,
   so no report of the channel undoes it: not one lagging behind (open, partially
   fulfilled, fulfilled) nor a late cancellation (the goods arrived).
3. cancelled in the hub: the units that had not left were cancelled on the lines, and
   no report of the channel undoes it (a channel not told yet still says open):
   cancelled when nothing had shipped, else shipped (what had left is all that leaves).
4. cancelled by the channel: whatever has not left is released. Before anything has
   shipped this is the whole story; once parcels are out, only their delivery (2)
   takes precedence.
5. delivered by the channel: it knows of a delivery (its own fulfilment, a carrier
   the hub does not track) before any parcel of ours says so.
6. shipped: all of the order has left: the channel says so, or every unit of every
   line was shipped or cancelled, some shipped.
7. partially shipped: some units shipped.
8. the channel's report (pending, accepted): nothing has shipped.

A parcel returned to the sender does not make the order returned: it was not
delivered, and the order stays shipped (the parcel raises an alert instead).

The hub's own paths have no new report: they pass the stored status in its place. It
was derived from the channel's last report and facts that have only moved forward
since (units only leave, parcels only progress, delivered is final), so re-deriving
from it gives what that report would give.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Protocol

from sqlmodel import Session, col, select

from omnisync.core.models import Order, OrderLine, Shipment
from omnisync.core.types import OrderStatus, ShipmentStatus

_FINAL_REPORTS = frozenset({OrderStatus.CANCELLED, OrderStatus.DELIVERED})
"""Reports that stand unless the hub's parcels say delivered (rules 4 and 5)."""


class LineProgress(Protocol):
    """What the status needs of a line (an OrderLine row satisfies it)."""

    @property
    def quantity(self) -> int: ...
    @property
    def quantity_shipped(self) -> int: ...
    @property
    def quantity_cancelled(self) -> int: ...


def derive_order_status(
    reported: OrderStatus,
    lines: Iterable[LineProgress],
    parcels: Iterable[ShipmentStatus],
    *,
    recorded: OrderStatus | None = None,
    cancelled_by_hub: bool = False,
) -> OrderStatus:
    """The order's status from the channel's report, its lines and the statuses of the
    hub's parcels, by the precedence above. `recorded` is the status stored before the
    report (order intake): a return recorded there stays. `cancelled_by_hub`: an
    operator cancelled the order in the hub."""
    if OrderStatus.RETURNED in (reported, recorded):
        return OrderStatus.RETURNED
    progress = _shipping_progress(reported, list(lines))
    if cancelled_by_hub and progress is not None:
        progress = OrderStatus.SHIPPED  # the units that had not left were cancelled
    if progress == OrderStatus.SHIPPED and _all_delivered(list(parcels)):
        return OrderStatus.DELIVERED
    if cancelled_by_hub:
        return progress or OrderStatus.CANCELLED
    if reported in _FINAL_REPORTS:
        return reported
    return progress or reported


def _shipping_progress(reported: OrderStatus, lines: list[LineProgress]) -> OrderStatus | None:
    """SHIPPED when all of the order left (the channel says so, or every unit left or was
    cancelled, some left), PARTIALLY_SHIPPED when some units left, None when none did."""
    if reported == OrderStatus.SHIPPED:
        return OrderStatus.SHIPPED
    if not any(line.quantity_shipped for line in lines):
        return None
    if all(line.quantity_shipped + line.quantity_cancelled >= line.quantity for line in lines):
        return OrderStatus.SHIPPED
    return OrderStatus.PARTIALLY_SHIPPED


def _all_delivered(parcels: list[ShipmentStatus]) -> bool:
    return bool(parcels) and all(status == ShipmentStatus.DELIVERED for status in parcels)


def parcel_statuses(
    session: Session, order_ids: Collection[int]
) -> dict[int, list[ShipmentStatus]]:
    """The statuses of the hub's parcels of each order, by order id (none: left out)."""
    statuses: dict[int, list[ShipmentStatus]] = {}
    if not order_ids:
        return statuses
    rows = session.exec(
        select(Shipment.order_id, Shipment.status)
        .where(col(Shipment.order_id).in_(sorted(order_ids)))
        .order_by(col(Shipment.id))
    )
    for order_id, status in rows:
        statuses.setdefault(order_id, []).append(ShipmentStatus(status))
    return statuses


def rederive_order_status(session: Session, order: Order) -> bool:
    """Re-derive the status of `order` (locked by the caller) from its lines and parcels as
    the session sees them, the stored status standing for the channel's last report;
    True when it changed. The caller stores the order."""
    assert order.id is not None
    lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all()
    parcels = parcel_statuses(session, [order.id]).get(order.id, [])
    status = derive_order_status(
        order.status, lines, parcels, cancelled_by_hub=order.cancelled_by_hub_at is not None
    )
    changed = status != order.status
    order.status = status
    return changed
