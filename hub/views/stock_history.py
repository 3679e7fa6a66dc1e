"""A SKU's movements newest first, a page at a time, each with the on hand it left at its
location; and its on hand (all locations) at the end of each of the last days, for the
console's chart.

Both count back from the levels of now (on hand is the sum of the movements, invariant
1): a page needs the levels and one SUM of the movements newer than it, never the whole
history, so page 40 of a busy SKU costs what page 1 costs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from omnisync.core.models import Location, Sku, StockLevel, StockMovement
from omnisync.core.types import MovementKind

CHART_MOVEMENTS = 5000
"""The chart reads at most this many of the newest movements (older days are left out)."""


@dataclass(frozen=True)
class MovementRow:
    id: int
    at: datetime
    location: str
    kind: MovementKind
    delta: int
    on_hand_after: int
    reason: str
    reference: str | None


def movement_page(
    session: Session, sku: Sku, *, limit: int, before_id: int | None = None
) -> list[MovementRow]:
    """Up to `limit` movements of `sku`, newest (highest id) first, below `before_id`."""
    query = (
        select(StockMovement, Location.code)
        .join(Location, col(Location.id) == StockMovement.location_id)
        .where(StockMovement.sku_id == sku.id)
        .order_by(col(StockMovement.id).desc())
        .limit(max(limit, 0))
    )
    if before_id is not None:
        query = query.where(col(StockMovement.id) < before_id)
    found = list(session.exec(query))
    if not found:
        return []
    balance = _on_hand_now(session, sku)
    newest_id = found[0][0].id
    assert newest_id is not None
    for location_id, later in session.exec(
        select(StockMovement.location_id, func.sum(StockMovement.delta))
        .where(StockMovement.sku_id == sku.id, col(StockMovement.id) > newest_id)
        .group_by(col(StockMovement.location_id))
    ):
        balance[location_id] -= int(later or 0)
    rows = []
    for movement, location in found:
        assert movement.id is not None
        rows.append(
            MovementRow(
                id=movement.id,
                at=movement.at,
                location=location,
                kind=movement.kind,
                delta=movement.delta,
                on_hand_after=balance[movement.location_id],
                reason=movement.reason,
                reference=movement.reference,
            )
        )
        balance[movement.location_id] -= movement.delta
    return rows


def on_hand_by_day(session: Session, sku: Sku, *, days: int, today: date) -> list[tuple[date, int]]:
    """On hand over every location at the end of each of the `days` days up to `today`."""
    total = sum(_on_hand_now(session, sku).values())
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time.min).replace(tzinfo=UTC)
    moves = list(
        session.exec(
            select(StockMovement.at, StockMovement.delta)
            .where(StockMovement.sku_id == sku.id, col(StockMovement.at) >= since)
            .order_by(col(StockMovement.id).desc())
            .limit(CHART_MOVEMENTS)
        )
    )
    if len(moves) == CHART_MOVEMENTS:  # older days are not all read: leave them out
        first = max(first, min(at for at, _ in moves).date() + timedelta(days=1))
    by_day: dict[date, int] = defaultdict(int)
    for at, delta in moves:
        by_day[at.date()] += delta
    points = []
    day, at_end = today, total
    while day >= first:
        points.append((day, at_end))
        at_end -= by_day.get(day, 0)
        day -= timedelta(days=1)
    return points[::-1]


def _on_hand_now(session: Session, sku: Sku) -> dict[int, int]:
    balance: dict[int, int] = defaultdict(int)
    for location_id, on_hand in session.exec(
        select(StockLevel.location_id, StockLevel.on_hand).where(StockLevel.sku_id == sku.id)
    ):
        balance[location_id] = on_hand
    return balance
