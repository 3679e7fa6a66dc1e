"""Why a channel is offered what it is of a SKU: core/availability.py's computation, step
by step, in words an operator reads on the console's SKU page.

`free 18 at main - safety 2 = 16 → allocation 50% = 8 → buffer 1 = 7`: the free units
over the channel's selling locations minus the SKU's safety stock (a bundle: the fewest
whole bundles its components make, minus the bundle's own safety stock), then the
channel's rules in core's order (allocation percent, buffer, zero_below,
max_quantity, never below 0), each named only when it changed the number. The figure
the steps arrive at is core's `available_to_sell`, computed here a second time only to
be told; tests hold the two equal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from omnisync.core.availability import StockRules
from omnisync.core.catalog import bundle_recipes
from omnisync.core.channels import selling_locations
from omnisync.core.models import Channel, Sku, StockLevel

ARROW = " → "
MINUS = "\u2212"
"""The minus sign of the steps (typeset, not a hyphen)."""


@dataclass(frozen=True)
class AvailabilityExplained:
    """One channel's figure for one SKU and the steps that produced it."""

    channel: str
    available: int
    steps: tuple[str, ...]

    @property
    def text(self) -> str:
        return ARROW.join(self.steps)


@dataclass(frozen=True)
class _Stocked:
    code: str
    safety: int
    retired: bool


def explain_availability(
    session: Session, sku: Sku, channels: Sequence[Channel]
) -> list[AvailabilityExplained]:
    """For each of `channels`, what it may offer of `sku` and why."""
    assert sku.id is not None
    recipe = bundle_recipes(session, [sku.id]).get(sku.id, [])
    ids = {sku.id} | {component for component, _ in recipe}
    skus = {
        row.id: _Stocked(row.code, row.safety_stock or 0, row.retired_at is not None)
        for row in session.exec(select(Sku).where(col(Sku.id).in_(ids)))
        if row.id is not None
    }
    free: dict[int, dict[int, int]] = defaultdict(dict)
    for sku_id, location_id, on_hand, reserved in session.exec(
        select(
            StockLevel.sku_id, StockLevel.location_id, StockLevel.on_hand, StockLevel.reserved
        ).where(col(StockLevel.sku_id).in_(ids))
    ):
        free[sku_id][location_id] = on_hand - reserved
    explained = []
    for channel in channels:
        # Each location once, as core sums over the set of them.
        locations = list(
            dict.fromkeys((where.id, where.code) for where in selling_locations(session, channel))
        )
        if skus[sku.id].retired:
            base, steps = 0, ["retired: offered as 0"]
        elif recipe:
            base, steps = _bundle_base(skus, free, sku.id, recipe, locations)
        else:
            base, step = _stocked_base(skus[sku.id], free[sku.id], locations)
            steps = [step]
        quantity = base
        if base > 0:
            quantity = _apply_rules(StockRules.from_mapping(channel.stock_rules), base, steps)
        explained.append(AvailabilityExplained(channel.name, quantity, tuple(steps)))
    return explained


def _free_words(
    by_location: dict[int, int], locations: Sequence[tuple[int, str]]
) -> tuple[int, str]:
    """The free units over the channel's locations, and how they are made up."""
    if not locations:
        return 0, "no location to sell from: free 0"
    parts = [(code, by_location[where]) for where, code in locations if by_location.get(where)]
    total = sum(units for _, units in parts)
    if not parts:
        return 0, f"free 0 at {', '.join(code for _, code in locations)}"
    if len(parts) == 1:
        return total, f"free {total} at {parts[0][0]}"
    return total, f"free {total} ({' + '.join(f'{units} at {code}' for code, units in parts)})"


def _less_safety(free: int, safety: int, words: str) -> tuple[int, str]:
    """core's base: free minus safety stock, never below 0."""
    base = max(free - safety, 0)
    if safety:
        return base, f"{words} {MINUS} safety {safety} = {base}"
    if base != free:
        return base, f"{words} = {base}"
    return base, words


def _stocked_base(
    stocked: _Stocked, by_location: dict[int, int], locations: Sequence[tuple[int, str]]
) -> tuple[int, str]:
    total, words = _free_words(by_location, locations)
    return _less_safety(total, stocked.safety, words)


def _bundle_base(
    skus: dict[int, _Stocked],
    free: dict[int, dict[int, int]],
    bundle_id: int,
    recipe: Sequence[tuple[int, int]],
    locations: Sequence[tuple[int, str]],
) -> tuple[int, list[str]]:
    parts, whole = [], None
    for component_id, per_bundle in recipe:
        component = skus[component_id]
        if component.retired:
            base, words = 0, "retired"
        else:
            base, words = _stocked_base(component, free[component_id], locations)
        bundles = base // per_bundle
        whole = bundles if whole is None else min(whole, bundles)
        parts.append(f"{component.code}: {words} ÷ {per_bundle} = {bundles}")
    made = whole or 0
    base, words = _less_safety(
        made, skus[bundle_id].safety, f"bundle: fewest of ({'; '.join(parts)}) = {made}"
    )
    return base, [words]


def _apply_rules(rules: StockRules, base: int, steps: list[str]) -> int:
    """StockRules.apply, naming each rule that changed the number."""
    quantity = max(base, 0) * rules.allocation_percent // 100
    if quantity != base:
        steps.append(f"allocation {rules.allocation_percent}% = {quantity}")
    if rules.buffer:
        quantity -= rules.buffer
        steps.append(f"buffer {rules.buffer} = {quantity}")
    if rules.zero_below and quantity < rules.zero_below:
        steps.append(f"under zero_below {rules.zero_below} = 0")
        quantity = 0
    if rules.max_quantity is not None and quantity > rules.max_quantity:
        quantity = rules.max_quantity
        steps.append(f"max {rules.max_quantity} = {quantity}")
    if quantity < 0:
        quantity = 0
        steps.append("never below 0 = 0")
    return quantity
