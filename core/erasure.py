"""Erasing a buyer's personal data when the channel asks (eBay's marketplace account
deletion, which every eBay application must honour).

The orders stay: their lines, reservations and shipments are the seller's stock and
accounting, not the buyer's data. What goes is what names or locates the buyer: the
customer, the ship-to address, the channel's raw payload (it carries both) and the
buyer reference itself. `personal_data_erased_at` marks the order, so a later report
of it (polling reads orders again) never brings the data back (core/order_intake.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import update
from sqlmodel import Session

from omnisync.core.clock import clock_of
from omnisync.core.models import Order
from omnisync.core.models.tables import table_of

_orders = table_of(Order)


def erase_buyers(session: Session, channel_id: int, buyer_refs: Iterable[str]) -> int:
    """Erase the personal data of the channel's orders of these buyers, in the caller's
    transaction; how many orders were erased. Refs the hub never saw erase nothing."""
    refs = sorted({ref for ref in buyer_refs if ref})
    if not refs:
        return 0
    now = clock_of(session).now()
    result = session.execute(
        update(_orders)
        .where(_orders.c.channel_id == channel_id, _orders.c.buyer_ref.in_(refs))
        .values(
            customer=None,
            ship_to=None,
            raw=None,
            buyer_ref=None,
            personal_data_erased_at=now,
            modified_at=now,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
