"""The JSON shapes the CLI prints with --json (and the HTTP API will serve).

These shapes are documented in README.md and stable: add keys, never rename.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, or_
from sqlmodel import Session, col, select

from omnisync.connectors.base import Capability
from omnisync.connectors.registry import connector_for
from omnisync.core.availability import available_to_sell
from omnisync.core.catalog import bundle_recipes
from omnisync.core.errors import NotFound
from omnisync.core.models import (
    Alert,
    AlertDelivery,
    Channel,
    Listing,
    Location,
    Order,
    OrderLine,
    QuarantinedPayload,
    Shipment,
    Sku,
    StockLevel,
    StockMovement,
    SyncRun,
    TrackingEvent,
)
from omnisync.core.quarantine import Resolution
from omnisync.core.types import AlertState, OrderStatus, SyncRunStatus
from omnisync.hub.order_lookup import find_order as find_order
from omnisync.sync.alert_resolution import HandResolution

JSON = dict[str, Any]


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def money(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def sku_view(sku: Sku, components: Sequence[tuple[str, int]]) -> JSON:
    return {
        "code": sku.code,
        "title": sku.title,
        "barcode": sku.barcode,
        "safety_stock": sku.safety_stock,
        "bundle": bool(components),
        "components": [{"sku": code, "quantity": quantity} for code, quantity in components],
        "retired_at": iso(sku.retired_at),
    }


def sku_list(session: Session, *, include_retired: bool = False) -> list[JSON]:
    """The catalogue by code; retired SKUs only with `include_retired`."""
    query = select(Sku).order_by(col(Sku.code))
    if not include_retired:
        query = query.where(col(Sku.retired_at).is_(None))
    skus = list(session.exec(query))
    recipes = bundle_recipes(session, [sku.id for sku in skus if sku.id is not None])
    component_ids = {component for recipe in recipes.values() for component, _ in recipe}
    codes = dict(session.exec(select(Sku.id, Sku.code).where(col(Sku.id).in_(component_ids))).all())
    return [sku_view(sku, [(codes[c], q) for c, q in recipes.get(sku.id or 0, [])]) for sku in skus]


def stock_list(session: Session, skus: Sequence[Sku]) -> list[JSON]:
    """`stock show --json`: per SKU its levels, free total and availability per channel."""
    ids = [sku.id for sku in skus if sku.id is not None]
    recipes = bundle_recipes(session, ids)
    stocked = set(ids) | {component for recipe in recipes.values() for component, _ in recipe}
    locations = list(session.exec(select(Location).order_by(col(Location.id))))
    levels: dict[int, dict[int, StockLevel]] = defaultdict(dict)
    for level in session.exec(select(StockLevel).where(col(StockLevel.sku_id).in_(stocked))):
        levels[level.sku_id][level.location_id] = level
    channels = [
        channel
        for channel in session.exec(
            select(Channel).where(col(Channel.enabled)).order_by(col(Channel.name))
        )
        if _sells_stock(channel.type)
    ]
    available = {channel.name: available_to_sell(session, channel, ids) for channel in channels}

    def free_total(sku_id: int) -> int:
        return sum(level.free for level in levels[sku_id].values())

    rows = []
    for sku in skus:
        assert sku.id is not None
        recipe = recipes.get(sku.id)
        if recipe:
            total = min(max(free_total(c), 0) // quantity for c, quantity in recipe)
            location_rows: list[JSON] = []
        else:
            total = free_total(sku.id)
            location_rows = [_level_view(loc, levels[sku.id].get(loc.id or 0)) for loc in locations]
        rows.append(
            {
                "sku": sku.code,
                "bundle": bool(recipe),
                "locations": location_rows,
                "free_total": total,
                "channels": [
                    {"channel": channel.name, "available": available[channel.name][sku.id]}
                    for channel in channels
                ],
            }
        )
    return rows


def _sells_stock(channel_type: str) -> bool:
    """Carrier channels sell nothing: no availability to show for them."""
    connector = connector_for(channel_type)
    return connector is None or bool(connector.capabilities & {Capability.ORDERS, Capability.STOCK})


def _level_view(location: Location, level: StockLevel | None) -> JSON:
    on_hand, reserved = (level.on_hand, level.reserved) if level else (0, 0)
    return {
        "location": location.code,
        "on_hand": on_hand,
        "reserved": reserved,
        "free": on_hand - reserved,
    }


def movement_list(session: Session, sku: Sku) -> list[JSON]:
    """Every movement of the SKU, oldest first, with the on-hand balance after each."""
    codes = {loc.id: loc.code for loc in session.exec(select(Location))}
    balance: dict[int, int] = defaultdict(int)
    rows = []
    for movement in session.exec(
        select(StockMovement)
        .where(StockMovement.sku_id == sku.id)
        .order_by(col(StockMovement.at), col(StockMovement.id))
    ):
        balance[movement.location_id] += movement.delta
        rows.append(
            {
                "at": iso(movement.at),
                "location": codes.get(movement.location_id),
                "kind": movement.kind.value,
                "delta": movement.delta,
                "on_hand_after": balance[movement.location_id],
                "reason": movement.reason,
                "reference": movement.reference,
            }
        )
    return rows


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
) -> list[JSON]:
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
    if before is not None:
        placed_at, order_id = before
        query = query.where(
            or_(
                col(Order.placed_at) < placed_at,
                and_(col(Order.placed_at) == placed_at, col(Order.id) < order_id),
            )
        )
    query = query.order_by(col(Order.placed_at).desc(), col(Order.id).desc())
    rows = session.exec(query.offset(offset).limit(limit)).all()
    return order_views(session, [(order, name) for order, name in rows])


def order_views(session: Session, orders: Sequence[tuple[Order, str]]) -> list[JSON]:
    ids = [order.id for order, _ in orders]
    lines: dict[int, list[OrderLine]] = defaultdict(list)
    for line in session.exec(
        select(OrderLine).where(col(OrderLine.order_id).in_(ids)).order_by(col(OrderLine.id))
    ):
        lines[line.order_id].append(line)
    sku_ids = {line.sku_id for group in lines.values() for line in group if line.sku_id}
    codes = dict(session.exec(select(Sku.id, Sku.code).where(col(Sku.id).in_(sku_ids))).all())
    return [
        {
            "id": order.id,
            "channel": channel_name,
            "external_id": order.external_id,
            "display_name": order.display_name,
            "status": order.status.value,
            "placed_at": iso(order.placed_at),
            "updated_at": iso(order.updated_at),
            "currency": order.currency,
            "total": money(order.total),
            "oversold": order.oversold,
            "held_at": iso(order.held_at),
            "hold_reason": order.hold_reason,
            "cancelled_by_hub_at": iso(order.cancelled_by_hub_at),
            "hub_cancel_reason": order.hub_cancel_reason,
            "lines": [
                {
                    "channel_sku": line.channel_sku,
                    "sku": codes.get(line.sku_id) if line.sku_id else None,
                    "quantity": line.quantity,
                    "unit_price": money(line.unit_price),
                }
                for line in lines[order.id or 0]
            ],
        }
        for order, channel_name in orders
    ]


def order_detail(session: Session, order: Order, channel_name: str) -> JSON:
    """`orders show --json`: the `orders list` shape plus the order's shipments."""
    (row,) = order_views(session, [(order, channel_name)])
    return {**row, "shipments": shipment_views(session, order.id or 0)}


