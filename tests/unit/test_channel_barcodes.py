"""Every connector reads the product's barcode (GTIN/EAN/UPC/ISBN) with its listings, from
its simulator over real HTTP: the barcode the channel holds comes back as it was given, a
listing without one comes back with None. Shopify variants without a SKU keep their own
name (`shopify:<variant gid>`) for their listing and for the order lines that sell them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from omnisync.connectors.amazon.connector import AmazonConnector
from omnisync.connectors.sandbox.connector import SandboxConnector
from omnisync.connectors.sandbox.settings import SandboxSettings
from omnisync.connectors.shopify.connector import ShopifyConnector
from omnisync.connectors.shopify.settings import ShopifySettings
from omnisync.core.dto import ChannelListing
from omnisync.sandbox.amazon import AmazonSimulator
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sandbox.shopify import ShopifySimulator
from tests.support.simulators import amazon_connector, served_fixtures

TOKEN = "barcode-unit-token"
EAN = "4006381333931"
UPC = "036000291452"


# shopify ------------------------------------------------------------------------------


@pytest.fixture
def shop() -> Iterator[ShopifySimulator]:
    with ShopifySimulator(TOKEN) as simulator:
        simulator.add_location("Main warehouse")
        yield simulator


@pytest.fixture
def shopify(shop: ShopifySimulator) -> Iterator[ShopifyConnector]:
    settings = ShopifySettings(
        shop="omnisync-demo.myshopify.com",
        endpoint=shop.url,
        access_token=TOKEN,
        push_location="Main warehouse",
    )
    connector = ShopifyConnector(settings)
    yield connector
    connector.close()


def test_a_shopify_variant_comes_with_its_barcode_and_one_without_with_none(
    shop: ShopifySimulator, shopify: ShopifyConnector
) -> None:
    shop.set_catalogue(
        [
            {"sku": "MUG", "title": "Mug", "quantity": 4, "barcode": EAN},
            {"sku": "LID", "title": "Lid", "quantity": 2},
            {"sku": "POT", "title": "Pot", "quantity": 1, "barcode": ""},
        ]
    )

    listings = {listing.channel_sku: listing for listing in shopify.fetch_listings()}

    assert listings["MUG"].barcode == EAN
    assert listings["MUG"].quantity == 4
    assert listings["LID"].barcode is None
    assert listings["POT"].barcode is None  # Shopify's empty barcode is no barcode


@pytest.mark.parametrize("no_sku", ["", None])
def test_a_shopify_variant_without_sku_is_kept_under_its_gid_with_its_barcode(
    shop: ShopifySimulator, shopify: ShopifyConnector, no_sku: str | None
) -> None:
    (product,) = shop.set_catalogue(
        [{"sku": no_sku, "title": "Gift wrap", "quantity": 3, "barcode": UPC}]
    )
    gid = product["variant_id"]

    (listing,) = shopify.fetch_listings()

    assert listing.channel_sku is None
    assert listing.own_key == listing.key == f"shopify:{gid}"
    assert listing.barcode == UPC
    assert listing.quantity == 3


def test_an_order_for_a_variant_without_sku_names_the_variant_like_its_listing(
    shop: ShopifySimulator, shopify: ShopifyConnector
) -> None:
    (product,) = shop.set_catalogue([{"sku": "", "title": "Gift wrap", "quantity": 3}])
    gid = product["variant_id"]
    assert shop.buy(gid, 2) is not None

    (page,) = shopify.fetch_orders(None)

    (order,) = page.orders
    (line,) = order.lines
    assert line.channel_sku == f"shopify:{gid}"
    assert line.quantity == 2
    (listing,) = shopify.fetch_listings()
    assert listing.key == line.channel_sku
    assert listing.quantity == 1


# amazon -------------------------------------------------------------------------------


served_amazon_simulator, amazon_simulator = served_fixtures(
    "amazon_simulator",
    lambda: AmazonSimulator(name="amazon-barcodes", feed_delay=0.0, rate_scale=1000.0),
)


@pytest.fixture
def amazon(amazon_simulator: AmazonSimulator) -> Iterator[AmazonConnector]:
    connector = amazon_connector(amazon_simulator)
    yield connector
    connector.close()


def test_an_amazon_listing_comes_with_its_barcode_and_one_without_with_none(
    amazon_simulator: AmazonSimulator, amazon: AmazonConnector
) -> None:
    amazon_simulator.set_listings(
        [
            {"sku": "MUG", "quantity": 5, "barcode": EAN},
            {"sku": "LID", "quantity": 2, "barcode": UPC, "barcode_type": "upc"},
            {"sku": "POT", "quantity": 0},
        ]
    )

    listings = {listing.channel_sku: listing for listing in amazon.fetch_listings()}

    assert listings["MUG"].barcode == EAN
    assert listings["MUG"].quantity == 5
    assert listings["LID"].barcode == UPC
    assert listings["POT"].barcode is None


# sandbox marketplace ------------------------------------------------------------------


@pytest.fixture
def market() -> Iterator[SandboxMarketplace]:
    with SandboxMarketplace(TOKEN, rate=1000, burst=1000) as server:
        yield server


def sandbox_listings(market: SandboxMarketplace) -> list[ChannelListing]:
    connector = SandboxConnector(SandboxSettings(endpoint=market.url, api_key=TOKEN))
    try:
        return list(connector.fetch_listings())
    finally:
        connector.close()


def test_a_sandbox_listing_comes_with_its_barcode_and_one_without_with_none(
    market: SandboxMarketplace,
) -> None:
    market.set_listings(
        [
            {"sku": "MUG", "title": "Mug", "quantity": 5, "barcode": EAN},
            {"sku": "LID", "title": "Lid", "quantity": 2},
            {"sku": None, "title": "Gift wrap", "quantity": 1, "barcode": UPC},
        ]
    )

    listings = {listing.key: listing for listing in sandbox_listings(market)}

    assert listings["MUG"].barcode == EAN
    assert listings["LID"].barcode is None
    assert listings["sandbox:LST-3"].channel_sku is None
    assert listings["sandbox:LST-3"].barcode == UPC
