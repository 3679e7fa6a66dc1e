"""SKUs, bundle recipes and locations: lookups and upserts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, delete, select

from core.errors import InvalidRequest, NotFound
from core.models import BundleComponent, Location, Sku
from core.types import LocationKind


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


def upsert_sku(
    session: Session,
    code: str,
    *,
    title: str | None = None,
    barcode: str | None = None,
    safety_stock: int | None = None,
    components: Mapping[str, int] | None = None,
) -> Sku:
    """Create or update a SKU; `components` (code -> quantity) makes it a bundle."""
    code = code.strip()
    if not code:
        raise InvalidRequest("SKU code must not be empty")
    if safety_stock is not None and safety_stock < 0:
        raise InvalidRequest(f"safety stock of {code!r} must not be negative")
    sku = session.exec(select(Sku).where(Sku.code == code)).first()
    if sku is None:
        sku = Sku(code=code)
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
        if bundle_recipes(session, [component.id]):
            raise InvalidRequest(f"component {component_code!r} is itself a bundle")
        recipe.append(
            BundleComponent(bundle_id=bundle.id, component_id=component.id, quantity=quantity)
        )
    session.execute(delete(BundleComponent).where(col(BundleComponent.bundle_id) == bundle.id))
    session.add_all(recipe)
    session.flush()


def bundle_recipes(session: Session, sku_ids: Iterable[int]) -> dict[int, list[tuple[int, int]]]:
    """For each bundle among `sku_ids`: its (component id, quantity per bundle) pairs."""
    ids = list(set(sku_ids))
    if not ids:
        return {}
    recipes: dict[int, list[tuple[int, int]]] = defaultdict(list)
    rows = session.exec(
        select(BundleComponent)
        .where(col(BundleComponent.bundle_id).in_(ids))
        .order_by(col(BundleComponent.component_id))
    )
    for row in rows:
        recipes[row.bundle_id].append((row.component_id, row.quantity))
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
