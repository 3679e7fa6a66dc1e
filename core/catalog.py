"""SKUs, bundle recipes and locations: lookups, upserts, edits and retirement.

SKU codes: a new code (added, imported, or given by a rename) is 1 to 100 characters
of letters (any alphabet), digits and `- _ . / : # +`; no whitespace and no control
character, which marketplaces and CSV files mangle. A code stored before this rule
keeps working (it is found, sold and stocked as before); it can only not be made anew.

A retired SKU (`retire_sku`) is no longer sold: every channel is offered 0 of it
(core/availability.py), it takes no stock (core/ledger.py), and `skus list` hides it.
It keeps its row, so its history, listings and order lines stay linked to it;
`unretire_sku` sells it again.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlmodel import Session, col, delete, select

from omnisync.core.clock import clock_of
from omnisync.core.errors import Conflict, InvalidRequest, NotFound
from omnisync.core.models import (
    BundleComponent,
    Channel,
    Location,
    Order,
    OrderLine,
    Sku,
    StockLevel,
)
from omnisync.core.outbox import mark_listings_dirty
from omnisync.core.packaging import refuse_packaging_barcode
from omnisync.core.types import LocationKind, OrderStatus

SKU_CODE_MAX_LENGTH = 100
"""Within the column's 128 characters, and within what marketplaces take."""
SKU_CODE_PUNCTUATION = "-_./:#+"
SKU_CODE_RULE = f"1 to {SKU_CODE_MAX_LENGTH} characters: letters, digits and " + " ".join(
    SKU_CODE_PUNCTUATION
)
_NAMED_HOLDERS = 5
"""At most this many orders are named when open lines keep a SKU from retiring."""


@dataclass(frozen=True)
class LocationSpec:
    code: str
    name: str
    kind: LocationKind


def sku_by_code(session: Session, code: str) -> Sku:
    sku = session.exec(select(Sku).where(Sku.code == code)).first()
    if sku is None:
        raise NotFound(f"unknown SKU {code!r}")
    return sku


def location_by_code(session: Session, code: str) -> Location:
    location = session.exec(select(Location).where(Location.code == code)).first()
    if location is None:
        raise NotFound(f"unknown location {code!r}")
    return location


def sku_code_problem(code: str) -> str | None:
    """Why `code` cannot name a new SKU, in words; None when it can."""
    if not code:
        return "SKU code must not be empty"
    if len(code) > SKU_CODE_MAX_LENGTH:
        return (
            f"SKU code {code[:20]!r}... is {len(code)} characters long "
            f"(at most {SKU_CODE_MAX_LENGTH})"
        )
    for position, character in enumerate(code, start=1):
        problem = _character_problem(character)
        if problem is not None:
            return f"SKU code {code!r} has {problem} at position {position} ({SKU_CODE_RULE})"
    return None


def _character_problem(character: str) -> str | None:
    if character.isspace():
        return f"whitespace ({unicodedata.name(character, repr(character))})"
    category = unicodedata.category(character)
    if category.startswith("C"):
        return f"a control character (U+{ord(character):04X})"
    if category.startswith("L") or category == "Nd" or character in SKU_CODE_PUNCTUATION:
        return None
    return f"{character!r}, which is not allowed"


def validate_sku_code(code: str) -> str:
    """`code` when it may name a new SKU; InvalidRequest saying why otherwise."""
    problem = sku_code_problem(code)
    if problem is not None:
        raise InvalidRequest(problem)
    return code


def upsert_sku(
    session: Session,
    code: str,
    *,
    title: str | None = None,
    barcode: str | None = None,
    safety_stock: int | None = None,
    components: Mapping[str, int] | None = None,
) -> Sku:
    """Create or update a SKU; `components` (code -> quantity) makes it a bundle. A new
    code must pass `validate_sku_code`; an existing one is taken as it is. A new code or
    a new barcode that is a packaging barcode is a Conflict (core/packaging.py)."""
    code = code.strip()
    if not code:
        raise InvalidRequest("SKU code must not be empty")
    if safety_stock is not None and safety_stock < 0:
        raise InvalidRequest(f"safety stock of {code!r} must not be negative")
    sku = session.exec(select(Sku).where(Sku.code == code)).first()
    if sku is None:
        refuse_packaging_barcode(session, validate_sku_code(code), "SKU code")
        sku = Sku(code=code, created_at=clock_of(session).now())
    if barcode and barcode != sku.barcode:
        refuse_packaging_barcode(session, barcode, "barcode")
    if title is not None:
        sku.title = title
    if barcode is not None:
        sku.barcode = barcode or None
    if safety_stock is not None:
        sku.safety_stock = safety_stock
    session.add(sku)
    session.flush()
    if components is not None:
        _set_components(session, sku, components)
    return sku


