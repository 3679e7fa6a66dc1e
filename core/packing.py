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
line order). The scans not yet in a shipment are the parcel being packed; it is packed
when every open unit of the lines in scope is scanned, and `Order.packed_at` says since
when a parcel of the order is (core/parcels.py). Recording a shipment
(core/shipping.py `record_shipment`) claims the scans of the units it ships, so a
partly shipped order's next parcel starts from what is left. `reset` drops the parcel's
scans when the packer starts over.

`location` narrows a split order's parcel to the lines reserved at that location (an
active reservation there, core/parcels.py `line_locations`): a packer at one warehouse
packs only what is kept there.

Every write locks the order row first (core/shipping.py `lock_order`), so two scanners
on one order never both take its last unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel import Session, col, delete, select

from omnisync.core.catalog import bundle_recipes, location_by_code
from omnisync.core.clock import clock_of
from omnisync.core.errors import InvalidRequest
from omnisync.core.models import Order, PackagingBarcode, PackScan, Sku
from omnisync.core.packaging import resolve_barcode
from omnisync.core.parcels import line_locations, refresh_packed, scanned_units
from omnisync.core.shipping import check_shippable, lines_with_sku_codes, lock_order

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
    locations: frozenset[str] = frozenset()
    """The locations the line is reserved at: the parcels it is packed in."""

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
    order_packed_at: datetime | None
    """`Order.packed_at`: since when a parcel of the order is packed (core/parcels.py)."""

    @property
    def packed(self) -> bool:
        """Every open unit of the lines in scope scanned, none too many."""
        return bool(self.lines) and all(line.scanned == line.needed for line in self.lines)

    @property
    def packed_at(self) -> datetime | None:
        """Since when the order is packed, while this parcel is; None while it is not."""
        return self.order_packed_at if self.packed else None

    @property
    def scanned_lines(self) -> dict[str, int]:
        """The channel's line id -> units scanned: what the parcel holds, as
        `record_shipment` and labels take it."""
        return {line.external_line_id: line.scanned for line in self.lines if line.scanned}

    def at(self, location: str | None) -> PackingState:
        """This parcel narrowed to the lines reserved at `location` (None: as it is)."""
        if location is None:
            return self
        lines = tuple(line for line in self.lines if location in line.locations)
        return replace(self, location=location, lines=lines)

    def with_scans(self, units: Mapping[int, int]) -> PackingState:
        """The parcel with `units` (order line id -> units) scanned into it as well."""
        lines = tuple(
            replace(line, scanned=line.scanned + units.get(line.order_line_id, 0))
            for line in self.lines
        )
        return replace(self, lines=lines)


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
    """This scan packed the parcel (an accepted scan never finds it packed already)."""


class ScanRefused(InvalidRequest):
    """A scan that does not fit the order: nothing was recorded. Carries the order's
    packing state as it stands (unchanged by the scan)."""

    def __init__(self, message: str, state: PackingState) -> None:
        super().__init__(message)
        self.message = message
        self.state = state


def packing_state(session: Session, order: Order, *, location: str | None = None) -> PackingState:
    """The parcel being packed: the order's open lines (those reserved at `location`
    when given; NotFound for an unknown location), each with its open units and the units
    scanned so far."""
    if location is not None:
        location_by_code(session, location)
    return _whole_order(session, order).at(location)


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
    if location is not None:
        location_by_code(session, location)
    whole = _whole_order(session, order)
    state = whole.at(location)
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
        raise ScanRefused(_not_in_order(session, whole, state, sku), state)
    needed = sum(line.needed for line in lines)
    already = sum(line.scanned for line in lines)
    room = sum(line.remaining for line in lines)
    if units > room:
        raise ScanRefused(_too_many(session, code, sku, units, state, needed, already), state)

    now = clock_of(session).now()
    left = units
    taken: dict[int, int] = {}
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
            taken[line.order_line_id] = take
            left -= take
    after = state.with_scans(taken)
    if after.packed and order.packed_at is None:
        # A scan only fills lines of its own parcel, so no other parcel stops being packed.
        order.packed_at = now
        session.add(order)
    session.flush()
    return ScanOutcome(
        code=code,
        sku=sku.code,
        units=units,
        scanned=already + units,
        needed=needed,
        state=replace(after, order_packed_at=order.packed_at),
        packed_now=after.packed,
    )


def reset(session: Session, order: Order, *, location: str | None = None) -> PackingState:
    """Drop the parcel's scans (the packer starts over; at `location`: the scans of its
    lines only) in the caller's transaction, and the packed mark unless another parcel of
    the order stays packed; the scans of parcels that shipped stay theirs."""
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
    refresh_packed(session, order, clock_of(session).now())
    session.flush()
    return packing_state(session, order, location=location)


def _whole_order(session: Session, order: Order) -> PackingState:
    """The whole order as one parcel: its open lines (and any line with scans not
    shipped), each with the locations it is reserved at."""
    if order.id is None:
        raise InvalidRequest("the order is not stored yet")
    rows = lines_with_sku_codes(session, order.id)
    scanned = scanned_units(session, order.id)
    kept_at = line_locations(session, [line.id for line, _ in rows if line.id is not None])
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
            locations=kept_at.get(line.id or 0, frozenset()),
        )
        for line, code in rows
        if line.open_quantity or scanned.get(line.id or 0)
    )
    return PackingState(
        order_id=order.id,
        order_name=order.display_name or order.external_id,
        location=None,
        lines=lines,
        order_packed_at=order.packed_at,
    )


def _not_in_order(session: Session, whole: PackingState, state: PackingState, sku: Sku) -> str:
    """`A is not in order N`, with what the packer may have meant (`whole`: the order's
    every line, `state`: the parcel scanned into)."""
    message = f"{sku.code} is not in order {state.order_name}"
    elsewhere = any(line.sku_id == sku.id and line.needed for line in whole.lines)
    if state.location is not None and elsewhere:
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
