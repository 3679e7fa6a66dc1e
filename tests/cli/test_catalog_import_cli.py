"""`omnisync catalog import` against the sandbox marketplace over real HTTP, in this process.

The hub knows SKU-1 (counted at main already), SKU-2 and WIDGET (under another code on
the marketplace, with the same barcode); the marketplace also sells NEW-1, which the
hub does not know, and one listing without a SKU. A fake channel "shop" (a type with no
listings job) sits next to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from omnisync.core.catalog import upsert_sku
from omnisync.core.db import make_engine, transaction
from omnisync.sandbox.marketplace import SandboxMarketplace
from tests.cli.test_cli import SECRET
from tests.support import fake_connector  # noqa: F401  (registers the test type "fake")
from tests.support.cli_runner import CliResult, invoke_cli
from tests.support.hub_setup import sandbox_channel, write_config
from tests.support.simulators import served_fixtures
from tests.support.world import level, set_count

TOKEN = "sb-catalog-token-3e8d1b"
WIDGET_BARCODE = "0012345678905"
"""The hub's WIDGET; the marketplace gives the same product as the UPC-A 012345678905."""
VOLATILE = {"channel_quantity_seen_at"}
"""Listing keys every listings read sets anew (the CLI's hub runs on the wall clock)."""


class CatalogHub:
    def __init__(self, config_dir: Path, database_url: str, marketplace: SandboxMarketplace):
        self.config_dir = config_dir
        self.database_url = database_url
        self.marketplace = marketplace
        self.engine: Engine = make_engine(database_url)
        self.token = TOKEN

    def __call__(self, *args: str) -> CliResult:
        return invoke_cli(
            self.config_dir,
            self.database_url,
            *args,
            env={"SB_KEY": self.token, "FAKE_API_KEY": SECRET},
            secrets=[TOKEN, SECRET],
        )

    def ok(self, *args: str) -> CliResult:
        result = self(*args)
        assert result.exit_code == 0, result
        return result

    def skus(self) -> dict[str, dict[str, Any]]:
        return {row["code"]: row for row in self.ok("skus", "list", "--json").json()}

    def listings(self) -> dict[str, dict[str, Any]]:
        rows = self.ok("listings", "list", "--channel", "sb", "--json").json()
        return {
            row["listing"]: {key: value for key, value in row.items() if key not in VOLATILE}
            for row in rows
        }

    def catalogue(self) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
        """What an import may change: SKUs, the channel's listings, and the link history."""
        history = self.ok("listings", "history", "--json").json()
        return self.skus(), self.listings(), history


served_marketplace, marketplace = served_fixtures(
    "marketplace", lambda: SandboxMarketplace(TOKEN, rate=1000, burst=1000, name="sb")
)


@pytest.fixture
def hub(
    tmp_path: Path, migrated_database_url: str, marketplace: SandboxMarketplace
) -> Iterator[CatalogHub]:
    config = write_config(
        tmp_path / "config",
        {
            "sb": sandbox_channel(marketplace.url),
            "shop": "type: fake\nshop: shop\napi_key: ${FAKE_API_KEY}\n",
        },
    )
    hub = CatalogHub(config, migrated_database_url, marketplace)
    hub.ok("init")
    with transaction(hub.engine) as session:
        upsert_sku(session, "SKU-1", title="Hub one")
        upsert_sku(session, "SKU-2", title="Hub two")
        upsert_sku(session, "WIDGET", title="Widget", barcode=WIDGET_BARCODE)
    set_count(hub.engine, "SKU-1", "main", 7)
    yield hub
    hub.engine.dispose()


@pytest.fixture
def no_sku_id(marketplace: SandboxMarketplace) -> str:
    """The marketplace's catalogue; the id of its listing without a SKU."""
    served = marketplace.set_listings(
        [
            {"sku": "SKU-1", "title": "One", "quantity": 5},
            {"sku": "SKU-2", "title": "Two", "quantity": 3},
            {"sku": "MKT-WIDGET", "title": "Widget", "quantity": 6, "barcode": "012345678905"},
            {"sku": "NEW-1", "title": "New thing", "quantity": 4, "barcode": "4006381333931"},
            {"sku": None, "title": "No SKU here", "quantity": 2},
        ]
    )
    (no_sku,) = (item["id"] for item in served if item["sku"] is None)
    return str(no_sku)


def test_import_links_by_sku_and_barcode_and_makes_skus_of_the_rest(
    hub: CatalogHub, no_sku_id: str
) -> None:
    derived = f"sb-{no_sku_id}"

    report = hub.ok("catalog", "import", "--channel", "sb", "--json").json()

    assert report["channel"] == "sb"
    assert report["dry_run"] is False
    assert report["created"] == 2
    assert report["counted"] == []
    linked = {
        (item["listing"], item["sku"], item["method"], item["created"]) for item in report["linked"]
    }
    assert linked == {
        ("MKT-WIDGET", "WIDGET", "barcode", False),
        ("NEW-1", "NEW-1", "import", True),
        (f"sandbox:{no_sku_id}", derived, "import", True),
    }
    skus = hub.skus()
    assert set(skus) == {"SKU-1", "SKU-2", "WIDGET", "NEW-1", derived}  # no second widget
    assert (skus["NEW-1"]["title"], skus["NEW-1"]["barcode"]) == ("New thing", "4006381333931")
    assert skus[derived]["title"] == "No SKU here"
    links = {key: (row["sku"], row["link_method"]) for key, row in hub.listings().items()}
    assert links == {
        "SKU-1": ("SKU-1", "sku"),  # the listings read linked those itself
        "SKU-2": ("SKU-2", "sku"),
        "MKT-WIDGET": ("WIDGET", "barcode"),
        "NEW-1": ("NEW-1", "import"),
        f"sandbox:{no_sku_id}": (derived, "import"),
    }
    actors = {event["listing"]: event["actor"] for event in hub.catalogue()[2]}
    assert actors["SKU-1"] == "listings job"
    assert actors["NEW-1"] == "catalog import"
    assert level(hub.engine, "NEW-1", "main") == (0, 0)  # nothing counted without --stock

    before = hub.catalogue()
    again = hub.ok("catalog", "import", "--channel", "sb", "--json").json()
    assert (again["created"], again["linked"], again["counted"]) == (0, [], [])
    assert hub.catalogue() == before


