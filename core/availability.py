"""Available to sell: what a channel may offer of a SKU (docs/architecture.md).

free(S, L) = on_hand - reserved over the channel's locations; base = sum(free)
minus the SKU's safety stock; a bundle's base is the minimum over its
components of floor(component base / quantity per bundle), minus the bundle's
own safety stock. The channel's rules then apply once, in order: allocation
percent (floor), buffer, zero_below, max_quantity; the result is never below 0.
A retired SKU (core/catalog.py) is offered as 0, and so is a bundle with a retired
component.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select

from omnisync.core.catalog import bundle_recipes
from omnisync.core.channels import selling_location_ids
from omnisync.core.models import Channel, Sku, StockLevel


@dataclass(frozen=True)
class StockRules:
    allocation_percent: int = 100
    buffer: int = 0
    zero_below: int = 0
    max_quantity: int | None = None

    @classmethod
    def from_mapping(cls, rules: Mapping[str, Any] | None) -> StockRules:
        return cls(**dict(rules or {}))

    def apply(self, base: int) -> int:
        quantity = max(base, 0) * self.allocation_percent // 100
        quantity -= self.buffer
        if quantity < self.zero_below:
            quantity = 0
        if self.max_quantity is not None:
            quantity = min(quantity, self.max_quantity)
        return max(quantity, 0)


# Built once (every push asks them), the id lists bound as expanding parameters.
_FREE = (
    select(StockLevel.sku_id, func.sum(StockLevel.on_hand - StockLevel.reserved))
    .where(
        col(StockLevel.sku_id).in_(bindparam("sku_ids", expanding=True)),
        col(StockLevel.location_id).in_(bindparam("location_ids", expanding=True)),
    )
    .group_by(col(StockLevel.sku_id))
)
_SAFETY = select(Sku.id, Sku.safety_stock, Sku.retired_at).where(
    col(Sku.id).in_(bindparam("sku_ids", expanding=True))
)


def free_by_sku(
    session: Session, sku_ids: Iterable[int], location_ids: Iterable[int]
) -> dict[int, int]:
    """Sum of on_hand - reserved per SKU over the given locations (may be negative)."""
    ids, locations = list(set(sku_ids)), list(set(location_ids))
    if not ids or not locations:
        return {}
    rows = session.connection().execute(_FREE, {"sku_ids": ids, "location_ids": locations})
    return {sku_id: int(free or 0) for sku_id, free in rows}


def base_availability(
    session: Session, sku_ids: Iterable[int], location_ids: Iterable[int]
) -> dict[int, int]:
    """Free stock minus safety stock per SKU, bundles resolved, before channel rules."""
    ids = set(sku_ids)
    if not ids:
        return {}
    recipes = bundle_recipes(session, ids)
    stocked = (ids - recipes.keys()) | {c for recipe in recipes.values() for c, _ in recipe}
    locations = list(location_ids)
    free = free_by_sku(session, stocked, locations)
    safety: dict[int, int] = {}
    retired: set[int] = set()
    for sku_id, safety_stock, retired_at in session.connection().execute(
        _SAFETY, {"sku_ids": list(stocked | recipes.keys())}
    ):
        safety[sku_id] = safety_stock or 0
        if retired_at is not None:
            retired.add(sku_id)
    base: dict[int, int] = defaultdict(int)
    for sku_id in stocked - retired:
        base[sku_id] = max(free.get(sku_id, 0) - safety.get(sku_id, 0), 0)
    result = {sku_id: base[sku_id] for sku_id in ids - recipes.keys()}
    for bundle_id, recipe in recipes.items():
        whole_bundles = min(base[component] // per_bundle for component, per_bundle in recipe)
        result[bundle_id] = max(whole_bundles - safety.get(bundle_id, 0), 0)
    return {sku_id: 0 if sku_id in retired else quantity for sku_id, quantity in result.items()}


def available_to_sell(session: Session, channel: Channel, sku_ids: Iterable[int]) -> dict[int, int]:
    """What `channel` may offer of each SKU, with its stock rules applied."""
    rules = StockRules.from_mapping(channel.stock_rules)
    base = base_availability(session, sku_ids, selling_location_ids(session, channel))
    return {sku_id: rules.apply(quantity) for sku_id, quantity in base.items()}