def _set_components(session: Session, bundle: Sku, components: Mapping[str, int]) -> None:
    assert bundle.id is not None
    if session.exec(
        select(BundleComponent).where(BundleComponent.component_id == bundle.id)
    ).first():
        raise InvalidRequest(f"{bundle.code!r} is a component of a bundle and cannot be one")
    recipe: list[BundleComponent] = []
    for component_code, quantity in components.items():
        if quantity <= 0:
            raise InvalidRequest(f"component {component_code!r} needs a positive quantity")
        if component_code == bundle.code:
            raise InvalidRequest(f"bundle {bundle.code!r} cannot contain itself")
        component = sku_by_code(session, component_code)
        assert component.id is not None
        if component.retired_at is not None:
            raise InvalidRequest(f"component {component_code!r} is retired")
        if bundle_recipes(session, [component.id]):
            raise InvalidRequest(f"component {component_code!r} is itself a bundle")
        recipe.append(
            BundleComponent(bundle_id=bundle.id, component_id=component.id, quantity=quantity)
        )
    session.execute(delete(BundleComponent).where(col(BundleComponent.bundle_id) == bundle.id))
    session.add_all(recipe)
    session.flush()


@dataclass(frozen=True)
class SkuEdit:
    sku: Sku
    changed: tuple[str, ...]
    """The fields that changed (code, title, barcode, safety_stock); () when none did."""
    previous_code: str


def edit_sku(
    session: Session,
    code: str,
    *,
    title: str | None = None,
    barcode: str | None = None,
    safety_stock: int | None = None,
    new_code: str | None = None,
) -> SkuEdit:
    """Change a SKU in place (its row id stays, so its stock, history, listings and order
    lines stay linked). `barcode=""` clears the barcode. A new code must pass
    `validate_sku_code` and be free; a new code or barcode must be no packaging barcode
    (Conflict); a new safety stock marks its listings dirty."""
    sku = _locked_sku(session, code)
    previous_code = sku.code
    if safety_stock is not None and safety_stock < 0:
        raise InvalidRequest(f"safety stock of {sku.code!r} must not be negative")
    wanted: dict[str, str | int | None] = {}
    if new_code is not None:
        wanted["code"] = _free_code(session, sku, new_code.strip())
    if title is not None:
        wanted["title"] = title
    if barcode is not None:
        wanted["barcode"] = barcode.strip() or None
    if safety_stock is not None:
        wanted["safety_stock"] = safety_stock
    changed = tuple(name for name, value in wanted.items() if getattr(sku, name) != value)
    if "code" in changed and new_code is not None:
        refuse_packaging_barcode(session, new_code, "SKU code")
    if "barcode" in changed:
        refuse_packaging_barcode(session, barcode, "barcode")
    for name in changed:
        setattr(sku, name, wanted[name])
    session.add(sku)
    session.flush()
    if "safety_stock" in changed:
        assert sku.id is not None
        mark_listings_dirty(session, [sku.id])
    return SkuEdit(sku, changed, previous_code)


def _free_code(session: Session, sku: Sku, new_code: str) -> str:
    if new_code == sku.code:
        return new_code
    validate_sku_code(new_code)
    if session.exec(select(Sku.id).where(Sku.code == new_code)).first() is not None:
        raise Conflict(f"SKU {new_code!r} exists already: choose another code")
    return new_code


def retire_sku(session: Session, code: str) -> Sku:
    """Stop selling the SKU: every channel is offered 0 (its listings are marked dirty)
    and it takes no stock. Conflict, naming what holds it, while stock of it is on hand,
    open order lines want it, or a bundle still sold contains it."""
    sku = _locked_sku(session, code)
    if sku.retired_at is not None:
        raise Conflict(f"SKU {sku.code!r} is retired already (since {sku.retired_at:%Y-%m-%d})")
    holders = what_holds_sku(session, sku)
    if holders:
        raise Conflict(f"SKU {sku.code!r} cannot be retired: " + "; ".join(holders))
    sku.retired_at = clock_of(session).now()
    session.add(sku)
    session.flush()
    assert sku.id is not None
    mark_listings_dirty(session, [sku.id])
    return sku


def unretire_sku(session: Session, code: str) -> Sku:
    """Sell a retired SKU again: it takes stock, and its listings get its quantity."""
    sku = _locked_sku(session, code)
    if sku.retired_at is None:
        raise Conflict(f"SKU {sku.code!r} is not retired")
    sku.retired_at = None
    session.add(sku)
    session.flush()
    assert sku.id is not None
    mark_listings_dirty(session, [sku.id])
    return sku


