"""`omnisync orders cancel|hold|release` and `omnisync skus edit|retire|unretire|list --all`.

The commands run in this process (typer's runner). Orders are put in the database by
order intake, as a pull would. The "shop" channel is of the test type "fake", which
cannot cancel orders; the "amz" channel is an Amazon channel whose endpoint nothing
answers: cancelling never calls Amazon, whose Orders API lets no seller cancel.
Pushes to channels that can cancel (Shopify, sandbox) are tested end to end in
tests/e2e/test_order_cancellation.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from omnisync.core.catalog import upsert_sku
from omnisync.core.db import make_engine, transaction
from omnisync.core.types import OrderStatus
from tests.cli.test_cli import SECRET, Cli, write
from tests.support import fake_carrier, fake_connector  # noqa: F401  (register the test types)
from tests.support.cli_runner import CliResult, invoke_cli
from tests.support.world import ingest, level, list_sku, make_order, order_row, set_count

AMAZON = """\
type: amazon
marketplace: US
seller_id: A1SELLER
endpoint: http://127.0.0.1:9
lwa_endpoint: http://127.0.0.1:9/auth/o2/token
credentials:
  refresh_token: ${AMZ_REFRESH_TOKEN}
  lwa_app_id: ${AMZ_APP_ID}
  lwa_client_secret: ${AMZ_CLIENT_SECRET}
