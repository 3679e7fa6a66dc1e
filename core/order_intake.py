"""Order intake: the one path by which channel orders enter the hub (polling and webhooks).

`upsert_order` is idempotent by (channel, external_id) (invariant 2): every
effect is computed as the difference between what the order needs now and
what it already holds, so the same payload applied twice changes nothing. An
older `updated_at` never overwrites a newer one. Lines that cannot be fully
reserved are kept and mark the order oversold (invariant 7).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from core.alerting import note_buyer_cancel_request
from core.channels import selling_location_ids
from core.clock import utcnow
from core.db import insert_ignoring_conflict
from core.dto import NormalisedOrder, NormalisedOrderLine
from core.models import Channel, Listing, Order, OrderLine, Sku
from core.outbox import mark_touched_dirty
from core.reservations import (
    StockEffects,
    consume_shipped,
    reallocate_freed,
    refresh_oversold,
    settle_line,
)
from core.types import OrderStatus

_FULLY_SHIPPED = frozenset({OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.RETURNED})


@dataclass(frozen=True)
class IntakeResult:
    order: Order
    created: bool
    applied: bool
    """False when the stored order is newer than the payload (nothing was changed)."""
    short_units: int


def resolve_channel_sku(session: Session, channel_id: int, channel_sku: str) -> int | None:
    """The hub SKU behind a channel SKU: its listing binding, else a SKU with that code."""
    bound = session.exec(
        select(Listing.sku_id).where(
            Listing.channel_id == channel_id,
            Listing.channel_sku == channel_sku,
            col(Listing.sku_id).is_not(None),
        )
    ).first()
    if bound is not None:
        return bound
    return session.exec(select(Sku.id).where(Sku.code == channel_sku)).first()


def upsert_order(session: Session, channel: Channel, incoming: NormalisedOrder) -> IntakeResult:
    assert channel.id is not None
    created = _insert_if_new(session, channel.id, incoming)
    order = session.exec(
        select(Order)
        .where(Order.channel_id == channel.id, Order.external_id == incoming.external_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if not created and incoming.updated_at < order.updated_at:
        return IntakeResult(order, created=False, applied=False, short_units=0)

    _apply_header(order, incoming)
    session.add(order)
    location_ids = selling_location_ids(session, channel)
    existing = {
        line.external_line_id: line
        for line in session.exec(select(OrderLine).where(OrderLine.order_id == order.id))
    }
    effects = StockEffects()
    reference = f"{channel.name}:{order.external_id}"
    lines = [
        _merge_line(session, order, existing.get(item.external_line_id), item, channel.id)
        for item in incoming.lines
    ]
    merged = {line.external_line_id: line for line, _ in lines}
    order.status = _with_known_shipments(order.status, [*{**existing, **merged}.values()])
    session.flush()
    for line, shipped_before in sorted(lines, key=lambda pair: (pair[0].sku_id or 0, pair[0].id)):
        newly_shipped = line.quantity_shipped - shipped_before
        effects.merge(
            consume_shipped(session, order, line, newly_shipped, location_ids, reference=reference)
        )
        effects.merge(settle_line(session, order, line, location_ids))
    effects.merge(reallocate_freed(session, effects))
    short = refresh_oversold(session, order)
    _note_cancel_requests(session, channel.id, order, incoming)
    mark_touched_dirty(session, effects.touched)
    if created or effects.touched or session.is_modified(order):
        order.modified_at = utcnow()
    session.flush()
    return IntakeResult(order, created=created, applied=True, short_units=short)


def _note_cancel_requests(
    session: Session, channel_id: int, order: Order, incoming: NormalisedOrder
) -> None:
    """Lines the buyer asked to cancel stay as they are (the seller decides); while the
    order still holds our stock, the operator is told (Amazon handles its own FBA orders)."""
    requested = [line for line in incoming.lines if line.buyer_cancel_requested]
    if requested and order.status.holds_stock and not order.fulfilled_by_channel:
        reasons = {line.buyer_cancel_reason or "" for line in requested} - {""}
        note_buyer_cancel_request(session, channel_id, order.external_id, sorted(reasons))


def _insert_if_new(session: Session, channel_id: int, incoming: NormalisedOrder) -> bool:
    now = utcnow()
    return insert_ignoring_conflict(
        session,
        Order.__table__,  # type: ignore[attr-defined]
        {
            "channel_id": channel_id,
            "external_id": incoming.external_id,
            "status": incoming.status.value,
            "channel_status": incoming.channel_status,
            "placed_at": incoming.placed_at,
            "updated_at": incoming.updated_at,
            "fulfilled_by_channel": incoming.fulfilled_by_channel,
            "oversold": False,
            "ingested_at": now,
            "modified_at": now,
        },
        ("channel_id", "external_id"),
    )


def _apply_header(order: Order, incoming: NormalisedOrder) -> None:
    status = incoming.status
    if order.status == OrderStatus.DELIVERED and status == OrderStatus.SHIPPED:
        status = OrderStatus.DELIVERED  # the hub learned of delivery from the carrier first
    order.status = status
    order.channel_status = incoming.channel_status
    order.status_reason = incoming.status_reason
    order.placed_at = incoming.placed_at
    order.updated_at = incoming.updated_at
    order.fulfilled_by_channel = incoming.fulfilled_by_channel
    # Channels omit some fields early (Amazon: no prices while pending): keep what we had.
    order.currency = incoming.currency or order.currency
    order.total = incoming.total if incoming.total is not None else order.total
    order.customer = incoming.customer or order.customer
    order.ship_to = incoming.ship_to or order.ship_to
    order.raw = incoming.raw if incoming.raw is not None else order.raw


def _with_known_shipments(status: OrderStatus, lines: list[OrderLine]) -> OrderStatus:
    """A channel that has not yet heard of our shipment (a re-read, a late page) does
    not take the order back to pending or accepted: what shipped, shipped."""
    if status not in (OrderStatus.PENDING, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_SHIPPED):
        return status
    if not any(line.quantity_shipped for line in lines):
        return status
    if all(line.quantity_shipped + line.quantity_cancelled >= line.quantity for line in lines):
        return OrderStatus.SHIPPED
    return OrderStatus.PARTIALLY_SHIPPED


def _merge_line(
    session: Session,
    order: Order,
    line: OrderLine | None,
    item: NormalisedOrderLine,
    channel_id: int,
) -> tuple[OrderLine, int]:
    """Update or create the line; returns it with its shipped quantity before the update."""
    if line is None:
        line = OrderLine(
            order_id=order.id or 0,
            external_line_id=item.external_line_id,
            channel_sku=item.channel_sku,
            quantity=item.quantity,
        )
    shipped_before = line.quantity_shipped
    line.channel_sku = item.channel_sku
    line.title = item.title or line.title
    line.quantity = item.quantity
    if item.unit_price is not None:
        line.unit_price = item.unit_price
    line.quantity_cancelled = max(line.quantity_cancelled, item.quantity_cancelled)
    reported = item.quantity_shipped
    if reported is None:
        fully = order.status in _FULLY_SHIPPED
        reported = item.quantity - line.quantity_cancelled if fully else 0
    line.quantity_shipped = min(
        max(line.quantity_shipped, reported), line.quantity - line.quantity_cancelled
    )
    if line.sku_id is None:
        line.sku_id = resolve_channel_sku(session, channel_id, item.channel_sku)
    session.add(line)
    return line, shipped_before


def map_unmapped_lines(session: Session, channel: Channel, channel_sku: str, sku_id: int) -> int:
    """Give lines that arrived before their SKU was known their SKU, and reserve for them."""
    rows = session.exec(
        select(OrderLine, Order)
        .join(Order, col(Order.id) == OrderLine.order_id)
        .where(
            Order.channel_id == channel.id,
            OrderLine.channel_sku == channel_sku,
            col(OrderLine.sku_id).is_(None),
        )
        .with_for_update(of=Order)
    ).all()
    if not rows:
        return 0
    location_ids = selling_location_ids(session, channel)
    effects = StockEffects()
    for line, order in rows:
        line.sku_id = sku_id
        session.add(line)
        session.flush()
        effects.merge(settle_line(session, order, line, location_ids))
        refresh_oversold(session, order)
    effects.merge(reallocate_freed(session, effects))
    mark_touched_dirty(session, effects.touched)
    return len(rows)
