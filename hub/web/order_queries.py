"""The orders the console lists, and the two questions its home asks of them: which are
ready to ship, which are late.

- *Ready to ship* is what `omnisync pick create` would take (core/picking.py): paid
  (accepted or partially shipped, `PAID_STATUSES`), not on hold, not fulfilled by its
  channel, not oversold, and holding stock for units still to ship (an active
  reservation with units). Unlike a pick list it does not leave out orders already on
  a live list: they are still waiting to leave.
- *Late*: paid, not fulfilled by its channel, and past the ship-by date its channel gave
  (held and oversold orders are late too: the date does not move for them).

Lists are newest placed first and page by key (placed_at, id), as the API's do
(hub/views/paging.py); lines and units are counted for the page alone, in one query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, false, func, or_, select
from sqlmodel import Session, col

from omnisync.core.models import Channel, Order, OrderLine, Reservation
from omnisync.core.picking import PAID_STATUSES
from omnisync.core.types import OrderStatus, ReservationState
from omnisync.hub.order_lookup import read_order_reference
from omnisync.hub.views.paging import newest_first


def holds_units_to_ship() -> ColumnElement[bool]:
    """The order holds stock for units it has still to ship (an active reservation)."""
    return exists(
        select(col(Reservation.id))
        .join(OrderLine, col(OrderLine.id) == Reservation.order_line_id)
        .where(
            col(OrderLine.order_id) == col(Order.id),
            col(Reservation.state) == ReservationState.ACTIVE,
            col(Reservation.quantity) > 0,
        )
    )


def ready_to_ship() -> ColumnElement[bool]:
    """What `pick create` takes (see the module)."""
    return and_(
        col(Order.status).in_(PAID_STATUSES),
        col(Order.held_at).is_(None),
        col(Order.fulfilled_by_channel).is_(False),
        col(Order.oversold).is_(False),
        holds_units_to_ship(),
    )


def late(now: datetime) -> ColumnElement[bool]:
    """Paid, ours to ship, and past its ship-by date."""
    return and_(
        col(Order.status).in_(PAID_STATUSES),
        col(Order.fulfilled_by_channel).is_(False),
        col(Order.ship_by).is_not(None),
        col(Order.ship_by) < now,
    )


@dataclass(frozen=True)
class OrderFilters:
    """The filters of /orders, as its query string gives them."""

    channel: str | None = None
    status: OrderStatus | None = None
    oversold: bool = False
    ready: bool = False
    late: bool = False
    placed_from: date | None = None
    placed_to: date | None = None
    """The last day placed (inclusive)."""
    search: str = ""
    """An order number or the channel's order id (`1001`, `#1001`), or the hub's id."""
    problems: tuple[str, ...] = field(default=())
    """Filters that could not be read (shown, then left out)."""

    def conditions(self, now: datetime) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.channel:
            found.append(col(Channel.name) == self.channel)
        if self.status is not None:
            found.append(col(Order.status) == self.status)
        if self.oversold:
            found.append(col(Order.oversold).is_(True))
        if self.ready:
            found.append(ready_to_ship())
        if self.late:
            found.append(late(now))
        if self.placed_from is not None:
            found.append(col(Order.placed_at) >= _day_start(self.placed_from))
        if self.placed_to is not None:
            found.append(col(Order.placed_at) < _day_start(self.placed_to) + timedelta(days=1))
        if self.search:
            found.append(_search(self.search))
        return found


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _search(text: str) -> ColumnElement[bool]:
    """The orders `text` may name, as `orders show` reads a reference: the hub's id, the
    channel's order id or its order name, with or without `#` (exact matches)."""
    reference = read_order_reference(text)
    matches: list[ColumnElement[bool]] = []
    if reference.hub_id is not None:
        matches.append(col(Order.id) == reference.hub_id)
    if reference.channel_forms and not reference.hub_id_only:
        forms = list(reference.channel_forms)
        matches.append(col(Order.external_id).in_(forms))
        matches.append(col(Order.display_name).in_(forms))
    return or_(*matches) if matches else false()


@dataclass(frozen=True)
class OrderRow:
    """One order of the list."""

    id: int
    channel: str
    name: str
    """The channel's name or number for it, else the channel's order id."""
    external_id: str
    placed_at: datetime
    status: OrderStatus
    lines: int
    units: int
    open_units: int
    oversold: bool
    held: bool
    ship_by: datetime | None
    late: bool
    route: str
    """Where it ships from: `main`, `main + backup`; `` when not routed."""
    routed_by_hand: bool


def order_rows(
    session: Session,
    filters: OrderFilters,
    now: datetime,
    *,
    limit: int,
    before: tuple[datetime, int] | None = None,
) -> list[OrderRow]:
    """Up to `limit` orders matching `filters`, newest placed first, below `before`."""
    query: Any = select(Order, col(Channel.name)).join(
        Channel, col(Channel.id) == col(Order.channel_id)
    )
    for condition in filters.conditions(now):
        query = query.where(condition)
    query = newest_first(query, col(Order.placed_at), col(Order.id), before).limit(limit)
    found: list[tuple[Order, str]] = [(order, name) for order, name in session.execute(query)]
    counts = _line_counts(session, [order.id for order, _ in found if order.id is not None])
    rows = []
    for order, channel in found:
        assert order.id is not None
        lines, units, open_units = counts.get(order.id, (0, 0, 0))
        rows.append(
            OrderRow(
                id=order.id,
                channel=channel,
                name=order.display_name or order.external_id,
                external_id=order.external_id,
                placed_at=order.placed_at,
                status=order.status,
                lines=lines,
                units=units,
                open_units=open_units,
                oversold=order.oversold,
                held=order.held_at is not None,
                ship_by=order.ship_by,
                late=is_late(order, now),
                route=route_text(order.route),
                routed_by_hand=bool(order.route and order.route.get("source") == "operator"),
            )
        )
    return rows


def is_late(order: Order, now: datetime) -> bool:
    return (
        order.status in PAID_STATUSES
        and not order.fulfilled_by_channel
        and order.ship_by is not None
        and order.ship_by < now
    )


def route_text(route: dict[str, Any] | None) -> str:
    if not route:
        return ""
    return " + ".join(dict.fromkeys(str(code) for code in route.get("locations", ())))


def _line_counts(session: Session, order_ids: Sequence[int]) -> dict[int, tuple[int, int, int]]:
    """Per order: lines, units ordered, units still open (neither shipped nor cancelled)."""
    if not order_ids:
        return {}
    left = (
        col(OrderLine.quantity)
        - col(OrderLine.quantity_shipped)
        - col(OrderLine.quantity_cancelled)
    )
    open_units = func.sum(case((left > 0, left), else_=0))
    rows = session.execute(
        select(
            col(OrderLine.order_id),
            func.count(),
            func.sum(col(OrderLine.quantity)),
            open_units,
        )
        .where(col(OrderLine.order_id).in_(list(order_ids)))
        .group_by(col(OrderLine.order_id))
    )
    return {
        order_id: (int(lines), int(units or 0), int(remaining or 0))
        for order_id, lines, units, remaining in rows
    }