def test_a_dry_run_says_what_the_import_would_do_and_changes_nothing(
    hub: CatalogHub, no_sku_id: str
) -> None:
    hub.ok("sync", "listings", "--channel", "sb")
    before = hub.catalogue()

    dry = hub.ok("catalog", "import", "--channel", "sb", "--dry-run")

    assert "created 2 SKU(s), linked 3 listing(s) (1 by barcode, 2 by import)" in dry.stdout
    assert "dry run: nothing was changed" in dry.stdout
    assert f"sb-{no_sku_id}" in dry.stdout
    assert hub.catalogue() == before
    as_json = hub.ok("catalog", "import", "--channel", "sb", "--dry-run", "--json").json()
    assert (as_json["dry_run"], as_json["created"], len(as_json["linked"])) == (True, 2, 3)
    assert hub.catalogue() == before

    done = hub.ok("catalog", "import", "--channel", "sb")
    assert "created 2 SKU(s), linked 3 listing(s) (1 by barcode, 2 by import)" in done.stdout
    assert "dry run" not in done.stdout
    assert hub.catalogue() != before


def test_the_first_dry_run_reads_the_listings_and_tells_what_that_read_linked(
    hub: CatalogHub, no_sku_id: str
) -> None:
    dry = hub.ok("catalog", "import", "--channel", "sb", "--dry-run")

    assert "sb: the listings read saw 5 listing(s) and linked 2 by their channel SKU" in dry.stdout
    assert set(hub.skus()) == {"SKU-1", "SKU-2", "WIDGET"}
    unlinked = {key for key, row in hub.listings().items() if row["sku"] is None}
    assert unlinked == {"MKT-WIDGET", "NEW-1", f"sandbox:{no_sku_id}"}


def test_stock_counts_the_channel_quantities_once_and_never_over_a_count(
    hub: CatalogHub, no_sku_id: str
) -> None:
    report = hub.ok(
        "catalog", "import", "--channel", "sb", "--stock", "--location", "main", "--json"
    ).json()

    counted = {(item["sku"], item["quantity"], item["location"]) for item in report["counted"]}
    assert counted == {
        ("SKU-2", 3, "main"),
        ("WIDGET", 6, "main"),
        ("NEW-1", 4, "main"),
        (f"sb-{no_sku_id}", 2, "main"),
    }  # SKU-1 was counted at main already: its 7 stay
    assert level(hub.engine, "SKU-1", "main") == (7, 0)
    assert level(hub.engine, "WIDGET", "main") == (6, 0)
    assert level(hub.engine, f"sb-{no_sku_id}", "main") == (2, 0)

    again = hub.ok("catalog", "import", "--channel", "sb", "--stock", "--json").json()
    assert again["counted"] == []
    assert level(hub.engine, "WIDGET", "main") == (6, 0)


def test_stock_at_another_location_counts_there(hub: CatalogHub, no_sku_id: str) -> None:
    text = hub.ok("catalog", "import", "--channel", "sb", "--stock", "--location", "backup")
    assert "counted 5 SKU(s) at backup" in text.stdout  # SKU-1 was never counted at backup
    assert level(hub.engine, "SKU-1", "backup") == (5, 0)
    assert level(hub.engine, "SKU-1", "main") == (7, 0)
    assert level(hub.engine, "NEW-1", "main") == (0, 0)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--channel", "nowhere"), "'nowhere'"),
        (("--channel", "sb", "--location", "main"), "--location needs --stock"),
        (("--channel", "sb", "--stock", "--location", "attic"), "'attic'"),
        (("--channel", "shop"), "cannot list its listings"),
    ],
)
def test_bad_usage_is_exit_code_2_and_reads_nothing(
    hub: CatalogHub, no_sku_id: str, args: tuple[str, ...], says: str
) -> None:
    result = hub("catalog", "import", *args)
    assert result.exit_code == 2, result
    assert says in result.stderr
    assert hub.listings() == {}  # the marketplace was not read
    assert set(hub.skus()) == {"SKU-1", "SKU-2", "WIDGET"}


def test_a_failed_listings_read_is_exit_code_1_with_its_error_and_imports_nothing(
    hub: CatalogHub, no_sku_id: str
) -> None:
    hub.token = "not-the-token"
    result = hub("catalog", "import", "--channel", "sb")
    assert result.exit_code == 1, result
    assert "reading the listings of sb failed:" in result.stderr
    assert result.stdout == ""
    assert set(hub.skus()) == {"SKU-1", "SKU-2", "WIDGET"}
    assert hub.listings() == {}
