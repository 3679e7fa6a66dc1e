"""core/routing.py: the routing rules on free stock given as a table, and
core/addresses.py ship_to_country over each channel's address shape."""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import given
from hypothesis import strategies as st

from omnisync.core.addresses import ship_to_country
from omnisync.core.routing import (
    FreeStock,
    RouteLine,
    RouteLocation,
    RoutingRules,
    decide_route,
)
from omnisync.core.types import SplitPolicy

MAIN, EU, UK = RouteLocation(1, "main"), RouteLocation(2, "eu"), RouteLocation(3, "uk")
A, B, C = 10, 20, 30
EUROPE = RoutingRules(
    prefer=((frozenset({"DE", "FR"}), ("eu", "uk")), (frozenset({"GB"}), ("uk",))),
    priority=("main", "eu", "uk"),
)


def free_from(table: Mapping[tuple[int, int], int]) -> FreeStock:
    return lambda sku, location: table.get((sku, location), 0)


def line(key: str, *needs: tuple[int, int]) -> RouteLine:
    return RouteLine(key, key, needs)


def test_nothing_to_place_or_nowhere_to_place_it_is_no_route() -> None:
    assert decide_route([], [MAIN], free_from({}), None, RoutingRules()) is None
    assert decide_route([line("a", (A, 1))], [], free_from({}), None, RoutingRules()) is None
    assert decide_route([line("a")], [MAIN], free_from({}), None, RoutingRules()) is None


def test_the_countrys_preference_ranks_the_locations_that_can_ship_it_whole() -> None:
    stock = free_from({(A, 1): 5, (A, 2): 5, (A, 3): 5})
    lines = [line("a", (A, 2))]
    allowed = [MAIN, EU, UK]
    for country, where in (("FR", EU), ("GB", UK)):
        decision = decide_route(lines, allowed, stock, country, EUROPE)
        assert decision is not None
        assert decision.lines == {"a": where}
    us = decide_route(lines, allowed, stock, "US", EUROPE)
    assert us is not None
    assert us.lines == {"a": MAIN}
    assert us.reason == "main can ship the whole order; first in priority over eu, uk"


def test_a_location_the_channel_does_not_sell_from_is_never_chosen() -> None:
    stock = free_from({(A, 2): 5, (A, 1): 1})
    decision = decide_route([line("a", (A, 2))], [MAIN], stock, "DE", EUROPE)
    assert decision is not None
    assert decision.lines == {"a": MAIN}
    assert decision.short_units == 1


def test_never_keeps_it_whole_where_most_units_are_and_counts_the_shortfall() -> None:
    rules = RoutingRules(split=SplitPolicy.NEVER, priority=("main", "eu"))
    stock = free_from({(A, 1): 1, (B, 2): 3})
    decision = decide_route([line("a", (A, 1)), line("b", (B, 3))], [MAIN, EU], stock, None, rules)
    assert decision is not None
    assert decision.lines == {"a": EU, "b": EU}
    assert decision.short_units == 1
    assert "keeps it whole at eu, which has 3 of its 4 unit(s) (1 oversold there)" in (
        decision.reason
    )


def test_when_needed_uses_as_few_locations_as_it_can() -> None:
    # main has a and b, eu has b and c, uk has c only: main + eu, never uk.
    stock = free_from({(A, 1): 1, (B, 1): 1, (B, 2): 1, (C, 2): 1, (C, 3): 1})
    lines = [line("a", (A, 1)), line("b", (B, 1)), line("c", (C, 1))]
    decision = decide_route(lines, [UK, EU, MAIN], stock, None, RoutingRules())
    assert decision is not None
    assert {location.code for location in decision.lines.values()} == {"main", "eu"}
    assert decision.lines["a"] == MAIN
    assert decision.lines["c"] == EU
    assert decision.short_units == 0


