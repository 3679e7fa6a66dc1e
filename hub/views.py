"""The JSON shapes the CLI prints with --json (and the HTTP API will serve).

These shapes are documented in README.md and stable: add keys, never rename.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from core.availability import available_to_sell
from core.catalog import bundle_recipes
from core.errors import InvalidRequest, NotFound
from core.models import Channel, Listing, Location, Order, OrderLine, Sku, StockLevel, StockMovement
from core.types import OrderStatus

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
    }


def sku_list(session: Session) -> list[JSON]:
    skus = list(session.exec(select(Sku).order_by(col(Sku.code))))
    codes = {sku.id: sku.code for sku in skus if sku.id is not None}
    recipes = bundle_recipes(session, codes)
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
    channels = list(
        session.exec(select(Channel).where(col(Channel.enabled)).order_by(col(Channel.name)))
    )
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
) -> list[JSON]:
    query = select(Order, Channel.name).join(Channel, col(Channel.id) == Order.channel_id)
    if channel is not None:
        query = query.where(Channel.name == channel)
    if status is not None:
        query = query.where(Order.status == status)
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
            "status": order.status.value,
            "placed_at": iso(order.placed_at),
            "updated_at": iso(order.updated_at),
            "currency": order.currency,
            "total": money(order.total),
            "oversold": order.oversold,
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


def find_order(session: Session, reference: str) -> tuple[Order, str]:
    """An order by the hub's id, or by the channel's own order id."""
    query = select(Order, Channel.name).join(Channel, col(Channel.id) == Order.channel_id)
    if reference.isdigit():
        found = session.exec(query.where(Order.id == int(reference))).first()
        if found is not None:
            return found[0], found[1]
    matches = session.exec(query.where(Order.external_id == reference)).all()
    if not matches:
        raise NotFound(f"no order with id or channel order id {reference!r}")
    if len(matches) > 1:
        names = ", ".join(sorted(name for _, name in matches))
        raise InvalidRequest(
            f"order id {reference!r} exists on several channels ({names}); use the hub id"
        )
    return matches[0][0], matches[0][1]


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