def shipment_views(session: Session, order_id: int) -> list[JSON]:
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
    return [
        {
            "id": shipment.id,
            "carrier": shipment.carrier,
            "carrier_channel": carriers.get(shipment.carrier_channel_id),
            "service": shipment.service,
            "tracking_number": shipment.tracking_number,
            "tracking_url": shipment.tracking_url,
            "status": shipment.status.value,
            "shipped_at": iso(shipment.shipped_at),
            "delivered_at": iso(shipment.delivered_at),
            "lines": [
                {"external_line_id": line["external_line_id"], "quantity": line["quantity"]}
                for line in shipment.lines
            ],
            "fulfilment_push": shipment.push_state.value,
            "events": [
                {
                    "at": iso(event.at),
                    "code": event.code,
                    "description": event.description,
                    "location": event.location,
                }
                for event in events[shipment.id or 0]
            ],
        }
        for shipment in shipments
    ]


def channel_list(session: Session) -> list[JSON]:
    counts = {
        channel_id: (total, dirty or 0, unbound or 0)
        for channel_id, total, dirty, unbound in session.exec(
            select(
                Listing.channel_id,
                func.count(),
                func.sum(case((col(Listing.dirty), 1), else_=0)),
                func.sum(case((col(Listing.sku_id).is_(None), 1), else_=0)),
            ).group_by(col(Listing.channel_id))
        )
    }
    rows = []
    for channel in session.exec(select(Channel).order_by(col(Channel.name))):
        total, dirty, unbound = counts.get(channel.id or 0, (0, 0, 0))
        rows.append(
            {
                "name": channel.name,
                "type": channel.type,
                "enabled": channel.enabled,
                "locations": channel.locations,
                "listings": total,
                "unbound_listings": unbound,
                "dirty_listings": dirty,
                "paused_reason": channel.paused_reason,
            }
        )
    return rows


