"""`omnisync listings list|link|unlink|auto-link|import|history`, in this process.

The hub has two channels of the test type "fake" (no listings job): their listings are
put in the database as the listings job stores them (unlinked ones since now, so the
`unlinked_listings` alert's hour of grace keeps them out of it), and orders come in
through order intake, as a pull would bring them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import Engine
from typer.core import TyperGroup

from omnisync.core.alerting import RULE_UNLINKED
from omnisync.core.catalog import upsert_sku
from omnisync.core.db import make_engine, transaction
from omnisync.hub.cli import app
from tests.cli.test_cli import SECRET, write
from tests.support import fake_connector  # noqa: F401  (registers the test type "fake")
from tests.support.cli_runner import CliResult, invoke_cli
from tests.support.world import add_listing, ingest, level, list_sku, make_order, set_count

BARCODE_A = "0012345678905"
"""Hub SKU A's barcode: the EAN-13 form of the UPC-A 012345678905 that shop's listing has."""
BARCODE_B = "4006381333931"


class Hub:
    """The CLI on one config folder and database, and that database for the arranging."""

    def __init__(self, config_dir: Path, database_url: str) -> None:
        self.config_dir = config_dir
        self.database_url = database_url
        self.engine: Engine = make_engine(database_url)

    def __call__(self, *args: str) -> CliResult:
        return invoke_cli(
            self.config_dir,
            self.database_url,
            *args,
            env={"FAKE_API_KEY": SECRET},
            secrets=[SECRET],
        )

    def ok(self, *args: str) -> CliResult:
        result = self(*args)
        assert result.exit_code == 0, result
        return result

    def listings(self, *args: str) -> dict[tuple[str, str], dict[str, Any]]:
        rows = self.ok("listings", "list", "--json", *args).json()
        return {(row["channel"], row["listing"]): row for row in rows}

    def unlinked_alert(self, channel: str) -> dict[str, Any] | None:
        """The channel's open `unlinked_listings` alert, if any."""
        alerts = self.ok(
            "alerts", "list", "--open", "--channel", channel, "--rule", RULE_UNLINKED, "--json"
        ).json()
        assert len(alerts) <= 1
        return alerts[0] if alerts else None


@pytest.fixture
def hub(tmp_path: Path, migrated_database_url: str) -> Iterator[Hub]:
    """SKUs A (10 at main, barcode BARCODE_A) and B; market sells A under its code;
    shop has SHOP-A (Shopify-like ids, A's barcode as a UPC) and B, both unlinked."""
    config = tmp_path / "config"
    write(config / "hub.yaml", "locations:\n  - code: main\n")
    for name in ("shop", "market"):
        write(
            config / "channels" / f"{name}.yaml",
            f"type: fake\nshop: {name}\napi_key: ${{FAKE_API_KEY}}\n",
        )
    hub = Hub(config, migrated_database_url)
    hub.ok("init")
    with transaction(hub.engine) as session:
        upsert_sku(session, "A", title="Red shirt", barcode=BARCODE_A)
        upsert_sku(session, "B", title="Blue shirt")
    set_count(hub.engine, "A", "main", 10)
    list_sku(hub.engine, "market", "A")
    add_listing(
        hub.engine,
        "shop",
        "SHOP-A",
        title="Red shirt [M]",
        barcode="012345678905",
        channel_ids={
            "product_id": "gid://shopify/Product/7",
            "variant_id": "gid://shopify/ProductVariant/111",
        },
        quantity=4,
    )
    add_listing(hub.engine, "shop", "B", title="Blue shirt", quantity=2)
    yield hub
    hub.engine.dispose()


def test_list_shows_each_listing_its_channel_id_and_the_sku_it_is_linked_to(hub: Hub) -> None:
    listings = hub.listings()
    assert set(listings) == {("market", "A"), ("shop", "B"), ("shop", "SHOP-A")}
    shop_a = listings["shop", "SHOP-A"]
    assert shop_a["channel_sku"] == "SHOP-A"
    assert shop_a["title"] == "Red shirt [M]"
    assert shop_a["barcode"] == "012345678905"
    assert shop_a["sku"] is None
    assert shop_a["link_method"] is None
    assert shop_a["channel_quantity"] == 4
    assert listings["market", "A"]["sku"] == "A"

    table = hub.ok("listings", "list").stdout
    for column in ("channel SKU", "channel id", "linked SKU", "how", "channel qty", "dirty"):
        assert column in table
    # The variant names the listing better than its product; brackets are not markup.
    shop_row = next(line for line in table.splitlines() if "SHOP-A" in line)
    assert "gid://shopify/ProductVariant/111" in shop_row
    assert "Product/7" not in shop_row
    assert "Red shirt [M]" in shop_row


