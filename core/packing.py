"""Packing an order by scanning every unit that goes into its parcel.

A scan is a barcode: a SKU's own (or its code), counting 1, or a packaging barcode
counting its quantity (core/packaging.py `resolve_barcode`). It is accepted only when it
is of an open line of the order (a line whose hub SKU is the scanned SKU) and its units
fit what that line still needs in this parcel: its open units (neither shipped nor
cancelled) minus the units scanned for it already. Anything else (an unknown code, an
item the order does not hold, one unit too many, a case of 6 for a line of 2) raises
`ScanRefused` with a message for the packer and the order's packing state, and nothing
is recorded: the packer takes the item out and goes on.

A bundle line is packed by scanning the bundle's own barcode (its SKU's barcode or a
packaging of the bundle), one scan per bundle: the bundle is what the order line names
and what the buyer receives, so its components' barcodes are refused, with a hint
naming the bundle.

An accepted scan is a PackScan row per line it fills (a SKU on two lines fills them in
line order). The scans not yet in a shipment are the parcel being packed: when every
open unit of the lines in scope is scanned, `Order.packed_at` is set. Recording the
shipment (core/shipping.py `record_shipment`) claims the scans and clears `packed_at`,
so a partly shipped order's next parcel starts empty. `reset` drops the parcel's scans
when the packer starts over.

`location` narrows a split order's parcel to the lines reserved at that location (an
active reservation there): a packer at one warehouse packs only what is kept there.

Every write locks the order row first (core/shipping.py `lock_order`), so two scanners
on one order never both take its last unit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel import Session, col, delete, select

from omnisync.core.catalog import bundle_recipes, location_by_code
from omnisync.core.clock import clock_of
from omnisync.core.errors import InvalidRequest
from omnisync.core.models import (
    Order,
    PackagingBarcode,
    PackScan,
    Reservation,
    Sku,
)
from omnisync.core.packaging import resolve_barcode
from omnisync.core.shipping import check_shippable, lines_with_sku_codes, lock_order
from omnisync.core.types import ReservationState

_BARCODE_LENGTH = 64
"""PackScan.barcode's length: a longer scan (a SKU code may be 128 long) is kept cut."""
_ACTOR_LENGTH = 100


@dataclass(frozen=True)
class PackLine:
    """One order line as the parcel being packed holds it."""

    order_line_id: int
    external_line_id: str
    channel_sku: str
    sku_id: int | None
    sku: str | None
    """The hub SKU's code; None: the line is bound to no SKU and cannot be scanned."""
    title: str
    needed: int
    """Open units: neither shipped nor cancelled."""
    scanned: int
    """Units scanned into the parcel being packed."""

    @property
    def remaining(self) -> int:
        return max(self.needed - self.scanned, 0)


@dataclass(frozen=True)
class PackingState:
    """The parcel being packed: the lines in scope, what each needs and has."""

    order_id: int
    order_name: str
    """The order as the hub names it: the channel's order name, else its id."""
    location: str | None
    """The location the parcel is packed at (its lines are reserved there); None: all."""
    lines: tuple[PackLine, ...]
    packed_at: datetime | None

    @property
    def packed(self) -> bool:
        """Every open unit of the lines in scope scanned, none too many."""
        return bool(self.lines) and all(line.scanned == line.needed for line in self.lines)

    @property
    def scanned_lines(self) -> dict[str, int]:
        """The channel's line id -> units scanned: what the parcel holds, as
        `record_shipment` and labels take it."""
        return {line.external_line_id: line.scanned for line in self.lines if line.scanned}


@dataclass(frozen=True)
class ScanOutcome:
    """An accepted scan."""

    code: str
    sku: str
    units: int
    """Units the scan counted (a packaging counts its quantity)."""
    scanned: int
    """Units of the SKU in the parcel now, over its lines in scope."""
    needed: int
    """Open units of the SKU over its lines in scope."""
    state: PackingState
    packed_now: bool
    """This scan completed the parcel."""


class ScanRefused(InvalidRequest):
    """A scan that does not fit the order: nothing was recorded. Carries the order's
    packing state as it stands (unchanged by the scan)."""

    def __init__(self, message: str, state: PackingState) -> None:
        super().__init__(message)
        self.message = message
        self.state = state


def packing_state(session: Session, order: Order, *, location: str | None = None) -> PackingState:
    """The parcel being packed: the order's open lines (those reserved at `location`
    when given), each with its open units and the units scanned so far."""
    if order.id is None:
        raise InvalidRequest("the order is not stored yet")
    location_id = location_by_code(session, location).id if location is not None else None
    rows = lines_with_sku_codes(session, order.id)
    scanned = _scanned_units(session, order.id)
    in_scope = (
        _lines_at(session, [line.id for line, _ in rows if line.id is not None], location_id)
        if location_id is not None
        else None
    )
    lines = tuple(
        PackLine(
            order_line_id=line.id or 0,
            external_line_id=line.external_line_id,
            channel_sku=line.channel_sku,
            sku_id=line.sku_id,
            sku=code,
            title=line.title,
            needed=line.open_quantity,
            scanned=scanned.get(line.id or 0, 0),
        )
        for line, code in rows
        if (line.open_quantity or scanned.get(line.id or 0))
        and (in_scope is None or line.id in in_scope)
    )
    return PackingState(
        order_id=order.id,
        order_name=order.display_name or order.external_id,
        location=location,
        lines=lines,
        packed_at=order.packed_at,
    )