def _channel_names(session: Session) -> dict[int | None, str | None]:
    names: dict[int | None, str | None] = {None: None}
    names.update(session.exec(select(Channel.id, Channel.name)).all())
    return names


def sync_run_view(run: SyncRun, channel: str | None) -> JSON:
    duration = (
        (run.finished_at - run.started_at).total_seconds() if run.finished_at is not None else None
    )
    return {
        "id": run.id,
        "channel": channel,
        "job": run.job,
        "status": run.status.value,
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "duration_seconds": duration,
        "counts": run.counts or {},
        "error": run.error,
    }


def sync_run_list(
    session: Session,
    *,
    channel: str | None = None,
    job: str | None = None,
    status: SyncRunStatus | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[JSON]:
    """Job runs, newest first; `before_id` pages by key."""
    query = select(SyncRun)
    if channel is not None:
        query = query.join(Channel, col(Channel.id) == SyncRun.channel_id).where(
            Channel.name == channel
        )
    if job is not None:
        query = query.where(SyncRun.job == job)
    if status is not None:
        query = query.where(SyncRun.status == status)
    if before_id is not None:
        query = query.where(col(SyncRun.id) < before_id)
    runs = session.exec(query.order_by(col(SyncRun.id).desc()).limit(limit)).all()
    names = _channel_names(session)
    return [sync_run_view(run, names.get(run.channel_id)) for run in runs]


def alert_view(alert: Alert, channel: str | None) -> JSON:
    return {
        "id": alert.id,
        "rule": alert.rule,
        "channel": channel,
        "severity": alert.severity.value,
        "state": alert.state.value,
        "message": alert.message,
        "details": alert.details or {},
        "first_seen": iso(alert.first_seen),
        "last_seen": iso(alert.last_seen),
        "count": alert.count,
        "notified_at": iso(alert.notified_at),
        "resolved_at": iso(alert.resolved_at),
        "resolved_by": alert.resolved_by,
        "resolution_note": alert.resolution_note,
    }


def alert_list(
    session: Session,
    *,
    state: AlertState | None = None,
    channel: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
    rule: str | None = None,
) -> list[JSON]:
    """Alerts, newest first; `before_id` pages by key."""
    query = select(Alert)
    if state is not None:
        query = query.where(Alert.state == state)
    if rule is not None:
        query = query.where(Alert.rule == rule)
    if channel is not None:
        query = query.join(Channel, col(Channel.id) == Alert.channel_id).where(
            Channel.name == channel
        )
    if before_id is not None:
        query = query.where(col(Alert.id) < before_id)
    alerts = session.exec(query.order_by(col(Alert.id).desc()).limit(limit)).all()
    names = _channel_names(session)
    return [alert_view(alert, names.get(alert.channel_id)) for alert in alerts]


def quarantine_view(payload: QuarantinedPayload, channel: str | None, *, raw: bool) -> JSON:
    """A quarantined payload; the raw body (possibly large) only when asked for."""
    row: JSON = {
        "id": payload.id,
        "channel": channel,
        "kind": payload.kind,
        "external_id": payload.external_id,
        "reason": payload.reason,
        "received_at": iso(payload.received_at),
        "resolved_at": iso(payload.resolved_at),
        "resolved_by": payload.resolved_by,
        "resolution_note": payload.resolution_note,
        "raw_length": len(payload.raw),
    }
    if raw:
        row["raw"] = payload.raw
    return row


def quarantine_list(
    session: Session,
    *,
    channel: str | None = None,
    resolved: bool | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[JSON]:
    """Quarantined payloads without their bodies, newest first; `before_id` pages by key."""
    query = select(QuarantinedPayload)
    if channel is not None:
        query = query.join(Channel, col(Channel.id) == QuarantinedPayload.channel_id).where(
            Channel.name == channel
        )
    if resolved is not None:
        resolved_at = col(QuarantinedPayload.resolved_at)
        query = query.where(resolved_at.is_not(None) if resolved else resolved_at.is_(None))
    if before_id is not None:
        query = query.where(col(QuarantinedPayload.id) < before_id)
    rows = session.exec(query.order_by(col(QuarantinedPayload.id).desc()).limit(limit)).all()
    names = _channel_names(session)
    return [quarantine_view(row, names.get(row.channel_id), raw=False) for row in rows]


def quarantine_resolution_view(resolution: Resolution) -> JSON:
    """`quarantine retry|resolve --json`: the payload as resolved (without its body),
    whether the channel's quarantine alert resolved with it, and the orders a retry took in."""
    return {
        "payload": quarantine_view(resolution.payload, resolution.channel, raw=False),
        "alert_resolved": resolution.alert_resolved,
        "orders": list(resolution.orders),
    }


def find_quarantined(session: Session, payload_id: int) -> JSON:
    payload = session.get(QuarantinedPayload, payload_id)
    if payload is None:
        raise NotFound(f"no quarantined payload {payload_id}")
    return quarantine_view(payload, _channel_names(session).get(payload.channel_id), raw=True)


def alert_delivery_view(delivery: AlertDelivery) -> JSON:
    """What one notifier was told of an alert (sync/notify/dispatcher.py)."""
    return {
        "notifier": delivery.notifier,
        "announced_at": iso(delivery.announced_at),
        "reminded_at": iso(delivery.reminded_at),
        "reminders": delivery.reminders,
        "resolved_sent_at": iso(delivery.resolved_sent_at),
        "failures": delivery.failures,
        "next_attempt_at": iso(delivery.next_attempt_at),
        "last_error": delivery.last_error,
    }


def find_alert(session: Session, alert_id: int) -> JSON:
    """`alerts show ID --json`: the alert with what each notifier was told of it."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    deliveries = session.exec(
        select(AlertDelivery)
        .where(AlertDelivery.alert_id == alert_id)
        .order_by(col(AlertDelivery.notifier))
    ).all()
    view = alert_view(alert, _channel_names(session).get(alert.channel_id))
    return {**view, "deliveries": [alert_delivery_view(row) for row in deliveries]}


def alert_resolution_view(resolution: HandResolution) -> JSON:
    """`alerts resolve --json`: the alert as resolved, whether its rule opens it again
    (true, false, or null: only the running hub's evaluation can tell) and in words."""
    return {
        "alert": alert_view(resolution.alert, resolution.channel),
        "opens_again": resolution.outlook.opens_again,
        "outlook": resolution.outlook.says,
    }