"""
AMAZON_SECRETS = {
    "AMZ_REFRESH_TOKEN": "Atzr|refresh-token-4f1d",
    "AMZ_APP_ID": "amzn1.application-oa2-client.9c2e",
    "AMZ_CLIENT_SECRET": "amzn1.oa2-cs.v1.secret-77aa",
}


@pytest.fixture
def cli(tmp_path: Path, migrated_database_url: str) -> Cli:
    config = tmp_path / "config"
    write(config / "hub.yaml", "locations:\n  - code: main\n")
    write(config / "channels" / "shop.yaml", "type: fake\nshop: shop\napi_key: ${FAKE_API_KEY}\n")
    write(config / "channels" / "amz.yaml", AMAZON)
    write(config / "channels" / "ups.yaml", "type: fake_carrier\nlabel: UPS\n")
    return Cli(cwd=tmp_path, database_url=migrated_database_url, config_dir=config)


def invoke(cli: Cli, *args: str) -> CliResult:
    assert cli.config_dir is not None
    return invoke_cli(
        cli.config_dir,
        cli.database_url,
        *args,
        env={"FAKE_API_KEY": SECRET, **AMAZON_SECRETS},
        secrets=[SECRET, *AMAZON_SECRETS.values()],
    )


@pytest.fixture
def engine(cli: Cli) -> Iterator[Engine]:
    """After `init`: A (10) and B (5) at main, listed on shop and amz; shop order 1001."""
    assert invoke(cli, "init").exit_code == 0
    engine = make_engine(cli.database_url)
    with transaction(engine) as session:
        for code in ("A", "B"):
            upsert_sku(session, code)
    set_count(engine, "A", "main", 10)
    set_count(engine, "B", "main", 5)
    list_sku(engine, "shop", "A", "B")
    list_sku(engine, "amz", "A", "B")
    ingest(engine, "shop", make_order("1001", [("A", 2), ("B", 1)]))
    yield engine
    engine.dispose()


def test_cancel_releases_the_stock_and_says_the_channel_still_shows_the_order(
    cli: Cli, engine: Engine
) -> None:
    done = invoke(cli, "orders", "cancel", "1001", "--reason", "customer asked")
    assert done.exit_code == 0, done
    assert "cancelled in the hub; 3 unit(s) cancelled and their stock released" in done.stdout
    assert "shop was not told and still shows order 1001 as open" in done.stdout
    assert "cancel order 1001 on shop itself" in done.stdout
    assert level(engine, "A", "main") == (10, 0)
    assert level(engine, "B", "main") == (5, 0)

    shown = invoke(cli, "orders", "show", "1001", "--json").json()
    assert shown["status"] == "cancelled"
    assert shown["hub_cancel_reason"] == "customer asked"
    assert shown["cancelled_by_hub_at"] is not None
    table = invoke(cli, "orders", "show", "1001").stdout
    assert "cancelled in the hub at " in table
    assert "customer asked" in table

    again = invoke(cli, "orders", "cancel", "1001", "--json").json()
    assert again["cancellation"]["already"] is True
    assert again["cancellation"]["units_cancelled"] == 0
    assert again["channel"]["answer"] == "not_asked"
    assert again["channel"]["message"].startswith("shop was not asked this time; if it still")


def test_cancel_json_names_every_line_and_the_channels_answer(cli: Cli, engine: Engine) -> None:
    body = invoke(cli, "orders", "cancel", "1001", "--json").json()
    assert body["order"]["status"] == "cancelled"
    assert body["cancellation"] == {
        "already": False,
        "reason": None,
        "units_cancelled": 3,
        "units_shipped": 0,
        "lines": [
            {"external_line_id": "1001-0", "channel_sku": "A", "cancelled": 2, "shipped": 0},
            {"external_line_id": "1001-1", "channel_sku": "B", "cancelled": 1, "shipped": 0},
        ],
    }
    assert body["channel"]["name"] == "shop"
    assert body["channel"]["answer"] == "not_asked"


def test_push_to_a_channel_that_cannot_cancel_exits_1_after_cancelling_in_the_hub(
    cli: Cli, engine: Engine
) -> None:
    done = invoke(cli, "orders", "cancel", "1001", "--push")
    assert done.exit_code == 1
    assert "cancelled in the hub" in done.stdout
    assert "error: shop still shows order 1001 as open" in done.stderr
    assert order_row(engine, "shop", "1001").status == OrderStatus.CANCELLED
    assert level(engine, "A", "main") == (10, 0)


def test_amazon_orders_must_be_cancelled_in_seller_central(cli: Cli, engine: Engine) -> None:
    ingest(engine, "amz", make_order("111-2222222-3333333", [("A", 1)]))
    ingest(engine, "amz", make_order("111-2222222-4444444", [("B", 1)]))
    assert level(engine, "A", "main") == (10, 3)

    pushed = invoke(cli, "orders", "cancel", "111-2222222-3333333", "--push")
    assert pushed.exit_code == 1
    assert "amz still shows order 111-2222222-3333333 as open" in pushed.stderr
    assert "cancel it in Seller Central" in pushed.stderr
    assert level(engine, "A", "main") == (10, 2)  # cancelled in the hub all the same

    local = invoke(cli, "orders", "cancel", "111-2222222-4444444", "--json").json()
    assert local["channel"]["answer"] == "not_asked"
    assert "Seller Central" in local["channel"]["message"]


def test_shipped_units_cannot_be_cancelled(cli: Cli, engine: Engine) -> None:
    shipped = invoke(cli, "orders", "ship", "1001", "--carrier", "ups", "--tracking", "1Z1")
    assert shipped.exit_code == 0, shipped
    done = invoke(cli, "orders", "cancel", "1001")
    assert done.exit_code == 1
    assert "nothing left to cancel (3 unit(s) shipped" in done.stderr

    ingest(engine, "shop", make_order("1002", [("A", 3)]))
    part = invoke(
        cli, "orders", "ship", "1002", "--carrier", "ups", "--tracking", "1Z2", "--line", "A:1"
    )
    assert part.exit_code == 0, part
    done = invoke(cli, "orders", "cancel", "1002")
    assert done.exit_code == 0, done
    assert "2 unit(s) cancelled" in done.stdout
    assert "1 unit(s) had shipped and stay shipped (A 1)" in done.stdout
    assert order_row(engine, "shop", "1002").status == OrderStatus.SHIPPED


def test_a_held_order_keeps_its_stock_and_ships_only_once_released(
    cli: Cli, engine: Engine
) -> None:
    held = invoke(cli, "orders", "hold", "1001", "--reason", "fraud review")
    assert held.exit_code == 0, held
    assert "is on hold (since " in held.stdout
    assert "fraud review" in held.stdout
    assert level(engine, "A", "main") == (10, 2)
    shown = invoke(cli, "orders", "show", "1001", "--json").json()
    assert shown["hold_reason"] == "fraud review"
    assert shown["held_at"] is not None

    refused = invoke(cli, "orders", "ship", "1001", "--carrier", "ups", "--tracking", "1Z1")
    assert refused.exit_code == 1
    assert "order 1001 is on hold (fraud review)" in refused.stderr
    assert "release the hold before shipping it" in refused.stderr
    assert invoke(cli, "orders", "hold", "1001").exit_code == 1  # on hold already

    released = invoke(cli, "orders", "release", "1001", "--json").json()
    assert released["held_at"] is None
    assert released["hold_reason"] is None
    shipped = invoke(cli, "orders", "ship", "1001", "--carrier", "ups", "--tracking", "1Z1")
    assert shipped.exit_code == 0, shipped
    assert invoke(cli, "orders", "release", "1001").exit_code == 1  # not on hold


def test_skus_edit_renames_in_place_and_refuses_what_cannot_be(cli: Cli, engine: Engine) -> None:
    renamed = invoke(cli, "skus", "edit", "A", "--code", "A-2026", "--title", "Alpha")
    assert renamed.exit_code == 0, renamed
    assert "SKU A-2026: renamed from A, title changed" in renamed.stdout
    assert level(engine, "A-2026", "main") == (10, 2)
    order = invoke(cli, "orders", "show", "1001", "--json").json()
    assert [line["sku"] for line in order["lines"]] == ["A-2026", "B"]

    assert invoke(cli, "skus", "edit", "B").exit_code == 2
    taken = invoke(cli, "skus", "edit", "B", "--code", "A-2026")
    assert taken.exit_code == 1
    assert "'A-2026' exists already" in taken.stderr
    spaced = invoke(cli, "skus", "add", "NEW ONE")
    assert spaced.exit_code == 1
    assert "SKU code 'NEW ONE' has whitespace (SPACE) at position 4" in spaced.stderr
    assert invoke(cli, "skus", "edit", "NOPE", "--title", "x").exit_code == 1


def test_skus_retire_names_what_holds_it_then_hides_it(cli: Cli, engine: Engine) -> None:
    refused = invoke(cli, "skus", "retire", "B")
    assert refused.exit_code == 1
    assert "stock is on hand (5 at main)" in refused.stderr
    assert "open order lines want it: shop order 1001 (1 unit(s))" in refused.stderr

    assert invoke(cli, "orders", "cancel", "1001").exit_code == 0
    assert invoke(cli, "stock", "set", "B", "0").exit_code == 0
    retired = invoke(cli, "skus", "retire", "B")
    assert retired.exit_code == 0, retired
    assert "SKU B retired" in retired.stdout

    assert [row["code"] for row in invoke(cli, "skus", "list", "--json").json()] == ["A"]
    every = invoke(cli, "skus", "list", "--all", "--json").json()
    assert [(row["code"], row["retired_at"] is not None) for row in every] == [
        ("A", False),
        ("B", True),
    ]
    stocked = invoke(cli, "stock", "adjust", "B", "3")
    assert stocked.exit_code == 1
    assert "retired and takes no stock" in stocked.stderr
    stock = invoke(cli, "stock", "show", "B", "--json").json()
    assert {row["channel"]: row["available"] for row in stock[0]["channels"]}["shop"] == 0

    assert invoke(cli, "skus", "unretire", "B").exit_code == 0
    assert invoke(cli, "stock", "adjust", "B", "3").exit_code == 0