def test_lines_of_one_sku_do_not_count_the_same_units_twice() -> None:
    # x has 3 A; y has 2 A and 1 B: y cannot ship both A lines, x ships one of them.
    x, y = RouteLocation(1, "x"), RouteLocation(2, "y")
    stock = free_from({(A, 1): 3, (A, 2): 2, (B, 2): 1})
    lines = [line("a1", (A, 2)), line("a2", (A, 2)), line("b", (B, 1))]
    decision = decide_route(lines, [x, y], stock, None, RoutingRules())
    assert decision is not None
    assert decision.short_units == 0
    assert sorted(location.code for location in decision.lines.values()) == ["x", "y", "y"]


def test_a_bundle_line_is_whole_only_where_every_component_is() -> None:
    stock = free_from({(A, 1): 2, (B, 1): 0, (A, 2): 2, (B, 2): 1})
    kit = line("kit", (A, 2), (B, 1))
    decision = decide_route([kit], [MAIN, EU], stock, None, RoutingRules())
    assert decision is not None
    assert decision.lines == {"kit": EU}


def test_rules_survive_the_trip_through_the_channel_row() -> None:
    assert RoutingRules.from_mapping(EUROPE.as_mapping()) == EUROPE
    assert RoutingRules.from_mapping(None) == RoutingRules()


LOCATIONS = [MAIN, EU, UK]


@given(
    table=st.dictionaries(
        st.tuples(st.sampled_from([A, B, C]), st.sampled_from([1, 2, 3])),
        st.integers(min_value=-2, max_value=4),
    ),
    wanted=st.lists(
        st.tuples(st.sampled_from([A, B, C]), st.integers(min_value=1, max_value=4)),
        min_size=1,
        max_size=4,
    ),
    allowed=st.lists(st.sampled_from(LOCATIONS), min_size=1, max_size=3, unique=True),
    split=st.sampled_from(SplitPolicy),
    country=st.sampled_from([None, "DE", "GB", "US"]),
)
def test_every_line_goes_to_an_allowed_location_and_a_whole_order_is_never_split(
    table: dict[tuple[int, int], int],
    wanted: list[tuple[int, int]],
    allowed: list[RouteLocation],
    split: SplitPolicy,
    country: str | None,
) -> None:
    lines = [line(f"l{index}", need) for index, need in enumerate(wanted)]
    stock = free_from(table)
    rules = RoutingRules(split=split, prefer=EUROPE.prefer, priority=EUROPE.priority)
    decision = decide_route(lines, allowed, stock, country, rules)
    assert decision is not None
    assert set(decision.lines) == {item.key for item in lines}
    assert set(decision.lines.values()) <= set(allowed)
    assert decision.locations == list(dict.fromkeys(decision.lines[i.key] for i in lines))
    needs: dict[int, int] = {}
    for sku, units in wanted:
        needs[sku] = needs.get(sku, 0) + units
    whole = [
        location
        for location in allowed
        if all(stock(sku, location.id) >= units for sku, units in needs.items())
    ]
    if whole or split is SplitPolicy.NEVER:
        assert len(decision.locations) == 1
    if whole:
        assert decision.locations[0] in whole
        assert decision.short_units == 0
    # What the route lacks is exactly what its locations lack for the lines placed there.
    placed: dict[tuple[int, int], int] = {}
    for item in lines:
        for sku, units in item.needs:
            key = (sku, decision.lines[item.key].id)
            placed[key] = placed.get(key, 0) + units
    lacking = sum(max(units - max(stock(*key), 0), 0) for key, units in placed.items())
    assert decision.short_units == lacking


def test_ship_to_country_reads_every_channels_address_shape() -> None:
    assert ship_to_country({"countryCodeV2": "DE"}) == "DE"  # Shopify GraphQL
    assert ship_to_country({"country_code": "fr"}) == "FR"  # Shopify REST
    assert ship_to_country({"countryCode": "US"}) == "US"  # Amazon
    assert ship_to_country({"contactAddress": {"countryCode": "GB"}}) == "GB"  # eBay
    assert ship_to_country({"country": "IT"}) == "IT"  # WooCommerce, sandbox
    assert ship_to_country({"country": "Germany"}) is None
    assert ship_to_country(None) is None
    assert ship_to_country({}) is None