def test_list_filters_by_channel_and_unlinked_and_refuses_an_unknown_channel(hub: Hub) -> None:
    assert set(hub.listings("--channel", "market")) == {("market", "A")}
    assert set(hub.listings("--unlinked")) == {("shop", "B"), ("shop", "SHOP-A")}
    assert set(hub.listings("--unlinked", "--channel", "market")) == set()

    unknown = hub("listings", "list", "--channel", "nowhere")
    assert unknown.exit_code == 2
    assert "nowhere" in unknown.stderr


def test_linking_by_the_channel_id_makes_the_waiting_order_reserve_and_resolves_the_alert(
    hub: Hub,
) -> None:
    ingest(hub.engine, "shop", make_order("1001", [("SHOP-A", 2)]))
    assert level(hub.engine, "A", "main") == (10, 0)  # the line is bound to no SKU
    alert = hub.unlinked_alert("shop")
    assert alert is not None
    assert "SHOP-A" in alert["message"]

    linked = hub.ok("listings", "link", "shop", "111", "A")

    assert "shop listing SHOP-A linked to A (manual)" in linked.stdout
    assert "2 open unit(s)" in linked.stdout
    assert level(hub.engine, "A", "main") == (10, 2)
    assert hub.unlinked_alert("shop") is None
    row = hub.listings()["shop", "SHOP-A"]
    assert (row["sku"], row["link_method"], row["dirty"]) == ("A", "manual", True)


def test_linking_again_to_the_same_sku_changes_nothing_and_says_so(hub: Hub) -> None:
    first = hub.ok("listings", "link", "shop", "SHOP-A", "A", "--json").json()
    assert (first["changed"], first["sku"], first["method"]) == (True, "A", "manual")

    again = hub.ok("listings", "link", "shop", "SHOP-A", "A")
    assert "nothing changed" in again.stdout
    assert hub.ok("listings", "link", "shop", "SHOP-A", "A", "--json").json()["changed"] is False
    assert len(hub.ok("listings", "history", "--json").json()) == 1


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("nowhere", "SHOP-A", "A"), "nowhere"),
        (("shop", "NO-SUCH-LISTING", "A"), "NO-SUCH-LISTING"),
        (("shop", "SHOP-A", "NO-SUCH-SKU"), "NO-SUCH-SKU"),
    ],
)
def test_linking_an_unknown_channel_listing_or_sku_is_exit_code_2_naming_it(
    hub: Hub, args: tuple[str, str, str], named: str
) -> None:
    before = hub.listings()
    result = hub("listings", "link", *args)
    assert result.exit_code == 2, result
    assert named in result.stderr
    assert result.stdout == ""
    assert hub.listings() == before


def test_linking_a_listing_that_sells_another_sku_is_refused_with_exit_code_1(hub: Hub) -> None:
    refused = hub("listings", "link", "market", "A", "B")
    assert refused.exit_code == 1, refused
    assert "unlink it first" in refused.stderr
    assert hub.listings()["market", "A"]["sku"] == "A"


def test_a_name_that_matches_two_listings_is_refused_with_exit_code_1(hub: Hub) -> None:
    add_listing(
        hub.engine, "shop", "SHOP-A2", channel_ids={"product_id": "gid://shopify/Product/7"}
    )
    add_listing(
        hub.engine, "shop", "SHOP-A3", channel_ids={"product_id": "gid://shopify/Product/7"}
    )
    ambiguous = hub("listings", "link", "shop", "gid://shopify/Product/7", "A")
    assert ambiguous.exit_code == 1, ambiguous
    assert "names 3 listings" in ambiguous.stderr


