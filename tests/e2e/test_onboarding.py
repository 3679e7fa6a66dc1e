"""Issue 14's acceptance, end to end: a seller whose products live on Shopify and Amazon
brings them into the hub through the CLI, against the Shopify and Amazon simulators over
real HTTP (SQLite and PostgreSQL).

The CLI runs in this process (tests/support/cli_runner.py); what the channels show is
read from the simulators' own state, never from the hub's database. The Amazon simulator
lets getOrders read an order only once it is half a second old and the channel settles
orders for as long, so a test moves a placed order back past that window (`settled`)
instead of waiting.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from omnisync.core.clock import utcnow
from omnisync.hub.bootstrap import bootstrap
from omnisync.hub.runner import HubRunner
from omnisync.sandbox.amazon import AmazonSimulator
from omnisync.sandbox.shopify import ShopifySimulator
from tests.support.cli_runner import CliResult, invoke_cli
from tests.support.hub_setup import (
    amazon_env,
    open_test_hub,
    settling_amazon_channel,
    shopify_channel,
    write_config,
)
from tests.support.polling import eventually
from tests.support.queue_mode import hub_workers
from tests.support.simulators import served_fixtures

pytestmark = pytest.mark.slow  # each test drives a few dozen commands over HTTP

SHOP_TOKEN = "shpat_onboarding_token_4d7e"
SHOP_SECRET = "shpss_onboarding_secret_8a2f"
SHOP = "shop"
AMAZON = "amazon"
PUSH_LOCATION = "Main warehouse"
ORDERS_LAG = timedelta(seconds=0.5)
SHOP_QUANTITY = 9
"""What every Shopify variant shows before the hub pushes: no hub figure is 9."""
AMAZON_QUANTITY = 7
"""What every Amazon listing shows before the hub pushes: no hub figure is 7."""
UNLINKED = "unlinked_listings"


# the seller's products ---------------------------------------------------------------


def gtin(body: str) -> str:
    """`body` with its GTIN check digit (weights 3, 1, 3... from the right)."""
    total = sum(int(digit) * (3 if i % 2 == 0 else 1) for i, digit in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def upc(number: int) -> str:
    """A UPC-A (12 digits); the same product's EAN-13 is "0" + it."""
    return gtin(f"81234{number:06d}")


def ean(number: int) -> str:
    """An EAN-13 that does not start with 0 (no UPC-A form)."""
    return gtin(f"400638{number:06d}")


@dataclass(frozen=True)
class Product:
    """One product, as Shopify, Amazon and (for some) the hub know it already."""

    name: str
    shop_sku: str
    """Empty for a variant without SKU."""
    shop_barcode: str | None
    amazon_sku: str
    amazon_barcode: str | None
    amazon_barcode_type: str = "ean"
    hub_code: str | None = None
    """The hub has the product already, under this code, with `hub_barcode`."""
    hub_barcode: str | None = None


def twenty_products() -> list[Product]:
    """10 SKUs the hub does not know (P-01..P-10), 5 variants without SKU (K1..K5) and 5
    whose SKU (SH-11..SH-15) is not the hub's code (WH-01..WH-05) but whose barcode is.
    Amazon gives 15 of them a barcode: as the UPC-A where the other side has the EAN-13
    with a leading 0 (P-01..P-04, K1, WH-01/03/05, and the hub's WH barcodes against
    Shopify's), as the same EAN-13 otherwise; P-09, P-10, K3, K4 and K5 have none there."""
    products = []
    for n in range(1, 11):
        as_upc = n <= 4
        code = upc(n) if as_upc else ean(n)
        products.append(
            Product(
                name=f"P-{n:02d}",
                shop_sku=f"P-{n:02d}",
                shop_barcode="0" + code if as_upc else code,
                amazon_sku=f"AMZ-P-{n:02d}",
                amazon_barcode=code if n <= 8 else None,
                amazon_barcode_type="upc" if as_upc else "ean",
            )
        )
    keyless_barcodes = {1: "0" + upc(21), 2: ean(22), 3: ean(23)}
    for n in range(1, 6):
        products.append(
            Product(
                name=f"K{n}",
                shop_sku="",
                shop_barcode=keyless_barcodes.get(n),
                amazon_sku=f"AMZ-K{n}",
                amazon_barcode={1: upc(21), 2: ean(22)}.get(n),
                amazon_barcode_type="upc" if n == 1 else "ean",
            )
        )
    for n in range(1, 6):
        odd = n % 2 == 1
        hub_barcode = "0" + upc(30 + n) if odd else ean(30 + n)
        products.append(
            Product(
                name=f"SH-{10 + n}",
                shop_sku=f"SH-{10 + n}",
                shop_barcode=upc(30 + n) if odd else hub_barcode,
                amazon_sku=f"AMZ-WH-{n:02d}",
                amazon_barcode=hub_barcode,
                hub_code=f"WH-{n:02d}",
                hub_barcode=hub_barcode,
            )
        )
    return products


