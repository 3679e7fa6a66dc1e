"""Routing applied to stored orders: a new order is routed over the stock levels its
intake locked (core/order_intake.py), its lines then reserve where the route says, and
new stock reaches a waiting line only where its route allows (core/reservations.py).

Order.route stores the decision (core/routing.py RouteDecision.as_route). A line's
place is `route["lines"][its channel line id]`; a line the route does not name (added
to the order later) goes to the route's first location, then the channel's others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, func, update
from sqlmodel import Session, col, select

from omnisync.core.addresses import ship_to_country
from omnisync.core.clock import clock_of
from omnisync.core.locked_stock import LineState, LockedStock, OrderState, units_needed
from omnisync.core.models import Order, OrderLine, PickList, PickListLine
from omnisync.core.models.tables import table_of
from omnisync.core.routing import RouteLine, RouteLocation, RoutingRules, decide_route
from omnisync.core.types import PickListState, RouteSource, SplitPolicy

_orders = table_of(Order)
_WRITE_ROUTE = (
    update(_orders)
    .where(_orders.c.id == bindparam("b_id"))
    .values(route=bindparam("b_route"), routed_at=bindparam("b_at"))
)


class RoutedLine(LineState, Protocol):
    @property
    def channel_sku(self) -> str: ...


def route_new_order(
    stock: LockedStock,
    order: OrderState,
    lines: Sequence[RoutedLine],
    allowed: Sequence[RouteLocation],
    ship_to: Mapping[str, Any] | None,
    rules: RoutingRules,
    at: datetime,
) -> dict[str, Any] | None:
    """The route of an order that holds nothing yet, decided over `stock`'s free levels;
    None when it needs no stock (channel-fulfilled, cancelled, no line bound to a SKU)."""
    wanted = [
        RouteLine(
            key=line.external_line_id,
            label=line.channel_sku,
            needs=tuple(
                (sku_id, units_needed(order, line) * per_unit)
                for sku_id, per_unit in stock.parts(line.sku_id)
            ),
        )
        for line in lines
        if line.sku_id is not None and units_needed(order, line)
    ]
    decision = decide_route(wanted, allowed, stock.free, ship_to_country(ship_to), rules)
    return None if decision is None else decision.as_route(RouteSource.AUTO, at)


def route_if_unrouted(
    session: Session,
    order: Order,
    allowed: Sequence[RouteLocation],
    rules: RoutingRules,
) -> None:
    """Route an order whose lines were bound to no SKU when it came in (so nothing was
    routed then), now that one is: over its bound open lines, as intake would have. An
    order already routed, or holding stock from before routing existed, stays as it is."""
    if order.route is not None or order.id is None:
        return
    lines = [
        line
        for line in session.exec(select(OrderLine).where(OrderLine.order_id == order.id))
        if line.sku_id is not None and line.id is not None and units_needed(order, line)
    ]
    stock = LockedStock.lock(
        session,
        [line.sku_id for line in lines if line.sku_id],
        [line.id for line in lines if line.id],
    )
    if any(
        stock.held(line.id or 0, sku) for line in lines for sku, _ in stock.parts(line.sku_id or 0)
    ):
        return
    now = clock_of(session).now()
    order.route = route_new_order(stock, order, lines, allowed, order.ship_to, rules, now)
    if order.route is not None:
        order.routed_at = now
        session.add(order)


def line_location_ids(
    route: Mapping[str, Any] | None,
    line_key: str,
    allowed: Sequence[RouteLocation],
) -> list[int]:
    """Where the line may reserve, best first: its routed location only; a line the route
    does not name (added later) the route's first location only when the order stays
    where it was routed, else the route's locations first, then the channel's others;
    unrouted orders (taken in before routing) use the channel's locations."""
    ids = {location.code: location.id for location in allowed}
    if not route:
        return [location.id for location in allowed]
    code = route.get("lines", {}).get(line_key)
    if code in ids:
        return [ids[code]]
    firsts = [ids[code] for code in route.get("locations", ()) if code in ids]
    if _pinned(route):
        return firsts[:1] or [location.id for location in allowed]
    return [*firsts, *(location.id for location in allowed if location.id not in firsts)]


def may_take_waiting(route: Mapping[str, Any] | None, line_key: str, location_code: str) -> bool:
    """Whether new stock at `location_code` may go to the line while it waits: anywhere
    the channel sells from for an unrouted order or an order the rules may split; only
    its routed location for `split: never` and for an order routed by hand."""
    if not route or not _pinned(route):
        return True
    return bool(route.get("lines", {}).get(line_key, location_code) == location_code)


def _pinned(route: Mapping[str, Any]) -> bool:
    """Whether the order stays where it was routed: `split: never`, or routed by hand."""
    return (
        route.get("split") == SplitPolicy.NEVER.value
        or route.get("source") == RouteSource.OPERATOR.value
    )


def pinned_by_pick_lists(
    session: Session, sku_id: int, lines: Sequence[tuple[int, int]]
) -> set[int]:
    """The order lines among `lines` ((line id, units of `sku_id` shipped)) that have
    units of `sku_id` picked on a live (open or picked) pick list and not shipped yet:
    those units are in a picker's tote at the list's location, so the line stays there."""
    if not lines:
        return set()
    shipped = dict(lines)
    on_lists = session.exec(
        select(PickListLine.order_line_id, func.sum(PickListLine.quantity - PickListLine.short))
        .join(PickList, col(PickList.id) == PickListLine.pick_list_id)
        .where(
            col(PickListLine.order_line_id).in_(sorted(shipped)),
            PickListLine.sku_id == sku_id,
            col(PickList.state).in_([PickListState.OPEN, PickListState.PICKED]),
        )
        .group_by(col(PickListLine.order_line_id))
    ).all()
    return {line_id for line_id, units in on_lists if (units or 0) > shipped[line_id]}


def moved_line(
    route: Mapping[str, Any], line_key: str, label: str, location_code: str
) -> dict[str, Any]:
    """The route after a waiting line took new stock at another location."""
    lines = {**route.get("lines", {}), line_key: location_code}
    locations = list(dict.fromkeys(lines.values()))
    reason = f"{route.get('reason', '')}; {label} moved to {location_code} when stock came in"
    return {**route, "lines": lines, "locations": locations, "reason": reason.lstrip("; ")}


def write_routes(session: Session, routes: Mapping[int, dict[str, Any]], at: datetime) -> None:
    """Store the routes of orders written behind the ORM (order intake), one statement."""
    if routes:
        session.execute(
            _WRITE_ROUTE,
            [
                {"b_id": order_id, "b_route": route, "b_at": at}
                for order_id, route in routes.items()
            ],
        )