def test_unlinking_says_what_it_released_and_the_order_line_waits_again(hub: Hub) -> None:
    ingest(hub.engine, "shop", make_order("1001", [("SHOP-A", 2)]))
    hub.ok("listings", "link", "shop", "SHOP-A", "A")
    assert level(hub.engine, "A", "main") == (10, 2)

    unlinked = hub.ok("listings", "unlink", "shop", "gid://shopify/ProductVariant/111")

    assert "shop listing SHOP-A unlinked from A" in unlinked.stdout
    assert "released 2 reserved unit(s) of 1 open order line(s) (orders 1001)" in unlinked.stdout
    assert level(hub.engine, "A", "main") == (10, 0)
    row = hub.listings()["shop", "SHOP-A"]
    assert (row["sku"], row["auto_link"]) == (None, False)
    alert = hub.unlinked_alert("shop")  # the line is unbound again: named at once
    assert alert is not None
    assert "1001" in alert["message"]


def test_unlinking_a_listing_without_open_orders_says_nothing_was_held(hub: Hub) -> None:
    unlinked = hub.ok("listings", "unlink", "market", "A", "--json").json()
    assert (unlinked["changed"], unlinked["sku"], unlinked["units"]) == (True, "A", 0)

    hub.ok("listings", "link", "market", "A", "A")
    text = hub.ok("listings", "unlink", "market", "A").stdout
    assert "market listing A unlinked from A" in text
    assert "no open order line held stock" in text

    again = hub.ok("listings", "unlink", "market", "A")
    assert "is not linked" in again.stdout
    missing = hub("listings", "unlink", "market", "NOPE")
    assert missing.exit_code == 2
    assert "NOPE" in missing.stderr


def test_auto_link_links_by_sku_and_by_barcode_on_every_enabled_channel(hub: Hub) -> None:
    reports = hub.ok("listings", "auto-link", "--json").json()

    assert [report["channel"] for report in reports] == ["market", "shop"]
    shop = reports[1]
    assert {(change["listing"], change["sku"], change["method"]) for change in shop["linked"]} == {
        ("B", "B", "sku"),
        ("SHOP-A", "A", "barcode"),
    }
    assert shop["not_linked"] == []
    assert hub.listings("--unlinked") == {}
    assert hub.ok("listings", "auto-link", "--json").json()[1]["linked"] == []


def test_auto_link_by_sku_alone_leaves_barcode_matches_unlinked(hub: Hub) -> None:
    text = hub.ok("listings", "auto-link", "--channel", "shop", "--by", "sku").stdout
    assert "shop: 1 listing(s) linked" in text
    assert "shop listing B linked to B (sku)" in text
    assert set(hub.listings("--unlinked")) == {("shop", "SHOP-A")}

    by_barcode = hub.ok("listings", "auto-link", "--channel", "shop", "--by", "barcode").stdout
    assert "shop listing SHOP-A linked to A (barcode)" in by_barcode


def test_auto_link_names_what_it_matched_but_could_not_link(hub: Hub) -> None:
    with transaction(hub.engine) as session:
        upsert_sku(session, "B", barcode=BARCODE_B)
    add_listing(hub.engine, "market", "M1", barcode=BARCODE_B)
    add_listing(hub.engine, "market", "M2", barcode=BARCODE_B)

    text = hub.ok("listings", "auto-link", "--channel", "market").stdout

    assert "market: 0 listing(s) linked" in text
    assert "market: 2 listing(s) matched but not linked" in text
    assert f"M1: barcode {BARCODE_B} is on 2 listings of market" in text
    assert set(hub.listings("--unlinked", "--channel", "market")) == {
        ("market", "M1"),
        ("market", "M2"),
    }


def test_auto_link_leaves_a_listing_an_operator_unlinked_alone(hub: Hub) -> None:
    hub.ok("listings", "unlink", "shop", "B")  # not linked: kept apart from now on
    reports = hub.ok("listings", "auto-link", "--channel", "shop", "--json").json()
    assert [change["listing"] for change in reports[0]["linked"]] == ["SHOP-A"]
    assert hub.listings()["shop", "B"]["sku"] is None

    unknown = hub("listings", "auto-link", "--channel", "nowhere")
    assert unknown.exit_code == 2
    assert "nowhere" in unknown.stderr


def links_file(folder: Path, *rows: str, header: str = "channel,listing,sku") -> Path:
    return write(folder / "links.csv", "\n".join([header, *rows]) + "\n")


