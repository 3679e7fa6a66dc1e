"""Row-level operations on stock levels, safe under concurrent writers.

Every change is a single conditional UPDATE (the check and the write are one
statement, so PostgreSQL re-checks it against the latest row version), or a
read under a row lock when the amount depends on the current value. Nothing
here reads a level and writes it back unlocked.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, update
from sqlmodel import Session, select

from omnisync.core.clock import clock_of
from omnisync.core.db import insert_ignoring_conflict
from omnisync.core.errors import InsufficientStock
from omnisync.core.models import StockLevel, StockMovement
from omnisync.core.models.tables import table_of
from omnisync.core.types import MovementKind

_levels = table_of(StockLevel)
_c = _levels.c


def _row(sku_id: int, location_id: int) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return (_c.sku_id == sku_id, _c.location_id == location_id)


def ensure_level(session: Session, sku_id: int, location_id: int) -> None:
    insert_ignoring_conflict(
        session,
        _levels,
        {
            "sku_id": sku_id,
            "location_id": location_id,
            "on_hand": 0,
            "reserved": 0,
            "updated_at": clock_of(session).now(),
        },
        ("sku_id", "location_id"),
    )


def lock_level(session: Session, sku_id: int, location_id: int) -> StockLevel | None:
    """The current row, locked until the transaction ends (FOR UPDATE on PostgreSQL)."""
    return session.exec(
        select(StockLevel)
        .where(StockLevel.sku_id == sku_id, StockLevel.location_id == location_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def reserve_free(
    session: Session, sku_id: int, location_id: int, wanted: int, *, partial: bool
) -> int:
    """Reserve up to `wanted` free units at one location; returns how many were taken.

    Without `partial`, takes all of `wanted` or nothing.
    """
    if wanted <= 0:
        return 0
    whole = session.execute(
        update(_levels)
        .where(*_row(sku_id, location_id), _c.on_hand - _c.reserved >= wanted)
        .values(reserved=_c.reserved + wanted, updated_at=clock_of(session).now())
    )
    if whole.rowcount == 1:  # type: ignore[attr-defined]
        return wanted
    if not partial:
        return 0
    level = lock_level(session, sku_id, location_id)
    if level is None:
        return 0
    taken = min(wanted, max(level.free, 0))
    if taken:
        session.execute(
            update(_levels)
            .where(_c.id == level.id)
            .values(reserved=_c.reserved + taken, updated_at=clock_of(session).now())
        )
    return taken


def unreserve(session: Session, sku_id: int, location_id: int, quantity: int) -> None:
    if quantity <= 0:
        return
    result = session.execute(
        update(_levels)
        .where(*_row(sku_id, location_id), _c.reserved >= quantity)
        .values(reserved=_c.reserved - quantity, updated_at=clock_of(session).now())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise AssertionError(f"reserved of sku {sku_id} at {location_id} would go negative")


def move_stock(
    session: Session,
    sku_id: int,
    location_id: int,
    delta: int,
    kind: MovementKind,
    *,
    reason: str = "",
    reference: str | None = None,
    consumed_reservation: int = 0,
) -> StockMovement:
    """Change on_hand by `delta` and append the movement, in the caller's transaction.

    `consumed_reservation` units leave `reserved` in the same statement (a
    shipment of reserved stock). Refuses to take on_hand below zero.
    """
    ensure_level(session, sku_id, location_id)
    result = session.execute(
        update(_levels)
        .where(
            *_row(sku_id, location_id),
            _c.on_hand + delta >= 0,
            _c.reserved >= consumed_reservation,
        )
        .values(
            on_hand=_c.on_hand + delta,
            reserved=_c.reserved - consumed_reservation,
            updated_at=clock_of(session).now(),
        )
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise InsufficientStock(
            f"on hand would go below zero (change of {delta:+d}); count the stock first"
        )
    movement = StockMovement(
        sku_id=sku_id,
        location_id=location_id,
        delta=delta,
        kind=kind,
        reason=reason,
        reference=reference,
        at=clock_of(session).now(),
    )
    session.add(movement)
    return movement
