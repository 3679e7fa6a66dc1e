"""Routing: which location ships an order, decided once when it comes in, with its reason.

The rules (hub.yaml `routing:`, carried on each channel's row) are applied in order:

1. only the locations the channel sells from (its `locations:`);
2. fewest splits: a location that can ship the whole order from its free stock wins;
3. among several that can, the ranked preference for the ship-to country or region;
4. then the location priority.

When no location can ship it all, `split: never` keeps the order whole at the location
holding most of it (oversold there for the rest, waiting for stock at that location);
`split: when_needed` ships each line from the location that fits it, using as few
locations as it can. The decision is stored on the order (`Order.route`) and its lines
reserve where it says; `orders route` moves an order by hand (core/rerouting.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from omnisync.core.types import RouteSource, SplitPolicy

BUILT_IN_REGIONS: Mapping[str, Sequence[str]] = {
    "EU": (
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    ),
}  # fmt: skip
"""The member states of the European Union, as ISO 3166 codes (Greece as GR)."""


@dataclass(frozen=True)
class RoutingRules:
    split: SplitPolicy = SplitPolicy.WHEN_NEEDED
    prefer: tuple[tuple[frozenset[str], tuple[str, ...]], ...] = ()
    """(countries, locations best first): the first rule naming the ship-to country."""
    priority: tuple[str, ...] = ()
    """Location codes, first wins the last tie; locations not named come after, in the
    channel's order."""

    def as_mapping(self) -> dict[str, Any]:
        return {
            "split": self.split.value,
            "prefer": [
                {"countries": sorted(countries), "locations": list(locations)}
                for countries, locations in self.prefer
            ],
            "priority": list(self.priority),
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> RoutingRules:
        if not data:
            return cls()
        return cls(
            split=SplitPolicy(data.get("split", SplitPolicy.WHEN_NEEDED)),
            prefer=tuple(
                (frozenset(rule.get("countries", ())), tuple(rule.get("locations", ())))
                for rule in data.get("prefer", ())
            ),
            priority=tuple(data.get("priority", ())),
        )

    def preference(self, country: str | None) -> tuple[str, ...] | None:
        """The ranked locations for `country`, None when no rule names it."""
        if country is None:
            return None
        return next((locs for countries, locs in self.prefer if country in countries), None)


@dataclass(frozen=True)
class RouteLine:
    """One order line to place: what it needs of each stocked SKU."""

    key: str
    """The channel's line id."""
    label: str
    """How a person names it (its SKU)."""
    needs: tuple[tuple[int, int], ...]
    """(stocked SKU id, units)."""


@dataclass(frozen=True)
class RouteLocation:
    id: int
    code: str


@dataclass
class RouteDecision:
    lines: dict[str, RouteLocation]
    """Line key -> where it ships from."""
    reason: str
    split: SplitPolicy
    short_units: int = 0
    locations: list[RouteLocation] = field(default_factory=list)

    def as_route(self, source: RouteSource, at: datetime) -> dict[str, Any]:
        """What Order.route stores."""
        return {
            "locations": [location.code for location in self.locations],
            "lines": {key: location.code for key, location in self.lines.items()},
            "reason": self.reason,
            "split": self.split.value,
            "source": source.value,
            "at": at.isoformat(),
        }


FreeStock = Callable[[int, int], int]
"""Free units of (stocked SKU id, location id)."""


def decide_route(
    lines: Sequence[RouteLine],
    allowed: Sequence[RouteLocation],
    free: FreeStock,
    country: str | None,
    rules: RoutingRules,
) -> RouteDecision | None:
    """Where each line ships from and why; None when there is nothing to place or
    nowhere to place it."""
    lines = [line for line in lines if line.needs]
    if not lines or not allowed:
        return None
    rank = _ranking(allowed, country, rules)
    preferred = rules.preference(country)

    def units_at(location: RouteLocation, some: Sequence[RouteLine]) -> int:
        needs = _needs(some)
        return sum(min(max(free(sku, location.id), 0), n) for sku, n in needs.items())

    total = sum(_needs(lines).values())
    whole = [loc for loc in allowed if units_at(loc, lines) == total]
    if whole:
        best = min(whole, key=rank)
        reason = f"{best.code} can ship the whole order" + _why_among(
            best, whole, country, preferred
        )
        return _decided(lines, {line.key: best for line in lines}, rules.split, 0, reason)
    if rules.split is SplitPolicy.NEVER:
        best = min(allowed, key=lambda loc: (-units_at(loc, lines), rank(loc)))
        held = units_at(best, lines)
        short = total - held
        reason = (
            f"no location can ship the whole order; split: never keeps it whole at "
            f"{best.code}, which has {held} of its {total} unit(s) ({short} oversold there)"
        )
        return _decided(lines, {line.key: best for line in lines}, rules.split, short, reason)
    return _split(lines, allowed, rank, free, rules)


def _needs(lines: Sequence[RouteLine]) -> dict[int, int]:
    """Units of each stocked SKU the lines need together."""
    needs: dict[int, int] = {}
    for line in lines:
        for sku, units in line.needs:
            needs[sku] = needs.get(sku, 0) + units
    return needs


def _split(
    lines: Sequence[RouteLine],
    allowed: Sequence[RouteLocation],
    rank: Callable[[RouteLocation], tuple[int, int]],
    free: FreeStock,
    rules: RoutingRules,
) -> RouteDecision:
    """Greedy fewest locations: take the location that ships most of the lines left
    whole, until none ships any; each line left goes where most of it is. Stock a line
    placed takes is not there for the next (two lines of one SKU may not both count
    the same units)."""
    taken: dict[tuple[int, int], int] = {}

    def left_at(sku: int, location: RouteLocation) -> int:
        return max(free(sku, location.id) - taken.get((sku, location.id), 0), 0)

    def take(location: RouteLocation, line: RouteLine) -> int:
        """Place the line's units there; returns how many it lacks."""
        lacking = 0
        for sku, units in line.needs:
            got = min(left_at(sku, location), units)
            taken[(sku, location.id)] = taken.get((sku, location.id), 0) + got
            lacking += units - got
        return lacking

    def fitting(location: RouteLocation, some: Sequence[RouteLine]) -> list[RouteLine]:
        """The lines the location ships whole, one after another, in line order."""
        spare: dict[int, int] = {}
        fit = []
        for line in some:
            needs = _needs([line])
            if all(spare.get(sku, left_at(sku, location)) >= n for sku, n in needs.items()):
                for sku, n in needs.items():
                    spare[sku] = spare.get(sku, left_at(sku, location)) - n
                fit.append(line)
        return fit

    placed: dict[str, RouteLocation] = {}
    left = list(lines)
    short = 0
    while left:
        best = min(
            allowed,
            key=lambda loc: (
                -len(fitting(loc, left)),
                -sum(min(left_at(sku, loc), n) for sku, n in _needs(left).items()),
                rank(loc),
            ),
        )
        shipped = fitting(best, left)
        if not shipped:
            break
        for line in shipped:
            take(best, line)
            placed[line.key] = best
        left = [line for line in left if line.key not in placed]
    for line in left:
        best = min(
            allowed,
            key=lambda loc: (-sum(min(left_at(sku, loc), n) for sku, n in line.needs), rank(loc)),
        )
        placed[line.key] = best
        short += take(best, line)
    used = _in_order(placed, lines)
    if len(used) == 1:
        reason = f"no location can ship the whole order; {used[0].code} has the most of it"
    else:
        parts = [
            f"{loc.code} ({', '.join(one.label for one in lines if placed[one.key] == loc)})"
            for loc in used
        ]
        reason = "no location can ship the whole order; split: when_needed splits it: " + (
            " and ".join(parts)
        )
    if short:
        reason += f" ({short} unit(s) oversold)"
    return _decided(lines, placed, rules.split, short, reason)


def _decided(
    lines: Sequence[RouteLine],
    placed: dict[str, RouteLocation],
    split: SplitPolicy,
    short: int,
    reason: str,
) -> RouteDecision:
    return RouteDecision(placed, reason, split, short, _in_order(placed, lines))


def _in_order(
    placed: Mapping[str, RouteLocation], lines: Sequence[RouteLine]
) -> list[RouteLocation]:
    """The locations used, in the order of the lines that first use them."""
    used: list[RouteLocation] = []
    for line in lines:
        location = placed[line.key]
        if location not in used:
            used.append(location)
    return used


def _ranking(
    allowed: Sequence[RouteLocation], country: str | None, rules: RoutingRules
) -> Callable[[RouteLocation], tuple[int, int]]:
    """Lower is better: (place in the country's preference, place in the priority)."""
    preferred = rules.preference(country) or ()
    order = [*rules.priority, *(loc.code for loc in allowed if loc.code not in rules.priority)]

    def rank(location: RouteLocation) -> tuple[int, int]:
        by_country = (
            preferred.index(location.code) if location.code in preferred else len(preferred)
        )
        return by_country, order.index(location.code)

    return rank


def _why_among(
    best: RouteLocation,
    whole: Sequence[RouteLocation],
    country: str | None,
    preferred: tuple[str, ...] | None,
) -> str:
    if len(whole) == 1:
        return " (the only one that can)"
    others = ", ".join(loc.code for loc in whole if loc != best)
    if preferred and best.code in preferred:
        beaten = [loc for loc in whole if loc != best]
        mine = preferred.index(best.code)
        if any(loc.code not in preferred or preferred.index(loc.code) > mine for loc in beaten):
            return f"; preferred for ship-to {country} over {others}"
    return f"; first in priority over {others}"