@dataclass(frozen=True)
class Seeded:
    """The products as the simulators took them: each Shopify variant's gid."""

    products: list[Product]
    variant_gids: dict[str, str]

    def shop_name(self, product: Product) -> str:
        """What the Shopify simulator names the variant by: its SKU, else its gid."""
        return product.shop_sku or self.variant_gids[product.name]

    def shop_key(self, product: Product) -> str:
        """The hub's key for the Shopify listing: its SKU, else the channel's name for the
        variant (`shopify:<gid>`)."""
        return product.shop_sku or f"shopify:{self.variant_gids[product.name]}"

    def hub_code(self, product: Product) -> str:
        """The hub SKU that must sell the product: the hub's own, else the one made from the
        Shopify listing (its SKU, else `<channel>-<variant number>`)."""
        if product.hub_code is not None:
            return product.hub_code
        if product.shop_sku:
            return product.shop_sku
        return f"{SHOP}-{self.variant_gids[product.name].rsplit('/', 1)[-1]}"


def seed_channels(
    shop: ShopifySimulator, amazon: AmazonSimulator, products: list[Product]
) -> Seeded:
    variants = shop.set_catalogue(
        {
            "sku": product.shop_sku,
            "title": product.name,
            "quantity": SHOP_QUANTITY,
            "barcode": product.shop_barcode,
        }
        for product in products
    )
    amazon.set_listings(
        {
            "sku": product.amazon_sku,
            "title": product.name,
            "quantity": AMAZON_QUANTITY,
            **(
                {"barcode": product.amazon_barcode, "barcode_type": product.amazon_barcode_type}
                if product.amazon_barcode
                else {}
            ),
        }
        for product in products
    )
    gids = {str(variant["title"]): str(variant["variant_id"]) for variant in variants}
    return Seeded(products, gids)


# the hub ----------------------------------------------------------------------------


class Hub:
    """The hub's CLI on the test's config folder and database."""

    def __init__(self, config_dir: Path, database_url: str) -> None:
        self.config_dir = config_dir
        self.database_url = database_url

    def __call__(self, *args: str) -> CliResult:
        return invoke_cli(
            self.config_dir, self.database_url, *args, secrets=[SHOP_TOKEN, SHOP_SECRET]
        )

    def ok(self, *args: str) -> CliResult:
        result = self(*args)
        assert result.exit_code == 0, result
        return result

    def json(self, *args: str) -> Any:
        return self.ok(*args, "--json").json()

    def links(self, *options: str) -> dict[tuple[str, str], str | None]:
        """(channel, listing key) -> the linked hub SKU's code, of `listings list`."""
        rows = self.json("listings", "list", *options)
        return {(row["channel"], row["listing"]): row["sku"] for row in rows}

    def reserved(self, code: str) -> int:
        (stock,) = self.json("stock", "show", code)
        return sum(int(level["reserved"]) for level in stock["locations"])

    def open_alerts(self, rule: str) -> list[dict[str, Any]]:
        return [row for row in self.json("alerts", "list", "--open") if row["rule"] == rule]


served_shop, shop = served_fixtures(
    "shop",
    lambda: ShopifySimulator(SHOP_TOKEN, client_secret=SHOP_SECRET),
    prepare=lambda served: served.add_location(PUSH_LOCATION),
)
served_amazon, amazon = served_fixtures(
    "amazon",
    lambda: AmazonSimulator(rate_scale=100.0, orders_lag=ORDERS_LAG, feed_delay=0.0),
)


