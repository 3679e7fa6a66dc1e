"""Orders, their lines, returns and parcels as the CLI prints them and the API serves them.

A list is newest placed first and pages by key (`before`), never by offset alone: an
order arriving between two pages would shift the second one. Lines, returns and parcels
are read for the whole page at once, a fixed number of queries however long it is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from omnisync.core.cancellation import HubCancellation
from omnisync.core.clock import iso
from omnisync.core.models import (
    Channel,
    Order,
    OrderLine,
    Return,
    Shipment,
    Sku,
    TrackingEvent,
)
from omnisync.core.types import OrderStatus, RouteSource, SplitPolicy
from omnisync.hub.cancellation import ChannelCancellation
from omnisync.hub.views.paging import newest_first
from omnisync.hub.views.shapes import (
    CancellationOut,
    CancelledLineOut,
    ChannelCancellationOut,
    HubCancellationOut,
    OrderDetailOut,
    OrderLineOut,
    OrderOut,
    OrderReturnOut,
    RouteOut,
    ShipmentLineOut,
    ShipmentOut,
    TrackingEventOut,
)


def money(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def order_list(
    session: Session,
    *,
    channel: str | None = None,
    status: OrderStatus | None = None,
    limit: int = 100,
    offset: int = 0,
    updated_after: datetime | None = None,
    oversold: bool | None = None,
    before: tuple[datetime, int] | None = None,
) -> list[OrderOut]:
    """Newest first. `before` (placed_at, id) pages by key: orders arriving meanwhile
    neither shift nor repeat the next page."""
    query = select(Order, Channel.name).join(Channel, col(Channel.id) == Order.channel_id)
    if channel is not None:
        query = query.where(Channel.name == channel)
    if status is not None:
        query = query.where(Order.status == status)
    if updated_after is not None:
        query = query.where(col(Order.updated_at) >= updated_after)
    if oversold is not None:
        query = query.where(Order.oversold == oversold)
    query = newest_first(query, col(Order.placed_at), col(Order.id), before)
    rows = session.exec(query.offset(offset).limit(limit)).all()
    return order_views(session, [(order, name) for order, name in rows])


def order_views(session: Session, orders: Sequence[tuple[Order, str]]) -> list[OrderOut]:
    lines: dict[int, list[OrderLine]] = defaultdict(list)
    for line in session.exec(
        select(OrderLine)
        .where(col(OrderLine.order_id).in_([order.id for order, _ in orders]))
        .order_by(col(OrderLine.id))
    ):
        lines[line.order_id].append(line)
    sku_ids = {line.sku_id for group in lines.values() for line in group if line.sku_id}
    codes = dict(session.exec(select(Sku.id, Sku.code).where(col(Sku.id).in_(sku_ids))).all())
    returns = order_returns(session, [order.id for order, _ in orders if order.id is not None])
    views = []
    for order, channel_name in orders:
        assert order.id is not None
        views.append(
            OrderOut(
                id=order.id,
                channel=channel_name,
                external_id=order.external_id,
                display_name=order.display_name,
                status=order.status,
                placed_at=iso(order.placed_at),
                updated_at=iso(order.updated_at),
                currency=order.currency,
                total=money(order.total),
                oversold=order.oversold,
                held_at=iso(order.held_at),
                hold_reason=order.hold_reason,
                cancelled_by_hub_at=iso(order.cancelled_by_hub_at),
                hub_cancel_reason=order.hub_cancel_reason,
                lines=[
                    OrderLineOut(
                        external_line_id=line.external_line_id,
                        channel_sku=line.channel_sku,
                        sku=codes.get(line.sku_id) if line.sku_id else None,
                        quantity=line.quantity,
                        unit_price=money(line.unit_price),
                    )
                    for line in lines[order.id]
                ],
                return_state=order.return_state,
                returns=returns[order.id],
            )
        )
    return views


def order_returns(session: Session, order_ids: Sequence[int]) -> dict[int, list[OrderReturnOut]]:
    """The returns of each order, oldest first, in one query."""
    found: dict[int, list[OrderReturnOut]] = defaultdict(list)
    if not order_ids:
        return found
    for return_id, order_id, name, status in session.exec(
        select(Return.id, Return.order_id, Return.name, Return.status)
        .where(col(Return.order_id).in_(order_ids))
        .order_by(col(Return.id))
    ):
        assert return_id is not None
        found[order_id].append(OrderReturnOut(id=return_id, name=name, status=status))
    return found


def order_detail(session: Session, order: Order, channel_name: str) -> OrderDetailOut:
    """`orders show --json`: the `orders list` shape plus the order's shipments."""
    (row,) = order_views(session, [(order, channel_name)])
    return OrderDetailOut(
        **dict(row),
        shipments=shipment_views(session, order.id or 0),
        route=route_view(order.route),
        packed_at=iso(order.packed_at),
    )