def scan(
    session: Session, order: Order, code: str, *, actor: str, location: str | None = None
) -> ScanOutcome:
    """Count `code` into the order's parcel (in the caller's transaction).

    Raises ScanRefused, having recorded nothing, for a code that is no barcode, an item
    the parcel does not hold, or units beyond what its line still needs; InvalidRequest
    or Conflict (as `record_shipment` does) for an order that cannot ship.
    """
    order = lock_order(session, order)
    check_shippable(order)
    state = packing_state(session, order, location=location)
    if not any(line.needed for line in state.lines):
        where = f" at {location}" if location is not None else ""
        raise InvalidRequest(f"order {state.order_name} has nothing left to pack{where}")
    code = code.strip()
    if not code:
        raise ScanRefused("an empty scan: nothing counted", state)
    try:
        resolved = resolve_barcode(session, code)
    except InvalidRequest as ambiguous:  # a barcode several SKUs share
        raise ScanRefused(str(ambiguous), state) from None
    if resolved is None:
        raise ScanRefused(f"{code!r} is not the barcode of any SKU or packaging", state)
    sku_id, units = resolved
    sku = session.get(Sku, sku_id)
    assert sku is not None
    lines = [line for line in state.lines if line.sku_id == sku_id]
    if not lines:
        raise ScanRefused(_not_in_order(session, order, state, sku), state)
    needed = sum(line.needed for line in lines)
    already = sum(line.scanned for line in lines)
    room = sum(line.remaining for line in lines)
    if units > room:
        raise ScanRefused(_too_many(session, code, sku, units, state, needed, already), state)

    now = clock_of(session).now()
    left = units
    for line in lines:
        take = min(left, line.remaining)
        if take:
            session.add(
                PackScan(
                    order_id=state.order_id,
                    order_line_id=line.order_line_id,
                    sku_id=sku_id,
                    barcode=code[:_BARCODE_LENGTH],
                    units=take,
                    actor=actor[:_ACTOR_LENGTH],
                    scanned_at=now,
                )
            )
            left -= take
    session.flush()
    after = packing_state(session, order, location=location)
    packed_now = after.packed and order.packed_at is None
    order.packed_at = (order.packed_at or now) if after.packed else None
    session.add(order)
    session.flush()
    return ScanOutcome(
        code=code,
        sku=sku.code,
        units=units,
        scanned=already + units,
        needed=needed,
        state=replace(after, packed_at=order.packed_at),
        packed_now=packed_now,
    )


def reset(session: Session, order: Order, *, location: str | None = None) -> PackingState:
    """Drop the parcel's scans (the packer starts over; at `location`: the scans of its
    lines only) and the packed mark (in the caller's transaction); the scans of parcels
    that shipped stay theirs."""
    order = lock_order(session, order)
    dropping = delete(PackScan).where(
        col(PackScan.order_id) == order.id, col(PackScan.shipment_id).is_(None)
    )
    if location is not None:
        in_scope = [
            line.order_line_id for line in packing_state(session, order, location=location).lines
        ]
        dropping = dropping.where(col(PackScan.order_line_id).in_(in_scope))
    session.execute(dropping)
    order.packed_at = None
    session.add(order)
    session.flush()
    return packing_state(session, order, location=location)


def _scanned_units(session: Session, order_id: int) -> dict[int, int]:
    """Units scanned per order line into the parcel not yet shipped."""
    units: dict[int, int] = defaultdict(int)
    for line_id, count in session.exec(
        select(PackScan.order_line_id, PackScan.units).where(
            PackScan.order_id == order_id, col(PackScan.shipment_id).is_(None)
        )
    ):
        units[line_id] += count
    return units


def _lines_at(session: Session, line_ids: Iterable[int], location_id: int) -> set[int]:
    """The lines holding an active reservation at the location."""
    return set(
        session.exec(
            select(Reservation.order_line_id).where(
                col(Reservation.order_line_id).in_(list(line_ids)),
                Reservation.location_id == location_id,
                Reservation.state == ReservationState.ACTIVE,
            )
        ).all()
    )


def _not_in_order(session: Session, order: Order, state: PackingState, sku: Sku) -> str:
    """`A is not in order N`, with what the packer may have meant."""
    message = f"{sku.code} is not in order {state.order_name}"
    if state.location is not None:
        everywhere = packing_state(session, order)
        if any(line.sku_id == sku.id and line.needed for line in everywhere.lines):
            return f"{message}'s parcel at {state.location}: it is not reserved there"
    bundles = [line for line in state.lines if line.sku_id is not None and line.needed]
    recipes = bundle_recipes(session, {line.sku_id for line in bundles if line.sku_id})
    holding = sorted(
        {
            line.sku or ""
            for line in bundles
            if any(part == sku.id for part, _ in recipes.get(line.sku_id or 0, []))
        }
    )
    if holding:
        return f"{message}: it is part of bundle {', '.join(holding)}; scan the bundle's barcode"
    return message


def _too_many(
    session: Session, code: str, sku: Sku, units: int, state: PackingState, needed: int, had: int
) -> str:
    """Why the scan's units do not fit: the SKU is all scanned, or a packaging holds more."""
    if had >= needed:
        return f"order {state.order_name} needs {needed} of {sku.code}; {had} scanned already"
    packaging = session.exec(
        select(PackagingBarcode).where(PackagingBarcode.barcode == code)
    ).first()
    what = (packaging.name if packaging is not None else "") or "packaging"
    more = f" more ({had} of {needed} scanned)" if had else ""
    order = state.order_name
    return f"{what} of {units} of {sku.code}, but order {order} needs only {needed - had}{more}"