def test_importing_links_links_every_row_and_a_second_import_changes_nothing(
    hub: Hub, tmp_path: Path
) -> None:
    ingest(hub.engine, "shop", make_order("1001", [("SHOP-A", 3)]))
    file = links_file(tmp_path, "shop,111,A", "shop,B,B", "market,A,A")

    first = hub.ok("listings", "import", str(file))

    assert "shop listing SHOP-A linked to A (manual)" in first.stdout
    assert f"3 row(s) read from {file}: 2 changed" in first.stdout
    assert level(hub.engine, "A", "main") == (10, 3)
    assert hub.listings("--unlinked") == {}
    history = hub.ok("listings", "history", "--channel", "shop", "--json").json()
    assert {(event["listing"], event["actor"]) for event in history} == {
        ("SHOP-A", "links csv"),
        ("B", "links csv"),
    }

    before = hub.listings()
    again = hub.ok("listings", "import", str(file))
    assert f"3 row(s) read from {file}: 0 changed" in again.stdout
    assert [
        change["changed"] for change in hub.ok("listings", "import", str(file), "--json").json()
    ] == [
        False,
        False,
        False,
    ]
    assert hub.listings() == before
    assert len(hub.ok("listings", "history", "--json").json()) == 2


def test_a_links_file_with_bad_rows_links_nothing_and_names_each_row(
    hub: Hub, tmp_path: Path
) -> None:
    file = links_file(
        tmp_path,
        "shop,SHOP-A,A",
        "shop,B,NO-SUCH-SKU",
        "",
        "market,A,B",
        "shop,,B",
    )
    before = hub.listings()

    result = hub("listings", "import", str(file))

    assert result.exit_code == 1, result
    assert result.stdout == ""
    problems = result.stderr.splitlines()
    assert problems[0] == "error: nothing linked:"
    assert problems[1].startswith(f"{file}:3: ")
    assert "NO-SUCH-SKU" in problems[1]
    assert problems[2].startswith(f"{file}:5: ")
    assert "unlink it first" in problems[2]
    assert problems[3] == f"{file}:6: listing is empty"
    assert len(problems) == 4
    assert hub.listings() == before  # SHOP-A, a good row, stays unlinked too
    assert hub.ok("listings", "history", "--json").json() == []


def test_a_links_file_without_a_column_is_exit_code_2_naming_file_and_column(
    hub: Hub, tmp_path: Path
) -> None:
    file = links_file(tmp_path, "shop,SHOP-A", header="channel,listing")
    result = hub("listings", "import", str(file))
    assert result.exit_code == 2, result
    assert str(file) in result.stderr
    assert "'sku'" in result.stderr


def test_history_is_newest_first_and_filters_by_channel_listing_and_limit(hub: Hub) -> None:
    ingest(hub.engine, "shop", make_order("1001", [("SHOP-A", 2)]))
    hub.ok("listings", "link", "shop", "SHOP-A", "A")
    hub.ok("listings", "unlink", "shop", "SHOP-A")
    hub.ok("listings", "link", "shop", "B", "B")

    events = hub.ok("listings", "history", "--json").json()
    assert [(event["listing"], event["action"]) for event in events] == [
        ("B", "link"),
        ("SHOP-A", "unlink"),
        ("SHOP-A", "link"),
    ]
    assert {event["actor"] for event in events} == {"cli"}
    assert events[2]["note"] == "1 waiting order line(s) bound, taking 2 open unit(s)"
    assert "released 2 reserved unit(s)" in events[1]["note"]

    only = hub.ok("listings", "history", "--listing", "SHOP-A", "--limit", "1", "--json").json()
    assert [(event["listing"], event["action"]) for event in only] == [("SHOP-A", "unlink")]
    assert hub.ok("listings", "history", "--channel", "market", "--json").json() == []

    table = hub.ok("listings", "history").stdout
    assert "unlink" in table
    assert "released 2 reserved unit(s)" in table

    unknown = hub("listings", "history", "--channel", "nowhere")
    assert unknown.exit_code == 2
    assert "nowhere" in unknown.stderr


def test_every_listings_and_catalog_command_and_option_has_help() -> None:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    for group_name in ("listings", "catalog"):
        group = root.commands[group_name]
        assert isinstance(group, TyperGroup)
        assert group.help
        assert group.commands
        for name, command in group.commands.items():
            assert command.help, f"{group_name} {name}"
            for param in command.params:
                assert getattr(param, "help", None), f"{group_name} {name} {param.name}"
