"""Stock levels and reservations of a set of order lines, locked once and changed in memory.

Reserving stock line by line costs a handful of statements per line; order
intake settles a whole page of lines instead. `LockedStock.lock` locks the
levels of every SKU the lines stock, at every location, in one statement and in
(sku, location) order, then reads the lines' active reservations under lock. The
arithmetic then runs in memory, which the row locks make safe (on SQLite the
writer lock of BEGIN IMMEDIATE does), and `write` sends the changes back in one
statement per table.

Lock order: the orders' rows first (the caller's), then stock levels by (sku,
location), then reservations, then (a shipment of units not on hand) the channel's
oversold alert, which order intake also takes only after the levels. Shipping
follows the same order (one order, then its SKUs' levels in SKU order), and a
re-allocation changes a level before the reservations waiting on it. One path
goes the other way: a re-allocation that changes another order's oversold flag
writes that order's row after the levels.
Should that meet an intake holding the row, PostgreSQL aborts one of the two
(deadlock detection): the aborted transaction changes nothing, and its work is
done again (the orders job at its next run, core.db.run_in_transaction at once).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session, col
from sqlmodel import select as select_columns

from omnisync.core.alerting import ShippedShortfall, note_shipped_not_on_hand
from omnisync.core.catalog import bundle_recipes
from omnisync.core.clock import clock_of
from omnisync.core.models import Location, Reservation, Sku, StockLevel, StockMovement
from omnisync.core.models.tables import table_of
from omnisync.core.types import MovementKind, OrderStatus, ReservationState

log = logging.getLogger(__name__)

_levels = table_of(StockLevel)
_reservations = table_of(Reservation)
_movements = table_of(StockMovement)


# Built once: statements are cheap to run and dear to build, and a page runs a dozen.
_LOCK_LEVELS = (
    select(
        _levels.c.id,
        _levels.c.sku_id,
        _levels.c.location_id,
        _levels.c.on_hand,
        _levels.c.reserved,
    )
    .where(_levels.c.sku_id.in_(bindparam("sku_ids", expanding=True)))
    .order_by(_levels.c.sku_id, _levels.c.location_id)
    .with_for_update()
)
_LOCK_RESERVATIONS = (
    select(
        _reservations.c.id,
        _reservations.c.order_line_id,
        _reservations.c.sku_id,
        _reservations.c.location_id,
        _reservations.c.quantity,
        _reservations.c.per_unit,
    )
    .where(
        _reservations.c.order_line_id.in_(bindparam("line_ids", expanding=True)),
        _reservations.c.state == ReservationState.ACTIVE,
    )
    .order_by(_reservations.c.id)
    .with_for_update()
)
_UPDATE_LEVELS = (
    update(_levels)
    .where(_levels.c.id == bindparam("b_id"))
    .values(
        on_hand=_levels.c.on_hand + bindparam("b_on_hand"),
        reserved=_levels.c.reserved + bindparam("b_reserved"),
        updated_at=bindparam("b_now"),
    )
)
_INSERT_RESERVATIONS = insert(_reservations)
_UPDATE_RESERVATIONS = (
    update(_reservations)
    .where(_reservations.c.id == bindparam("b_id"))
    .values(
        location_id=bindparam("b_location_id"),
        quantity=bindparam("b_quantity"),
        state=bindparam("b_state"),
        updated_at=bindparam("b_now"),
    )
)


class OrderState(Protocol):
    """What reservations need to know of an order (an Order row satisfies it)."""

    @property
    def external_id(self) -> str: ...
    @property
    def display_name(self) -> str | None: ...
    @property
    def status(self) -> OrderStatus: ...
    @property
    def fulfilled_by_channel(self) -> bool: ...


class LineState(Protocol):
    """What reservations need to know of an order line (an OrderLine row satisfies it)."""

    @property
    def id(self) -> int | None: ...
    @property
    def external_line_id(self) -> str: ...
    @property
    def sku_id(self) -> int | None: ...
    @property
    def quantity_shipped(self) -> int: ...
    @property
    def open_quantity(self) -> int: ...


@dataclass
class StockEffects:
    """What a transaction did to stock levels, for the outbox and for re-allocation."""

    touched: set[tuple[int, int]] = field(default_factory=set)
    """(sku, location) pairs whose on_hand or reserved changed."""
    freed: set[tuple[int, int]] = field(default_factory=set)
    """(sku, location) pairs where reserved went down (free stock appeared)."""

    def merge(self, other: StockEffects) -> None:
        self.touched |= other.touched
        self.freed |= other.freed


def units_needed(order: OrderState, line: LineState) -> int:
    """Units of the line that must be held now (0 once shipped, cancelled or channel-fulfilled)."""
    if order.fulfilled_by_channel or not order.status.holds_stock or line.sku_id is None:
        return 0
    return line.open_quantity


@dataclass(slots=True)
class _Level:
    id: int
    sku_id: int
    location_id: int
    on_hand: int
    reserved: int
    on_hand_delta: int = 0
    reserved_delta: int = 0

    @property
    def free(self) -> int:
        return self.on_hand - self.reserved

    def take_free(self, wanted: int) -> int:
        """Reserve up to `wanted` free units here; returns how many were taken."""
        taken = min(wanted, max(self.free, 0)) if wanted > 0 else 0
        self.reserved += taken
        self.reserved_delta += taken
        return taken


@dataclass(frozen=True, slots=True)
class _Shortfall:
    """Units a shipment took that the books did not hold (on hand was short)."""

    channel_id: int
    order_name: str
    reference: str
    external_line_id: str
    sku_id: int
    location_id: int | None
    """None: the line had no reservation and the channel sells from no location."""
    units: int


@dataclass(slots=True)
class _Held:
    """One reservation row as this transaction sees it."""

    id: int | None
    order_line_id: int
    sku_id: int
    location_id: int
    quantity: int
    per_unit: int
    state: ReservationState = ReservationState.ACTIVE
    changed: bool = False


class LockedStock:
    def __init__(
        self,
        recipes: dict[int, list[tuple[int, int]]],
        levels: Iterable[_Level],
        held: Iterable[_Held],
    ) -> None:
        self._recipes = recipes
        self._levels = {(level.sku_id, level.location_id): level for level in levels}
        self._active = {(row.order_line_id, row.sku_id): row for row in held}
        self._written: list[_Held] = []
        self._movements: list[dict[str, Any]] = []
        self._shortfalls: list[_Shortfall] = []
        self._spent = False
        self.effects = StockEffects()
        self.changes = 0
        """How many times a level changed: callers compare it before and after an order."""

    @classmethod
    def lock(
        cls,
        session: Session,
        sku_ids: Iterable[int],
        line_ids: Iterable[int],
        *,
        levels: bool = True,
    ) -> LockedStock:
        """Lock the levels of what `sku_ids` stock (bundles: their components) and the
        active reservations of `line_ids`. Without `levels`, only reads reservations."""
        session.flush()  # ORM changes pending in the session go first
        wanted = set(sku_ids)
        recipes = bundle_recipes(session, wanted)
        stocked = {part for sku_id in wanted for part, _ in recipes.get(sku_id) or [(sku_id, 1)]}
        level_rows: list[_Level] = []
        if levels and stocked:
            level_rows = [
                _Level(*row) for row in session.execute(_LOCK_LEVELS, {"sku_ids": sorted(stocked)})
            ]
        lines = sorted(set(line_ids))
        held: list[_Held] = []
        if lines:
            held = [_Held(*row) for row in session.execute(_LOCK_RESERVATIONS, {"line_ids": lines})]
        return cls(recipes, level_rows, held)

    def parts(self, sku_id: int) -> list[tuple[int, int]]:
        """(stocked SKU, units per unit of `sku_id`): a bundle's components, else itself."""
        return self._recipes.get(sku_id) or [(sku_id, 1)]

    def free(self, sku_id: int, location_id: int) -> int:
        """Free units of (sku, location) as this transaction sees them (0 without a level)."""
        level = self._levels.get((sku_id, location_id))
        return level.free if level else 0

    def move_line(self, order: OrderState, line: LineState, location_id: int) -> None:
        """Hold the line at `location_id` only: what it holds elsewhere is released, then it
        takes what it needs there (oversold there for what is missing)."""
        if line.sku_id is None or line.id is None:
            return
        target = units_needed(order, line)
        for sku_id, per_unit in self.parts(line.sku_id):
            held = self._active.get((line.id, sku_id))
            if held is None:
                if not target:
                    continue
                held = _Held(None, line.id, sku_id, location_id, 0, per_unit)
                self._active[(line.id, sku_id)] = held
            elif held.location_id != location_id and held.quantity:
                self._release(held, held.quantity)
            held.location_id = location_id
            self._note(held)
            if held.quantity < target * per_unit:
                self._fill(held, target * per_unit, [location_id])

    def held(self, line_id: int, sku_id: int) -> int:
        """Units the line's active reservation of `sku_id` holds."""
        row = self._active.get((line_id, sku_id))
        return row.quantity if row else 0

    def consume_shipped(
        self,
        order: OrderState,
        line: LineState,
        shipped_units: int,
        location_ids: Sequence[int],
        *,
        reference: str,
        channel_id: int,
    ) -> None:
        """Take `shipped_units` of the line out of stock, from its reservation first.

        Units shipped beyond what was reserved come out of free stock at the same
        location when there is some. The channel's word that units left is final:
        the reservation is consumed even when a count has since taken on hand below
        it, and on hand stops at zero. Units our books did not hold are a shortfall:
        `write` records it as a movement of 0 that says so (on hand stays the sum of
        the movements, invariant 1), logs it and notes it on the oversold alert.
        """
        if shipped_units <= 0 or order.fulfilled_by_channel or line.sku_id is None or not line.id:
            return
        for sku_id, per_unit in self.parts(line.sku_id):
            units = shipped_units * per_unit
            held = self._active.get((line.id, sku_id))
            location_id = held.location_id if held else next(iter(location_ids), None)
            level = None if location_id is None else self._levels.get((sku_id, location_id))
            from_reservation = min(units, held.quantity) if held else 0
            from_free = level.take_free(units - from_reservation) if level else 0
            leaving = min(from_reservation + from_free, level.on_hand) if level else 0
            if units > leaving:
                self._shortfalls.append(
                    _Shortfall(
                        channel_id=channel_id,
                        order_name=order.display_name or order.external_id,
                        reference=reference,
                        external_line_id=line.external_line_id,
                        sku_id=sku_id,
                        location_id=location_id,
                        units=units - leaving,
                    )
                )
            if level is not None and from_reservation + from_free:
                self._take_out(level, from_reservation + from_free, leaving, reference)
            if held is not None and from_reservation:
                held.quantity -= from_reservation
                self._note(held)

    def _take_out(self, level: _Level, consumed: int, leaving: int, reference: str) -> None:
        """`consumed` units leave reserved and `leaving` of them on hand (a shipment)."""
        level.on_hand -= leaving
        level.on_hand_delta -= leaving
        level.reserved -= consumed
        level.reserved_delta -= consumed
        if leaving:
            self._movements.append(
                {
                    "sku_id": level.sku_id,
                    "location_id": level.location_id,
                    "delta": -leaving,
                    "kind": MovementKind.SHIPMENT,
                    "reason": "shipped",
                    "reference": reference,
                }
            )
        self.effects.touched.add((level.sku_id, level.location_id))
        self.changes += 1

    def write_off(
        self,
        line: LineState,
        sku_id: int,
        units: int,
        location_id: int,
        *,
        reason: str,
        reference: str,
        kind: MovementKind = MovementKind.PICK_SHORT,
    ) -> None:
        """`units` of `sku_id` the line held at `location_id` are not there (a short pick):
        they leave on hand there and the line's reservation there in one change (on hand
        and reserved both drop, free stays as it was), with a movement saying why.

        On hand stops at zero; the reservation gives up only what it holds at that
        location. The line is not settled again here: the caller does (`settle`).
        """
        level = self._levels.get((sku_id, location_id))
        held = self._active.get((line.id, sku_id)) if line.id is not None else None
        leaving = min(units, level.on_hand) if level else 0
        released = min(units, held.quantity) if held and held.location_id == location_id else 0
        if level is None or not (leaving or released):
            return
        level.on_hand -= leaving
        level.on_hand_delta -= leaving
        level.reserved -= released
        level.reserved_delta -= released
        if held is not None and released:
            held.quantity -= released
            self._note(held)
        self._movements.append(
            {
                "sku_id": sku_id,
                "location_id": location_id,
                "delta": -leaving,
                "kind": kind,
                "reason": reason,
                "reference": reference,
            }
        )
        self.effects.touched.add((sku_id, location_id))
        self.changes += 1

    def settle(self, order: OrderState, line: LineState, location_ids: Sequence[int]) -> None:
        """Bring the line's reservations to what it needs now: release excess, fill shortfall."""
        if line.sku_id is None or line.id is None:
            return
        target = units_needed(order, line)
        for sku_id, per_unit in self.parts(line.sku_id):
            need = target * per_unit
            held = self._active.get((line.id, sku_id))
            if held is None:
                if need == 0 or not location_ids:
                    continue
                held = _Held(None, line.id, sku_id, location_ids[0], 0, per_unit)
                self._active[(line.id, sku_id)] = held
                self._note(held)
            if held.quantity > need:
                self._release(held, held.quantity - need)
            elif held.quantity < need:
                self._fill(held, need, location_ids)
            if need == 0:
                held.state = _closing_state(line)
                del self._active[(line.id, sku_id)]
                self._note(held)

    def release_line(self, line: LineState) -> int:
        """Free everything the line holds of its SKU (its link is going): the
        reservations close; units shipped were taken out already and stay out.
        Returns the units freed."""
        if line.sku_id is None or line.id is None:
            return 0
        freed = 0
        for sku_id, _ in self.parts(line.sku_id):
            held = self._active.pop((line.id, sku_id), None)
            if held is None:
                continue
            if held.quantity:
                freed += held.quantity
                self._release(held, held.quantity)
            held.state = _closing_state(line)
            self._note(held)
        return freed

    def shortage(self, order: OrderState, lines: Iterable[LineState]) -> int:
        """Units the order's open lines need beyond what they hold."""
        short = 0
        for line in lines:
            target = units_needed(order, line)
            if not target or line.sku_id is None or line.id is None:
                continue
            for sku_id, per_unit in self.parts(line.sku_id):
                short += max(target * per_unit - self.held(line.id, sku_id), 0)
        return short

    def _release(self, held: _Held, excess: int) -> None:
        level = self._levels.get((held.sku_id, held.location_id))
        if level is None or level.reserved < excess:
            raise AssertionError(
                f"reserved of sku {held.sku_id} at {held.location_id} would go negative"
            )
        level.reserved -= excess
        level.reserved_delta -= excess
        held.quantity -= excess
        self._note(held)
        pair = (held.sku_id, held.location_id)
        self.effects.touched.add(pair)
        self.effects.freed.add(pair)
        self.changes += 1

    def _fill(self, held: _Held, need: int, location_ids: Sequence[int]) -> None:
        """Top the reservation up towards `need` units, as far as free stock allows.

        An empty reservation goes to the first location that has all of it, else
        to the one with the most free stock; a partly filled one stays where it is.
        """
        sku_id = held.sku_id
        if held.quantity == 0:
            candidates = [
                level
                for location_id in location_ids
                if (level := self._levels.get((sku_id, location_id))) is not None
            ]
            whole = next((level for level in candidates if level.free >= need), None)
            if whole is not None:
                held.location_id = whole.location_id
                self._take(held, whole, need)
                return
            with_free = [level for level in candidates if level.free > 0]
            if not with_free:
                return
            best = min(with_free, key=lambda level: (-level.free, level.location_id))
            held.location_id = best.location_id
            self._note(held)
        level = self._levels.get((sku_id, held.location_id))
        if level is not None:
            self._take(held, level, need - held.quantity)

    def _take(self, held: _Held, level: _Level, wanted: int) -> None:
        taken = level.take_free(wanted)
        if taken:
            held.quantity += taken
            self._note(held)
            self.effects.touched.add((level.sku_id, level.location_id))
            self.changes += 1

    def _note(self, held: _Held) -> None:
        if not held.changed:
            held.changed = True
            self._written.append(held)

    def write(self, session: Session) -> StockEffects:
        """Send every change back: levels, reservations and movements, a statement each.

        Once: new reservations get their ids in the database, not here.
        """
        if self._spent:
            raise AssertionError("this LockedStock was written already")
        self._spent = True
        now = clock_of(session).now()
        changed_levels = [
            {
                "b_id": level.id,
                "b_on_hand": level.on_hand_delta,
                "b_reserved": level.reserved_delta,
                "b_now": now,
            }
            for level in self._levels.values()
            if level.on_hand_delta or level.reserved_delta
        ]
        if changed_levels:
            session.execute(_UPDATE_LEVELS, changed_levels)
        fields = ("order_line_id", "sku_id", "location_id", "quantity", "per_unit", "state")
        created = [
            {**{name: getattr(row, name) for name in fields}, "created_at": now, "updated_at": now}
            for row in self._written
            if row.id is None
        ]
        if created:
            session.execute(_INSERT_RESERVATIONS, created)
        updated = [
            {
                "b_id": row.id,
                "b_location_id": row.location_id,
                "b_quantity": row.quantity,
                "b_state": row.state,
                "b_now": now,
            }
            for row in self._written
            if row.id is not None
        ]
        if updated:
            session.execute(_UPDATE_RESERVATIONS, updated)
        self._record_shortfalls(session)
        if self._movements:
            session.execute(insert(_movements), [{**row, "at": now} for row in self._movements])
        forget_loaded(session, (StockLevel, Reservation))
        return self.effects

    def _record_shortfalls(self, session: Session) -> None:
        """Each shortfall: a movement of 0 saying why on hand did not drop by all the units
        shipped, a warning in the log, and an entry on the channel's oversold alert."""
        if not self._shortfalls:
            return
        sku_codes, location_codes = _codes(session, self._shortfalls)
        for shortfall in self._shortfalls:
            described = ShippedShortfall(
                order=shortfall.order_name,
                reference=shortfall.reference,
                line=shortfall.external_line_id,
                sku=sku_codes[shortfall.sku_id],
                location=location_codes.get(shortfall.location_id or 0),
                units=shortfall.units,
            )
            log.warning("%s", described.log_message())
            if shortfall.location_id is not None:
                self._movements.append(
                    {
                        "sku_id": shortfall.sku_id,
                        "location_id": shortfall.location_id,
                        "delta": 0,
                        "kind": MovementKind.SHIPMENT_SHORTFALL,
                        "reason": described.movement_reason(),
                        "reference": shortfall.reference,
                    }
                )
            note_shipped_not_on_hand(session, shortfall.channel_id, described)


def _codes(
    session: Session, shortfalls: Sequence[_Shortfall]
) -> tuple[dict[int, str], dict[int, str]]:
    """The SKU codes and location codes the shortfalls name, by id."""
    sku_ids = {item.sku_id for item in shortfalls}
    location_ids = {item.location_id for item in shortfalls if item.location_id is not None}
    skus = session.exec(select_columns(Sku.id, Sku.code).where(col(Sku.id).in_(sku_ids)))
    locations = session.exec(
        select_columns(Location.id, Location.code).where(col(Location.id).in_(location_ids))
    )
    return (
        {sku_id: code for sku_id, code in skus if sku_id is not None},
        {location_id: code for location_id, code in locations if location_id is not None},
    )


def _closing_state(line: LineState) -> ReservationState:
    return ReservationState.CONSUMED if line.quantity_shipped else ReservationState.RELEASED


def forget_loaded(session: Session, classes: tuple[type, ...]) -> None:
    """Expire rows of `classes` the session holds: they were changed behind its back."""
    for instance in list(session.identity_map.values()):
        if isinstance(instance, classes):
            session.expire(instance)