@pytest.fixture
def hub(
    tmp_path: Path,
    migrated_database_url: str,
    shop: ShopifySimulator,
    amazon: AmazonSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> Hub:
    for name, value in {
        "SHOP_TOKEN": SHOP_TOKEN,
        "SHOP_SECRET": SHOP_SECRET,
        **amazon_env(amazon),
    }.items():
        monkeypatch.setenv(name, value)
    channels = {
        SHOP: shopify_channel(shop.url),
        AMAZON: settling_amazon_channel(amazon, ORDERS_LAG),
    }
    config = write_config(tmp_path / "config", channels)
    open_test_hub(config, migrated_database_url).engine.dispose()
    return Hub(config, migrated_database_url)


def settled(amazon: AmazonSimulator, order_id: str) -> None:
    """The order's last update moved back past the settle window, as if a few seconds
    had gone by (getOrders shows it at once)."""
    amazon.touch_order(order_id, at=utcnow() - 4 * ORDERS_LAG)


def succeeded(outcomes: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """The counts of each channel's run, once every run succeeded."""
    assert all(outcome["status"] == "succeeded" for outcome in outcomes), outcomes
    return {outcome["channel"]: outcome["counts"] for outcome in outcomes}


# 1. twenty products onboarded from Shopify, then linked on Amazon --------------------


def test_a_shop_of_twenty_variants_becomes_the_catalogue_and_amazon_links_to_it(
    hub: Hub, shop: ShopifySimulator, amazon: AmazonSimulator
) -> None:
    seeded = seed_channels(shop, amazon, twenty_products())
    products = seeded.products
    known = {
        product.shop_sku: (product.hub_code, product.hub_barcode)
        for product in products
        if product.hub_code is not None and product.hub_barcode is not None
    }
    for code, barcode in known.values():
        hub.ok("skus", "add", code, "--barcode", barcode)
    by_barcode = {shop_sku: code for shop_sku, (code, _) in known.items()}
    shop_links = {seeded.shop_key(product): seeded.hub_code(product) for product in products}

    # 1. Both channels' listings are read; no channel SKU is a hub SKU's code.
    counts = succeeded(hub.json("sync", "listings"))
    assert {name: count.get("fetched") for name, count in counts.items()} == {
        SHOP: 20,
        AMAZON: 20,
    }
    assert set(hub.links("--unlinked")) == {(SHOP, key) for key in shop_links} | {
        (AMAZON, product.amazon_sku) for product in products
    }
    skus_before = hub.json("skus", "list")

    # 2. The dry run says what the import would do, and does none of it.
    dry = hub.json("catalog", "import", "--channel", SHOP, "--dry-run")
    assert (dry["dry_run"], dry["created"]) == (True, 15)
    assert Counter(item["method"] for item in dry["linked"]) == {"import": 15, "barcode": 5}
    assert {
        item["listing"]: item["sku"] for item in dry["linked"] if item["method"] == "barcode"
    } == by_barcode
    assert hub.json("skus", "list") == skus_before
    assert len(hub.links("--channel", SHOP, "--unlinked")) == 20

    # 3. The import makes 15 SKUs, links 5 listings to the hub's WH SKUs by barcode and
    #    leaves no Shopify listing unlinked; what it did is what the dry run said.
    imported = hub.json("catalog", "import", "--channel", SHOP)
    assert imported == {**dry, "dry_run": False}
    assert {item["listing"]: item["sku"] for item in imported["linked"]} == shop_links
    keyless = [seeded.hub_code(product) for product in products if not product.shop_sku]
    assert len(keyless) == 5
    assert all(code.startswith(f"{SHOP}-") for code in keyless)
    skus = {row["code"]: row["barcode"] for row in hub.json("skus", "list")}
    assert skus == {
        seeded.hub_code(product): product.hub_barcode or product.shop_barcode
        for product in products
    }
    assert hub.links("--channel", SHOP, "--unlinked") == {}
    assert hub.links("--channel", SHOP) == {(SHOP, key): sku for key, sku in shop_links.items()}
    again = hub.json("catalog", "import", "--channel", SHOP)
    assert (again["created"], again["linked"], again["counted"]) == (0, [], [])
    assert {row["code"]: row["barcode"] for row in hub.json("skus", "list")} == skus

    # 4. Amazon's 15 listings with a barcode link by it, the UPC-A forms included.
    with_barcode = {
        product.amazon_sku: seeded.hub_code(product)
        for product in products
        if product.amazon_barcode is not None
    }
    assert len(with_barcode) == 15
    reports = {
        report["channel"]: report for report in hub.json("listings", "auto-link", "--by", "barcode")
    }
    assert set(reports) == {SHOP, AMAZON}
    assert (reports[SHOP]["linked"], reports[SHOP]["not_linked"]) == ([], [])
    assert reports[AMAZON]["not_linked"] == []
    assert {change["listing"]: change["sku"] for change in reports[AMAZON]["linked"]} == (
        with_barcode
    )
    assert {change["method"] for change in reports[AMAZON]["linked"]} == {"barcode"}

    # 5. The 5 without one are linked by hand.
    by_hand = [product for product in products if product.amazon_barcode is None]
    assert len(by_hand) == 5
    for product in by_hand:
        change = hub.json("listings", "link", AMAZON, product.amazon_sku, seeded.hub_code(product))
        assert (change["changed"], change["method"], change["sku"]) == (
            True,
            "manual",
            seeded.hub_code(product),
        )

    # 6. Nothing is left unlinked, on either channel; each listing sells its product.
    assert hub.links("--unlinked") == {}
    assert hub.links("--channel", AMAZON, "--unlinked") == {}
    assert hub.links("--channel", SHOP, "--unlinked") == {}
    assert hub.links() == {
        **{(SHOP, seeded.shop_key(product)): seeded.hub_code(product) for product in products},
        **{(AMAZON, product.amazon_sku): seeded.hub_code(product) for product in products},
    }

    # 7. A stock change reaches every listing on both channels: the counted SKUs (one made
    #    from a variant without SKU, one of the hub's WH SKUs, one linked by hand on
    #    Amazon, one linked there through the UPC-A) show their count, every other SKU 0.
    by_name = {product.name: product for product in products}
    counts_set = {
        seeded.hub_code(by_name["K1"]): 4,
        "WH-02": 6,
        "P-03": 12,
        "P-09": 3,
    }
    for code, quantity in counts_set.items():
        hub.ok("stock", "set", code, str(quantity))
    for code, quantity in counts_set.items():
        (stock,) = hub.json("stock", "show", code)
        assert {row["channel"]: row["available"] for row in stock["channels"]} == {
            SHOP: quantity,
            AMAZON: quantity,
        }
    succeeded(hub.json("sync", "stock"))

    def offered(product: Product) -> int:
        return counts_set.get(seeded.hub_code(product), 0)

    assert shop.quantities(without_sku=True) == {
        seeded.shop_name(product): offered(product) for product in products
    }
    assert amazon.quantities() == {product.amazon_sku: offered(product) for product in products}


# 2. a sale on an unlinked Amazon listing ---------------------------------------------


def test_a_sale_on_an_unlinked_amazon_listing_waits_and_reserves_once_linked(
    hub: Hub, shop: ShopifySimulator, amazon: AmazonSimulator, tmp_path: Path
) -> None:
    shop.set_catalogue([{"sku": "X", "title": "X", "quantity": 5}])
    amazon.set_listings([{"sku": "AMZ-X-NEW", "title": "X", "quantity": AMAZON_QUANTITY}])
    hub.ok("skus", "add", "X")
    hub.ok("stock", "set", "X", "5")
    succeeded(hub.json("sync", "listings"))
    assert hub.links() == {(SHOP, "X"): "X", (AMAZON, "AMZ-X-NEW"): None}
    succeeded(hub.json("sync", "stock"))
    assert shop.available("X") == 5
    assert amazon.quantity("AMZ-X-NEW") == AMAZON_QUANTITY  # unlinked: never pushed

    placed = amazon.buy("AMZ-X-NEW", 1)
    assert placed is not None
    order_id = str(placed["AmazonOrderId"])
    settled(amazon, order_id)
    counts = succeeded(hub.json("sync", "orders", "--channel", AMAZON))
    assert counts[AMAZON]["created"] == 1

    # The line is stored, bound to no SKU, and reserves nothing; the alert names it.
    order = hub.json("orders", "show", order_id)
    assert [(line["channel_sku"], line["sku"], line["quantity"]) for line in order["lines"]] == [
        ("AMZ-X-NEW", None, 1)
    ]
    assert hub.reserved("X") == 0
    (alert,) = hub.open_alerts(UNLINKED)
    assert alert["channel"] == AMAZON
    assert order_id in alert["message"]
    assert alert["details"]["lines"] == [{"order": order_id, "channel_sku": "AMZ-X-NEW"}]
    assert hub("status").exit_code == 1
    assert amazon.quantity("AMZ-X-NEW") == AMAZON_QUANTITY - 1  # Amazon took the unit off

    with hub_workers(hub.config_dir, hub.database_url, tmp_path / "workers"):
        runner = HubRunner(bootstrap(hub.config_dir, database_url=hub.database_url), push_poll=0.05)
        thread = threading.Thread(target=runner.run)
        thread.start()
        try:
            assert eventually(lambda: runner.scheduler.running)
            linked = hub.json("listings", "link", AMAZON, "AMZ-X-NEW", "X")
            assert (linked["changed"], linked["lines"], linked["units"]) == (True, 1, 1)
            assert hub.reserved("X") == 1
            # The running hub pushes the reservation to Shopify, and its figure to the listing
            # it now knows the SKU of.
            assert eventually(lambda: shop.available("X") == 4), shop.quantities()
            assert eventually(lambda: amazon.quantity("AMZ-X-NEW") == 4), amazon.quantities()
        finally:
            runner.stop()
            thread.join(timeout=30)
    assert not thread.is_alive()
    assert hub.open_alerts(UNLINKED) == []
    (resolved,) = hub.json("alerts", "list", "--rule", UNLINKED)
    assert (resolved["id"], resolved["state"]) == (alert["id"], "resolved")
    order = hub.json("orders", "show", order_id)
    assert [line["sku"] for line in order["lines"]] == ["X"]


# 3. links from a file ------------------------------------------------------------------


def test_a_links_file_links_every_row_or_none_and_names_each_bad_row(
    hub: Hub, amazon: AmazonSimulator, tmp_path: Path
) -> None:
    items = amazon.set_listings(
        {"sku": f"AMZ-{code}", "title": code, "quantity": 3} for code in ("A1", "B1", "C1", "D1")
    )
    asin_b = next(str(item["summaries"][0]["asin"]) for item in items if item["sku"] == "AMZ-B1")
    for code in ("A1", "B1", "C1", "D1"):
        hub.ok("skus", "add", code)
    succeeded(hub.json("sync", "listings", "--channel", AMAZON))
    unlinked = {(AMAZON, f"AMZ-{code}"): None for code in ("A1", "B1", "C1", "D1")}
    assert hub.links("--channel", AMAZON) == unlinked

    good = tmp_path / "links.csv"
    good.write_text(f"channel,listing,sku\n{AMAZON},AMZ-A1,A1\n{AMAZON},{asin_b},B1\n")
    linked = hub.json("listings", "import", str(good))
    assert [(change["listing"], change["sku"], change["changed"]) for change in linked] == [
        ("AMZ-A1", "A1", True),
        ("AMZ-B1", "B1", True),
    ]
    after_good = hub.json("listings", "list", "--channel", AMAZON)
    assert {row["listing"]: row["sku"] for row in after_good} == {
        "AMZ-A1": "A1",
        "AMZ-B1": "B1",
        "AMZ-C1": None,
        "AMZ-D1": None,
    }
    history = hub.json("listings", "history")
    assert {(event["listing"], event["actor"]) for event in history} == {
        ("AMZ-A1", "links csv"),
        ("AMZ-B1", "links csv"),
    }

    again = hub.json("listings", "import", str(good))
    assert [change["changed"] for change in again] == [False, False]
    assert hub.json("listings", "list", "--channel", AMAZON) == after_good
    assert hub.json("listings", "history") == history

    bad = tmp_path / "more-links.csv"
    bad.write_text(
        f"channel,listing,sku\n{AMAZON},AMZ-C1,C1\n{AMAZON},AMZ-D1,NO-SUCH-SKU\n"
        f"{AMAZON},AMZ-A1,A1\n"
    )
    refused = hub("listings", "import", str(bad))
    assert refused.exit_code == 1, refused
    output = refused.stdout + refused.stderr
    assert f"{bad}:3" in output
    assert "NO-SUCH-SKU" in output
    assert f"{bad}:2" not in output
    assert f"{bad}:4" not in output
    assert hub.json("listings", "list", "--channel", AMAZON) == after_good
    assert hub.json("listings", "history") == history
