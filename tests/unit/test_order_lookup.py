"""Reading an order reference and choosing the one order it names (hub/order_lookup.py)."""

from __future__ import annotations

import pytest

from omnisync.core.errors import InvalidRequest, NotFound
from omnisync.hub.order_lookup import (
    AmbiguousOrder,
    OrderCandidate,
    choose_order,
    read_order_reference,
    ways_it_matches,
)

SHOPIFY_1001 = OrderCandidate(7, "shopify-eu", "gid://shopify/Order/1001", "#1001")
SHOPIFY_US_1001 = OrderCandidate(8, "shopify-us", "gid://shopify/Order/555", "#1001")
AMAZON = OrderCandidate(9, "amazon", "111-2222222-3333333", "111-2222222-3333333")
HUB_1001 = OrderCandidate(1001, "sandbox", "SB-000042", "SB-000042")


def choose(reference: str, *candidates: OrderCandidate) -> OrderCandidate:
    return choose_order(read_order_reference(reference), candidates)


@pytest.mark.parametrize(
    "reference", ["#1001", "1001", " #1001 ", "gid://shopify/Order/1001", "7", "id:7"]
)
def test_a_shopify_order_by_hub_id_order_id_name_or_number(reference: str) -> None:
    assert choose(reference, SHOPIFY_1001, AMAZON) == SHOPIFY_1001


def test_an_amazon_order_by_its_order_id() -> None:
    assert choose("111-2222222-3333333", SHOPIFY_1001, AMAZON) == AMAZON


def test_a_hub_id_reads_as_a_number_and_a_hash_never_does() -> None:
    reference = read_order_reference("1001")
    assert (reference.hub_id, reference.hub_id_only) == (1001, False)
    assert set(reference.channel_forms) == {"1001", "#1001"}
    hashed = read_order_reference("#1001")
    assert hashed.hub_id is None
    assert set(hashed.channel_forms) == {"#1001", "1001"}
    only = read_order_reference("id:1001")
    assert (only.hub_id, only.hub_id_only, only.channel_forms) == (1001, True, ())
    assert read_order_reference(str(2**63)).hub_id is None  # beyond any row id


def test_one_order_matching_several_ways_is_that_order() -> None:
    same = OrderCandidate(1001, "shop", "gid://shopify/Order/1001", "#1001")
    assert choose("1001", same) == same
    assert ways_it_matches(read_order_reference("1001"), same) == ["hub id", "order name"]


def test_a_number_naming_a_hub_id_and_another_orders_name_is_refused_listing_both() -> None:
    with pytest.raises(AmbiguousOrder) as refused:
        choose("1001", SHOPIFY_1001, HUB_1001)
    message = str(refused.value)
    assert "'1001' names 2 orders" in message
    assert "id:7: shopify-eu order #1001 (gid://shopify/Order/1001), by its order name" in message
    assert "id:1001: sandbox order SB-000042, by its hub id" in message
    assert "id:N" in message
    assert isinstance(refused.value, InvalidRequest)
    # Each is still reachable on its own.
    assert choose("#1001", SHOPIFY_1001, HUB_1001) == SHOPIFY_1001
    assert choose("id:1001", SHOPIFY_1001, HUB_1001) == HUB_1001


def test_the_same_name_on_two_channels_is_refused_listing_both() -> None:
    with pytest.raises(AmbiguousOrder) as refused:
        choose("#1001", SHOPIFY_1001, SHOPIFY_US_1001)
    message = str(refused.value)
    assert "id:7: shopify-eu order #1001" in message
    assert "id:8: shopify-us order #1001 (gid://shopify/Order/555)" in message
    assert choose("id:8", SHOPIFY_1001, SHOPIFY_US_1001) == SHOPIFY_US_1001


@pytest.mark.parametrize("reference", ["#9999", "9999", "id:7x", "id:", "", "  "])
def test_nothing_named_is_not_found(reference: str) -> None:
    with pytest.raises(NotFound):
        choose(reference, SHOPIFY_1001, AMAZON)


def test_not_found_says_every_way_an_order_is_named() -> None:
    with pytest.raises(NotFound) as missing:
        choose("#9999", SHOPIFY_1001)
    assert str(missing.value) == (
        "no order with id or channel order id '#9999', nor with that order name or number"
    )
