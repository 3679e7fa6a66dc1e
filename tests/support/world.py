"""Builders for domain tests: locations, channels, SKUs and orders in a few lines."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, SQLModel, col, select

from omnisync.core.catalog import (
    LocationSpec,
    location_by_code,
    sku_by_code,
    sync_locations,
    upsert_sku,
)
from omnisync.core.channels import ChannelSpec, channel_by_name, sync_channels
from omnisync.core.clock import clock_of
from omnisync.core.db import transaction
from omnisync.core.dto import NormalisedOrder, NormalisedOrderLine
from omnisync.core.ledger import count_stock
from omnisync.core.models import (
    Channel,
    Listing,
    Order,
    OrderLine,
    Reservation,
    StockLevel,
    StockMovement,
)
from omnisync.core.order_intake import IntakeResult, upsert_order
from omnisync.core.reservations import stocked_parts, units_needed
from omnisync.core.types import LocationKind, OrderStatus, ReservationState

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def build_world(
    engine: Engine,
    *,
    locations: Sequence[str | tuple[str, LocationKind]] = ("main", "backup"),
    channels: dict[str, Sequence[str] | None] | None = None,
    rules: dict[str, dict[str, Any]] | None = None,
    skus: Iterable[str] = ("A", "B"),
    bundles: dict[str, dict[str, int]] | None = None,
) -> None:
    channels = {"shop": None, "market": None} if channels is None else channels
    with transaction(engine) as session:
        specs = []
        for location in locations:
            code, kind = (
                (location, LocationKind.WAREHOUSE) if isinstance(location, str) else location
            )
            specs.append(LocationSpec(code, code.title(), kind))
        sync_locations(session, specs)
        sync_channels(
            session,
            [
                ChannelSpec(name, "test", True, locs, (rules or {}).get(name, {}))
                for name, locs in channels.items()
            ],
        )
        for code in skus:
            upsert_sku(session, code, title=f"Product {code}")
        for code, components in (bundles or {}).items():
            upsert_sku(session, code, components=components)


def set_count(engine: Engine, sku: str, location: str, quantity: int) -> None:
    with transaction(engine) as session:
        count_stock(
            session, sku_by_code(session, sku), location_by_code(session, location), quantity
        )


def list_sku(engine: Engine, channel: str, *skus: str) -> None:
    """Bind listings of `skus` on `channel` (channel SKU = hub code), clean."""
    with transaction(engine) as session:
        target = channel_by_name(session, channel)
        for code in skus:
            session.add(
                Listing(
                    channel_id=target.id or 0,
                    sku_id=sku_by_code(session, code).id,
                    channel_sku=code,
                )
            )


def add_listing(
    engine: Engine,
    channel: str,
    key: str,
    *,
    title: str = "",
    barcode: str | None = None,
    channel_ids: dict[str, Any] | None = None,
    quantity: int | None = None,
    auto: bool = True,
) -> None:
    """An unlinked listing as the listings job stores it, unlinked since the engine's clock's
    now (and seen then, with `quantity`); `auto=False`: one an operator unlinked."""
    with transaction(engine) as session:
        now = clock_of(session).now()
        session.add(
            Listing(
                channel_id=channel_by_name(session, channel).id or 0,
                channel_sku=key,
                channel_ids=channel_ids or {},
                title=title,
                barcode=barcode,
                seen_quantity=quantity,
                seen_at=now if quantity is not None else None,
                auto_link=auto,
                unlinked_since=now,
                created_at=now,
                updated_at=now,
            )
        )


def make_order(
    external_id: str,
    lines: Sequence[tuple[str, int]],
    *,
    status: OrderStatus = OrderStatus.ACCEPTED,
    minutes: int = 0,
    placed_minutes: int | None = None,
    shipped: Sequence[int | None] | None = None,
    cancelled: Sequence[int] | None = None,
    fulfilled_by_channel: bool = False,
    total: str | None = "10.00",
) -> NormalisedOrder:
    """An order whose `updated_at` is T0 + `minutes` (placed at T0 + placed_minutes)."""
    placed = T0 + timedelta(minutes=minutes if placed_minutes is None else placed_minutes)
    return NormalisedOrder(
        external_id=external_id,
        status=status,
        placed_at=placed,
        updated_at=T0 + timedelta(minutes=minutes),
        currency="USD",
        total=Decimal(total) if total is not None else None,
        fulfilled_by_channel=fulfilled_by_channel,
        lines=tuple(
            NormalisedOrderLine(
                external_line_id=f"{external_id}-{index}",
                channel_sku=sku,
                quantity=quantity,
                unit_price=Decimal("5.00"),
                quantity_shipped=(shipped[index] if shipped else None),
                quantity_cancelled=(cancelled[index] if cancelled else 0),
            )
            for index, (sku, quantity) in enumerate(lines)
        ),
        raw={"id": external_id},
    )


def ingest(engine: Engine, channel: str, order: NormalisedOrder) -> IntakeResult:
    with transaction(engine) as session:
        return upsert_order(session, channel_by_name(session, channel), order)


def level(engine: Engine, sku: str, location: str) -> tuple[int, int]:
    """(on_hand, reserved) of a SKU at a location."""
    with Session(engine) as session:
        row = session.exec(
            select(StockLevel).where(
                StockLevel.sku_id == sku_by_code(session, sku).id,
                StockLevel.location_id == location_by_code(session, location).id,
            )
        ).first()
        return (row.on_hand, row.reserved) if row else (0, 0)


def order_row(engine: Engine, channel: str, external_id: str) -> Order:
    with Session(engine) as session:
        return session.exec(
            select(Order)
            .join(Channel, col(Channel.id) == Order.channel_id)
            .where(Channel.name == channel, Order.external_id == external_id)
        ).one()


def check_ledger_invariants(session: Session) -> None:
    """Invariants 1 and 4 over the whole database; raises AssertionError on a breach."""
    movement_sums = {
        (sku_id, location_id): int(total)
        for sku_id, location_id, total in session.exec(
            select(
                StockMovement.sku_id, StockMovement.location_id, func.sum(StockMovement.delta)
            ).group_by(col(StockMovement.sku_id), col(StockMovement.location_id))
        )
    }
    active = session.exec(
        select(Reservation).where(Reservation.state == ReservationState.ACTIVE)
    ).all()
    held: dict[tuple[int, int], int] = {}
    for reservation in active:
        assert reservation.quantity >= 0
        key = (reservation.sku_id, reservation.location_id)
        held[key] = held.get(key, 0) + reservation.quantity
    for stock in session.exec(select(StockLevel)):
        key = (stock.sku_id, stock.location_id)
        key_text = f"sku {stock.sku_id} at location {stock.location_id}"
        assert stock.on_hand == movement_sums.get(key, 0), f"invariant 1 at {key_text}"
        assert stock.reserved >= 0, f"reserved negative at {key_text}"
        assert stock.reserved == held.pop(key, 0), (
            f"reserved at {key_text} differs from its active reservations"
        )
    assert not any(held.values()), f"reservations without a stock level: {held}"
    # Every open line of a holding order has exactly one active reservation per stocked SKU.
    active_count: dict[tuple[int, int], int] = {}
    for reservation in active:
        key = (reservation.order_line_id, reservation.sku_id)
        active_count[key] = active_count.get(key, 0) + 1
    assert all(count == 1 for count in active_count.values())
    parts_of: dict[int, list[tuple[int, int]]] = {}  # a SKU's parts, read once per check
    for line, order in session.exec(
        select(OrderLine, Order).join(Order, col(Order.id) == OrderLine.order_id)
    ):
        if line.sku_id is None:
            continue
        if line.sku_id not in parts_of:
            parts_of[line.sku_id] = list(stocked_parts(session, line.sku_id))
        needed = units_needed(order, line)
        for sku_id, _ in parts_of[line.sku_id]:
            has = active_count.get((line.id or 0, sku_id), 0)
            assert has == (1 if needed else 0), (
                f"line {line.external_line_id} needs {needed} and has {has} active reservations"
            )


VOLATILE = {"modified_at", "ingested_at", "updated_at", "created_at", "at", "last_seen"}


def snapshot(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, minus bookkeeping timestamps."""
    with Session(engine) as session:
        result = {}
        for table in SQLModel.metadata.sorted_tables:
            rows = session.execute(table.select().order_by(*table.primary_key.columns)).mappings()
            result[table.name] = [
                {key: value for key, value in row.items() if key not in VOLATILE} for row in rows
            ]
        return result
