"""Shopify variants to listings: every variant is a listing, one without a SKU under the
name its order lines carry (the variant's own id)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omnisync.connectors.shopify.mapping import (
    listing_from_variant,
    order_from_node,
    order_from_webhook,
)

FIXTURES = Path(__file__).parents[1] / "contract" / "fixtures" / "shopify"
GIFT_WRAP = "gid://shopify/ProductVariant/103"


def variants() -> list[dict[str, Any]]:
    page = json.loads((FIXTURES / "variants_page.json").read_text())
    nodes: list[dict[str, Any]] = page["data"]["productVariants"]["nodes"]
    return nodes


def test_every_variant_of_a_page_is_a_listing_with_a_key() -> None:
    listings = [listing_from_variant(node) for node in variants()]
    assert [item.key for item in listings] == ["MUG", "LID", f"shopify:{GIFT_WRAP}"]


def test_a_variant_with_an_empty_sku_is_kept_under_its_own_id() -> None:
    node = {**variants()[2], "sku": ""}
    listing = listing_from_variant(node)
    assert listing.channel_sku is None
    assert listing.own_key == f"shopify:{GIFT_WRAP}"
    assert listing.key == listing.own_key
    assert listing.channel_ids["variant_id"] == GIFT_WRAP
    assert listing.channel_ids["inventory_item_id"] == "gid://shopify/InventoryItem/203"
    assert listing.title == "Gift wrap - Default"


def test_a_variant_with_a_sku_keeps_its_own_id_for_when_it_had_none() -> None:
    listing = listing_from_variant(variants()[0])
    assert listing.key == "MUG"
    assert listing.own_key == "shopify:gid://shopify/ProductVariant/101"


def test_order_lines_of_a_variant_without_sku_name_its_listing() -> None:
    listing = listing_from_variant({**variants()[2], "sku": ""})
    line = {
        "id": "gid://shopify/LineItem/7",
        "sku": "",
        "title": "Gift wrap",
        "quantity": 1,
        "variant": {"id": GIFT_WRAP},
    }
    node = {
        "id": "gid://shopify/Order/1",
        "createdAt": "2026-11-22T10:00:00Z",
        "updatedAt": "2026-11-22T10:00:00Z",
        "totalPriceSet": {"shopMoney": {"amount": "2.00", "currencyCode": "USD"}},
    }
    (polled,) = order_from_node(node, [line]).lines
    webhook = {
        "admin_graphql_api_id": "gid://shopify/Order/1",
        "created_at": "2026-11-22T10:00:00Z",
        "updated_at": "2026-11-22T10:00:00Z",
        "line_items": [{"id": 7, "sku": "", "quantity": 1, "variant_id": 103}],
    }
    (pushed,) = order_from_webhook(webhook).lines
    assert polled.channel_sku == pushed.channel_sku == listing.key