def route_view(route: Mapping[str, Any] | None) -> RouteOut | None:
    """Order.route as `orders show` shows it (core/order_routing.py writes it)."""
    if not route:
        return None
    return RouteOut(
        locations=list(route.get("locations", ())),
        lines=dict(route.get("lines", {})),
        reason=str(route.get("reason", "")),
        split=route.get("split", SplitPolicy.WHEN_NEEDED),
        source=route.get("source", RouteSource.AUTO),
        at=iso(datetime.fromisoformat(route["at"])) if route.get("at") else "",
    )


def shipment_views(session: Session, order_id: int) -> list[ShipmentOut]:
    """The order's shipments, oldest first, each with its carrier events oldest first."""
    shipments = list(
        session.exec(
            select(Shipment)
            .where(Shipment.order_id == order_id)
            .order_by(col(Shipment.shipped_at), col(Shipment.id))
        )
    )
    events: dict[int, list[TrackingEvent]] = defaultdict(list)
    for event in session.exec(
        select(TrackingEvent)
        .where(col(TrackingEvent.shipment_id).in_([s.id for s in shipments]))
        .order_by(col(TrackingEvent.at), col(TrackingEvent.id))
    ):
        events[event.shipment_id].append(event)
    carrier_ids = {s.carrier_channel_id for s in shipments if s.carrier_channel_id}
    carriers = dict(
        session.exec(select(Channel.id, Channel.name).where(col(Channel.id).in_(carrier_ids))).all()
    )
    views = []
    for shipment in shipments:
        assert shipment.id is not None
        views.append(
            ShipmentOut(
                id=shipment.id,
                carrier=shipment.carrier,
                carrier_channel=carriers.get(shipment.carrier_channel_id),
                service=shipment.service,
                tracking_number=shipment.tracking_number,
                tracking_url=shipment.tracking_url,
                status=shipment.status,
                shipped_at=iso(shipment.shipped_at),
                delivered_at=iso(shipment.delivered_at),
                lines=[
                    ShipmentLineOut(
                        external_line_id=line["external_line_id"], quantity=line["quantity"]
                    )
                    for line in shipment.lines
                ],
                fulfilment_push=shipment.push_state,
                events=[
                    TrackingEventOut(
                        at=iso(event.at),
                        code=event.code,
                        description=event.description,
                        location=event.location,
                    )
                    for event in events[shipment.id]
                ],
                label_path=shipment.label_path,
                label_format=shipment.label_format,
                carrier_shipment_id=shipment.carrier_shipment_id,
            )
        )
    return views


def cancellation_view(
    order: OrderDetailOut, cancellation: HubCancellation, channel: ChannelCancellation
) -> CancellationOut:
    """`orders cancel --json` and the body of POST /api/v1/orders/{id}/cancel."""
    return CancellationOut(
        order=order,
        cancellation=HubCancellationOut(
            already=cancellation.already,
            reason=cancellation.order.hub_cancel_reason,
            units_cancelled=cancellation.units_cancelled,
            units_shipped=cancellation.units_shipped,
            lines=[
                CancelledLineOut(
                    external_line_id=line.external_line_id,
                    channel_sku=line.channel_sku,
                    cancelled=line.cancelled,
                    shipped=line.shipped,
                )
                for line in cancellation.lines
            ],
        ),
        channel=ChannelCancellationOut(
            name=channel.channel, answer=channel.answer, message=channel.message
        ),
    )