def what_holds_sku(session: Session, sku: Sku) -> list[str]:
    """What keeps the SKU in use, in words: stock on hand, open order lines wanting it
    (itself or a bundle of it), bundles still sold that contain it. [] when nothing."""
    assert sku.id is not None
    holders = [
        _stock_on_hand(session, sku.id),
        _open_lines(session, sku.id),
        _selling_bundles(session, sku.id),
    ]
    return [holder for holder in holders if holder]


def _stock_on_hand(session: Session, sku_id: int) -> str:
    rows = session.exec(
        select(Location.code, StockLevel.on_hand)
        .join(Location, col(Location.id) == StockLevel.location_id)
        .where(StockLevel.sku_id == sku_id, col(StockLevel.on_hand) > 0)
        .order_by(col(Location.code))
    ).all()
    if not rows:
        return ""
    where = ", ".join(f"{on_hand} at {location}" for location, on_hand in rows)
    return f"stock is on hand ({where}): count it to 0 or move it first"


def _open_lines(session: Session, sku_id: int) -> str:
    wanting = {sku_id} | bundles_containing(session, [sku_id])
    open_units = OrderLine.quantity - OrderLine.quantity_shipped - OrderLine.quantity_cancelled
    rows = session.exec(
        select(Channel.name, Order.external_id, open_units)
        .join(Order, col(Order.id) == OrderLine.order_id)
        .join(Channel, col(Channel.id) == Order.channel_id)
        .where(
            col(OrderLine.sku_id).in_(wanting),
            col(Order.status).in_([status for status in OrderStatus if status.holds_stock]),
            col(Order.fulfilled_by_channel).is_(False),
            open_units > 0,
        )
        .order_by(col(Order.placed_at), col(Order.id))
    ).all()
    if not rows:
        return ""
    named = ", ".join(
        f"{channel} order {order} ({units} unit(s))"
        for channel, order, units in rows[:_NAMED_HOLDERS]
    )
    more = f" and {len(rows) - _NAMED_HOLDERS} more" if len(rows) > _NAMED_HOLDERS else ""
    return f"open order lines want it: {named}{more}; ship or cancel them first"


def _selling_bundles(session: Session, sku_id: int) -> str:
    codes = session.exec(
        select(Sku.code)
        .join(BundleComponent, col(BundleComponent.bundle_id) == Sku.id)
        .where(BundleComponent.component_id == sku_id, col(Sku.retired_at).is_(None))
        .order_by(col(Sku.code))
    ).all()
    if not codes:
        return ""
    return f"bundle(s) {', '.join(codes)} contain it: retire them first"


def _locked_sku(session: Session, code: str) -> Sku:
    sku = session.exec(
        select(Sku)
        .where(Sku.code == code)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if sku is None:
        raise NotFound(f"unknown SKU {code!r}")
    return sku


_RECIPES = (
    select(BundleComponent.bundle_id, BundleComponent.component_id, BundleComponent.quantity)
    .where(col(BundleComponent.bundle_id).in_(bindparam("bundle_ids", expanding=True)))
    .order_by(col(BundleComponent.component_id))
)
"""Built once: every push of stock asks it."""


def bundle_recipes(session: Session, sku_ids: Iterable[int]) -> dict[int, list[tuple[int, int]]]:
    """For each bundle among `sku_ids`: its (component id, quantity per bundle) pairs."""
    ids = list(set(sku_ids))
    if not ids:
        return {}
    recipes: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for bundle_id, component_id, quantity in session.connection().execute(
        _RECIPES, {"bundle_ids": ids}
    ):
        recipes[bundle_id].append((component_id, quantity))
    return dict(recipes)


def bundles_containing(session: Session, component_ids: Iterable[int]) -> set[int]:
    ids = list(set(component_ids))
    if not ids:
        return set()
    rows = session.exec(
        select(BundleComponent.bundle_id).where(col(BundleComponent.component_id).in_(ids))
    )
    return set(rows)


def sync_locations(session: Session, specs: Sequence[LocationSpec]) -> list[Location]:
    """Make the locations table agree with the configured locations (none are deleted)."""
    existing = {loc.code: loc for loc in session.exec(select(Location))}
    result = []
    for spec in specs:
        location = existing.get(spec.code) or Location(code=spec.code)
        if location.id is None or (location.name, location.kind) != (spec.name, spec.kind):
            location.name, location.kind = spec.name, spec.kind
            session.add(location)
        result.append(location)
    session.flush()
    return result
