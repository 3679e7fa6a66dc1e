"""Stock changes a person or a warehouse makes: receipts, adjustments, counts, restocks.

Each writes the movement and the level in one transaction (the caller's), marks
the affected listings dirty in the same transaction, and gives new free stock
to waiting oversold lines. A retired SKU (core/catalog.py) takes none of them.
"""

from __future__ import annotations

from sqlmodel import Session

from omnisync.core.catalog import bundle_recipes
from omnisync.core.errors import InsufficientStock, InvalidRequest
from omnisync.core.levels import ensure_level, lock_level, move_stock
from omnisync.core.models import Location, Sku, StockMovement
from omnisync.core.outbox import mark_touched_dirty
from omnisync.core.reservations import StockEffects, allocate_waiting, reallocate_freed
from omnisync.core.types import MovementKind


def receive_stock(
    session: Session,
    sku: Sku,
    location: Location,
    quantity: int,
    *,
    reason: str = "",
    reference: str | None = None,
) -> StockMovement:
    return _record_increase(
        session, sku, location, quantity, MovementKind.RECEIPT, reason, reference
    )


def restock_return(
    session: Session,
    sku: Sku,
    location: Location,
    quantity: int,
    *,
    reason: str = "",
    reference: str | None = None,
) -> StockMovement:
    """Put returned units back on the shelf (a restock is the seller's decision)."""
    return _record_increase(
        session, sku, location, quantity, MovementKind.RETURN_RESTOCK, reason, reference
    )


def _record_increase(
    session: Session,
    sku: Sku,
    location: Location,
    quantity: int,
    kind: MovementKind,
    reason: str,
    reference: str | None,
) -> StockMovement:
    if quantity <= 0:
        raise InvalidRequest(f"{kind.value} quantity must be positive, got {quantity}")
    return _record(session, sku, location, quantity, kind, reason, reference)


def adjust_stock(
    session: Session,
    sku: Sku,
    location: Location,
    delta: int,
    *,
    reason: str = "",
    reference: str | None = None,
) -> StockMovement:
    if delta == 0:
        raise InvalidRequest("an adjustment of 0 changes nothing")
    return _record(session, sku, location, delta, MovementKind.ADJUSTMENT, reason, reference)


def count_stock(
    session: Session,
    sku: Sku,
    location: Location,
    counted: int,
    *,
    reason: str = "",
    reference: str | None = None,
) -> StockMovement:
    """Set on_hand to what was counted; the movement records the difference (maybe 0)."""
    if counted < 0:
        raise InvalidRequest(f"a count cannot be negative, got {counted}")
    sku_id, location_id = _stocked_ids(session, sku, location)
    ensure_level(session, sku_id, location_id)
    level = lock_level(session, sku_id, location_id)
    assert level is not None
    return _record(
        session, sku, location, counted - level.on_hand, MovementKind.COUNT, reason, reference
    )


def _stocked_ids(session: Session, sku: Sku, location: Location) -> tuple[int, int]:
    assert sku.id is not None
    assert location.id is not None
    if bundle_recipes(session, [sku.id]):
        raise InvalidRequest(
            f"{sku.code!r} is a bundle and holds no stock of its own; change its components"
        )
    if sku.retired_at is not None:
        raise InvalidRequest(
            f"{sku.code!r} is retired and takes no stock: unretire it to stock and sell it again"
        )
    return sku.id, location.id


def _record(
    session: Session,
    sku: Sku,
    location: Location,
    delta: int,
    kind: MovementKind,
    reason: str,
    reference: str | None,
) -> StockMovement:
    sku_id, location_id = _stocked_ids(session, sku, location)
    try:
        movement = move_stock(
            session, sku_id, location_id, delta, kind, reason=reason, reference=reference
        )
    except InsufficientStock as error:
        raise InsufficientStock(f"{sku.code} at {location.code}: {error}") from None
    effects = StockEffects(touched={(sku_id, location_id)})
    if delta > 0:
        effects.merge(allocate_waiting(session, sku_id, location_id))
        effects.merge(reallocate_freed(session, effects))
    mark_touched_dirty(session, effects.touched)
    session.flush()
    return movement
